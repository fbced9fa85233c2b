"""Pen strokes from control points, as a hand draws a shape: for the characters and
accents drawn beside and over what the model writes (``penbot.glyphs``, ``penbot.accents``)."""

from __future__ import annotations

import numpy as np

__all__ = ["JITTER", "POINTS", "trace"]

JITTER = 0.05  # how far each control point wanders, times the x-height
POINTS = 6  # points per straight segment


def _straight(points: np.ndarray) -> np.ndarray:
    """``POINTS`` points along each straight segment between the control points."""
    t = np.linspace(0.0, 1.0, POINTS)[:-1, None]
    inner = [a + t * (b - a) for a, b in zip(points[:-1], points[1:], strict=True)]
    return np.vstack([*inner, points[-1:]])


def _smooth(points: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Chaikin's corner cutting: a curve through the control points' hull, ends kept."""
    for _ in range(rounds):
        q = 0.75 * points[:-1] + 0.25 * points[1:]
        r = 0.25 * points[:-1] + 0.75 * points[1:]
        points = np.vstack([points[:1], np.column_stack([q, r]).reshape(-1, 2), points[-1:]])
    return points


def trace(shapes: tuple[np.ndarray, ...], curved: bool, x_height: float,
          rng: np.random.Generator) -> list[np.ndarray]:
    """Each stroke's points from its control points (in x-heights, y up): jittered, smoothed
    when ``curved``, scaled to ``x_height`` with y turned to grow downward as on the page."""
    strokes = []
    for shape in shapes:
        pts = shape + rng.normal(0.0, JITTER, shape.shape)
        pts = _smooth(pts) if curved and len(pts) > 2 else _straight(pts)
        strokes.append(pts * [x_height, -x_height])
    return strokes
