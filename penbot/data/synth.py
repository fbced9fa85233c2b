"""Synthetic training lines with ALL-CAPS words and numbers written into real lines.

Capitals and digits are the model's weakest text and rare in the data (105 of 10,473
training lines of IAM-OnDB have an ALL-CAPS word, 223 a multi-digit number), so weighting
only repeats the same few lines. Here a trained model's own attention window aligns each
training line with its text; capitals, digits and a few signs that were written as whole
pen strokes are cut out; and new lines are made by cutting a real line after one of its
words, writing ALL-CAPS words or numbers there, on that line's baseline and in its
x-height, with the same writer's glyphs where that writer wrote the character, and moving
the rest of the line right to make room.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from penbot.data.dataset import LineSet, collate
from penbot.spacing import line_band, stroke_ranges, word_starts

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

__all__ = ["Glyph", "Bank", "GLYPH_CHARS", "align", "cut_glyphs", "keep_consistent", "glyph_bank",
           "synth_text", "synth_line", "synth_lines"]

GLYPH_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-/:"
_TALL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/")


@dataclass(frozen=True)
class Glyph:
    """One character as its pen-down strokes, in x-heights: left edge at 0, baseline at 0
    (y grows downward, so ink above the baseline is negative)."""

    char: str
    writer: str
    strokes: tuple[np.ndarray, ...]

    @property
    def width(self) -> float:
        return float(max(s[:, 0].max() for s in self.strokes))


def align(model: HandwritingModel, ls: LineSet, index: np.ndarray, batch_size: int = 48) -> dict[int, np.ndarray]:
    """For each line of ``index``: the index of the character each point belongs to
    (the peak of the attention window that predicts it)."""
    import torch

    device = next(model.parameters()).device
    order = index[np.argsort(ls.lengths()[index], kind="stable")]
    out: dict[int, np.ndarray] = {}
    for b in range(0, len(order), batch_size):
        part = order[b : b + batch_size]
        batch = collate(ls, part, model.cfg.alphabet)
        phi = model.attention(torch.from_numpy(batch.strokes).to(device), torch.from_numpy(batch.chars).to(device))
        phi = phi.masked_fill(~torch.from_numpy(batch.char_mask).to(device)[:, None, :], -1.0)
        owner = phi.argmax(-1).cpu().numpy()
        for k, i in enumerate(part.tolist()):
            out[i] = owner[k, : ls.lengths()[i]].astype(np.int32)
    return out


def _plausible(c: str, top: float, bottom: float, width: float) -> bool:
    """Size and place of a cut glyph in x-heights (y down, baseline 0): rejects cuts that
    caught a neighbour or missed part of the letter."""
    height = bottom - top
    if c in _TALL:
        return 0.9 <= height <= 3.2 and -0.5 <= bottom <= (1.2 if c in "JQ/" else 0.5) and 0.1 <= width <= 2.5
    if c == ".":
        return height <= 0.4 and width <= 0.4 and -0.4 <= bottom <= 0.4
    if c == "-":
        return height <= 0.4 and 0.2 <= width <= 1.5 and -1.0 <= top and bottom <= 0.0
    if c == ":":
        return 0.3 <= height <= 1.3 and width <= 0.5 and -0.4 <= bottom <= 0.4
    return False


def _clusters(pts: np.ndarray, ranges: list[tuple[int, int]], tol: float) -> list[list[int]]:
    """Strokes grouped into letters by overlapping x-ranges (printed capitals and digits
    do not overlap their neighbours; a letter's own strokes do)."""
    spans = sorted((pts[a:b, 0].min(), pts[a:b, 0].max(), k) for k, (a, b) in enumerate(ranges))
    groups: list[list[int]] = []
    hi = -np.inf
    for lo, top, k in spans:
        if groups and lo < hi - tol:
            groups[-1].append(k)
            hi = max(hi, top)
        else:
            groups.append([k])
            hi = top
    return groups


def cut_glyphs(offsets: np.ndarray, text: str, owner: np.ndarray, writer: str,
               band: tuple[float, float], min_share: float = 0.5) -> list[Glyph]:
    """Characters of ``GLYPH_CHARS`` that the writer wrote apart from their neighbours.

    Strokes are grouped by overlapping x-ranges; a group is a character's glyph when most
    of its points align with that character (the window often moves on before a letter's
    last stroke, such as a T's bar, so the rest may align with the next), no other group
    is that character's, and both neighbours have a group of their own (the group did not
    swallow them).
    """
    pts = np.cumsum(offsets[:, :2], axis=0)
    ranges = stroke_ranges(offsets[:, 2])
    baseline, xh = band
    groups = _clusters(pts, ranges, 0.05 * xh)
    dominant, share = [], []
    for g in groups:
        o = np.concatenate([owner[ranges[k][0] : ranges[k][1]] for k in g])
        counts = np.bincount(o, minlength=len(text))
        dominant.append(int(counts.argmax()))
        share.append(counts.max() / len(o))
    has_group = np.bincount(np.array(dominant), minlength=len(text) + 1)
    out = []
    for gi, g in enumerate(groups):
        j = dominant[gi]
        if j >= len(text) or text[j] not in GLYPH_CHARS or share[gi] < min_share or has_group[j] != 1:
            continue
        if any(0 <= n < len(text) and text[n] != " " and has_group[n] == 0 for n in (j - 1, j + 1)):
            continue
        strokes = [pts[ranges[k][0] : ranges[k][1]] for k in sorted(g)]
        x0 = min(st[:, 0].min() for st in strokes)
        scaled = tuple((st - [x0, baseline]) / xh for st in strokes)
        top = min(st[:, 1].min() for st in scaled)
        bottom = max(st[:, 1].max() for st in scaled)
        width = max(st[:, 0].max() for st in scaled)
        if _plausible(text[j], top, bottom, width):
            out.append(Glyph(text[j], writer, scaled))
    return out


_ALIKE = {"1": "I", "/": "I", "0": "O", "5": "S", "2": "Z"}  # shapes a good writer may share


def _raster(g: Glyph, size: int = 16) -> np.ndarray:
    """The glyph drawn into a ``size`` square (kept in proportion, centred), blurred by one
    cell: a shape descriptor for comparing glyphs."""
    pts = np.concatenate([np.linspace(st[:-1], st[1:], 6, axis=1).reshape(-1, 2) if len(st) > 1 else st
                          for st in g.strokes])
    lo, hi = pts.min(0), pts.max(0)
    scale = (size - 3) / max(float((hi - lo).max()), 1e-6)
    ij = np.clip(((pts - lo) * scale + (size - 1 - (hi - lo) * scale) / 2).round().astype(int), 0, size - 1)
    img = np.zeros((size, size))
    img[ij[:, 1], ij[:, 0]] = 1.0
    img = img + 0.5 * (np.roll(img, 1, 0) + np.roll(img, -1, 0) + np.roll(img, 1, 1) + np.roll(img, -1, 1))
    return (img / max(np.linalg.norm(img), 1e-9)).ravel()


def keep_consistent(glyphs: list[Glyph], k: int = 7, min_class: int = 8) -> list[Glyph]:
    """Drop glyphs whose nearest shapes are mostly other characters: cuts that caught half a
    letter or a neighbour. Characters with fewer than ``min_class`` glyphs are kept as they are."""
    counts: dict[str, int] = defaultdict(int)
    for g in glyphs:
        counts[g.char] += 1
    label = np.array([_ALIKE.get(g.char, g.char) for g in glyphs])
    feats = np.stack([_raster(g) for g in glyphs])
    keep = []
    for i, g in enumerate(glyphs):
        if counts[g.char] < min_class:
            keep.append(g)
            continue
        sim = feats @ feats[i]
        sim[i] = -np.inf
        near = np.argpartition(-sim, k)[:k]
        if np.sum(label[near] == label[i]) >= min(4, max(1, (counts[g.char] - 1) // 4)):
            keep.append(g)
    return keep


@dataclass(frozen=True)
class Bank:
    """Glyphs by character, and each usable line's baseline and x-height."""

    glyphs: dict[str, list[Glyph]]
    bands: dict[int, tuple[float, float]]
    owners: dict[int, np.ndarray]


def glyph_bank(ls: LineSet, owners: dict[int, np.ndarray]) -> Bank:
    """Cut every aligned line's glyphs and keep the ones that look like their character."""
    glyphs: dict[str, list[Glyph]] = defaultdict(list)
    bands, cut = {}, []
    for i, owner in owners.items():
        line = ls.line(i)
        band = line_band(np.cumsum(line[:, :2], axis=0), ls.texts[i], owner)
        if band is None:
            continue
        bands[i] = band
        cut.extend(cut_glyphs(line, ls.texts[i], owner, ls.writers[i], band))
    shapes = [g for g in cut if g.char not in ".-:"]
    for g in keep_consistent(shapes) + [g for g in cut if g.char in ".-:"]:
        glyphs[g.char].append(g)
    return Bank(dict(glyphs), bands, owners)


def _number(rng: np.random.Generator) -> str:
    kind = rng.integers(9)
    r = rng.integers
    if kind == 0:
        return str(r(0, 10))
    if kind == 1:
        return str(r(10, 100))
    if kind == 2:
        return str(r(100, 10000))
    if kind == 3:
        return str(r(1900, 2030))
    if kind == 4:
        return f"{r(0, 1000)}.{r(0, 100):02d}"
    if kind == 5:
        return f"{r(1, 13)}:{r(0, 60):02d}"
    if kind == 6:
        return f"{r(1, 32)}/{r(1, 13)}/{r(0, 100):02d}"
    if kind == 7:
        return f"{r(1000, 10000)} {r(100000, 1000000)}"
    letters = "ABCDEFGHIJKLMNOPRSTUVWY"
    return "".join(letters[int(i)] for i in r(0, len(letters), r(1, 3))) + str(r(1, 100))


def synth_text(rng: np.random.Generator, words: list[str], max_words: int = 3) -> str:
    """One to ``max_words`` ALL-CAPS words and numbers (the kinds users write: names and
    addresses in capitals, years, prices, times, dates, phone numbers, codes)."""
    parts = []
    for _ in range(int(rng.integers(1, max_words + 1))):
        parts.append(words[int(rng.integers(len(words)))].upper() if rng.random() < 0.55 else _number(rng))
    return " ".join(parts)


def _cut_after_word(rng: np.random.Generator, offsets: np.ndarray, text: str,
                    owner: np.ndarray) -> tuple[int, int, float | None]:
    """(points, characters) of a prefix of the line that ends after one of its words, and
    the line's median word gap (None when no space could be cut)."""
    x = np.cumsum(offsets[:, 0])
    starts = word_starts(offsets, owner, text)
    cuts = [(len(offsets), len(text))] + starts
    gaps = [x[a:].min() - x[:a].max() for a, _ in starts]
    n, nchars = cuts[int(rng.integers(len(cuts)))]
    return n, nchars, float(np.median(gaps)) if gaps else None


def synth_line(rng: np.random.Generator, ls: LineSet, i: int, bank: Bank, text: str,
               same_writer: float = 0.8) -> tuple[np.ndarray, str] | None:
    """Line ``i`` with ``text`` written in glyphs after one of its words, on its baseline,
    and the rest of the line moved right to make room: (offsets, text), or None when a
    character has no glyph. The real writing goes on after the made words, so the model
    learns that the hand stays the same after them. The line's own writer's glyph is used
    with probability ``same_writer`` when there is one."""
    owner = bank.owners[i]
    baseline, xh = bank.bands[i]
    line = ls.line(i).astype(np.float64)
    n, nchars, gap = _cut_after_word(rng, line, ls.texts[i], owner)
    gap = xh * 1.1 if gap is None else float(np.clip(gap, 0.5 * xh, 3.0 * xh))
    pts_all = np.cumsum(line[:, :2], axis=0)
    pts = pts_all[:n]
    writer = ls.writers[i]
    x = pts[:, 0].max() + gap * rng.uniform(0.85, 1.15)
    new_pts, new_flags = [], []
    letter_gap = rng.uniform(0.15, 0.45)
    scale = xh * rng.uniform(0.9, 1.1)
    for word in text.split(" "):
        for c in word:
            options = bank.glyphs.get(c)
            if not options:
                return None
            own = [g for g in options if g.writer == writer]
            pool = own if own and rng.random() < same_writer else options
            g = pool[int(rng.integers(len(pool)))]
            dy = rng.normal(0.0, 0.04)
            for s in g.strokes:
                new_pts.append(s * scale + [x, baseline + dy * xh])
                new_flags.append(np.eye(1, len(s), len(s) - 1).ravel())
            x += (g.width + letter_gap * rng.uniform(0.7, 1.3)) * scale
        x += gap * rng.uniform(0.85, 1.15) - letter_gap * scale
    if n < len(line):  # the rest of the line, moved right past the made words
        rest = pts_all[n:]
        new_pts.append(rest + [x - rest[:, 0].min(), 0.0])
        new_flags.append(line[n:, 2])
    tail = np.concatenate(new_pts)
    moves = np.diff(np.vstack([pts[-1:], tail]), axis=0)
    offsets = np.vstack([line[:n], np.column_stack([moves, np.concatenate(new_flags)])]).astype(np.float32)
    offsets[n - 1, 2] = 1.0  # the first real part ends with the pen lifted
    return offsets, ls.texts[i][:nchars] + " " + text + ls.texts[i][nchars:]


def synth_lines(ls: LineSet, bank: Bank, count: int, seed: int = 0) -> LineSet:
    """``count`` synthetic lines, each with its base line's writer and the id ``BASE+synthN``
    (so a joined pair continues with the base line's real successor, in the same hand)."""
    rng = np.random.default_rng(seed)
    base = np.array(sorted(bank.bands))
    words = sorted({w for i in base.tolist() for w in re.findall(r"\b[A-Za-z]{2,10}\b", ls.texts[i])})
    ids, writers, texts, parts = [], [], [], []
    tries = 0
    while len(parts) < count and tries < 20 * count:
        tries += 1
        i = int(base[rng.integers(len(base))])
        made = synth_line(rng, ls, i, bank, synth_text(rng, words))
        if made is None:
            continue
        ids.append(f"{ls.ids[i]}+synth{len(parts)}")
        writers.append(ls.writers[i])
        texts.append(made[1])
        parts.append(made[0])
    starts = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    offsets = np.concatenate(parts) if parts else np.zeros((0, 3), np.float32)
    return LineSet(ids, writers, texts, offsets, starts)
