"""Envelopes: where the recipient's address and the return address go on each size.

Postal sorting machines read the address in the recipient area: right of the envelope's
centre, in its lower half, clear of the right edge and of the barcode zone along the
bottom. ``Envelope.address_box`` is that area, by the usual layout of each size (the rule
and the figures are in the README, "Mailings"); the return address sits top-left.
Envelopes are landscape (wider than tall), sizes in millimetres.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from penbot.errors import PenbotError
from penbot.options import WriteOptions
from penbot.page import Page, PageDrawing, parse_page

__all__ = ["ENVELOPES", "DEFAULT_ENVELOPE", "Envelope", "parse_envelope", "address_options", "return_options",
           "compose_envelope"]

# name -> (width, height, clear of the right edge, clear of the bottom edge), mm, landscape
ENVELOPES: dict[str, tuple[float, float, float, float]] = {
    "dl": (220.0, 110.0, 15.0, 15.0),
    "c6": (162.0, 114.0, 15.0, 15.0),
    "c5": (229.0, 162.0, 20.0, 20.0),
    "c4": (324.0, 229.0, 25.0, 25.0),
    "#10": (241.3, 104.8, 12.7, 15.9),  # US No. 10: 1/2 in right, 5/8 in barcode clear zone
}
DEFAULT_ENVELOPE = "DL"
RETURN_MARGIN_MM = 10.0
RETURN_SCALE = 0.8  # the return address is written a little smaller than the recipient's


@dataclass(frozen=True)
class Envelope:
    name: str
    width_mm: float
    height_mm: float
    right_mm: float  # clear of the right edge
    bottom_mm: float  # clear of the bottom edge (barcode zone)

    @property
    def address_box(self) -> tuple[float, float, float, float]:
        """The recipient area ``(xmin, ymin, xmax, ymax)``: from the centre lines to the clearances."""
        return (self.width_mm / 2, self.height_mm / 2, self.width_mm - self.right_mm, self.height_mm - self.bottom_mm)

    @property
    def return_box(self) -> tuple[float, float, float, float]:
        m = RETURN_MARGIN_MM
        return (m, m, self.width_mm / 2 - m, self.height_mm / 2 - m / 2)

    def page(self, box: tuple[float, float, float, float]) -> Page:
        x0, y0, x1, y1 = box
        return Page(self.width_mm, self.height_mm, y0, self.width_mm - x1, self.height_mm - y1, x0)


def parse_envelope(size: str) -> Envelope:
    """``DL``, ``C6``, ``C5``, ``C4``, ``#10`` or ``WxH`` with units; always landscape."""
    key = size.strip().lower().replace(" ", "")
    if key in ("10", "no10", "no.10", "com10"):
        key = "#10"
    if key in ENVELOPES:
        w, h, right, bottom = ENVELOPES[key]
        return Envelope(size.strip().upper(), w, h, right, bottom)
    if not re.search(r"\d\s*[x×*]\s*[\d.]", key):
        raise PenbotError(f"unknown envelope size {size!r}: use DL, C6, C5, C4, #10 or WxH like 220x110mm")
    try:
        page = parse_page(size, "landscape", "0mm")
    except PenbotError:
        raise PenbotError(f"unknown envelope size {size!r}: use DL, C6, C5, C4, #10 or WxH like 220x110mm") from None
    w, h = page.width_mm, page.height_mm
    if not (80 <= w <= 500 and 50 <= h <= 400):
        raise PenbotError(f"envelope size {w:g}x{h:g} mm is out of range (80-500 x 50-400 mm)")
    return Envelope(f"{w:g}x{h:g}mm", w, h, max(15.0, 0.08 * w), max(15.0, 0.1 * h))


def address_options(base: WriteOptions, env: Envelope) -> WriteOptions:
    """The letter's style and sampling, laid out left-aligned inside the recipient area, one page."""
    layout = replace(base.layout, align="left", indent_mm=0.0, max_pages=1)
    return replace(base, page=env.page(env.address_box), layout=layout)


def return_options(base: WriteOptions, env: Envelope) -> WriteOptions:
    """Like ``address_options`` for the return address: top-left, a little smaller."""
    lay = base.layout
    layout = replace(lay, align="left", indent_mm=0.0, max_pages=1, size_mm=lay.size_mm * RETURN_SCALE,
                     line_spacing_mm=lay.line_spacing_mm * RETURN_SCALE)
    return replace(base, page=env.page(env.return_box), layout=layout)


def compose_envelope(env: Envelope, address: PageDrawing, back: PageDrawing | None, layer: int) -> PageDrawing:
    """One landscape envelope page: the address (and return address) lines on ``layer``."""
    lines = [*address.lines, *(back.lines if back is not None else ())]
    page = Page(env.width_mm, env.height_mm, 0.0, 0.0, 0.0, 0.0)
    return PageDrawing(page, tuple(replace(ln, layer=layer) for ln in lines))
