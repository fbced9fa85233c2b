"""Before/after picture of penbot's smoothing: ``python examples/smoothing.py [IAM-OnDB root] [out.png]``.

Takes a real IAM-OnDB line as the reference pen path, decimates it like the training
data (what the model writes: ~7 points per character) and adds point jitter of the kind
sampling leaves (Gaussian, sd 0.015 writing heights = 0.1 mm). Then ``penbot.smooth``
cleans it the way the layout does at 6.5 mm writing height: a Catmull-Rom curve through
the points, then 0.05 mm simplification (and, optionally, Savitzky-Golay de-jitter first).
Prints point counts and the mean distance to the reference pen path (whole line); the
picture shows the stretch ``VIEW_MM``, large enough to see the polygon corners.
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import numpy as np
import shapely
from PIL import Image, ImageDraw, ImageFont

from penbot.data.clean import decimate, normalise_points
from penbot.data.iamondb import parse_strokes
from penbot.smooth import clean_polylines, point_count, simplify_polyline

SIZE_MM, PX_PER_MM, TOL_MM, JITTER = 6.5, 22.0, 0.05, 0.015
VIEW_MM = (48.0, 104.0)  # the picture shows this stretch of the line ("stop Mr. Gaitskell")


def pen_path(root: Path, name: str = "lineStrokes/a01/a01-000/a01-000u-01.xml") -> list[np.ndarray]:
    with tarfile.open(root / "lineStrokes-all.tar.gz") as tar:
        pts, ends = parse_strokes(tar.extractfile(name).read())
    strokes = [s for s in np.split(pts.astype(np.float64), np.flatnonzero(ends)[:-1] + 1) if len(s)]
    return [s * SIZE_MM for s in normalise_points(strokes, 12.0)]


def distance(lines: list[np.ndarray], ref: list[np.ndarray]) -> float:
    """Mean of both ways' point-to-curve distance (mm), the drawn line sampled every 0.1 mm."""
    d = []
    for a, b in zip(lines, ref):
        if len(a) > 1 and len(b) > 1:
            la, lb = shapely.LineString(a), shapely.LineString(b)
            d.append(shapely.distance(la, shapely.points(b)))
            d.append(shapely.distance(lb, shapely.line_interpolate_point(la, np.arange(0, la.length, 0.1))))
    return float(np.mean(np.concatenate(d)))


def draw_row(draw: ImageDraw.ImageDraw, lines: list[np.ndarray], origin: np.ndarray, top: float) -> None:
    for p in lines:
        q = [((x - origin[0]) * PX_PER_MM + 20, (y - origin[1]) * PX_PER_MM + top) for x, y in p]
        if len(q) > 1:
            draw.line(q, fill=0, width=3, joint="curve")
        for x, y in q:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=150)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/iam-ondb")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "examples/smoothing.png")
    ref = pen_path(root)
    rng = np.random.default_rng(7)
    raw = [decimate(s, 3) + rng.normal(0, JITTER * SIZE_MM, decimate(s, 3).shape) for s in ref]
    curve = clean_polylines(raw, smooth=True)
    smooth = [simplify_polyline(p, TOL_MM) for p in curve]
    dejit = [simplify_polyline(p, TOL_MM) for p in clean_polylines(raw, smooth=True, dejitter=True)]
    print(f"curve before simplification: {point_count(curve)} points")
    rows = [
        ("IAM-OnDB pen path (reference)", ref),
        ("as the model writes it: ~7 points/char + 0.1 mm jitter", raw),
        (f"penbot default: Catmull-Rom curve, {TOL_MM} mm simplification", smooth),
        ("with dejitter (Savitzky-Golay 7/4 first)", dejit),
    ]
    allp = np.concatenate(ref)
    origin = np.array([VIEW_MM[0], allp[:, 1].min()])
    width = int((VIEW_MM[1] - VIEW_MM[0]) * PX_PER_MM + 40)
    row_h = int(np.ptp(allp[:, 1]) * PX_PER_MM + 70)
    img = Image.new("L", (width, row_h * len(rows)), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=26)
    for k, (label, lines) in enumerate(rows):
        text = f"{label}: {point_count(lines)} points, {distance(lines, ref):.3f} mm from the pen path"
        print(text)
        draw_row(draw, lines, origin, k * row_h + 50)
        draw.rectangle((0, k * row_h, width, k * row_h + 40), fill=255)
        draw.text((20, k * row_h + 8), text, fill=0, font=font)
    img.save(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
