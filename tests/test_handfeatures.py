"""handfeatures.py: the three measures of a hand and the words a style is listed with."""

from __future__ import annotations

import numpy as np
import pytest

from penbot.handfeatures import HandFeatures, describe, hand_features
from penbot.strokes import Strokes


def _letters(n: int, lean_deg: float, gap: float, lift_every: int) -> Strokes:
    """``n`` up-and-down letters of height 1 leaning ``lean_deg`` to the right, ``gap`` apart,
    the pen lifting after every ``lift_every`` letters."""
    lean = np.tan(np.radians(lean_deg))
    pts, pen = [], []
    for k in range(n):
        x0 = k * gap
        pts += [(x0, 0.0), (x0 + lean, -1.0), (x0 + lean + 0.05, -1.0), (x0 + 0.05, 0.0)]  # y grows downward
        pen += [0, 0, 0, 1 if (k + 1) % lift_every == 0 or k == n - 1 else 0]
    p = np.array(pts)
    return Strokes(np.column_stack([np.diff(p, axis=0, prepend=[[0.0, 0.0]]), pen]))


@pytest.mark.parametrize("lean", [-10.0, 0.0, 15.0, 25.0])
def test_slant_is_the_lean_of_the_downstrokes(lean):
    f = hand_features(_letters(12, lean, 0.6, 1), "abcdefghijkl")
    assert f.slant_deg == pytest.approx(lean, abs=0.5)


def test_strokes_per_letter_counts_pen_lifts_and_ignores_spaces():
    printed = hand_features(_letters(12, 5.0, 0.6, 1), "abcdef ghijkl")
    joined = hand_features(_letters(12, 5.0, 0.6, 3), "abcdef ghijkl")
    assert printed.strokes_per_char == pytest.approx(1.0)
    assert joined.strokes_per_char == pytest.approx(4 / 12)


def test_width_is_ink_width_per_letter_over_body_height():
    narrow = hand_features(_letters(10, 0.0, 0.4, 1), "abcdefghij")
    wide = hand_features(_letters(10, 0.0, 0.8, 1), "abcdefghij")
    assert wide.width / narrow.width == pytest.approx((9 * 0.8 + 0.05) / (9 * 0.4 + 0.05), rel=1e-6)
    off = _letters(10, 0.0, 0.4, 1).offsets
    scaled = Strokes(np.column_stack([off[:, :2] * 3, off[:, 2]]))
    assert hand_features(scaled, "abcdefghij").width == pytest.approx(narrow.width)  # scale-free


def test_describe_names_a_quarter_of_real_hands_narrow_and_a_quarter_wide():
    assert describe(HandFeatures(2.0, 0.8, 0.54)) == ["connected", "upright", "narrow"]
    assert describe(HandFeatures(15.0, 1.2, 0.8)) == ["printed", "slanted", "wide"]
    assert describe(HandFeatures(-10.0, 0.86, 0.65)) == ["printed", "back-slanted"]
