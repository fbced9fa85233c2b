"""PNG preview: white paper, antialiased ink (drawn large, then reduced), pen width true to scale."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from penbot.errors import PenbotError
from penbot.export.options import ExportOptions
from penbot.page import Page, PageDrawing
from penbot.pens import pen_for

if TYPE_CHECKING:  # Pillow is imported when a PNG is drawn, not by every start-up
    from PIL import Image

__all__ = ["render_png", "write_png", "png_size", "MAX_PNG_PIXELS"]

_SUPERSAMPLE = 4  # Pillow draws aliased lines; 4x then a box reduction gives smooth edges
MAX_PNG_PIXELS = 40_000_000  # A4 at 600 dpi is 35 M; drawn 4x4 larger first, 40 M takes 640 MB


def png_size(page: Page, dpi: int) -> tuple[int, int]:
    """Pixel size of the page's PNG; PenbotError when it would be too large to draw."""
    size = (max(1, round(page.width_mm * dpi / 25.4)), max(1, round(page.height_mm * dpi / 25.4)))
    if size[0] * size[1] > MAX_PNG_PIXELS:
        raise PenbotError(
            f"a {page.width_mm:g}x{page.height_mm:g} mm page at {dpi} dpi is {size[0]:,}x{size[1]:,} pixels, "
            f"more than a PNG preview may have ({MAX_PNG_PIXELS / 1e6:.0f} million): use a smaller page or "
            "write SVG", about="png_size")
    return size


def render_png(page: PageDrawing, opts: ExportOptions) -> Image.Image:
    """Grayscale image of the page at ``opts.png_dpi``; in colour when it has pens by layer."""
    from PIL import Image, ImageColor, ImageDraw

    k = opts.png_dpi / 25.4 * _SUPERSAMPLE  # supersampled pixels per mm
    size = png_size(page.page, opts.png_dpi)
    layers = page.layer_ids
    mode = "L" if layers == [1] else "RGB"
    img = Image.new(mode, (size[0] * _SUPERSAMPLE, size[1] * _SUPERSAMPLE), "white")
    draw = ImageDraw.Draw(img)
    for layer_id in layers:  # in plotting order: a later pen draws over an earlier one
        pen = pen_for(layer_id, opts.pens, opts.color, opts.pen_width_mm)
        try:
            ink = ImageColor.getcolor(pen.color, mode)
        except ValueError:
            raise PenbotError(f"unknown colour {pen.color!r}: use a name like black or a hex code like #203080") \
                from None
        width = max(1, round(pen.width_mm * k))
        r = width / 2
        for p in page.layer_polylines(layer_id):
            pts = [(float(x) * k, float(y) * k) for x, y in p]
            if len(pts) > 1:
                draw.line(pts, fill=ink, width=width, joint="curve")
            for x, y in (pts[0], pts[-1]):  # round pen caps
                draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return img.reduce(_SUPERSAMPLE)


def write_png(page: PageDrawing, path: Path, opts: ExportOptions) -> None:
    render_png(page, opts).save(path, format="PNG", dpi=(opts.png_dpi, opts.png_dpi))
