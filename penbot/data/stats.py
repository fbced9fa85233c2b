"""Figures about a database as training would see it, for ``penbot data stats``.

The cleaned lines come from ``load_lines`` (same reader, cleaning and cache as training);
one extra pass over the raw files adds what cleaning throws away: the recorded point
counts and the line heights the normalisation divided by.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from penbot.data.clean import CleanConfig, robust_height
from penbot.data.dataset import load_lines, split_by_writer
from penbot.data.iamondb import ReadReport, read_iamondb
from penbot.text import DEFAULT_ALPHABET

__all__ = ["Summary", "DataStats", "data_stats"]


@dataclass(frozen=True)
class Summary:
    median: float
    mean: float
    p99: float

    @classmethod
    def of(cls, values: np.ndarray | list[float]) -> Summary:
        v = np.asarray(values, dtype=np.float64)
        if not len(v):
            return cls(0.0, 0.0, 0.0)
        return cls(float(np.median(v)), float(v.mean()), float(np.percentile(v, 99)))


@dataclass(frozen=True)
class DataStats:
    decimate: int
    stroke_files: int
    lines_read: int  # stroke files paired with a transcription line
    lines_kept: int
    dropped: dict[str, int]  # cleaning reason -> lines
    skipped: list[tuple[str, str]]  # (file, reason) the reader could not use
    writers: int  # distinct known writers among kept lines
    unknown_writer_lines: int
    split: tuple[int, int, int, int]  # train lines, train writers, validation lines, validation writers
    chars: list[tuple[str, int]]  # most frequent first
    unseen: str  # alphabet characters no kept line uses
    raw_points_line: Summary  # as recorded
    raw_points_char: Summary
    points_line: Summary  # cleaned and decimated: what the model sees
    points_char: Summary
    offset_mean: tuple[float, float]  # of (dx, dy) over the training lines, in line heights
    offset_std: tuple[float, float]
    pen_up_fraction: float
    raw_height: Summary  # robust line height in whiteboard units (what normalisation divides by)
    height: Summary  # the same after normalisation (should be about 1)


def _stage(progress: Callable[[str, int], None] | None, name: str) -> Callable[[int], None] | None:
    return None if progress is None else (lambda n: progress(name, n))


def _raw_figures(
    root: str | Path, ids: list[str], progress: Callable[[int], None] | None
) -> tuple[ReadReport, int, np.ndarray, np.ndarray]:
    """One pass over the raw files: report, stroke files seen, points and height of each kept line."""
    kept = {line_id: i for i, line_id in enumerate(ids)}
    report, files = ReadReport(), 0
    points, heights = np.zeros(len(ids)), np.zeros(len(ids))

    def count(n: int) -> None:
        nonlocal files
        files = n
        if progress is not None:
            progress(n)

    for raw in read_iamondb(root, report, count):
        i = kept.get(raw.line_id)
        if i is not None:
            points[i], heights[i] = len(raw.points), robust_height(raw.points[:, 1])
    return report, files, points, heights


def data_stats(
    root: str | Path, decimate: int = 3, use_cache: bool = True,
    progress: Callable[[str, int], None] | None = None,
) -> DataStats:
    """Read and clean ``root`` as training does and summarise it; ``progress(stage, files)``."""
    ls = load_lines(root, CleanConfig(decimate=decimate), DEFAULT_ALPHABET, use_cache, _stage(progress, "cleaning"))
    report, files, raw_n, raw_h = _raw_figures(root, ls.ids, _stage(progress, "counting raw points"))
    n_chars = np.array([max(1, len(t)) for t in ls.texts])
    lengths = ls.lengths()
    train, val = split_by_writer(ls)
    off = np.concatenate([ls.line(i) for i in train]) if len(train) else ls.offsets
    chars = Counter("".join(ls.texts))
    return DataStats(
        decimate=decimate,
        stroke_files=files,
        lines_read=report.lines,
        lines_kept=len(ls),
        dropped=dict(sorted(ls.dropped.items(), key=lambda kv: -kv[1])),
        skipped=list(report.skipped),
        writers=len({w for w in ls.writers if w}),
        unknown_writer_lines=sum(1 for w in ls.writers if not w),
        split=(len(train), len({ls.writers[i] for i in train if ls.writers[i]}),
               len(val), len({ls.writers[i] for i in val if ls.writers[i]})),
        chars=sorted(chars.items(), key=lambda kv: (-kv[1], kv[0])),
        unseen="".join(c for c in DEFAULT_ALPHABET if c not in chars),
        raw_points_line=Summary.of(raw_n),
        raw_points_char=Summary.of(raw_n / n_chars),
        points_line=Summary.of(lengths),
        points_char=Summary.of(lengths / n_chars),
        offset_mean=tuple(off[:, :2].mean(0).tolist()),
        offset_std=tuple(off[:, :2].std(0).tolist()),
        pen_up_fraction=float(ls.offsets[:, 2].mean()),
        raw_height=Summary.of(raw_h),
        height=Summary.of([robust_height(np.cumsum(ls.line(i)[:, 1])) for i in range(len(ls))]),
    )
