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
from dataclasses import dataclass, field

import numpy as np
import torch

from penbot.errors import PenbotError
from penbot.model import HandwritingModel, Mixture, State
from penbot.strokes import Strokes
from penbot.text import encode

__all__ = ["SampleOptions", "LineRequest", "SampledLine", "sample_lines", "sample_free", "check_line"]


@dataclass(frozen=True)
class SampleOptions:
    """How to sample. ``bias`` trades variety for neatness (Graves §5.4); ``temperature``
    scales the randomness that is left."""

    bias: float = 2.0
    temperature: float = 1.0
    seed: int = 0
    retries: int = 4  # extra attempts for a line that comes out bad
    max_steps_per_char: float = 24.0  # the data has ~7 points per character
    check: bool = True  # detect bad lines and re-sample them; give up with an error

    def __post_init__(self) -> None:
        for name, value, lo, hi in (("bias", self.bias, 0.0, 10.0), ("temperature", self.temperature, 0.05, 3.0)):
            if not isinstance(value, int | float) or not np.isfinite(value) or not lo <= value <= hi:
                raise PenbotError(f"{name} must be a number between {lo:g} and {hi:g}, got {value!r}")
        if self.retries < 0:
            raise PenbotError("retries must be >= 0")


@dataclass(frozen=True)
class Prime:
    """A style sample: normalised strokes and the text they say."""

    text: str
    strokes: Strokes


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
    focus: list[np.ndarray] = field(default_factory=list)  # per step: the character the window is on


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


@dataclass
class _Threads:
    """How many intra-op threads a step gets: one, and more only where they measurably help.

    A step is a few dozen small ops; only the three LSTM products of a big batch gain from
    a second core (measured on 2 idle cores: batch 32 1.72 -> 1.30 ms per step; batch 1
    none). When another process holds the other core, every product waits for a thread
    that is not running (measured: 8 lines took 37-51 s on 2 threads instead of 1.1 s).
    So: the first ``probe`` steps run on one thread, the next ``probe`` on ``most``; more
    threads are kept only if they were faster, and dropped for good the first time a step
    takes twice the one-thread time. The bfloat16 products give the same bits on any
    number of threads, so this choice never changes the strokes.
    """

    most: int
    min_batch: int = 16
    probe: int = 8
    one: list[float] = field(default_factory=list)
    many: list[float] = field(default_factory=list)
    verdict: bool | None = None  # None while probing; True: use ``most``

    def __post_init__(self) -> None:
        self.most = min(self.most, 4)
        if self.most < 2:
            self.verdict = False

    def use(self, batch: int) -> int:
        if batch < self.min_batch:  # batches only shrink: a probe cut short ends as "one thread"
            if self.verdict is None:
                self.verdict = False
            return 1
        if self.verdict is None:
            return 1 if len(self.one) < self.probe else self.most
        return self.most if self.verdict else 1

    def took(self, threads: int, seconds: float) -> None:
        if self.verdict is None:
            (self.one if threads == 1 else self.many).append(seconds)
            if len(self.many) >= self.probe:
                self.verdict = float(np.median(self.many)) < 0.9 * float(np.median(self.one))
        elif self.verdict and threads > 1 and seconds > 2.0 * float(np.median(self.one)):
            self.verdict = False


def _generate(model: HandwritingModel, run: _Run, progress: Callable[[int, int], None] | None = None):
    """Run the loop with ``_Threads`` deciding the threads, then restore the caller's setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # reading the style sample, too, is many small products
    try:
        return _generate_loop(model, run, progress, _Threads(threads))
    finally:
        torch.set_num_threads(threads)


def sampling_dtype() -> torch.dtype:
    """bfloat16 matrix products where the CPU has native bfloat16 instructions (AVX-512 BF16
    or AMX), else float32: emulated bfloat16 would be slower than float32. Measured on an
    AVX-512 BF16 CPU: a batch-32 step 3.3 -> 1.7 ms on one thread, batch 1 the same."""
    try:
        caps = torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):
        return torch.float32
    return torch.bfloat16 if caps.get("avx512_bf16") or caps.get("amx_bf16") else torch.float32


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
    threads: _Threads | None = None,
):
    """The batched loop. Returns per line (normalised offsets of the new text, hit_cap).

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
    threads = threads or _Threads(1)
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
    run.focus = [focus[i, : n_out[i]].astype(np.int64) for i in range(n)]
    return [out[i, : n_out[i]].astype(np.float64) for i in range(n)], hit_cap


