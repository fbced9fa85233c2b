"""Replay a chosen line through the model point by point and keep what it thought at each one.

The model is stepped exactly as the sampler steps it (``StepRunner.step`` after reading
the style sample, so an ONNX step graph will do and torch is not needed), but fed the
chosen line's own offsets instead of its draws (teacher forcing). Every step gives out
the window ``phi``, the full state (the cell states ``c1``, ``c2``, ``c3`` among it) and
the mixture for the next point, so at every point we hold what the model had there and
the fan can restart sampling from any point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from penbot.explore.line import ChosenLine
from penbot.runtime import STATE, Step, StepRunner, as_runner
from penbot.sample import read_sample
from penbot.text import encode

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

__all__ = ["Replay", "replay", "take_steps", "normalised", "CELLS"]

CELLS = tuple(STATE.index(name) for name in ("c1", "c2", "c3"))  # where the cell states sit in a state


@dataclass(frozen=True)
class Replay:
    """What the model had at each of the line's ``N`` points.

    Step ``k`` reads the offset before point ``k`` and predicts point ``k``: ``phi[k]`` and
    ``cells[:, k]`` belong to the step that wrote point ``k`` (as the sampler's focus does).
    """

    line: ChosenLine
    start: int  # index of the line's first character in the model's text (after the style text)
    chars: np.ndarray  # (U,) the model's whole text, encoded (style text + " " + line text)
    phi: np.ndarray  # (N, U + 1) window weight per step over the text and the place past its end
    cells: np.ndarray  # (3, N, H) LSTM cell states c of layers 1-3 after each step
    x: np.ndarray  # (N, 3) float32: the line's offsets, normalised as the model reads them
    onehot: np.ndarray  # (1, U + 1, A) float32: the text as the window sees it
    steps: Step  # N + 1 rows: step k's mixture (its prediction of point k), the state after it, its window


def normalised(runner: StepRunner, offsets: np.ndarray) -> np.ndarray:
    """Data-unit offsets ``(T, 3)`` -> what the model reads (float32, dx/dy standardised)."""
    x = np.asarray(offsets, dtype=np.float32).reshape(-1, 3).copy()
    x[:, :2] = (x[:, :2] - runner.mean) / runner.std
    return x


def take_steps(steps: Step, rows: np.ndarray) -> Step:
    """Rows ``rows`` of a batched ``Step`` (copies): the mixture and state to sample on from."""
    return Step(steps.log_pi[rows], steps.mu[rows], steps.log_sigma[rows], steps.rho[rows], steps.pen_logit[rows],
                tuple(s[rows] for s in steps.state), steps.phi[rows])


def _stack(steps: list[Step]) -> Step:
    cat = np.concatenate
    return Step(cat([s.log_pi for s in steps]), cat([s.mu for s in steps]), cat([s.log_sigma for s in steps]),
                cat([s.rho for s in steps]), cat([s.pen_logit for s in steps]),
                tuple(cat([s.state[i] for s in steps]) for i in range(len(STATE))), cat([s.phi for s in steps]))


def replay(model: StepRunner | HandwritingModel, line: ChosenLine) -> Replay:
    """Read the style sample, then feed the line's offsets one step at a time (batch 1)."""
    runner = as_runner(model)
    prefix = (line.prime.text + " ") if line.prime is not None else ""
    chars = encode(prefix + line.text, runner.cfg.alphabet)
    padded = np.zeros((1, len(chars) + 1), np.int64)  # one column past the end, as the sampler has
    padded[0, : len(chars)] = chars
    onehot = runner.one_hot(padded)
    x0 = np.array([[0.0, 0.0, 1.0]], np.float32)  # a line with no sample starts as if a stroke had just ended
    state = runner.initial_state(1)
    with runner.sampling():
        runner.set_threads(1)
        if line.prime is not None and len(line.prime.strokes):
            prime_x = normalised(runner, line.prime.strokes.offsets)
            state = read_sample(runner, prime_x, np.asarray(chars[: len(prefix)]))  # as the sampler reads it
            x0 = prime_x[-1:]
        drawn = line.prime.uncorrected(line.strokes) if line.prime is not None else line.strokes
        x = normalised(runner, drawn.offsets)  # what the model drew, before the style's correction
        inputs = np.concatenate([x0, x])  # step k reads inputs[k] = the offset before point k
        steps = []
        for k in range(len(inputs)):
            step = runner.step(inputs[k : k + 1], state, onehot)
            steps.append(step)
            state = step.state
    n = len(x)
    all_steps = _stack(steps)
    cells = np.stack([all_steps.state[i][:n] for i in CELLS])
    return Replay(line=line, start=len(prefix), chars=np.asarray(chars), phi=all_steps.phi[:n].copy(),
                  cells=cells, x=x, onehot=onehot, steps=all_steps)
