"""Characters drawn for the model: where a text is cut around them, and how one is drawn."""

from __future__ import annotations

import numpy as np
import pytest

from penbot import glyphs
from penbot.accents import accented_letters
from penbot.glyphs import Segment, draw, split_drawn
from penbot.strokes import Strokes


@pytest.mark.parametrize("text, want", [
    ("no hash here", [Segment("no hash here", False, False)]),
    ("Item #4: two", [Segment("Item", False, False), Segment("#", True, True), Segment("4: two", False, False)]),
    ("#1 priority", [Segment("#", True, False), Segment("1 priority", False, False)]),
    ("a # b", [Segment("a", False, False), Segment("#", True, True), Segment("b", False, True)]),
    ("##", [Segment("#", True, False), Segment("#", True, False)]),
    ("room #", [Segment("room", False, False), Segment("#", True, True)]),
])
def test_a_text_is_cut_around_drawn_characters(text, want):
    assert split_drawn(text) == want


def test_a_hash_is_four_strokes_standing_on_the_baseline_in_the_line_size_and_slant():
    off = draw("#", 0.4, 0.0, (0, 1, 2))
    assert int((off[:, 2] > 0.5).sum()) == 4 and off[-1, 2] == 1.0
    assert len(Strokes(off).to_polylines()) == 4
    pts = np.cumsum(off[:, :2], axis=0)
    wander = 4 * glyphs.JITTER * 0.4
    assert abs(pts[:, 1].max()) < wander  # the bars end on the baseline (y = 0, down the page)
    assert abs(np.ptp(pts[:, 1]) - 1.35 * 0.4) < 2 * wander  # 1.35 x-heights tall
    assert abs(pts[:, 0].min()) < 1e-9  # from x = 0

    def left_bar_lean(o: np.ndarray) -> float:  # the left bar is drawn first, top to bottom
        p = np.cumsum(o[:, :2], axis=0)
        return float(p[0, 0] - p[glyphs.POINTS - 1, 0])

    extra = left_bar_lean(draw("#", 0.4, 20.0, (0, 1, 2))) - left_bar_lean(off)
    assert abs(extra - 1.35 * 0.4 * np.tan(np.radians(20.0))) < wander  # leans right with the hand
    assert np.array_equal(off, draw("#", 0.4, 0.0, (0, 1, 2)))  # the same seed draws the same
    assert not np.allclose(off, draw("#", 0.4, 0.0, (0, 1, 3)))


@pytest.mark.parametrize("char, strokes, low, high", [
    ("[", 1, -0.35, 1.85), ("]", 1, -0.35, 1.85), ("/", 1, -0.25, 1.75), ("+", 2, 0.05, 0.95),
    ("*", 3, 0.98, 1.62), ("%", 3, 0.0, 1.6), ("&", 1, -0.02, 1.92), ("=", 2, 0.3, 0.72),
    ("@", 1, -0.12, 1.45), ("$", 2, -0.2, 1.75), ("\u00a3", 2, 0.0, 1.6), ("\u20ac", 3, 0.0, 1.6),
    ("<", 1, 0.0, 1.0), (">", 1, 0.0, 1.0), ("_", 1, -0.3, -0.3),
    ("\u00b0", 1, 1.43, 1.81), ("\u00d7", 2, 0.15, 0.85), ("\u00b1", 3, 0.05, 1.2), ("~", 1, 0.35, 0.68),
    ("^", 1, 1.25, 1.75), ("|", 1, -0.6, 2.05), ("\\", 1, -0.25, 1.75),
    ("X", 2, 0.0, 2.0), ("Z", 1, 0.0, 2.0), ("Q", 2, -0.15, 2.0),
])
def test_each_drawn_character_has_its_strokes_and_place_on_the_line(char, strokes, low, high):
    """Brackets and the slash reach below the baseline, '+' sits on the x-height, '*' above it,
    capitals stand two x-heights tall."""
    x_height = 0.5
    off = draw(char, x_height, 0.0, (7,))
    assert len(Strokes(off).to_polylines()) == strokes
    y_up = -np.cumsum(off[:, 1]) / x_height  # in x-heights above the baseline
    wander = 4 * glyphs.JITTER
    assert abs(y_up.min() - low) < wander and abs(y_up.max() - high) < wander
    assert set(glyphs.DRAWN) == set("#[]/+*%&=@$\u00a3\u20ac<>_\u00b0\u00d7\u00b1~^|\\QXZ")


def test_a_line_may_hold_the_drawn_characters_the_alphabet_lacks():
    line = glyphs.writable("ab#")
    drawn = "ab#%&*+/[]=@$\u00a3\u20ac<>_\u00b0\u00d7\u00b1~^|\\QXZ"
    assert line.startswith(drawn) and line[len(drawn):] == accented_letters("ab#")  # then \u00e0 \u00e1 ...


def test_only_known_characters_are_drawn():
    with pytest.raises(ValueError):
        draw("\u2603", 0.4, 0.0, (0,))
