"""One door from a user's settings to the options the library runs with.

Every front end (``penbot write``, each row of ``penbot batch``, ``vpype penbot``, the
studio) fills a ``Settings`` (the user's words: page names, margins as text, sizes in mm)
and calls ``write_options`` / ``export_options``. Defaults live here once; range checks
live in the option dataclasses they build, so every front end reports the same message.
Importing this module does not import torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from penbot.errors import PenbotError
from penbot.export.options import ExportOptions
from penbot.layout import LayoutOptions
from penbot.page import Page, parse_page
from penbot.pens import parse_pens
from penbot.quality import LineRules
from penbot.signature import SIGNATURE_HEIGHT_MM

if TYPE_CHECKING:
    from penbot.mailing import MailingOptions

__all__ = ["SampleOptions", "WriteOptions", "Settings", "ROW_SETTINGS", "write_options", "export_options",
           "mailing_options", "settings_from_strings", "MAX_SEED"]

MAX_SEED = 2**32 - 1
VERIFY_MAX_ERROR = 0.2  # with verify: a line read back with more character errors than this is re-sampled


def _number(name: str, value: object, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise PenbotError(f"{name} must be a number between {lo:g} and {hi:g}, got {value!r}")


@dataclass(frozen=True)
class SampleOptions:
    """How to sample. ``bias`` trades variety for neatness (Graves §5.4); ``temperature``
    scales the randomness that is left."""

    bias: float = 2.0
    temperature: float = 1.0
    seed: int = 0
    retries: int = 4  # extra attempts for a line that comes out bad
    max_steps_per_char: float = 24.0  # the data has ~7 points per character
    check: bool = True  # detect bad lines and re-sample them; give up with an error
    rules: LineRules = LineRules()  # what counts as a bad line
    verify: float | None = None  # re-sample a line a recogniser reads with a higher error rate (None: off)
    # lines longer than this are written in pieces after the same style sample (0: never)
    piece_chars: int = 30

    def __post_init__(self) -> None:
        _number("bias", self.bias, 0.0, 10.0)
        _number("temperature", self.temperature, 0.05, 3.0)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise PenbotError(f"seed must be a whole number from 0 to {MAX_SEED}, got {self.seed!r}")
        if self.retries < 0:
            raise PenbotError("retries must be >= 0")
        _number("steps per character", self.max_steps_per_char, 0.0, 1000.0)
        if isinstance(self.piece_chars, bool) or not isinstance(self.piece_chars, int) or self.piece_chars < 0:
            raise PenbotError(f"piece length must be a whole number of characters >= 0, got {self.piece_chars!r}")
        if self.verify is not None:
            _number("verify threshold", self.verify, 0.0, 1.0)


def _a4() -> Page:
    return parse_page("A4")


@dataclass(frozen=True)
class WriteOptions:
    """Everything that shapes the strokes of a document (export options shape only the file)."""

    style: str | None = "1"
    sample: SampleOptions = SampleOptions()
    page: Page = field(default_factory=_a4)
    layout: LayoutOptions = LayoutOptions()
    drop_unknown: bool = False


@dataclass(frozen=True)
class Settings:
    """A user's settings as a front end receives them; ``None`` keeps the library's default."""

    style: str | None = "1"  # number, user style name, style file, or "none"
    bias: float = SampleOptions.bias
    temperature: float = SampleOptions.temperature
    seed: int = 0
    page: str = "A4"
    orientation: str = "portrait"
    margins: str = "20mm"
    size: float = LayoutOptions.size_mm  # writing height, mm
    line_spacing: float = LayoutOptions.line_spacing_mm  # mm
    align: str = "left"
    indent: float = 0.0  # mm
    max_pages: int | None = None
    drop_unknown: bool = False
    verify: bool = False  # re-sample lines an OCR cannot read (extra 'ocr'; slower)
    pen_width: float = ExportOptions.pen_width_mm  # mm
    color: str = ExportOptions.color
    profile: str = ExportOptions.gcode_profile
    optimise: bool = True
    # a mailing's extras (``mailing_options``); empty = none
    envelope_size: str = ""  # DL, C6, C5, C4, #10 or WxH
    return_address: str = ""  # file with the sender's address, written top-left on the envelope
    signature: str = ""  # file of the sender's own signature strokes (SVG, JSON, InkML)
    signature_height: float = SIGNATURE_HEIGHT_MM  # mm
    pen: str = ""  # pens by layer, e.g. "text=1,signature=2:blue"


# what a batch row (or a studio request) may set, by its column name
ROW_SETTINGS = ("style", "bias", "temperature", "seed", "page", "orientation", "margins", "size", "line_spacing",
                "align", "indent")


def _style_name(style: str | None) -> str | None:
    if style is None:
        return None
    style = style.strip()
    return None if style.lower() in ("", "none") else style


def write_options(s: Settings, sample: SampleOptions | None = None) -> WriteOptions:
    """The ``WriteOptions`` that ``s`` stands for; PenbotError names a bad value.

    ``sample`` is the sampling options to start from (tests pass fast ones); its bias,
    temperature and seed are replaced by the settings'.
    """
    layout = LayoutOptions(size_mm=s.size, line_spacing_mm=s.line_spacing, align=s.align, indent_mm=s.indent,
                           max_pages=s.max_pages, seed=s.seed)
    base = sample if sample is not None else SampleOptions()
    return WriteOptions(
        style=_style_name(s.style),
        sample=replace(base, bias=s.bias, temperature=s.temperature, seed=s.seed,
                       verify=VERIFY_MAX_ERROR if s.verify else base.verify),
        page=parse_page(s.page, s.orientation, s.margins), layout=layout, drop_unknown=s.drop_unknown,
    )


def export_options(s: Settings, **extra: object) -> ExportOptions:
    """The ``ExportOptions`` for ``s`` (``extra``: fields no front end exposes as a setting)."""
    extra.setdefault("pens", parse_pens(s.pen).pens(s.color, s.pen_width))
    return ExportOptions(pen_width_mm=s.pen_width, color=s.color, gcode_profile=s.profile, optimise=s.optimise,
                         **extra)


def mailing_options(s: Settings, encoding: str = "utf-8", envelope: bool = False) -> MailingOptions:
    """The ``MailingOptions`` of ``s``: reads the signature and return-address files (PenbotError
    names a bad one). ``envelope``: the front end has an address template (its own input, with
    placeholders), so an envelope is wanted even without a size (then ``DEFAULT_ENVELOPE``)."""
    from penbot.envelope import DEFAULT_ENVELOPE, parse_envelope
    from penbot.mailing import MailingOptions
    from penbot.signature import read_signature

    back = ""
    if s.return_address:
        try:
            back = Path(s.return_address).read_text(encoding=encoding).strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or f"not {encoding} text"
            raise PenbotError(f"{s.return_address}: cannot read the return address ({why})") from None
        if not back:
            raise PenbotError(f"{s.return_address}: the return address is empty")
        if not (s.envelope_size or envelope):
            raise PenbotError("a return address is written on an envelope: give an envelope size")
    return MailingOptions(
        envelope=parse_envelope(s.envelope_size or DEFAULT_ENVELOPE) if s.envelope_size or envelope else None,
        return_address=back,
        signature=read_signature(s.signature) if s.signature else None,
        signature_height_mm=s.signature_height,
        pens=parse_pens(s.pen),
    )


_KINDS = {f.name: f.type for f in fields(Settings)}


def settings_from_strings(base: Settings, values: Mapping[str, str]) -> Settings:
    """``base`` with the non-empty ``values`` (names as in ``ROW_SETTINGS``, any case, ``-`` or
    ``_``) applied; numbers are parsed here. Unknown names are ignored (a CSV has other columns)."""
    changes: dict[str, object] = {}
    for column, raw in values.items():
        key = column.strip().lower().replace("-", "_")
        raw = raw.strip() if isinstance(raw, str) else raw
        if key not in ROW_SETTINGS or raw in ("", None):
            continue
        kind = _KINDS[key]
        try:
            if kind == "int":
                changes[key] = int(raw)
            elif kind == "float":
                value = float(raw)
                if not math.isfinite(value):
                    raise ValueError
                changes[key] = value
            else:
                changes[key] = str(raw)
        except ValueError:
            whole = " whole" if kind == "int" else ""
            raise PenbotError(f"{key} {raw!r} is not a{whole} number") from None
    return replace(base, **changes)
