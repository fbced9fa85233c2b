"""matplotlib, imported only when a figure is drawn, always on the Agg back end (no display)."""

from __future__ import annotations

import io
from typing import Any

from penbot.errors import PenbotError

# one colour per character, cycled: neighbours always differ (tab10 without its grey)
CHAR_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
                "#17becf")


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg back end; a clear error when the extra is not installed."""
    try:
        import matplotlib
    except ImportError:
        raise PenbotError("the explore views need matplotlib: pip install 'penbot[explore]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def figure_bytes(fig: Any, fmt: str, dpi: int = 150) -> bytes:
    """The figure as PNG or SVG bytes, without the date and software stamps (same input, same file)."""
    plt = pyplot()
    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    try:
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    finally:
        plt.close(fig)
    return buf.getvalue()


def svg_deterministic() -> Any:
    """rc settings that make matplotlib's SVG the same bytes for the same figure."""
    return pyplot().rc_context({"svg.hashsalt": "penbot", "svg.fonttype": "none"})
