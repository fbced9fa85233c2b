"""How long a page takes to plot, from its strokes and the G-code profile's feeds and dwells.

A mailing of a hundred letters is hours of plotter time; knowing it before starting is the
point. The estimate is geometric: pen-down length at the profile's draw feed, pen-up
travel (from the machine's origin, between strokes and back) at its travel feed, and per
pen lift the time of the profile's own lift and lower templates (dwells, Z moves), timed
with ``gcode_seconds``, the same clock that times a finished G-code file. Pen-change pauses
(``M0``) wait for a person and are not counted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from penbot.export.options import ExportOptions
from penbot.page import PX_PER_MM, PageDrawing

__all__ = ["PlotTime", "Feeds", "profile_feeds", "estimate_plot", "gcode_seconds", "PLOTTER_SUFFIXES",
           "format_duration", "plot_entry", "mailing_plot"]

PLOTTER_SUFFIXES = (".gcode", ".nc", ".hpgl", ".plt")
_WORD = re.compile(r"([GXYZFP])\s*(-?\d+(?:\.\d*)?|-?\.\d+)", re.I)


@dataclass(frozen=True)
class PlotTime:
    """Pen-down length and pen-up travel in mm, pen lifts, pen changes, and the estimated seconds."""

    pen_down_mm: float
    pen_up_mm: float
    lifts: int
    pen_changes: int
    seconds: float

    def __add__(self, other: PlotTime) -> PlotTime:
        return PlotTime(self.pen_down_mm + other.pen_down_mm, self.pen_up_mm + other.pen_up_mm,
                        self.lifts + other.lifts, self.pen_changes + other.pen_changes, self.seconds + other.seconds)

    def as_dict(self) -> dict[str, float]:
        return {"pen_down_mm": round(self.pen_down_mm, 1), "pen_up_mm": round(self.pen_up_mm, 1),
                "lifts": self.lifts, "pen_changes": self.pen_changes, "seconds": round(self.seconds, 1)}

    def describe(self) -> str:
        changes = f", {self.pen_changes} pen change(s)" if self.pen_changes else ""
        return (f"pen down {self.pen_down_mm / 1000:.2f} m, pen up {self.pen_up_mm / 1000:.2f} m, "
                f"{self.lifts} lifts{changes}: about {format_duration(self.seconds)} to plot")


@dataclass(frozen=True)
class Feeds:
    """A profile's figures: feeds in units per minute, the unit in mm, and its templates."""

    draw: float
    travel: float
    unit_mm: float
    config: Mapping[str, object]


