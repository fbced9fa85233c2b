"""Typer options shared by ``penbot write`` and ``penbot batch``, declared once.

Each alias carries its flag and help; the default of a parameter is the library's
``Settings`` default, so the CLI never keeps its own copy of a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from penbot.options import Settings

__all__ = ["Style", "Bias", "Temperature", "Page", "Orientation", "Margins", "Size", "LineSpacing", "Align", "Indent",
           "DropUnknown", "Model", "PenWidth", "Color", "Profile", "Optimise", "Quiet", "DEFAULTS", "settings_of"]

DEFAULTS = Settings()

Style = Annotated[str, typer.Option("--style", "-s", help="Style number, user style name, or 'none'.")]
Bias = Annotated[float, typer.Option(help="Legibility: 0 = wild, 3 = very neat.")]
Temperature = Annotated[float, typer.Option(help="Randomness left after the bias.")]
Page = Annotated[str, typer.Option(help="A3-A6, Letter, Legal or WxH with units (e.g. 150x100mm).")]
Orientation = Annotated[str, typer.Option(help="portrait or landscape.")]
Margins = Annotated[str, typer.Option(help="One value or top,right,bottom,left.")]
Size = Annotated[float, typer.Option(help="Writing height in mm.")]
LineSpacing = Annotated[float, typer.Option(help="Distance between lines in mm.")]
Align = Annotated[str, typer.Option(help="left, center or right.")]
Indent = Annotated[float, typer.Option(help="First-line indent of each paragraph, mm.")]
DropUnknown = Annotated[bool, typer.Option(help="Skip characters the model cannot write.")]
Model = Annotated[Path | None, typer.Option(help="Model file (default: the shipped model).")]
PenWidth = Annotated[float, typer.Option(help="Pen width in mm (SVG/PNG).")]
Color = Annotated[str, typer.Option(help="Stroke colour (SVG/PNG).")]
Profile = Annotated[str, typer.Option(help="G-code profile (see README).")]
Optimise = Annotated[bool, typer.Option(help="Merge and sort strokes to cut pen-up travel.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]


def settings_of(values: dict, **extra: object) -> Settings:
    """A ``Settings`` from a command's parameters (those that are settings; the rest ignored)."""
    known = set(Settings.__dataclass_fields__)
    return Settings(**{k: v for k, v in {**values, **extra}.items() if k in known})
