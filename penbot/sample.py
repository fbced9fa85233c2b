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
from typing import TYPE_CHECKING

import numpy as np

from penbot.errors import PenbotError
from penbot.options import SampleOptions
from penbot.quality import check_line, trim_tail
from penbot.runtime import Step, StepRunner, as_runner
from penbot.strokes import Prime, Strokes
from penbot.text import encode
from penbot.threads import ThreadPolicy

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

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


def _draw(step: Step, noise: np.ndarray, bias: np.ndarray, temp: np.ndarray) -> np.ndarray:
    """One normalised offset per row (float32) from the biased mixture, using pre-drawn noise."""
    logits = step.log_pi * ((1 + bias) / temp)[:, None]
    logits = logits - logits.max(-1, keepdims=True)
    log_pi = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    cdf = np.exp(log_pi).cumsum(-1)
    k = np.minimum((cdf < noise[:, :1]).sum(-1), cdf.shape[-1] - 1)  # searchsorted, row by row
    rows = np.arange(len(k))
    mu = step.mu[rows, k]
    sigma = np.exp(step.log_sigma[rows, k] - bias[:, None]) * temp[:, None]
    rho = step.rho[rows, k]
    z1, z2 = noise[:, 1], noise[:, 2]
    dx = mu[:, 0] + sigma[:, 0] * z1
    dy = mu[:, 1] + sigma[:, 1] * (rho * z1 + np.sqrt(1 - rho**2) * z2)
    pen = (noise[:, 3] < 1 / (1 + np.exp(-step.pen_logit))).astype(np.float32)
    return np.stack([dx, dy, pen], axis=-1).astype(np.float32, copy=False)


@dataclass(frozen=True)
class _Written:
    """What one generation pass found, per line."""

    offsets: list[np.ndarray]  # data units, the new text only
    focus: list[np.ndarray]  # per step: the character the window is on
    hit_cap: np.ndarray  # (n,) bool: stopped by the step cap, not by the stop rule


def _generate(runner: StepRunner, run: _Run, progress: Callable[[int, int], None] | None = None) -> _Written:
    """Run the loop with ``ThreadPolicy`` deciding the threads, then restore the caller's setting."""
    with runner.sampling() as most:
        return _generate_loop(runner, run, progress, ThreadPolicy(most))


def _primed(runner: StepRunner, run: _Run) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """State after reading each line's style sample, and the first input of each line.

    Lines that share a sample (every line of a page) share one teacher-forced pass at
    batch 1: the window reads only the sample's own text, so the state does not depend
    on the line that follows, and a page pays for its style once, not once per line.
    """
    n = len(run.chars)
    state = runner.initial_state(n)
    x0 = np.zeros((n, 3), np.float32)
    x0[:, 2] = 1.0  # a line with no sample starts as if a stroke had just ended
    groups: dict[tuple[bytes, bytes], list[int]] = {}
    for i, p in enumerate(run.prime):
        if len(p):
            prefix = run.chars[i][: run.target_start[i]]
            groups.setdefault((p.tobytes(), prefix.tobytes()), []).append(i)
    for rows in groups.values():
        i = rows[0]
        chars = np.zeros((1, max(1, run.target_start[i])), np.int64)  # the sample's text only
        chars[0, : run.target_start[i]] = run.chars[i][: run.target_start[i]]
        read = runner.read(run.prime[i], runner.one_hot(chars))
        for mine, theirs in zip(state, read, strict=True):
            mine[rows] = theirs
        x0[rows] = run.prime[i][-1]
    return state, x0


