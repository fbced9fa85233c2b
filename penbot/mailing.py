"""A mailing's extras around each letter: its envelope, the sender's signature, pens by layer.

``MailingOptions`` is built once by ``penbot.options.mailing_options`` from the user's
settings; ``write_mail`` writes letters, their envelopes (address and return address) in
ONE batched sampling call, then places the signature and assigns each ink its layer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from penbot.envelope import Envelope, address_options, compose_envelope, return_options
from penbot.errors import PenbotError
from penbot.options import WriteOptions
from penbot.page import PageDrawing
from penbot.pens import PenMap
from penbot.signature import (
    MAX_HEIGHT_MM,
    MIN_HEIGHT_MM,
    SIGNATURE_HEIGHT_MM,
    Signature,
    place_signature,
    split_at_mark,
)

if TYPE_CHECKING:
    from penbot.runtime import StepRunner

__all__ = ["MailingOptions", "Mail", "write_mail", "write_envelope", "sign_only", "envelope_name"]


@dataclass(frozen=True)
class MailingOptions:
    """What a mailing adds to each letter; the default adds nothing."""

    envelope: Envelope | None = None
    return_address: str = ""
    signature: Signature | None = None
    signature_height_mm: float = SIGNATURE_HEIGHT_MM
    pens: PenMap = PenMap()

    def __post_init__(self) -> None:
        h = self.signature_height_mm
        if isinstance(h, bool) or not isinstance(h, int | float) or not MIN_HEIGHT_MM <= h <= MAX_HEIGHT_MM:
            raise PenbotError(f"signature height must be between {MIN_HEIGHT_MM:g} and {MAX_HEIGHT_MM:g} mm, got {h!r}")

    def digest(self) -> str:
        """A hash of everything here that shapes an output (for the resume record)."""
        blob = json.dumps({"envelope": repr(self.envelope), "return": self.return_address,
                           "signature": self.signature.digest() if self.signature else "",
                           "height": self.signature_height_mm, "pens": repr(self.pens)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Mail:
    """One letter's pages (signed, inks on their layers) and its envelope page, if any."""

    pages: list[PageDrawing]
    envelope: PageDrawing | None
    notices: list[str]
    lines_written: int = 0
    resampled: int = 0


def envelope_name(output: str) -> str:
    """``out/7.svg`` -> ``out/7-envelope.svg``: the envelope beside its letter, same format."""
    stem, dot, suffix = output.rpartition(".")
    return f"{stem}-envelope.{suffix}" if dot else f"{output}-envelope"


def _on_layer(pages: list[PageDrawing], layer: int) -> list[PageDrawing]:
    if layer == 1:
        return pages
    return [PageDrawing(d.page, tuple(replace(ln, layer=layer) for ln in d.lines)) for d in pages]


def _address_error(exc: PenbotError, env: Envelope, what: str) -> PenbotError:
    if "does not fit" in str(exc) or "needs" in str(exc):
        x0, y0, x1, y1 = env.address_box if what == "address" else env.return_box
        return PenbotError(f"the {what} does not fit in its area of the {env.name} envelope "
                           f"({x1 - x0:.0f} x {y1 - y0:.0f} mm): use fewer or shorter lines or a smaller size")
    return PenbotError(f"{what}: {exc}")


def write_mail(
    texts: Sequence[str],
    options: Sequence[WriteOptions],
    addresses: Sequence[str],
    mailing: MailingOptions,
    model: StepRunner | None = None,
    progress: Callable[[int, int], None] | None = None,
    write: Callable[..., list] | None = None,
) -> list[Mail | PenbotError]:
    """Write letters (``addresses[i]``: its envelope's address, "" for none) in one sampling loop.

    A letter fails as a whole (PenbotError in its slot) when its text, signature or envelope fails.
    ``write`` is ``penbot.write.write_documents`` unless given.
    """
    from penbot.write import write_documents

    write = write or write_documents

    n = len(texts)
    bodies, marks = zip(*(split_at_mark(t) if mailing.signature else (t, None) for t in texts)) if n else ((), ())
    docs, opts = list(bodies), list(options)
    env = mailing.envelope
    where: dict[int, list[tuple[str, int]]] = {}  # letter -> (envelope part, its index in docs)
    for i, address in enumerate(addresses):
        if env is None or not address.strip():
            continue
        for what, text, opt in _envelope_parts(address, options[i], mailing):
            where.setdefault(i, []).append((what, len(docs)))
            docs.append(text)
            opts.append(opt)
    results = write(docs, opts, model, progress)
    out: list[Mail | PenbotError] = []
    for i in range(n):
        doc = results[i]
        try:
            if isinstance(doc, PenbotError):
                raise doc
            pages = sign_only(doc.pages, mailing, options[i], marks[i])
            envelope = _compose(mailing, [(what, results[k]) for what, k in where[i]]) if i in where else None
            out.append(Mail(pages, envelope, list(doc.notices), doc.lines_written, doc.resampled))
        except PenbotError as exc:
            out.append(exc)
    return out


def sign_only(pages: list[PageDrawing], mailing: MailingOptions, options: WriteOptions,
              after_words: int | None = None) -> list[PageDrawing]:
    """``penbot write``'s pages with the text layer and the signature of ``mailing`` applied
    (below the line that ends the first ``after_words`` words; None: the last line)."""
    pages = _on_layer(pages, mailing.pens.layer_of("text"))
    if mailing.signature is None:
        return pages
    return place_signature(pages, mailing.signature, mailing.signature_height_mm, options.layout.align,
                           options.layout.line_spacing_mm, mailing.pens.layer_of("signature"), after_words)


def _envelope_parts(address: str, options: WriteOptions,
                    mailing: MailingOptions) -> list[tuple[str, str, WriteOptions]]:
    """``(part, text, options)`` to write for one envelope: the address, then the return address if any."""
    env = mailing.envelope
    parts = [("address", address, address_options(options, env))]
    if mailing.return_address.strip():
        parts.append(("return address", mailing.return_address, return_options(options, env)))
    return parts


def _compose(mailing: MailingOptions, written: list[tuple[str, object]]) -> PageDrawing:
    """The envelope page from its written parts (in ``_envelope_parts`` order); raises PenbotError."""
    env = mailing.envelope
    pages = []
    for what, got in written:
        if isinstance(got, PenbotError):
            raise _address_error(got, env, what)
        pages.append(got.pages[0])
    return compose_envelope(env, pages[0], pages[1] if len(pages) > 1 else None, mailing.pens.layer_of("address"))


def write_envelope(address: str, options: WriteOptions, mailing: MailingOptions, model: StepRunner | None = None,
                   progress: Callable[[int, int], None] | None = None) -> PageDrawing:
    """One envelope (``mailing.envelope``) with ``address`` in its recipient area; raises PenbotError."""
    from penbot.write import write_documents

    if mailing.envelope is None:
        raise PenbotError("no envelope size given")
    parts = _envelope_parts(address, options, mailing)
    results = write_documents([text for _w, text, _o in parts], [opt for _w, _t, opt in parts], model, progress)
    return _compose(mailing, [(what, got) for (what, _t, _o), got in zip(parts, results)])
