"""The LSTM cells of one layer along a written line, ordered so that alike cells sit together.

What is shown is each cell's state ``c`` (the LSTM's memory, unbounded; the layer's
output is ``o * tanh(c)``) after every pen step: one row per cell, one column per step.
Rows in their index order look like noise, so they are ordered the way Carter et al.
order them in "Experiments in Handwriting with a Neural Network" (Distill, 2016): a
cell that is mostly negative is flipped (a cell and its negation do the same job), each
time series is blurred along time (a Gaussian of ``blur`` steps, so cells that fire a
step apart still count as alike), and t-SNE from scikit-learn embeds the series in one
dimension; the rows are sorted by that coordinate. Our choices: the sign test is the
mean of the series (negating a cell flips its mean, so a flipped cell gets exactly the
same series and the same place); exact t-SNE with PCA initialisation and a fixed
random state, perplexity ``min(30, (cells - 1) / 3)``; blur sigma 2 steps.
"""

from __future__ import annotations

import base64
import html
import io
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from penbot.atomic import atomic_write_bytes, atomic_write_text
from penbot.errors import PenbotError
from penbot.explore.line import ChosenLine, output_format
from penbot.runtime import StepRunner
from penbot.strokes import Strokes

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

__all__ = ["CellTrace", "cell_activations", "check_layer", "flip_and_blur", "cell_order", "render_cells_html",
           "render_cells_png", "save_cells"]

FORMATS = ("html", "png")


@dataclass(frozen=True)
class CellTrace:
    """Cell states of one layer at every pen step of a written line."""

    layer: int  # 1-3
    text: str
    strokes: Strokes  # normalised units, y down
    activations: np.ndarray  # (cells, N)
    focus: np.ndarray  # (N,) the character of ``text`` the window weighs most (len(text): past the end)


def check_layer(layer: int) -> None:
    if isinstance(layer, bool) or layer not in (1, 2, 3):
        raise PenbotError(f"layer must be 1, 2 or 3, got {layer!r}")


def cell_activations(model: StepRunner | HandwritingModel, line: ChosenLine, layer: int = 1) -> CellTrace:
    """Replay ``line`` and keep the cell states of ``layer`` (1: the layer that drives the window)."""
    check_layer(layer)
    from penbot.explore.replay import replay

    rep = replay(model, line)
    focus = np.argmax(rep.phi[:, rep.start : rep.start + len(line.text) + 1], axis=1)
    return CellTrace(layer, line.text, line.strokes, np.ascontiguousarray(rep.cells[layer - 1].T), focus)


