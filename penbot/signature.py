"""A user's real signature: their own strokes, never the model's, placed on the letter.

The strokes are kept exactly as drawn (only scaled to the wanted height and moved), on their
own layer so they can be plotted with another pen. They go below the letter's last line, or
where the template's ``{signature}`` line was (the lines after it move down to make room).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from penbot.errors import PenbotError
from penbot.page import PX_PER_MM, PageDrawing, PlacedLine

__all__ = ["Signature", "read_signature", "place_signature", "SIGNATURE_MARK", "split_at_mark"]

SIGNATURE_MARK = "\x00signature\x00"  # where a template's {signature} was; never reaches the model
MAX_ASPECT = 25.0  # wider than this many heights (or taller than wide by it): not a signature
SIGNATURE_HEIGHT_MM = 12.0
MIN_HEIGHT_MM, MAX_HEIGHT_MM = 3.0, 80.0


@dataclass(frozen=True)
class Signature:
    """Strokes with their top-left at the origin, in their file's own units (SVG: mm)."""

    polylines: tuple[np.ndarray, ...]
    width: float
    height: float

    def scaled(self, height_mm: float) -> list[np.ndarray]:
        k = height_mm / self.height
        return [p * k for p in self.polylines]

    def digest(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for p in self.polylines:
            h.update(np.ascontiguousarray(p, dtype=np.float64).tobytes())
            h.update(b"|")
        return h.hexdigest()


def read_signature(path: str | Path) -> Signature:
    """Read a signature (SVG, JSON strokes or InkML); refuse one with no strokes or of absurd size.

    ``read_strokes_file`` already refuses an empty file or one with too many points.
    """
    from penbot.styles import read_strokes_file

    path = Path(path)
    try:
        lines = read_strokes_file(path)
    except PenbotError as exc:
        raise PenbotError(f"signature: {exc}") from None
    if path.suffix.lower() == ".svg":  # vpype reads SVG in CSS pixels
        lines = [p / PX_PER_MM for p in lines]
    pts = np.concatenate(lines)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    w, h = (float(v) for v in hi - lo)
    if not (math.isfinite(w) and math.isfinite(h)) or h <= 0 or w <= 0:
        raise PenbotError(f"signature {path}: its strokes have no height or width")
    if w / h > MAX_ASPECT or h / w > MAX_ASPECT:
        raise PenbotError(f"signature {path}: {w:.3g} x {h:.3g} is not a signature's shape (a stray line?)")
    return Signature(tuple(p - lo for p in lines), w, h)


def split_at_mark(text: str) -> tuple[str, int | None]:
    """The text with the ``{signature}`` mark made a paragraph break, and the words before it."""
    if SIGNATURE_MARK not in text:
        return text, None
    head, _, tail = text.partition(SIGNATURE_MARK)
    tail = tail.replace(SIGNATURE_MARK, "")
    return (head.rstrip() + "\n\n" + tail.lstrip()).strip(), len(head.split())


def _insertion(pages: list[PageDrawing], words: int | None) -> tuple[int, int]:
    """(page, index of the line the signature follows) for the first ``words`` words (None: the end)."""
    seen = 0
    last = (len(pages) - 1, len(pages[-1].lines) - 1)
    if words is None:
        return last
    for p, page in enumerate(pages):
        for i, line in enumerate(page.lines):
            seen += len(line.text.split())
            if seen >= words and line.text:
                return p, i
    return last


def place_signature(pages: list[PageDrawing], sig: Signature, height_mm: float, align: str, spacing_mm: float,
                    layer: int, after_words: int | None = None) -> list[PageDrawing]:
    """``pages`` with the signature below the line that ends the first ``after_words`` words.

    The signature's top sits half a line spacing below that line; later lines on the same
    page move down by the signature's height in whole line spacings. PenbotError when it
    does not fit across the line or on the page.
    """
    if not pages:
        raise PenbotError("nothing to sign: no pages")
    p, i = _insertion(pages, after_words)
    drawing = pages[p]
    page = drawing.page
    strokes = sig.scaled(height_mm)
    width = sig.width * height_mm / sig.height
    if width > page.usable_width + 1e-6:
        raise PenbotError(f"the signature is {width:.0f} mm wide at {height_mm:g} mm high, wider than the "
                          f"{page.usable_width:.0f} mm line: make it lower")
    lines = list(drawing.lines)
    top = (lines[i].y_mm if i >= 0 else page.margin_top - spacing_mm / 2) + spacing_mm / 2
    if align == "center":
        x = page.margin_left + (page.usable_width - width) / 2
    elif align == "right":
        x = page.width_mm - page.margin_right - width
    else:
        x = page.margin_left
    shift = math.ceil(height_mm / spacing_mm) * spacing_mm
    moved = [replace(ln, polylines=tuple(q + (0.0, shift) for q in ln.polylines), y_mm=ln.y_mm + shift)
             for ln in lines[i + 1:]]
    placed = PlacedLine("", tuple(q + (x, top) for q in strokes), top + height_mm / 2, 1.0, layer=layer)
    new = [*lines[: i + 1], placed, *moved]
    bottom = max(float(q[:, 1].max()) for ln in new for q in ln.polylines if len(q))
    if bottom > page.height_mm - page.margin_bottom + 1e-6:
        raise PenbotError(f"no room for a {height_mm:g} mm signature on page {p + 1}: shorten the letter "
                          "or lower the signature")
    return [*pages[:p], PageDrawing(page, tuple(new)), *pages[p + 1:]]
