"""Export settings shared by every writer (kept apart so writers can import it without cycles)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from penbot.errors import PenbotError

__all__ = ["ExportOptions", "check_colour", "MIN_PEN_MM", "MAX_PEN_MM"]

MIN_PEN_MM, MAX_PEN_MM = 0.01, 10.0  # finer than any pen; a 1 cm brush is already more than a plotter holds


@dataclass(frozen=True)
class ExportOptions:
    """How pages become files.

    ``optimise`` applies to the plotter formats (G-code, HPGL): strokes whose ends touch
    are joined and the stroke order is sorted to cut pen-up travel. SVG, PNG and JSON keep
    the writing order, line by line. ``gcode_config`` is an extra vpype TOML file with
    ``[gwrite.<name>]`` profiles, loaded after penbot's own.
    """

    color: str = "black"
    pen_width_mm: float = 0.35
    gcode_profile: str = "penbot_servo"
    gcode_config: str | None = None
    hpgl_device: str = "hp7475a"
    hpgl_paper: str | None = None  # None: the device's paper that matches the page size
    optimise: bool = True
    merge_tolerance_mm: float = 0.05
    png_dpi: int = 100
    pens: tuple = ()  # penbot.pens.Pen per layer (name, colour, width); layer 1 defaults to color/pen_width

    def __post_init__(self) -> None:
        _number("pen width", self.pen_width_mm, MIN_PEN_MM, MAX_PEN_MM, " mm")
        if isinstance(self.png_dpi, bool) or not isinstance(self.png_dpi, int) or not 10 <= self.png_dpi <= 1200:
            raise PenbotError(f"PNG dpi must be a whole number between 10 and 1200, got {self.png_dpi!r}")
        _number("merge tolerance", self.merge_tolerance_mm, 0.0, 10.0, " mm")
        check_colour(self.color)


def _number(name: str, value: object, lo: float, hi: float, unit: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise PenbotError(f"{name} must be between {lo:g} and {hi:g}{unit}, got {value!r}", about="export")


def check_colour(colour: object) -> str:
    """A colour both the SVG and the PNG writer understand (a CSS name, ``#rgb``, ``#rrggbb``,
    ``rgb(...)``): an unknown one would draw nothing in SVG and fail only in PNG."""
    from PIL import ImageColor

    try:
        if not isinstance(colour, str) or len(colour) > 64:
            raise ValueError
        ImageColor.getrgb(colour.strip())
    except ValueError:
        raise PenbotError(f"unknown colour {str(colour)[:64]!r}: use a name like black or a hex code like #203080",
                          about="color") from None
    return colour
