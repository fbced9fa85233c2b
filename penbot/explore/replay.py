"""Replay a chosen line through the model point by point and keep what it thought at each one.

The model is stepped exactly as the sampler steps it (``HandwritingModel.step`` after
reading the style sample), but fed the chosen line's own offsets instead of its draws
(teacher forcing). So at every point we hold the window, the cell states and the
distribution of the next offset the model had there, and the fan can restart sampling
from any point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from penbot.explore.line import ChosenLine
from penbot.model import HandwritingModel, Mixture, Packed, State
from penbot.text import encode

__all__ = ["Replay", "replay", "draw_offsets", "packed_weights", "take_state", "take_mixture"]


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
    x: torch.Tensor  # (N, 3) the line's offsets, normalised as the model reads them
    onehot: torch.Tensor  # (1, U + 1, A) the text as the window sees it
    after: State  # (N + 1) rows: the state after step k (the one mixture[k] came from)
    mixture: Mixture  # (N + 1) rows: step k's prediction of point k (row N: the point after the last)


def packed_weights(model: HandwritingModel) -> Packed:
    """The sampler's packed weights: bfloat16 products where the CPU has them natively."""
    dtype = torch.float32
    for where in ("penbot.threads", "penbot.sample"):  # the helper has lived in both
        try:
            dtype = __import__(where, fromlist=["sampling_dtype"]).sampling_dtype()
            break
        except (ImportError, AttributeError):
            continue
    return model.pack(dtype)


def take_state(state: State, idx: torch.Tensor) -> State:
    """Rows ``idx`` of a batched state (a copy)."""
    return State(state.h1[idx], state.c1[idx], state.kappa[idx], state.w[idx], tuple(s[idx] for s in state.upper))


def take_mixture(mix: Mixture, idx: torch.Tensor) -> Mixture:
    return Mixture(mix.log_pi[idx], mix.mu[idx], mix.log_sigma[idx], mix.rho[idx], mix.pen_logit[idx])


def _stack_states(states: list[State]) -> State:
    return State(
        torch.cat([s.h1 for s in states]), torch.cat([s.c1 for s in states]), torch.cat([s.kappa for s in states]),
        torch.cat([s.w for s in states]),
        tuple(torch.cat([s.upper[i] for s in states]) for i in range(4)),
    )


def _normalised(model: HandwritingModel, offsets: np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(offsets, dtype=np.float32).reshape(-1, 3)).clone()
    x[:, :2] = (x[:, :2] - model.mean) / model.std
    return x


@torch.no_grad()
def replay(model: HandwritingModel, line: ChosenLine) -> Replay:
    """Read the style sample, then feed the line's offsets one step at a time (batch 1)."""
    prefix = (line.prime.text + " ") if line.prime is not None else ""
    chars = encode(prefix + line.text, model.cfg.alphabet)
    padded = torch.zeros(1, len(chars) + 1, dtype=torch.long)  # one column past the end, as the sampler has
    padded[0, : len(chars)] = torch.from_numpy(np.asarray(chars, dtype=np.int64))
    onehot = model.one_hot(padded)
    x0 = torch.tensor([[0.0, 0.0, 1.0]])  # a line with no sample starts as if a stroke had just ended
    state = model.initial_state(1)
    if line.prime is not None and len(line.prime.strokes):
        prime_x = _normalised(model, line.prime.strokes.offsets)[None]
        prime_chars = padded.clone()
        prime_chars[0, len(prefix):] = 0  # the sample is read with its own text only, like the sampler
        state = model.read(prime_x, model.one_hot(prime_chars))
        x0 = prime_x[:, -1]
    x = _normalised(model, line.strokes.offsets)
    packed = packed_weights(model)
    inputs = torch.cat([x0, x])  # step k reads inputs[k] = the offset before point k
    states, mixes, phis, cells = [state], [], [], []
    for k in range(len(inputs)):
        mix, state, phi = model.step(inputs[k : k + 1], state, onehot, packed)
        mixes.append(mix)
        states.append(state)
        phis.append(phi[0])
        cells.append(torch.stack([state.c1[0], state.upper[1][0], state.upper[3][0]]))
    n = len(x)
    mixture = Mixture(*(torch.cat([getattr(m, f) for m in mixes]) for f in
                        ("log_pi", "mu", "log_sigma", "rho", "pen_logit")))
    return Replay(
        line=line, start=len(prefix), chars=np.asarray(chars),
        phi=torch.stack(phis[:n]).numpy(),
        cells=torch.stack(cells[:n], dim=1).numpy(),
        x=x, onehot=onehot, after=_stack_states(states[1:]), mixture=mixture,
    )


def draw_offsets(mix: Mixture, noise: torch.Tensor, bias: float, temperature: float = 1.0) -> torch.Tensor:
    """One normalised offset ``(dx, dy, pen_up)`` per row from the biased mixture (Graves §5.4).

    ``noise`` rows are (uniform for the component, two standard normals, uniform for the
    pen), drawn beforehand so that the result depends only on the seed.
    """
    log_pi = torch.log_softmax(mix.log_pi * ((1 + bias) / temperature), dim=-1)
    cdf = log_pi.exp().cumsum(-1)
    k = torch.searchsorted(cdf, noise[:, :1].contiguous()).clamp(max=cdf.shape[-1] - 1).squeeze(-1)
    rows = torch.arange(len(k))
    mu, rho = mix.mu[rows, k], mix.rho[rows, k]
    sigma = (mix.log_sigma[rows, k] - bias).exp() * temperature
    z1, z2 = noise[:, 1], noise[:, 2]
    dx = mu[:, 0] + sigma[:, 0] * z1
    dy = mu[:, 1] + sigma[:, 1] * (rho * z1 + torch.sqrt(1 - rho**2) * z2)
    pen = (noise[:, 3] < torch.sigmoid(mix.pen_logit)).float()
    return torch.stack([dx, dy, pen], dim=-1)
