"""Mail merge: one handwritten letter per CSV row, written many at a time, resumable.

``plan_batch`` reads and checks everything (CSV, template, output pattern, per-row
options) before any work starts, so a bad command fails in one line; ``run_batch`` then
writes the letters in chunks through ``write_documents`` (the lines of all letters of a
chunk share one batched sampling loop) and exports each one. A bad row fails on its own
and is listed in ``errors.csv``; the resume record is ``penbot.manifest``. The rules for
rows, encodings, per-row options and safe output names are in the README ("Mail merge").
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import string
import time
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from penbot.atomic import atomic_write_text, check_writable
from penbot.errors import PenbotError
from penbot.export import WRITERS, ExportOptions, check_export, output_paths, write_pages
from penbot.mailing import MailingOptions, write_mail
from penbot.manifest import MANIFEST, is_complete, load_manifest, remove_stale_temps, save_manifest
from penbot.options import SampleOptions, Settings, WriteOptions, export_options, settings_from_strings, write_options
from penbot.plottime import PlotTime, mailing_plot, plot_entry
from penbot.runtime import StepRunner, as_runner
from penbot.signature import SIGNATURE_MARK
from penbot.styles import load_style
from penbot.write import open_model, write_documents

__all__ = [
    "LETTER", "BatchPlan", "Letter", "RowError", "BatchProgress", "BatchSummary",
    "plan_batch", "run_batch", "safe_stem", "MANIFEST", "ERRORS",
]

ERRORS = "errors.csv"
MAX_NAME_BYTES = 150
_UNSAFE = set('/\\:*?"<>|')
_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


LETTER = Settings(max_pages=1)  # a letter that needs more pages fails


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (header not counted); 0 for a problem with no row
    output: str  # output file name, "" when none could be made
    error: str


@dataclass(frozen=True)
class Letter:
    row: int
    line: int  # CSV line the row ends on, for messages
    output: str  # file name inside the output folder
    text: str
    options: WriteOptions
    style_digest: str = ""  # hash of the style's strokes: an edited style file rewrites its letters
    envelope: str = ""  # the envelope's address text ("" = no envelope)
    envelope_output: str = ""  # the envelope's file name, beside the letter


@dataclass(frozen=True)
class BatchPlan:
    folder: Path
    letters: tuple[Letter, ...]
    errors: tuple[RowError, ...]  # rows that failed before writing
    rows: int
    inputs: tuple[Path, ...] = ()  # the CSV and template: never overwritten


@dataclass(frozen=True)
class BatchProgress:
    total: int  # letters to write in this run (skipped ones and rows failed in planning excluded)
    done: int
    failed: int  # rows failed so far, those failed in planning included
    skipped: int
    eta_s: float | None
    step: int = 0  # position in the current chunk's sampling loop
    steps: int = 0


@dataclass(frozen=True)
class BatchSummary:
    rows: int
    done: int
    skipped: int
    failed: int
    seconds: float
    errors: tuple[RowError, ...]
    outputs: tuple[Path, ...]
    notices: tuple[tuple[int, str], ...] = ()
    errors_csv: Path | None = None
    plot: PlotTime | None = None  # the whole mailing's plot time (plotter outputs; skipped letters included)

    @property
    def ok(self) -> bool:
        return self.failed == 0


# --- names ------------------------------------------------------------------------------

def _clean(text: str) -> str:
    text = " ".join(text.split())
    return "".join(
        "_" if ch in _UNSAFE or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else ch
        for ch in unicodedata.normalize("NFC", text)
    )


def safe_stem(stem: str, row: int = 0) -> str:
    """A file name stem that stays inside its folder on POSIX, Windows and macOS."""
    stem = _clean(stem).strip(" .")
    if stem.split(".")[0].strip().lower() in _DEVICES:
        stem = "_" + stem
    raw = stem.encode("utf-8")
    if len(raw) > MAX_NAME_BYTES:
        stem = raw[:MAX_NAME_BYTES].decode("utf-8", "ignore").rstrip(" .")
    return stem or f"row-{row}"


def _unique(stem: str, suffix: str, taken: set[str]) -> str:
    name, k = stem + suffix, 1
    while name.casefold() in taken:
        k += 1
        name = f"{stem}-{k}{suffix}"
    taken.add(name.casefold())
    return name


# --- templates --------------------------------------------------------------------------

Fields = list[tuple[str, str | None, str, str | None]]


def _parse_fields(text: str, what: str) -> Fields:
    """``string.Formatter`` pieces; placeholders must name a column (no ``{}``/``{0}``)."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PenbotError(f"{what}: {exc} (write {{{{ and }}}} for literal braces)") from None
    for _lit, name, spec, conv in parts:
        if name is None:
            continue
        if not name.strip() or name.isdigit():
            raise PenbotError(f"{what}: placeholder {{{name}}} needs a column name, like {{first_name}}")
        if conv not in (None, "s", "r", "a"):
            raise PenbotError(f"{what}: unknown conversion !{conv} in {{{name}}}")
        if "{" in spec:
            raise PenbotError(f"{what}: nested placeholders in {{{name}:{spec}}} are not supported")
        try:
            format("", spec)
        except ValueError as exc:
            raise PenbotError(f"{what}: {{{name}:{spec}}}: {exc} (values are text: use e.g. {{{name}:0>3}})") from None
    return parts


