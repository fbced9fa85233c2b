"""Accents drawn over the letters the model writes."""

from __future__ import annotations

import numpy as np
import pytest

from penbot.accents import accented_letters, add_accents, split_accents
from penbot.glyphs import writable
from penbot.text import DEFAULT_ALPHABET, fold_text
from penbot.write import default_model_path

XH = 0.4


def test_accented_letters_become_their_base_letter_with_the_marks_kept_apart():
    assert split_accents("José Müller") == ("Jose Muller", ((3, "\u0301"), (6, "\u0308")))
    assert split_accents("François") == ("Francois", ((4, "\u0327"),))
    assert split_accents("plain text, 42") == ("plain text, 42", ())
    assert split_accents("Nguy\u1ec5n") == ("Nguyen", ((4, "\u0302\u0303"),))  # two marks, stacked
    # a mark with no drawing (the horn of Vietnamese ơ) is not split: such letters fold as before
    assert split_accents("\u01a1") == ("\u01a1", ())


def test_a_line_may_hold_accented_letters_but_not_over_a_drawn_capital():
    letters = accented_letters(DEFAULT_ALPHABET)
    assert all(c in letters for c in "éèêëñçåüöäàíóúÉÖÑąężőűșțăğ\u1ec5")
    assert "\u01a1" not in letters and "é" not in accented_letters("abcd")
    line = writable(DEFAULT_ALPHABET)
    assert "é" in line and "Ž" not in line  # Z is drawn, not written: Ž still folds to Z
    assert fold_text("Café Zoë", line).folded == {}
    assert fold_text("Žižek", line).folded == {"Ž": "Z"}
    assert fold_text("Đorđe Işık", line).text == "Dorde Işık".replace("ı", "i")


