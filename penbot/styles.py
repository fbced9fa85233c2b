"""Styles: short stroke samples with their text, read by the model before it writes.

Shipped styles live in ``styles/NN.json`` (made from the model's own samples, never from
database lines); a user's own styles are imported from SVG, JSON or InkML into the user
data folder (``$PENBOT_HOME/styles`` or ``~/.local/share/penbot/styles``).
"""

from __future__ import annotations

import io
import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from penbot.atomic import atomic_write_text
from penbot.data.clean import CleanConfig, decimate, normalise_points
from penbot.errors import PenbotError
from penbot.handfeatures import HandFeatures, hand_features
from penbot.strokes import Prime, Strokes
from penbot.text import DEFAULT_ALPHABET, fold_text

if TYPE_CHECKING:
    from penbot.runtime import StepRunner

__all__ = ["Style", "load_style", "style_file", "list_styles", "import_style", "save_style", "user_style_dir",
           "read_strokes_file", "check_style_name", "ink_problems", "MAX_STYLE_BYTES", "MAX_STYLE_POINTS",
           "MAX_STYLE_TEXT"]

# Median pen-down step of the training data in normalised units per kept point
# (0.061 per raw point; the shipped model keeps every 3rd point: 0.18).
RAW_STEP = 0.0607
ADVANCE_RATIO = 0.78  # written advance per character / the style sample's own
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_RESERVED = {"none"}  # ``--style none`` means no style: a user style of that name could never be used
# A style is a sentence or two: a real sample of 500 characters is ~10,000 recorded points
# and ~200 kB; beyond these limits a file is not a handwriting sample (and would make every
# line read it first, and ``styles list`` parse it).
MAX_STYLE_BYTES = 2_000_000
MAX_STYLE_POINTS = 20_000
MAX_STYLE_TEXT = 500
MAX_LEAN = 0.3  # about 17 degrees of shear: a larger correction means the calibration failed


@dataclass(frozen=True)
class Style:
    name: str
    text: str
    strokes: Strokes  # normalised: height 1, starts at the origin, model point density
    source: str = ""
    writes: HandFeatures | None = None  # measured on what the model writes with it (shipped styles)
    lean: float = 0.0  # keep a user's hand's slant and width (``penbot.calibrate``); see ``Prime``
    stretch: float = 1.0
    written_advance: float | None = None  # advance per character of lines written in it, if measured

    def prime(self) -> Prime:
        return Prime(self.text, self.strokes, self.lean, self.stretch)

    def advance(self) -> float | None:
        """Likely advance per character of lines written in this hand, in model units (the
        layout's first guess), or None for an empty sample. The model writes about
        ``ADVANCE_RATIO`` of its sample's own advance (README "Layout" has the measurement);
        a calibrated style has it measured (a human sample's ratio varies more)."""
        if self.written_advance is not None:
            return self.written_advance
        xs = self.strokes.points[:, 0]
        if not len(xs) or not self.text.strip():
            return None
        return float(np.ptp(xs)) / len(self.text) * ADVANCE_RATIO

    def features(self) -> HandFeatures:
        """How the hand writes: measured at make time, else the sample's own features."""
        return self.writes if self.writes is not None else hand_features(self.strokes, self.text)

    def to_json(self) -> str:
        d = {"name": self.name, "text": self.text, "source": self.source}
        if self.writes is not None:
            d["writes"] = {k: round(v, 3) for k, v in asdict(self.writes).items()}
        if self.lean:
            d["lean"] = round(self.lean, 4)
        if self.stretch != 1.0:
            d["stretch"] = round(self.stretch, 4)
        if self.written_advance is not None:
            d["advance"] = round(self.written_advance, 4)
        return json.dumps({**d, "strokes": np.round(self.strokes.offsets, 4).tolist()})


