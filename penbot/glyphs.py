"""Characters the model cannot write, drawn as pen strokes in the line's size and slant.

IAM-OnDB's transcriptions use ``#`` for a word the writer crossed out, so the model learned
``#`` as a scribble as wide as a word: "Item #4" came out as "Item nadh" and a short line
with a ``#`` often failed every attempt. ``[ ] & * /`` occur 1-3 times in the training
lines and ``+ %`` about ten times, and come out as scribbles or other letters ("50%" read
"Sc", "A&B" a crossed-out blot); ``= @ $ £ € < > _ ° × ± ~ ^ | \\`` are in none, so the alphabet
lacks them. Capital Q, X and Z occur 18, 4 and 7 times ("QUIZ", "XRAY" came out as scribbles).
Such a character is cut out of the text the model writes and drawn here instead, in the
strokes a hand draws it with, then set in the line like a piece of it (``penbot.pieces``).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

from penbot.accents import accented_letters
from penbot.tracing import JITTER, POINTS, trace

__all__ = ["DRAWN", "EXTRA", "JITTER", "POINTS", "Segment", "split_drawn", "draw", "writable"]

EXTRA = "=@$\u00a3\u20ac<>_\u00b0\u00d7\u00b1~^|\\"  # drawn though the alphabet lacks them (no training line has them)
DRAWN = "#%&*+/[]" + EXTRA + "QXZ"  # capitals stand 2 x-heights tall, as the model writes them
X_HEIGHT = 0.42  # the x-height of a line with no written piece to measure (style 1's median)


def _ring(cx: float, cy: float, rx: float, ry: float | None = None) -> np.ndarray:
    """A circle (or an upright ellipse) drawn counter-clockwise from near its top, as a pen draws an O."""
    a = np.radians(100.0 + np.linspace(0.0, 370.0, 14))
    return np.column_stack([cx + rx * np.cos(a), cy + (rx if ry is None else ry) * np.sin(a)])


# Each character as strokes of control points (x right, y up, in x-heights from the
# baseline at y = 0), in the order a hand draws them. Characters the training lines hold
# a handful of times or use as markup (IAM's ``#`` is a crossed-out word), each drawn
# the way a printed hand writes it; curves (True) are smoothed, straight strokes are not.
_SHAPES: dict[str, tuple[bool, tuple[np.ndarray, ...]]] = {
    "#": (False, (np.array([[0.38, 1.35], [0.27, 0.0]]), np.array([[0.81, 1.35], [0.7, 0.0]]),
                  np.array([[0.0, 0.92], [1.08, 0.92]]), np.array([[0.0, 0.43], [1.08, 0.43]]))),
    "[": (False, (np.array([[0.45, 1.85], [0.1, 1.85], [0.1, -0.35], [0.45, -0.35]]),)),
    "]": (False, (np.array([[0.0, 1.85], [0.35, 1.85], [0.35, -0.35], [0.0, -0.35]]),)),
    "/": (False, (np.array([[0.75, 1.75], [0.0, -0.25]]),)),
    "+": (False, (np.array([[0.0, 0.5], [0.9, 0.5]]), np.array([[0.45, 0.95], [0.45, 0.05]]))),
    "*": (False, tuple(np.array([[0.35 - 0.32 * np.cos(a), 1.3 - 0.32 * np.sin(a)],
                                 [0.35 + 0.32 * np.cos(a), 1.3 + 0.32 * np.sin(a)]])
                       for a in np.radians([90.0, 30.0, 150.0]))),
    "%": (True, (_ring(0.28, 1.3, 0.2), np.array([[1.0, 1.6], [0.0, 0.0]]), _ring(0.78, 0.3, 0.2))),
    "&": (True, (np.array([[1.1, 0.0], [0.75, 0.48], [0.4, 1.14], [0.3, 1.56], [0.45, 1.92], [0.68, 1.7],
                           [0.55, 1.26], [0.15, 0.84], [0.0, 0.42], [0.12, 0.05], [0.45, -0.02],
                           [0.78, 0.26], [0.98, 0.72]]),)),
    "=": (False, (np.array([[0.0, 0.72], [0.85, 0.72]]), np.array([[0.0, 0.3], [0.85, 0.3]]))),
    "@": (True, (np.array([[1.0, 0.95], [0.75, 1.02], [0.5, 0.82], [0.45, 0.5], [0.6, 0.3], [0.85, 0.35],
                           [1.0, 0.62], [1.02, 0.98], [1.05, 0.3], [1.3, 0.3], [1.48, 0.75], [1.32, 1.22],
                           [0.85, 1.45], [0.35, 1.28], [0.06, 0.8], [0.14, 0.22], [0.55, -0.12],
                           [1.05, -0.1], [1.32, 0.04]]),)),
    "$": (True, (np.array([[0.78, 1.32], [0.45, 1.5], [0.1, 1.32], [0.14, 0.95], [0.45, 0.78], [0.76, 0.55],
                           [0.8, 0.2], [0.45, 0.0], [0.05, 0.15]]), np.array([[0.45, 1.75], [0.42, -0.2]]))),
    "\u00a3": (True, (np.array([[0.85, 1.4], [0.65, 1.6], [0.38, 1.52], [0.3, 1.1], [0.34, 0.6], [0.3, 0.22],
                                [0.1, 0.0], [0.5, 0.0], [0.92, 0.0]]), np.array([[0.05, 0.78], [0.62, 0.78]]))),
    "\u20ac": (True, (np.array([[0.98, 1.35], [0.72, 1.6], [0.35, 1.45], [0.15, 0.8], [0.32, 0.12], [0.7, 0.0],
                                [0.98, 0.22]]), np.array([[0.0, 0.98], [0.68, 0.98]]),
                      np.array([[0.0, 0.62], [0.62, 0.62]]))),
    "<": (False, (np.array([[0.7, 1.0], [0.05, 0.5], [0.7, 0.0]]),)),
    ">": (False, (np.array([[0.05, 1.0], [0.7, 0.5], [0.05, 0.0]]),)),
    "_": (False, (np.array([[0.0, -0.3], [0.9, -0.3]]),)),
    "\u00b0": (True, (_ring(0.2, 1.62, 0.19),)),  # degree
    "\u00d7": (False, (np.array([[0.05, 0.85], [0.65, 0.15]]), np.array([[0.65, 0.85], [0.05, 0.15]]))),
    "\u00b1": (False, (np.array([[0.0, 0.8], [0.8, 0.8]]), np.array([[0.4, 1.2], [0.4, 0.4]]),
                        np.array([[0.0, 0.05], [0.8, 0.05]]))),
    "~": (True, (np.array([[0.0, 0.45], [0.2, 0.68], [0.45, 0.52], [0.7, 0.35], [0.92, 0.58]]),)),
    "^": (False, (np.array([[0.0, 1.25], [0.3, 1.75], [0.6, 1.25]]),)),
    "|": (False, (np.array([[0.1, 2.05], [0.1, -0.6]]),)),
    "\\": (False, (np.array([[0.0, 1.75], [0.75, -0.25]]),)),
    "X": (False, (np.array([[0.0, 2.0], [1.0, 0.0]]), np.array([[1.0, 2.0], [0.0, 0.0]]))),
    "Z": (False, (np.array([[0.05, 2.0], [1.0, 2.0], [0.0, 0.0], [1.0, 0.0]]),)),
    "Q": (True, (_ring(0.62, 1.0, 0.62, 1.0), np.array([[0.75, 0.4], [1.3, -0.15]]))),
}


@dataclass(frozen=True)
class Segment:
    """A run of a line's text: written by the model, or one drawn character."""

    text: str
    drawn: bool
    spaced: bool  # a space separates it from the segment before
    accents: tuple[tuple[int, str], ...] = ()  # marks drawn over its letters (``penbot.accents``)


