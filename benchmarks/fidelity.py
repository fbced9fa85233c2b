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
                    help="repeat with seeds SEED..SEED+N-1 and report the mean score (12 writers are few)")
    args = ap.parse_args(argv)

    from penbot.handfeatures import hand_features
    from penbot.options import SampleOptions
    from penbot.sample import LineRequest, sample_lines
    from penbot.strokes import Prime, Strokes
    from penbot.write import open_model

    t0 = time.time()
    model = open_model(args.model)
    ls, writers = writer_lines(args.data, args.writers)
    texts = TEXTS[: max(3, args.texts)]
    real, primed, primes = [], [], []
    for idx in writers.values():
        prime_i, rest = idx[0], idx[1:]
        feats = [hand_features(Strokes(ls.line(i).astype(np.float64)), ls.texts[i]) for i in rest]
        real.append([np.median([getattr(f, k) for f in feats]) for k in FEATURES])
        prime = Prime(ls.texts[prime_i], Strokes(ls.line(prime_i).astype(np.float64)))
        own = hand_features(prime.strokes, prime.text)
        primed.append([getattr(own, k) for k in FEATURES])
        primes.append(prime)
    real_a = np.array(real)
    runs = []
    for seed in range(args.seed, args.seed + max(1, args.seeds)):
        requests = [LineRequest(text, prime, SampleOptions(bias=args.bias, seed=seed), key=k)
                    for prime in primes for k, text in enumerate(texts)]
        lines = sample_lines(model, requests)
        feats = [hand_features(line.strokes, req.text) for req, line in zip(requests, lines, strict=True)]
        per_writer = [feats[w * len(texts): (w + 1) * len(texts)] for w in range(len(primes))]
        runs.append(np.array([[np.median([getattr(f, k) for f in fs]) for k in FEATURES] for fs in per_writer]))
    gen_a = np.mean(runs, axis=0)  # for the ranges and the width ratio
    print(f"model {args.model or 'shipped'}: {len(real)} validation writers, {len(texts)} texts each, "
          f"bias {args.bias:g}, {len(runs)} seed(s) ({time.time() - t0:.0f} s)")
    print(f"{'feature':18} {'nearer than':>12} {'writers >= 80 %':>16} {'real range':>18} {'generated range':>18}")
    for j, k in enumerate(FEATURES):
        shares = np.array([nearer_share(g[:, j], real_a[:, j]) for g in runs])
        share = shares.mean(axis=0)
        good = int((share >= 0.8).sum())
        print(f"{k:18} {100 * share.mean():11.0f}% {good:>9d} of {len(share):<3d}"
              f" {real_a[:, j].min():8.2f}..{real_a[:, j].max():<8.2f}"
              f" {gen_a[:, j].min():8.2f}..{gen_a[:, j].max():<8.2f}")
    ceiling = [100 * nearer_share(np.array(primed)[:, j], real_a[:, j]).mean() for j in range(len(FEATURES))]
    print("a perfect copy of the prime line would score: "
          + ", ".join(f"{k} {c:.0f}%" for k, c in zip(FEATURES, ceiling, strict=True))
          + " (one line is not the whole hand)")
    ratio = gen_a[:, 2] / real_a[:, 2]
    print(f"generated width / writer's width: median {np.median(ratio):.2f}"
          f" (range {ratio.min():.2f}..{ratio.max():.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
