"""Atomic file writing: a reader (or a crash) never sees a half-written output file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from penbot.errors import PenbotError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_path", "atomic_paths", "check_writable"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    On any error (or Ctrl-C) the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _temp_beside(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


@contextmanager
def atomic_paths(paths: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Yield a temporary path beside each of ``paths``; on success move them all into place.

    All files change or none: a target that is a folder fails before anything is written,
    and if a rename still fails, the files already moved are put back as they were. On
    any error the temporary files are removed; the ``OSError`` names the target.
    """
    targets = [Path(p) for p in paths]
    for t in targets:
        if t.is_dir():
            raise IsADirectoryError(21, "a folder has that name", str(t))
    tmps: list[Path] = []
    try:
        for t in targets:
            t.parent.mkdir(parents=True, exist_ok=True)
            tmps.append(_temp_beside(t))
        yield list(tmps)
        mode = 0o666 & ~_umask()  # mkstemp makes 0600; outputs get the usual mode
        for tmp in tmps:
            os.chmod(tmp, mode)
        _commit(targets, tmps)
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def _commit(targets: list[Path], tmps: list[Path]) -> None:
    """Rename every temporary file over its target, keeping the old files aside until all are in."""
    done: list[tuple[Path, Path | None]] = []  # (target, its old file moved aside, or None)
    try:
        for target, tmp in zip(targets, tmps, strict=True):
            old = None
            if target.is_file():
                old = _temp_beside(target)
                os.replace(target, old)
            done.append((target, old))
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(target)) from None
    except BaseException:
        for target, old in reversed(done):  # undo: the old files come back, new ones go
            if old is not None:
                os.replace(old, target)
            else:
                target.unlink(missing_ok=True)
        raise
    for _target, old in done:
        if old is not None:
            old.unlink(missing_ok=True)


def check_writable(folder: str | Path) -> Path:
    """Prove a file can be created in ``folder`` before any work is done, without leaving
    anything behind: a folder that does not exist yet is not made here (the first written
    file makes it), its nearest existing parent is tested instead.

    PenbotError (one line) for a read-only folder, a full disk, or a file in the way.
    """
    folder = Path(folder)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        if not probe.is_dir():
            raise NotADirectoryError(20, "a file is in the way", str(probe))
        _temp_beside(probe / "penbot-write-test").unlink()
    except OSError as exc:
        raise PenbotError(f"{folder}: cannot write in this folder ({exc.strerror or exc})", about="output") from None
    return folder


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))
