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
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from penbot import glyphs
from penbot.accents import add_accents, split_accents
from penbot.errors import PenbotError
from penbot.glyphs import Segment, split_drawn
from penbot.handfeatures import hand_features
from penbot.options import SampleOptions
from penbot.pieces import join_pieces, split_text
from penbot.quality import check_line, cut_run_on, lingered, trim_tail
from penbot.runtime import STATE, Step, StepRunner, as_runner
from penbot.spacing import line_band, widen_word_gaps
from penbot.strokes import Prime, Strokes
from penbot.text import encode
from penbot.threads import ThreadPolicy

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

__all__ = ["SampleOptions", "LineRequest", "SampledLine", "sample_lines", "sample_free"]


Reader = Callable[[list[Strokes], list[str]], list[float]]  # written lines, their texts -> error rates
# where the window's centre rests after a style sample, relative to the line's first character:
# the median and about the 3rd-97th percentiles over 300 training lines used as samples (shipped model)
_WINDOW_CENTRE, _WINDOW_BAND = -0.82, (-1.8, -0.27)
_KAPPA = STATE.index("kappa")


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
    """Each line's own random stream, so a line does not change with what shares its batch
    (exactly so on float runners; the int8 graph scales its activations over the batch)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, key & 0xFFFFFFFF, attempt, zlib.crc32(text.encode())])
    return np.column_stack([rng.random(steps), rng.standard_normal((steps, 2)), rng.random(steps)]).astype(np.float32)


def _draw(step: Step, noise: np.ndarray, bias: np.ndarray, temp: np.ndarray,
          scale: np.ndarray | None = None) -> np.ndarray:
    """One normalised offset per row (float32) from the biased mixture, using pre-drawn noise.

    ``scale``: ``(1 + bias) / temp``, which the loop computes once per batch (a step pays
    for every numpy call).
    """
    logits = step.log_pi * (((1 + bias) / temp) if scale is None else scale)[:, None]
    logits -= logits.max(-1, keepdims=True)
    log_pi = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    cdf = np.exp(log_pi, out=log_pi).cumsum(-1)
    m = cdf.shape[-1]
    k = np.minimum((cdf < noise[:, :1]).sum(-1), m - 1)  # searchsorted, row by row
    k += np.arange(0, len(k) * m, m)  # flat index of each row's component
    mu = step.mu.reshape(-1, 2)[k]
    sigma = np.exp(step.log_sigma.reshape(-1, 2)[k] - bias[:, None])
    sigma *= temp[:, None]
    rho = step.rho.reshape(-1)[k]
    z1, z2 = noise[:, 1], noise[:, 2]
    out = np.empty((len(k), 3), np.float32)
    out[:, 0] = mu[:, 0] + sigma[:, 0] * z1
    out[:, 1] = mu[:, 1] + sigma[:, 1] * (rho * z1 + np.sqrt(1 - rho**2) * z2)
    out[:, 2] = noise[:, 3] < 1 / (1 + np.exp(-step.pen_logit))
    return out


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
        read = read_sample(runner, run.prime[i], run.chars[i][: run.target_start[i]])
        for mine, theirs in zip(state, read, strict=True):
            mine[rows] = theirs
        x0[rows] = run.prime[i][-1]
    return state, x0


def read_sample(runner: StepRunner, prime: np.ndarray, prefix: np.ndarray) -> tuple[np.ndarray, ...]:
    """The state after teacher-forcing a style sample's normalised offsets ``prime`` with the
    window on its encoded text ``prefix`` (the sample's text and the space after it) only,
    the window then moved to the line's start (``align_window``). The sampler and the
    explore replay both read a sample through here."""
    chars = np.zeros((1, max(1, len(prefix))), np.int64)
    chars[0, : len(prefix)] = prefix
    return align_window(runner, runner.read(prime, runner.one_hot(chars)), prime[-1], len(prefix))


def align_window(
    runner: StepRunner, state: tuple[np.ndarray, ...], x: np.ndarray, start: int
) -> tuple[np.ndarray, ...]:
    """The state after a style sample with its window moved to the line's start if it is not there.

    After a sample the window should rest between the space that follows the sample's text
    and the line's first character (``start``). A sample whose ink says a little more or
    less than its text leaves it further on (the line's first letters are skipped, on every
    attempt) or behind (the line begins by finishing the sample's text). When the centre is
    outside ``_WINDOW_BAND``, every window position (``kappa``) is moved by the same amount
    so that it sits at the usual place. The probe step's window does not depend on the
    characters, so it is given none.
    """
    u_max = start + 8
    probe = runner.step(x[None].astype(np.float32), state, np.zeros((1, u_max, len(runner.cfg.alphabet)), np.float32))
    phi = probe.phi[0, :u_max]
    if not phi.sum() > 1e-6:
        return state
    centre = float((np.arange(len(phi)) * phi).sum() / phi.sum()) - start
    lo, hi = _WINDOW_BAND
    if lo <= centre <= hi:
        return state
    moved = list(state)
    moved[_KAPPA] = state[_KAPPA] + np.float32(_WINDOW_CENTRE - centre)
    return tuple(moved)


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
    noise_pad = np.zeros((cap + 1, n, 4), np.float32)  # step-major: one step's rows are contiguous
    for i, z in enumerate(run.noise):
        noise_pad[: len(z), i] = z

    state, x = _primed(runner, run)
    active = np.arange(n)  # rows of the current (shrinking) batch -> line index
    out = np.zeros((cap, n, 3), np.float32)  # drawn offsets (normalised) by step and line
    focus = np.zeros((cap, n), np.int32)  # the character the window is on, by step and line
    n_out = np.zeros(n, np.int64)
    hit_cap = np.zeros(n, bool)
    bias, temp = run.bias.astype(np.float32), run.temperature.astype(np.float32)
    max_steps = run.max_steps.astype(np.int64)
    t = 0
    threads = threads or ThreadPolicy(1)
    current = 1
    runner.set_threads(1)
    while len(active):
        # per batch, not per step: these change only when lines finish
        b = len(active)
        rows = np.arange(b)
        u = np.arange(u_max)
        text_mask = np.where(u[None, :] < ln[:, None], 0.0, -np.inf).astype(np.float32)  # the line's characters
        seen_mask = np.where(u[None, :] <= ln[:, None], 0.0, -np.inf).astype(np.float32)  # ... and one past
        scale = (1 + bias) / temp
        has_text = ln > 0
        first_cut, last = int(max_steps.min()), int(max_steps.max()) - 1  # where lines are cut
        whole = b == n  # no line has finished: the step's rows are every line, in order
        while True:
            n_threads = threads.use(b)
            if n_threads != current:
                runner.set_threads(current := n_threads)
            t0 = time.perf_counter()
            step = runner.step(x, state, onehot)
            drawn = _draw(step, noise_pad[t] if whole else noise_pad[t, active], bias, temp, scale)
            phi = step.phi
            # phi >= 0, so adding 0 / -inf picks the same maximum as masking with -1
            finished = (phi[rows, ln] > (phi + text_mask).max(1)) & (drawn[:, 2] > 0.5) & has_text
            where = (phi + seen_mask).argmax(1)
            if whole:
                out[t], focus[t] = drawn, where
            else:
                out[t, active], focus[t, active] = drawn, where
            threads.took(n_threads, time.perf_counter() - t0)
            if progress is not None:
                progress(t, last + 1)
            x, state = drawn, step.state
            t += 1
            done = finished | (t >= max_steps) if t >= first_cut else finished
            if done.any():
                break
        n_out[active[done]] = t
        hit_cap[active[done]] = ~finished[done]
        keep = ~done
        active = active[keep]
        state = tuple(s[keep] for s in state)
        onehot, x, bias, temp, ln, max_steps = onehot[keep], x[keep], bias[keep], temp[keep], ln[keep], max_steps[keep]
    if current != 1:
        runner.set_threads(1)
    out[..., :2] = out[..., :2] * runner.std + runner.mean  # data units, as each step would have had them
    return _Written([out[: n_out[i], i].astype(np.float64) for i in range(n)],
                    [focus[: n_out[i], i].astype(np.int64) for i in range(n)], hit_cap)


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
    reader: Reader | None = None,
) -> list[SampledLine]:
    """Write every request in one batched loop; re-sample bad lines with new seeds.

    A line still bad after ``retries`` extra attempts comes back with ``problem`` set;
    the caller decides whether that fails its document. ``model``: a step runner
    (``penbot.runtime``), or a torch model, which is wrapped in one. With a ``reader``
    (written lines, texts -> error rates), a line of a request with ``options.verify``
    that reads worse than that is re-sampled too, and the best-read attempt is kept
    (whisper's decode-with-fallback, with a recogniser as the judge). A line longer than
    ``options.piece_chars`` is written in pieces (``penbot.pieces``), each after the line's
    style sample, and each checked, re-sampled and read on its own. Characters the model
    cannot write (``penbot.glyphs``) are cut out of what it is asked and drawn instead.
    """
    if not requests:
        return []
    for r in requests:
        if not r.text.strip():
            raise PenbotError("cannot write an empty line")
    plans = [_parts_of(r.text, r.options.piece_chars) for r in requests]
    parts = [replace(r, text=seg.text)
             for r, plan in zip(requests, plans, strict=True) for seg in plan if not seg.drawn]
    written = iter(_sample_parts(as_runner(model), parts, progress, reader))
    out = []
    for r, plan in zip(requests, plans, strict=True):
        got = [None if seg.drawn else next(written) for seg in plan]
        drawn = any(seg.drawn for seg in plan)
        # the hand each piece was written in, measured before anything is drawn on it
        hands = [_hand_of(seg, g) if g is not None and (drawn or seg.accents) else None
                 for seg, g in zip(plan, got, strict=True)]
        got = [g if hand is None or not seg.accents else _accented(r, k, seg, g, hand)
               for k, (seg, g, hand) in enumerate(zip(plan, got, hands, strict=True))]
        if len(plan) == 1 and got[0] is not None:
            line = got[0][0]
        else:
            line = _joined(r, plan, got, hands)
        if r.prime is not None:
            line = replace(line, strokes=r.prime.corrected(line.strokes))
        out.append(line)
    return out


def _parts_of(text: str, limit: int) -> list[Segment]:
    """The parts a line is made of, in order: pieces the model writes (``penbot.pieces``),
    their accented letters as base letters with the accents to draw, and characters drawn
    for it (``penbot.glyphs``)."""
    out = []
    for seg in split_drawn(text):
        if seg.drawn:
            out.append(seg)
        else:
            for k, piece in enumerate(split_text(seg.text, limit)):
                base, marks = split_accents(piece)
                out.append(Segment(base, False, seg.spaced if k == 0 else True, marks))
    return out


def _hand_of(seg: Segment, got: tuple[SampledLine, np.ndarray]) -> tuple[float | None, float] | None:
    """The x-height (None when too few plain letters show it) and slant a piece was written
    in, or None for a piece with no ink."""
    line, owner = got
    if not len(line.strokes):
        return None
    band = line_band(line.strokes.points, seg.text, owner)
    return (band[1] if band is not None else None), hand_features(line.strokes, seg.text).slant_deg


def _accented(r: LineRequest, k: int, seg: Segment, got: tuple[SampledLine, np.ndarray],
              hand: tuple[float | None, float]) -> tuple[SampledLine, np.ndarray]:
    """A written piece with its accents drawn over its letters, in its own size and slant."""
    line, owner = got
    x_height, slant = hand
    offsets, owner = add_accents(line.strokes.offsets, owner, seg.text, seg.accents,
                                 glyphs.X_HEIGHT if x_height is None else x_height, slant,
                                 (r.options.seed, r.key, k))
    return replace(line, strokes=Strokes(offsets)), owner


def _joined(r: LineRequest, plan: list[Segment], got: list[tuple[SampledLine, np.ndarray] | None],
            hands: list[tuple[float | None, float] | None]) -> SampledLine:
    """One line from its written pieces and drawn characters, the drawn ones in the size and
    slant the pieces were written in (medians)."""
    if any(seg.drawn for seg in plan):
        sizes = [h[0] for h in hands if h is not None and h[0] is not None]
        slants = [h[1] for h in hands if h is not None]
        x_height = float(np.median(sizes)) if sizes else glyphs.X_HEIGHT
        slant = float(np.median(slants)) if slants else 0.0
    joined = []
    for k, (seg, g) in enumerate(zip(plan, got, strict=True)):
        if g is None:
            joined.append((glyphs.draw(seg.text, x_height, slant, (r.options.seed, r.key, k)), None, seg.text))
        else:
            joined.append((g[0].strokes.offsets, g[1], seg.text))
    offsets = join_pieces(joined, spaced=[seg.spaced for seg in plan])
    written = [g[0] for g in got if g is not None]
    problems = dict.fromkeys(part.problem for part in written if part.problem)
    return SampledLine(Strokes(offsets), max([part.attempts for part in written], default=1), "; ".join(problems))


def _sample_parts(
    runner: StepRunner,
    requests: Sequence[LineRequest],
    progress: Callable[[int, int], None] | None = None,
    reader: Reader | None = None,
) -> list[tuple[SampledLine, np.ndarray]]:
    """``sample_lines`` for lines written whole: each written line, and per point the index
    in its text of the character the window was on."""
    alphabet = runner.cfg.alphabet
    results: list[tuple[SampledLine, np.ndarray] | None] = [None] * len(requests)
    pending = list(range(len(requests)))
    best: dict[int, tuple[float, tuple[SampledLine, np.ndarray]]] = {}  # the best-read attempt of each verified line
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
        still, to_read = [], []
        for j, i in enumerate(pending):
            r = requests[i]
            focus = written.focus[j]
            off = trim_tail(written.offsets[j], focus, len(run.chars[j]), after_dot=r.text.rstrip()[-1] in ".,",
                            rules=r.options.rules)
            if len(off):
                off[0, :2] = 0.0  # the line starts at the origin, not after the style sample
            problem = check_line(off, r.text, focus, run.target_start[j], bool(written.hit_cap[j]), r.options.rules)
            if problem and r.options.check and attempt == r.options.retries:
                # the last attempt: a line that only ran on past its end is cut where it should have stopped
                cut = cut_run_on(off, focus[: len(off)], len(run.chars[j]), r.options.rules)
                if len(cut) < len(off) and not check_line(cut, r.text, focus[: len(cut)], run.target_start[j], False,
                                                          r.options.rules):
                    off, focus, problem = cut, focus[: len(cut)], ""
            if not problem and r.options.check and attempt < r.options.retries:
                problem = lingered(r.text, focus[: len(off)], run.target_start[j], r.options.rules)
            if problem and r.options.check and attempt < r.options.retries:
                still.append(i)
                continue
            owner = focus[: len(off)] - run.target_start[j]
            off = widen_word_gaps(off, owner, r.text, r.options.rules.word_gap)
            line = (SampledLine(Strokes(off), attempt + 1, problem if r.options.check else ""), owner)
            if reader is not None and r.options.verify is not None and not line[0].problem:
                to_read.append((i, line))
            else:
                results[i] = line
        if to_read:
            errors = reader([line.strokes for _, (line, _) in to_read], [requests[i].text for i, _ in to_read])
            for (i, line), err in zip(to_read, errors, strict=True):
                if i not in best or err < best[i][0]:
                    best[i] = (float(err), line)
                if err > requests[i].options.verify and attempt < requests[i].options.retries:
                    still.append(i)
                else:
                    results[i] = best[i][1]
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

