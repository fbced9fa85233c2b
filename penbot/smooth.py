"""Pure array-in/array-out clean-up of written lines: curve, de-jitter, simplify, level, rotate.

The model writes about 7 points per character (like its decimated training data), so a
raw line is a coarse polygon: a plotter draws an ``o`` as a hexagon. A centripetal
Catmull-Rom spline through the points restores the round pen path without moving any
point (on real IAM-OnDB lines it halves the distance to the undecimated pen path,
0.057 -> 0.031 mm at 6.5 mm writing height). Sampling also leaves point jitter; a
Savitzky-Golay filter (a sliding low-order polynomial fit) removes it, but at 7 points per
letter it also rounds letters off, so it is only worth it for noisy, low-bias samples
(``dejitter``). Simplification then drops points that move the line by less than a
tolerance in millimetres, which is what a plotter can resolve anyway.

Polylines are ``(n, 2)`` float arrays; y grows downward. numpy and shapely only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

from penbot.strokes import Strokes

__all__ = [
    "savgol_matrix",
    "smooth_polyline",
    "catmull_rom",
    "simplify_polyline",
    "rotate",
    "baseline_angle",
    "straighten",
    "clean_polylines",
    "strokes_to_polylines",
    "point_count",
    "two_points",
]


def savgol_matrix(window: int, order: int) -> np.ndarray:
    """The ``(window, window)`` least-squares projection of a window onto polynomials.

    Row ``window // 2`` is the classic Savitzky-Golay kernel; the first and last rows
    evaluate the same fit at the window's edges, which is how the line's ends are
    smoothed without padding (scipy's ``mode="interp"``).
    """
    t = np.arange(window, dtype=np.float64) - window // 2
    v = np.vander(t, order + 1, increasing=True)
    return v @ np.linalg.pinv(v)


def smooth_polyline(points: np.ndarray, window: int = 7, order: int = 4) -> np.ndarray:
    """Savitzky-Golay de-jitter of one polyline; short lines use a shorter window.

    A stroke with fewer points than ``order + 2`` is returned unchanged: it is a dot or a
    tick whose shape a polynomial would only distort.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(pts)
    window = min(window, n if n % 2 else n - 1)
    if window < order + 2:
        return pts.copy()
    h = savgol_matrix(window, order)
    m = window // 2
    out = np.empty_like(pts)
    kernel = h[m]
    for axis in range(2):
        # np.convolve flips the kernel; the projection row is symmetric, so it does not matter
        out[m : n - m, axis] = np.convolve(pts[:, axis], kernel[::-1], mode="valid")
    out[:m] = h[:m] @ pts[:window]
    out[n - m :] = h[window - m :] @ pts[n - window :]
    return out


def catmull_rom(points: np.ndarray, subdivisions: int = 8, alpha: float = 0.5) -> np.ndarray:
    """Centripetal Catmull-Rom curve through every point, ``subdivisions`` points per segment.

    Centripetal (``alpha=0.5``) knots never overshoot into loops or cusps on uneven
    spacing; the ends continue straight (reflected neighbours). Input points are kept.
    """
    return catmull_rom_many([points], subdivisions, alpha)[0]


def catmull_rom_many(
    polylines: Sequence[np.ndarray], subdivisions: int = 8, alpha: float = 0.5
) -> list[np.ndarray]:
    """``catmull_rom`` of every polyline, computed for all their segments at once.

    A line of writing has ~40 short strokes; one array pass instead of one per stroke
    cut the smoothing of an A4 page from 0.19 s to a fraction of that.
    """
    kept, quads, owners = [], [], []
    for i, points in enumerate(polylines):
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(p) > 1:
            p = p[np.r_[True, np.any(np.diff(p, axis=0) != 0, axis=1)]]
        kept.append(p)
        if len(p) >= 3 and subdivisions > 1:
            ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
            quads.append(np.stack([ext[k : len(ext) - 3 + k] for k in range(4)]))  # (4, segments, 2)
            owners.append(i)
    if not quads:
        return [p.copy() for p in kept]
    q = np.concatenate(quads, axis=1)[:, :, None, :]  # (4, all segments, 1, 2)
    p0, p1, p2, p3 = q

    def knot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.maximum(np.linalg.norm(b - a, axis=-1, keepdims=True), 1e-9) ** alpha

    t0 = np.zeros_like(p0[..., :1])
    t1 = t0 + knot(p0, p1)
    t2 = t1 + knot(p1, p2)
    t3 = t2 + knot(p2, p3)
    t = t1 + (t2 - t1) * np.linspace(0, 1, subdivisions + 1)[1:, None]  # (segments, k, 1)

    def lerp(a: np.ndarray, b: np.ndarray, ta: np.ndarray, tb: np.ndarray) -> np.ndarray:
        return ((tb - t) * a + (t - ta) * b) / (tb - ta)

    a1, a2, a3 = lerp(p0, p1, t0, t1), lerp(p1, p2, t1, t2), lerp(p2, p3, t2, t3)
    curve = lerp(lerp(a1, a2, t0, t2), lerp(a2, a3, t1, t3), t1, t2)  # (all segments, k, 2)
    out = [p.copy() for p in kept]
    start = 0
    for i, quad in zip(owners, quads, strict=True):
        n = quad.shape[1]
        out[i] = np.vstack([kept[i][:1], curve[start : start + n].reshape(-1, 2)])
        start += n
    return out


def simplify_polyline(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Drop points that move the line by less than ``tolerance`` (same units as points).

    Shapely's topology-preserving Douglas-Peucker keeps a loop a loop (an ``o`` does not
    collapse into a stroke) and always keeps both end points.
    """
    return simplify_many([points], tolerance)[0]


def simplify_many(polylines: Sequence[np.ndarray], tolerance: float) -> list[np.ndarray]:
    """``simplify_polyline`` of every polyline through shapely's vectorised functions."""
    pts = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polylines]
    out = [p.copy() for p in pts]
    todo = [i for i, p in enumerate(pts) if tolerance > 0 and len(p) > 2]
    if not todo:
        return out
    index = np.repeat(np.arange(len(todo)), [len(pts[i]) for i in todo])
    lines = shapely.linestrings(np.concatenate([pts[i] for i in todo]), indices=index)
    simple = shapely.simplify(lines, tolerance, preserve_topology=True)
    coords, owner = shapely.get_coordinates(simple, return_index=True)
    parts = np.split(coords, np.flatnonzero(np.diff(owner)) + 1) if len(coords) else []
    found = dict(zip(np.unique(owner).tolist(), parts, strict=True))
    for k, i in enumerate(todo):
        got = found.get(k)
        out[i] = got if got is not None and len(got) >= 2 else pts[i][[0, -1]].copy()
    return out


