"""Bridge to vpype: page polylines in mm -> ``vpype.Document`` in CSS px, and travel optimisation.

vpype is imported inside the functions (here and in the G-code and HPGL writers): with
scipy it costs ~0.3 s at start, which SVG and PNG output do not need.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from penbot.page import PX_PER_MM, PageDrawing

if TYPE_CHECKING:
    import vpype as vp

__all__ = ["Travel", "optimise_lines", "plot_layers", "layers_document"]

log = logging.getLogger("penbot")


@dataclass(frozen=True)
class Travel:
    """Pen-up travel (mm) and stroke count before and after optimisation."""

    before_mm: float
    after_mm: float
    strokes_before: int
    strokes_after: int


def _complex(lines: list[np.ndarray]) -> vp.LineCollection:
    import vpype as vp

    return vp.LineCollection([p[:, 0] + 1j * p[:, 1] for p in lines if len(p)])


def optimise_lines(lines: list[np.ndarray], merge_tolerance: float = 0.05) -> tuple[list[np.ndarray], Travel]:
    """vpype's own ``linemerge`` then ``linesort`` (greedy, with flipping), in millimetres.

    Merging joins strokes whose ends lie within ``merge_tolerance`` (one pen lift less
    each); sorting starts each stroke at the nearest free end and keeps the order when
    that would not shorten the travel. The commands are unit-free, so they run on mm.
    """
    import vpype as vp
    import vpype_cli

    lc = _complex(lines)
    before, count = lc.pen_up_length()[0], len(lc)
    doc = vp.Document()
    doc.add(lc, 1)
    doc = vpype_cli.execute(f"linemerge --tolerance {merge_tolerance:.9g}px linesort", document=doc)
    lc = doc.layers[1] if doc.layers else vp.LineCollection()
    travel = Travel(float(before), float(lc.pen_up_length()[0]), count, len(lc))
    log.info(
        "pen-up travel %.0f mm -> %.0f mm, strokes %d -> %d",
        travel.before_mm, travel.after_mm, travel.strokes_before, travel.strokes_after,
    )
    return [np.column_stack([c.real, c.imag]) for c in lc], travel


# the plotting order of recently exported pages: the G-code writer and the plot-time estimate
# share one linemerge/linesort per page (keyed by the page object, dropped with it)
_ORDER: dict[int, tuple[weakref.ref, tuple, list[tuple[int, list[np.ndarray]]]]] = {}


def plot_layers(page: PageDrawing, optimise: bool, merge_tolerance: float) -> list[tuple[int, list[np.ndarray]]]:
    """``(layer, strokes in plotting order)`` per layer with ink, layers in order (pens by layer)."""
    key = (optimise, merge_tolerance)
    hit = _ORDER.get(id(page))
    if hit is not None and hit[0]() is page and hit[1] == key:
        return hit[2]
    out = []
    for layer in page.layer_ids:
        lines = [p for p in page.layer_polylines(layer) if len(p)]
        out.append((layer, optimise_lines(lines, merge_tolerance)[0] if optimise and lines else lines))
    for k in [k for k, v in _ORDER.items() if v[0]() is None]:
        del _ORDER[k]
    _ORDER[id(page)] = (weakref.ref(page), key, out)
    return out


def layers_document(page: PageDrawing, layers: list[tuple[int, list[np.ndarray]]], pens: tuple = (),
                    color: str = "black", width_mm: float = 0.35) -> vp.Document:
    """A vpype document with one layer per pen, each with vpype's name, colour and pen width, and
    ``penbot_next`` (the next layer's pen) for a profile's pen-change message."""
    import vpype as vp

    from penbot.pens import pen_for

    doc = vp.Document(page_size=(page.page.width_mm * PX_PER_MM, page.page.height_mm * PX_PER_MM))
    for i, (layer, lines) in enumerate(layers):
        lc = _complex(lines)
        lc.scale(PX_PER_MM)
        pen = pen_for(layer, pens, color, width_mm)
        lc.metadata.update({"vp_name": pen.name, "vp_color": vp.Color(pen.color),
                            "vp_pen_width": pen.width_mm * PX_PER_MM})
        if i + 1 < len(layers):
            nxt = pen_for(layers[i + 1][0], pens, color, width_mm)
            lc.metadata["penbot_next"] = f"pen {nxt.layer}: {nxt.name}, {nxt.color}"  # no brackets: GRBL comments
        doc.add(lc, layer, with_metadata=True)
    return doc
