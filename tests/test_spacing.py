"""Word gaps: words are found by the window, narrow gaps are widened, nothing else moves."""

from __future__ import annotations

import numpy as np

from penbot.spacing import widen_word_gaps, word_gaps, word_starts


def _line(strokes: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and per-point owners of pen-down strokes given as (absolute points, character)."""
    pts = np.concatenate([s for s, _ in strokes])
    flags = np.concatenate([np.eye(1, len(s), len(s) - 1).ravel() for s, _ in strokes])
    owner = np.concatenate([np.full(len(s), c) for s, c in strokes])
    off = np.column_stack([np.diff(pts, axis=0, prepend=[[0.0, 0.0]]), flags])
    off[0, :2] = pts[0]
    return off, owner


def _letter(x0: float, width: float = 0.4) -> np.ndarray:
    """A letter-sized zigzag from x0, baseline 0, height 1 (y down: ink at negative y)."""
    xs = np.linspace(x0, x0 + width, 5)
    return np.column_stack([xs, [0.0, -1.0, 0.0, -1.0, 0.0]])


def test_a_closed_gap_is_opened_to_the_floor_and_a_wide_one_is_left():
    # "ab cd ef": a-b, then c starts where b ends (gap 0), then e 1.5 after d
    text = "ab cd ef"
    off, owner = _line([(_letter(0.0), 0), (_letter(0.5), 1), (_letter(0.9), 3), (_letter(1.4), 4),
                        (_letter(3.3), 6), (_letter(3.8), 7)])
    assert [j for _, j in word_starts(off, owner, text)] == [2, 5]
    assert np.allclose(word_gaps(off, owner, text), [0.0, 1.5])
    wide = widen_word_gaps(off, owner, text, floor=0.5)
    band = np.subtract(*np.percentile(np.cumsum(off[:, 1]), [90, 10]))
    assert np.allclose(word_gaps(wide, owner, text), [0.5 * band, 1.5])
    assert np.array_equal(wide[:, 1:], off[:, 1:])  # only horizontal moves, pen lifts unchanged
    changed = np.flatnonzero(np.any(wide != off, axis=1))
    assert changed.tolist() == [10]  # one offset: the move to the first point of "cd"
    assert np.array_equal(widen_word_gaps(off, owner, text, floor=0.0), off)


def test_a_late_t_bar_stays_with_its_word_and_a_touch_down_goes_with_the_next():
    # "at it": the bar of the t is drawn while the window is already on the space, over the t;
    # then a touch-down dot, also on the space, just left of the i where the next word starts
    text = "at it"
    bar = np.array([[0.45, -0.7], [0.95, -0.7]])
    dot = np.array([[1.05, 0.0]])
    off, owner = _line([(_letter(0.0), 0), (_letter(0.5), 1), (bar, 2), (dot, 2), (_letter(1.1), 3),
                        (_letter(1.6), 4)])
    (start, j), = word_starts(off, owner, text)
    assert j == 2 and start == 12  # after the bar (points 10-11), at the dot
    wide = widen_word_gaps(off, owner, text, floor=0.5)
    x = np.cumsum(wide[:, 0])
    assert np.isclose(x[10] - x[9], -0.45)  # the bar kept its place over the t
    assert np.isclose(x[13] - x[12], 0.05)  # the dot moved with the i
    assert x[12] - x[:12].max() > 0.4  # ... and the gap opened before it
