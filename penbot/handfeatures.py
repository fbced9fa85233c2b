"""What makes a hand a hand, measured on a line of strokes: slant, connectedness, width.

Used to describe styles (``penbot styles list``), to choose a varied style library, and to
measure how faithfully priming copies a writer (``benchmarks/fidelity.py``). Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from penbot.strokes import Strokes

__all__ = ["HandFeatures", "hand_features", "strokes_per_char", "median_features", "describe", "CONNECTED"]

CONNECTED = 0.85  # pen-down strokes per non-space character at or below this: a connected hand
# ink width per character over body height: the lower and upper quartiles of the writers'
# median widths in IAM-OnDB (177 writers, lines of 20-60 characters), so "narrow" and "wide"
# each name about a quarter of real hands
NARROW, WIDE = 0.56, 0.73


@dataclass(frozen=True)
class HandFeatures:
    slant_deg: float  # length-weighted lean of steep pen-down segments from vertical; + leans right
    strokes_per_char: float  # pen-down strokes per non-space character (print ~1.2, cursive ~0.5)
    width: float  # ink width per character over body height (narrow ~0.4, wide ~0.8)

    def vector(self) -> np.ndarray:
        """Scaled so that a typical difference between writers is about 1 in each."""
        return np.array([self.slant_deg / 8.0, self.strokes_per_char / 0.25, self.width / 0.1])


def hand_features(strokes: Strokes, text: str) -> HandFeatures:
    """Features of one written line of ``text`` (any units: all three are scale-free)."""
    off = strokes.offsets
    pts = strokes.points
    if len(off) < 2:
        return HandFeatures(0.0, 0.0, 0.0)
    seg = pts[1:] - pts[:-1]
    down = off[:-1, 2] < 0.5  # the pen stays down from point i to i + 1
    seg = seg[down]
    steep = np.abs(seg[:, 1]) > np.abs(seg[:, 0])
    seg = seg[steep]
    seg = np.where(seg[:, 1:2] > 0, -seg, seg)  # every steep segment pointing up the page (y down)
    length = np.hypot(seg[:, 0], seg[:, 1])
    slant = float(np.degrees(np.arctan2((seg[:, 0] * length).sum(), (-seg[:, 1] * length).sum()))) if len(seg) else 0.0
    lo, hi = np.percentile(pts[:, 1], [5, 95])
    body = max(float(hi - lo), 1e-6)
    chars = max(1, len(text.strip()))
    return HandFeatures(slant, strokes_per_char(off, text), float(np.ptp(pts[:, 0])) / chars / body)


def strokes_per_char(offsets: np.ndarray, text: str) -> float:
    """Pen-down strokes per non-space character of a line (a stroke ends where the pen lifts)."""
    return float((offsets[:, 2] > 0.5).sum()) / max(1, len(text.replace(" ", "")))


def median_features(feats: list[HandFeatures]) -> HandFeatures:
    """Each feature's median over several lines of one hand (zeros for none)."""
    if not feats:
        return HandFeatures(0.0, 0.0, 0.0)
    return HandFeatures(*(float(np.median([getattr(f, k) for f in feats]))
                          for k in ("slant_deg", "strokes_per_char", "width")))


def describe(f: HandFeatures) -> list[str]:
    """Words a user picks a style by: connected/printed, upright/slanted, narrow/wide."""
    words = ["connected" if f.strokes_per_char <= CONNECTED else "printed"]
    words.append("upright" if abs(f.slant_deg) < 6 else "slanted" if f.slant_deg > 0 else "back-slanted")
    if f.width < NARROW:
        words.append("narrow")
    elif f.width > WIDE:
        words.append("wide")
    return words