def flip_and_blur(activations: np.ndarray, blur: float = 2.0) -> np.ndarray:
    """Each cell's series with mostly-negative cells negated, then Gaussian-blurred along time."""
    a = np.asarray(activations, dtype=np.float64)
    a = np.where(a.mean(axis=1, keepdims=True) < 0, -a, a)
    if blur <= 0 or a.shape[1] < 2:
        return a
    r = int(np.ceil(3 * blur))
    kernel = np.exp(-0.5 * (np.arange(-r, r + 1) / blur) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(a, ((0, 0), (r, r)), mode="edge")
    return np.stack([np.convolve(row, kernel, mode="valid") for row in padded])


def cell_order(activations: np.ndarray, blur: float = 2.0, seed: int = 0) -> np.ndarray:
    """A permutation of the cells (rows): sorted by a 1-D t-SNE embedding of their flipped, blurred series."""
    series = flip_and_blur(activations, blur)
    n = len(series)
    if n < 4:
        return np.arange(n)
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise PenbotError("ordering the cells needs scikit-learn: pip install 'penbot[explore]'") from None
    tsne = TSNE(n_components=1, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=seed, method="exact")
    coord = tsne.fit_transform(series.astype(np.float32))[:, 0]
    return np.argsort(coord, kind="stable")


def _scale(activations: np.ndarray) -> float:
    """Colour range: cell states are unbounded; the 98th percentile of |c| keeps the picture from one cell."""
    return max(1e-6, float(np.percentile(np.abs(activations), 98))) if activations.size else 1.0


def _heat_png(rows: np.ndarray) -> bytes:
    """One pixel per cell and step, coloured by matplotlib (red positive, blue negative)."""
    from penbot.explore._plot import pyplot

    plt = pyplot()
    v = _scale(rows)
    buf = io.BytesIO()
    plt.imsave(buf, rows if rows.size else np.zeros((1, 1)), cmap="RdBu_r", vmin=-v, vmax=v, format="png",
               metadata={"Software": None})
    return buf.getvalue()


def _data_uri(png: bytes) -> str:
    """A base64 data URI that never spells "http" by chance (the file must name no URL at all).

    Base64 of a 50 kB image holds any given four letters with a chance of a few percent;
    a comment chunk of a few bytes right after the header shifts the encoding of all the
    pixel data until it does not.
    """
    head = 8 + 25  # PNG signature + IHDR chunk
    for pad in range(16):
        data = png
        if pad:
            chunk = b"tEXt" + b"Comment\x00" + b" " * pad
            crc = zlib.crc32(chunk).to_bytes(4, "big")
            data = png[:head] + len(chunk[4:]).to_bytes(4, "big") + chunk + crc + png[head:]
        text = base64.b64encode(data).decode("ascii")
        if "http" not in text.lower():
            return "data:image/png;base64," + text
    raise PenbotError("could not embed the heatmap")  # pragma: no cover - 16 shifts all failing


def _char_at(text: str, u: int) -> str:
    return repr(text[u]) if u < len(text) else "past the end"


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font-family:sans-serif;margin:16px;color:#222;max-width:1400px}
p{max-width:60em}
#wrap{position:relative;display:inline-block;cursor:pointer;border:1px solid #ccc}
#heat{display:block;image-rendering:pixelated;width:__W__px;height:__H__px}
#col,#row{position:absolute;display:none;pointer-events:none;background:#00b050}
#col{top:0;width:2px;height:__H__px}
#row{left:0;height:2px;width:__W__px}
#info{font-family:monospace;margin:8px 0;min-height:1.3em}
#ink circle{cursor:crosshair}
</style></head><body>
<h3>__TITLE__</h3>
<p>One row per cell (its state <i>c</i>), one column per pen step; red positive, blue negative.
Rows are ordered by a 1-D t-SNE of each cell's flipped, blurred series, so alike cells sit together.
Click a row to colour the strokes by that cell; hover a point of the strokes to see its column.</p>
<div id="info">click a row of the heatmap</div>
<div id="wrap"><img id="heat" src="__IMG__" alt="cell states"><div id="col"></div><div id="row"></div></div>
<div>__SVG__</div>
<script>
const D = __DATA__;
const heat = document.getElementById("heat"), info = document.getElementById("info");
const colm = document.getElementById("col"), rowm = document.getElementById("row");
const dots = Array.from(document.querySelectorAll("#ink circle"));
const segs = Array.from(document.querySelectorAll("#ink line"));
let sel = -1;
function colour(v) {
  const a = Math.min(1, Math.abs(v)), c = Math.round(255 * (1 - a));
  return v >= 0 ? "rgb(255," + c + "," + c + ")" : "rgb(" + c + "," + c + ",255)";
}
function pick(row) {
  if (row < 0 || row >= D.cells.length) return;
  sel = row;
  const a = D.acts[row], m = Math.max(1e-6, ...a.map(Math.abs));
  dots.forEach((d, k) => d.setAttribute("fill", colour(a[k] / m)));
  segs.forEach(s => s.setAttribute("stroke", colour(a[+s.dataset.k] / m)));
  rowm.style.display = "block";
  rowm.style.top = (row * D.rh + D.rh / 2 - 1) + "px";
  info.textContent = "cell " + D.cells[row] + " (row " + row + ") colours the strokes, scaled to its largest |c| = "
    + m.toFixed(3);
}
heat.addEventListener("click", e => pick(Math.floor(e.offsetY / D.rh)));
heat.addEventListener("mousemove", e => {
  const row = Math.floor(e.offsetY / D.rh), k = Math.floor(e.offsetX / D.cw);
  if (row >= 0 && row < D.cells.length && k >= 0 && k < D.steps)
    info.textContent = "cell " + D.cells[row] + ", step " + k + " (" + D.chars[k] + "): c = " + D.acts[row][k];
});
dots.forEach((d, k) => d.addEventListener("mouseenter", () => {
  colm.style.display = "block";
  colm.style.left = (k * D.cw + D.cw / 2 - 1) + "px";
  info.textContent = "step " + k + " (window on " + D.chars[k] + ")"
    + (sel >= 0 ? ": cell " + D.cells[sel] + " c = " + D.acts[sel][k] : "");
}));
</script>
</body></html>
"""


def _ink_svg(strokes: Strokes, scale: float = 60.0, pad: float = 0.2) -> str:
    """Inline SVG (no namespace, so no URL) of the line: a segment and a dot per pen step."""
    pts, up = strokes.points, strokes.pen_up
    if not len(pts):
        return '<svg id="ink" width="10" height="10"></svg>'
    lo = pts.min(axis=0) - pad
    q = (pts - lo) * scale
    w, h = (np.ptp(pts, axis=0) + 2 * pad) * scale
    out = [f'<svg id="ink" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.1f} {h:.1f}">']
    for k in range(1, len(q)):
        if not up[k - 1]:
            out.append(f'<line data-k="{k}" x1="{q[k-1, 0]:.1f}" y1="{q[k-1, 1]:.1f}" x2="{q[k, 0]:.1f}" '
                       f'y2="{q[k, 1]:.1f}" stroke="#999" stroke-width="3" stroke-linecap="round"/>')
    for k, (x, y) in enumerate(q):
        out.append(f'<circle data-k="{k}" cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="#555"/>')
    out.append("</svg>")
    return "\n".join(out)


def render_cells_html(trace: CellTrace, order: np.ndarray | None = None) -> str:
    """One self-contained HTML file: heatmap, strokes, and a few lines of script; no external URL."""
    order = cell_order(trace.activations) if order is None else np.asarray(order)
    rows = trace.activations[order]
    n_cells, steps = rows.shape
    cw = int(max(2, min(8, 1100 // max(1, steps))))
    rh = int(max(2, min(8, 640 // max(1, n_cells))))
    data = {
        "cells": [int(c) for c in order], "steps": int(steps), "cw": cw, "rh": rh,
        "acts": np.round(rows.astype(np.float64), 3).tolist(),
        "chars": [_char_at(trace.text, int(u)) for u in trace.focus],
    }
    title = f"penbot: layer {trace.layer} cells along {trace.text[:60]!r}" if trace.text else \
        f"penbot: layer {trace.layer} cells along the strokes"
    page = (_HTML.replace("__TITLE__", html.escape(title)).replace("__W__", str(steps * cw))
            .replace("__H__", str(n_cells * rh)).replace("__IMG__", _data_uri(_heat_png(rows)))
            .replace("__SVG__", _ink_svg(trace.strokes)))
    return page.replace("__DATA__", json.dumps(data, separators=(",", ":")).replace("</", "<\\/"))


def render_cells_png(trace: CellTrace, order: np.ndarray | None = None, dpi: int = 150) -> bytes:
    """Heatmap of the ordered cells over the line coloured by its most active (blurred) cell."""
    from matplotlib.collections import LineCollection

    from penbot.explore._plot import figure_bytes, pyplot

    plt = pyplot()
    order = cell_order(trace.activations) if order is None else np.asarray(order)
    rows = trace.activations[order]
    n_cells, steps = rows.shape
    v = _scale(rows)
    pts, up = trace.strokes.points, trace.strokes.pen_up
    width = min(18.0, max(6.0, 0.06 * steps + 1.5))
    span = np.ptp(pts, axis=0) + 0.4 if len(pts) else np.array([1.0, 1.0])
    line_h = min(4.0, max(1.2, width * span[1] / span[0]))
    heat_h = min(9.0, max(2.5, n_cells * 0.025))
    fig, (ax, lx) = plt.subplots(2, 1, figsize=(width, heat_h + line_h + 0.6),
                                 gridspec_kw={"height_ratios": [heat_h, line_h]})
    ax.imshow(rows, aspect="auto", cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
    ax.set_ylabel(f"{n_cells} cells (t-SNE order)", fontsize=8)
    ax.set_xlabel("pen step", fontsize=8)
    ax.set_yticks([])
    pick = int(np.argmax(flip_and_blur(trace.activations).std(axis=1))) if n_cells else 0
    ax.set_title(f"layer {trace.layer} cell states c along the line (red +, blue -); strokes below coloured by "
                 f"cell {pick}, the one that varies most", fontsize=9, loc="left")
    if n_cells:
        ax.axhline(int(np.flatnonzero(order == pick)[0]), color="#00b050", linewidth=0.8)
    if len(pts) >= 2 and n_cells:
        a = trace.activations[pick]
        m = max(1e-6, float(np.abs(a).max()))
        segs = [pts[k - 1 : k + 1] for k in range(1, len(pts)) if not up[k - 1]]
        vals = [a[k] for k in range(1, len(pts)) if not up[k - 1]]
        lx.add_collection(LineCollection(segs, array=np.asarray(vals), cmap="RdBu_r", clim=(-m, m), linewidths=2.0))
        lx.scatter(pts[:, 0], pts[:, 1], c=a, cmap="RdBu_r", vmin=-m, vmax=m, s=5, zorder=3)
        lx.set_xlim(pts[:, 0].min() - 0.2, pts[:, 0].max() + 0.2)
        lx.set_ylim(pts[:, 1].max() + 0.2, pts[:, 1].min() - 0.2)
    lx.set_aspect("equal")
    lx.axis("off")
    fig.tight_layout(pad=0.4)
    return figure_bytes(fig, "png", dpi)


def save_cells(trace: CellTrace, path: str | Path, order: np.ndarray | None = None) -> Path:
    """Write the cells view as .html (interactive, self-contained) or .png (atomically)."""
    fmt = output_format(path, FORMATS, "cells")
    order = cell_order(trace.activations) if order is None else order
    if fmt == "html":
        atomic_write_text(path, render_cells_html(trace, order))
    else:
        atomic_write_bytes(path, render_cells_png(trace, order))
    return Path(path)
