"""``vpype penbot``: handwriting as a vpype generator, e.g. ``vpype penbot "Dear Ann," linesort write a.svg``.

TEXT is a required argument and ``--file`` is a flag that makes it a file path: an
optional positional argument would swallow the next command of the pipeline
(``vpype penbot --file a.txt write a.svg`` would read "write" as the text).

The command lays the text out on a page exactly like ``penbot write`` and returns one
page as a ``LineCollection`` in vpype's CSS pixels (mm x 96/25.4). A generator can only
fill one layer, so a text longer than a page is not split into layers: ``--page N``
picks the page (the first by default) and a warning says how many there are; use
``penbot write`` to get every page. When the pipeline has no page size yet, the
command sets it to the penbot page so ``write`` produces a full-size sheet.

The writing pipeline (and torch) is imported only when the command runs, so loading
vpype's plugins stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
import numpy as np
import vpype as vp
import vpype_cli

from penbot.errors import PenbotError
from penbot.options import Settings
from penbot.page import PX_PER_MM

__all__ = ["penbot_generator"]

DEFAULTS = Settings()


def _read_text(text: str, is_file: bool) -> str:
    if not is_file:
        return text
    try:
        return Path(text).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{text}: cannot read the text ({exc})") from None


def _write(text: str, settings: Settings, model: str | None):
    """Call the library; returns the document's pages (raises PenbotError)."""
    from penbot import write as pw
    from penbot.options import write_options

    handwriting = pw.open_model(model) if model else None
    return pw.write_text(text, write_options(settings), model=handwriting).pages


@click.command("penbot")
@click.argument("text")
@click.option("-f", "--file", "is_file", is_flag=True, help="TEXT is the path of a UTF-8 text file to write.")
@click.option("-s", "--style", type=str, default=DEFAULTS.style, help="Handwriting style (name, number or file).")
@click.option("-b", "--bias", type=float, default=DEFAULTS.bias, help="Neatness: higher is tidier, lower more varied.")
@click.option("--seed", type=int, default=DEFAULTS.seed, help="Random seed, for the same writing every time.")
@click.option("--size", type=vpype_cli.LengthType(), default=f"{DEFAULTS.size:g}mm",
              help=f"Writing height (default: {DEFAULTS.size:g}mm).")
@click.option("-p", "--page-size", default="a4", help="A3..A6, letter, legal or WxH like 210x297mm (default: a4).")
@click.option("--landscape", is_flag=True, help="Turn the page sideways.")
@click.option("-m", "--margins", default="20mm", help="One length or top,right,bottom,left (default: 20mm).")
@click.option("--line-spacing", type=vpype_cli.LengthType(), default=f"{DEFAULTS.line_spacing:g}mm",
              help=f"Line pitch (default: {DEFAULTS.line_spacing:g}mm).")
@click.option("--align", type=click.Choice(["left", "center", "right"]), default="left", help="Line alignment.")
@click.option("--model", type=click.Path(dir_okay=False), default=None, help="Model file (default: the shipped one).")
@click.option("--page", "page_no", type=click.IntRange(min=1), default=1, help="Which page to return (default: 1).")
@vpype_cli.generator
@vpype_cli.pass_state
def penbot_generator(
    state: vpype_cli.State,
    text: str,
    is_file: bool,
    style: str | None,
    bias: float,
    seed: int,
    size: float,
    page_size: str,
    landscape: bool,
    margins: str,
    line_spacing: float,
    align: str,
    model: str | None,
    page_no: int,
) -> vp.LineCollection:
    """Write TEXT in realistic handwriting, laid out on a page (with --file: the file TEXT).

    Options go before TEXT, as with every vpype command. Lengths take vpype units
    (6mm, 0.25in). Examples:

    \b
        vpype penbot --seed 3 --size 7mm "Dear Ann, thank you!" linesort write letter.svg
        vpype penbot --file letter.txt --page 2 write page2.svg
    """
    body = _read_text(text, is_file)
    try:
        from penbot.export.gcode import load_profiles

        load_profiles()  # so a later `gwrite -p penbot_servo` / `penbot_z` in the pipeline finds them
        settings = Settings(style=style, bias=bias, seed=seed, size=size / PX_PER_MM, page=page_size,
                            orientation="landscape" if landscape else "portrait", margins=margins,
                            line_spacing=line_spacing / PX_PER_MM, align=align)
        pages = _write(body, settings, model)
    except PenbotError as exc:
        raise click.ClickException(str(exc)) from None
    if page_no > len(pages):
        raise click.ClickException(f"--page {page_no}: the text fills only {len(pages)} page(s)")
    if len(pages) > 1:
        logging.warning(
            f"penbot: the text fills {len(pages)} pages; returning page {page_no} (use --page N, "
            "or `penbot write` for every page)"
        )
    chosen = pages[page_no - 1]
    if state.document.page_size is None:
        state.document.page_size = (chosen.page.width_mm * PX_PER_MM, chosen.page.height_mm * PX_PER_MM)
    lc = vp.LineCollection()
    for p in chosen.polylines:
        p = np.asarray(p, dtype=np.float64) * PX_PER_MM
        lc.append(p[:, 0] + 1j * p[:, 1])
    return lc


penbot_generator.help_group = "Plugins"
