"""The page model: a sheet with margins, and the lines placed on it (millimetres, y down).

Every exporter and front end reads these; the wrapping algorithm that fills them lives
in ``penbot.layout``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from penbot.errors import PenbotError

__all__ = ["PAGE_SIZES", "PX_PER_MM", "Page", "parse_page", "PlacedLine", "PageDrawing", "as_polylines"]

PX_PER_MM = 96 / 25.4  # CSS pixels (vpype, SVG user units at 96 dpi) per millimetre
MIN_PAGE_MM, MAX_PAGE_MM = 10.0, 5000.0  # a label to a 5 m roll: beyond, a typo (or a hostile row)

# portrait width x height in mm
PAGE_SIZES: dict[str, tuple[float, float]] = {
    "a3": (297.0, 420.0),
    "a4": (210.0, 297.0),
    "a5": (148.0, 210.0),
    "a6": (105.0, 148.0),
    "letter": (215.9, 279.4),
    "legal": (215.9, 355.6),
}
_UNITS = {"mm": 1.0, "cm": 10.0, "in": 25.4}
_NUM = r"(\d+(?:\.\d*)?|\.\d+)\s*(mm|cm|in)?"


def as_polylines(lines: Iterable) -> list[np.ndarray]:
    """Any sequence of point lists as float64 ``(N, 2)`` arrays (the one coercion point)."""
    return [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in lines]


@dataclass(frozen=True)
class Page:
    """A sheet and its margins, in millimetres."""

    width_mm: float
    height_mm: float
    margin_top: float = 20.0
    margin_right: float = 20.0
    margin_bottom: float = 20.0
    margin_left: float = 20.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.width_mm) and math.isfinite(self.height_mm)):
            raise PenbotError("page size must be a finite number of millimetres")
        if self.width_mm <= 0 or self.height_mm <= 0:
            raise PenbotError(f"page size {self.width_mm:g}x{self.height_mm:g} mm must be positive")
        if not MIN_PAGE_MM <= min(self.width_mm, self.height_mm) <= max(self.width_mm, self.height_mm) <= MAX_PAGE_MM:
            raise PenbotError(f"page size {self.width_mm:g}x{self.height_mm:g} mm: each side must be between "
                              f"{MIN_PAGE_MM:g} and {MAX_PAGE_MM:g} mm", about="page")
        margins = (self.margin_top, self.margin_right, self.margin_bottom, self.margin_left)
        if any(m < 0 or not math.isfinite(m) for m in margins):
            raise PenbotError(f"page margins {_fmt(margins)} must not be negative")
        if self.usable_width <= 0 or self.usable_height <= 0:
            raise PenbotError(
                f"page margins {_fmt(margins)} leave no room on a {self.width_mm:g}x{self.height_mm:g} mm page"
            )

    @property
    def usable_width(self) -> float:
        return self.width_mm - self.margin_left - self.margin_right

    @property
    def usable_height(self) -> float:
        return self.height_mm - self.margin_top - self.margin_bottom

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The writable area ``(xmin, ymin, xmax, ymax)``."""
        right, bottom = self.width_mm - self.margin_right, self.height_mm - self.margin_bottom
        return (self.margin_left, self.margin_top, right, bottom)


def _fmt(values: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in values) + " mm"


def _lengths(text: str, what: str) -> list[float]:
    """Comma-separated lengths; a value without unit takes the last given unit, else mm."""
    parts = [re.fullmatch(r"\s*" + _NUM + r"\s*", p, re.I) for p in text.split(",")]
    if not text.strip() or not all(parts):
        raise PenbotError(f"bad {what} {text!r}: use lengths like 20mm, 2cm or 1in")
    units = [m.group(2).lower() for m in parts if m.group(2)]
    default = units[-1] if units else "mm"
    return [float(m.group(1)) * _UNITS[(m.group(2) or default).lower()] for m in parts]


def parse_page(size: str, orientation: str = "portrait", margins: str = "20mm") -> Page:
    """``"A4"``, ``"letter"``, ``"210x297mm"``, ``"8.5x11in"`` (plain numbers are mm) -> Page.

    Sizes are read as width x height; ``orientation="landscape"`` turns the sheet so it is
    wider than tall. ``margins`` is one length, or ``vertical,horizontal``, or
    ``top,right,bottom,left`` (CSS order).
    """
    key = size.strip().lower()
    if key in PAGE_SIZES:
        w, h = PAGE_SIZES[key]
    else:
        m = re.fullmatch(r"\s*" + _NUM + r"\s*[x×*]\s*" + _NUM + r"\s*", size, re.I)
        if not m:
            names = ", ".join(n.upper() if n.startswith("a") else n.title() for n in PAGE_SIZES)
            raise PenbotError(f"unknown page size {size!r}: use {names} or WxH like 210x297mm or 8.5x11in")
        unit = (m.group(4) or m.group(2) or "mm").lower()
        w = float(m.group(1)) * _UNITS[(m.group(2) or unit).lower()]
        h = float(m.group(3)) * _UNITS[unit]
    orient = orientation.strip().lower()
    if orient not in ("portrait", "landscape"):
        raise PenbotError(f"unknown orientation {orientation!r}: use portrait or landscape")
    if orient == "landscape" and w < h:
        w, h = h, w
    vals = _lengths(margins, "margins")
    if len(vals) not in (1, 2, 4):
        raise PenbotError(f"bad margins {margins!r}: give 1, 2 or 4 lengths (top,right,bottom,left)")
    top, right, bottom, left = (vals * 4)[:4] if len(vals) == 1 else (vals * 2 if len(vals) == 2 else vals)
    return Page(w, h, top, right, bottom, left)


@dataclass(frozen=True)
class PlacedLine:
    """One written line on a page: its text and ink in page millimetres."""

    text: str
    polylines: tuple[np.ndarray, ...]
    y_mm: float = 0.0  # the line's slot: where its band centre sits
    scale: float = 1.0  # < 1 when the line was shrunk to fit
    layer: int = 1  # the pen (vpype layer) that draws it: a mailing puts a signature or an address on its own


@dataclass(frozen=True)
class PageDrawing:
    page: Page
    lines: tuple[PlacedLine, ...] = ()

    @property
    def polylines(self) -> list[np.ndarray]:
        return [p for line in self.lines for p in line.polylines]

    @property
    def layer_ids(self) -> list[int]:
        """The layers that have ink, in plotting order (``[1]`` for an ordinary page)."""
        return sorted({line.layer for line in self.lines if line.polylines}) or [1]

    def layer_polylines(self, layer: int) -> list[np.ndarray]:
        return [p for line in self.lines if line.layer == layer for p in line.polylines]


