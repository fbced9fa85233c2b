"""Reader for IAM-OnDB in its original layout (unpacked folders or the release tarballs).

Layout (see the database's README):
  lineStrokes/<a01>/<a01-000>/<a01-000u-01>.xml   one XML file per written line
  ascii/<a01>/<a01-000>/<a01-000u>.txt            transcription; line N of ``CSR:`` -> ``-NN.xml``
  writers.csv (optional, ``form,writer``) or original/**.xml with ``writerID`` attributes
Either tree may instead be ``lineStrokes-all.tar.gz`` / ``ascii-all.tar.gz`` in the folder.
"""

from __future__ import annotations

import csv
import re
import tarfile
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from penbot.errors import PenbotError

__all__ = ["RawLine", "ReadReport", "read_iamondb", "find_sources"]

_LINE_ID = re.compile(r"^([a-z]\d\d-\d\d\d[a-z]?)-(\d\d)$")
_WRITER_ID = re.compile(rb'writerID="([^"]+)"')


@dataclass(frozen=True)
class RawLine:
    """One written line as recorded: absolute points and end-of-stroke flags."""

    line_id: str  # e.g. a01-000u-01
    form: str  # e.g. a01-000u (the ascii file stem)
    writer: str | None
    text: str
    points: np.ndarray  # (N, 2) float32, whiteboard units, y down
    pen_up: np.ndarray  # (N,) bool, True on the last point of each stroke


@dataclass
class ReadReport:
    """What was read and what was skipped (file and reason), for ``penbot data stats``."""

    lines: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, name: str, why: str) -> None:
        self.skipped.append((name, why))


@dataclass(frozen=True)
class _Sources:
    strokes: Callable[[], Iterator[tuple[str, bytes]]]
    texts: Callable[[], Iterator[tuple[str, bytes]]]
    writers: dict[str, str]


def _iter_dir(root: Path, suffix: str) -> Iterator[tuple[str, bytes]]:
    for path in sorted(root.rglob(f"*{suffix}")):
        yield path.name, path.read_bytes()


def _iter_tar(path: Path, suffix: str) -> Iterator[tuple[str, bytes]]:
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(suffix):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        yield Path(member.name).name, handle.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        lines = [ln.strip(" -") for ln in str(exc).splitlines() if ln.strip(" -")]
        why = lines[0].rstrip(":") if lines else type(exc).__name__  # tarfile lists every method it tried
        raise PenbotError(f"{path}: cannot read archive ({why[:100]}; is it a complete .tar.gz?)") from None


def _tree(root: Path, name: str, suffix: str) -> Callable[[], Iterator[tuple[str, bytes]]] | None:
    folder, archive = root / name, root / f"{name}-all.tar.gz"
    if folder.is_dir():
        return lambda: _iter_dir(folder, suffix)
    if archive.is_file():
        return lambda: _iter_tar(archive, suffix)
    return None


def _read_writers(root: Path) -> dict[str, str]:
    """form -> writer id from writers.csv, else from the original form XML files."""
    table = root / "writers.csv"
    writers: dict[str, str] = {}
    if table.is_file():
        with table.open(newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                form, writer = (row.get("form") or "").strip(), (row.get("writer") or "").strip()
                if form and writer:
                    writers[form] = writer
        return writers
    original = _tree(root, "original", ".xml") or _tree(root, "original-xml", ".xml")
    if original is None:
        return writers
    for _name, data in original():
        ids = _WRITER_ID.findall(data)
        form = re.search(rb'<Form[^>]*\bid="([^"]+)"', data)
        if ids and form:
            writers[form.group(1).decode()] = ids[0].decode()
    return writers


def find_sources(root: str | Path) -> _Sources:
    """Locate the stroke and text trees under ``root`` or raise a one-line error."""
    root = Path(root)
    if not root.is_dir():
        raise PenbotError(f"{root}: not a folder")
    strokes = _tree(root, "lineStrokes", ".xml")
    texts = _tree(root, "ascii", ".txt")
    if strokes is None or texts is None:
        missing = [n for n, t in (("lineStrokes", strokes), ("ascii", texts)) if t is None]
        raise PenbotError(
            f"{root}: not an IAM-OnDB layout (missing {' and '.join(missing)}/ "
            "folder or -all.tar.gz archive)"
        )
    return _Sources(strokes, texts, _read_writers(root))


def _decode_text(name: str, data: bytes, report: ReadReport) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        report.skip(name, "not UTF-8 text; read as Latin-1")
        return data.decode("latin-1")


def parse_csr(text: str) -> list[str] | None:
    """The ``CSR:`` section's non-empty lines, or None when the section is missing."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "CSR:")
    except StopIteration:
        return None
    out = [line.strip() for line in lines[start + 1 :]]
    return [line for line in out if line]


def parse_strokes(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse one lineStrokes XML file into ``(points, pen_up)``; raises ValueError."""
    root = ET.fromstring(data)
    pts: list[tuple[float, float]] = []
    ends: list[bool] = []
    for stroke in root.iter("Stroke"):
        sp = [(float(p.attrib["x"]), float(p.attrib["y"])) for p in stroke.iter("Point")]
        if not sp:
            continue
        pts.extend(sp)
        ends.extend([False] * (len(sp) - 1) + [True])
    return np.asarray(pts, dtype=np.float32).reshape(-1, 2), np.asarray(ends, dtype=bool)


def read_iamondb(
    root: str | Path, report: ReadReport | None = None, progress: Callable[[int], None] | None = None
) -> Iterator[RawLine]:
    """Yield every line that has both ink and a transcription; record the rest in ``report``."""
    src = find_sources(root)
    report = report if report is not None else ReadReport()
    texts: dict[str, list[str]] = {}
    for name, data in src.texts():
        csr = parse_csr(_decode_text(name, data, report) or "")
        if csr is None:
            report.skip(name, "no CSR: section")
            continue
        texts[Path(name).stem] = csr
    for count, (name, data) in enumerate(src.strokes(), 1):
        if progress is not None:
            progress(count)
        line_id = Path(name).stem
        match = _LINE_ID.match(line_id)
        if not match:
            report.skip(name, "file name is not <form>-NN.xml")
            continue
        form, number = match.group(1), int(match.group(2))
        csr = texts.get(form)
        if csr is None:
            report.skip(name, f"no transcription {form}.txt")
            continue
        if number > len(csr):
            report.skip(name, f"no line {number} in the CSR section of {form}.txt")
            continue
        try:
            points, pen_up = parse_strokes(data)
        except (ET.ParseError, KeyError, ValueError) as exc:
            report.skip(name, f"malformed XML ({str(exc) or type(exc).__name__})")
            continue
        report.lines += 1
        writer = src.writers.get(form) or src.writers.get(form.rstrip("abcdefghijklmnopqrstuvwxyz"))
        yield RawLine(line_id, form, writer, csr[number - 1], points, pen_up)

