"""Writers from laid-out pages to files, chosen by the output's extension (like whisper's get_writer).

Formats: ``.svg`` (real-world size, Inkscape layer), ``.gcode``/``.nc`` (vpype-gcode
profiles), ``.hpgl``/``.plt`` (vpype's HPGL writer), ``.png`` (preview), ``.json``
(all pages and strokes in mm).
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from penbot.atomic import atomic_paths
from penbot.errors import PenbotError
from penbot.export.gcode import gcode_profiles, load_profiles, write_gcode
from penbot.export.hpgl import write_hpgl
from penbot.export.json import read_json, write_json
from penbot.export.options import ExportOptions
from penbot.export.plotter import Travel, optimise_lines
from penbot.export.png import png_size, render_png, write_png
from penbot.export.svg import svg_string, write_svg
from penbot.page import Page, PageDrawing

# errors of the disk, not of one file: no later file can be written either
DISK_ERRORS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EROFS, errno.EIO) if e)

__all__ = [
    "ExportOptions",
    "WRITERS",
    "Travel",
    "write_pages",
    "output_paths",
    "stale_pages",
    "check_export",
    "DISK_ERRORS",
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


def stale_pages(path: str | Path, pages: int) -> list[Path]:
    """Page files of ``path`` that an earlier, longer document left and ``pages`` pages do not
    overwrite: ``out-3.svg`` (and on) after 2 pages, ``out-1.svg`` (and on) after 1.

    Pages are always written as an unbroken run (all or nothing), so the stale ones are
    probed by number rather than by listing the folder, which a mailing would do per letter.
    """
    path = Path(path)
    if not WRITERS.get(path.suffix.lower(), WRITERS[".json"]).per_page:
        return []
    found, k = [], pages + 1 if pages > 1 else 1
    while (page := path.with_name(f"{path.stem}-{k}{path.suffix}")).is_file():
        found.append(page)
        k += 1
    return found


def check_export(path: str | Path, page: Page, opts: ExportOptions) -> None:
    """Refuse, before any writing, a page this output cannot hold (a PNG too large to draw)."""
    if Path(path).suffix.lower() == ".png":
        png_size(page, opts.png_dpi)


def write_pages(pages: list[PageDrawing], path: str | Path, opts: ExportOptions = ExportOptions(),
                protect: Collection[str] = ()) -> list[Path]:
    """Write ``pages`` in the format of ``path``'s extension; return the files written.

    Page formats (SVG, G-code, HPGL, PNG) hold one page per file: one page is written to
    ``path`` itself, several to ``<stem>-1<ext>``, ``<stem>-2<ext>``, ... JSON holds every
    page in one file. Every page is written or none is changed: each goes to a temporary
    file beside it, and they are renamed only when every page succeeded. Pages an earlier,
    longer document of the same name left behind (``out-3.svg`` after 2 pages) are then
    removed, except files named (case-folded) in ``protect``: another document's output.
    PenbotError names the page that failed.
    """
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        known = ", ".join(WRITERS)
        raise PenbotError(f"{path}: unknown output format {path.suffix or '(no extension)'!r}: use one of {known}")
    if not pages:
        raise PenbotError(f"{path}: nothing to write (no pages)")
    targets = output_paths(path, len(pages)) if writer.per_page else [path]
    current = targets[0]
    try:
        with atomic_paths(targets) as tmps:
            if writer.per_page:
                for page, tmp, target in zip(pages, tmps, targets, strict=True):
                    current = target
                    writer.write(page, tmp, opts)
            else:
                writer.write(pages, tmps[0], opts)
            current = None
    except OSError as exc:
        name = exc.filename if exc.filename and not Path(exc.filename).name.endswith(".tmp") else current or path
        about = "disk" if exc.errno in DISK_ERRORS else "output"
        raise PenbotError(f"{name}: cannot write ({exc.strerror or exc})", about=about) from None
    except MemoryError:
        raise PenbotError(f"{current or path}: not enough memory to write this page", about="output") from None
    stale = stale_pages(path, len(pages))
    keep = {n.casefold() for n in protect} if stale else set()
    for old in stale:
        if old.name.casefold() not in keep:
            old.unlink(missing_ok=True)
    return targets
