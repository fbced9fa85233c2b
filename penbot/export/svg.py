"""SVG at real-world size (mm), one Inkscape layer of polylines, one group per written line."""

from __future__ import annotations

from pathlib import Path

import svgwrite
from svgwrite.extensions import Inkscape

from penbot.export.options import ExportOptions
from penbot.page import PageDrawing

__all__ = ["write_svg", "svg_string"]


def svg_string(page: PageDrawing, opts: ExportOptions) -> str:
    """The page as SVG text; the viewBox is in mm so coordinates are the layout's own.

    Plotting software (vpype, AxiDraw, Inkscape) reads ``width``/``height`` in mm and
    scales the viewBox onto them, so the drawing comes out at the written size.
    """
    w, h = page.page.width_mm, page.page.height_mm
    dwg = svgwrite.Drawing(size=(f"{w:g}mm", f"{h:g}mm"), profile="full", debug=False)
    dwg.attribs["viewBox"] = f"0 0 {w:g} {h:g}"
    layer = Inkscape(dwg).layer(label="1 handwriting", id="layer1")
    layer.attribs.update({
        "fill": "none",
        "stroke": opts.color,
        "stroke-width": f"{opts.pen_width_mm:g}",
        "stroke-linecap": "round",
        "stroke-linejoin": "round",
    })
    for n, line in enumerate(page.lines, start=1):
        if not line.polylines:
            continue
        group = dwg.g(id=f"line{n}")
        group.set_desc(title=line.text)
        for p in line.polylines:
            group.add(dwg.polyline(points=[(round(float(x), 3), round(float(y), 3)) for x, y in p]))
        layer.add(group)
    dwg.add(layer)
    return dwg.tostring()


def write_svg(page: PageDrawing, path: Path, opts: ExportOptions) -> None:
    Path(path).write_text('<?xml version="1.0" encoding="utf-8" ?>\n' + svg_string(page, opts), encoding="utf-8")
