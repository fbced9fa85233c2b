"""Batched sampling: many lines (each with its own text, style, bias and seed) in one loop.

A line is primed by teacher-forcing its style's strokes (the model reads the sample and
its text, then goes on in that hand), then sampled point by point until the attention
window has moved past its last character and the pen lifts (Graves §5.3), or a hard cap
on steps per character is hit. Lines that come out bad are re-sampled with another seed,
the way whisper re-decodes at another temperature.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from penbot.errors import PenbotError
from penbot.model import HandwritingModel, Mixture, State
from penbot.options import SampleOptions
from penbot.quality import check_line, trim_tail
from penbot.strokes import Prime, Strokes
from penbot.text import encode
from penbot.threads import ThreadPolicy, sampling_dtype

__all__ = ["SampleOptions", "LineRequest", "SampledLine", "sample_lines", "sample_free"]


@dataclass(frozen=True)
class LineRequest:
    text: str
    prime: Prime | None = None
    options: SampleOptions = SampleOptions()
    key: int = 0  # mixed into the seed so that lines of one page differ


@dataclass(frozen=True)
class SampledLine:
    strokes: Strokes  # normalised units; the style sample is not included
    attempts: int
    problem: str = ""  # why the line is still bad ("" when it passed the checks)

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass
class _Run:
    """Per-line inputs of one generation pass."""

    chars: list[np.ndarray]  # encoded full text (prime text + " " + text)
    target_start: list[int]  # index of the first character of the line's own text
    prime: list[np.ndarray]  # normalised prime offsets (P_i, 3), possibly empty
    bias: np.ndarray
    temperature: np.ndarray
    noise: list[np.ndarray]  # (steps_i, 4): uniform (component), 2 normals, uniform (pen)
    max_steps: np.ndarray


def _noise(seed: int, key: int, attempt: int, text: str, steps: int) -> np.ndarray:
    """Each line's own random stream, so a line does not change with what shares its batch."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, key & 0xFFFFFFFF, attempt, zlib.crc32(text.encode())])
    return np.column_stack([rng.random(steps), rng.standard_normal((steps, 2)), rng.random(steps)]).astype(np.float32)


def _draw(mix: Mixture, noise: torch.Tensor, bias: torch.Tensor, temp: torch.Tensor) -> torch.Tensor:
    """One normalised offset per row from the biased mixture, using pre-drawn noise."""
    log_pi = torch.log_softmax(mix.log_pi * ((1 + bias) / temp)[:, None], dim=-1)
    cdf = log_pi.exp().cumsum(-1)
    k = torch.searchsorted(cdf, noise[:, :1].contiguous()).clamp(max=cdf.shape[-1] - 1).squeeze(-1)
    rows = torch.arange(len(k))
    mu = mix.mu[rows, k]
    sigma = (mix.log_sigma[rows, k] - bias[:, None]).exp() * temp[:, None]
    rho = mix.rho[rows, k]
    z1, z2 = noise[:, 1], noise[:, 2]
    dx = mu[:, 0] + sigma[:, 0] * z1
    dy = mu[:, 1] + sigma[:, 1] * (rho * z1 + torch.sqrt(1 - rho**2) * z2)
    pen = (noise[:, 3] < torch.sigmoid(mix.pen_logit)).float()
    return torch.stack([dx, dy, pen], dim=-1)


@dataclass(frozen=True)
class _Written:
    """What one generation pass found, per line."""

    offsets: list[np.ndarray]  # data units, the new text only
    focus: list[np.ndarray]  # per step: the character the window is on
    hit_cap: np.ndarray  # (n,) bool: stopped by the step cap, not by the stop rule