def _used(parts: Fields) -> list[str]:
    return list(dict.fromkeys(name for _l, name, _s, _c in parts if name is not None))


def _render(parts: Fields, values: dict[str, str], clean: Callable[[str], str] = str) -> str:
    out = []
    for lit, name, spec, conv in parts:
        out.append(lit)
        if name is not None:
            value = values[name]
            value = repr(value) if conv == "r" else ascii(value) if conv == "a" else value
            out.append(clean(format(value, spec)))
    return "".join(out)


def _split_pattern(pattern: str) -> tuple[Path, Fields, str]:
    """``out/{id}-{name}.svg`` -> (folder, file-name fields without suffix, ``.svg``)."""
    pattern = str(pattern)
    cut = max(pattern.rfind("/"), pattern.rfind(os.sep))
    folder_text, name = pattern[: cut + 1], pattern[cut + 1:]
    folder_parts = _parse_fields(folder_text, "output folder") if folder_text else []
    if any(n is not None for _l, n, _s, _c in folder_parts):
        raise PenbotError(f"output pattern {pattern!r}: placeholders are allowed only in the file name, not the folder")
    folder = Path("".join(lit for lit, *_ in folder_parts) or ".")
    parts = _parse_fields(name, "output pattern")
    if not _used(parts):
        raise PenbotError(f"output pattern {pattern!r} has no {{column}} placeholder: every row would write one file")
    last_lit = parts[-1][0] if parts[-1][1] is None else ""
    suffix = Path("x" + last_lit).suffix
    if suffix.lower() not in WRITERS:
        kinds = ", ".join(WRITERS)
        raise PenbotError(f"output pattern {pattern!r}: the file name must end in a literal extension ({kinds})")
    parts = [*parts[:-1], (last_lit[: -len(suffix)], None, "", None)]
    return folder, parts, suffix.lower()


# --- reading ----------------------------------------------------------------------------

