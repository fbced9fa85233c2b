"""Derailed line ends: long lines whose last words turn into loops and stray letters.

Each long line (two benchmark sentences joined, 60-90 characters, like a full page line)
is written, rendered the way it would be plotted and read back by RapidOCR. A line is
*derailed* when its last two words read far worse than the rest (tail CER above 50 % while
the head reads under 25 %), and *loses words* when the reading has two or more words
fewer than the text. Reported per style, with the lines named.

    PYTHONPATH=. python benchmarks/derail.py --model penbot/weights/default.pt --styles 1,3,none
    PYTHONPATH=. python benchmarks/derail.py --text my_long_lines.txt --lines 100 --styles 1
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def long_lines(count: int, seed: int = 7) -> list[str]:
    """Pairs of benchmark sentences joined into 60-90 character lines (deterministic)."""
    from legibility import read_bench_lines

    pool = [b.text for b in read_bench_lines() if b.category in ("sentences", "names", "rare letters")]
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < count:
        a, b = rng.choice(len(pool), 2, replace=False)
        line = f"{pool[a]} {pool[b]}"
        if 60 <= len(line) <= 90 and line not in out:
            out.append(line)
    return out


def tail_reading(reference: str, hypothesis: str) -> tuple[float, float, int]:
    """(head CER, tail CER, words missing): the tail is the last two words of the text,
    matched against the last 1-3 words of the reading (OCRs merge and split words)."""
    from penbot.readback import levenshtein, normalise

    ref, hyp = normalise(reference).split(), normalise(hypothesis).split()
    tail_ref = " ".join(ref[-2:])
    best = None
    for k in (1, 2, 3):
        tail_hyp = " ".join(hyp[-k:]) if hyp else ""
        d = levenshtein(tail_ref, tail_hyp)
        if best is None or d < best[0]:
            best = (d, k)
    d_tail, k = best
    head_ref, head_hyp = " ".join(ref[:-2]), " ".join(hyp[:-k])
    head = levenshtein(head_ref, head_hyp) / max(1, len(head_ref))
    return head, d_tail / max(1, len(tail_ref)), len(ref) - len(hyp)


def letters_read(reference: str, hypothesis: str, most: float = 0.1) -> bool:
    """Whether the reading has the text's letters (at most ``most`` character errors with
    the spaces taken out): words it lost were run together by a narrow gap, not left out."""
    from penbot.readback import levenshtein, normalise

    ref, hyp = normalise(reference).replace(" ", ""), normalise(hypothesis).replace(" ", "")
    return levenshtein(ref, hyp) <= most * max(1, len(ref))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--styles", default="1,none")
    ap.add_argument("--lines", type=int, default=40)
    ap.add_argument("--text", type=Path, default=None,
                    help="take the long lines from this file (one per row, first --lines of them) "
                         "instead of joining benchmark sentences")
    ap.add_argument("--bias", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--word-gap", type=float, default=None,
                    help="narrowest word gap, times the line's ink band (default: the library's; 0: as written)")
    ap.add_argument("--piece-chars", type=int, default=None,
                    help="write lines longer than this in pieces (default: the library's; 0: whole)")
    ap.add_argument("--max-dwell", type=int, default=None,
                    help="most points the window may hold one character (default: the library's; 0: no limit)")
    ap.add_argument("--show", type=int, default=5, help="derailed lines to print per style")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))

    from penbot.options import SampleOptions
    from penbot.quality import LineRules
    from penbot.readback import levenshtein, normalise, rapidocr_reader, render_strokes
    from penbot.sample import LineRequest, sample_lines
    from penbot.styles import load_style
    from penbot.write import open_model

    model = open_model(args.model)
    rules = LineRules()
    if args.word_gap is not None:
        rules = replace(rules, word_gap=args.word_gap)
    if args.max_dwell is not None:
        rules = replace(rules, max_points_on_char=args.max_dwell)
    read = rapidocr_reader()
    if args.text is not None:
        texts = [t.strip() for t in args.text.read_text(encoding="utf-8").splitlines() if t.strip()][: args.lines]
    else:
        texts = long_lines(args.lines)
    total_bad = total = 0
    errors = chars = 0
    for name in args.styles.split(","):
        t0 = time.time()
        style = load_style(None if name == "none" else name)
        prime = style.prime() if style is not None else None
        opts = SampleOptions(bias=args.bias, seed=args.seed, rules=rules)
        if args.piece_chars is not None:
            opts = replace(opts, piece_chars=args.piece_chars)
        reqs = [LineRequest(t, prime, opts, key=i) for i, t in enumerate(texts)]
        lines = sample_lines(model, reqs)
        got = read([render_strokes(s.strokes) for s in lines])
        derailed, lost, merged, shown = 0, 0, 0, []
        for text, reading in zip(texts, got, strict=True):
            head, tail, missing = tail_reading(text, reading)
            bad_end = tail > 0.5 and head < 0.25
            derailed += bad_end
            lost += missing >= 2
            merged += missing >= 2 and not bad_end and letters_read(text, reading)
            total_bad += bad_end or missing >= 2
            if (bad_end or missing >= 2) and len(shown) < args.show:
                shown.append(f"    {text!r}\n      read {reading!r}")
        total += len(texts)
        errors += sum(levenshtein(normalise(t), normalise(r)) for t, r in zip(texts, got, strict=True))
        chars += sum(len(normalise(t)) for t in texts)
        print(f"style {name}: {derailed}/{len(texts)} derailed ends, {lost}/{len(texts)} lost words "
              f"(of which {merged} with every letter read: words run together) ({time.time() - t0:.0f} s)")
        for s in shown:
            print(s)
    print(f"all: {total_bad}/{total} lines derailed or losing words ({100 * total_bad / max(1, total):.1f} %), "
          f"RapidOCR CER {100 * errors / max(1, chars):.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
