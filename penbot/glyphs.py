"""Characters the model cannot write, drawn as pen strokes in the line's size and slant.

IAM-OnDB's transcriptions use ``#`` for a word the writer crossed out, so the model learned
``#`` as a scribble as wide as a word: "Item #4" came out as "Item nadh" and a short line
with a ``#`` often failed every attempt. Such a character is cut out of the text the model
writes and drawn here instead, as a hand draws it (four strokes), then set in the line
like a piece of it (``penbot.pieces``).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["DRAWN", "Segment", "split_drawn", "draw"]

DRAWN = "#"
HEIGHT = 1.35  # a drawn character's height, times the line's x-height (``spacing.line_band``)
X_HEIGHT = 0.42  # the x-height of a line with no written piece to measure (style 1's median)
WIDTH = 0.8  # its width, times its height
JITTER = 0.04  # how far each stroke end wanders, times its height
POINTS = 6  # points per stroke


@dataclass(frozen=True)
class Segment:
    """A run of a line's text: written by the model, or one drawn character."""

    text: str
    drawn: bool
    spaced: bool  # a space separates it from the segment before


def split_drawn(text: str) -> list[Segment]:
    """``text`` cut around the characters in ``DRAWN``; spaces between segments are kept
    as ``spaced``, not as text. A text without such characters is one segment, unchanged."""
    if not any(c in DRAWN for c in text):
        return [Segment(text, False, False)]
    out: list[Segment] = []
    spaced = False
    for run in re.split(f"([{re.escape(DRAWN)}])", text):
        if run in DRAWN and run:
            out.append(Segment(run, True, spaced))
            spaced = False
            continue
        if run.strip():
            out.append(Segment(run.strip(), False, spaced or run[:1] == " "))
        spaced = run[-1:] == " "
    return out


def draw(char: str, x_height: float, slant_deg: float, seed: tuple[int, ...]) -> np.ndarray:
    """Offsets ``(dx, dy, pen_up)`` of ``char`` standing on the baseline y = 0 (y grows
    downward) from x = 0; the first row holds the first point's position from there.
    ``seed`` fixes the small wander of the stroke ends, so the same line draws the same."""
    if char != "#":
        raise ValueError(f"no drawing for {char!r}")
    h = HEIGHT * x_height
    w = WIDTH * h
    rng = np.random.default_rng([*(s & 0xFFFFFFFF for s in seed), zlib.crc32(char.encode())])
    ends = np.array([
        [[0.35 * w, -h], [0.25 * w, 0.0]],  # the left bar, top to bottom
        [[0.75 * w, -h], [0.65 * w, 0.0]],  # the right bar
        [[0.0, -0.68 * h], [w, -0.68 * h]],  # the upper crossbar, left to right
        [[0.0, -0.32 * h], [w, -0.32 * h]],  # the lower crossbar
    ]) + rng.normal(0.0, JITTER * h, (4, 2, 2))
    t = np.linspace(0.0, 1.0, POINTS)[:, None]
    strokes = [a + t * (b - a) for a, b in ends]
    shear = np.tan(np.radians(slant_deg))
    points = np.concatenate(strokes)
    points[:, 0] -= points[:, 1] * shear  # y is negative above the baseline: the top leans right
    points[:, 0] -= points[:, 0].min()
    lifts = np.zeros(len(points))
    lifts[np.cumsum([len(s) for s in strokes]) - 1] = 1.0
    return np.column_stack([np.diff(points, axis=0, prepend=[[0.0, 0.0]]), lifts])
