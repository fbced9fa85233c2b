"""The line every view looks at: the model's own writing of a text, or a person's strokes.

Both come out the same way (a ``ChosenLine``: normalised strokes, the text that conditions
the model, the style it was primed with), so every view replays them through the model
with one function (``penbot.explore.replay``) whichever they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from penbot.errors import PenbotError
from penbot.options import SampleOptions
from penbot.runtime import StepRunner, as_runner
from penbot.sample import LineRequest, Prime, sample_lines
from penbot.strokes import Strokes
from penbot.styles import load_style, read_strokes_file, style_from_polylines
from penbot.text import fold_text

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

__all__ = ["ChosenLine", "open_explore_model", "sampled_line", "strokes_line", "clean_text", "output_format",
           "MAX_CHARS", "MAX_POINTS"]

MAX_CHARS = 100  # one line: a heatmap row per character stays readable
MAX_POINTS = 2000  # about 250 characters of ink at the model's point density


@dataclass(frozen=True)
class ChosenLine:
    """A written line and what conditions the model while it is replayed."""

    text: str  # what the line says ("" for strokes of unknown text: the model reads no text)
    strokes: Strokes  # normalised units (height 1, first point at the origin), y down
    prime: Prime | None = None  # the style sample read before the line
    source: str = "model"  # "model" or the stroke file it came from
    problem: str = ""  # the sampler's complaint about the line, if it had one


def open_explore_model(path: str | Path | None = None) -> StepRunner:
    """The step runner the views replay lines through: the shipped ONNX graph by default, or a
    ``.onnx`` / ``.pt`` file. Every step gives out the window and the cell states, so the views
    need no torch (a ``.pt`` file does)."""
    from penbot.write import open_model

    return open_model(path)


def clean_text(text: str, alphabet: str, allow_empty: bool = False) -> str:
    """One line of text the model can write (typographic characters folded, spaces collapsed)."""
    text = " ".join((text or "").split())
    if not text:
        if allow_empty:
            return ""
        raise PenbotError("nothing to explore: the text is empty")
    if len(text) > MAX_CHARS:
        raise PenbotError(f"text too long for one line ({len(text)} characters; at most {MAX_CHARS})")
    return fold_text(text, alphabet).text


def _prime(style: str | None) -> Prime | None:
    found = load_style(style)
    return found.prime() if found is not None else None


def sampled_line(
    model: StepRunner | HandwritingModel, text: str, style: str | None = "1", seed: int = 0, bias: float = 2.0,
    options: SampleOptions | None = None,
) -> ChosenLine:
    """The model's own writing of ``text`` with the sampler ``penbot write`` uses (checks and retries).

    ``options``: the sampler's other settings (a server may pass faster ones); ``seed`` and
    ``bias`` win over theirs.
    """
    runner = as_runner(model)
    text = clean_text(text, runner.cfg.alphabet)
    prime = _prime(style)
    sample = replace(options or SampleOptions(), bias=bias, seed=seed)
    got = sample_lines(runner, [LineRequest(text, prime, sample)])[0]
    if len(got.strokes) < 2:
        raise PenbotError("the model wrote no ink for this text")
    return ChosenLine(text, got.strokes, prime, "model", got.problem)


def strokes_line(path: str | Path, text: str = "", style: str | None = None,
                 alphabet: str | None = None) -> ChosenLine:
    """A person's strokes (SVG, JSON or InkML), normalised the way ``penbot styles add`` does.

    ``text`` is what the strokes say; without it the model reads them with no text, as in
    its text-free mode.
    """
    from penbot.text import DEFAULT_ALPHABET

    text = clean_text(text, alphabet or DEFAULT_ALPHABET, allow_empty=True)
    polylines = read_strokes_file(path)
    # the style importer's normalisation (level, height 1, model point density); its text
    # is only stored, so a stand-in is fine when the strokes come without one
    strokes = style_from_polylines("explore", text or "strokes", polylines).strokes
    if len(strokes) < 2:
        raise PenbotError(f"{path}: no strokes found")
    if len(strokes) > MAX_POINTS:
        raise PenbotError(f"{path}: too much ink for one line ({len(strokes)} points; at most {MAX_POINTS})")
    return ChosenLine(text, strokes, _prime(style), str(path))


def output_format(path: str | Path, allowed: tuple[str, ...], view: str) -> str:
    """The output format from the file name's extension, checked before any work is done."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in allowed:
        kinds = " or ".join(f".{a}" for a in allowed)
        raise PenbotError(f"{Path(path).name}: the {view} view writes {kinds}")
    return suffix
