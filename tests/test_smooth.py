"""smooth.py: de-jitter keeps shapes, curves pass through the points, simplification keeps tolerance."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from penbot.smooth import (
    baseline_angle,
    catmull_rom,
    catmull_rom_many,
    clean_polylines,
    point_count,
    rotate,
    simplify_many,
    simplify_polyline,
    smooth_polyline,
    straighten,
    strokes_to_polylines,
)
from penbot.strokes import Strokes


def circle(n: int, r: float = 1.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    return np.column_stack([r * np.cos(t), r * np.sin(t)])


@pytest.mark.parametrize("order", [2, 3, 4])
def test_savgol_keeps_polynomials_of_its_order(order):
    t = np.linspace(-2, 3, 25)
    pts = np.column_stack([t, 0.3 * t**order - t + 1])
    assert np.allclose(smooth_polyline(pts, 7, order), pts, atol=1e-9)


def test_savgol_removes_jitter_but_not_the_line():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 10, 200)
    clean = np.column_stack([t, np.sin(t)])
    noisy = clean + rng.normal(0, 0.05, clean.shape)
    out = smooth_polyline(noisy, 7, 3)
    assert np.abs(out - clean).std() < 0.6 * np.abs(noisy - clean).std()
    assert np.allclose(out[[0, -1]], clean[[0, -1]], atol=0.1)


def test_short_strokes_are_left_alone():
    dot = np.array([[1.0, 2.0], [1.1, 2.0], [1.2, 2.1]])
    assert np.array_equal(smooth_polyline(dot, 7, 4), dot)


def test_catmull_rom_passes_through_points_and_rounds_corners():
    poly = circle(9)  # an octagon-ish "o" as the model writes it (about 8 points)
    curve = catmull_rom(poly, 8)
    assert len(curve) == 1 + 8 * (len(poly) - 1)
    assert np.allclose(curve[::8], poly)  # every input point is kept
    chord_err = np.abs(1 - np.linalg.norm((poly[1:] + poly[:-1]) / 2, axis=1)).max()
    curve_err = np.abs(1 - np.linalg.norm(curve[8:-8], axis=1)).max()  # inner segments; ends run straight
    assert curve_err < chord_err / 4


def test_catmull_rom_handles_repeated_points():
    pts = np.array([[0.0, 0], [0, 0], [1, 0], [1, 0], [2, 1]])
    out = catmull_rom(pts)
    assert np.isfinite(out).all() and np.allclose(out[[0, -1]], pts[[0, -1]])


@pytest.mark.parametrize("tol", [0.01, 0.05, 0.2])
def test_simplify_respects_tolerance_and_ends(tol):
    pts = catmull_rom(circle(12, 5.0), 16)[:-3]
    out = simplify_polyline(pts, tol)
    assert len(out) < len(pts)
    assert np.allclose(out[[0, -1]], pts[[0, -1]])
    assert shapely.hausdorff_distance(shapely.LineString(out), shapely.LineString(pts)) <= tol + 1e-9


def test_simplify_keeps_a_loop_a_loop():
    ring = circle(50, 0.3)
    out = simplify_polyline(ring, 0.5)  # tolerance larger than the loop
    assert len(out) >= 3 and np.allclose(out[0], out[-1])


def test_rotate_turns_x_into_y():
    [p] = rotate([np.array([[1.0, 0.0], [2.0, 0.0]])], np.pi / 2, (1.0, 0.0))
    assert np.allclose(p, [[1, 0], [1, 1]])


def test_straighten_levels_a_drifting_line():
    x = np.linspace(0, 20, 400)
    line = [np.column_stack([x, 0.08 * x + 0.3 * np.sin(7 * x)])]
    assert abs(np.degrees(baseline_angle(line)) - np.degrees(np.arctan(0.08))) < 0.5
    assert abs(np.degrees(baseline_angle(straighten(line)))) < 0.3
    steep = [np.column_stack([x, 0.5 * x])]
    assert np.allclose(straighten(steep)[0], steep[0])  # 27 degrees: a fit error, not drift


def test_strokes_to_polylines_scales_keeps_strokes_and_dots():
    word = np.column_stack([np.linspace(0, 3, 20), 0.4 * np.sin(np.linspace(0, 9, 20))])
    dot = np.array([[1.5, -0.8]])
    s = Strokes.from_polylines([word, dot])
    out = strokes_to_polylines(s, scale=6.5, tolerance=0.05)
    assert len(out) == 2 and len(out[1]) == 2 and np.allclose(out[1], [[9.75, -5.2]] * 2)
    assert abs(np.ptp(out[0][:, 0]) - 19.5) < 1e-6
    raw = strokes_to_polylines(s, scale=6.5, smooth=False)
    assert point_count(raw) == 20 + 2


def test_clean_polylines_is_pure():
    pts = [circle(9)]
    before = pts[0].copy()
    clean_polylines(pts, smooth=True, dejitter=True, level=True)
    assert np.array_equal(pts[0], before)


def test_many_strokes_at_once_equal_one_at_a_time():
    """The page path smooths and simplifies all strokes of a line in one pass: same result."""
    rng = np.random.default_rng(5)
    strokes = [np.cumsum(rng.normal(size=(n, 2)) * 0.1, axis=0) for n in (1, 2, 3, 7, 40)]
    strokes.append(np.array([[0, 0], [0, 0], [1, 1], [1, 1], [2, 0]], float))  # repeated points
    strokes.append(np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], float))  # a closed loop
    for many, one in zip(catmull_rom_many(strokes), [catmull_rom(s) for s in strokes], strict=True):
        assert np.array_equal(many, one)
    for many, one in zip(simplify_many(strokes, 0.05), [simplify_polyline(s, 0.05) for s in strokes], strict=True):
        assert np.array_equal(many, one) and len(many) >= min(2, len(one))
