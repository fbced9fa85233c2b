"""G-code through vpype-gcode's ``gwrite`` and its TOML profiles (penbot ships two).

vpype-gcode 0.13 reads profiles from vpype's global configuration (``[gwrite.<name>]``),
so penbot's ``profiles/gcode.toml`` (and an optional user file) is loaded into
``vpype.config_manager`` before writing; then ``gwrite`` itself runs in-process on a
one-layer document, exactly as ``vpype ... gwrite -p <name>`` would.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from penbot.errors import PenbotError
from penbot.export.options import ExportOptions
from penbot.export.plotter import layers_document, plot_layers
from penbot.page import PageDrawing

__all__ = ["PENBOT_PROFILES", "load_profiles", "gcode_profiles", "write_gcode"]

PENBOT_PROFILES = Path(str(resources.files("penbot") / "profiles" / "gcode.toml"))


def load_profiles(extra: str | Path | None = None) -> None:
    """Load penbot's profiles (once) and ``extra`` (a user's vpype TOML) into vpype's config."""
    import vpype as vp
    import vpype_gcode.gwrite  # noqa: F401  (loads vpype-gcode's bundled profiles first)

    if "penbot_servo" not in vp.config_manager.config.get("gwrite", {}):
        vp.config_manager.load_config_file(str(PENBOT_PROFILES))
    if extra is not None:
        try:
            vp.config_manager.load_config_file(str(extra))
        except OSError as exc:
            raise PenbotError(f"{extra}: cannot read G-code profiles ({exc.strerror or exc})") from None
        except ValueError as exc:  # tomli's decode error
            raise PenbotError(f"{extra}: not a valid TOML file ({exc})") from None


def gcode_profiles(extra: str | Path | None = None) -> list[str]:
    """Names of every G-code profile vpype knows (penbot's, vpype-gcode's, the user's)."""
    import vpype as vp

    load_profiles(extra)
    return sorted(k for k, v in vp.config_manager.config.get("gwrite", {}).items() if isinstance(v, dict))


def write_gcode(page: PageDrawing, path: Path, opts: ExportOptions) -> None:
    from vpype_cli import State
    from vpype_gcode.gwrite import gwrite

    names = gcode_profiles(opts.gcode_config)
    if opts.gcode_profile not in names:
        raise PenbotError(f"unknown G-code profile {opts.gcode_profile!r}: known profiles are {', '.join(names)}")
    doc = layers_document(page, plot_layers(page, opts.optimise, opts.merge_tolerance_mm), opts.pens, opts.color,
                          opts.pen_width_mm)
    with open(path, "w", encoding="utf-8") as out:
        try:
            gwrite.callback(output=out, profile=opts.gcode_profile, default=())(State(doc))
        except Exception as exc:  # a broken user profile (bad template key, bad number)
            if isinstance(exc, OSError):
                raise
            raise PenbotError(f"G-code profile {opts.gcode_profile!r} failed: {exc}") from None
