"""``penbot styles``: list, preview and import handwriting styles."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from penbot.cli import app

styles_app = typer.Typer(help="List, preview and import styles.\n\nExample: penbot styles list", no_args_is_help=True)
app.add_typer(styles_app, name="styles")


@styles_app.command("list")
def list_cmd() -> None:
    """List shipped and user styles.

    Example: penbot styles list
    """
    from penbot.errors import PenbotError
    from penbot.handfeatures import describe
    from penbot.styles import list_styles, load_style

    rows = list_styles()
    if not rows:
        print("no styles installed")
    for name, path in rows:
        try:
            style = load_style(str(path))
        except PenbotError as exc:  # one broken file does not hide the others
            print(f"penbot: note: skipped style {name!r}: {exc}", file=sys.stderr)
            continue
        kind = "user" if not name.isdigit() else "shipped"
        f = style.features()
        hand = f"{', '.join(describe(f)):30} slant {f.slant_deg:+3.0f}  {f.strokes_per_char:.2f} strokes/letter"
        print(f"{name:>12}  {kind:7}  {hand}  {style.text!r}")


@styles_app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="Style number or name."),
    out: Path = typer.Option(Path("style.png"), "--out", "-o", help="Preview image (.png or .svg)."),
    text: str = typer.Option("The quick brown fox jumps over the lazy dog.", help="Text to write."),
    seed: int = typer.Option(0, help="Seed."),
    model: Path = typer.Option(None, help="Model file."),
) -> None:
    """Write a sample text in a style, to see it.

    Example: penbot styles show 3 --out preview.png
    """
    from penbot.export import ExportOptions, write_pages
    from penbot.options import Settings, write_options
    from penbot.write import open_model, write_text

    t0 = time.time()
    opts = write_options(Settings(style=name, seed=seed, page="220x30mm", margins="4mm", size=6.0))
    doc = write_text(text, opts, open_model(model))
    paths = write_pages(doc.pages, out, ExportOptions(png_dpi=150))
    print(f"wrote {', '.join(map(str, paths))} in {time.time() - t0:.1f} s")


@styles_app.command("add")
def add_cmd(
    name: str = typer.Argument(..., help="Name for the new style."),
    source: Path = typer.Option(..., "--from", help="Your handwriting: .svg (polylines/paths), .json or .inkml."),
    text: str = typer.Option(..., "--text", help="What the sample says, exactly."),
    force: bool = typer.Option(False, "--force", help="Replace a user style of the same name."),
    calibrate: bool = typer.Option(True, help="Measure how the model writes after the sample and keep its "
                                   "slant and width (about a second)."),
    model: Path = typer.Option(None, help="Model file to calibrate with (default: the shipped one)."),
) -> None:
    """Import your own handwriting as a style.

    Example: penbot styles add mine --from sample.svg --text "The quick brown fox"
    """
    import math

    from penbot.handfeatures import describe
    from penbot.styles import import_style, load_style
    from penbot.write import open_model

    path = import_style(name, source, text, force=force, model=open_model(model) if calibrate else None)
    style = load_style(str(path))
    lean = f"; lines written in it are leaned {math.degrees(math.atan(style.lean)):+.1f} degrees to keep the " \
           f"sample's slant" if style.lean else ""
    print(f"added style {name!r} ({path}){lean}; use it with --style {name}")
    f = style.features()
    how = "writes" if style.writes is not None else "sample"
    print(f"  {how}: {', '.join(describe(f))}, slant {f.slant_deg:+.0f}, {f.strokes_per_char:.2f} strokes/letter")


@styles_app.command("make")
def make_cmd(
    out: Path = typer.Option(Path("styles"), "--out", "-o", help="Folder for NN.json (+ previews)."),
    count: int = typer.Option(12, help="How many styles to keep."),
    candidates: int = typer.Option(64, help="How many unprimed samples to choose from."),
    bias: float = typer.Option(0.8, help="Bias of the candidate samples (lower = more varied hands)."),
    seed: int = typer.Option(0, help="Seed of the first candidate."),
    sheet: Path = typer.Option(None, help="Also write all previews on one sheet (PNG)."),
    ocr: bool = typer.Option(False, help="Keep only hands that read back well with RapidOCR (extra 'ocr')."),
    model: Path = typer.Option(None, help="Model file."),
) -> None:
    """Build a style library from the model's own samples (maintainers: the shipped styles/).

    Writes NN.json and a preview NN.png for each style.

    Example: penbot styles make --out styles --count 12 --sheet examples/styles.png
    """
    from penbot.readback import ocr_scorer
    from penbot.stylebook import make_styles, write_previews
    from penbot.write import open_model

    t0 = time.time()
    net = open_model(model)
    styles = make_styles(net, out, count, candidates, bias, seed, score=ocr_scorer() if ocr else None)
    write_previews(net, [str(out / f"{s.name}.json") for s in styles], out, sheet)
    print(f"made {len(styles)} styles in {out} in {time.time() - t0:.0f} s")
