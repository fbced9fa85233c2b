"""Pens by layer: which pen (vpype layer) draws the letter text, the signature and the envelope address.

A plotter with one pen holder can still write a mailing in two inks: each kind of ink goes
on its own layer, the SVG keeps the layers apart (Inkscape layers with vpype's colour and
width), the G-code pauses between layers for a pen change, and HPGL selects the pen.
``"text=1,signature=2:#1f3a93"`` reads as: text on layer 1, the signature on layer 2 in
that colour. Layer 1 takes the export's own colour and width unless told otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from penbot.errors import PenbotError

__all__ = ["KINDS", "DEFAULT_LAYERS", "Pen", "PenMap", "parse_pens", "pen_for", "PALETTE"]

KINDS = ("text", "signature", "address")
DEFAULT_LAYERS = {"text": 1, "signature": 2, "address": 1}  # a real signature usually gets its own ink
MAX_LAYER = 99
# colours of layers 2, 3, ... when none is given (blue ink, red, green, ...), layer 1 uses the export colour
PALETTE = ("#1f3a93", "#b22222", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")
_ITEM = re.compile(r"\s*([A-Za-z]+)\s*=\s*(\d+)\s*(?::\s*(\S+))?\s*")


@dataclass(frozen=True)
class Pen:
    """One layer's pen: what the SVG layer, the PNG preview and the G-code pause call it."""

    layer: int
    name: str
    color: str
    width_mm: float


@dataclass(frozen=True)
class PenMap:
    """Kind of ink -> layer, and the colours given for layers (pairs, so it stays hashable)."""

    layers: tuple[tuple[str, int], ...] = tuple(DEFAULT_LAYERS.items())
    colors: tuple[tuple[int, str], ...] = ()

    def layer_of(self, kind: str) -> int:
        return dict(self.layers).get(kind, 1)

    def pens(self, color: str, width_mm: float) -> tuple[Pen, ...]:
        """One ``Pen`` per used layer, named after the kinds it draws (``"2 signature"``)."""
        given = dict(self.colors)
        out = []
        for layer in sorted({n for _k, n in self.layers}):
            kinds = [k for k, n in self.layers if n == layer]
            default = pen_for(layer, (), color, width_mm).color
            out.append(Pen(layer, "handwriting" if "text" in kinds else " + ".join(kinds), given.get(layer, default),
                           width_mm))
        return tuple(out)


def parse_pens(text: str) -> PenMap:
    """``"text=1,signature=2:blue"`` -> PenMap; unnamed kinds keep their default layer."""
    from penbot.export.options import check_colour  # here: penbot.export imports this module

    layers, colors = dict(DEFAULT_LAYERS), {}
    if text and text.strip():
        for item in text.split(","):
            m = _ITEM.fullmatch(item)
            if not m:
                raise PenbotError(f"bad pen assignment {item.strip()!r}: use KIND=LAYER[:COLOUR], "
                                  "e.g. signature=2:blue")
            kind, layer, color = m.group(1).lower(), int(m.group(2)), m.group(3)
            if kind not in KINDS:
                raise PenbotError(f"unknown ink {kind!r} in the pen assignment: use {', '.join(KINDS)}")
            if not 1 <= layer <= MAX_LAYER:
                raise PenbotError(f"pen layer must be between 1 and {MAX_LAYER}, got {layer}")
            layers[kind] = layer
            if color:
                colors[layer] = check_colour(color)
    return PenMap(tuple(layers.items()), tuple(sorted(colors.items())))


def pen_for(layer: int, pens: tuple[Pen, ...], color: str, width_mm: float) -> Pen:
    """The pen of ``layer``: the one given, else the export's colour (layer 1) or the palette's."""
    for pen in pens:
        if pen.layer == layer:
            return pen
    if layer == 1:
        return Pen(1, "handwriting", color, width_mm)
    return Pen(layer, f"pen {layer}", PALETTE[(layer - 2) % len(PALETTE)], width_mm)
