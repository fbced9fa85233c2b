"""Fidelity of priming: does "write in my hand" copy the hand?

For each validation writer (never seen in training) one real line is the prime; the model
writes ``--texts`` other texts in that hand. Three features (``penbot.handfeatures``: slant,
pen-down strokes per non-space character, ink width per character over body height) are
measured on the generated lines and on the writer's *other* real lines. For each feature
and writer, the score is the share of the other writers whose real value is farther from
the generated hand than the writer's own: 100 % = the generated hand is nearer its own
writer than every other writer, 50 % = chance.

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
    real, gen = [], []
    requests, owners = [], []
    for idx in writers.values():
        prime_i, rest = idx[0], idx[1:]
        feats = [hand_features(Strokes(ls.line(i).astype(np.float64)), ls.texts[i]) for i in rest]
        real.append([np.median([getattr(f, k) for f in feats]) for k in FEATURES])
        prime = Prime(ls.texts[prime_i], Strokes(ls.line(prime_i).astype(np.float64)))
        for k, text in enumerate(texts):
            requests.append(LineRequest(text, prime, SampleOptions(bias=args.bias, seed=args.seed), key=k))
            owners.append(len(real) - 1)
    lines = sample_lines(model, requests)
    per_writer: dict[int, list] = defaultdict(list)
    for owner, req, line in zip(owners, requests, lines, strict=True):
        per_writer[owner].append(hand_features(line.strokes, req.text))
    for w in range(len(real)):
        gen.append([np.median([getattr(f, k) for f in per_writer[w]]) for k in FEATURES])
    real_a, gen_a = np.array(real), np.array(gen)
    print(f"model {args.model or 'shipped'}: {len(real)} validation writers, {len(texts)} texts each, "
          f"bias {args.bias:g} ({time.time() - t0:.0f} s)")
    print(f"{'feature':18} {'nearer than':>12} {'writers >= 80 %':>16} {'real range':>18} {'generated range':>18}")
    for j, k in enumerate(FEATURES):
        share = nearer_share(gen_a[:, j], real_a[:, j])
        good = int((share >= 0.8).sum())
        print(f"{k:18} {100 * share.mean():11.0f}% {good:>9d} of {len(share):<3d}"
              f" {real_a[:, j].min():8.2f}..{real_a[:, j].max():<8.2f}"
              f" {gen_a[:, j].min():8.2f}..{gen_a[:, j].max():<8.2f}")
    ratio = gen_a[:, 2] / real_a[:, 2]
    print(f"generated width / writer's width: median {np.median(ratio):.2f}"
          f" (range {ratio.min():.2f}..{ratio.max():.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
