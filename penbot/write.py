"""Text in, pages out: fold the text, prime with a style, lay it out while sampling.

``write_documents`` is the one pipeline: every document gets a layout generator
(``penbot.layout``), and each round of every generator's line requests is written in ONE
batched sampling call, so a page, or a hundred letters, share the recurrent loop.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from penbot.errors import PenbotError
from penbot.glyphs import writable
from penbot.layout import drive_layouts, layout_text
from penbot.options import WriteOptions
from penbot.page import PageDrawing
from penbot.runtime import StepRunner, as_runner, open_runner
from penbot.sample import LineRequest, sample_lines
from penbot.strokes import Strokes
from penbot.styles import Style, load_style
from penbot.text import fold_text

if TYPE_CHECKING:  # torch is needed only for a .pt model, never to import this module
    from penbot.model import HandwritingModel

__all__ = ["WriteOptions", "Document", "write_text", "write_documents", "default_model_path", "open_model"]


@dataclass
class Document:
    pages: list[PageDrawing]
    notices: list[str]
    lines_written: int = 0
    resampled: int = 0  # lines that needed more than one attempt
    seconds: float = 0.0


def default_model_path(precision: str = "int8") -> Path:
    """The shipped model as an exported step graph, which writes without torch: ``"int8"``
    (the default: LSTM products in 8-bit, twice as fast, as legible) or ``"float"`` (the
    float32 step, equal to the torch model's within 1e-4)."""
    name = {"int8": "default.int8.onnx", "float": "default.onnx"}[precision]
    return Path(str(resources.files("penbot") / "weights" / name))


def open_model(path: str | Path | None = None) -> StepRunner:
    """A step runner for a model file (the shipped one by default), loaded safely: an ``.onnx``
    step graph runs on ONNX Runtime; a ``.pt`` file needs torch (``pip install "penbot[train]"``)."""
    path = Path(path) if path else default_model_path()
    if not path.is_file():
        raise PenbotError(f"{path}: model file not found")
    return open_runner(path)


def _prepare(text: str, options: WriteOptions, alphabet: str) -> tuple[str, list[str], Style | None]:
    if not text or not text.strip():
        raise PenbotError("nothing to write: the text is empty")
    folded = fold_text(text, alphabet, drop_unknown=options.drop_unknown)
    notices = []
    if folded.folded:
        pairs = ", ".join(f"{k!r}->{v!r}" for k, v in folded.folded.items())
        notices.append(f"folded characters the model cannot write: {pairs}")
    if folded.dropped:
        notices.append(f"dropped characters: {''.join(sorted(set(folded.dropped)))!r}")
    if not folded.text.strip():
        raise PenbotError("nothing to write after dropping unknown characters")
    style = load_style(options.style)
    return folded.text, notices, style


def write_documents(
    texts: Sequence[str],
    options: Sequence[WriteOptions],
    model: StepRunner | HandwritingModel | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Document | PenbotError]:
    """Write many documents together; a failing document becomes its error, the rest go on."""
    model = as_runner(model) if model is not None else open_model()  # a torch model is packed once, not per round
    t0 = time.time()
    results: list[Document | PenbotError | None] = [None] * len(texts)
    prepared: dict[int, tuple[list[str], Style | None]] = {}
    gens, gen_doc = [], []
    for i, (text, opt) in enumerate(zip(texts, options, strict=True)):
        try:
            body, notices, style = _prepare(text, opt, writable(model.cfg.alphabet))
        except PenbotError as exc:
            results[i] = exc
            continue
        prepared[i] = (notices, style)
        gens.append(layout_text(body, opt.page, opt.layout, style.advance() if style is not None else None))
        gen_doc.append(i)

    reader = None
    if any(options[i].sample.verify is not None for i in prepared):
        from penbot.readback import error_reader

        reader = error_reader()
    failures: dict[int, str] = {}
    counts = {i: [0, 0] for i in prepared}
    serial = dict.fromkeys(prepared, 0)

    def write(requests: list[tuple[int, str]]) -> list[Strokes]:
        reqs = []
        for g, line in requests:
            doc = gen_doc[g]
            style = prepared[doc][1]
            serial[doc] += 1  # the document's own line counter: strokes never depend on batch-mates
            reqs.append(LineRequest(
                line, style.prime() if style is not None else None, options[doc].sample,
                key=zlib.crc32(f"line:{serial[doc]}".encode()),
            ))
        out = sample_lines(model, reqs, progress, reader=reader)
        for (g, line), res in zip(requests, out, strict=True):
            doc = gen_doc[g]
            counts[doc][0] += 1
            counts[doc][1] += res.attempts > 1
            if not res.ok and doc not in failures:
                failures[doc] = f"could not write {line[:40]!r} legibly after {res.attempts} attempts ({res.problem})"
        return [r.strokes for r in out]

    laid = drive_layouts(gens, write) if gens else []
    for g, pages in enumerate(laid):
        doc = gen_doc[g]
        if isinstance(pages, PenbotError):
            results[doc] = pages
        elif doc in failures:
            results[doc] = PenbotError(failures[doc] + "; try another seed or a higher bias", about="seed")
        else:
            results[doc] = Document(pages, prepared[doc][0], counts[doc][0], counts[doc][1], time.time() - t0)
    return [r if r is not None else PenbotError("not written") for r in results]


def write_text(text: str, options: WriteOptions = WriteOptions(), model: StepRunner | HandwritingModel | None = None,
               progress: Callable[[int, int], None] | None = None) -> Document:
    """Write one text into pages; raises PenbotError on any problem."""
    result = write_documents([text], [options], model, progress)[0]
    if isinstance(result, PenbotError):
        raise result
    return result
