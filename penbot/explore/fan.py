"""The fan: what the model would have written next, at every point of a chosen line.

At each chosen point the model's state there (from ``replay``) is copied ``paths`` times
and sampled ``ahead`` points on. All points' paths run as one batch (in chunks that
bound the memory), so a 20-character line with 50 paths per point is a few batched steps,
not thousands of small ones. Each path is coloured by the sign of its turn against the
chosen line's own direction over the same number of points: where the fan splits into
green and orange, the model was undecided between two shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from penbot.atomic import atomic_write_bytes, atomic_write_text
from penbot.errors import PenbotError
from penbot.explore.line import ChosenLine, output_format
from penbot.explore.replay import draw_offsets, packed_weights, replay, take_mixture, take_state
from penbot.model import HandwritingModel

__all__ = ["Fan", "fan_paths", "check_fan_options", "signed_turn", "chosen_directions", "turn_colours",
           "render_fan_svg", "render_fan_png", "save_fan", "MAX_PATHS", "MAX_AHEAD", "RIGHT", "LEFT", "STRAIGHT"]

MAX_PATHS = 500
MAX_AHEAD = 50
CHUNK = 4096  # rows per batched step: bounds memory (the text's one-hot is copied per row)
RIGHT, LEFT, STRAIGHT = "#1a9641", "#f28e2b", "#9e9e9e"  # green, orange, grey
FORMATS = ("svg", "png")


@dataclass(frozen=True)
class Fan:
    """A chosen line and the paths sampled from it. Points are in normalised units, y down."""

    chosen: np.ndarray  # (N, 2) the chosen line's points
    chosen_pen_up: np.ndarray  # (N,) the pen lifts after this point
    at: np.ndarray  # (F,) indices of the chosen points a fan starts from
    paths: np.ndarray  # (F, P, ahead + 1, 2): paths[f, :, 0] is chosen[at[f]]
    pen_up: np.ndarray  # (F, P, ahead + 1) the pen lifts after this point (no ink to the next)
    turn: np.ndarray  # (F, P) signed turn in radians against the chosen direction; > 0 veers right
    seed: int = 0
    bias: float = 1.0


def check_fan_options(paths: int, ahead: int, every: int) -> None:
    """Raise PenbotError for a fan that makes no sense or would not fit in memory and time."""
    for name, value, hi in (("paths", paths, MAX_PATHS), ("points ahead", ahead, MAX_AHEAD),
                            ("fan spacing", every, 10_000)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
            raise PenbotError(f"{name} must be a whole number from 1 to {hi}, got {value!r}")


def signed_turn(direction: np.ndarray, move: np.ndarray) -> np.ndarray:
    """Angle (radians) from ``direction`` to ``move``; positive = to the right when y points down.

    On paper (y down) a positive cross product ``d x m`` is a clockwise turn, i.e. the
    writer's right.
    """
    d, m = np.asarray(direction, dtype=np.float64), np.asarray(move, dtype=np.float64)
    cross = d[..., 0] * m[..., 1] - d[..., 1] * m[..., 0]
    dot = d[..., 0] * m[..., 0] + d[..., 1] * m[..., 1]
    return np.arctan2(cross, dot)


def chosen_directions(points: np.ndarray, at: np.ndarray, ahead: int) -> np.ndarray:
    """Where the chosen line went from each fan point over the next ``ahead`` points.

    At the end of the line (or where it does not move) the direction it came from is used,
    and the writing direction (+x) where there is none.
    """
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    at = np.asarray(at)
    d = pts[np.minimum(at + ahead, n - 1)] - pts[at]
    back = pts[at] - pts[np.maximum(at - ahead, 0)]
    still = np.hypot(d[:, 0], d[:, 1]) < 1e-9
    d[still] = back[still]
    d[np.hypot(d[:, 0], d[:, 1]) < 1e-9] = (1.0, 0.0)
    return d


def turn_colours(turn: np.ndarray, straight: float = 1e-6) -> np.ndarray:
    """Green for a right turn, orange for a left one, grey for none at all."""
    t = np.asarray(turn)
    return np.where(t > straight, RIGHT, np.where(t < -straight, LEFT, STRAIGHT))


@torch.no_grad()
def fan_paths(
    model: HandwritingModel, line: ChosenLine, paths: int = 50, ahead: int = 4, every: int = 1,
    seed: int = 0, bias: float = 1.0, temperature: float = 1.0,
) -> Fan:
    """Sample ``paths`` continuations of ``ahead`` points from the model's state at every ``every``-th point.

    The same arguments give the same paths (the noise is drawn up front from ``seed``).
    """
    check_fan_options(paths, ahead, every)
    if not 0.0 <= bias <= 10.0 or not 0.05 <= temperature <= 3.0:
        raise PenbotError("bias must be from 0 to 10 and temperature from 0.05 to 3")
    rep = replay(model, line)
    points = line.strokes.points
    at = np.arange(0, len(points), every)
    rows = np.repeat(at + 1, paths)  # mixture[t + 1] predicts the point after t, from state after[t + 1]
    b = len(rows)
    rng = np.random.default_rng(seed)
    noise = np.concatenate([rng.random((ahead, b, 1)), rng.standard_normal((ahead, b, 2)),
                            rng.random((ahead, b, 1))], axis=-1).astype(np.float32)
    packed = packed_weights(model)
    drawn = np.zeros((b, ahead, 3), np.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # many small ops; a busy second core only makes every product wait
    try:
        for s in range(0, b, CHUNK):
            e = min(b, s + CHUNK)
            idx = torch.from_numpy(rows[s:e])
            mix, state = take_mixture(rep.mixture, idx), take_state(rep.after, idx)
            onehot = rep.onehot.expand(e - s, -1, -1)
            for j in range(ahead):
                d = draw_offsets(mix, torch.from_numpy(noise[j, s:e]), bias, temperature)
                drawn[s:e, j] = d.numpy()
                if j + 1 < ahead:
                    mix, state, _ = model.step(d, state, onehot, packed)
    finally:
        torch.set_num_threads(threads)
    moves = drawn[..., :2].astype(np.float64) * model.std.numpy() + model.mean.numpy()
    start = np.repeat(points[at], paths, axis=0)
    absolute = np.concatenate([start[:, None], start[:, None] + np.cumsum(moves, axis=1)], axis=1)
    pen = np.concatenate([np.repeat(line.strokes.pen_up[at], paths)[:, None], drawn[..., 2] > 0.5], axis=1)
    f = len(at)
    absolute = absolute.reshape(f, paths, ahead + 1, 2)
    turn = signed_turn(chosen_directions(points, at, ahead)[:, None], absolute[:, :, -1] - absolute[:, :, 0])
    return Fan(points, line.strokes.pen_up.copy(), at, absolute, pen.reshape(f, paths, ahead + 1), turn, seed, bias)


# --- drawing ---------------------------------------------------------------------------------

def _segments(points: np.ndarray, pen_up: np.ndarray) -> list[np.ndarray]:
    """Pen-down pieces of one path: no ink from a point after which the pen lifts."""
    cuts = np.flatnonzero(pen_up[:-1]) + 1
    return [p for p in np.split(points, cuts) if len(p) >= 2]


def _bounds(fan: Fan) -> tuple[float, float, float, float]:
    allp = np.concatenate([fan.chosen, fan.paths.reshape(-1, 2)]) if fan.paths.size else fan.chosen
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def render_fan_svg(fan: Fan, scale: float = 60.0, pad: float = 0.3) -> str:
    """The fan as an SVG document: sampled paths underneath, the chosen line on top in black."""
    x0, y0, x1, y1 = _bounds(fan)
    w, h = (x1 - x0 + 2 * pad) * scale, (y1 - y0 + 2 * pad) * scale + 24

    def fmt(p: np.ndarray) -> str:
        q = (p - (x0 - pad, y0 - pad)) * scale
        return "M" + " L".join(f"{x:.2f} {y:.2f}" for x, y in q)

    by_colour: dict[str, list[str]] = {RIGHT: [], LEFT: [], STRAIGHT: []}
    colours = turn_colours(fan.turn)
    for f in range(fan.paths.shape[0]):
        for p in range(fan.paths.shape[1]):
            by_colour[str(colours[f, p])] += [fmt(s) for s in _segments(fan.paths[f, p], fan.pen_up[f, p])]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.2f} {h:.2f}">',
        f'<rect width="{w:.2f}" height="{h:.2f}" fill="white"/>',
    ]
    for colour, parts in by_colour.items():
        if parts:
            out.append(f'<path d="{" ".join(parts)}" fill="none" stroke="{colour}" stroke-width="0.8" '
                       'stroke-opacity="0.35" stroke-linecap="round" stroke-linejoin="round"/>')
    chosen = [fmt(s) for s in _segments(fan.chosen, fan.chosen_pen_up)]
    out.append(f'<path d="{" ".join(chosen)}" fill="none" stroke="black" stroke-width="1.6" '
               'stroke-linecap="round" stroke-linejoin="round"/>')
    n_paths = fan.paths.shape[1] if fan.paths.ndim == 4 else 0
    ahead = fan.paths.shape[2] - 1 if fan.paths.ndim == 4 else 0
    out.append(f'<text x="6" y="{h - 8:.2f}" font-family="sans-serif" font-size="11" fill="#444">'
               f'{n_paths} paths, {ahead} points ahead, at {len(fan.at)} points; seed {fan.seed}, bias {fan.bias:g}: '
               f'<tspan fill="{RIGHT}">veers right</tspan> / <tspan fill="{LEFT}">veers left</tspan></text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render_fan_png(fan: Fan, dpi: int = 150) -> bytes:
    """The same picture as ``render_fan_svg``, drawn by matplotlib."""
    from matplotlib.collections import LineCollection

    from penbot.explore._plot import figure_bytes, pyplot

    plt = pyplot()
    x0, y0, x1, y1 = _bounds(fan)
    width = min(16.0, max(4.0, (x1 - x0 + 0.6) * 0.9))
    height = max(1.5, width * (y1 - y0 + 0.6) / (x1 - x0 + 0.6))
    fig, ax = plt.subplots(figsize=(width, height))
    colours = turn_colours(fan.turn)
    for colour in (RIGHT, LEFT, STRAIGHT):
        segs = [s for f, p in zip(*np.nonzero(colours == colour), strict=True)
                for s in _segments(fan.paths[f, p], fan.pen_up[f, p])]
        if segs:
            ax.add_collection(LineCollection(segs, colors=colour, linewidths=0.6, alpha=0.35))
    ax.add_collection(LineCollection(_segments(fan.chosen, fan.chosen_pen_up), colors="black", linewidths=1.4))
    ax.set_xlim(x0 - 0.3, x1 + 0.3)
    ax.set_ylim(y1 + 0.3, y0 - 0.3)  # y down, as on paper
    ax.set_aspect("equal")
    ax.axis("off")
    ahead = fan.paths.shape[2] - 1
    ax.set_title(f"{fan.paths.shape[1]} paths, {ahead} points ahead: green veers right, orange veers left",
                 fontsize=9, loc="left")
    fig.tight_layout(pad=0.2)
    return figure_bytes(fig, "png", dpi)


def save_fan(fan: Fan, path: str | Path) -> Path:
    """Write the fan as .svg or .png (atomically)."""
    fmt = output_format(path, FORMATS, "fan")
    if fmt == "svg":
        atomic_write_text(path, render_fan_svg(fan))
    else:
        atomic_write_bytes(path, render_fan_png(fan))
    return Path(path)
