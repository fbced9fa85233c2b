"""The resume record of a mailing: which output files a run wrote, with their sizes and a key.

``.penbot-batch.json`` in the output folder maps each output name to the files written
for it, their sizes, and a hash of everything that shapes them (letter text, options,
style strokes, export options, model weights). A letter is complete, and skipped on a
rerun, when its entry has the same key and all its files exist with the recorded sizes.
The record is written atomically after every chunk; a damaged one means "rewrite all".
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from penbot.atomic import atomic_write_text
from penbot.errors import PenbotError

__all__ = ["MANIFEST", "load_manifest", "save_manifest", "is_complete", "remove_stale_temps"]

MANIFEST = ".penbot-batch.json"


def load_manifest(folder: Path) -> dict[str, dict]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        entries = data["letters"]
        return {str(k): v for k, v in entries.items() if isinstance(v, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # missing or damaged: every letter is rewritten, which is always safe


def save_manifest(folder: Path, entries: dict[str, dict]) -> None:
    """JSON with one letter per line, so the file stays readable (and diffable) by eye.

    Written atomically: a failure (full disk, read-only folder) leaves the previous record
    whole, so the next run still skips what it lists; PenbotError says so in one line.
    """
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(entries.items()))
    try:
        atomic_write_text(folder / MANIFEST, '{"version": 1, "letters": {\n' + rows + "\n}}\n")
    except OSError as exc:
        raise PenbotError(f"{folder / MANIFEST}: cannot save the resume record ({exc.strerror or exc})",
                          about="disk") from None


def is_complete(folder: Path, entry: dict | None, key: str) -> bool:
    if not entry or entry.get("key") != key or not entry.get("files"):
        return False
    try:
        return all((folder / name).stat().st_size == size for name, size in entry["files"])
    except (OSError, TypeError, ValueError):
        return False


def remove_stale_temps(folder: Path, names: Sequence[str]) -> None:
    """Temp files (``.NAME.XXXX.tmp``) that a killed run left beside our outputs or their pages.

    Ctrl-C cleans up after itself (``penbot.atomic``); SIGKILL cannot.
    """
    if not folder.is_dir():
        return
    ours = {Path(n).stem.casefold() for n in (*names, MANIFEST)}
    for p in folder.glob(".*.tmp"):
        m = re.fullmatch(r"\.(.+)\.[^.]+\.tmp", p.name)
        if m and p.is_file():
            stem = Path(m.group(1)).stem.casefold()
            if stem in ours or re.sub(r"-\d+$", "", stem) in ours:
                p.unlink(missing_ok=True)