def _decode(path: Path, encoding: str, what: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PenbotError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise PenbotError(f"{path}: cannot read {what} ({exc.strerror})") from None
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return data.decode(codec)
    except LookupError:
        raise PenbotError(f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252)") from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = "save it as UTF-8, or read it as latin-1 (or cp1252)" if codec == "utf-8-sig" else \
            "check the encoding"
        raise PenbotError(
            f"{path}: not valid {encoding} at line {line}, column {col} (byte 0x{data[exc.start]:02x}); {hint}"
        ) from None


def _read_csv(path: Path, encoding: str) -> tuple[list[str], list[tuple[int, int, list[str]]]]:
    """Header and ``(row number, CSV line, fields)`` of every non-blank record."""
    text = _decode(path, encoding, "CSV file")
    if not text.strip():
        raise PenbotError(f"{path}: the CSV file is empty (it needs a header line of column names)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = []
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                records.append((reader.line_num, fields))
    except csv.Error as exc:
        raise PenbotError(f"{path}: line {reader.line_num}: broken CSV ({exc})") from None
    if not records:
        raise PenbotError(f"{path}: the CSV file is empty")
    header = [h.strip() for h in records[0][1]]
    for i, name in enumerate(header, 1):
        if not name:
            raise PenbotError(f"{path}: column {i} of the header has no name (is the first line a header?)")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise PenbotError(f"{path}: duplicate column name(s) in the header: {', '.join(dupes)}")
    rows = [(n, line, fields) for n, (line, fields) in enumerate(records[1:], 1)]
    if not rows:
        raise PenbotError(f"{path}: the CSV file has a header but no rows")
    return header, rows


def _check_columns(used: Sequence[str], header: Sequence[str], what: str, path: Path) -> None:
    missing = [c for c in used if c not in header]
    if missing:
        hint = " (is the first line a header?)" if len(missing) == len(used) else ""
        raise PenbotError(
            f"{what} uses {', '.join('{' + c + '}' for c in missing)} but {path} has no such column "
            f"(columns: {', '.join(header)}){hint}"
        )


# --- options ----------------------------------------------------------------------------

def _row_settings(settings: Settings, values: dict[str, str], row: int) -> Settings:
    """``settings`` with the row's non-empty option cells applied; PenbotError names the bad one.

    A row with no seed of its own gets one from the command's seed and its row number, so
    letters sharing a sentence do not share its strokes.
    """
    own = settings_from_strings(settings, values)
    if not any(k.strip().lower() == "seed" and v.strip() for k, v in values.items()):
        own = replace(own, seed=zlib.crc32(f"{settings.seed}:{row}".encode()) & 0x7FFFFFFF)
    return own


def _style_digest(name: str | None, seen: dict[str, str | PenbotError]) -> str:
    """A hash of the style's strokes and text ("" for none); PenbotError for an unknown style."""
    if name is None:
        return ""
    if name not in seen:
        try:
            style = load_style(name)
            seen[name] = hashlib.sha256(style.to_json().encode()).hexdigest() if style is not None else ""
        except PenbotError as exc:
            seen[name] = exc
    if isinstance(seen[name], PenbotError):
        raise seen[name]
    return seen[name]


def _mark_signature(parts: Fields) -> Fields:
    """``{signature}`` becomes the signature's mark (where it goes), not a column."""
    return [(lit + SIGNATURE_MARK, None, "", None) if name == "signature" else (lit, name, spec, conv)
            for lit, name, spec, conv in parts]


def _envelope_fields(path: Path, encoding: str) -> Fields:
    text = _decode(path, encoding, "envelope address template")
    if not text.strip():
        raise PenbotError(f"{path}: the envelope address template is empty")
    return _parse_fields(text, f"envelope template {path}")


# --- planning ---------------------------------------------------------------------------

def plan_batch(
    csv_path: str | Path,
    template: str | Path,
    out: str,
    settings: Settings = LETTER,
    encoding: str = "utf-8",
    sample: SampleOptions | None = None,
    envelope: str | Path | None = None,
    signature: bool = False,
) -> BatchPlan:
    """Read and check everything; raises PenbotError (one line) before any work for a bad command.

    Problems of single rows become ``RowError``s in the plan; the other rows become letters.
    ``sample`` is the sampling options to start from (tests: fast ones). ``envelope`` is an
    address template (an envelope per letter, ``NAME-envelope.EXT``); with ``signature`` a
    ``{signature}`` placeholder marks where the signature goes instead of naming a column.
    """
    csv_path, template = Path(csv_path), Path(template)
    folder, name_parts, suffix = _split_pattern(out)
    if folder.exists() and not folder.is_dir():
        raise PenbotError(f"output folder {folder} is not a folder")
    body = _decode(template, encoding, "template")
    if not body.strip():
        raise PenbotError(f"{template}: the template is empty (it is the text of every letter)")
    body_parts = _parse_fields(body, f"template {template}")
    if signature:
        body_parts = _mark_signature(body_parts)
    env_parts = _envelope_fields(Path(envelope), encoding) if envelope else []
    header, rows = _read_csv(csv_path, encoding)
    _check_columns(_used(env_parts), header, f"envelope template {envelope}", csv_path)
    _check_columns(_used(body_parts), header, f"template {template}", csv_path)
    _check_columns(_used(name_parts), header, "the output pattern", csv_path)
    styles: dict[str, str | PenbotError] = {}
    _style_digest(write_options(settings, sample).style, styles)  # the command's own options: valid before any row
    export = export_options(settings)
    inputs = tuple(p.resolve() for p in (csv_path, template))
    if (folder / ERRORS).resolve() in inputs:
        raise PenbotError(f"{folder / ERRORS} would be overwritten by the error report: move the input")

    taken = {MANIFEST.casefold(), ERRORS.casefold()}
    letters, errors = [], []
    for row, line, fields in rows:
        where = f"CSV line {line}"
        if len(fields) != len(header):
            errors.append(RowError(row, "", f"{where}: {len(fields)} fields, the header has {len(header)}"))
            continue
        values = {h: f.strip() for h, f in zip(header, fields)}
        empty = [c for c in _used(name_parts) if not values[c]]
        output = env_output = ""
        if not empty:
            stem = safe_stem(_render(name_parts, values, _clean), row)
            output = _unique(stem, suffix, taken)
            env_output = _unique(stem + "-envelope", suffix, taken) if env_parts else ""
        empty += [c for c in _used(body_parts) + _used(env_parts) if not values[c] and c not in empty]
        try:
            if empty:
                raise PenbotError(f"empty value for {', '.join('{' + c + '}' for c in empty)}")
            options = write_options(_row_settings(settings, values, row), sample)
            digest = _style_digest(options.style, styles)
            check_export(output or suffix, options.page, export)  # e.g. a row's page too large for a PNG
            text = _render(body_parts, values).strip()
            if not text:
                raise PenbotError("the letter is empty")
        except PenbotError as exc:
            errors.append(RowError(row, output, f"{where}: {exc}"))
            continue
        address = _render(env_parts, values).strip()
        if env_parts and not address:
            errors.append(RowError(row, output, f"{where}: the envelope address is empty"))
            continue
        letters.append(Letter(row, line, output, text, options, digest, address, env_output if address else ""))
    return BatchPlan(folder, tuple(letters), tuple(errors), len(rows), inputs)


# --- manifest and error report ------------------------------------------------------------

def _write_errors(folder: Path, errors: Sequence[RowError]) -> Path | None:
    path = folder / ERRORS
    if not errors:
        path.unlink(missing_ok=True)
        return None
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["row", "output", "error"])
    for e in sorted(errors, key=lambda e: e.row):
        w.writerow([e.row, e.output, e.error])
    try:
        atomic_write_text(path, buf.getvalue())
    except OSError as exc:
        raise PenbotError(f"{path}: cannot write the error report ({exc.strerror or exc})", about="disk") from None
    return path


def _clash(letter: Letter, pages: int, owners: dict[str, str]) -> str:
    """Why this letter's page files would overwrite another letter's output ("" when they don't)."""
    if not WRITERS[Path(letter.output).suffix.lower()].per_page:
        return ""
    for target in output_paths(letter.output, pages):
        owner = owners.get(target.name.casefold(), letter.output)
        if owner != letter.output:
            return (f"its {pages} pages would be written as {target.name}, which belongs to {owner}: "
                    "change the output pattern or allow 1 page per letter")
    return ""


def _key(letter: Letter, export: ExportOptions, model_fp: str) -> str:
    blob = json.dumps({"text": letter.text, "options": asdict(letter.options), "style": letter.style_digest,
                       "export": asdict(export), "model": model_fp, "output": letter.output,
                       **({"envelope": [letter.envelope, letter.envelope_output]} if letter.envelope else {})},
                      sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode()).hexdigest()


# --- running ----------------------------------------------------------------------------

@dataclass
class _Tally:
    total: int
    skipped: int
    t0: float = field(default_factory=time.time)
    done: int = 0
    failed: int = 0

    def eta(self, fraction: float = 0.0) -> float | None:
        finished = self.done + self.failed + fraction
        if finished <= 0:
            return None
        return (time.time() - self.t0) / finished * (self.total - finished)


def run_batch(
    plan: BatchPlan,
    model: StepRunner | None = None,
    export: ExportOptions | None = None,
    chunk: int = 16,
    force: bool = False,
    progress: Callable[[BatchProgress], None] | None = None,
    mailing: MailingOptions | None = None,
    executor: Callable[[list[list[Letter]]], Callable[..., list]] | None = None,
) -> BatchSummary:
    """Write every planned letter not already complete, ``chunk`` letters per sampling loop.

    ``mailing`` adds envelopes, the signature and pens by layer. ``executor`` samples the
    chunks elsewhere (``penbot.distributed``): it gets every chunk at once and returns
    ``fetch(part)``, the chunk's results; files and the resume record are written here.

    Returns the summary; a failing row is recorded and the others go on. Exceptions that
    are not a row's fault (Ctrl-C, a full disk while saving the manifest) propagate after
    the manifest and ``errors.csv`` are saved.
    """
    if chunk < 1:
        raise PenbotError(f"chunk must be at least 1 letter, got {chunk}")
    t0 = time.time()
    export = export if export is not None else ExportOptions()
    model = model if model is not None else open_model()
    check_writable(plan.folder)  # a read-only folder fails now, not after the first chunk was written
    model = as_runner(model)
    model_fp = model.digest()
    mailing = mailing if mailing is not None else MailingOptions()
    if mailing != MailingOptions():
        model_fp += ":" + mailing.digest()
    manifest = load_manifest(plan.folder)
    remove_stale_temps(plan.folder, [n for m in plan.letters for n in (m.output, m.envelope_output) if n] + [ERRORS])
    keys = {m.output: _key(m, export, model_fp) for m in plan.letters}
    todo = [m for m in plan.letters if force or not is_complete(plan.folder, manifest.get(m.output), keys[m.output])]
    tally = _Tally(len(todo), len(plan.letters) - len(todo))
    errors, notices, outputs = list(plan.errors), [], []
    owners = {n.casefold(): m.output for m in plan.letters for n in (m.output, m.envelope_output) if n}  # -> letter
    for output, entry in manifest.items():  # and the page files of letters written before
        for name, _size in entry.get("files", []) if isinstance(entry.get("files"), list) else []:
            owners.setdefault(str(name).casefold(), output)

    def report(step: int = 0, steps: int = 0, fraction: float = 0.0) -> None:
        if progress is not None:
            progress(BatchProgress(tally.total, tally.done, len(plan.errors) + tally.failed, tally.skipped,
                                   tally.eta(fraction), step, steps))

    report()
    failed: BaseException | None = None
    fetch = executor([todo[s: s + chunk] for s in range(0, len(todo), chunk)]) if executor and todo else None
    try:
        for start in range(0, len(todo), chunk):
            part = todo[start: start + chunk]

            def step(t: int, total: int, n: int = len(part)) -> None:
                report(t, total, n * min(t / max(total, 1), 0.95))

            results = fetch(part, step) if fetch else write_mail(
                [m.text for m in part], [m.options for m in part], [m.envelope for m in part], mailing, model, step,
                write=write_documents)
            for letter, result in zip(part, results):
                try:
                    if isinstance(result, PenbotError):
                        raise result
                    clash = _clash(letter, len(result.pages), owners)
                    if clash:
                        raise PenbotError(clash)
                    others = [name for name, owner in owners.items() if owner != letter.output]
                    paths = write_pages(result.pages, plan.folder / letter.output, export, protect=others)
                    if result.envelope is not None:
                        paths += write_pages([result.envelope], plan.folder / letter.envelope_output, export)
                except (PenbotError, OSError) as exc:
                    if getattr(exc, "about", "") == "disk":  # no later letter can be written either
                        raise PenbotError(f"{exc}; {tally.done} letter(s) written in this run, the rest were not: "
                                          "make room and run the same command again", about="disk") from None
                    errors.append(RowError(letter.row, letter.output, f"CSV line {letter.line}: {exc}"))
                    tally.failed += 1
                    continue
                files = [[os.path.relpath(p, plan.folder), Path(p).stat().st_size] for p in paths]
                manifest[letter.output] = {"key": keys[letter.output], "row": letter.row, "files": files,
                                           **plot_entry(result, paths, export)}
                owners.update({Path(p).name.casefold(): letter.output for p in paths})
                notices += [(letter.row, n) for n in result.notices]
                outputs += [Path(p) for p in paths]
                tally.done += 1
            save_manifest(plan.folder, manifest)
            report()
    except BaseException as exc:
        failed = exc
        raise
    finally:
        try:
            save_manifest(plan.folder, manifest)
            errors_csv = _write_errors(plan.folder, errors)
        except PenbotError:
            if failed is None:
                raise  # otherwise the error in flight says more; the record on disk is the last whole one
    return BatchSummary(plan.rows, tally.done, tally.skipped, len(errors), time.time() - t0,
                        tuple(sorted(errors, key=lambda e: e.row)), tuple(outputs), tuple(notices), errors_csv,
                        mailing_plot([manifest.get(m.output) for m in plan.letters]))
