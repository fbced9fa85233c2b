"""``penbot write`` and ``penbot free``: text (or nothing) to plot-ready files."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import typer

from penbot.cli import app
from penbot.errors import PenbotError


def _progress(enabled: bool):
    if not enabled:
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


def build_options(style, bias, temperature, seed, page, orientation, margins, size, line_spacing, align, indent,
                  drop_unknown, max_pages=None):
    from penbot.layout import LayoutOptions, parse_page
    from penbot.sample import SampleOptions
    from penbot.write import WriteOptions

    defaults = LayoutOptions()
    layout = LayoutOptions(
        size_mm=size if size is not None else defaults.size_mm,
        line_spacing_mm=line_spacing if line_spacing is not None else defaults.line_spacing_mm,
        align=align, indent_mm=indent, max_pages=max_pages, seed=seed,
    )
    if layout.size_mm <= 0 or layout.line_spacing_mm <= 0:
        raise PenbotError("--size and --line-spacing must be positive")
    if align not in ("left", "center", "right"):
        raise PenbotError(f"--align must be left, center or right, not {align!r}")
    return WriteOptions(
        style=style, sample=SampleOptions(bias=bias, temperature=temperature, seed=seed),
        page=parse_page(page, orientation, margins), layout=layout, drop_unknown=drop_unknown,
    )


@app.command("write")
def write_cmd(
    text: str = typer.Argument(None, help="Text to write, or '-' to read standard input."),
    file: Path = typer.Option(None, "--file", "-f", help="Read the text from a UTF-8 file."),
    out: Path = typer.Option(Path("page.svg"), "--out", "-o", help="Output: .svg .png .gcode .hpgl .json"),
    style: str = typer.Option("1", "--style", "-s", help="Style number, user style name, or 'none'."),
    bias: float = typer.Option(None, help="Legibility: 0 = wild, 3 = very neat."),
    temperature: float = typer.Option(1.0, help="Randomness left after the bias."),
    seed: int = typer.Option(0, help="Same seed, same strokes."),
    page: str = typer.Option("A4", help="A3-A6, Letter, Legal or WxH with units (e.g. 150x100mm)."),
    orientation: str = typer.Option("portrait", help="portrait or landscape."),
    margins: str = typer.Option("20mm", help="One value or top,right,bottom,left."),
    size: float = typer.Option(None, help="Writing height in mm."),
    line_spacing: float = typer.Option(None, help="Distance between lines in mm."),
    align: str = typer.Option("left", help="left, center or right."),
    indent: float = typer.Option(0.0, help="First-line indent of each paragraph, mm."),
    drop_unknown: bool = typer.Option(False, help="Skip characters the model cannot write."),
    model: Path = typer.Option(None, help="Model file (default: the shipped model)."),
    pen_width: float = typer.Option(None, help="Pen width in mm (SVG/PNG)."),
    color: str = typer.Option(None, help="Stroke colour (SVG/PNG)."),
    profile: str = typer.Option(None, help="G-code profile (see README)."),
    optimise: bool = typer.Option(True, help="Merge and sort strokes to cut pen-up travel."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Write TEXT in handwriting to a file.

    Example: penbot write "hello world" --style 3 --out page.svg
    """
    from penbot.export import ExportOptions, write_pages
    from penbot.sample import SampleOptions
    from penbot.write import open_model, write_text

    t0 = time.time()
    body = read_text_arg(text, file)
    opts = build_options(style, SampleOptions().bias if bias is None else bias, temperature, seed, page,
                         orientation, margins, size, line_spacing, align, indent, drop_unknown)
    export = _export_options(ExportOptions, pen_width, color, profile, optimise)
    _check_writable(out)
    net = open_model(model)
    doc = write_text(body, opts, net, progress=_progress(not quiet))
    if not quiet:
        sys.stderr.write("\r" + " " * 40 + "\r")
    for notice in doc.notices:
        print(f"penbot: note: {notice}", file=sys.stderr)
    paths = write_pages(doc.pages, out, export)
    print(f"wrote {', '.join(str(p) for p in paths)} ({len(doc.pages)} page(s), {doc.lines_written} lines, "
          f"{doc.resampled} re-sampled) in {time.time() - t0:.1f} s")


def _export_options(cls, pen_width, color, profile, optimise):
    kwargs = {"optimise": optimise}
    if pen_width is not None:
        if pen_width <= 0:
            raise PenbotError("--pen-width must be positive")
        kwargs["pen_width_mm"] = pen_width
    if color is not None:
        kwargs["color"] = color
    if profile is not None:
        kwargs["gcode_profile"] = profile
    return cls(**kwargs)


def _check_writable(out: Path) -> None:
    from penbot.export import WRITERS

    suffix = out.suffix.lower()
    if suffix not in WRITERS:
        raise PenbotError(f"{out}: unknown output type {suffix or '(none)'!r} (use {', '.join(WRITERS)})")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise PenbotError(f"{out}: {parent} is not a folder")


@app.command("free")
def free_cmd(
    out: Path = typer.Option(Path("free.svg"), "--out", "-o", help="Output file."),
    steps: int = typer.Option(300, help="How many pen points to write (about 7 per letter)."),
    continue_from: Path = typer.Option(None, "--continue", help="Continue these strokes (SVG, JSON or InkML)."),
    bias: float = typer.Option(0.5, help="Neatness."),
    seed: int = typer.Option(0, help="Same seed, same strokes."),
    size: float = typer.Option(None, help="Writing height in mm."),
    page: str = typer.Option("A5", help="Page size."),
    orientation: str = typer.Option("landscape", help="portrait or landscape."),
    model: Path = typer.Option(None, help="Model file."),
) -> None:
    """Write handwriting-like scribbles with no text, or continue someone's strokes.

    Example: penbot free --steps 400 --seed 2 --out gibberish.png
    """
    from penbot.export import ExportOptions, write_pages
    from penbot.layout import LayoutOptions, PageDrawing, PlacedLine, parse_page
    from penbot.sample import SampleOptions, sample_free
    from penbot.styles import read_strokes_file, style_from_polylines
    from penbot.write import open_model

    t0 = time.time()
    _check_writable(out)
    net = open_model(model)
    prime = None
    if continue_from is not None:
        prime = style_from_polylines("continue", "x", read_strokes_file(continue_from)).strokes
    strokes = sample_free(net, steps, SampleOptions(bias=bias, seed=seed), prime)
    pg = parse_page(page, orientation, "15mm")
    unit = size if size is not None else LayoutOptions().size_mm
    polys = [p * unit for p in strokes.to_polylines()]
    allp = np.concatenate(polys)
    lo, hi = allp.min(0), allp.max(0)
    usable_w = pg.width_mm - pg.margin_left - pg.margin_right
    usable_h = pg.height_mm - pg.margin_top - pg.margin_bottom
    scale = min(1.0, usable_w / max(hi[0] - lo[0], 1e-6), usable_h / max(hi[1] - lo[1], 1e-6))
    placed = [(p - lo) * scale + [pg.margin_left, pg.margin_top] for p in polys]
    paths = write_pages([PageDrawing(pg, [PlacedLine("", placed)])], out, ExportOptions())
    print(f"wrote {', '.join(map(str, paths))} ({len(strokes)} points) in {time.time() - t0:.1f} s")