def check_style_name(name: object) -> str:
    """The rule for a user style's name (``penbot styles add``, the studio): a safe file name that
    cannot be mistaken for a shipped style's number or for "none"."""
    if not isinstance(name, str) or not _NAME.match(name) or name.isdigit() or name.lower() in _RESERVED:
        shown = str(name)[:80]
        raise PenbotError(f"style name {shown!r}: use 1-64 letters, digits, '-', '_' or '.', starting with a letter "
                          "or digit, not only digits and not 'none'", about="style_name")
    return name


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


def _read_small(path: Path, what: str) -> bytes:
    """The bytes of a style (or sample) file, refusing one too large to be a handwriting sample."""
    try:
        size = path.stat().st_size
        if size > MAX_STYLE_BYTES:
            raise PenbotError(f"{path}: {size / 1e6:.1f} MB is too large for a {what} "
                              f"(at most {MAX_STYLE_BYTES / 1e6:g} MB)", about="style_size")
        with path.open("rb") as fh:
            return fh.read(MAX_STYLE_BYTES + 1)[:MAX_STYLE_BYTES]
    except OSError as exc:
        raise PenbotError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None


def _style_json(path: Path) -> dict:
    try:
        d = json.loads(_read_small(path, "style file").decode("utf-8"))
        if not isinstance(d, dict):
            raise TypeError("not an object")
        return d
    except (ValueError, TypeError, RecursionError) as exc:
        why = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise PenbotError(f"{path}: not a readable style file ({type(exc).__name__}: {why})") from None


