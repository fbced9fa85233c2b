"""Making the shipped style library from the model's own samples (never from database lines).

The unprimed model writes in a random hand each time. Candidates are drawn at a few
biases and with pen lifts made rarer (a nudge on the pen logit while sampling the
*candidate*, so some are connected hands); each is also tried slanted by a shear. Every
candidate is then judged by what the model writes when primed with it (the hand a user
gets): check lines must pass the line checks and, with a scorer, read back well; the
written lines' features (``penbot.handfeatures``) place it. The library is chosen to span
slant, width and connectedness, with at least ``min_connected`` connected hands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from penbot.handfeatures import CONNECTED, HandFeatures, hand_features, median_features
from penbot.quality import check_line
from penbot.runtime import Step, StepRunner, as_runner
from penbot.sample import LineRequest, SampleOptions, sample_lines
from penbot.strokes import Strokes
from penbot.styles import Style, save_style

__all__ = ["Candidate", "make_styles", "measure_writes", "write_previews"]

PRIME_TEXTS = (
    "a quick brown fox jumps",
    "we were told to wait here",
    "my handwriting is my own",
    "bring the jam and six eggs",
)
CHECK_TEXTS = (
    "The lazy dog sleeps in the sun.", "Zoe quickly mixed 42 jars of wax.",
    "Meet Jack at 10:45 by the old quay.", "PLEASE KEEP OFF THE GRASS",
    "Thank you for the lovely flowers.", "Dear Mr. Brown, see you on 7 May!",
)
# what a style's ``writes`` features are measured on: everyday sentences and the check lines
# (capitals and digits are printed even by writers who join their letters)
FEATURE_TEXTS = CHECK_TEXTS + (
    "We should be home by half past six tonight.", "The library has a new reading room.",
    "Her cousin grows roses and sweet peas.", "Write to me when you have settled in.",
    "The boat left the harbour before dawn.", "A long walk always clears my head.",
    "The wooden gate creaked in the wind.", "Thanks again for a wonderful evening.",
    "Our street was covered in snow this morning.", "He never forgets to feed the cat.",
    "Keep the receipt in case it breaks.", "The market is busy on Saturday mornings.",
)
Scorer = Callable[[list[Strokes], list[str]], float]  # written lines, their texts -> error rate


class _FewerLifts(StepRunner):
    """A runner whose pen-lift logit is shifted: candidates that lift the pen less often."""

    def __init__(self, inner: StepRunner, shift: float):
        super().__init__(inner.cfg)
        self.inner, self.shift = inner, shift

    def step(self, x, state, onehot) -> Step:
        out = self.inner.step(x, state, onehot)
        return replace(out, pen_logit=out.pen_logit + np.float32(self.shift))


@dataclass(frozen=True)
class Candidate:
    style: Style
    writes: HandFeatures  # median features of the lines written when primed with it
    error: float  # scorer's error rate on the check lines (0 without a scorer)
    everyday: bool = False  # ``writes`` measured on ``FEATURE_TEXTS`` (else on the check lines)


def _judge(runner: StepRunner, styles: list[Style], seed: int, score: Scorer | None) -> list[Candidate]:
    """Prime with each style, write the check lines, keep those that pass, measure them."""
    reqs = [LineRequest(t, st.prime(), SampleOptions(seed=seed, retries=1), key=i)
            for st in styles for i, t in enumerate(CHECK_TEXTS)]
    out = []
    for start in range(0, len(reqs), 48):  # 8 styles per sampling batch
        part = reqs[start: start + 48]
        res = sample_lines(runner, part)
        for j in range(0, len(part), len(CHECK_TEXTS)):
            lines = res[j: j + len(CHECK_TEXTS)]
            if not all(r.ok for r in lines):
                continue
            writes = median_features([hand_features(r.strokes, t) for r, t in zip(lines, CHECK_TEXTS, strict=True)])
            err = score([r.strokes for r in lines], list(CHECK_TEXTS)) if score is not None else 0.0
            out.append(Candidate(styles[(start + j) // len(CHECK_TEXTS)], writes, err))
    return out


def measure_writes(runner: StepRunner, styles: list[Style], seeds: tuple[int, ...] = (0, 1)) -> list[HandFeatures]:
    """How the model writes after each style: median features over ``FEATURE_TEXTS`` at each
    seed (lines the checks still flag are left out)."""
    reqs = [LineRequest(t, st.prime(), SampleOptions(seed=seed), key=i)
            for st in styles for seed in seeds for i, t in enumerate(FEATURE_TEXTS)]
    per = len(seeds) * len(FEATURE_TEXTS)
    out = []
    for start in range(0, len(reqs), 4 * per):
        part = reqs[start: start + 4 * per]
        res = sample_lines(runner, part)
        for j in range(0, len(part), per):
            out.append(median_features([hand_features(r.strokes, q.text) for r, q
                                        in zip(res[j: j + per], part[j: j + per], strict=True) if r.ok]))
    return out


def _remeasure_near_connected(runner: StepRunner, pool: list[Candidate], max_error: float,
                              margin: float = 0.15, most: int = 48) -> list[Candidate]:
    """``pool`` with the ``writes`` of legible near-connected candidates measured again on
    everyday sentences (``measure_writes``). Check lines include capitals and digits, which
    joined hands print too, so they read strokes per letter about 0.1 high: a hand judged on
    them alone is called printed when its sentences are joined up."""
    near = sorted((i for i, c in enumerate(pool)
                   if c.error <= max_error and c.writes.strokes_per_char <= CONNECTED + margin),
                  key=lambda i: pool[i].error)[:most]
    return _measured(runner, pool, near)


def _measured(runner: StepRunner, pool: list[Candidate], which: list[int]) -> list[Candidate]:
    """``pool`` with the candidates at ``which`` measured on ``FEATURE_TEXTS`` (once each:
    those already measured are left as they are)."""
    todo = [i for i in which if not pool[i].everyday]
    out = list(pool)
    for i, w in zip(todo, measure_writes(runner, [pool[i].style for i in todo]), strict=True):
        out[i] = replace(pool[i], writes=w, everyday=True)
    return out


def _choose(pool: list[Candidate], count: int, min_connected: int, max_error: float) -> list[Candidate]:
    """Among the hands that read back with at most ``max_error`` (the most legible ``count`` if
    fewer do): connected hands first (up to ``min_connected``, of different slants), then the
    most legible hand, then farthest-point selection over the written features."""
    ranked = sorted(pool, key=lambda c: c.error)
    legible = [c for c in ranked if c.error <= max_error]
    legible = legible if len(legible) >= count else ranked[:count]
    chosen: list[int] = []
    for i, c in enumerate(legible):
        if c.writes.strokes_per_char <= CONNECTED and len(chosen) < min(min_connected, count - 1):
            if all(abs(c.writes.slant_deg - legible[j].writes.slant_deg) > 3 for j in chosen):
                chosen.append(i)
    if 0 not in chosen:
        chosen.insert(0, 0)
    vecs = np.stack([c.writes.vector() for c in legible])
    while len(chosen) < min(count, len(legible)):
        dist = np.min(np.linalg.norm(vecs[:, None] - vecs[chosen][None], axis=2), axis=1)
        dist[chosen] = -1.0
        chosen.append(int(np.argmax(dist)))
    return [legible[i] for i in chosen]


def make_styles(
    model, out_dir: Path, count: int = 12, candidates: int = 64, bias: float = 0.8,
    seed: int = 0, log: Callable[[str], None] = print, score: Scorer | None = None,
    lift_shifts: tuple[float, ...] = (0.0, -1.0), shears: tuple[float, ...] = (-0.12, 0.0, 0.15, 0.3),
    stretches: tuple[float, ...] = (0.85, 1.0, 1.2), min_connected: int = 4, max_error: float = 0.04,
) -> list[Style]:
    """Sample ``candidates`` unprimed lines per pen-lift shift, try each at every shear and
    stretch, judge what they write, and save a varied library of ``count`` as ``out_dir/N.json``."""
    runner = as_runner(model)
    raw: list[Style] = []
    for shift in lift_shifts:
        nudged = _FewerLifts(runner, shift) if shift else runner
        reqs = [LineRequest(PRIME_TEXTS[i % len(PRIME_TEXTS)], None,
                            SampleOptions(bias=bias, seed=seed + i, retries=0), key=i) for i in range(candidates)]
        for req, res in zip(reqs, sample_lines(nudged, reqs), strict=True):
            if res.ok and not check_line(res.strokes.offsets, req.text, [], 0, False):
                raw.append(Style("candidate", req.text, res.strokes,
                                 f"model sample: bias {bias:g}, seed {req.options.seed}, pen-lift shift {shift:g}"))
        log(f"pen-lift shift {shift:g}: {len(raw)} usable samples so far")
    tried = [replace(st, strokes=st.strokes.slanted(k, w), source=f"{st.source}, shear {k:g}, stretch {w:g}")
             for st in raw for k in shears for w in stretches]
    pool = _judge(runner, tried, seed, score)
    log(f"{len(pool)} of {len(tried)} primes write their check lines cleanly")
    if not pool:
        return []
    max_error = max_error if score is not None else 1.0
    pool = _remeasure_near_connected(runner, pool, max_error)
    chosen = _choose(pool, count, min_connected, max_error)
    chosen = _measured(runner, chosen, list(range(len(chosen))))
    out_dir.mkdir(parents=True, exist_ok=True)
    styles = []
    for n, c in enumerate(chosen, 1):
        style = Style(str(n), c.style.text, c.style.strokes, c.style.source, c.writes)
        save_style(style, out_dir / f"{n}.json")
        w = c.writes
        log(f"style {n}: writes slant {w.slant_deg:+.0f} deg, {w.strokes_per_char:.2f} strokes/letter, "
            f"width {w.width:.2f}, check error {c.error:.3f} ({style.source})")
        styles.append(style)
    return styles


PREVIEW_TEXT = "Quick zebras jump over 7 lazy foxes."


def write_previews(model: StepRunner, names: list[str], out_dir: Path, sheet: Path | None = None,
                   text: str = PREVIEW_TEXT) -> list[Path]:
    """``NN.png`` for every style (all written in one batch), and optionally one contact sheet.

    ``names`` are anything ``--style`` takes (numbers, names, paths to style JSON files);
    previews are named after the style (a file's stem).
    """
    from PIL import Image, ImageDraw

    from penbot.export import ExportOptions, write_pages
    from penbot.options import Settings, write_options
    from penbot.write import write_documents

    opts = [write_options(Settings(style=n, page="200x22mm", margins="3mm", size=6.0)) for n in names]
    docs = write_documents([text] * len(names), opts, model)
    labels = [Path(n).stem if n.endswith(".json") else n for n in names]
    paths = []
    for label, doc in zip(labels, docs, strict=True):
        if isinstance(doc, Exception):
            raise doc
        paths += write_pages(doc.pages[:1], out_dir / f"{label}.png", ExportOptions(png_dpi=150))
    if sheet is not None:
        images = [Image.open(p).convert("L") for p in paths]
        w, h = images[0].size
        board = Image.new("L", (w + 60, h * len(images)), 255)
        draw = ImageDraw.Draw(board)
        for k, (label, im) in enumerate(zip(labels, images, strict=True)):
            board.paste(im, (60, k * h))
            draw.text((12, k * h + h // 2 - 6), label, fill=0)
            draw.line([(0, k * h), (w + 60, k * h)], fill=200)
        sheet.parent.mkdir(parents=True, exist_ok=True)
        board.save(sheet)
        paths.append(sheet)
    return paths
