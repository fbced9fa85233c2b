"""One type for a written line at every stage: model offsets, absolute points, polylines.

Convention: rows of ``(dx, dy, pen_up)`` where ``dx, dy`` move from the previous point to
this one and ``pen_up == 1`` marks the *last* point of a stroke (the pen lifts after it).
The first row's offset is measured from the origin. Units are whatever the stage uses
(normalised model units, or millimetres once laid out); y grows downward, as on paper,
in SVG and in IAM-OnDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Strokes", "Prime", "slant_offsets"]


@dataclass(frozen=True)
class Strokes:
    """A handwritten line as offsets ``(N, 3)``: ``dx, dy, pen_up``."""

    offsets: np.ndarray

    def __post_init__(self) -> None:
        arr = np.asarray(self.offsets, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 3:
            arr = arr.reshape(-1, 3)
        if len(arr):
            arr = arr.copy()
            arr[-1, 2] = 1.0  # a line always ends with the pen lifted
        object.__setattr__(self, "offsets", arr)

    # construction ---------------------------------------------------------------------
    @classmethod
    def from_points(cls, points: np.ndarray, pen_up: np.ndarray) -> Strokes:
        """From absolute points ``(N, 2)`` and end-of-stroke flags ``(N,)``."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        flags = np.asarray(pen_up, dtype=np.float64).reshape(-1)
        if len(pts) != len(flags):
            raise ValueError("points and pen_up differ in length")
        deltas = np.diff(pts, axis=0, prepend=np.zeros((1, 2)))
        return cls(np.column_stack([deltas, flags]))

    @classmethod
    def from_polylines(cls, polylines: Sequence[np.ndarray]) -> Strokes:
        """From a list of ``(n, 2)`` absolute polylines, one per pen-down stroke."""
        lines = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polylines]
        lines = [p for p in lines if len(p)]
        if not lines:
            return cls(np.zeros((0, 3)))
        pts = np.concatenate(lines)
        flags = np.concatenate([np.eye(1, len(p), len(p) - 1).ravel() for p in lines])
        return cls.from_points(pts, flags)

    # views ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def points(self) -> np.ndarray:
        """Absolute positions ``(N, 2)``."""
        return np.cumsum(self.offsets[:, :2], axis=0)

    @property
    def pen_up(self) -> np.ndarray:
        """End-of-stroke flags ``(N,)`` as booleans."""
        return self.offsets[:, 2] > 0.5

    def to_polylines(self) -> list[np.ndarray]:
        """Absolute pen-down polylines, one ``(n, 2)`` array per stroke."""
        if not len(self):
            return []
        ends = np.flatnonzero(self.pen_up) + 1
        return [p for p in np.split(self.points, ends) if len(p)]

    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the ink; zeros when empty."""
        if not len(self):
            return (0.0, 0.0, 0.0, 0.0)
        p = self.points
        return (*p.min(axis=0), *p.max(axis=0))

    # transforms -----------------------------------------------------------------------
    def slanted(self, k: float, stretch: float = 1.0) -> Strokes:
        """Leaned right by ``k`` and widened by ``stretch`` (see ``slant_offsets``)."""
        return Strokes(slant_offsets(self.offsets, k, stretch))

    def scaled(self, sx: float, sy: float | None = None) -> Strokes:
        off = self.offsets.copy()
        off[:, 0] *= sx
        off[:, 1] *= sx if sy is None else sy
        return Strokes(off)


def slant_offsets(offsets: np.ndarray, k: float, stretch: float = 1.0) -> np.ndarray:
    """Offsets leaned right by ``k`` (x moves by ``-k`` per unit of height up; y is down) and
    widened by ``stretch``: the two things a prime passes on, varied for training and styles."""
    out = np.array(offsets, copy=True)
    out[:, 0] = stretch * (out[:, 0] - k * out[:, 1])
    return out


@dataclass(frozen=True)
class Prime:
    """A style sample: normalised strokes and the text they say, and the shear and stretch
    that keep what the model writes after it in the sample's slant and width
    (``penbot.calibrate``)."""

    text: str
    strokes: Strokes
    lean: float = 0.0  # ``Strokes.slanted(lean, stretch)`` is applied to every line written after this sample
    stretch: float = 1.0

    def corrected(self, strokes: Strokes) -> Strokes:
        """A line written after this sample, with the sample's correction applied."""
        return strokes.slanted(self.lean, self.stretch) if self._corrects else strokes

    def uncorrected(self, strokes: Strokes) -> Strokes:
        """What the model drew, from a line ``corrected`` returned (the inverse shear and stretch)."""
        return strokes.slanted(-self.lean * self.stretch, 1.0 / self.stretch) if self._corrects else strokes

    @property
    def _corrects(self) -> bool:
        return bool(self.lean) or self.stretch != 1.0
