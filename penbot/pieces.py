"""Long lines written in pieces, joined on one baseline.

After its style sample, the model writes a line as long as the lines it was trained on
without trouble; well past that, its hand drifts (the second half of a long line comes out
smaller and compressed, and the last words can turn into loops). A long line is therefore
cut at spaces into even pieces, each written after the same style sample (so in the same
hand, as two lines of one page are), and the pieces are set on the first one's baseline
with the hand's own word gap between them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from penbot.spacing import baseline_fit, line_band, word_gaps

__all__ = ["split_text", "join_pieces"]


def split_text(text: str, limit: int) -> list[str]:
    """``text`` cut at spaces into the fewest pieces of at most ``limit`` characters, as even
    as the spaces allow. A word longer than ``limit`` stays whole; ``limit`` 0 never cuts."""
    if limit <= 0 or len(text) <= limit:
        return [text]
    words = [m.span() for m in re.finditer(r"\S+", text)]
    n = len(words)
    # best[k]: (characters over the limit, pieces, sum of squared lengths, next first word)
    # for the text from word k on
    best: dict[int, tuple[int, int, int, int]] = {n: (0, 0, 0, n)}
    for k in reversed(range(n)):
        options = []
        for e in range(k + 1, n + 1):
            length = words[e - 1][1] - words[k][0]
            over, count, squares, _ = best[e]
            options.append((over + max(0, length - limit), count + 1, squares + length**2, e))
        best[k] = min(options)
    out, k = [], 0
    while k < n:
        e = best[k][3]
        out.append(text[words[k][0] : words[e - 1][1]])
        k = e
    return out if len(out) > 1 else [text]


MAX_TILT = 0.1  # a fitted baseline steeper than this (about 6 degrees) is not trusted
_ON_BASELINE = frozenset("ABCDEFGHIKLMNOPRSTUVWXYZ0123456789abcdehiklmnorstuvwxz!?")
LETTER_GAP = 0.3  # the gap between pieces with no space between them, times the word gap


def _level(points: np.ndarray, owner: np.ndarray, text: str) -> tuple[np.ndarray, float]:
    """The piece with its baseline made level (a vertical shear), and that baseline's height.

    A piece written after a style sample starts a little high and drifts down (about 1.3
    degrees on the shipped styles), so pieces matched by their median baseline meet with a
    step; level pieces meet cleanly. Without enough plain letters to fit a baseline the
    piece is left as it is and placed by the median height of its plain letters' bottoms
    (or, with too few of them, of the characters that stand on the baseline).
    """
    fit = baseline_fit(points, text, owner)
    if fit is None or abs(fit[1]) > MAX_TILT:
        band = line_band(points, text, owner)
        if band is not None:
            return points, band[0]
        # capitals and digits ("QUIZ NIGHT", "50"): the bottoms of what stands on the baseline
        bottoms = [points[owner == j, 1].max() for j, c in enumerate(text)
                   if c in _ON_BASELINE and (owner == j).sum() >= 3]
        return points, float(np.median(bottoms)) if bottoms else float(np.median(points[:, 1]))
    height, slope = fit
    x0 = float(points[0, 0])
    out = points.copy()
    out[:, 1] -= slope * (points[:, 0] - x0)
    return out, height + slope * x0


def join_pieces(
    pieces: Sequence[tuple[np.ndarray, np.ndarray | None, str]],
    fallback_gap: float = 0.5,
    spaced: Sequence[bool] | None = None,
) -> np.ndarray:
    """One line from written pieces: ``(offsets, owner, text)`` each, where ``owner`` is,
    per point, the index in the piece's ``text`` of the character it was written for.

    Every piece is levelled (``_level``); each after the first is set on the first one's
    baseline, right of all the ink before it by the median word gap of the pieces
    (``fallback_gap`` when no piece has one), or by a letter gap (``LETTER_GAP`` of it)
    where ``spaced[k]`` says no space stood before piece ``k``. A piece with no ``owner``
    is a drawn character (``penbot.glyphs``): placed as drawn, its baseline at y = 0 and its
    first row the first point's position. Sizes are left as written: rescaling by a
    measured size (x-height, ink band) made more pieces stand out than it evened, because
    the measures follow what the text is.
    """
    if spaced is None:
        spaced = [True] * len(pieces)
    kept = [k for k, p in enumerate(pieces) if len(p[0])]
    pieces, spaced = [pieces[k] for k in kept], [spaced[k] for k in kept]
    if not pieces:
        return np.zeros((0, 3))
    if len(pieces) == 1:
        return pieces[0][0]
    gaps = [g for off, owner, text in pieces if owner is not None for g in word_gaps(off, owner, text) if g > 0]
    gap = float(np.median(gaps)) if gaps else fallback_gap
    out, right, end, base = [], -np.inf, np.zeros(2), 0.0
    for k, (off, owner, text) in enumerate(pieces):
        own = np.cumsum(off[:, :2], axis=0) - off[0, :2]  # the piece as if it began at the origin
        if owner is None:
            height = -float(off[0, 1])
        else:
            own, height = _level(own, owner, text)
        if k == 0:
            own += off[0, :2]
            base = height + off[0, 1]
        else:
            own += [right + (gap if spaced[k] else LETTER_GAP * gap) - own[:, 0].min(), base - height]
            out[-1][-1, 2] = 1.0  # the pen lifts between pieces
        out.append(np.column_stack([np.diff(own, axis=0, prepend=end[None]), off[:, 2]]))
        right, end = max(right, float(own[:, 0].max())), own[-1]
    return np.concatenate(out)