def _generate(model: HandwritingModel, run: _Run, progress: Callable[[int, int], None] | None = None) -> _Written:
    """Run the loop with ``ThreadPolicy`` deciding the threads, then restore the caller's setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # reading the style sample, too, is many small products
    try:
        return _generate_loop(model, run, progress, ThreadPolicy(threads))
    finally:
        torch.set_num_threads(threads)


def _primed(model: HandwritingModel, run: _Run, u_max: int) -> tuple[State, torch.Tensor]:
    """State after reading each line's style sample, and the first input of each line.

    Lines that share a sample (every line of a page) share one teacher-forced pass at
    batch 1: the window reads only the sample's own text, so the state does not depend
    on the line that follows, and a page pays for its style once, not once per line.
    """
    n = len(run.chars)
    state = model.initial_state(n)
    x0 = torch.zeros(n, 3)
    x0[:, 2] = 1.0  # a line with no sample starts as if a stroke had just ended
    groups: dict[tuple[bytes, bytes], list[int]] = {}
    for i, p in enumerate(run.prime):
        if len(p):
            prefix = run.chars[i][: run.target_start[i]]
            groups.setdefault((p.tobytes(), prefix.tobytes()), []).append(i)
    for rows in groups.values():
        i = rows[0]
        chars = np.zeros((1, u_max), np.int64)
        chars[0, : run.target_start[i]] = run.chars[i][: run.target_start[i]]
        x = torch.from_numpy(run.prime[i])[None]
        st = model.read(x, model.one_hot(torch.from_numpy(chars)))
        idx = torch.tensor(rows)
        for name in ("h1", "c1", "kappa", "w"):
            getattr(state, name)[idx] = getattr(st, name)
        for mine, theirs in zip(state.upper, st.upper, strict=True):
            mine[idx] = theirs
        x0[idx] = x[0, -1]
    return state, x0


@torch.no_grad()
def _generate_loop(
    model: HandwritingModel, run: _Run, progress: Callable[[int, int], None] | None = None,
    threads: ThreadPolicy | None = None,
) -> _Written:
    """The batched loop: what each line wrote, where its window was, whether it hit the cap.

    Per-line bookkeeping is done with whole-batch array writes, not a Python loop over
    rows: at batch 32 the loop cost about as much as the network step.
    """
    n = len(run.chars)
    u_max = max(len(c) for c in run.chars) + 1  # one extra column: the position past the end
    chars = np.zeros((n, u_max), np.int64)
    for i, c in enumerate(run.chars):
        chars[i, : len(c)] = c
    onehot = model.one_hot(torch.from_numpy(chars))
    ln = torch.tensor([len(c) for c in run.chars])  # the position past each line's text
    cap = int(run.max_steps.max())
    noise_pad = np.zeros((n, cap + 1, 4), np.float32)
    for i, z in enumerate(run.noise):
        noise_pad[i, : len(z)] = z

    state, x = _primed(model, run, u_max)
    packed = model.pack(sampling_dtype())
    active = np.arange(n)  # rows of the current (shrinking) batch -> line index
    out = np.zeros((n, cap, 3), np.float32)  # generated offsets (data units) by line and step
    focus = np.zeros((n, cap), np.int32)  # the character the window is on, by line and step
    n_out = np.zeros(n, np.int64)
    hit_cap = np.zeros(n, bool)
    bias, temp = torch.tensor(run.bias, dtype=torch.float32), torch.tensor(run.temperature, dtype=torch.float32)
    mean, std = model.mean, model.std
    t = 0
    threads = threads or ThreadPolicy(1)
    current = torch.get_num_threads()
    while len(active):
        n_threads = threads.use(len(active))
        if n_threads != current:
            torch.set_num_threads(current := n_threads)
        t0 = time.perf_counter()
        mix, state, phi = model.step(x, state, onehot, packed)
        drawn = _draw(mix, torch.from_numpy(noise_pad[active, t]), bias, temp)
        u = torch.arange(phi.shape[1])[None, :]
        at_end = phi.gather(1, ln[:, None]).squeeze(1)
        before = torch.where(u < ln[:, None], phi, -1.0).amax(1)
        finished = ((at_end > before) & (drawn[:, 2] > 0.5) & (ln > 0)).numpy()
        real = drawn.clone()
        real[:, :2] = real[:, :2] * std + mean
        out[active, t] = real.numpy()
        focus[active, t] = torch.where(u <= ln[:, None], phi, -1.0).argmax(1).numpy()
        done = finished | (t + 1 >= run.max_steps[active])
        n_out[active[done]] = t + 1
        hit_cap[active[done]] = ~finished[done]
        threads.took(n_threads, time.perf_counter() - t0)
        if progress is not None:
            progress(t, int(run.max_steps[active].max()))
        t += 1
        x = drawn
        if done.any():
            keep = torch.from_numpy(np.flatnonzero(~done))
            active = active[~done]
            state = State(state.h1[keep], state.c1[keep], state.kappa[keep], state.w[keep],
                          tuple(s[keep] for s in state.upper))
            onehot, x, bias, temp, ln = onehot[keep], x[keep], bias[keep], temp[keep], ln[keep]
    return _Written([out[i, : n_out[i]].astype(np.float64) for i in range(n)],
                    [focus[i, : n_out[i]].astype(np.int64) for i in range(n)], hit_cap)


def _prime_offsets(model: HandwritingModel, prime: Prime | None) -> np.ndarray:
    if prime is None or not len(prime.strokes):
        return np.zeros((0, 3), np.float32)
    off = prime.strokes.offsets.astype(np.float32).copy()
    off[:, :2] = (off[:, :2] - model.mean.numpy()) / model.std.numpy()
    return off


def sample_lines(
    model: HandwritingModel,
    requests: Sequence[LineRequest],
    progress: Callable[[int, int], None] | None = None,
) -> list[SampledLine]:
    """Write every request in one batched loop; re-sample bad lines with new seeds.

    A line still bad after ``retries`` extra attempts comes back with ``problem`` set;
    the caller decides whether that fails its document.
    """
    if not requests:
        return []
    alphabet = model.cfg.alphabet
    for r in requests:
        if not r.text.strip():
            raise PenbotError("cannot write an empty line")
    results: list[SampledLine | None] = [None] * len(requests)
    pending = list(range(len(requests)))
    attempt = 0
    while pending:
        run = _Run([], [], [], np.zeros(len(pending)), np.zeros(len(pending)), [], np.zeros(len(pending), int))
        for j, i in enumerate(pending):
            r = requests[i]
            prefix = (r.prime.text + " ") if r.prime is not None else ""
            run.chars.append(encode(prefix + r.text, alphabet))
            run.target_start.append(len(prefix))
            run.prime.append(_prime_offsets(model, r.prime))
            run.bias[j], run.temperature[j] = r.options.bias, r.options.temperature
            steps = int(r.options.max_steps_per_char * len(r.text)) + 40
            run.max_steps[j] = steps
            run.noise.append(_noise(r.options.seed, r.key, attempt, r.text, steps))
        written = _generate(model, run, progress)
        still = []
        for j, i in enumerate(pending):
            r = requests[i]
            focus = written.focus[j]
            off = trim_tail(written.offsets[j], focus, len(run.chars[j]), after_dot=r.text.rstrip()[-1] in ".,",
                            rules=r.options.rules)
            if len(off):
                off[0, :2] = 0.0  # the line starts at the origin, not after the style sample
            strokes = Strokes(off)
            problem = check_line(off, r.text, focus, run.target_start[j], bool(written.hit_cap[j]), r.options.rules)
            if problem and r.options.check and attempt < r.options.retries:
                still.append(i)
            else:
                results[i] = SampledLine(strokes, attempt + 1, problem if r.options.check else "")
        pending = still
        attempt += 1
    return [r for r in results if r is not None]


def sample_free(
    model: HandwritingModel, steps: int = 400, options: SampleOptions = SampleOptions(),
    prime: Strokes | None = None,
) -> Strokes:
    """Unconditional handwriting ("gibberish"), or a continuation of ``prime`` strokes.

    The model was trained with the text hidden on a few percent of lines, so with no text
    it writes letter-like shapes of the learned hand.
    """
    if steps <= 0:
        raise PenbotError("steps must be positive")
    run = _Run(
        [np.zeros(0, np.int64)], [0], [_prime_offsets(model, Prime("", prime) if prime is not None else None)],
        np.array([options.bias]), np.array([options.temperature]),
        [_noise(options.seed, 0, 0, "", steps)], np.array([steps]),
    )
    off = _generate(model, run).offsets[0]
    if prime is None and len(off):
        off[0, :2] = 0.0
    return Strokes(off)