def _parse_style(path: Path) -> Style:
    d = _style_json(path)
    try:
        off = np.asarray(d["strokes"], dtype=np.float64)
        text = str(d["text"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PenbotError(f"{path}: not a readable style file ({type(exc).__name__}: {str(exc)[:80]})") from None
    if not text.strip():
        raise PenbotError(f"{path}: style has no text")
    if off.ndim != 2 or off.shape[1] != 3 or len(off) < 5 or not np.isfinite(off).all():
        raise PenbotError(f"{path}: style strokes are broken (need rows of dx, dy, pen_up)")
    if len(off) > MAX_STYLE_POINTS or len(text) > MAX_STYLE_TEXT:
        raise PenbotError(f"{path}: style too long ({len(off):,} points, {len(text)} characters; at most "
                          f"{MAX_STYLE_POINTS:,} and {MAX_STYLE_TEXT})", about="style_size")
    bad = sorted({c for c in text if c not in DEFAULT_ALPHABET})
    if bad:
        raise PenbotError(f"{path}: style text has characters the model cannot write: {''.join(bad)!r}")
    return Style(str(d.get("name") or path.stem), text, Strokes(off), str(d.get("source", "")), _writes(d),
                 _number(d, "lean", path, 0.0, -MAX_LEAN, MAX_LEAN), _number(d, "stretch", path, 1.0, 0.5, 2.0),
                 _number(d, "advance", path, None, 0.05, 3.0))


def _writes(d: dict) -> HandFeatures | None:
    w = d.get("writes")
    try:
        return HandFeatures(**{k: float(v) for k, v in w.items()}) if isinstance(w, dict) else None
    except (TypeError, ValueError):
        return None


def _number(d: dict, key: str, path: Path, default: float | None, lo: float, hi: float) -> float | None:
    """A calibration number of a style file (``default`` when absent), range-checked: the
    lean, stretch and measured advance that ``penbot.calibrate`` stores."""
    if d.get(key) is None:
        return default
    try:
        value = float(d[key])
    except (TypeError, ValueError):
        raise PenbotError(f"{path}: style {key} is not a number") from None
    if not lo <= value <= hi:
        raise PenbotError(f"{path}: style {key} {value:g} is out of range ({lo:g} to {hi:g})")
    return value


def list_styles() -> list[tuple[str, Path]]:
    """``(name, file)`` of shipped styles (numbers) then user styles (names)."""
    out = []
    shipped = _shipped_dir()
    if shipped is not None:
        out += sorted(((p.stem, p) for p in shipped.glob("*.json")), key=lambda t: (len(t[0]), t[0]))
    user = user_style_dir()
    try:
        if user.is_dir():
            out += sorted((p.stem, p) for p in user.glob("*.json") if p.is_file())
    except OSError:  # an unreadable folder holds no styles we can use
        pass
    return out


def style_file(name: str | int | None) -> Path | None:
    """The file a style name stands for (shipped number, user style name, or path to a
    style JSON); None for no style. PenbotError naming the available styles if unknown."""
    if name is None or str(name).strip().lower() in _RESERVED | {""}:
        return None
    key = str(name).strip()
    if key.endswith(".json") and Path(key).is_file():
        return Path(key)
    styles = dict(list_styles())
    if key.isdigit():
        key = str(int(key))
    if key in styles:
        return styles[key]
    names = ", ".join(styles) or "none installed"
    raise PenbotError(f"unknown style {name!r} (available: {names})")


def load_style(name: str | int | None) -> Style | None:
    """A style by shipped number, user style name, or path to a style JSON; None = unprimed."""
    path = style_file(name)
    return _parse_style(path) if path is not None else None


def save_style(style: Style, path: Path) -> Path:
    """Write the style atomically; PenbotError (naming the folder) when it cannot be written."""
    try:
        atomic_write_text(path, style.to_json())
    except OSError as exc:
        raise PenbotError(f"cannot save style {style.name!r} in {Path(path).parent} ({exc.strerror or exc})",
                          about="style_save") from None
    return path


# --- importing a user's own handwriting ---------------------------------------------------

# Handwriting is drawn with paths and polylines; shapes (rect, circle, polygon), text, images
# and referenced content (use, defs) are page furniture, never the sample's ink.
_SVG_KEEP = {"svg", "g", "a", "switch", "path", "polyline", "line", "title", "desc", "metadata"}


def _svg_strokes_only(data: bytes, path: Path) -> str:
    """The SVG with every element that is not a stroke (or a group of strokes) removed."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise PenbotError(f"{path}: cannot read SVG ({exc})") from None

    def local(tag: object) -> str:
        return tag.split("}")[-1] if isinstance(tag, str) else ""

    if local(root.tag) != "svg":
        raise PenbotError(f"{path}: not an SVG file (its root element is <{local(root.tag)}>)")
    for parent in list(root.iter()):
        for child in list(parent):
            style = (child.get("style") or "").replace(" ", "")
            unstroked = child.get("stroke") == "none" or "stroke:none" in style
            if local(child.tag) not in _SVG_KEEP or (unstroked and local(child.tag) != "g"):
                parent.remove(child)
    return ET.tostring(root, encoding="unicode")


def _svg_polylines(path: Path) -> list[np.ndarray]:
    import vpype as vp

    svg = _svg_strokes_only(_read_small(path, "handwriting sample"), path)
    try:
        lc, _w, _h = vp.read_svg(io.StringIO(svg), quantization=0.1)
    except Exception as exc:  # vpype/svgelements raise many types on bad SVG
        why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise PenbotError(f"{path}: cannot read SVG ({why})") from None
    return [np.column_stack([line.real, line.imag]) for line in lc]


def _json_polylines(path: Path) -> list[np.ndarray]:
    try:
        d = json.loads(_read_small(path, "handwriting sample").decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise PenbotError(f"{path}: not valid JSON ({str(exc)[:80]})") from None
    strokes = d.get("strokes") if isinstance(d, dict) else d
    try:
        out = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    except (TypeError, ValueError, RecursionError):
        raise PenbotError(f"{path}: JSON must be a list of strokes, each a list of [x, y] points") from None
    return out


def _inkml_polylines(path: Path) -> list[np.ndarray]:
    try:
        root = ET.fromstring(_read_small(path, "handwriting sample"))
    except ET.ParseError as exc:
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
        raise PenbotError(f"{path}: no strokes found (a sample is paths or polylines; shapes and text are ignored)")
    _check_points(lines, str(path))
    return lines


def _check_points(polylines: list[np.ndarray], what: str) -> None:
    total = sum(len(p) for p in polylines)
    if total > MAX_STYLE_POINTS:
        raise PenbotError(f"{what}: {total:,} points is too many for a handwriting sample "
                          f"(at most {MAX_STYLE_POINTS:,}: a sentence or two)", about="style_size")


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
    """Normalise a handwriting sample like the training data (level, height 1, origin), stored at
    the model's point density (resampled to the data's pen step, then every ``decimation``-th point).

    The text is folded as ``penbot write`` folds it (``é`` -> ``e``), so a sample may say what
    a letter may say.
    """
    if not text or not text.strip():
        raise PenbotError("a style needs the text its strokes say", about="style_text")
    try:
        text = " ".join(fold_text(text).text.split())
    except PenbotError as exc:
        raise PenbotError(f"style text: {exc}", about=exc.about) from None
    if len(text) > MAX_STYLE_TEXT:
        raise PenbotError(f"style text is {len(text)} characters long; a sample of a sentence or two "
                          f"(at most {MAX_STYLE_TEXT}) is enough", about="style_size")
    _check_points(polylines, "the sample")
    norm = normalise_points([np.asarray(p, dtype=np.float64) for p in polylines], max_rotation_deg=12.0)
    length = sum(float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) for p in norm if len(p) > 1)
    if length / RAW_STEP > 4 * MAX_STYLE_POINTS:  # resampling would make more points than any sample has
        raise PenbotError(f"the sample's ink is {length:,.0f} line heights long: far too long for a handwriting "
                          "sample (is its height tiny beside its width?)", about="style_size")
    norm = [decimate(_resample(p, RAW_STEP), decimation) for p in norm]
    strokes = Strokes.from_polylines(norm)
    off = strokes.offsets.copy()
    off[0, :2] = 0.0
    return Style(name, text, Strokes(off), "imported")


def ink_problems(style: Style, decimation: int = 3, clean: CleanConfig = CleanConfig()) -> list[str]:
    """Why the style's ink cannot be its text, by the rule the data cleaning drops lines with
    (width and points per character, ``penbot.data.clean``); empty when it can.

    A sample that does not say its text makes the model finish the sample's text at the start
    of every line, then write the line: the wrong words, with no error.
    """
    n = max(1, len(style.text))
    x0, _, x1, _ = style.strokes.bounds()
    width, points = (x1 - x0) / n, len(style.strokes) * decimation / n  # points at the recording's density
    (w_lo, w_hi), (p_lo, p_hi) = clean.width_per_char, clean.points_per_char
    problems = []
    if not w_lo <= width <= w_hi:
        problems.append(f"the ink is {'too narrow' if width < w_lo else 'too wide'} for its {n} characters "
                        f"({width:.2f} line heights per character; handwriting has {w_lo:g}-{w_hi:g})")
    if not p_lo <= points <= p_hi:
        problems.append(f"the ink has {'too little' if points < p_lo else 'too much'} writing for its {n} characters "
                        f"(does the sample say exactly the text given?)")
    return problems


def import_style(name: str, path: str | Path, text: str, decimation: int = 3, force: bool = False,
                 model: StepRunner | None = None) -> Path:
    """Import a user's handwriting sample as style ``name`` (usable as ``--style name``).

    Refuses a sample whose ink cannot be its text, and an existing style of that name
    unless ``force``. With a ``model``, the style is calibrated with it (``penbot.calibrate``:
    what is written after it keeps the sample's slant and width).
    """
    check_style_name(name)
    target = user_style_dir() / f"{name}.json"
    if target.exists() and not force:
        raise PenbotError(f"a style called {name!r} exists already ({target})", about="style_exists")
    style = style_from_polylines(name, text, read_strokes_file(path), decimation)
    problems = ink_problems(style, decimation)
    if problems:
        raise PenbotError(f"{path}: the sample does not look like {style.text!r}: {problems[0]}", about="style_ink")
    if model is not None:
        from penbot.calibrate import calibrate  # the sampler: reading and listing styles do not need it

        style = calibrate(model, [style])[0]
    return save_style(style, target)
