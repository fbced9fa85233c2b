"""Rules that judge a sampled line: is it bad enough to re-sample, and is there a stray tail to cut.

The thresholds are parameters (``LineRules``), as whisper keeps its fallback thresholds,
so a caller can tighten or loosen them and every rule can be tested on its own. Units are
the model's normalised ones: line height 1, about 0.54 units per character.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LineRules", "check_line", "lingered", "trim_tail", "cut_run_on"]


@dataclass(frozen=True)
class LineRules:
    """Loose bounds around what real lines do; outside them a line is re-sampled."""

    max_height: float = 3.0  # total vertical extent of the ink
    max_band: float = 2.0  # 5th-95th percentile of y
    min_width_per_char: float = 0.15  # width + slack must be at least this per character
    max_width_per_char: float = 1.3  # ... and at most this
    width_slack: float = 0.3
    width_slack_max: float = 0.6
    # the last letter is often drawn after the window has moved past the text: up to about
    # one letter (~8 points) past the end is normal; much more is the model running on
    max_points_past_end: int = 14
    # a line that runs on past its end is cut this many points after the window passed the
    # last character (the end of a usual last letter; ``cut_run_on``), as a last resort
    last_letter_points: int = 8
    # a line starts with the window on the space after the style's text (2 points on the
    # shipped styles); more than about a letter there means the line began by finishing the
    # style sample's own text (a sample whose ink does not say its text)
    max_points_in_prime: int = 8
    skipped_chars_per: int = 12  # more than one missed character per this many fails the line
    # a letter takes 14-18 points (median), 24-29 at the 95th percentile; a window held on
    # one character longer than this is often the model scribbling there (``lingered``;
    # 0: no limit)
    max_points_on_char: int = 26
    tail_gap: float = 0.15  # a trailing mark must start this far right of the ink before it
    dot_mark: float = 0.2  # after a final "." or ",", a mark bigger than this is a stray bar
    # word gaps narrower than this times the line's ink band (10-90 % of its heights) are
    # widened to it, so that a reader sees two words; 0 keeps them as written
    word_gap: float = 0.6


def check_line(
    offsets: np.ndarray, text: str, focus: np.ndarray, start: int, hit_cap: bool, rules: LineRules = LineRules()
) -> str:
    """Why a sampled line looks bad, or "" when it passes.

    ``focus`` is, per step, the index of the character the attention window weighs most
    (``argmax phi``); ``start`` is the index of the line's first character in the encoded
    text (after the style sample's text).
    """
    if hit_cap:
        return "did not finish (the attention stalled)"
    if len(offsets) < 2:
        return "no ink"
    pts = np.cumsum(offsets[:, :2], axis=0)
    n_chars = max(1, len(text.strip()))
    width = np.ptp(pts[:, 0])
    lo, hi = np.percentile(pts[:, 1], [5, 95])
    if np.ptp(pts[:, 1]) > rules.max_height or (hi - lo) > rules.max_band:
        return "strokes far outside the line"
    lo_w = rules.min_width_per_char * n_chars
    hi_w = rules.max_width_per_char * n_chars + rules.width_slack_max
    if not lo_w <= width + rules.width_slack <= hi_w:
        return f"width unlike the text ({width / n_chars:.2f} units per character)"
    if len(focus):
        focus = np.asarray(focus)
        in_prime = int(np.sum(focus < start))
        if in_prime > rules.max_points_in_prime:
            return f"began by finishing the style sample's text ({in_prime} points)"
        past_end = int(np.sum(focus >= start + len(text)))
        if past_end > rules.max_points_past_end:
            return f"wrote on past the end of the text ({past_end} points)"
        seen = set(focus.tolist())
        missed = [u for u in range(start, start + len(text)) if text[u - start] != " " and u not in seen]
        if len(missed) > max(1, len(text) // rules.skipped_chars_per):
            return f"skipped {len(missed)} characters"
    return ""


def lingered(text: str, focus: np.ndarray, start: int, rules: LineRules = LineRules()) -> str:
    """Why a line that passed ``check_line`` is still worth another try, or "".

    A window held on one letter for far longer than a letter takes marks most of the
    lines a reader cannot read (capitals above all: an invented or overwritten letter), but
    also some good ones (a big M, a flourish), so it asks for a new attempt and is never
    a reason to fail a line.
    """
    focus = np.asarray(focus, dtype=np.int64)
    letters = [u for u, c in enumerate(text) if c != " "]
    if not rules.max_points_on_char or not letters or not len(focus):
        return ""
    inside = focus[(focus >= start) & (focus < start + len(text))] - start
    most = int(np.bincount(inside, minlength=len(text))[letters].max())
    if most > rules.max_points_on_char:
        return f"lingered on one character ({most} points)"
    return ""


def trim_tail(
    offsets: np.ndarray, focus: np.ndarray, end: int, after_dot: bool = False, rules: LineRules = LineRules()
) -> np.ndarray:
    """Drop a stray mark written after the line's last character.

    The Graves stop rule fires only when the window weighs the position past the last
    character most; a pen lift just before that lets the model begin a new mark. Such a
    trailing stroke is drawn entirely with the window past the end *and* starts right of
    all the ink before it, after a gap. The window alone is no reason to cut: the last
    letter itself is often drawn after the window moved on. After a final full stop or
    comma (``after_dot``) nothing real follows, so a stroke after a gap that is mostly
    past the end and bigger than a dot is cut too (the model's tall stray bar).
    """
    if not len(offsets) or len(focus) != len(offsets):
        return offsets
    pts = np.cumsum(offsets[:, :2], axis=0)
    ends = np.flatnonzero(offsets[:, 2] > 0.5)
    starts = np.r_[0, ends[:-1] + 1]
    keep_to = len(offsets)
    for a, b in zip(starts[::-1], ends[::-1]):
        if a == 0 or pts[a : b + 1, 0].min() < pts[:a, 0].max() + rules.tail_gap:
            break
        past = np.asarray(focus[a : b + 1]) >= end
        size = float(np.ptp(pts[a : b + 1], axis=0).max())
        if not (past.all() or (after_dot and past.mean() >= 0.5 and size > rules.dot_mark)):
            break
        keep_to = a
    return offsets[:keep_to]


def cut_run_on(offsets: np.ndarray, focus: np.ndarray, end: int, rules: LineRules = LineRules()) -> np.ndarray:
    """The line ended where the model should have stopped: ``rules.last_letter_points`` after
    the window first passed the last character, with the pen lifted there.

    A connected hand lifts the pen seldom, and the stop rule waits for a lift, so after its
    last word it may run on into extra letters with no gap that ``trim_tail`` could find.
    The last letter is often finished after the window moves on, hence the allowance. A
    line without run-on writing (no more than ``max_points_past_end``) is returned as is.
    """
    focus = np.asarray(focus)
    if len(focus) != len(offsets) or int(np.sum(focus >= end)) <= rules.max_points_past_end:
        return offsets
    cut = int(np.argmax(focus >= end)) + rules.last_letter_points
    if cut >= len(offsets):
        return offsets
    out = offsets[:cut].copy()
    out[-1, 2] = 1.0
    return out
