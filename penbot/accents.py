"""Accents drawn over the letters the model writes: "José", "Müller", "François", "Zoë".

The model's alphabet has no accented letters (IAM-OnDB's texts are English), so they
were folded to their base letter and a mail merge wrote "Jose" and "Muller". Now the model
writes the base letter and the mark is drawn over it (a cedilla under it) after the line
is written: placed by the letters the attention window was on while each point was drawn
(``owner``), in the line's x-height and slant. An accented i loses the dot the model drew.
"""

from __future__ import annotations

import unicodedata
import zlib

import numpy as np

from penbot.tracing import trace

__all__ = ["MARKS", "accented_letters", "split_accents", "add_accents"]

_CEDILLA, _OGONEK = "\u0327", "\u0328"
_BELOW = frozenset(_CEDILLA + _OGONEK + "\u0323\u0326")  # under the letter; the other marks sit above it
# Each mark as strokes of control points in x-heights (x right, y up), centred on x = 0,
# y = 0 at the mark's foot (for the cedilla: the letter's foot); curves (True) smoothed.
MARKS: dict[str, tuple[bool, tuple[np.ndarray, ...]]] = {
    "\u0301": (False, (np.array([[0.16, 0.4], [-0.12, 0.0]]),)),  # acute
    "\u0300": (False, (np.array([[-0.16, 0.4], [0.12, 0.0]]),)),  # grave
    "\u0302": (False, (np.array([[-0.24, 0.0], [0.0, 0.3], [0.24, 0.0]]),)),  # circumflex
    "\u030c": (False, (np.array([[-0.24, 0.3], [0.0, 0.0], [0.24, 0.3]]),)),  # caron
    "\u0304": (False, (np.array([[-0.26, 0.1], [0.26, 0.1]]),)),  # macron
    "\u0308": (False, (np.array([[-0.27, 0.07], [-0.22, 0.13]]),  # diaeresis: two dots
                       np.array([[0.22, 0.07], [0.27, 0.13]]))),
    "\u0303": (True, (np.array([[-0.3, 0.04], [-0.16, 0.24], [0.0, 0.14], [0.16, 0.02], [0.3, 0.22]]),)),  # tilde
    "\u030a": (True, (np.array([[0.0, 0.38], [-0.18, 0.3], [-0.19, 0.08], [0.0, 0.0], [0.19, 0.08],
                                [0.18, 0.3], [0.0, 0.38], [-0.07, 0.35]]),)),  # ring
    "\u0306": (True, (np.array([[-0.22, 0.3], [-0.12, 0.05], [0.0, 0.0], [0.12, 0.05], [0.22, 0.3]]),)),  # breve
    "\u0307": (False, (np.array([[-0.02, 0.06], [0.03, 0.11]]),)),  # dot above
    "\u030b": (False, (np.array([[-0.02, 0.4], [-0.22, 0.0]]), np.array([[0.26, 0.4], [0.06, 0.0]]))),  # double acute
    "\u0309": (True, (np.array([[-0.12, 0.28], [0.02, 0.4], [0.13, 0.28], [0.02, 0.15], [0.02, 0.02]]),)),  # hook
    _CEDILLA: (True, (np.array([[0.0, 0.02], [0.04, -0.18], [0.2, -0.28], [0.08, -0.45], [-0.12, -0.4]]),)),
    _OGONEK: (True, (np.array([[0.0, 0.02], [-0.12, -0.18], [-0.06, -0.36], [0.12, -0.4]]),)),
    "\u0326": (False, (np.array([[0.06, -0.15], [0.02, -0.3], [-0.08, -0.45]]),)),  # comma below
    "\u0323": (False, (np.array([[-0.02, -0.32], [0.03, -0.27]]),)),  # dot below
}
_SHORT = frozenset("acemnorsuvwxz")  # letters one x-height tall, with neither ascender nor descender
GAP = 0.22  # between the letter's top and the mark's foot, times the x-height
DOT = 0.45  # a stroke no bigger than this (times the x-height) high over an i is its dot


def accented_letters(alphabet: str) -> str:
    """Every precomposed Latin letter (Latin-1, Extended-A and -B, Extended Additional) that
    is a letter of ``alphabet`` with marks from ``MARKS``: the accented letters a line may hold."""
    return "".join(ch for ch, base in _LETTERS if base in alphabet)


def _decompose(ch: str) -> tuple[str, str]:
    nfd = unicodedata.normalize("NFD", ch)
    base, marks = nfd[:1], nfd[1:]
    if len(base) != 1 or not marks or any(m not in MARKS for m in marks):
        return "", ""
    return base, marks


# (letter, its base letter) for every precomposed Latin letter made of a base and drawable marks
_LETTERS = tuple((chr(code), _decompose(chr(code))[0])
                 for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]
                 if _decompose(chr(code))[0].isalpha())


def split_accents(text: str) -> tuple[str, tuple[tuple[int, str], ...]]:
    """``text`` with each accented letter replaced by its base letter (same length), and
    ``(position, marks)`` of each. Text without them comes back unchanged, with no marks."""
    if text.isascii():
        return text, ()
    chars, marks = list(text), []
    for i, ch in enumerate(text):
        base, m = _decompose(ch) if not ch.isascii() else ("", "")
        if base:
            chars[i] = base
            marks.append((i, m))
    return "".join(chars), tuple(marks)


