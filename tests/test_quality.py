"""Each line-quality rule on hand-made lines (normalised units: height 1, ~0.54 per character)."""

from __future__ import annotations

import numpy as np
import pytest

from penbot.quality import LineRules, check_line, cut_run_on, lingered, trim_tail
from penbot.strokes import Strokes


def _line(n_chars: int, per_char: float = 0.5, height: float = 0.8) -> np.ndarray:
    """A zig-zag of ``n_chars`` letters, each ``per_char`` wide and ``height`` tall, one stroke per letter."""
    polys = [np.array([[i * per_char, 0.0], [i * per_char + per_char / 3, -height], [i * per_char + per_char * 0.7, 0]])
             for i in range(n_chars)]
    return Strokes.from_polylines(polys).offsets


def _focus(offsets: np.ndarray, start: int, text: str) -> np.ndarray:
    """A window moving evenly over the text."""
    return start + np.minimum((np.arange(len(offsets)) * len(text)) // len(offsets), len(text) - 1)


def test_a_clean_line_passes():
    text = "hello world"
    off = _line(len(text))
    assert check_line(off, text, _focus(off, 4, text), 4, False) == ""


def test_hitting_the_step_cap_fails():
    off = _line(5)
    assert "did not finish" in check_line(off, "hello", _focus(off, 0, "hello"), 0, True)


def test_no_ink_fails():
    assert check_line(np.zeros((1, 3)), "a", np.zeros(1, int), 0, False) == "no ink"


def test_ink_far_outside_the_line_fails():
    off = _line(6)
    off[3, 1] += 3.5  # one jump far below the band
    assert "outside the line" in check_line(off, "abcdef", _focus(off, 0, "abcdef"), 0, False)
    assert check_line(off, "abcdef", _focus(off, 0, "abcdef"), 0, False, LineRules(max_height=10, max_band=10)) == ""


@pytest.mark.parametrize("per_char, bad", [(0.5, False), (0.05, True), (1.6, True)])
def test_width_unlike_the_text_fails(per_char, bad):
    text = "a" * 20
    off = _line(20, per_char)
    problem = check_line(off, text, _focus(off, 0, text), 0, False)
    assert ("width unlike" in problem) == bad


def test_running_on_past_the_end_fails():
    text = "word"
    off = _line(8)  # twice the ink the text needs
    focus = np.r_[_focus(off[:12], 0, text), np.full(len(off) - 12, len(text))]  # 12 points past the end
    assert check_line(off, text, focus, 0, False, LineRules(max_width_per_char=3)) == ""
    focus = np.r_[_focus(off[:6], 0, text), np.full(len(off) - 6, len(text))]  # 18 past the end
    assert "past the end" in check_line(off, text, focus, 0, False, LineRules(max_width_per_char=3))


def test_skipped_characters_fail():
    text = "abcdefghijkl"
    off = _line(len(text))
    focus = _focus(off, 0, text)
    assert check_line(off, text, focus, 0, False) == ""
    skipped = np.where(np.isin(focus, [3, 4, 5]), 2, focus)  # the window jumps over d, e, f
    assert "skipped 3 characters" in check_line(off, text, skipped, 0, False)
    assert check_line(off, text, skipped, 0, False, LineRules(skipped_chars_per=4)) == ""



def test_a_line_that_begins_by_finishing_the_style_text_fails():
    """A style whose ink does not say its text: the window stays in the sample's text (``focus < start``)
    while the line's first letters are drawn ("ello test" for a sample said to be "hello")."""
    text = "test with s1"
    off = _line(len(text) + 4)
    start = 6  # "hello " is the style's text and separator
    focus = _focus(off, start, text)
    assert check_line(off, text, focus, start, False) == ""
    spaced = np.r_[np.full(2, start - 1), focus[:-2]]  # two points on the separating space: normal
    assert check_line(off, text, spaced, start, False) == ""
    late = np.r_[np.linspace(1, start - 1, 16).astype(int), focus[:-16]]  # "ello " written first
    assert "began by finishing the style sample's text (16 points)" in check_line(off, text, late, start, False)
    assert check_line(off, text, late, start, False, LineRules(max_points_in_prime=20, skipped_chars_per=1)) == ""

def test_a_window_held_long_on_one_letter_asks_for_another_try():
    text = "QUIZ NIGHT"
    start = 5  # after a style's text
    even = start + np.repeat(np.arange(len(text)), 15)  # 15 points a character: a usual letter
    assert lingered(text, even, start) == ""
    held = np.insert(even, 15 * 2, np.full(30, start + 2))  # 45 points on the I
    assert lingered(text, held, start) == "lingered on one character (45 points)"
    assert lingered(text, held, start, LineRules(max_points_on_char=45)) == ""
    assert lingered(text, held, start, LineRules(max_points_on_char=0)) == ""
    on_space = np.insert(even, 15 * 4, np.full(30, start + 4))  # the pen travels over a word gap
    assert lingered(text, on_space, start) == ""
    in_prime = np.r_[np.full(40, start - 1), even]  # points before the line are check_line's business
    assert lingered(text, in_prime, start) == ""


def test_trim_tail_drops_only_a_stray_mark_after_a_gap():
    word = Strokes.from_polylines([np.array([[0, 0], [0.5, 0.2], [1.0, 0.0]])]).offsets
    stray = np.array([[0.6, 0.0, 0.0], [0.0, -0.5, 1.0]])  # starts 0.6 right of the ink
    off = np.concatenate([word, stray])
    focus = np.array([0, 1, 2, 3, 3])
    assert len(trim_tail(off, focus, end=3)) == 3
    assert len(trim_tail(off, np.array([0, 1, 2, 2, 3]), end=3)) == 5  # drawn on the last char: kept


def test_trim_tail_drops_a_bar_after_a_final_full_stop():
    word = Strokes.from_polylines([np.array([[0, 0], [0.5, 0.2], [1.0, 0.0]]), np.array([[1.2, 0.0]])]).offsets
    bar = np.array([[0.4, -0.6, 0.0], [0.0, 0.3, 0.0], [0.0, 0.3, 1.0]])  # tall, after a gap
    off = np.concatenate([word, bar])
    focus = np.array([0, 1, 1, 2, 2, 3, 3])  # the bar's first point still sees the dot (2)
    assert len(trim_tail(off, focus, end=3)) == 7  # not all of it past the end: kept by default
    assert len(trim_tail(off, focus, end=3, after_dot=True)) == 4  # after a full stop: cut
    dot_late = np.concatenate([word[:3], [[0.5, 0.0, 0.0], [0.01, 0.01, 1.0]]])  # the full stop, half past the end
    assert len(trim_tail(dot_late, np.array([0, 1, 1, 2, 3]), end=3, after_dot=True)) == 5  # a dot is kept


def test_cut_run_on_ends_a_connected_line_where_it_should_have_stopped():
    """One pen-down stroke for the whole line and 30 more points with the window past the end."""
    text = "hello"
    body = np.column_stack([np.linspace(0, 2.7, 40), 0.3 * np.sin(np.arange(40)), np.zeros(40)])
    tail = np.column_stack([np.linspace(2.8, 4.0, 30), 0.3 * np.sin(np.arange(30)), np.zeros(30)])
    pts = np.vstack([body, tail])
    off = np.diff(pts, axis=0, prepend=pts[:1])
    off[-1, 2] = 1.0
    focus = np.r_[np.minimum(np.arange(40) // 8, 4), np.full(30, 5)]  # past the end from point 40 on
    assert "past the end" in check_line(off, text, focus, 0, False)
    cut = cut_run_on(off, focus, 5)
    assert len(cut) == 40 + LineRules().last_letter_points and cut[-1, 2] == 1.0
    assert np.array_equal(cut[:-1], off[: len(cut) - 1])
    assert check_line(cut, text, focus[: len(cut)], 0, False) == ""
    short = np.r_[focus[:40], np.full(10, 5)]  # a normal last-letter overhang: left alone
    assert cut_run_on(off[:50], short, 5) is not None and len(cut_run_on(off[:50], short, 5)) == 50
