"""``penbot write`` and ``penbot free``: text (or nothing) to plot-ready files."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from penbot.cli import app
from penbot.cli import options as o
from penbot.errors import PenbotError
from penbot.options import Settings

if TYPE_CHECKING:
    from penbot.export import ExportOptions
    from penbot.page import Page as PageSize


def _progress(enabled: bool):
    """A self-overwriting progress line on stderr, only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None
    last = [0.0]

    def show(step: int, total: int) -> None:
        if time.time() - last[0] > 0.5:
            last[0] = time.time()
            sys.stderr.write(f"\rwriting: step {step}/{total}   ")
            sys.stderr.flush()

    return show


def read_text_arg(text: str | None, file: Path | None) -> str:
    """TEXT, ``-`` (stdin) or ``--file``: exactly one of them."""
    if file is not None and text not in (None, ""):
        raise PenbotError("give either TEXT or --file, not both")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise PenbotError(f"{file}: not UTF-8 text") from None
        except OSError as exc:
            raise PenbotError(f"{file}: cannot read ({exc.strerror})") from None
    if text == "-":
        return sys.stdin.read()
    if text is None:
        raise PenbotError("nothing to write: give TEXT, '-' for standard input, or --file")
    return text


@app.command("write")
@o.with_settings
def write_cmd(
    text: str = typer.Argument(None, help="Text to write, or '-' to read standard input."),
    file: Path = typer.Option(None, "--file", "-f", help="Read the text from a UTF-8 file."),
    out: Path = typer.Option(Path("page.svg"), "--out", "-o", help="Output: .svg .png .gcode .hpgl .json"),
    seed: int = typer.Option(o.DEFAULTS.seed, help="Same seed, same strokes."),
    model: o.Model = None,
    quiet: o.Quiet = False,
    envelope_size: o.EnvelopeSize = o.DEFAULTS.envelope_size,
    return_address: o.ReturnAddress = o.DEFAULTS.return_address,
    signature: o.SignatureFile = o.DEFAULTS.signature,
    signature_height: o.SignatureHeight = o.DEFAULTS.signature_height,
    pen: o.Pen = o.DEFAULTS.pen,
    settings: Settings = o.DEFAULTS,
) -> None:
    """Write TEXT in handwriting to a file (with --envelope-size: TEXT is the address on an envelope).

    Example: penbot write "hello world" --style 3 --out page.svg
    """
    from penbot.export import write_pages
    from penbot.mailing import sign_only, write_envelope
    from penbot.options import export_options, mailing_options, write_options
    from penbot.write import open_model, write_text

    t0 = time.time()
    body = read_text_arg(text, file)
    opts, export = write_options(settings), export_options(settings)
    mailing = mailing_options(settings)
    check_output(out, opts.page, export)
    net = open_model(model)
    if mailing.envelope is not None:
        page = write_envelope(body, opts, mailing, net, progress=_progress(not quiet))
        paths = write_pages([page], out, export)
        print(f"wrote {', '.join(map(str, paths))} ({mailing.envelope.name} envelope) in {time.time() - t0:.1f} s")
        _plot_summary(out, [page], export, settings.profile)
        return
    try:
        doc = write_text(body, opts, net, progress=_progress(not quiet))
    finally:  # an error (or Ctrl-C) gets a line of its own, not the end of the progress line
        if not quiet and sys.stderr.isatty():
            sys.stderr.write("\r" + " " * 40 + "\r")
    for notice in doc.notices:
        print(f"penbot: note: {notice}", file=sys.stderr)
    pages = sign_only(doc.pages, mailing, opts)
    paths = write_pages(pages, out, export)
    placed = sum(1 for p in doc.pages for line in p.lines if line.polylines)  # not paragraph gaps
    rewrapped = f", {doc.lines_written} written to fit" if doc.lines_written != placed else ""
    print(f"wrote {', '.join(str(p) for p in paths)} ({len(doc.pages)} page(s), {placed} line{'s' * (placed != 1)}"
          f"{rewrapped}, "
          f"{doc.resampled} re-sampled) in {time.time() - t0:.1f} s")
    _plot_summary(out, pages, export, settings.profile)


def _plot_summary(out: Path, pages: list, export: ExportOptions, profile: str) -> None:
    """For a plotter file: pen-down length, pen-up travel, lifts and the plot time at the profile's feeds."""
    from penbot.plottime import PLOTTER_SUFFIXES, estimate_plot

    if out.suffix.lower() not in PLOTTER_SUFFIXES:
        return
    for n, page in enumerate(pages, 1):
        est = estimate_plot(page, export)
        where = f" page {n}" if len(pages) > 1 else ""
        if est is None:
            print(f"no plot-time estimate{where}: profile {profile} names no draw_feed")
        else:
            print(f"plot{where} ({profile}): {est.describe()}")


def check_output(out: Path, page: PageSize | None = None, export: ExportOptions | None = None) -> None:
    """Refuse an output we cannot write before any work is done: unknown type, a folder in its
    place, a folder we cannot write in, a page too large for the format (with ``page``)."""
    from penbot.atomic import check_writable
    from penbot.export import WRITERS, check_export

    suffix = out.suffix.lower()
    if suffix not in WRITERS:
        raise PenbotError(f"{out}: unknown output type {suffix or '(none)'!r} (use {', '.join(WRITERS)})")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise PenbotError(f"{out}: {parent} is not a folder")
    if out.is_dir():
        raise PenbotError(f"{out}: a folder has that name")
    if page is not None and export is not None:
        check_export(out, page, export)
    check_writable(parent)


@app.command("free")
def free_cmd(
    out: Path = typer.Option(Path("free.svg"), "--out", "-o", help="Output file."),
    steps: int = typer.Option(300, min=1, max=20000, help="How many pen points to write (about 7 per letter)."),
    continue_from: Path = typer.Option(None, "--continue", help="Continue these strokes (SVG, JSON or InkML)."),
    bias: float = typer.Option(0.5, help="Neatness."),
    seed: int = typer.Option(0, help="Same seed, same strokes."),
    size: o.Size = o.DEFAULTS.size,
    page: str = typer.Option("A5", help="Page size."),
    orientation: str = typer.Option("landscape", help="portrait or landscape."),
    model: o.Model = None,
) -> None:
    """Write handwriting-like scribbles with no text, or continue someone's strokes.

    Example: penbot free --steps 400 --seed 2 --out gibberish.png
    """
    from penbot.export import write_pages
    from penbot.layout import place_strokes
    from penbot.options import export_options, write_options
    from penbot.sample import sample_free
    from penbot.styles import read_strokes_file, style_from_polylines
    from penbot.write import open_model

    t0 = time.time()
    settings = o.settings_of(locals(), style=None, margins="15mm")
    opts = write_options(settings)
    check_output(out, opts.page, export_options(settings))
    net = open_model(model)
    prime = None
    if continue_from is not None:
        prime = style_from_polylines("continue", "x", read_strokes_file(continue_from)).strokes
    strokes = sample_free(net, steps, opts.sample, prime)
    drawing = place_strokes(strokes, opts.page, opts.layout)
    paths = write_pages([drawing], out, export_options(settings))
    print(f"wrote {', '.join(map(str, paths))} ({len(strokes)} points) in {time.time() - t0:.1f} s")
