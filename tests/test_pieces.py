"""Long lines in pieces: even cuts at spaces, pieces set on one baseline with the hand's word gap."""

from __future__ import annotations

import numpy as np
import pytest

from penbot.glyphs import draw
from penbot.pieces import LETTER_GAP, join_pieces, split_text
from penbot.spacing import baseline_fit, word_gaps


@pytest.mark.parametrize(("text", "limit", "want"), [
    ("short line", 40, ["short line"]),
    ("one two three four five six", 0, ["one two three four five six"]),
    ("aaaa bb cc dddd eeee ff", 12, ["aaaa bb cc", "dddd eeee ff"]),  # even, not greedy (12 + 10)
    ("hello  world foo", 8, ["hello", "world", "foo"]),  # no piece starts or ends with a space
    ("x" * 20 + " y", 10, ["x" * 20, "y"]),  # a word longer than the limit stays whole
])
def test_split_text(text, limit, want):
    assert split_text(text, limit) == want


def test_split_text_keeps_every_word_in_order_within_the_limit():
    rng = np.random.default_rng(0)
    for _ in range(50):
        words = ["w" * int(k) for k in rng.integers(1, 9, rng.integers(2, 20))]
        text = " ".join(words)
        pieces = split_text(text, 30)
        assert " ".join(pieces).split() == words
        assert all(len(p) <= 30 for p in pieces)
        assert len(pieces) == 1 if len(text) <= 30 else len(pieces) >= 2


def _word(text: str, x0: float, top_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Points of zigzag letters (height 0.5, y down, baseline 0) from x0, and their owners."""
    pts, owner = [], []
    zig = np.array([0.5, 0.0, 0.5, 0.0, 0.5] if top_first else [0.0, 0.5, 0.0, 0.5, 0.0])
    for j, _ in enumerate(text):
        xs = x0 + 0.4 * j + np.linspace(0.0, 0.3, 5)
        pts.append(np.column_stack([xs, -zig]))
        owner.append(np.full(5, j))
    return np.concatenate(pts), np.concatenate(owner)


def _piece(text: str, top_first: bool = False, size: float = 1.0) -> tuple[np.ndarray, np.ndarray, str]:
    """A written piece: two words with a 0.6 gap, starting at the origin like a sampled line
    (so a piece whose first letter begins at its top has its baseline 0.5 lower)."""
    a, b = text.split(" ")
    pa, oa = _word(a, 0.0, top_first)
    pb, ob = _word(b, pa[:, 0].max() + 0.6, top_first)
    pts = np.concatenate([pa, pb])
    pts = (pts - pts[0]) * size
    owner = np.concatenate([oa, ob + len(a) + 1])
    flags = np.zeros(len(pts))
    flags[4::5] = 1.0  # one stroke per letter
    off = np.column_stack([np.diff(pts, axis=0, prepend=pts[:1]), flags])
    return off, owner, text


def test_pieces_are_joined_on_the_first_baseline_with_the_hand_word_gap():
    first, second = _piece("ace cue"), _piece("zoo moon", top_first=True)
    line = join_pieces([first, second])
    assert len(line) == len(first[0]) + len(second[0])
    assert np.array_equal(line[: len(first[0]), :2], first[0][:, :2])  # the first piece as written
    pts = np.cumsum(line[:, :2], axis=0)
    one, two = pts[: len(first[0])], pts[len(first[0]):]
    assert np.isclose(two[:, 1].max(), one[:, 1].max())  # same baseline
    assert np.isclose(two[:, 0].min() - one[:, 0].max(), 0.6)  # the pieces' own word gap
    assert line[len(first[0]) - 1, 2] == 1.0  # the pen lifts between the pieces
    owner = np.concatenate([first[1], second[1] + 8])
    assert np.allclose(word_gaps(line, owner, "ace cue zoo moon"), 0.6)


def test_a_drawn_character_sits_on_the_baseline_a_letter_gap_from_its_unspaced_neighbour():
    """"ace cue #zoo moon": the '#' (no owner: drawn, baseline at y = 0) after a word gap,
    the next piece a letter gap after it."""
    first, second = _piece("ace cue"), _piece("zoo moon", top_first=True)
    mark = draw("#", 0.5, 0.0, (0,))
    line = join_pieces([first, (mark, None, "#"), second], spaced=[True, True, False])
    pts = np.cumsum(line[:, :2], axis=0)
    one = pts[: len(first[0])]
    drawn = pts[len(first[0]): len(first[0]) + len(mark)]
    two = pts[len(first[0]) + len(mark):]
    assert abs(drawn[:, 1].max() - one[:, 1].max()) < 0.1  # on the first piece's baseline
    assert np.isclose(drawn[:, 0].min() - one[:, 0].max(), 0.6)  # a word gap before it
    assert np.isclose(two[:, 0].min() - drawn[:, 0].max(), LETTER_GAP * 0.6)  # a letter gap after it
    assert np.isclose(two[:, 1].max(), one[:, 1].max())
    assert line[len(first[0]) + len(mark) - 1, 2] == 1.0


def test_a_piece_of_capitals_or_digits_stands_on_the_baseline():
    """No plain letters to fit ("QUIZ NIGHT", "50"): placed by the bottoms of what stands on
    the baseline, not by the middle of its ink (which set it half a letter high)."""
    first, caps = _piece("ace cue"), _piece("ZOO MOO", top_first=True)
    line = join_pieces([first, caps])
    pts = np.cumsum(line[:, :2], axis=0)
    one, two = pts[: len(first[0])], pts[len(first[0]):]
    assert np.isclose(two[:, 1].max(), one[:, 1].max())


def _tilted(piece: tuple[np.ndarray, np.ndarray, str], slope: float) -> tuple[np.ndarray, np.ndarray, str]:
    off, owner, text = piece
    pts = np.cumsum(off[:, :2], axis=0)
    pts[:, 1] += slope * pts[:, 0]  # y grows downward: the piece drifts down as it goes
    return np.column_stack([np.diff(pts, axis=0, prepend=pts[:1]), off[:, 2]]), owner, text


def test_tilted_pieces_are_levelled_and_meet_without_a_step():
    first, second = _tilted(_piece("ace cue"), 0.05), _tilted(_piece("zoo moon"), 0.05)
    line = join_pieces([first, second])
    pts = np.cumsum(line[:, :2], axis=0)
    owner = np.concatenate([first[1], second[1] + 8])
    text = "ace cue zoo moon"
    height, slope = baseline_fit(pts, text, owner)
    assert abs(slope) < 1e-6
    bottoms = [pts[owner == j, 1].max() for j, c in enumerate(text) if c != " "]
    assert np.ptp(bottoms) < 1e-6  # every letter on one level baseline, across the seam
    # as written (not levelled), the step at the seam would be the drift over the first piece
    unlevelled = np.cumsum(first[0][:, :2], axis=0)
    assert np.ptp(unlevelled[:, 1]) > 0.5 + 0.05 * 2


def test_a_piece_too_steep_to_trust_is_placed_by_its_median_baseline():
    first, second = _piece("ace cue"), _tilted(_piece("zoo moon"), 0.5)
    line = join_pieces([first, second])
    two = np.cumsum(line[:, :2], axis=0)[len(first[0]):]
    assert np.ptp(two[:, 1]) > 0.5 + 0.5 * 2  # left as written, not sheared
