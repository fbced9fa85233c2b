"""The one stroke type: offsets <-> points <-> polylines, and what pen_up means."""

from __future__ import annotations

import numpy as np
import pytest

from penbot.strokes import Strokes

POLYLINES = [
    np.array([[0.0, 0.0], [1.0, 0.5], [2.0, 0.0]]),
    np.array([[2.5, -1.0]]),  # a dot: a one-point stroke
    np.array([[3.0, 0.0], [3.0, 1.0], [4.0, 1.0], [4.5, 0.2]]),
]


def test_polylines_round_trip():
    s = Strokes.from_polylines(POLYLINES)
    back = s.to_polylines()
    assert len(back) == len(POLYLINES)
    for a, b in zip(back, POLYLINES):
        np.testing.assert_allclose(a, b)


def test_pen_up_marks_the_last_point_of_each_stroke():
    s = Strokes.from_polylines(POLYLINES)
    ends = np.cumsum([len(p) for p in POLYLINES]) - 1
    assert np.flatnonzero(s.pen_up).tolist() == ends.tolist()
    assert s.offsets[:, 2].tolist() == [0, 0, 1, 1, 0, 0, 0, 1]


def test_offsets_are_moves_from_the_previous_point():
    s = Strokes.from_polylines(POLYLINES)
    pts = np.concatenate(POLYLINES)
    np.testing.assert_allclose(s.offsets[0, :2], pts[0])  # the first row is measured from the origin
    np.testing.assert_allclose(s.offsets[1:, :2], np.diff(pts, axis=0))
    np.testing.assert_allclose(s.points, pts)


def test_points_round_trip():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(50, 2)).cumsum(0)
    flags = rng.random(50) < 0.2
    flags[-1] = True
    s = Strokes.from_points(pts, flags)
    np.testing.assert_allclose(s.points, pts)
    np.testing.assert_array_equal(s.pen_up, flags)
    np.testing.assert_allclose(Strokes(s.offsets).points, pts)


def test_a_line_always_ends_with_the_pen_up():
    s = Strokes(np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]))
    assert s.pen_up.tolist() == [False, True]
    assert len(s.to_polylines()) == 1


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        Strokes.from_points(np.zeros((3, 2)), np.zeros(2))


def test_empty():
    s = Strokes.from_polylines([])
    assert len(s) == 0 and s.to_polylines() == [] and s.bounds() == (0.0, 0.0, 0.0, 0.0)


def test_bounds_and_scale():
    s = Strokes.from_polylines(POLYLINES)
    assert s.bounds() == (0.0, -1.0, 4.5, 1.0)
    assert s.scaled(2.0).bounds() == (0.0, -2.0, 9.0, 2.0)
    assert s.scaled(1.0, -1.0).bounds() == (0.0, -1.0, 4.5, 1.0)
