"""Line layout: wrap text on *measured* ink widths, place lines, paginate.

Handwriting width is only known once a line is written, so wrapping is a conversation:
``layout_text`` is a generator that yields the line texts it needs, receives their
``Strokes`` and re-wraps what overflowed, a few rounds at most. ``drive_layouts`` runs
many such conversations in lockstep so one sampling batch serves many documents.

Text rules: a single newline is a hard line break, a blank line (or several) starts a
new paragraph and leaves one empty line; words are separated by any white space.
Each written line is smoothed, scaled and simplified here (``smooth.py``), in page
millimetres, before it is measured; the page model it fills is ``penbot.page``.
Coordinates are millimetres, y down, origin at the page's top-left corner.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace

import numpy as np

from penbot.errors import PenbotError
from penbot.page import Page, PageDrawing, PlacedLine
from penbot.smooth import clean_polylines, rotate, simplify_many, two_points
from penbot.strokes import Strokes

__all__ = [
    "LayoutOptions",
    "place_strokes",
    "layout_text",
    "drive_layouts",
    "layout_pages",
]

# natural variation at ``variation == 1``: line tilt, baseline drift, left-edge wander
_TILT_DEG, _DRIFT_MM, _WANDER_MM = 0.3, 0.25, 0.8
# Share of the usable width that unwritten lines may fill by estimate, per round. Round 0
# only guesses the advance per character (from the style sample, or _ADVANCE), and one line
# too wide costs a whole extra sampling round, so it plans shorter than round 1.
_SAFETY = (0.93, 0.95, 0.92, 0.88)
_LAST_SAFETY = 0.8  # the last allowed round writes lines that will fit even if 20 % wider than expected
_PULL = 0.9  # a written line with room for the next word inside this share is "far too short"
_RESYNC = 0.8  # a re-wrapped line may end early (down to this share) to meet an already written line
_ADVANCE = 0.54  # typical advance per character in model units, when nothing better is known
_NARROWEST = 0.45  # the narrowest hands (0.5th pct of the data, 0.24 heights/char) vs _ADVANCE


# ---------------------------------------------------------------------------- options and results
@dataclass(frozen=True)
class LayoutOptions:
    """How lines are sized, wrapped and placed; lengths in millimetres.

    ``size_mm`` is the writing height (one model unit: ascender top to descender bottom).
    ``max_shrink`` lets a written line that overflows be scaled down by at most that share
    instead of being re-wrapped and written again. ``smooth`` draws curves through the
    model's points, ``dejitter`` also filters point noise (worth it for low-bias samples,
    it rounds letters a little), ``tolerance_mm`` then drops points a plotter cannot resolve. ``straighten`` levels a
    drifting baseline; ``variation`` scales a slight seeded per-line tilt, baseline drift
    and left-edge wander (1 = natural, 0 = none).
    """

    size_mm: float = 6.5
    line_spacing_mm: float = 10.0
    align: str = "left"
    indent_mm: float = 0.0
    max_shrink: float = 0.04
    max_pages: int | None = None
    smooth: bool = True
    dejitter: bool = False
    tolerance_mm: float = 0.05
    straighten: bool = True
    variation: float = 1.0
    seed: int | None = 0  # None: different variation every run
    max_rounds: int = 4

    def __post_init__(self) -> None:
        for name, value, lo, hi in (("writing size", self.size_mm, 0.5, 500.0),
                                    ("line spacing", self.line_spacing_mm, 0.5, 1000.0),
                                    ("indent", self.indent_mm, 0.0, 1000.0)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or not lo <= value <= hi:
                raise PenbotError(f"{name} must be between {lo:g} and {hi:g} mm, got {value!r}")
        checks = [
            (self.align in ("left", "center", "right"), f"unknown alignment {self.align!r}: use left, center or right"),
            (0 <= self.max_shrink < 0.5, f"max shrink must be in [0, 0.5), got {self.max_shrink:g}"),
            (self.max_pages is None or self.max_pages >= 1, f"max pages must be at least 1, got {self.max_pages}"),
            (self.tolerance_mm >= 0, f"simplification tolerance must not be negative, got {self.tolerance_mm:g}"),
            (self.variation >= 0, f"variation must not be negative, got {self.variation:g}"),
            (self.max_rounds >= 1, f"max rounds must be at least 1, got {self.max_rounds}"),
        ]
        for ok, message in checks:
            if not ok:
                raise PenbotError(message)


# ---------------------------------------------------------------------------- measuring
@dataclass(frozen=True)
class _Ink:
    """A written line in mm, ink starting at x=0 with its band centre at y=0."""

    polylines: list[np.ndarray]
    width: float
    drift: float  # vertical offset from the slot (variation)
    wander: float  # extra left indent (variation, left alignment only)


def _band_centre(ys: np.ndarray) -> float:
    lo, hi = np.percentile(ys, [5, 95])
    return float(lo + hi) / 2


def _measure(strokes: Strokes, opts: LayoutOptions, rng: np.random.Generator) -> _Ink:
    """Clean, scale and tilt a line, then move it to ink-left / band-centre coordinates."""
    v = opts.variation
    tilt = np.radians(np.clip(rng.normal(0, _TILT_DEG), -2 * _TILT_DEG, 2 * _TILT_DEG)) * v
    drift = float(np.clip(rng.normal(0, _DRIFT_MM), -2 * _DRIFT_MM, 2 * _DRIFT_MM)) * v
    wander = float(rng.uniform(0, _WANDER_MM)) * v
    lines = strokes.to_polylines()
    if not lines:
        return _Ink([], 0.0, drift, wander)
    lines = [p * opts.size_mm for p in clean_polylines(lines, opts.smooth, opts.dejitter, opts.straighten)]
    pts = np.concatenate(lines)
    origin = (float(pts[:, 0].mean()), _band_centre(pts[:, 1]))
    if tilt:
        lines = rotate(lines, tilt, origin)
        pts = np.concatenate(lines)
    shift = np.array([pts[:, 0].min(), _band_centre(pts[:, 1])])
    out = [two_points(p) for p in simplify_many([p - shift for p in lines], opts.tolerance_mm)]
    return _Ink(out, float(np.ptp(pts[:, 0])), drift, wander)


# ---------------------------------------------------------------------------- wrapping
@dataclass(frozen=True)
class _Seg:
    """A hard line of the input (between newlines); ``first`` = it opens a paragraph."""

    words: tuple[str, ...]
    first: bool
    gap_before: bool


def _segments(text: str) -> list[_Seg]:
    segs = []
    for p, para in enumerate(re.split(r"\n[ \t\r\f\v]*\n\s*", text.replace("\r\n", "\n").strip())):
        hard = [tuple(line.split()) for line in para.split("\n")]
        for k, words in enumerate(w for w in hard if w):
            segs.append(_Seg(words, k == 0, p > 0 and k == 0))
    return segs


_Key = tuple[int, int, int]  # (segment, first word, end word)


class _Wrapper:
    """Greedy wrapping that trusts measured widths and estimates the rest."""

    def __init__(self, segs: list[_Seg], page: Page, opts: LayoutOptions, unit: float):
        self.segs, self.page, self.opts, self.unit = segs, page, opts, unit
        self.inks: dict[_Key, _Ink] = {}
        self.ends: dict[tuple[int, int], list[int]] = {}  # (segment, start) -> ends of written lines

    def add(self, key: _Key, ink: _Ink) -> None:
        self.inks[key] = ink
        self.ends.setdefault(key[:2], []).append(key[2])

    def text(self, key: _Key) -> str:
        s, i, j = key
        return " ".join(self.segs[s].words[i:j])

    def avail(self, s: int, i: int) -> float:
        indent = self.opts.indent_mm if (self.segs[s].first and i == 0 and self.opts.align == "left") else 0.0
        return self.page.usable_width - indent

    def limit(self, avail: float, rounds: int) -> float:
        """Widest acceptable written line: a slight overflow is shrunk rather than paid for with a
        whole sampling round (judging round 0's lines is ``rounds`` 1)."""
        return avail / (1 - self.opts.max_shrink) if rounds >= 1 else avail

    def estimate(self, key: _Key) -> float:
        """Width by the learned per-character advance, or by this line start's own ratio."""
        s, i, j = key
        unit = self.unit
        if self.ends.get((s, i)):
            k = (s, i, min(self.ends[(s, i)], key=lambda jj: abs(jj - j)))
            unit = self.inks[k].width / max(len(self.text(k)), 1) / self.opts.size_mm
        return unit * len(self.text(key)) * self.opts.size_mm

    def fits(self, key: _Key, avail: float, rounds: int) -> bool:
        if key in self.inks:
            return self.inks[key].width <= self.limit(avail, rounds)
        safety = _SAFETY[min(rounds, len(_SAFETY) - 1)]
        if rounds >= self.opts.max_rounds - 1:
            safety = min(safety, _LAST_SAFETY)
        return self.estimate(key) <= avail * safety

    def far_short(self, key: _Key, avail: float) -> bool:
        s, i, j = key
        if j >= len(self.segs[s].words):
            return False
        word = " " + self.segs[s].words[j]
        extra = self.estimate((s, i, j + 1)) * len(word) / max(len(self.text((s, i, j + 1))), 1)
        return self.inks[key].width + extra <= avail * _PULL

    def wrap(self, rounds: int, pull: bool) -> list[_Key]:
        plan = []
        for s, seg in enumerate(self.segs):
            i, n = 0, len(seg.words)
            while i < n:
                avail = self.avail(s, i)
                j = i + 1
                while j < n and self.fits((s, i, j + 1), avail, rounds):
                    j += 1
                written = [jj for jj in self.ends.get((s, i), []) if self.fits((s, i, jj), avail, rounds)]
                if (s, i, j) not in self.inks and written:
                    best = max(written)
                    if best >= j or not (pull and self.far_short((s, i, best), avail)):
                        j = best
                if (s, i, j) not in self.inks:
                    j = self.resync(s, i, j, avail)
                plan.append((s, i, j))
                i = j
        return plan

    def resync(self, s: int, i: int, j: int, avail: float) -> int:
        """End a new line where an already written line starts, if that is not much shorter.

        A word pushed down by an overflow would otherwise shift every later line of the
        paragraph, and all of them would have to be written again.
        """
        if (s, j) in self.ends or j >= len(self.segs[s].words):
            return j
        for jj in range(j - 1, i, -1):
            if (s, jj) in self.ends and self.estimate((s, i, jj)) >= _RESYNC * avail:
                return jj
        return j

    def written_plan(self) -> list[_Key] | None:
        """Fewest lines covering every segment with written lines that fit, or None.

        The fallback when rounds run out: lines from earlier rounds often still tile a
        paragraph that the last re-wrap disturbed.
        """
        plan: list[_Key] = []
        for s, seg in enumerate(self.segs):
            n = len(seg.words)
            best: list[list[_Key] | None] = [[]] + [None] * n  # best[j]: lines covering words[:j]
            for i in range(n):
                for j in self.ends.get((s, i), []) if best[i] is not None else []:
                    if self.fits((s, i, j), self.avail(s, i), self.opts.max_rounds):
                        if best[j] is None or len(best[i]) + 1 < len(best[j]):
                            best[j] = best[i] + [(s, i, j)]
            if best[n] is None:
                return None
            plan += best[n]
        return plan

    def learn(self) -> None:
        chars = sum(len(self.text(k)) for k in self.inks)
        if chars:
            self.unit = sum(ink.width for ink in self.inks.values()) / chars / self.opts.size_mm

    def check_word(self, key: _Key) -> None:
        s, i, j = key
        avail = self.avail(s, i)
        width = self.inks[key].width
        if j == i + 1 and width > avail / (1 - self.opts.max_shrink) + 1e-9:
            raise PenbotError(
                f"the word {self.segs[s].words[i]!r} is {width:.0f} mm wide at size {self.opts.size_mm:g} mm, "
                f"wider than the {avail:.0f} mm line even shrunk by {self.opts.max_shrink:.0%}: "
                "use a smaller size, a wider page or smaller margins"
            )


# ---------------------------------------------------------------------------- placing
def _extent(ink: _Ink, scale: float) -> tuple[float, float]:
    """Ink above and below the slot centre, in mm."""
    if not ink.polylines:
        return 0.0, 0.0
    ys = np.concatenate([p[:, 1] for p in ink.polylines]) * scale + ink.drift
    return max(0.0, -float(ys.min())), max(0.0, float(ys.max()))


def _place(
    text: str, ink: _Ink, scale: float, y: float, avail: float, x0: float, page: Page, opts: LayoutOptions
) -> PlacedLine:
    """Put the ink (left edge x=0, band centre y=0) on the page at slot ``y``, aligned."""
    width = ink.width * scale
    if opts.align == "left":
        x = x0 + min(ink.wander, max(avail - width, 0.0))
    elif opts.align == "center":
        x = page.margin_left + (page.usable_width - width) / 2
    else:
        x = page.width_mm - page.margin_right - width
    off = np.array([x, y + ink.drift])
    return PlacedLine(text, tuple(p * scale + off for p in ink.polylines), y, scale)


def _capacity(page: Page, opts: LayoutOptions) -> int:
    """Rough lines per page (first slot half a spacing down, half a size of ink below)."""
    room = page.usable_height - opts.line_spacing_mm / 2 - opts.size_mm / 2
    return max(int(room // opts.line_spacing_mm) + 1, 1) if room >= 0 else 0


def _paginate(wrapper: _Wrapper, plan: list[_Key], page: Page, opts: LayoutOptions) -> list[PageDrawing]:
    items: list[tuple[_Key, float, float, float] | None] = []  # key, scale, up, down
    for key in plan:
        s, i, _ = key
        if i == 0 and wrapper.segs[s].gap_before:
            items.append(None)
        ink = wrapper.inks[key]
        scale = min(1.0, wrapper.avail(s, i) / ink.width) if ink.width > 0 else 1.0
        items.append((key, scale, *_extent(ink, scale)))
    spacing = opts.line_spacing_mm
    top = page.margin_top + max([spacing / 2] + [it[2] for it in items if it])
    bottom = page.height_mm - page.margin_bottom
    pages: list[list[PlacedLine]] = [[]]
    for item in items:
        k = len(pages[-1])
        if item is None:  # a paragraph gap: an empty slot, never at a page's top
            if k and top + k * spacing <= bottom:
                pages[-1].append(PlacedLine("", (), top + k * spacing))
            elif k:
                pages.append([])
            continue
        key, scale, _, down = item
        if top + k * spacing + down > bottom:
            if k == 0:
                raise PenbotError(
                    f"a line of writing needs {top - page.margin_top + down:.0f} mm of height but the margins leave "
                    f"{page.usable_height:.0f} mm: use a smaller size or smaller margins"
                )
            pages.append([])
            k = 0
        if opts.max_pages is not None and len(pages) > opts.max_pages:
            raise PenbotError(f"text does not fit on {opts.max_pages} page(s)")
        avail = wrapper.avail(key[0], key[1])
        x0 = page.margin_left + page.usable_width - avail
        pages[-1].append(_place(wrapper.text(key), wrapper.inks[key], scale, top + k * spacing, avail, x0, page, opts))
    for lines in pages:  # a trailing paragraph gap is not a line
        while lines and not lines[-1].text:
            lines.pop()
    return [PageDrawing(page, tuple(lines)) for lines in pages]


# ---------------------------------------------------------------------------- the protocol
def _check_words(segs: list[_Seg], page: Page, opts: LayoutOptions) -> None:
    """Refuse, before any sampling, a word that cannot fit the line even in the narrowest hand.

    Sampling a 300-letter word takes many seconds only to fail on its measured width; the
    narrowest real hands are about ``_NARROWEST`` of the typical advance per character.
    """
    if opts.size_mm > page.usable_height:
        raise PenbotError(f"writing {opts.size_mm:g} mm high needs more height than the {page.usable_height:g} mm "
                          "the margins leave: use a smaller size or smaller margins")
    limit = page.usable_width / (1 - opts.max_shrink)
    for seg in segs:
        for word in seg.words:
            least = len(word) * _ADVANCE * _NARROWEST * opts.size_mm
            if least > limit:
                shown = word if len(word) <= 30 else word[:27] + "..."
                raise PenbotError(
                    f"the word {shown!r} ({len(word)} characters) is at least {least:.0f} mm wide at size "
                    f"{opts.size_mm:g} mm, wider than the {page.usable_width:.0f} mm line: break it with spaces, "
                    "or use a smaller size, a wider page or smaller margins"
                )


def layout_text(
    text: str, page: Page, opts: LayoutOptions, unit_width: float | None = None
) -> Generator[list[str], list[Strokes], list[PageDrawing]]:
    """Lay ``text`` out on pages, asking for line writing through the generator protocol.

    Yields a list of line texts; send back their ``Strokes`` (normalised model units, in
    the same order). Repeats for re-wrap rounds (at most ``opts.max_rounds``) and returns
    the pages. ``unit_width`` is the first guess of the advance per character in model
    units (None: a typical hand's); it is replaced by the measured one after the first
    round. Raises ``PenbotError`` for empty text, a word too wide for the line, or too many
    pages.
    """
    segs = _segments(text)
    if not segs:
        raise PenbotError("nothing to write: the text is empty")
    if opts.align == "left" and opts.indent_mm >= page.usable_width / 2:
        raise PenbotError(f"indent {opts.indent_mm:g} mm is too large for the {page.usable_width:g} mm wide line")
    _check_words(segs, page, opts)
    unit_width = unit_width or _ADVANCE
    rng = np.random.default_rng(opts.seed)
    wrapper = _Wrapper(segs, page, opts, unit_width)
    for rounds in range(opts.max_rounds + 1):
        plan = wrapper.wrap(rounds, pull=False)
        if rounds in (1, 2) and any(k not in wrapper.inks for k in plan):
            plan = wrapper.wrap(rounds, pull=True)  # another round is needed anyway: fill short lines
        todo = list(dict.fromkeys(k for k in plan if k not in wrapper.inks))
        if not todo:
            return _paginate(wrapper, plan, page, opts)
        if rounds == opts.max_rounds:
            fallback = wrapper.written_plan()
            if fallback is None:
                raise PenbotError(
                    f"could not fit the lines into {page.usable_width:.0f} mm after {rounds} round(s) of re-wrapping "
                    f"(near {wrapper.text(todo[0])!r}): use a smaller size or a wider page"
                )
            return _paginate(wrapper, fallback, page, opts)
        if rounds == 0 and opts.max_pages is not None:
            slots = len(plan) + sum(1 for s in segs if s.gap_before)
            if slots > 1.25 * _capacity(page, opts) * opts.max_pages:
                raise PenbotError(f"text does not fit on {opts.max_pages} page(s)")
        strokes = yield [wrapper.text(k) for k in todo]
        if len(strokes) != len(todo):
            raise ValueError(f"layout asked for {len(todo)} lines and got {len(strokes)}")
        for key, s in zip(todo, strokes):
            wrapper.add(key, _measure(s, opts, rng))
            wrapper.check_word(key)
        wrapper.learn()
    raise AssertionError("unreachable")


def drive_layouts(
    gens: list[Generator[list[str], list[Strokes], list[PageDrawing]]],
    write: Callable[[list[tuple[int, str]]], list[Strokes]],
) -> list[list[PageDrawing] | PenbotError]:
    """Run layout generators in lockstep: one ``write`` call per round for all of them.

    ``write`` gets ``(document index, line text)`` pairs and returns their ``Strokes`` in
    order. A document whose layout raises ``PenbotError`` gets the error in its slot; the
    others go on. Errors raised by ``write`` itself propagate.
    """
    results: list[list[PageDrawing] | PenbotError | None] = [None] * len(gens)
    requests: dict[int, list[str]] = {}

    def step(i: int, value: list[Strokes] | None) -> None:
        try:
            requests[i] = list(gens[i].send(value))
        except StopIteration as stop:
            results[i] = stop.value
        except PenbotError as exc:
            results[i] = exc

    for i in range(len(gens)):
        step(i, None)
    while requests:
        batch, requests = requests, {}
        pairs = [(i, t) for i in sorted(batch) for t in batch[i]]
        out = list(write(pairs)) if pairs else []
        if len(out) != len(pairs):
            raise ValueError(f"write returned {len(out)} lines for {len(pairs)} requests")
        k = 0
        for i in sorted(batch):
            step(i, out[k : k + len(batch[i])])
            k += len(batch[i])
    return results  # type: ignore[return-value]


def place_strokes(strokes: Strokes, page: Page, opts: LayoutOptions, text: str = "") -> PageDrawing:
    """One block of ink (free writing, a continuation, a line to read back) on a page.

    The ink is cleaned, scaled and simplified exactly as a written line (``_measure``,
    no random variation), then put at the writable area's top-left and shrunk to fit it.
    """
    ink = _measure(strokes, replace(opts, variation=0.0), np.random.default_rng(0))
    if not ink.polylines:
        raise PenbotError("nothing to place: the strokes are empty")
    up, down = _extent(ink, 1.0)
    scale = min(1.0, page.usable_width / max(ink.width, 1e-9), page.usable_height / max(up + down, 1e-9))
    off = np.array([page.margin_left, page.margin_top + up * scale])
    return PageDrawing(page, (PlacedLine(text, tuple(p * scale + off for p in ink.polylines), off[1], scale),))


def layout_pages(
    text: str,
    page: Page,
    opts: LayoutOptions,
    write_fn: Callable[[list[str]], list[Strokes]],
    unit_width: float | None = None,
) -> list[PageDrawing]:
    """Lay out one document with ``write_fn(texts) -> strokes``; raises its ``PenbotError``."""
    [result] = drive_layouts([layout_text(text, page, opts, unit_width)], lambda pairs: write_fn([t for _, t in pairs]))
    if isinstance(result, PenbotError):
        raise result
    return result
