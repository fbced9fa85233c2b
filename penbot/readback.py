"""Reading written lines back with an offline OCR: the legibility score behind
``benchmarks/legibility.py`` and ``penbot styles make --ocr``.

A line is drawn the way it would be plotted (``layout.place_strokes``: the same
smoothing, scaling and simplification as ``penbot write``), rendered to a grayscale
image and read by RapidOCR (the ``ocr`` extra). The CER is the Levenshtein distance over
the reference length after lowercasing, dropping punctuation and collapsing whitespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from penbot.errors import PenbotError
from penbot.layout import LayoutOptions, place_strokes
from penbot.page import Page
from penbot.strokes import Strokes

__all__ = ["RenderOptions", "render_strokes", "render_polylines", "rapidocr_reader", "normalise", "levenshtein",
           "char_errors", "ocr_scorer", "error_reader", "Reader"]

Reader = Callable[[Sequence[np.ndarray]], list[str]]  # many line images -> their texts


@dataclass(frozen=True)
class RenderOptions:
    """How a line becomes an OCR image. 1 normalised unit = the writing height, drawn at
    ``size_mm`` like a plotted line, then ``px_per_unit`` pixels per unit (images of about
    60-80 px). A tight margin read best with PP-OCR on real validation lines."""

    size_mm: float = 6.5
    px_per_unit: float = 34.0
    pen_width: float = 0.07  # in units: about a 0.45 mm pen on 6.5 mm writing
    pad_px: int = 4
    supersample: int = 4  # draw large, then shrink: antialiased strokes
    max_width_px: int = 6000


def render_polylines(polylines: Sequence[np.ndarray], opts: RenderOptions = RenderOptions(),
                     unit: float = 1.0) -> np.ndarray:
    """Grayscale uint8 image (white paper, black ink) of polylines (y down), ``unit`` per height."""
    from PIL import Image, ImageDraw

    polys = [np.asarray(p, dtype=np.float64).reshape(-1, 2) / unit for p in polylines if len(p)]
    if not polys:
        return np.full((2 * opts.pad_px + 32, 2 * opts.pad_px + 32), 255, np.uint8)
    pts = np.concatenate(polys)
    # crop to the band where the ink is, so one stray dot cannot shrink the writing
    ylo, yhi = np.percentile(pts[:, 1], [1, 99])
    band = max(yhi - ylo, 0.5)
    y0, y1 = max(pts[:, 1].min(), ylo - 0.6 * band), min(pts[:, 1].max(), yhi + 0.6 * band)
    x0, x1 = pts[:, 0].min(), pts[:, 0].max()
    scale = opts.px_per_unit
    if (x1 - x0) * scale + 2 * opts.pad_px > opts.max_width_px:  # a run-away line: keep it readable
        scale = (opts.max_width_px - 2 * opts.pad_px) / max(x1 - x0, 1e-6)
    ss = opts.supersample
    w = int(np.ceil((x1 - x0) * scale)) + 2 * opts.pad_px
    h = int(np.ceil((y1 - y0) * scale)) + 2 * opts.pad_px
    img = Image.new("L", (w * ss, h * ss), 255)
    draw = ImageDraw.Draw(img)
    width = max(1, round(opts.pen_width * scale * ss))
    r = width / 2
    for p in polys:
        q = ((p - [x0, y0]) * scale + opts.pad_px) * ss
        if len(q) > 1:
            draw.line([tuple(v) for v in q], fill=0, width=width, joint="curve")
        for v in (q[0], q[-1]):  # round caps (and dots for single points)
            draw.ellipse([v[0] - r, v[1] - r, v[0] + r, v[1] + r], fill=0)
    return np.asarray(img.resize((w, h), Image.Resampling.LANCZOS))


def render_strokes(strokes: Strokes, opts: RenderOptions = RenderOptions()) -> np.ndarray:
    """A written line (normalised units) rendered as it would be plotted at ``opts.size_mm``."""
    if len(strokes) == 0:
        return render_polylines([], opts)
    width = max(100.0, (strokes.bounds()[2] - strokes.bounds()[0] + 4) * opts.size_mm * 2)
    page = Page(width, opts.size_mm * 20, 0.0, 0.0, 0.0, 0.0)
    drawing = place_strokes(strokes, page, LayoutOptions(size_mm=opts.size_mm))
    return render_polylines(drawing.polylines, opts, unit=opts.size_mm)


def rapidocr_reader() -> Reader:
    """PP-OCR text recogniser on the whole line (no detection, no orientation pass)."""
    try:
        from rapidocr import RapidOCR
    except ImportError:
        raise PenbotError("reading lines back needs RapidOCR: pip install 'penbot[ocr]'", about="ocr") from None

    engine = RapidOCR(params={
        "Global.log_level": "error",
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })

    def read(images: Sequence[np.ndarray]) -> list[str]:
        out = []
        for image in images:
            res = engine(image, use_det=False, use_cls=False, use_rec=True)
            out.append(" ".join(t for t in (getattr(res, "txts", None) or ()) if t))
        return out

    return read


_NOT_WORD = re.compile(r"[^a-z0-9\s]")


def normalise(text: str) -> str:
    """Lowercase, punctuation dropped, whitespace collapsed: what OCR readers can agree on."""
    return " ".join(_NOT_WORD.sub("", text.lower()).split())


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_errors(reference: str, hypothesis: str, spaces: bool = True) -> tuple[int, int]:
    """(edit distance, reference length) after normalisation."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not spaces:
        ref, hyp = ref.replace(" ", ""), hyp.replace(" ", "")
    return levenshtein(ref, hyp), len(ref)


def _counted(opts: RenderOptions) -> Callable[[list[Strokes], list[str]], list[tuple[int, int]]]:
    """Lines read by RapidOCR: (edit distance, reference length) per line."""
    read = rapidocr_reader()

    def count(lines: list[Strokes], texts: list[str]) -> list[tuple[int, int]]:
        got = read([render_strokes(s, opts) for s in lines])
        return [char_errors(t, g) for t, g in zip(texts, got, strict=True)]

    return count


def error_reader(opts: RenderOptions = RenderOptions()) -> Callable[[list[Strokes], list[str]], list[float]]:
    """Per-line character error rates read by RapidOCR: the judge of the sampler's verified mode."""
    count = _counted(opts)
    return lambda lines, texts: [e / max(1, n) for e, n in count(lines, texts)]


def ocr_scorer(opts: RenderOptions = RenderOptions()) -> Callable[[list[Strokes], list[str]], float]:
    """A scorer ``(written lines, their texts) -> character error rate`` read by RapidOCR."""
    count = _counted(opts)

    def score(lines: list[Strokes], texts: list[str]) -> float:
        errs = count(lines, texts)
        return sum(e for e, _ in errs) / max(1, sum(n for _, n in errs))

    return score
