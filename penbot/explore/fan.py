"""The fan: what the model would have written next, at every point of a chosen line.

At each chosen point the model's state there (from ``replay``) is copied ``paths`` times
and sampled ``ahead`` points on. All points' paths run as one batch on the step runner
(in chunks that bound the memory), so a 20-character line with 50 paths per point is a
few batched steps, not thousands of small ones. Each path is coloured by the sign of its
turn against the chosen line's own direction over the same number of points: where the
fan splits into green and orange, the model was undecided between two shapes.

``sample_fan`` is the same idea from the end of a person's strokes: ``count``
continuations drawn as one batch from the state after reading them (the studio's
"Fan"); its first path is the one ``sample_free`` writes with the same seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from penbot.atomic import atomic_write_bytes, atomic_write_text
from penbot.errors import PenbotError
from penbot.explore.line import ChosenLine, output_format
from penbot.explore.replay import normalised, replay, take_steps
from penbot.options import SampleOptions
from penbot.runtime import Step, StepRunner, as_runner
from penbot.sample import _draw, _noise
from penbot.strokes import Strokes
from penbot.threads import ThreadPolicy

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

__all__ = ["Fan", "fan_paths", "sample_fan", "veer_sides", "check_fan_options", "signed_turn", "chosen_directions",
           "turn_colours", "render_fan_svg", "render_fan_png", "save_fan", "MAX_PATHS", "MAX_AHEAD", "RIGHT", "LEFT",
           "STRAIGHT"]

MAX_PATHS = 500
MAX_AHEAD = 50
MAX_FAN_STEPS = 5000  # points of one ``sample_fan`` path
CHUNK_BYTES = 64 << 20  # the text's one-hot is copied per row: a batch's copy stays under this
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


def _sample_on(runner: StepRunner, start: Step, onehot: np.ndarray, noise: np.ndarray, bias: float,
               temperature: float) -> np.ndarray:
    """Draw ``len(noise)`` normalised offsets per row from ``start`` on, the whole batch per step.

    ``start``: each row's mixture for its next point and the state it came from; ``onehot``:
    (1, U, A), copied per row; ``noise``: (steps, B, 4) as the sampler draws it.
    """
    b = len(start.pen_logit)
    steps = len(noise)
    bias_b = np.full(b, bias, np.float32)
    temp_b = np.full(b, temperature, np.float32)
    scale = (1 + bias_b) / temp_b
    chunk = max(64, CHUNK_BYTES // max(1, onehot[0].nbytes))
    drawn = np.zeros((b, steps, 3), np.float32)
    with runner.sampling() as most:
        threads = ThreadPolicy(most)  # a second core only where it measurably helps, as the sampler
        for s in range(0, b, chunk):
            e = min(b, s + chunk)
            step = take_steps(start, np.arange(s, e)) if (s, e) != (0, b) else start
            rows_onehot = np.ascontiguousarray(np.broadcast_to(onehot, (e - s, *onehot.shape[1:])))
            for j in range(steps):
                d = _draw(step, noise[j, s:e], bias_b[s:e], temp_b[s:e], scale[s:e])
                drawn[s:e, j] = d
                if j + 1 < steps:
                    n_threads = threads.use(e - s)
                    runner.set_threads(n_threads)
                    t0 = time.perf_counter()
                    step = runner.step(d, step.state, rows_onehot)
                    threads.took(n_threads, time.perf_counter() - t0)
        runner.set_threads(1)
    return drawn


def fan_paths(
    model: StepRunner | HandwritingModel, line: ChosenLine, paths: int = 50, ahead: int = 4, every: int = 1,
    seed: int = 0, bias: float = 1.0, temperature: float = 1.0,
) -> Fan:
    """Sample ``paths`` continuations of ``ahead`` points from the model's state at every ``every``-th point.

    The same arguments give the same paths (the noise is drawn up front from ``seed``).
    """
    check_fan_options(paths, ahead, every)
    if not 0.0 <= bias <= 10.0 or not 0.05 <= temperature <= 3.0:
        raise PenbotError("bias must be from 0 to 10 and temperature from 0.05 to 3")
    runner = as_runner(model)
    rep = replay(runner, line)
    points = line.strokes.points
    at = np.arange(0, len(points), every)
    rows = np.repeat(at + 1, paths)  # steps[t + 1] predicts the point after t, from the state after it
    b = len(rows)
    rng = np.random.default_rng(seed)
    noise = np.concatenate([rng.random((ahead, b, 1)), rng.standard_normal((ahead, b, 2)),
                            rng.random((ahead, b, 1))], axis=-1).astype(np.float32)
    drawn = _sample_on(runner, take_steps(rep.steps, rows), rep.onehot, noise, bias, temperature)
    moves = drawn[..., :2].astype(np.float64) * runner.std + runner.mean
    start = np.repeat(points[at], paths, axis=0)
    absolute = np.concatenate([start[:, None], start[:, None] + np.cumsum(moves, axis=1)], axis=1)
    pen = np.concatenate([np.repeat(line.strokes.pen_up[at], paths)[:, None], drawn[..., 2] > 0.5], axis=1)
    f = len(at)
    absolute = absolute.reshape(f, paths, ahead + 1, 2)
    turn = signed_turn(chosen_directions(points, at, ahead)[:, None], absolute[:, :, -1] - absolute[:, :, 0])
    return Fan(points, line.strokes.pen_up.copy(), at, absolute, pen.reshape(f, paths, ahead + 1), turn, seed, bias)


def sample_fan(model: StepRunner | HandwritingModel, prime: Strokes, count: int, steps: int,
               options: SampleOptions = SampleOptions()) -> list[Strokes]:
    """``count`` continuations of ``prime`` (normalised strokes), ``steps`` points each, as one batch.

    The strokes are read as ``sample_free`` reads them (no text), then every path draws with
    its own noise stream (``options.seed`` and its index), so the fan is reproducible and
    path 0 is what ``sample_free`` continues with for the same options. Offsets are in data
    units, the first one relative to the last point of ``prime``.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PATHS:
        raise PenbotError(f"a fan has 1 to {MAX_PATHS} paths, got {count!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_FAN_STEPS:
        raise PenbotError(f"a fan path has 1 to {MAX_FAN_STEPS} points, got {steps!r}")
    if prime is None or len(prime) < 1:
        raise PenbotError("a fan needs strokes to go on from")
    runner = as_runner(model)
    x = normalised(runner, prime.offsets)
    onehot = runner.one_hot(np.zeros((1, 1), np.int64))  # no text: one empty column, as ``sample_free``
    with runner.sampling():
        runner.set_threads(1)
        state = runner.read(x, onehot)
        first = runner.step(x[-1:], state, onehot)
    start = take_steps(first, np.zeros(count, np.int64))
    noise = np.stack([_noise(options.seed, k, 0, "", steps) for k in range(count)], axis=1)
    drawn = _sample_on(runner, start, onehot, noise, options.bias, options.temperature)
    out = drawn.astype(np.float64)
    out[..., :2] = out[..., :2] * runner.std + runner.mean
    return [Strokes(path) for path in out]


def veer_sides(start: np.ndarray, chosen: np.ndarray, path: np.ndarray, straight: float = 1e-6) -> np.ndarray:
    """Per point of ``path``: +1 where it lies right of the chosen path, -1 left, 0 on it.

    Point ``k`` of each path is seen from ``start`` (where both began) and compared with
    point ``k`` of ``chosen`` (the sign of ``signed_turn``), so a path is green where it
    veers right of the chosen one and orange where left, as in ``fan_paths``.
    """
    start = np.asarray(start, dtype=np.float64)
    n = min(len(chosen), len(path))
    turn = signed_turn(np.asarray(chosen[:n]) - start, np.asarray(path[:n]) - start)
    return np.where(turn > straight, 1, np.where(turn < -straight, -1, 0))


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