def writable(alphabet: str) -> str:
    """Every character a line may hold: the model's ``alphabet``, the drawn ones and the
    accented letters of its letters (``penbot.accents``)."""
    written = "".join(c for c in alphabet if c not in DRAWN)  # an accented Q X Z folds: Z is drawn
    return alphabet + "".join(c for c in DRAWN if c not in alphabet) + accented_letters(written)


def split_drawn(text: str) -> list[Segment]:
    """``text`` cut around the characters in ``DRAWN``; spaces between segments are kept
    as ``spaced``, not as text. A text without such characters is one segment, unchanged."""
    if not any(c in DRAWN for c in text):
        return [Segment(text, False, False)]
    out: list[Segment] = []
    spaced = False
    for k, run in enumerate(re.split(f"([{re.escape(DRAWN)}])", text)):
        if k % 2:  # the captured separators: one drawn character each
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
    ``seed`` fixes the small wander of the control points, so the same line draws the same."""
    if char not in _SHAPES:
        raise ValueError(f"no drawing for {char!r}")
    curved, shapes = _SHAPES[char]
    rng = np.random.default_rng([*(s & 0xFFFFFFFF for s in seed), zlib.crc32(char.encode())])
    strokes = trace(shapes, curved, x_height, rng)
    points = np.concatenate(strokes)
    points[:, 0] -= points[:, 1] * np.tan(np.radians(slant_deg))  # above the baseline (y < 0) leans right
    points[:, 0] -= points[:, 0].min()
    lifts = np.zeros(len(points))
    lifts[np.cumsum([len(s) for s in strokes]) - 1] = 1.0
    return np.column_stack([np.diff(points, axis=0, prepend=[[0.0, 0.0]]), lifts])