def rotate(polylines: Sequence[np.ndarray], angle: float, origin: tuple[float, float]) -> list[np.ndarray]:
    """Rotate every polyline by ``angle`` radians about ``origin`` (positive turns x into y)."""
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, s], [-s, c]])
    o = np.asarray(origin, dtype=np.float64)
    return [(np.asarray(p, dtype=np.float64) - o) @ rot + o for p in polylines]


def baseline_angle(polylines: Sequence[np.ndarray], bin_width: float = 1.0) -> float:
    """Slope angle (radians) of the writing's middle line, robust to ascenders and dots.

    The median height in bins one letter-height wide follows the middle of the band;
    a straight-line fit through those medians gives the line's drift. ``bin_width`` is in
    the polylines' units (1.0 = one writing height in model units).
    """
    if not polylines:
        return 0.0
    pts = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polylines])
    x, y = pts[:, 0], pts[:, 1]
    if np.ptp(x) < 2 * bin_width:
        return 0.0
    bins = np.floor((x - x.min()) / bin_width).astype(int)
    xs, ys = [], []
    for b in np.unique(bins):
        sel = bins == b
        if sel.sum() >= 3:
            xs.append(np.median(x[sel]))
            ys.append(np.median(y[sel]))
    if len(xs) < 3:
        return 0.0
    return float(np.arctan(np.polyfit(xs, ys, 1)[0]))


def straighten(polylines: Sequence[np.ndarray], max_angle_deg: float = 10.0) -> list[np.ndarray]:
    """Level a drifting line (rotate about its first point); steeper fits are left alone."""
    angle = baseline_angle(polylines)
    if not polylines or abs(np.degrees(angle)) > max_angle_deg:
        return [np.asarray(p, dtype=np.float64) for p in polylines]
    origin = tuple(np.asarray(polylines[0], dtype=np.float64).reshape(-1, 2)[0])
    return rotate(polylines, -angle, origin)


def clean_polylines(
    polylines: Sequence[np.ndarray], smooth: bool = True, dejitter: bool = False, level: bool = False
) -> list[np.ndarray]:
    """Level (optional), de-jitter (optional), then curve every stroke; no simplification yet.

    Kept separate from ``simplify_polyline`` so callers can measure the dense line first.
    """
    lines = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polylines]
    if level:
        lines = straighten(lines)
    if dejitter:
        lines = [smooth_polyline(p) for p in lines]
    return catmull_rom_many(lines) if smooth else lines


def strokes_to_polylines(
    strokes: Strokes,
    scale: float = 1.0,
    smooth: bool = True,
    tolerance: float = 0.0,
    level: bool = False,
    dejitter: bool = False,
) -> list[np.ndarray]:
    """Model ``Strokes`` -> clean polylines scaled by ``scale`` (e.g. mm per model unit).

    ``tolerance`` is in output units. A one-point stroke (a dot) becomes a zero-length
    segment so plotters still put the pen down there.
    """
    lines = clean_polylines(strokes.to_polylines(), smooth, dejitter, level)
    return [two_points(p) for p in simplify_many([p * scale for p in lines], tolerance)]


def two_points(p: np.ndarray) -> np.ndarray:
    """A dot (one point) as a zero-length segment, so every writer can draw it."""
    return p if len(p) >= 2 else np.repeat(p, 2, axis=0)


def point_count(polylines: Sequence[np.ndarray]) -> int:
    return int(sum(len(p) for p in polylines))
