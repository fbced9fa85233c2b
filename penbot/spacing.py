"""Where a written line's words and baseline are, and word gaps a reader can see.

A sampled line's words are found with the attention window (which character each point
was written for), not by looking for gaps: the gaps are what may be missing. Late in a
long line the model sometimes closes a word gap to nothing, and a reader (or an OCR) then
reads two words as one. Such gaps are widened to a floor by moving the rest of the line
right; gaps at or above it are left as written.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stroke_ranges", "word_starts", "word_gaps", "line_band", "baseline_fit", "widen_word_gaps"]

_FLAT = set("acemnorsuvwxz")  # no ascender, no descender: they mark the baseline and x-height


def stroke_ranges(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` point ranges of the pen-down strokes (a stroke ends where the pen lifts)."""
    ends = np.flatnonzero(flags > 0.5).tolist()
    if not ends or ends[-1] != len(flags) - 1:
        ends.append(len(flags) - 1)
    starts = [0] + [e + 1 for e in ends[:-1]]
    return list(zip(starts, [e + 1 for e in ends], strict=True))


def word_starts(offsets: np.ndarray, owner: np.ndarray, text: str) -> list[tuple[int, int]]:
    """(first point, index of the space before it) of each word that begins with a new stroke
    and has every stroke before it aligned up to that space and every stroke after it aligned
    from it on. ``owner``: per point, the index in ``text`` of the character it was written for.

    While the pen travels to the next word the window rests on the space, so points aligned
    with the space itself may fall on either side of the break.
    """
    if not len(offsets):
        return []
    x = np.cumsum(offsets[:, 0])
    ranges = stroke_ranges(offsets[:, 2])
    lo = np.array([owner[a:b].min() for a, b in ranges])
    hi = np.array([owner[a:b].max() for a, b in ranges])
    left = np.array([x[a:b].min() for a, b in ranges])
    right = np.array([x[a:b].max() for a, b in ranges])
    reach = np.maximum.accumulate(right)  # right edge of the ink up to each stroke
    start = np.minimum.accumulate(left[::-1])[::-1]  # left edge of the ink from each stroke on
    before = np.maximum.accumulate(hi)
    after = np.minimum.accumulate(lo[::-1])[::-1]
    out = []
    for j, c in enumerate(text):
        if c == " " and j > 0:
            k = int(np.searchsorted(before, j, side="right"))  # the first stroke past the space
            if not (0 < k < len(ranges) and after[k] >= j):
                continue
            # a stroke aligned only with the space belongs to the next word when it is clear of
            # the ink before it and nearer the ink after it (a touch-down where that word
            # begins); otherwise to the word before (a t-bar, an i-dot, an a's last stroke)
            while k > 1 and lo[k - 1] == hi[k - 1] == j \
                    and start[k] - right[k - 1] < left[k - 1] - reach[k - 2]:
                k -= 1
            out.append((ranges[k][0], j))
    return out


def word_gaps(offsets: np.ndarray, owner: np.ndarray, text: str) -> list[float]:
    """The horizontal space between all the ink before each word and all the ink from it on."""
    x = np.cumsum(offsets[:, 0])
    return [float(x[start:].min() - x[:start].max()) for start, _ in word_starts(offsets, owner, text)]


def _flat_letters(points: np.ndarray, text: str, owner: np.ndarray) -> np.ndarray:
    """``(k, 3)``: middle x, bottom and height of each letter without ascender or descender."""
    rows = []
    for j, c in enumerate(text):
        if c in _FLAT:
            mine = points[owner == j]
            if len(mine) >= 3:
                rows.append((mine[:, 0].mean(), mine[:, 1].max(), np.ptp(mine[:, 1])))
    return np.array(rows, float).reshape(-1, 3)


def line_band(points: np.ndarray, text: str, owner: np.ndarray) -> tuple[float, float] | None:
    """Baseline and x-height of a line from its letters without ascenders or descenders
    (median bottom and median height; y grows downward), or None when there are too few."""
    flat = _flat_letters(points, text, owner)
    bottoms, heights = flat[:, 1], flat[:, 2]
    if len(bottoms) < 4:
        return None
    xh = float(np.median(heights))
    return (float(np.median(bottoms)), xh) if xh > 1e-3 else None


def baseline_fit(points: np.ndarray, text: str, owner: np.ndarray, min_letters: int = 5) -> tuple[float, float] | None:
    """``(height at x = 0, slope)`` of the line through the flat letters' bottoms (y grows
    downward), or None when there are fewer than ``min_letters``. Theil-Sen: the median of
    the pairwise slopes, so one letter that dips (or is misattributed) does not tilt it."""
    flat = _flat_letters(points, text, owner)
    if len(flat) < min_letters:
        return None
    x, b = flat[:, 0], flat[:, 1]
    i, j = np.triu_indices(len(x), 1)
    dx = x[j] - x[i]
    ok = np.abs(dx) > 1e-6
    if not ok.any():
        return None
    slope = float(np.median((b[j] - b[i])[ok] / dx[ok]))
    return float(np.median(b - slope * x)), slope


def widen_word_gaps(offsets: np.ndarray, owner: np.ndarray, text: str, floor: float) -> np.ndarray:
    """``offsets`` with every word gap narrower than ``floor`` times the line's ink band
    (10-90 % of its heights) widened to that, by moving the rest of the line right.

    A gap is the horizontal space between all the ink before a word and all the ink from it
    on (negative when they overlap). ``floor`` 0 returns the line as it is.
    """
    if floor <= 0 or len(offsets) < 2:
        return offsets
    out = offsets.copy()
    band = float(np.subtract(*np.percentile(np.cumsum(out[:, 1]), [90, 10])))
    want = floor * band
    for start, _ in word_starts(out, owner, text):
        x = np.cumsum(out[:, 0])
        gap = x[start:].min() - x[:start].max()
        if gap < want:
            out[start, 0] += want - gap
    return out
