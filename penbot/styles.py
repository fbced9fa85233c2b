"""Styles: short stroke samples with their text, read by the model before it writes.

Shipped styles live in ``styles/NN.json`` (made from the model's own samples, never from
database lines); a user's own styles are imported from SVG, JSON or InkML into the user
data folder (``$PENBOT_HOME/styles`` or ``~/.local/share/penbot/styles``).
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from penbot.atomic import atomic_write_text
from penbot.data.clean import decimate, normalise_points
from penbot.errors import PenbotError
from penbot.strokes import Prime, Strokes
from penbot.text import DEFAULT_ALPHABET

__all__ = ["Style", "load_style", "list_styles", "import_style", "save_style", "user_style_dir", "read_strokes_file"]

# Median pen-down step of the training data in normalised units per kept point
# (0.061 per raw point; the shipped model keeps every 3rd point: 0.18).
RAW_STEP = 0.0607
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Style:
    name: str
    text: str
    strokes: Strokes  # normalised: height 1, starts at the origin, model point density
    source: str = ""

    def prime(self) -> Prime:
        return Prime(self.text, self.strokes)

    def to_json(self) -> str:
        return json.dumps({
            "name": self.name, "text": self.text, "source": self.source,
            "strokes": np.round(self.strokes.offsets, 4).tolist(),
        })


def user_style_dir() -> Path:
    home = os.environ.get("PENBOT_HOME")
    base = Path(home) if home else Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "penbot"
    return base / "styles"


def _shipped_dir() -> Path | None:
    """The shipped style library: ``styles/`` beside the package, or inside an installed wheel."""
    try:
        path = Path(str(resources.files("penbot.shipped_styles")))
        if path.is_dir():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    here = Path(__file__).resolve().parent.parent / "styles"
    return here if here.is_dir() else None


def _parse_style(path: Path) -> Style:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        off = np.asarray(d["strokes"], dtype=np.float64)
        text = str(d["text"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PenbotError(f"{path}: not a readable style file ({type(exc).__name__}: {exc})") from None
    if not text.strip():
        raise PenbotError(f"{path}: style has no text")
    if off.ndim != 2 or off.shape[1] != 3 or len(off) < 5 or not np.isfinite(off).all():
        raise PenbotError(f"{path}: style strokes are broken (need rows of dx, dy, pen_up)")
    bad = sorted({c for c in text if c not in DEFAULT_ALPHABET})
    if bad:
        raise PenbotError(f"{path}: style text has characters the model cannot write: {''.join(bad)!r}")
    return Style(str(d.get("name") or path.stem), text, Strokes(off), str(d.get("source", "")))


def list_styles() -> list[tuple[str, Path]]:
    """``(name, file)`` of shipped styles (numbers) then user styles (names)."""
    out = []
    shipped = _shipped_dir()
    if shipped is not None:
        out += sorted(((p.stem, p) for p in shipped.glob("*.json")), key=lambda t: (len(t[0]), t[0]))
    user = user_style_dir()
    if user.is_dir():
        out += sorted((p.stem, p) for p in user.glob("*.json"))
    return out


def load_style(name: str | int | None) -> Style | None:
    """A style by shipped number, user style name, or path to a style JSON; None = unprimed."""
    if name is None or str(name).strip() in ("", "none"):
        return None
    key = str(name).strip()
    if key.endswith(".json") and Path(key).is_file():
        return _parse_style(Path(key))
    styles = dict(list_styles())
    if key.isdigit():
        key = str(int(key))
    if key in styles:
        return _parse_style(styles[key])
    names = ", ".join(styles) or "none installed"
    raise PenbotError(f"unknown style {name!r} (available: {names})")


def save_style(style: Style, path: Path) -> Path:
    atomic_write_text(path, style.to_json())
    return path


# --- importing a user's own handwriting ---------------------------------------------------

def _svg_polylines(path: Path) -> list[np.ndarray]:
    import vpype as vp

    try:
        lc, _w, _h = vp.read_svg(str(path), quantization=0.1)
    except Exception as exc:  # vpype/svgelements raise many types on bad SVG
        why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise PenbotError(f"{path}: cannot read SVG ({why})") from None
    return [np.column_stack([line.real, line.imag]) for line in lc]


def _json_polylines(path: Path) -> list[np.ndarray]:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PenbotError(f"{path}: not valid JSON ({exc})") from None
    strokes = d.get("strokes") if isinstance(d, dict) else d
    try:
        out = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    except (TypeError, ValueError):
        raise PenbotError(f"{path}: JSON must be a list of strokes, each a list of [x, y] points") from None
    return out


def _inkml_polylines(path: Path) -> list[np.ndarray]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise PenbotError(f"{path}: not valid InkML ({exc})") from None
    out = []
    for trace in root.iter():
        if trace.tag.split("}")[-1] != "trace" or not (trace.text or "").strip():
            continue
        pts = []
        for chunk in trace.text.strip().split(","):
            vals = chunk.split()
            if len(vals) >= 2:
                try:
                    pts.append((float(vals[0]), float(vals[1])))
                except ValueError:
                    raise PenbotError(f"{path}: InkML trace with non-numeric point {chunk.strip()!r}") from None
        out.append(np.asarray(pts).reshape(-1, 2))
    return out


def read_strokes_file(path: str | Path) -> list[np.ndarray]:
    """Polylines (y down) from an SVG, a JSON list of strokes, or InkML."""
    path = Path(path)
    if not path.is_file():
        raise PenbotError(f"{path}: no such file")
    readers = {".svg": _svg_polylines, ".json": _json_polylines, ".inkml": _inkml_polylines, ".xml": _inkml_polylines}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise PenbotError(f"{path}: unknown stroke format (use .svg, .json or .inkml)")
    lines = [p for p in reader(path) if len(p) and np.isfinite(p).all()]
    if not lines or sum(len(p) for p in lines) < 5:
        raise PenbotError(f"{path}: no strokes found")
    return lines


def _resample(stroke: np.ndarray, step: float) -> np.ndarray:
    """Even arc-length spacing, so imported ink has the point density the model learned."""
    if len(stroke) < 2:
        return stroke
    seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    s = np.r_[0.0, np.cumsum(seg)]
    if s[-1] <= 0:
        return stroke[:1]
    n = max(2, int(round(s[-1] / step)) + 1)
    t = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(t, s, stroke[:, 0]), np.interp(t, s, stroke[:, 1])])


def style_from_polylines(name: str, text: str, polylines: list[np.ndarray], decimation: int = 3) -> Style:
    """Normalise a handwriting sample like the training data (level, height 1, origin)."""
    text = " ".join(text.split())
    if not text:
        raise PenbotError("a style needs the text its strokes say", about="style_text")
    bad = sorted({c for c in text if c not in DEFAULT_ALPHABET})
    if bad:
        raise PenbotError(f"style text has characters the model cannot write: {''.join(bad)!r}")
    norm = normalise_points([np.asarray(p, dtype=np.float64) for p in polylines], max_rotation_deg=12.0)
    norm = [decimate(_resample(p, RAW_STEP), decimation) for p in norm]
    strokes = Strokes.from_polylines(norm)
    off = strokes.offsets.copy()
    off[0, :2] = 0.0
    return Style(name, text, Strokes(off), "imported")


def import_style(name: str, path: str | Path, text: str, decimation: int = 3) -> Path:
    """Import a user's handwriting sample as style ``name`` (usable as ``--style name``)."""
    if not _NAME.match(name) or name.isdigit():
        raise PenbotError(f"style name {name!r}: use letters, digits, '-', '_' or '.', not only digits")
    style = style_from_polylines(name, text, read_strokes_file(path), decimation)
    return save_style(style, user_style_dir() / f"{name}.json")
