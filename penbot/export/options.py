"""Export settings shared by every writer (kept apart so writers can import it without cycles)."""

from __future__ import annotations

from dataclasses import dataclass

from penbot.errors import PenbotError

__all__ = ["ExportOptions"]


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

    def __post_init__(self) -> None:
        if not self.pen_width_mm > 0:
            raise PenbotError(f"pen width must be positive, got {self.pen_width_mm:g} mm")
        if not 10 <= self.png_dpi <= 1200:
            raise PenbotError(f"PNG dpi must be between 10 and 1200, got {self.png_dpi}")
        if self.merge_tolerance_mm < 0:
            raise PenbotError(f"merge tolerance must not be negative, got {self.merge_tolerance_mm:g} mm")
