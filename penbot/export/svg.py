"""SVG at real-world size (mm), one Inkscape layer of polylines, one group per written line."""

from __future__ import annotations

from pathlib import Path

import svgwrite
from svgwrite.extensions import Inkscape

from penbot.export.options import ExportOptions
from penbot.page import PageDrawing
from penbot.pens import pen_for

__all__ = ["write_svg", "svg_string"]


def svg_string(page: PageDrawing, opts: ExportOptions) -> str:
    """The page as SVG text; the viewBox is in mm so coordinates are the layout's own.

    Plotting software (vpype, AxiDraw, Inkscape) reads ``width``/``height`` in mm and
    scales the viewBox onto them, so the drawing comes out at the written size.
    """
    w, h = page.page.width_mm, page.page.height_mm
    dwg = svgwrite.Drawing(size=(f"{w:g}mm", f"{h:g}mm"), profile="full", debug=False)
    dwg.attribs["viewBox"] = f"0 0 {w:g} {h:g}"
    for layer_id in page.layer_ids:  # one Inkscape layer per pen; vpype reads its id, colour and width
        pen = pen_for(layer_id, opts.pens, opts.color, opts.pen_width_mm)
        layer = Inkscape(dwg).layer(label=f"{layer_id} {pen.name}", id=f"layer{layer_id}")
        layer.attribs.update({
            "fill": "none",
            "stroke": pen.color,
            "stroke-width": f"{pen.width_mm:g}",
            "stroke-linecap": "round",
            "stroke-linejoin": "round",
        })
        for n, line in enumerate(page.lines, start=1):
            if not line.polylines or line.layer != layer_id:
                continue
            group = dwg.g(id=f"line{n}")
            group.set_desc(title=line.text or "signature")
            for p in line.polylines:
                group.add(dwg.polyline(points=[(round(float(x), 3), round(float(y), 3)) for x, y in p]))
            layer.add(group)
        dwg.add(layer)
    return dwg.tostring()


def write_svg(page: PageDrawing, path: Path, opts: ExportOptions) -> None:
    Path(path).write_text('<?xml version="1.0" encoding="utf-8" ?>\n' + svg_string(page, opts), encoding="utf-8")
