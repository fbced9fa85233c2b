"""PNG preview: white paper, antialiased ink (drawn large, then reduced), pen width true to scale."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageColor, ImageDraw

from penbot.errors import PenbotError
from penbot.export.options import ExportOptions
from penbot.page import PageDrawing

__all__ = ["render_png", "write_png"]

_SUPERSAMPLE = 4  # Pillow draws aliased lines; 4x then a box reduction gives smooth edges


def render_png(page: PageDrawing, opts: ExportOptions) -> Image.Image:
    """Grayscale image of the page at ``opts.png_dpi``."""
    k = opts.png_dpi / 25.4 * _SUPERSAMPLE  # supersampled pixels per mm
    size = tuple(max(1, round(s * opts.png_dpi / 25.4)) for s in (page.page.width_mm, page.page.height_mm))
    try:
        ink = ImageColor.getcolor(opts.color, "L")
    except ValueError:
        raise PenbotError(f"unknown colour {opts.color!r}: use a name like black or a hex code like #203080") from None
    img = Image.new("L", (size[0] * _SUPERSAMPLE, size[1] * _SUPERSAMPLE), 255)
    draw = ImageDraw.Draw(img)
    width = max(1, round(opts.pen_width_mm * k))
    r = width / 2
    for p in page.polylines:
        pts = [(float(x) * k, float(y) * k) for x, y in p]
        if len(pts) > 1:
            draw.line(pts, fill=ink, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):  # round pen caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return img.reduce(_SUPERSAMPLE)


def write_png(page: PageDrawing, path: Path, opts: ExportOptions) -> None:
    render_png(page, opts).save(path, format="PNG", dpi=(opts.png_dpi, opts.png_dpi))