def _letters(xs: list[float], dot_over: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A hand-made line: one upright stroke per letter (baseline y = 0, y down, XH tall),
    the stroke ending with a lift; ``dot_over`` adds an i's dot after that letter."""
    pts, lifts, owner = [], [], []
    for k, x in enumerate(xs):
        ys = np.linspace(0.0, -XH, 6)
        pts += [(x, y) for y in ys]
        lifts += [0.0] * 5 + [1.0]
        owner += [k] * 6
        if k == dot_over:
            pts += [(x, -1.6 * XH), (x + 0.02, -1.62 * XH)]
            lifts += [0.0, 1.0]
            owner += [k, k]
    p = np.array(pts)
    off = np.column_stack([np.diff(p, axis=0, prepend=[[0.0, 0.0]]), lifts])
    return off, np.array(owner)


def test_an_accent_is_drawn_over_its_letter_when_the_letter_ends():
    off, owner = _letters([0.0, 0.5, 1.0])
    out, new_owner = add_accents(off, owner, "aea", ((1, "\u0301"),), XH, 0.0, (0, 0, 0))
    assert len(new_owner) == len(out) > len(off)
    assert int((out[:, 2] > 0.5).sum()) == 4  # one stroke more
    pts = np.cumsum(out[:, :2], axis=0)
    mark = pts[(new_owner == 1)][6:]  # the letter's own 6 points come first
    assert abs(mark[:, 0].mean() - 0.5) < 0.1  # over the letter
    assert mark[:, 1].max() < -XH  # above its top (y grows downward)
    # drawn right after the letter, so the letters after it are where they were
    assert np.allclose(pts[new_owner == 2], np.cumsum(off[:, :2], axis=0)[owner == 2])
    assert list(new_owner) == sorted(new_owner)


def test_an_accented_i_loses_the_dot_the_model_drew():
    off, owner = _letters([0.0, 0.5], dot_over=1)
    out, new_owner = add_accents(off, owner, "ai", ((1, "\u0301"),), XH, 0.0, (0, 0, 0))
    pts = np.cumsum(out[:, :2], axis=0)
    assert int((out[:, 2] > 0.5).sum()) == 3  # two letters and the accent; the dot is gone
    assert not np.any(np.isclose(pts[:, 1], -1.6 * XH) & np.isclose(pts[:, 0], 0.5))
    assert pts[new_owner == 1][:, 1].min() > -2.0 * XH


def test_a_cedilla_hangs_under_its_letter_and_leans_with_the_hand():
    off, owner = _letters([0.0, 0.5])
    out, new_owner = add_accents(off, owner, "ac", ((1, "\u0327"),), XH, 0.0, (0, 0, 0))
    mark = np.cumsum(out[:, :2], axis=0)[new_owner == 1][6:]
    assert mark[:, 1].max() > 0.1 * XH  # below the baseline
    upright = mark
    out, new_owner = add_accents(off, owner, "ac", ((1, "\u0327"),), XH, 20.0, (0, 0, 0))
    leaning = np.cumsum(out[:, :2], axis=0)[new_owner == 1][6:]
    # below the baseline (y > 0) a right-leaning hand's strokes sit further left
    assert leaning[:, 0].mean() < upright[:, 0].mean()


def test_a_line_without_accents_is_returned_as_it_came():
    off, owner = _letters([0.0, 0.5])
    out, new_owner = add_accents(off, owner, "ab", (), XH, 0.0, (0, 0, 0))
    assert out is off and new_owner is owner


@pytest.mark.skipif(not default_model_path().is_file(), reason="no shipped model")
def test_the_model_writes_the_base_letters_and_the_accents_are_added():
    from penbot.options import SampleOptions
    from penbot.sample import LineRequest, sample_lines
    from penbot.styles import load_style
    from penbot.write import open_model

    runner, prime = open_model(), load_style("1").prime()
    plain, accented = sample_lines(runner, [LineRequest(t, prime, SampleOptions(seed=3), key=0)
                                            for t in ("cafe creme", "café crème")])
    assert accented.ok and plain.ok
    a, b = plain.strokes.points, accented.strokes.points
    assert len(b) > len(a)
    assert int((accented.strokes.offsets[:, 2] > 0.5).sum()) == int((plain.strokes.offsets[:, 2] > 0.5).sum()) + 2
    # every point the model wrote is still there, where it was
    assert all(np.isclose(b, p).all(axis=1).any() for p in a)


def test_an_accent_over_a_short_letter_stays_low_when_a_neighbour_s_ascender_is_taken_for_it():
    # one joined-up stroke: the window gave the e the top of an "l" it runs into
    ys = np.r_[np.linspace(0.0, -XH, 6), np.linspace(-XH, -2.5 * XH, 4), np.linspace(-2.5 * XH, 0.0, 6)]
    p = np.column_stack([np.linspace(0.0, 0.6, len(ys)), ys])
    lifts = np.zeros(len(p))
    lifts[-1] = 1.0
    off = np.column_stack([np.diff(p, axis=0, prepend=[[0.0, 0.0]]), lifts])
    owner = np.ones(len(p), int)
    out, new_owner = add_accents(off, owner, "ae", ((1, "\u0301"),), XH, 0.0, (0, 0, 0))
    mark = np.cumsum(out[:, :2], axis=0)[len(p):]
    assert -1.25 * XH > mark[:, 1].max() > -(1.25 + 0.22 + 0.1) * XH  # just over an x-height, not the l's top


def test_an_ogonek_hangs_from_the_right_of_its_letter_s_foot():
    off, owner = _letters([0.0, 0.5])
    pts = np.cumsum(off[:, :2], axis=0)
    # the second letter a "u": down at x 0.4, along the baseline, up at x 0.6
    pts[6:12] = [(0.4, -XH), (0.4, -XH / 2), (0.4, 0.0), (0.5, 0.0), (0.6, 0.0), (0.6, -XH)]
    off = np.column_stack([np.diff(pts, axis=0, prepend=[[0.0, 0.0]]), off[:, 2]])
    out, new_owner = add_accents(off, owner, "aa", ((1, "\u0328"),), XH, 0.0, (0, 0, 0))
    mark = np.cumsum(out[:, :2], axis=0)[new_owner == 1][6:]
    assert mark[0, 1] >= -0.05 * XH and mark[:, 1].max() > 0.3 * XH  # from the foot down
    assert abs(mark[0, 0] - 0.6) < 0.1  # at the right of the foot, not under the middle


def test_a_mark_under_a_letter_whose_foot_the_window_gave_the_next_character():
    # the letter's own points stop half-way down; the window gave the rest to the next one
    off, owner = _letters([0.0, 0.5, 1.0])
    owner = owner.copy()
    owner[6:9] = 2  # the lower half of the second letter's stroke (drawn first, from its foot up)
    for mark in ("\u0328", "\u0327", "\u0326"):
        out, new_owner = add_accents(off, owner, "aaa", ((1, mark),), XH, 0.0, (0, 0, 0))
        assert len(out) > len(off) and np.isfinite(out).all()
        mark_pts = np.cumsum(out[:, :2], axis=0)[new_owner == 1][3:]
        assert mark_pts[:, 1].min() > -0.1 * XH  # under the foot, not inside the letter
