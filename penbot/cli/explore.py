"""``penbot explore``: pictures of what the model is thinking (fan, attention, cells).

Each command checks everything it can (output type, numbers, the stroke file, the text)
before it loads the model, so a mistake costs no time; the picture is written atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import typer

from penbot.cli import app

explore_app = typer.Typer(
    help="See what the model is thinking: sampled futures, the attention window, the LSTM cells.\n\n"
         "Example: penbot explore fan \"hello there\" --out fan.svg",
    no_args_is_help=True,
)
app.add_typer(explore_app, name="explore")

_TEXT = typer.Argument(None, help="Text for the model to write; with --strokes, what the strokes say (optional).")
_STROKES = typer.Option(None, "--strokes", help="A person's strokes instead (.svg, .json or .inkml, as "
                                                "'penbot styles add' reads them).")
_STYLE = typer.Option(None, "--style", help="Style to prime the model with (default: 1 for TEXT, none for "
                                            "--strokes; 'none' for no style).")
_SEED = typer.Option(0, "--seed", help="Seed of the written line (and of the fan's paths).")
_MODEL = typer.Option(None, "--model", help="Model file: an .onnx step graph (default: the shipped one) or a "
                                             "torch .pt file (needs torch).")


def _prepare(text: str | None, strokes: Path | None, style: str | None):
    """Everything that needs no model: the stroke file, or the text, checked now."""
    from penbot.errors import PenbotError
    from penbot.explore.line import clean_text, strokes_line
    from penbot.text import DEFAULT_ALPHABET

    if strokes is not None:
        return strokes_line(strokes, text or "", style)
    if text is None:
        raise PenbotError("give a TEXT to write, or --strokes FILE")
    clean_text(text, DEFAULT_ALPHABET)
    return None


def _line(model, ready, text: str | None, style: str | None, seed: int):
    from penbot.explore.line import sampled_line

    if ready is not None:
        return ready
    return sampled_line(model, text or "", "1" if style is None else style, seed)


def _view(out: Path, formats: tuple[str, ...], view: str, text: str | None, strokes: Path | None,
          style: str | None, seed: int, model: Path | None, draw: Callable, check: Callable[[], None] = lambda: None,
          needs_text: bool = False) -> None:
    """The steps every view shares: check the output and inputs, load, write the line, draw, report."""
    from penbot.errors import PenbotError
    from penbot.explore.line import open_explore_model, output_format

    t0 = time.time()
    output_format(out, formats, view)
    check()
    ready = _prepare(text, strokes, style)
    if needs_text and ready is not None and not ready.text:
        raise PenbotError(f"the {view} view needs the text the strokes say (give it as TEXT)")
    net = open_explore_model(model)
    line = _line(net, ready, text, style, seed)
    draw(net, line)
    note = f" (the sampler flagged the line: {line.problem})" if line.problem else ""
    print(f"wrote {out} in {time.time() - t0:.1f} s{note}")


@explore_app.command("fan")
def fan_cmd(
    text: str = _TEXT,
    out: Path = typer.Option(..., "--out", "-o", help="Output: .svg or .png."),
    strokes: Path = _STROKES,
    style: str = _STYLE,
    paths: int = typer.Option(50, "--paths", help="Paths sampled at each point (1-500)."),
    ahead: int = typer.Option(4, "--ahead", help="Points each path runs ahead (1-50)."),
    every: int = typer.Option(1, "--every", help="Start a fan at every N-th point of the line."),
    bias: float = typer.Option(1.0, "--bias", help="Bias of the fan's paths (0 = the model's full spread)."),
    seed: int = _SEED,
    model: Path = _MODEL,
) -> None:
    """The chosen line in black and, at its points, the paths the model would have taken from there.

    Paths that veer right of the chosen line are green, those that veer left orange. With
    --strokes the chosen line is your own handwriting: what would the model have done had
    it taken over at each point? The same --seed gives the same file.

    Example: penbot explore fan "The quick brown fox" --paths 50 --ahead 4 --out fan.svg
    """
    from penbot.explore.fan import check_fan_options, fan_paths, save_fan

    _view(out, ("svg", "png"), "fan", text, strokes, style, seed, model,
          lambda net, line: save_fan(fan_paths(net, line, paths, ahead, every, seed=seed, bias=bias), out),
          check=lambda: check_fan_options(paths, ahead, every))


@explore_app.command("attention")
def attention_cmd(
    text: str = _TEXT,
    out: Path = typer.Option(..., "--out", "-o", help="Output: .png or .svg."),
    strokes: Path = _STROKES,
    style: str = _STYLE,
    seed: int = _SEED,
    model: Path = _MODEL,
) -> None:
    """The attention window over time: weight per character (rows) and pen step (columns).

    Below it, the written line coloured by the character the window is on. A skipped
    letter is a row the bright path jumps over (its label turns red); a letter written
    twice is a path that climbs back.

    Example: penbot explore attention "The quick brown fox" --style 3 --out att.png
    """
    from penbot.explore.attention import attention_trace, save_attention

    _view(out, ("png", "svg"), "attention", text, strokes, style, seed, model,
          lambda net, line: save_attention(attention_trace(net, line), out), needs_text=True)


@explore_app.command("cells")
def cells_cmd(
    text: str = _TEXT,
    out: Path = typer.Option(..., "--out", "-o", help="Output: .html (interactive, one file) or .png."),
    strokes: Path = _STROKES,
    style: str = _STYLE,
    layer: int = typer.Option(1, "--layer", help="LSTM layer: 1 (drives the window), 2 or 3."),
    seed: int = _SEED,
    model: Path = _MODEL,
) -> None:
    """Every LSTM cell of a layer along the strokes, alike cells side by side (1-D t-SNE order).

    In the HTML, click a row to colour the strokes by that cell, hover a point of the
    strokes to see its column. The file is self-contained (no network).

    Example: penbot explore cells "The quick brown fox" --layer 1 --out cells.html
    """
    from penbot.explore.cells import cell_activations, check_layer, save_cells

    _view(out, ("html", "png"), "cells", text, strokes, style, seed, model,
          lambda net, line: save_cells(cell_activations(net, line, layer), out), check=lambda: check_layer(layer))
