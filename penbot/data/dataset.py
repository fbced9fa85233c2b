"""Cleaned lines as cached arrays, the writer split, and length-bucketed training batches."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from penbot.data.clean import CleanConfig, clean_line
from penbot.data.iamondb import ReadReport, read_iamondb
from penbot.errors import PenbotError
from penbot.handfeatures import CONNECTED, strokes_per_char
from penbot.strokes import slant_offsets
from penbot.text import DEFAULT_ALPHABET, encode

__all__ = ["LineSet", "load_lines", "concat_lines", "save_lines", "read_lines", "split_by_writer", "make_batches",
           "Batch", "cache_dir",
           "caps_digit_weights"]

CACHE_VERSION = 1


@dataclass
class LineSet:
    """Cleaned lines: offsets of every line concatenated, with start indices."""

    ids: list[str]
    writers: list[str]  # "" when unknown
    texts: list[str]
    offsets: np.ndarray  # (total, 3) float32
    starts: np.ndarray  # (n + 1,) int64
    dropped: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    raw_points: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def line(self, i: int) -> np.ndarray:
        return self.offsets[self.starts[i] : self.starts[i + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    def subset(self, index: np.ndarray | list[int]) -> LineSet:
        index = list(index)
        parts = [self.line(i) for i in index]
        starts = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
        offsets = np.concatenate(parts) if parts else np.zeros((0, 3), np.float32)
        return LineSet(
            [self.ids[i] for i in index], [self.writers[i] for i in index],
            [self.texts[i] for i in index], offsets.astype(np.float32), starts,
        )


def concat_lines(a: LineSet, b: LineSet) -> LineSet:
    """``a`` then ``b`` as one set (``b``'s lines get indices ``len(a)`` onwards)."""
    return LineSet(a.ids + b.ids, a.writers + b.writers, a.texts + b.texts,
                   np.concatenate([a.offsets, b.offsets]).astype(np.float32),
                   np.concatenate([a.starts, b.starts[1:] + a.starts[-1]]).astype(np.int64),
                   a.dropped, a.skipped, a.raw_points)


def read_lines(path: Path) -> LineSet | None:
    """A set written by ``save_lines``, or None when it is missing or broken."""
    return _load(path) if path.is_file() else None


def cache_dir() -> Path:
    """Where preprocessed data lives: ``$PENBOT_CACHE`` or ``~/.cache/penbot``."""
    return Path(os.environ.get("PENBOT_CACHE") or Path.home() / ".cache" / "penbot")


def _source_key(root: Path) -> list:
    """Identify the data by file names, sizes and modification times (cheap, no hashing)."""
    items = []
    for p in sorted(root.iterdir()):
        if p.is_dir():  # an unpacked tree: its files' count, total size and newest change
            stats = [f.stat() for f in p.rglob("*") if f.is_file()]
            items.append([p.name, len(stats), sum(st.st_size for st in stats),
                          int(max((st.st_mtime for st in stats), default=0))])
        else:
            st = p.stat()
            items.append([p.name, st.st_size, int(st.st_mtime)])
    return items


def _cache_path(root: Path, cfg: CleanConfig, alphabet: str) -> Path:
    key = json.dumps(
        [CACHE_VERSION, str(root.resolve()), _source_key(root), cfg.key(), alphabet], sort_keys=True
    )
    return cache_dir() / f"lines-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"


def save_lines(path: Path, ls: LineSet) -> None:
    """Write a set atomically (arrays and a compressed JSON, no pickles): the cache format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "ids": ls.ids, "writers": ls.writers, "texts": ls.texts, "dropped": ls.dropped,
        "skipped": ls.skipped, "raw_points": ls.raw_points,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    np.savez(tmp, offsets=ls.offsets, starts=ls.starts, meta=np.frombuffer(
        zlib.compress(json.dumps(meta).encode()), dtype=np.uint8))
    os.replace(tmp, path)


def _load(path: Path) -> LineSet | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(zlib.decompress(z["meta"].tobytes()))
            return LineSet(
                meta["ids"], meta["writers"], meta["texts"], z["offsets"], z["starts"],
                meta["dropped"], [tuple(s) for s in meta["skipped"]], meta["raw_points"],
            )
    except (OSError, EOFError, ValueError, KeyError, zlib.error, zipfile.BadZipFile):
        return None  # a broken cache is rebuilt, never trusted


def load_lines(
    root: str | Path,
    cfg: CleanConfig = CleanConfig(),
    alphabet: str = DEFAULT_ALPHABET,
    use_cache: bool = True,
    progress: Callable[[int], None] | None = None,
) -> LineSet:
    """Read, clean and cache a database in the original layout (cached by its settings)."""
    root = Path(root)
    path = _cache_path(root, cfg, alphabet) if root.is_dir() else None
    if use_cache and path is not None and path.is_file():
        cached = _load(path)
        if cached is not None:
            return cached
    report = ReadReport()
    ids, writers, texts, parts = [], [], [], []
    dropped: Counter[str] = Counter()
    raw_points = 0
    for raw in read_iamondb(root, report, progress):
        strokes, text, reason = clean_line(raw, cfg, alphabet)
        if strokes is None:
            dropped[reason] += 1
            continue
        raw_points += len(raw.points)
        ids.append(raw.line_id)
        writers.append(raw.writer or "")
        texts.append(text)
        parts.append(strokes.offsets.astype(np.float32))
    if not parts:
        raise PenbotError(f"{root}: no usable lines ({report.lines} read, all dropped or skipped)")
    starts = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    ls = LineSet(ids, writers, texts, np.concatenate(parts), starts, dict(dropped),
                 report.skipped, raw_points)
    if use_cache and path is not None:
        try:
            save_lines(path, ls)
        except OSError:
            pass  # caching is an optimisation; a read-only home must not stop training
    return ls


def split_by_writer(ls: LineSet, val_fraction: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic split: a writer's lines all go to train or all to validation.

    A writer lands in validation when the hash of its id falls below ``val_fraction``;
    lines with no known writer always train (their writer could be anyone).
    """
    train, val = [], []
    for i, w in enumerate(ls.writers):
        h = int(hashlib.sha1(w.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (val if w and h < val_fraction else train).append(i)
    if not val and len(train) > 1:  # tiny data: still hold out one writer (or one line)
        first = ls.writers[train[0]] or None
        val = [i for i in train if first is not None and ls.writers[i] == first] or [train[-1]]
        train = [i for i in train if i not in set(val)]
    return np.array(train, dtype=np.int64), np.array(val, dtype=np.int64)


def rare_char_weights(texts: list[str], cap: float = 6.0, ref: float = 400.0) -> np.ndarray:
    """How often to repeat each line so rare characters (digits, Q, X, Z) are seen enough.

    A line is repeated ``sqrt(ref / count)`` times for its rarest character, at most
    ``cap`` times; common-only lines are seen once per pass.
    """
    counts = Counter("".join(texts))
    w = []
    for t in texts:
        rarest = min((counts[c] for c in t if c != " "), default=ref)
        w.append(min(cap, max(1.0, (ref / rarest) ** 0.5)))
    return np.array(w)


def caps_digit_weights(texts: list[str], factor: float) -> np.ndarray:
    """``factor`` for lines with a word of two or more capitals or digits (ALL-CAPS, numbers),
    1 for the rest: those are the model's weakest kinds of text and rare in the data."""
    pattern = re.compile(r"[A-Z][A-Z.'-]*[A-Z]|\d\S*\d")
    return np.array([factor if pattern.search(t) else 1.0 for t in texts])


def joined_weights(ls: LineSet, factor: float, most: float = CONNECTED) -> np.ndarray:
    """``factor`` for lines written joined up (at most ``most`` pen-down strokes per
    non-space character), 1 for the rest: the connected hands the model writes least well."""
    if factor == 1.0:
        return np.ones(len(ls))
    return np.array([factor if strokes_per_char(ls.line(i), t) <= most else 1.0 for i, t in enumerate(ls.texts)])


@dataclass(frozen=True)
class Batch:
    strokes: np.ndarray  # (B, T, 3) float32, padded
    stroke_mask: np.ndarray  # (B, T) bool
    chars: np.ndarray  # (B, U) int64, 0 = padding
    char_mask: np.ndarray  # (B, U) bool


@dataclass(frozen=True)
class Item:
    """One training example: one line, or two lines of one form joined as one long line.

    ``drop_text`` hides the text (the model learns to write without it: unconditional mode).
    """

    lines: tuple[int, ...]
    drop_text: bool = False


def join_lines(parts: list[np.ndarray], gap: float = 0.45) -> np.ndarray:
    """Concatenate normalised lines into one: each starts a word gap right of the last ink,
    its vertical band centred on the previous one (lines are normalised to height 1)."""
    out = [parts[0]]
    pts = np.cumsum(parts[0][:, :2], axis=0)
    for nxt in parts[1:]:
        npts = np.cumsum(nxt[:, :2], axis=0)
        y_prev = np.percentile(pts[:, 1], [5, 95]).mean()
        y_next = np.percentile(npts[:, 1], [5, 95]).mean()
        start = np.array([pts[:, 0].max() + gap - npts[:, 0].min(), y_prev - y_next])
        first = nxt.copy()
        first[0, :2] = start - pts[-1]  # a pen-up move from the end of the previous line
        out.append(first)
        pts = np.concatenate([pts, npts + start])
    return np.concatenate(out)


def collate(
    ls: LineSet, items: list[Item] | np.ndarray, alphabet: str, rng: np.random.Generator | None = None,
    slant: float = 0.0, stretch: float = 0.0,
) -> Batch:
    """Pad a batch; with ``rng``, each item gets a shear in ±``slant`` and a width factor in
    exp(±``stretch``) (both lines of a joined item the same: one writer, one hand)."""
    items = [it if isinstance(it, Item) else Item((int(it),)) for it in items]
    seqs = [ls.line(it.lines[0]) if len(it.lines) == 1 else join_lines([ls.line(i) for i in it.lines])
            for it in items]
    if rng is not None and (slant > 0 or stretch > 0):
        # per line, not per writer: the model must read slant and width from the line it continues
        seqs = [slant_offsets(s, -rng.uniform(-slant, slant), float(np.exp(rng.uniform(-stretch, stretch))))
                for s in seqs]
    codes = [np.zeros(1, np.int64) if it.drop_text else encode(" ".join(ls.texts[i] for i in it.lines), alphabet)
             for it in items]
    t, u = max(len(s) for s in seqs), max(len(c) for c in codes)
    strokes = np.zeros((len(items), t, 3), np.float32)
    smask = np.zeros((len(items), t), bool)
    chars = np.zeros((len(items), u), np.int64)
    for j, (s, c) in enumerate(zip(seqs, codes)):
        strokes[j, : len(s)] = s
        smask[j, : len(s)] = True
        chars[j, : len(c)] = c
    return Batch(strokes, smask, chars, chars > 0)


def next_line_of_form(ls: LineSet) -> np.ndarray:
    """Index of the following line of the same form (same writer, continuing text), or -1.

    A made line ``ID+anything`` (a synthetic line built on line ``ID``) is followed by
    the line after ``ID``: the same writer goes on, never another made line.
    """
    pos = {line_id: i for i, line_id in enumerate(ls.ids)}
    out = np.full(len(ls), -1, dtype=np.int64)
    for i, line_id in enumerate(ls.ids):
        form, num = line_id.split("+", 1)[0].rsplit("-", 1)
        if not num.isdigit():
            continue
        out[i] = pos.get(f"{form}-{int(num) + 1:02d}", -1)
    return out


def make_batches(
    ls: LineSet, index: np.ndarray, batch_size: int, rng: np.random.Generator,
    weights: np.ndarray | None = None, pair_prob: float = 0.0, drop_text_prob: float = 0.0,
) -> list[list[Item]]:
    """One pass: lines (repeated by weight) grouped by similar length, batches shuffled.

    Sorting by length inside random chunks keeps padding low (the recurrence runs to the
    longest line of a batch) while the batch order stays random. With ``pair_prob`` a
    line is joined with the next line of its form, so the model also sees long lines
    (a primed style plus a full page line is about twice a database line).
    """
    reps = np.ones(len(index)) if weights is None else weights[index]
    whole = np.floor(reps).astype(int) + (rng.random(len(index)) < reps % 1)
    order = np.repeat(index, whole)
    order = order[rng.permutation(len(order))]
    nxt = next_line_of_form(ls) if pair_prob > 0 else None
    allowed = set(index.tolist())
    lengths = ls.lengths()
    items, item_len = [], []
    for i in order.tolist():
        drop = bool(rng.random() < drop_text_prob)
        j = int(nxt[i]) if nxt is not None else -1
        if j >= 0 and j in allowed and rng.random() < pair_prob:
            items.append(Item((i, j), drop))
            item_len.append(lengths[i] + lengths[j])
        else:
            items.append(Item((i,), drop))
            item_len.append(lengths[i])
    item_len = np.array(item_len)
    chunk = batch_size * 50
    batches = []
    for c in range(0, len(items), chunk):
        part = np.arange(c, min(c + chunk, len(items)))
        part = part[np.argsort(item_len[part], kind="stable")]
        batches += [[items[k] for k in part[i : i + batch_size]] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]
