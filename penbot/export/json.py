"""JSON: every page's lines and strokes as plain lists in mm, easy to read back anywhere.

Layout::

    {"format": "penbot-pages", "version": 1, "units": "mm",
     "pages": [{"width_mm": 210, "height_mm": 297,
                "margins_mm": {"top": 20, "right": 20, "bottom": 20, "left": 20},
                "lines": [{"text": "Dear Ann,", "y_mm": 25.0, "scale": 1.0,
                           "strokes": [[[x, y], [x, y], ...], ...]}]}]}
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from penbot.errors import PenbotError
from penbot.export.options import ExportOptions
from penbot.page import Page, PageDrawing, PlacedLine, as_polylines

__all__ = ["pages_to_dict", "pages_from_dict", "write_json", "read_json"]


def pages_to_dict(pages: list[PageDrawing]) -> dict:
    def page_dict(d: PageDrawing) -> dict:
        p = d.page
        return {
            "width_mm": p.width_mm,
            "height_mm": p.height_mm,
            "margins_mm": {
                "top": p.margin_top, "right": p.margin_right, "bottom": p.margin_bottom, "left": p.margin_left
            },
            "lines": [
                {
                    "text": line.text,
                    "y_mm": round(float(line.y_mm), 4),
                    "scale": round(float(line.scale), 6),
                    "strokes": [np.round(s, 4).tolist() for s in line.polylines],
                    **({"layer": line.layer} if line.layer != 1 else {}),
                }
                for line in d.lines
            ],
        }

    return {"format": "penbot-pages", "version": 1, "units": "mm", "pages": [page_dict(d) for d in pages]}


def pages_from_dict(data: dict) -> list[PageDrawing]:
    out = []
    for d in data["pages"]:
        m = d["margins_mm"]
        page = Page(float(d["width_mm"]), float(d["height_mm"]), m["top"], m["right"], m["bottom"], m["left"])
        lines = [
            PlacedLine(ln["text"], tuple(as_polylines(ln["strokes"])), float(ln.get("y_mm", 0.0)),
                       float(ln.get("scale", 1.0)), layer=int(ln.get("layer", 1)))
            for ln in d["lines"]
        ]
        out.append(PageDrawing(page, tuple(lines)))
    return out


def write_json(pages: list[PageDrawing], path: Path, opts: ExportOptions) -> None:
    Path(path).write_text(json.dumps(pages_to_dict(pages), separators=(",", ":")), encoding="utf-8")


def read_json(path: str | Path) -> list[PageDrawing]:
    """Read pages written by ``write_json``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != "penbot-pages":
            raise ValueError("not a penbot pages file")
        return pages_from_dict(data)
    except OSError as exc:
        raise PenbotError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PenbotError(f"{path}: not a penbot JSON pages file ({exc})") from None
