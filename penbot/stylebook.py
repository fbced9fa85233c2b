"""Making the shipped style library from the model's own samples (never from database lines).

The unprimed model writes in a random hand each time; we draw many candidates, keep
the ones that read back well when used as a prime, and pick a visibly varied set by
farthest-point selection over simple shape features (slant, width, connectedness, size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from penbot.model import HandwritingModel
from penbot.quality import check_line
from penbot.sample import LineRequest, SampleOptions, sample_lines
from penbot.strokes import Strokes
from penbot.styles import Style, save_style

__all__ = ["StyleFeatures", "features", "make_styles"]

PRIME_TEXTS = (
    "a quick brown fox jumps",
    "we were told to wait here",
    "my handwriting is my own",
    "bring the jam and six eggs",
)
CHECK_TEXTS = (
    "The lazy dog sleeps in the sun.", "Zoe quickly mixed 42 jars of wax.",
    "Meet Jack at 10:45 by the old quay.", "PLEASE KEEP OFF THE GRASS",
)


@dataclass(frozen=True)
class StyleFeatures:
    slant: float  # mean tilt of down-strokes from vertical, degrees (positive leans right)
    width: float  # ink width per character, in heights
    pieces: float  # pen lifts per character (print vs cursive)
    height: float  # ink height / robust height: tall loops vs compact

    def vector(self) -> np.ndarray:
        return np.array([self.slant / 10.0, self.width / 0.1, self.pieces / 0.15, self.height / 0.15])


def features(strokes: Strokes, text: str) -> StyleFeatures:
    off = strokes.offsets
    pts = strokes.points
    n = max(1, len(text.replace(" ", "")))
    down = (off[1:, 1] > 0.02) & (off[:-1, 2] < 0.5)  # pen-down moves going down the page
    d = off[1:][down, :2]
    slant = float(np.degrees(np.arctan2(-d[:, 0], d[:, 1])).mean()) if len(d) else 0.0
    lo, hi = np.percentile(pts[:, 1], [5, 95])
    return StyleFeatures(
        slant=slant, width=float(np.ptp(pts[:, 0]) / n), pieces=float(off[:, 2].sum() / n),
        height=float(np.ptp(pts[:, 1]) / max(hi - lo, 1e-6)),
    )


Scorer = Callable[[list[Strokes], list[str]], float]  # written lines, their texts -> error rate


def _check(model: HandwritingModel, style: Style, bias: float, seed: int, score: Scorer | None) -> float | None:
    """Error rate of the style used as a prime (0 without a scorer), or None if a line fails."""
    reqs = [LineRequest(t, style.prime(), SampleOptions(bias=bias, seed=seed, retries=0), key=i)
            for i, t in enumerate(CHECK_TEXTS)]
    res = sample_lines(model, reqs)
    if not all(r.ok for r in res):
        return None
    return score([r.strokes for r in res], list(CHECK_TEXTS)) if score is not None else 0.0


def make_styles(
    model: HandwritingModel, out_dir: Path, count: int = 12, candidates: int = 64, bias: float = 0.8,
    seed: int = 0, log: Callable[[str], None] = print, score: Scorer | None = None,
) -> list[Style]:
    """Sample ``candidates`` unprimed lines, keep primes that write cleanly, pick ``count`` varied.

    With ``score`` (an OCR reader's character error rate) only the ``2 * count`` candidates
    whose primed lines read back best are kept: the hands farthest from the typical one
    are otherwise often the least legible.
    """
    reqs = [
        LineRequest(PRIME_TEXTS[i % len(PRIME_TEXTS)], None, SampleOptions(bias=bias, seed=seed + i, retries=0), key=i)
        for i in range(candidates)
    ]
    pool: list[tuple[Style, StyleFeatures]] = []
    for start in range(0, len(reqs), 32):
        chunk = reqs[start : start + 32]
        for req, res in zip(chunk, sample_lines(model, chunk), strict=True):
            if not res.ok or check_line(res.strokes.offsets, req.text, [], 0, False):
                continue
            style = Style("candidate", req.text, res.strokes, f"model sample: bias {bias}, seed {req.options.seed}")
            err = _check(model, style, 1.5, seed, score)
            if err is not None:
                pool.append((style, features(res.strokes, req.text), err))
        log(f"candidates {min(start + 32, len(reqs))}/{len(reqs)}: {len(pool)} usable")
    if not pool:
        return []
    if score is not None:
        pool = sorted(pool, key=lambda t: t[2])[: 2 * count]
        log(f"kept the {len(pool)} most legible (error {pool[0][2]:.3f}..{pool[-1][2]:.3f})")
    vecs = np.stack([f.vector() for _, f, _ in pool])
    vecs = (vecs - vecs.mean(0)) / (vecs.std(0) + 1e-9)
    chosen = [int(np.argmin(np.linalg.norm(vecs, axis=1)))]  # the most typical hand first
    while len(chosen) < min(count, len(pool)):
        dist = np.min(np.linalg.norm(vecs[:, None] - vecs[chosen][None], axis=2), axis=1)
        chosen.append(int(np.argmax(dist)))
    out_dir.mkdir(parents=True, exist_ok=True)
    styles = []
    for n, k in enumerate(chosen, 1):
        style, f, err = pool[k]
        style = Style(str(n), style.text, style.strokes, style.source)
        save_style(style, out_dir / f"{n}.json")
        log(f"style {n}: slant {f.slant:+.0f} deg, width {f.width:.2f}/char, "
            f"lifts {f.pieces:.2f}/char, check error {err:.3f} ({style.source})")
        styles.append(style)
    return styles


PREVIEW_TEXT = "Quick zebras jump over 7 lazy foxes."


def write_previews(model: HandwritingModel, names: list[str], out_dir: Path, sheet: Path | None = None,
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