def format_duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def gcode_seconds(text: str, travel_feed: float, feed: float | None = None,
                  start: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> float:
    """Seconds a G-code program's moves take: G0 at ``travel_feed``, G1 at its modal F, G4 P dwells.

    Distances are 3-D (a Z lift costs its height); feeds are units per minute; G4 P is seconds
    (GRBL). Anything else (M3/M5, M0 pauses, comments) takes no time.
    """
    pos, f, motion, total = list(start), feed, None, 0.0
    for raw in text.splitlines():
        line = re.sub(r"\(.*?\)", "", raw.split(";", 1)[0]).strip()
        if not line:
            continue
        words = {}
        for letter, value in _WORD.findall(line):
            words.setdefault(letter.upper(), float(value))
        g = words.get("G")
        if g == 4:
            total += words.get("P", 0.0)
            continue
        if g in (0, 1):
            motion = int(g)
        if "F" in words:
            f = words["F"]
        target = [words.get("X", pos[0]), words.get("Y", pos[1]), words.get("Z", pos[2])]
        if motion is None or target == pos:
            continue
        dist = math.dist(pos, target)
        rate = travel_feed if motion == 0 else f
        if rate:
            total += dist / rate * 60.0
        pos = target
    return total


def profile_feeds(profile: str, extra_config: str | None = None) -> Feeds | None:
    """The draw and travel feeds of a vpype-gcode profile; None when it names no draw feed."""
    import vpype as vp

    from penbot.export.gcode import load_profiles

    load_profiles(extra_config)
    config = vp.config_manager.config.get("gwrite", {}).get(profile)
    if not isinstance(config, dict):
        return None
    values = config.get("default_values", {})
    draw = values.get("draw_feed", values.get("feed"))
    try:
        draw = float(draw)
        travel = float(values.get("travel_feed", draw))
    except (TypeError, ValueError):
        return None
    if not (draw > 0 and travel > 0):
        return None
    unit_mm = vp.convert_length(config.get("unit", "mm")) / PX_PER_MM
    return Feeds(draw, travel, unit_mm, config)


class _Values(dict):
    """Template values: the profile's defaults, then 0 for per-point names (x, y, index...)."""

    def __missing__(self, key: str) -> object:
        return 0


def _render(feeds: Feeds, *names: str) -> str:
    values = _Values({**feeds.config.get("default_values", {}), "penbot_next": "next pen", "vp_name": "",
                      "vp_color": "", "vp_pen_width": 0})
    return "".join(str(feeds.config.get(n) or "").format_map(values) for n in names)


def _overheads(feeds: Feeds) -> tuple[float, float, float]:
    """Seconds per stroke (lift, lower, dwells), per document, per layer change, from the templates."""
    stroke = ("line_start", "segment_first", "line_end", "line_join")
    start = _render(feeds, "document_start")
    once = gcode_seconds(start + _render(feeds, *stroke), feeds.travel, feeds.draw)
    twice = gcode_seconds(start + _render(feeds, *stroke) + _render(feeds, *stroke), feeds.travel, feeds.draw)
    fixed = gcode_seconds(start + _render(feeds, "document_end"), feeds.travel, feeds.draw)
    layer = gcode_seconds(start + _render(feeds, "layer_end", "layer_join", "layer_start"), feeds.travel,
                          feeds.draw) - gcode_seconds(start, feeds.travel, feeds.draw)
    return twice - once, fixed, max(layer, 0.0)


def _origin(page: PageDrawing, feeds: Feeds) -> np.ndarray:
    """Where the machine's origin lies on the page (mm), after the profile's flips and offsets."""
    c, u = feeds.config, feeds.unit_mm
    fx = page.page.width_mm / u if c.get("horizontal_flip") else 0.0
    fy = page.page.height_mm / u if c.get("vertical_flip") else 0.0
    return np.array([(fx - float(c.get("offset_x", 0.0))) * u, (fy - float(c.get("offset_y", 0.0))) * u])


def estimate_plot(page: PageDrawing, export: ExportOptions) -> PlotTime | None:
    """The plot time of ``page`` as the plotter writers order it; None when the profile has no feeds."""
    feeds = profile_feeds(export.gcode_profile, export.gcode_config)
    return None if feeds is None else _estimate(page, export, feeds, _overheads(feeds))


def _estimate(page: PageDrawing, export: ExportOptions, feeds: Feeds,
              overheads: tuple[float, float, float]) -> PlotTime:
    from penbot.export.plotter import plot_layers

    layers = plot_layers(page, export.optimise, export.merge_tolerance_mm)
    strokes = [p for _layer, lines in layers for p in lines if len(p)]
    origin = _origin(page, feeds)
    down = sum(float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) for p in strokes)
    up = 0.0
    where = origin
    for p in strokes:
        up += float(np.linalg.norm(p[0] - where))
        where = p[-1]
    up += float(np.linalg.norm(origin - where))
    per_stroke, fixed, per_layer = overheads
    changes = max(len(layers) - 1, 0)
    u = feeds.unit_mm
    seconds = (down / u / feeds.draw + up / u / feeds.travel) * 60.0 + per_stroke * len(strokes) + fixed \
        + per_layer * changes
    return PlotTime(down, up, len(strokes), changes, seconds)


def plot_entry(mail, paths: Sequence[str | Path], export: ExportOptions) -> dict[str, dict[str, float]]:
    """``{"plot": {...}}`` for a letter written to a plotter format (its pages and envelope), else ``{}``."""
    if not paths or Path(paths[0]).suffix.lower() not in PLOTTER_SUFFIXES:
        return {}
    feeds = profile_feeds(export.gcode_profile, export.gcode_config)  # once per letter, not per page
    if feeds is None:
        return {}
    overheads = _overheads(feeds)
    total: PlotTime | None = None
    for page in [*mail.pages, *([mail.envelope] if getattr(mail, "envelope", None) is not None else [])]:
        est = _estimate(page, export, feeds, overheads)
        total = est if total is None else total + est
    return {"plot": total.as_dict()} if total is not None else {}


def mailing_plot(entries: Sequence[Mapping | None]) -> PlotTime | None:
    """The sum of the resume record's per-letter plot times (None when no letter has one)."""
    total: PlotTime | None = None
    for entry in entries:
        d = entry.get("plot") if isinstance(entry, Mapping) else None
        if not isinstance(d, Mapping):
            continue
        try:
            t = PlotTime(float(d["pen_down_mm"]), float(d["pen_up_mm"]), int(d["lifts"]), int(d.get("pen_changes", 0)),
                         float(d["seconds"]))
        except (KeyError, TypeError, ValueError):
            continue
        total = t if total is None else total + t
    return total
