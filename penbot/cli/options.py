"""Typer options shared by ``penbot write`` and ``penbot batch``, declared once.

Each alias carries its flag and help; the default of a parameter is the library's
``Settings`` default, so the CLI never keeps its own copy of a default.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from penbot.options import Settings

__all__ = ["Style", "Bias", "Temperature", "Page", "Orientation", "Margins", "Size", "LineSpacing", "Align", "Indent",
           "DropUnknown", "Model", "PenWidth", "Color", "Profile", "Optimise", "Quiet", "EnvelopeSize", "ReturnAddress",
           "SignatureFile", "SignatureHeight", "Pen", "DEFAULTS", "SHARED",
           "settings_of", "with_settings"]

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
Verify = Annotated[bool, typer.Option(help="Read every line back with an OCR and re-sample those it cannot read "
                                           "(needs the 'ocr' extra; slower).")]
Model = Annotated[Path | None, typer.Option(help="Model file (default: the shipped model).")]
PenWidth = Annotated[float, typer.Option(help="Pen width in mm (SVG/PNG).")]
Color = Annotated[str, typer.Option(help="Stroke colour (SVG/PNG).")]
Profile = Annotated[str, typer.Option(help="G-code profile (see README).")]
Optimise = Annotated[bool, typer.Option(help="Merge and sort strokes to cut pen-up travel.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
# a mailing's extras (penbot.options.mailing_options)
EnvelopeSize = Annotated[str, typer.Option(
    "--envelope-size", help="Envelope: DL, C6, C5, C4, #10 or WxH (e.g. 220x110mm), landscape; the address goes "
    "in the recipient area (see README, Mailings).")]
ReturnAddress = Annotated[str, typer.Option(
    "--return-address", help="File with the return address, written smaller at the envelope's top-left.")]
SignatureFile = Annotated[str, typer.Option(
    "--signature", help="Your own signature as strokes (SVG, JSON or InkML), kept exactly as drawn: after the "
    "last line, or where the template has {signature}.")]
SignatureHeight = Annotated[float, typer.Option(help="Height of the signature in mm.")]
Pen = Annotated[str, typer.Option(
    "--pen", help="Pens by layer, KIND=LAYER[:COLOUR] for text, signature, address (e.g. "
    "text=1,signature=2:blue); default text=1,signature=2,address=1. G-code pauses for a pen change.")]


# the writing settings every writing command takes, in --help order
SHARED = (("style", Style), ("bias", Bias), ("temperature", Temperature), ("page", Page),
          ("orientation", Orientation), ("margins", Margins), ("size", Size), ("line_spacing", LineSpacing),
          ("align", Align), ("indent", Indent), ("drop_unknown", DropUnknown), ("verify", Verify),
          ("pen_width", PenWidth),
          ("color", Color), ("profile", Profile), ("optimise", Optimise))


def settings_of(values: dict, **extra: object) -> Settings:
    """A ``Settings`` from a command's parameters (those that are settings; the rest ignored)."""
    known = set(Settings.__dataclass_fields__)
    return Settings(**{k: v for k, v in {**values, **extra}.items() if k in known})


def with_settings(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command the ``SHARED`` options, declared once, and call it with them as one
    ``settings: Settings`` (with any other parameter named like a setting, e.g. ``seed``)."""
    own = [p for name, p in inspect.signature(func).parameters.items() if name != "settings"]
    hints = {k: v for k, v in typing.get_type_hints(func, include_extras=True).items() if k != "settings"}
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=getattr(DEFAULTS, name),
                                annotation=alias) for name, alias in SHARED]
    names = set(Settings.__dataclass_fields__)

    @functools.wraps(func)
    def command(**kwargs: object) -> None:
        settings = Settings(**{k: v for k, v in kwargs.items() if k in names})
        return func(settings=settings, **{k: v for k, v in kwargs.items() if k not in dict(SHARED)})

    own = [p.replace(annotation=hints.get(p.name, p.annotation), kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    command.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    command.__annotations__ = {**hints, **dict(SHARED)}
    return command