def add_accents(offsets: np.ndarray, owner: np.ndarray, text: str, marks: tuple[tuple[int, str], ...],
                x_height: float, slant_deg: float, seed: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``offsets`` (dx, dy, pen_up; y down) of a written ``text`` with ``marks`` drawn over
    its letters (each drawn when the letter's last stroke ends), and ``owner`` extended to
    match. A letter with no points of its own gets no mark."""
    pts = np.cumsum(offsets[:, :2], axis=0)
    lifts = offsets[:, 2].copy()
    if len(lifts):
        lifts[-1] = 1.0
    keep = np.ones(len(pts), bool)
    lean = np.tan(np.radians(slant_deg))
    added: list[tuple[int, np.ndarray, int]] = []  # (after which point, the mark's points, its letter)
    stroke_of = np.r_[0, np.cumsum(lifts[:-1] > 0.5)]  # which stroke each point belongs to
    upright = pts[:, 0] + pts[:, 1] * lean  # x with the slant taken out (y < 0 is up the page)
    for i, m in marks:
        if (owner == i).sum() < 2:
            continue
        dot = None
        if text[i] in "ij":
            dots = _dots(pts, lifts, owner, i, float(pts[owner == i, 1].max()), x_height)
            if dots.any():
                dot = float(pts[dots, 0].mean())
            keep &= ~dots
        mine = (owner == i) & keep
        if mine.sum() < 2:
            continue
        # the window often reaches a letter while the one before is being finished: points
        # at the end of a stroke that began on an earlier letter are not this letter's when
        # it has a stroke of its own after them
        first = stroke_of[mine].min()
        if stroke_of[mine].max() > first and owner[stroke_of == first][0] < i \
                and np.mean(owner[stroke_of == first] == i) < 0.5:
            mine &= stroke_of != first
        # the letter's ink: the strokes it has most of the points of, or in a joined-up
        # stroke the part over its own upright span; and over that span, what the window
        # gave the next character or the space before (it may leave a letter before its top
        # or its loop is drawn, or reach it after the stroke began)
        lo, hi = upright[mine].min() - 0.15 * x_height, upright[mine].max() + 0.15 * x_height
        column = keep & (upright >= lo) & (upright <= hi)
        ours = [k for k in np.unique(stroke_of[mine]) if np.mean(owner[stroke_of == k] == i) >= 0.5]
        ink = np.isin(stroke_of, ours) & keep if ours else mine | (np.isin(stroke_of, stroke_of[mine]) & column)
        near = owner == i + 1
        if i > 0 and text[i - 1] == " ":
            near |= owner == i - 1
        ink |= column & near
        foot, top = float(pts[ink, 1].max()), float(pts[ink, 1].min())
        if text[i] in _SHORT:  # not the ascender of a neighbour the stroke runs into
            top = max(top, foot - 1.25 * x_height)
        # over (or under) the middle of the letter's own span, taken upright
        middle = float(upright[mine].min() + upright[mine].max()) / 2
        # drawn when the stroke that ends the letter lifts, as a hand adds an accent
        last = int(np.flatnonzero(mine)[-1])
        after = int(np.flatnonzero(lifts[last:] > 0.5)[0]) + last
        rng = np.random.default_rng([*(s & 0xFFFFFFFF for s in seed), i, zlib.crc32(m.encode())])
        raised = 0.0
        for mark in m:  # a letter may take two marks above (Vietnamese has some): stacked
            curved, shapes = MARKS[mark]
            if mark == _CEDILLA:  # hung from the letter's lowest point
                low = pts[ink][np.argmax(pts[ink][:, 1])]
                ox, oy = float(low[0]), float(low[1])
            elif mark == _OGONEK:  # hung from the right of the letter's foot
                near_foot = pts[ink & (pts[:, 1] >= foot - 0.3 * x_height)]  # never empty: foot is the ink's
                ox, oy = float(near_foot[:, 0].max()), foot
            elif mark in _BELOW:
                ox, oy = middle - foot * lean, foot
            else:
                oy = top - GAP * x_height - raised
                ox = dot if dot is not None else middle - oy * lean
                raised += 0.4 * x_height
            for stroke in trace(shapes, curved, x_height, rng):
                stroke = stroke.copy()
                stroke[:, 0] -= stroke[:, 1] * lean  # y < 0 (up the page) leans right
                added.append((after, stroke + [ox, oy], i))
    if not added and keep.all():
        return offsets, owner
    parts_pts, parts_lifts, parts_owner = [], [], []
    start = 0
    for after, stroke, i in sorted(added, key=lambda a: a[0]):
        span = slice(start, after + 1)
        parts_pts.append(pts[span][keep[span]])
        parts_lifts.append(lifts[span][keep[span]])
        parts_owner.append(owner[span][keep[span]])
        parts_pts.append(stroke)
        parts_lifts.append(np.r_[np.zeros(len(stroke) - 1), 1.0])
        parts_owner.append(np.full(len(stroke), i))
        start = after + 1
    parts_pts.append(pts[start:][keep[start:]])
    parts_lifts.append(lifts[start:][keep[start:]])
    parts_owner.append(owner[start:][keep[start:]])
    pts = np.concatenate(parts_pts)
    out = np.column_stack([np.diff(pts, axis=0, prepend=[[0.0, 0.0]]), np.concatenate(parts_lifts)])
    return out, np.concatenate(parts_owner)


def _dots(pts: np.ndarray, lifts: np.ndarray, owner: np.ndarray, i: int, foot: float, x_height: float) -> np.ndarray:
    """Points of the small strokes high over letter ``i`` (or drawn as the next letter
    began): the dot of an i or j the model drew, which an accent replaces."""
    out = np.zeros(len(pts), bool)
    ends = np.flatnonzero(lifts > 0.5)
    start = 0
    for end in ends:
        s = slice(start, end + 1)
        start = end + 1
        who, p = owner[s], pts[s]
        if not np.isin(who, (i, i + 1)).all():
            continue
        small = max(np.ptp(p[:, 0]), np.ptp(p[:, 1])) <= DOT * x_height
        if small and p[:, 1].max() < foot - 1.1 * x_height:
            out[s] = True
    return out
