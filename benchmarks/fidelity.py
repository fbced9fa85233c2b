"""Fidelity of priming: does "write in my hand" copy the hand?

For each validation writer (never seen in training) one real line is the prime; the model
writes ``--texts`` other texts in that hand. Three features (``penbot.handfeatures``: slant,
pen-down strokes per non-space character, ink width per character over body height) are
measured on the generated lines and on the writer's *other* real lines. For each feature
and writer, the score is the share of the other writers whose real value is farther from
the generated hand than the writer's own: 100 % = the generated hand is nearer its own
writer than every other writer, 50 % = chance. The same score of the prime line's own
features is printed as the ceiling of a perfect copier: one line varies from the writer's
other lines, so copying it exactly does not reach 100 %.

Which line is the prime moves the score a lot (with each writer's first line as the prime a
perfect copy scores 79 / 68 / 61 %, with their second 90 / 83 / 70 %), so each writer is
primed with ``--primes`` of their lines in turn, each a separate one-line trial, and the
scores are averaged over the trials.

    PYTHONPATH=. python benchmarks/fidelity.py --data ../shared/data/iam-ondb --model penbot/weights/default.pt
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

TEXTS = (
    "The garden gate was painted a cheerful shade of blue.",
    "Please bring seven jars of honey to the market.",
    "We walked along the quiet river until it was dark.",
    "Every morning she wrote a letter to her brother.",
    "Nobody expected the old clock to start again.",
)
FEATURES = ("slant_deg", "strokes_per_char", "width")


def writer_lines(data: Path, max_writers: int) -> dict[str, list[int]]:
    from penbot.data.clean import CleanConfig
    from penbot.data.dataset import load_lines, split_by_writer

    ls = load_lines(data, CleanConfig())
    _, val = split_by_writer(ls)
    by_writer: dict[str, list[int]] = defaultdict(list)
    for i in val.tolist():
        if 20 <= len(ls.texts[i]) <= 60:
            by_writer[ls.writers[i]].append(i)
    writers = sorted((w for w, idx in by_writer.items() if len(idx) >= 4), key=lambda w: -len(by_writer[w]))
    return ls, {w: by_writer[w] for w in writers[:max_writers]}


def nearer_share(generated: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Per writer: share of other writers whose real value is farther from the generated one."""
    n = len(real)
    out = np.zeros(n)
    for w in range(n):
        own = abs(generated[w] - real[w])
        others = np.abs(generated[w] - np.delete(real, w))
        out[w] = float(np.mean(others > own)) if len(others) else 1.0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", default=None, help="model file (default: the shipped one)")
    ap.add_argument("--writers", type=int, default=12)
    ap.add_argument("--texts", type=int, default=4, help="texts written per writer (at least 3)")
    ap.add_argument("--bias", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=1,
                    help="repeat with seeds SEED..SEED+N-1 and average the scores (12 writers are few)")
    ap.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                    help="prime with the raw line, without the lean a user's style gets when it is added")
    ap.add_argument("--primes", type=int, default=8,
                    help="prime lines per writer, each a separate one-line trial (spread over their lines)")
    ap.add_argument("--blends", action="store_true",
                    help="also score the written hand moved part of the way to the prime line's own value "
                         "(the most any per-hand correction towards the prime could give)")
    args = ap.parse_args(argv)

    from penbot.calibrate import calibrate
    from penbot.handfeatures import hand_features
    from penbot.options import SampleOptions
    from penbot.sample import LineRequest, sample_lines
    from penbot.strokes import Strokes
    from penbot.styles import Style
    from penbot.write import open_model

    t0 = time.time()
    model = open_model(args.model)
    ls, writers = writer_lines(args.data, args.writers)
    texts = TEXTS[: max(3, args.texts)]
    feats_of = {i: hand_features(Strokes(ls.line(i).astype(np.float64)), ls.texts[i])
                for idx in writers.values() for i in idx}
    trials = []  # per prime choice: (primes, real features of the rest, the primes' own features)
    for t in range(max(1, args.primes)):
        primes, real, own = [], [], []
        for idx in writers.values():
            p = idx[(t * len(idx)) // max(1, args.primes)]
            rest = [feats_of[i] for i in idx if i != p]
            real.append([np.median([getattr(f, k) for f in rest]) for k in FEATURES])
            own.append([getattr(feats_of[p], k) for k in FEATURES])
            primes.append(Style(str(p), ls.texts[p], Strokes(ls.line(p).astype(np.float64))))
        if args.calibrate:  # as `penbot styles add` and the studio do
            primes = calibrate(model, primes)
        trials.append(([st.prime() for st in primes], np.array(real), np.array(own)))
    scores, ceilings, gens, reals, owns = [], [], [], [], []
    for primes, real_a, own_a in trials:
        ceilings.append([nearer_share(own_a[:, j], real_a[:, j]) for j in range(len(FEATURES))])
        for seed in range(args.seed, args.seed + max(1, args.seeds)):
            requests = [LineRequest(text, prime, SampleOptions(bias=args.bias, seed=seed), key=k)
                        for prime in primes for k, text in enumerate(texts)]
            lines = sample_lines(model, requests)
            feats = [hand_features(line.strokes, req.text) for req, line in zip(requests, lines, strict=True)]
            per_writer = [feats[w * len(texts): (w + 1) * len(texts)] for w in range(len(primes))]
            gen_a = np.array([[np.median([getattr(f, k) for f in fs]) for k in FEATURES] for fs in per_writer])
            scores.append([nearer_share(gen_a[:, j], real_a[:, j]) for j in range(len(FEATURES))])
            gens.append(gen_a)
            reals.append(real_a)
            owns.append(own_a)
    scores_a, ceil_a = np.array(scores), np.array(ceilings)  # (runs, feature, writer)
    gen_all, real_all = np.concatenate(gens), np.concatenate(reals)
    print(f"model {args.model or 'shipped'}: {len(writers)} validation writers, {len(trials)} prime line(s) each, "
          f"{len(texts)} texts per prime, bias {args.bias:g}, {max(1, args.seeds)} seed(s), "
          f"{'calibrated' if args.calibrate else 'not calibrated'} ({time.time() - t0:.0f} s)")
    print(f"{'feature':18} {'nearer than':>12} {'perfect copy':>13} {'writers >= 80 %':>16}"
          f" {'real range':>18} {'generated range':>18}")
    for j, k in enumerate(FEATURES):
        share = scores_a[:, j].mean(axis=0)  # per writer, over prime lines and seeds
        good = int((share >= 0.8).sum())
        print(f"{k:18} {100 * share.mean():11.0f}% {100 * ceil_a[:, j].mean():12.0f}% {good:>9d} of {len(share):<3d}"
              f" {real_all[:, j].min():8.2f}..{real_all[:, j].max():<8.2f}"
              f" {gen_all[:, j].min():8.2f}..{gen_all[:, j].max():<8.2f}")
    by_prime = ", ".join("/".join(f"{100 * s:.0f}" for s in scores_a[r].mean(axis=1))
                         for r in range(0, len(scores_a), max(1, args.seeds)))
    print(f"per prime line (slant/strokes/width, first seed): {by_prime}")
    if args.blends:
        # what a per-hand correction of the written hand towards the prime line could reach at
        # best: written + a * (prime - written), a chosen afterwards on these same writers
        print("written moved towards the prime line by a (0: as written, 1: the prime's own value):")
        for j, k in enumerate(FEATURES):
            row = []
            for a in (0.0, 0.25, 0.5, 0.75, 1.0):
                row.append(np.mean([nearer_share(g[:, j] + a * (o[:, j] - g[:, j]), r[:, j]).mean()
                                    for g, r, o in zip(gens, reals, owns, strict=True)]))
            print(f"  {k:18} " + "  ".join(f"a={a:g}: {100 * v:.0f}%" for a, v in
                                            zip((0.0, 0.25, 0.5, 0.75, 1.0), row, strict=True)))
    ratio = gen_all[:, 2] / real_all[:, 2]
    print(f"generated width / writer's width: median {np.median(ratio):.2f}"
          f" (range {ratio.min():.2f}..{ratio.max():.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
