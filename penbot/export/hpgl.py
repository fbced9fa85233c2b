"""HPGL through vpype's ``write_hpgl`` for a configured plotter (default HP 7475A)."""

from __future__ import annotations

import math
from pathlib import Path

from penbot.errors import PenbotError
from penbot.export.options import ExportOptions
from penbot.export.plotter import layers_document, plot_layers
from penbot.page import PX_PER_MM, PageDrawing

__all__ = ["hpgl_paper", "write_hpgl"]


def hpgl_paper(device: str, width_mm: float, height_mm: float, paper: str | None = None) -> str:
    """The device's paper name: ``paper`` checked, or when None the one matching the page size."""
    import vpype as vp

    plotter = vp.config_manager.get_plotter_config(device)
    if plotter is None:
        known = ", ".join(vp.config_manager.get_plotter_list())
        raise PenbotError(f"unknown HPGL device {device!r}: known devices are {known}")
    names = ", ".join(pc.name for pc in plotter.paper_configs)
    if paper is not None:
        if plotter.paper_config(paper) is None:
            raise PenbotError(f"HPGL device {device!r} has no paper {paper!r}: use one of {names}")
        return paper
    size = sorted((width_mm, height_mm))
    for pc in plotter.paper_configs:
        if pc.paper_size is not None:
            other = sorted(s / PX_PER_MM for s in pc.paper_size)
            if all(math.isclose(a, b, abs_tol=0.5) for a, b in zip(size, other)):
                return pc.name
    raise PenbotError(
        f"HPGL device {device!r} has no paper of {width_mm:g}x{height_mm:g} mm: use a page size it knows "
        f"or name the sheet to plot on (HPGL paper: {names})"
    )


def write_hpgl(page: PageDrawing, path: Path, opts: ExportOptions) -> None:
    import vpype as vp

    paper = hpgl_paper(opts.hpgl_device, page.page.width_mm, page.page.height_mm, opts.hpgl_paper)
    doc = layers_document(page, plot_layers(page, opts.optimise, opts.merge_tolerance_mm), opts.pens, opts.color,
                          opts.pen_width_mm)
    with open(path, "w", encoding="utf-8") as out:
        try:
            vp.write_hpgl(
                out, doc, page_size=paper, landscape=page.page.width_mm > page.page.height_mm,
                center=False, device=opts.hpgl_device, velocity=None, quiet=True,
            )
        except ValueError as exc:
            raise PenbotError(f"HPGL: {exc}") from None
