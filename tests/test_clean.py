"""Cleaning rules: each drop reason, the stray-dot repair, text and point normalisation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from penbot.data.clean import CleanConfig, clean_line, decimate, normalise_text

TEXT = "Labour life Peers are here"
EXACT = CleanConfig(decimate=1)


def _height(points: np.ndarray) -> float:
    lo, hi = np.percentile(points[:, 1], [5, 95])
    return float(hi - lo)


def test_a_good_line_is_kept_and_normalised(make_raw):
    strokes, text, reason = clean_line(make_raw(TEXT), CleanConfig())
    assert strokes is not None and reason == "" and text == TEXT
    assert np.allclose(strokes.points[0], 0.0)
    assert strokes.pen_up[-1]


def _inside_longest_stroke(pen_up: np.ndarray) -> int:
    ends = np.flatnonzero(pen_up) + 1
    starts = np.r_[0, ends[:-1]]
    k = int(np.argmax(ends - starts))
    return int(starts[k] + ends[k]) // 2


def test_a_wild_vertical_jump_is_dropped(make_raw):
    raw = make_raw(TEXT)
    raw.points[_inside_longest_stroke(raw.pen_up), 1] += 25 * _height(raw.points)
    strokes, _, reason = clean_line(raw, CleanConfig())
    assert strokes is None and reason.startswith("wild jump")


def test_a_wild_horizontal_jump_is_dropped(make_raw):
    raw = make_raw(TEXT)
    raw.points[_inside_longest_stroke(raw.pen_up), 0] += 12 * _height(raw.points)
    strokes, _, reason = clean_line(raw, CleanConfig())
    assert strokes is None and reason == "wild jump (pen moves too far)"


def test_a_stray_dot_far_off_the_line_is_removed_not_the_line(make_raw):
    raw = make_raw(TEXT)
    h = _height(raw.points)
    dot = raw.points[:2] - [0, 5 * h]  # two points five heights above the writing
    stray = dataclasses.replace(
        raw, points=np.concatenate([raw.points, dot]).astype(np.float32), pen_up=np.r_[raw.pen_up, False, True]
    )
    fixed, _, reason = clean_line(stray, EXACT)
    plain, _, _ = clean_line(raw, EXACT)
    assert fixed is not None and reason == ""
    assert len(fixed.to_polylines()) == len(plain.to_polylines())
    np.testing.assert_allclose(fixed.points, plain.points, atol=1e-9)


def test_a_real_i_dot_is_kept(make_raw):
    raw = make_raw("will fill it in")  # i dots are short strokes just above the x-height
    strokes, _, _ = clean_line(raw, EXACT)
    assert len(strokes.to_polylines()) == int(raw.pen_up.sum())


@pytest.mark.parametrize("text", ["Lab", TEXT + " and a great many more words that were never written down"])
def test_ink_that_does_not_match_the_text_is_dropped(make_raw, text):
    raw = dataclasses.replace(make_raw(TEXT), text=text)
    strokes, _, reason = clean_line(raw, CleanConfig())
    assert strokes is None and reason == "ink does not match the text"


@pytest.mark.parametrize("points", [20, 0])
def test_a_tiny_or_empty_line_is_dropped(make_raw, points):
    raw = make_raw("a")  # 20 points
    raw = dataclasses.replace(raw, text="ab", points=raw.points[:points], pen_up=raw.pen_up[:points])
    assert len(raw.points) < CleanConfig().min_points
    strokes, _, reason = clean_line(raw, CleanConfig())
    assert strokes is None and reason == "empty or tiny line"


def test_characters_outside_the_alphabet_drop_the_line(make_raw):
    raw = dataclasses.replace(make_raw(TEXT), text="Labour l\u00eefe Peers are here")
    assert clean_line(raw, CleanConfig())[2] == "characters outside the alphabet"


@pytest.mark.parametrize(
    "csr, text",
    [
        ("Mr . Foot", "Mr. Foot"),
        ("he 's", "he's"),
        ("they 've and we 'll , don 't", "they've and we'll, don't"),
        ("it ( was ) here !", "it (was) here!"),
        ("a  b   c", "a b c"),
        ("M Ps tomorrow", "M Ps tomorrow"),
    ],
)
def test_csr_punctuation_spacing_is_undone(csr, text):
    assert normalise_text(csr) == text


def test_rotation_is_levelled(make_raw):
    level, _, _ = clean_line(make_raw(TEXT, integer=False), EXACT)
    tilted, _, _ = clean_line(make_raw(TEXT, angle_deg=6.0, integer=False), EXACT)
    slope = np.polyfit(*tilted.points.T, 1)[0]
    assert abs(slope) < 0.01  # was tan(6 deg) = 0.105 before levelling
    assert len(level) == len(tilted)
    assert np.abs(level.points - tilted.points).max() < 0.15


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.5])
def test_height_is_normalised_to_one(make_raw, scale):
    strokes, _, _ = clean_line(make_raw(TEXT, scale=scale, integer=False), EXACT)
    assert _height(strokes.points) == pytest.approx(1.0, abs=0.02)


def test_scale_and_position_do_not_change_the_result(make_raw):
    a, _, _ = clean_line(make_raw(TEXT, integer=False), CleanConfig())
    b, _, _ = clean_line(make_raw(TEXT, integer=False, scale=3.0, origin=(5000.0, 100.0)), CleanConfig())
    np.testing.assert_allclose(a.offsets, b.offsets, atol=1e-5)  # float32 input


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_decimate_keeps_ends_and_every_kth_point(k):
    stroke = np.column_stack([np.arange(23.0), np.zeros(23)])
    out = decimate(stroke, k)
    assert out[0, 0] == 0 and out[-1, 0] == 22
    assert len(out) == len(range(0, 22, k)) + 1


def test_decimate_drops_repeated_points():
    stroke = np.array([[0, 0], [0, 0], [1, 1], [1, 1], [2, 2]], float)
    np.testing.assert_array_equal(decimate(stroke, 1), [[0, 0], [1, 1], [2, 2]])


def test_decimation_shortens_lines_by_about_k(make_raw):
    n1 = len(clean_line(make_raw(TEXT), EXACT)[0])
    n3 = len(clean_line(make_raw(TEXT), CleanConfig(decimate=3))[0])
    assert n1 / 3 <= n3 <= n1 / 3 + 2 * int(make_raw(TEXT).pen_up.sum())
