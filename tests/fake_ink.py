"""A stand-in for the model: zig-zag 'handwriting' whose width is proportional to the text.

Each word is one pen-down stroke zig-zagging through a band of height 1 (model units,
y down) with a little seeded jitter; the advance per character varies per line around
``unit`` by ``spread``, the way real lines vary, so the layout has to re-wrap.
"""

from __future__ import annotations

import zlib

import numpy as np

from penbot.strokes import Strokes


def fake_line(text: str, unit: float = 0.54, spread: float = 0.0, jitter: float = 0.01, seed: int = 0) -> Strokes:
    rng = np.random.default_rng([zlib.crc32(text.encode()), seed])
    adv = unit * (1 + spread * rng.uniform(-1, 1))
    polylines, x = [], 0.0
    for word in text.split(" "):
        if word:
            n = max(int(len(word) * 6), 2)
            xs = x + np.linspace(0, len(word) * adv, n)
            ys = np.where(np.arange(n) % 2, 0.45, -0.45) + 0.1  # band centre at y = 0.1
            pts = np.column_stack([xs, ys]) + rng.normal(0, jitter, (n, 2))
            polylines.append(pts)
        x += (len(word) + 1) * adv
    return Strokes.from_polylines(polylines)


class FakeWriter:
    """``write(texts) -> strokes``; counts calls and lines so tests can check batching."""

    def __init__(self, unit: float = 0.54, spread: float = 0.0, jitter: float = 0.01, seed: int = 0):
        self.unit, self.spread, self.jitter, self.seed = unit, spread, jitter, seed
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> list[Strokes]:
        self.calls.append(list(texts))
        return [fake_line(t, self.unit, self.spread, self.jitter, self.seed + len(self.calls)) for t in texts]

    def pairs(self, pairs: list[tuple[int, str]]) -> list[Strokes]:
        """The ``drive_layouts`` flavour: ``(document, text)`` pairs."""
        return self([t for _, t in pairs])