# The last letter is often drawn after the window has moved past the text: up to about one
# letter (the data has ~8 points per character) "past the end" is normal, measured 4-9 on
# clean lines; much more is the model running on (a cursive "Tom" going on as "Tommunt").
MAX_POINTS_PAST_END = 14


def check_line(offsets: np.ndarray, text: str, focus: np.ndarray, start: int, hit_cap: bool) -> str:
    """Why a sampled line looks bad, or "" when it passes.

    ``focus`` is, per step, the index of the character the attention window weighs most
    (``argmax phi``). The figures are loose bounds around what real lines do (normalised
    height 1, about 0.54 units per character); they catch run-aways, skipped words and scribbles.
    """
    if hit_cap:
        return "did not finish (the attention stalled)"
    if len(offsets) < 2:
        return "no ink"
    pts = np.cumsum(offsets[:, :2], axis=0)
    n_chars = max(1, len(text.strip()))
    width = np.ptp(pts[:, 0])
    lo, hi = np.percentile(pts[:, 1], [5, 95])
    if np.ptp(pts[:, 1]) > 3.0 or (hi - lo) > 2.0:
        return "strokes far outside the line"
    if not 0.15 * n_chars <= width + 0.3 <= 1.3 * n_chars + 0.6:
        return f"width unlike the text ({width / n_chars:.2f} units per character)"
    if len(focus):
        past_end = int(np.sum(np.asarray(focus) >= start + len(text)))
        if past_end > MAX_POINTS_PAST_END:
            return f"wrote on past the end of the text ({past_end} points)"
        seen = set(np.asarray(focus).tolist())
        missed = [u for u in range(start, start + len(text)) if text[u - start] != " " and u not in seen]
        if len(missed) > max(1, len(text) // 12):
            return f"skipped {len(missed)} characters"
    return ""


def trim_tail(
    offsets: np.ndarray, focus: np.ndarray, end: int, gap: float = 0.15, after_dot: bool = False
) -> np.ndarray:
    """Drop a stray mark written after the line's last character.

    The Graves stop rule fires only when the window weighs the position past the last
    character most; a pen lift just before that lets the model begin a new mark (with no
    character under the window it writes as in its text-free mode). Such a trailing
    stroke was drawn entirely with the window past the end *and* starts right of all the
    ink before it, after a gap. The last letter itself is often drawn while the window
    has already moved on, so the window alone is no reason to cut (measured: it cut real
    final letters in 3 of 4 lines).

    After a final full stop or comma (``after_dot``) the model often adds a tall thin bar
    whose first point still sees the dot (measured before this rule: 31 and 32 of 63 such
    lines for styles 3 and 1). Nothing real follows a dot, so there a stroke after a gap
    that is mostly past the end and bigger than a dot (0.2 units) is cut too.
    """
    if not len(offsets) or len(focus) != len(offsets):
        return offsets
    pts = np.cumsum(offsets[:, :2], axis=0)
    ends = np.flatnonzero(offsets[:, 2] > 0.5)
    starts = np.r_[0, ends[:-1] + 1]
    keep_to = len(offsets)
    for a, b in zip(starts[::-1], ends[::-1]):
        if a == 0 or pts[a : b + 1, 0].min() < pts[:a, 0].max() + gap:
            break
        past = focus[a : b + 1] >= end
        size = float(np.ptp(pts[a : b + 1], axis=0).max())
        if not (past.all() or (after_dot and past.mean() >= 0.5 and size > 0.2)):
            break
        keep_to = a
    return offsets[:keep_to]


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
        outs, hit_cap = _generate(model, run, progress)
        still = []
        for j, i in enumerate(pending):
            r = requests[i]
            off = trim_tail(outs[j], run.focus[j], len(run.chars[j]), after_dot=r.text.rstrip()[-1] in ".,")
            if len(off):
                off[0, :2] = 0.0  # the line starts at the origin, not after the style sample
            strokes = Strokes(off)
            problem = check_line(off, r.text, run.focus[j], run.target_start[j], bool(hit_cap[j]))
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
    outs, _ = _generate(model, run)
    off = outs[0]
    if prime is None and len(off):
        off[0, :2] = 0.0
    return Strokes(off)

