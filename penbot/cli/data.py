"""``penbot data stats``: what training would see in an IAM-OnDB folder."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from penbot.cli import app
from penbot.data.stats import DataStats, Summary, data_stats

data_app = typer.Typer(
    help="Inspect training data.\n\nExample: penbot data stats ../shared/data/iam-ondb", no_args_is_help=True
)
app.add_typer(data_app, name="data")

MAX_LISTED = 20


class _FileCount:
    """A file count on stderr (stdout stays clean for the figures).

    On a terminal it is redrawn in place; in a log it is a line every 2,000 files.
    """

    def __init__(self) -> None:
        self.stage, self.n, self.last = "", 0, 0.0
        self.tty = sys.stderr.isatty()

    def _draw(self, end: str = "") -> None:
        start = "\r" if self.tty else ""
        sys.stderr.write(f"{start}{self.stage}: {self.n:,} files{end}")
        sys.stderr.flush()
        self.last = time.time()

    def __call__(self, stage: str, n: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
        self.n = n
        if self.tty and time.time() - self.last > 0.25:
            self._draw()
        elif not self.tty and n % 2000 == 0:
            self._draw("\n")

    def close(self) -> None:
        """Show the final count of the stage and end its line."""
        if self.stage:
            self._draw("\n")
            self.stage = ""


def _s(summary: Summary, digits: int = 0) -> str:
    return f"median {summary.median:,.{digits}f}  mean {summary.mean:,.{digits}f}  p99 {summary.p99:,.{digits}f}"


def _chars(chars: list[tuple[str, int]], per_row: int = 8) -> list[str]:
    cells = [f"{c!r:>5} {n:<7,}" for c, n in chars]
    return ["  " + " ".join(cells[i : i + per_row]).rstrip() for i in range(0, len(cells), per_row)]


def format_stats(root: Path, st: DataStats) -> str:
    """The report as lines of text."""
    out = [
        f"database: {root} (decimate {st.decimate})",
        f"lines: {st.stroke_files:,} stroke files, {st.lines_read:,} with a transcription line, "
        f"{st.lines_kept:,} kept, {st.lines_read - st.lines_kept:,} dropped",
    ]
    out += [f"  dropped {n:>6,}  {why}" for why, n in st.dropped.items()]
    out.append(f"files skipped: {len(st.skipped):,}")
    out += [f"  {name}: {why}" for name, why in st.skipped[:MAX_LISTED]]
    if len(st.skipped) > MAX_LISTED:
        out.append(f"  ... and {len(st.skipped) - MAX_LISTED:,} more")
    tl, tw, vl, vw = st.split
    out += [
        f"writers: {st.writers:,} known; {st.unknown_writer_lines:,} lines from unknown writers",
        f"split: train {tl:,} lines ({tw:,} writers + unknown), validation {vl:,} lines ({vw:,} writers)",
        f"characters: {len(st.chars)} distinct, {sum(n for _, n in st.chars):,} in all"
        + (f"; never used: {st.unseen!r}" if st.unseen else ""),
        *_chars(st.chars),
        "points per line:",
        f"  recorded        {_s(st.raw_points_line)}",
        f"  decimated (k={st.decimate}) {_s(st.points_line)}",
        "points per character:",
        f"  recorded        {_s(st.raw_points_char, 1)}",
        f"  decimated (k={st.decimate}) {_s(st.points_char, 1)}",
        "normalisation (line height = 1):",
        f"  offset dx mean {st.offset_mean[0]:.4f} std {st.offset_std[0]:.4f}; "
        f"dy mean {st.offset_mean[1]:.4f} std {st.offset_std[1]:.4f}; pen lifts {100 * st.pen_up_fraction:.1f}% "
        "of points",
        f"  recorded line height (whiteboard units) {_s(st.raw_height)}",
        f"  normalised line height                  {_s(st.height, 3)}",
    ]
    return "\n".join(out)


@data_app.command("stats")
def stats_cmd(
    path: Path = typer.Argument(..., help="IAM-OnDB folder: lineStrokes/ and ascii/ (or their -all.tar.gz)."),
    decimate: int = typer.Option(3, "--decimate", min=1, help="Keep every k-th point, as training does."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the preprocessed-data cache."),
) -> None:
    """Read and clean a database as training does; print what it holds.

    Lines read and dropped (by reason), files skipped, writers and the
    train/validation split, characters, points per line and per character,
    and the normalisation figures. The cleaned lines are cached for training.

    Example: penbot data stats ../shared/data/iam-ondb --decimate 3
    """
    progress = _FileCount()
    try:
        st = data_stats(path, decimate, use_cache=not no_cache, progress=progress)
    finally:
        progress.close()
    print(format_stats(path, st))