def _generate_loop(
    runner: StepRunner, run: _Run, progress: Callable[[int, int], None] | None = None,
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
    onehot = runner.one_hot(chars)
    ln = np.array([len(c) for c in run.chars], np.int64)  # the position past each line's text
    cap = int(run.max_steps.max())
    noise_pad = np.zeros((n, cap + 1, 4), np.float32)
    for i, z in enumerate(run.noise):
        noise_pad[i, : len(z)] = z

    state, x = _primed(runner, run)
    active = np.arange(n)  # rows of the current (shrinking) batch -> line index
    out = np.zeros((n, cap, 3), np.float32)  # generated offsets (data units) by line and step
    focus = np.zeros((n, cap), np.int32)  # the character the window is on, by line and step
    n_out = np.zeros(n, np.int64)
    hit_cap = np.zeros(n, bool)
    bias, temp = run.bias.astype(np.float32), run.temperature.astype(np.float32)
    mean, std = runner.mean, runner.std
    u = np.arange(u_max)[None, :]
    t = 0
    threads = threads or ThreadPolicy(1)
    current = 1
    runner.set_threads(1)
    while len(active):
        n_threads = threads.use(len(active))
        if n_threads != current:
            runner.set_threads(current := n_threads)
        t0 = time.perf_counter()
        step = runner.step(x, state, onehot)
        drawn = _draw(step, noise_pad[active, t], bias, temp)
        phi = step.phi
        at_end = phi[np.arange(len(ln)), ln]
        before = np.where(u < ln[:, None], phi, -1.0).max(1)
        finished = (at_end > before) & (drawn[:, 2] > 0.5) & (ln > 0)
        real = drawn.copy()
        real[:, :2] = real[:, :2] * std + mean
        out[active, t] = real
        focus[active, t] = np.where(u <= ln[:, None], phi, -1.0).argmax(1)
        done = finished | (t + 1 >= run.max_steps[active])
        n_out[active[done]] = t + 1
        hit_cap[active[done]] = ~finished[done]
        threads.took(n_threads, time.perf_counter() - t0)
        if progress is not None:
            progress(t, int(run.max_steps[active].max()))
        t += 1
        x, state = drawn, step.state
        if done.any():
            keep = ~done
            active = active[keep]
            state = tuple(s[keep] for s in state)
            onehot, x, bias, temp, ln = onehot[keep], x[keep], bias[keep], temp[keep], ln[keep]
    if current != 1:
        runner.set_threads(1)
    return _Written([out[i, : n_out[i]].astype(np.float64) for i in range(n)],
                    [focus[i, : n_out[i]].astype(np.int64) for i in range(n)], hit_cap)


def _prime_offsets(runner: StepRunner, prime: Prime | None) -> np.ndarray:
    if prime is None or not len(prime.strokes):
        return np.zeros((0, 3), np.float32)
    off = prime.strokes.offsets.astype(np.float32).copy()
    off[:, :2] = (off[:, :2] - runner.mean) / runner.std
    return off


def sample_lines(
    model: StepRunner | HandwritingModel,
    requests: Sequence[LineRequest],
    progress: Callable[[int, int], None] | None = None,
) -> list[SampledLine]:
    """Write every request in one batched loop; re-sample bad lines with new seeds.

    A line still bad after ``retries`` extra attempts comes back with ``problem`` set;
    the caller decides whether that fails its document. ``model``: a step runner
    (``penbot.runtime``), or a torch model, which is wrapped in one.
    """
    if not requests:
        return []
    runner = as_runner(model)
    alphabet = runner.cfg.alphabet
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
            run.prime.append(_prime_offsets(runner, r.prime))
            run.bias[j], run.temperature[j] = r.options.bias, r.options.temperature
            steps = int(r.options.max_steps_per_char * len(r.text)) + 40
            run.max_steps[j] = steps
            run.noise.append(_noise(r.options.seed, r.key, attempt, r.text, steps))
        written = _generate(runner, run, progress)
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
    model: StepRunner | HandwritingModel, steps: int = 400, options: SampleOptions = SampleOptions(),
    prime: Strokes | None = None,
) -> Strokes:
    """Unconditional handwriting ("gibberish"), or a continuation of ``prime`` strokes.

    The model was trained with the text hidden on a few percent of lines, so with no text
    it writes letter-like shapes of the learned hand.
    """
    if steps <= 0:
        raise PenbotError("steps must be positive")
    runner = as_runner(model)
    run = _Run(
        [np.zeros(0, np.int64)], [0], [_prime_offsets(runner, Prime("", prime) if prime is not None else None)],
        np.array([options.bias]), np.array([options.temperature]),
        [_noise(options.seed, 0, 0, "", steps)], np.array([steps]),
    )
    off = _generate(runner, run).offsets[0]
    if prime is None and len(off):
        off[0, :2] = 0.0
    return Strokes(off)

