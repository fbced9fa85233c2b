"""Writers from laid-out pages to files, chosen by the output's extension (like whisper's get_writer).

Formats: ``.svg`` (real-world size, Inkscape layer), ``.gcode``/``.nc`` (vpype-gcode
profiles), ``.hpgl``/``.plt`` (vpype's HPGL writer), ``.png`` (preview), ``.json``
(all pages and strokes in mm).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from penbot.atomic import atomic_path
from penbot.errors import PenbotError
from penbot.export.gcode import gcode_profiles, load_profiles, write_gcode
from penbot.export.hpgl import write_hpgl
from penbot.export.json import read_json, write_json
from penbot.export.options import ExportOptions
from penbot.export.plotter import Travel, optimise_lines
from penbot.export.png import render_png, write_png
from penbot.export.svg import svg_string, write_svg
from penbot.page import PageDrawing

__all__ = [
    "ExportOptions",
    "WRITERS",
    "Travel",
    "write_pages",
    "output_paths",
    "optimise_lines",
    "gcode_profiles",
    "load_profiles",
    "read_json",
    "render_png",
    "svg_string",
]


@dataclass(frozen=True)
class Writer:
    write: Callable  # (page, path, opts) per page, or (pages, path, opts) for the whole document
    per_page: bool


WRITERS: dict[str, Writer] = {
    ".svg": Writer(write_svg, True),
    ".gcode": Writer(write_gcode, True),
    ".nc": Writer(write_gcode, True),
    ".hpgl": Writer(write_hpgl, True),
    ".plt": Writer(write_hpgl, True),
    ".png": Writer(write_png, True),
    ".json": Writer(write_json, False),
}


def output_paths(path: str | Path, pages: int) -> list[Path]:
    """``out.svg`` for one page, else ``out-1.svg``, ``out-2.svg``, ..."""
    path = Path(path)
    if pages == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{n}{path.suffix}") for n in range(1, pages + 1)]


def write_pages(pages: list[PageDrawing], path: str | Path, opts: ExportOptions = ExportOptions()) -> list[Path]:
    """Write ``pages`` in the format of ``path``'s extension; return the files written.

    Page formats (SVG, G-code, HPGL, PNG) hold one page per file: one page is written to
    ``path`` itself, several to ``<stem>-1<ext>``, ``<stem>-2<ext>``, ... JSON holds every
    page in one file. All files appear together or not at all: each is written to a
    temporary file beside it and renamed only when every page succeeded.
    """
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        known = ", ".join(WRITERS)
        raise PenbotError(f"{path}: unknown output format {path.suffix or '(no extension)'!r}: use one of {known}")
    if not pages:
        raise PenbotError(f"{path}: nothing to write (no pages)")
    targets = output_paths(path, len(pages)) if writer.per_page else [path]
    try:
        with ExitStack() as stack:
            tmps = [stack.enter_context(atomic_path(t)) for t in targets]
            if writer.per_page:
                for page, tmp in zip(pages, tmps, strict=True):
                    writer.write(page, tmp, opts)
            else:
                writer.write(pages, tmps[0], opts)
    except OSError as exc:
        raise PenbotError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return targets
