"""Cleaning and normalisation of raw IAM-OnDB lines, each rule with the reason it exists.

Figures quoted below were measured on the shared copy (11,142 lines with text):
  * robust height (5th-95th percentile of y) median 347 units;
  * ink width / (characters x height): median 0.54, 0.5th pct 0.24, 99.5th pct 1.18;
  * largest pen jump / height: median 1.6 (going back to dot i's), 99.9th pct 7, max 12;
  * points per character: median 21, 0.5th pct 11.8, 99.5th pct 38.7, max 109.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from penbot.data.iamondb import RawLine
from penbot.smooth import rotate
from penbot.strokes import Strokes
from penbot.text import DEFAULT_ALPHABET

__all__ = ["CleanConfig", "clean_line", "normalise_text", "normalise_points", "decimate", "robust_height"]


@dataclass(frozen=True)
class CleanConfig:
    """Settings that change the cached data; their values key the cache."""

    decimate: int = 3  # keep every k-th point of a stroke (and its last): see README "Data"
    min_points: int = 40  # fewer raw points cannot hold a written line (tiny/empty lines)
    min_chars: int = 2
    stray_dist: float = 2.0  # a stroke of <= 3 points this many heights off the band is a stray dot
    max_jump: float = 9.0  # a single move longer than this many heights is a broken recording
    max_span: float = 3.5  # ink taller than this many heights is a broken recording
    width_per_char: tuple[float, float] = (0.2, 1.3)  # outside: the text cannot match the ink
    points_per_char: tuple[float, float] = (8.0, 60.0)
    max_rotation_deg: float = 12.0  # larger baseline slopes are left alone (likely a fit error)

    def key(self) -> dict:
        return asdict(self)


_SPACE_BEFORE = re.compile(r" +([.,;:!?)\]]|'(?:s|d|ll|re|ve|m|t|em)\b|n't\b)")
_SPACE_AFTER = re.compile(r"([(\[]) +")


def normalise_text(text: str) -> str:
    """Undo the CSR's tokenised punctuation (``Mr . Foot``, ``he 's``): the ink has none.

    Without this the model would learn to leave a word gap before every full stop,
    and user text typed normally would not match what it saw in training.
    """
    text = " ".join(text.split())
    text = _SPACE_BEFORE.sub(r"\1", text)
    return _SPACE_AFTER.sub(r"\1", text)


def robust_height(y: np.ndarray) -> float:
    """5th-95th percentile span: the line height without stray dots and long tails."""
    lo, hi = np.percentile(y, [5, 95])
    return float(hi - lo)


def _strokes_of(points: np.ndarray, pen_up: np.ndarray) -> list[np.ndarray]:
    return [s for s in np.split(points, np.flatnonzero(pen_up)[:-1] + 1) if len(s)]


def normalise_points(strokes: list[np.ndarray], max_rotation_deg: float) -> list[np.ndarray]:
    """Rotate the baseline level, move the start to the origin and scale to height 1.

    Absolute position means nothing to the writing; baseline rotation comes from how the
    writer stood at the whiteboard, not from the hand; height differs between writers
    and is set by the user at layout time. Slant and proportions are kept: they are style.
    """
    pts = np.concatenate(strokes).astype(np.float64)
    x, y = pts[:, 0], pts[:, 1]
    if np.ptp(x) > 0:
        slope = np.polyfit(x, y, 1)[0]
        angle = np.arctan(slope)
        if abs(np.degrees(angle)) <= max_rotation_deg:
            pts = rotate([pts], -angle, (0.0, 0.0))[0]
    height = max(robust_height(pts[:, 1]), 1e-6)
    origin = pts[0].copy()
    out, i = [], 0
    for stroke in strokes:
        out.append((pts[i : i + len(stroke)] - origin) / height)
        i += len(stroke)
    return out


def decimate(stroke: np.ndarray, k: int) -> np.ndarray:
    """Keep every k-th point and always the last, after dropping repeated points."""
    if len(stroke) > 1:
        keep = np.r_[True, np.any(np.diff(stroke, axis=0) != 0, axis=1)]
        stroke = stroke[keep]
    if k <= 1 or len(stroke) <= 2:
        return stroke
    idx = np.r_[np.arange(0, len(stroke) - 1, k), len(stroke) - 1]
    return stroke[np.unique(idx)]


def clean_line(
    raw: RawLine, cfg: CleanConfig, alphabet: str = DEFAULT_ALPHABET
) -> tuple[Strokes | None, str, str]:
    """Return ``(strokes, text, reason)``; strokes is None when the line is dropped."""
    text = normalise_text(raw.text)
    if any(c not in alphabet for c in text):
        return None, text, "characters outside the alphabet"
    if len(raw.points) < cfg.min_points or len(text) < cfg.min_chars:
        return None, text, "empty or tiny line"
    strokes = _strokes_of(raw.points.astype(np.float64), raw.pen_up)
    height = robust_height(raw.points[:, 1])
    if height <= 0:
        return None, text, "empty or tiny line"
    lo, hi = np.percentile(raw.points[:, 1], [5, 95])
    kept = [
        s
        for s in strokes
        if not (
            len(s) <= 3
            and (s[:, 1].max() < lo - cfg.stray_dist * height or s[:, 1].min() > hi + cfg.stray_dist * height)
        )
    ]
    if not kept:
        return None, text, "empty or tiny line"
    pts = np.concatenate(kept)
    if np.ptp(pts[:, 1]) > cfg.max_span * height:
        return None, text, "wild jump (ink far above or below the line)"
    if len(pts) > 1 and np.linalg.norm(np.diff(pts, axis=0), axis=1).max() > cfg.max_jump * height:
        return None, text, "wild jump (pen moves too far)"
    wpc = np.ptp(pts[:, 0]) / (len(text) * height)
    ppc = len(pts) / len(text)
    if not (cfg.width_per_char[0] <= wpc <= cfg.width_per_char[1]) or not (
        cfg.points_per_char[0] <= ppc <= cfg.points_per_char[1]
    ):
        return None, text, "ink does not match the text"
    norm = normalise_points(kept, cfg.max_rotation_deg)
    norm = [decimate(s, cfg.decimate) for s in norm]
    return Strokes.from_polylines(norm), text, ""
