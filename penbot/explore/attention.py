"""The attention window over time: which character the model was writing at each pen step.

Graves' window is a mixture of Gaussians over the characters; its weight per character
(``phi``) at every step is a heatmap whose bright path should walk down the characters
one by one. A character the path jumps over was skipped; a path that climbs back wrote a
letter twice. Below the heatmap the written line is coloured by the character the window
weighs most, so the same colour on two letters, or a letter with no colour, is a
mistake you can point at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from penbot.atomic import atomic_write_bytes
from penbot.explore.line import ChosenLine, output_format
from penbot.runtime import StepRunner
from penbot.strokes import Strokes

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

__all__ = ["AttentionTrace", "attention_trace", "unfocused_characters", "revisited_characters",
           "render_attention", "save_attention"]

FORMATS = ("png", "svg")


@dataclass(frozen=True)
class AttentionTrace:
    """Window weights of one written line: rows are its characters plus one row past the end."""

    text: str
    strokes: Strokes  # normalised units, y down
    phi: np.ndarray  # (len(text) + 1, N): weight of each character (last row: past the end) at each step

    @property
    def focus(self) -> np.ndarray:
        """Per step, the row the window weighs most (``len(text)``: past the end)."""
        return np.argmax(self.phi, axis=0) if self.phi.size else np.zeros(0, np.int64)


def attention_trace(model: StepRunner | HandwritingModel, line: ChosenLine) -> AttentionTrace:
    """Replay ``line`` and keep the window over its own characters (the style's are left out)."""
    from penbot.explore.replay import replay

    rep = replay(model, line)
    rows = rep.phi[:, rep.start : rep.start + len(line.text) + 1]  # the line's characters + past the end
    return AttentionTrace(line.text, line.strokes, np.ascontiguousarray(rows.T))


def unfocused_characters(trace: AttentionTrace) -> list[int]:
    """Indices of the letters (not spaces) the window never weighed most: skipped ones."""
    seen = set(trace.focus.tolist())
    return [i for i, c in enumerate(trace.text) if c != " " and i not in seen]


def revisited_characters(trace: AttentionTrace) -> list[int]:
    """Indices of characters the window came back to after it had moved past: written twice."""
    out, furthest, seen = [], -1, set()
    for u in trace.focus.tolist():
        if u in seen and u < furthest and u < len(trace.text) and u not in out:
            out.append(u)
        seen.add(u)
        furthest = max(furthest, u)
    return sorted(out)


def _label(c: str) -> str:
    return "\u2423" if c == " " else c


def render_attention(trace: AttentionTrace, fmt: str = "png", dpi: int = 150) -> bytes:
    """Heatmap (characters x pen steps) over the written line coloured by the character in focus."""
    from matplotlib.collections import LineCollection

    from penbot.explore._plot import CHAR_COLOURS, figure_bytes, pyplot, svg_deterministic

    plt = pyplot()
    n_rows, n_steps = trace.phi.shape
    skipped, again = set(unfocused_characters(trace)), set(revisited_characters(trace))
    colour = [CHAR_COLOURS[i % len(CHAR_COLOURS)] for i in range(n_rows - 1)] + ["#777777"]
    labels = [_label(c) for c in trace.text] + ["end"]
    pts, up = trace.strokes.points, trace.strokes.pen_up
    width = min(18.0, max(6.0, 0.06 * n_steps + 1.5))
    span = np.ptp(pts, axis=0) + 0.4 if len(pts) else np.array([1.0, 1.0])
    line_h = min(4.0, max(1.2, width * span[1] / span[0]))
    with svg_deterministic():
        fig, (ax, lx) = plt.subplots(2, 1, figsize=(width, 0.17 * n_rows + 1.4 + line_h),
                                     gridspec_kw={"height_ratios": [0.17 * n_rows + 0.8, line_h]})
        ax.imshow(trace.phi, aspect="auto", cmap="magma", interpolation="nearest", vmin=0.0,
                  vmax=max(1e-6, float(np.percentile(trace.phi, 99.5))))
        ax.plot(np.arange(n_steps), trace.focus, color="#4fc3f7", linewidth=0.8, alpha=0.9)
        ax.set_yticks(range(n_rows), labels, fontsize=8, fontfamily="monospace")
        for i, tick in enumerate(ax.get_yticklabels()):
            bad = i in skipped or i in again
            tick.set_color("#d00000" if bad else colour[i])
            tick.set_fontweight("bold" if bad else "normal")
        ax.set_xlabel("pen step", fontsize=8)
        notes = []
        if skipped:
            notes.append("no focus on " + ", ".join(f"{trace.text[i]!r} ({i})" for i in sorted(skipped)))
        if again:
            notes.append("written again: " + ", ".join(f"{trace.text[i]!r} ({i})" for i in sorted(again)))
        ax.set_title("window weight per character and pen step" + (" - " + "; ".join(notes) if notes else ""),
                     fontsize=9, loc="left", color="#d00000" if notes else "black")
        focus = trace.focus
        if len(pts) >= 2:
            segs = [pts[k - 1 : k + 1] for k in range(1, len(pts)) if not up[k - 1]]
            cols = [colour[focus[k]] for k in range(1, len(pts)) if not up[k - 1]]
            lx.add_collection(LineCollection(segs, colors=cols, linewidths=1.6))
            lx.scatter(pts[:, 0], pts[:, 1], c=[colour[u] for u in focus], s=4, zorder=3)
            lx.set_xlim(pts[:, 0].min() - 0.2, pts[:, 0].max() + 0.2)
            lx.set_ylim(pts[:, 1].max() + 0.2, pts[:, 1].min() - 0.45)
        top = pts[:, 1].min() - 0.3 if len(pts) else 0.0
        for u in sorted(set(focus.tolist())):
            if u < len(trace.text) and trace.text[u] != " ":
                lx.text(float(np.median(pts[focus == u, 0])), top, _label(trace.text[u]), color=colour[u],
                        ha="center", va="bottom", fontsize=8, fontfamily="monospace")
        lx.set_aspect("equal")
        lx.axis("off")
        fig.tight_layout(pad=0.4)
        return figure_bytes(fig, fmt, dpi)


def save_attention(trace: AttentionTrace, path: str | Path) -> Path:
    """Write the attention view as .png or .svg (atomically)."""
    fmt = output_format(path, FORMATS, "attention")
    atomic_write_bytes(path, render_attention(trace, fmt))
    return Path(path)
