"""Legibility benchmark: write known lines, read them back with an offline OCR, report the CER.

An OCR trained on printed and scene text is a harsh, imperfect reader of handwriting, so the
absolute figure matters less than the comparison: the same renderer and readers applied to
real database lines (``--real``) give the reference a trained model should approach.

    PYTHONPATH=. python benchmarks/legibility.py --model /tmp/best.pt --styles none,1 --save-dir /tmp/leg
    PYTHONPATH=. python benchmarks/legibility.py --real ../shared/data/iam-ondb --limit 130

Readers: RapidOCR 3.10 (PP-OCRv6 recogniser shipped in its wheel; ``pip install penbot[bench]``)
and, when the ``tesseract`` program is installed, Tesseract in single-line mode as a stricter
second reader. The CER is the Levenshtein distance over the reference length, summed over
lines, after lowercasing, dropping punctuation and collapsing whitespace; a second figure
ignores spaces (OCRs often merge or split handwritten words).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from penbot.readback import Reader, RenderOptions, char_errors, rapidocr_reader, render_strokes

HERE = Path(__file__).resolve().parent
DEFAULT_LINES = HERE / "legibility_lines.txt"
CATEGORIES = ("sentences", "names", "numbers", "punctuation", "capitals", "rare letters")


# --- the benchmark lines -------------------------------------------------------------------

@dataclass(frozen=True)
class BenchLine:
    text: str
    category: str


def read_bench_lines(path: Path = DEFAULT_LINES) -> list[BenchLine]:
    """Lines grouped by ``# category`` headers; other ``#`` lines are comments."""
    out, category = [], "other"
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            name = line[1:].strip()
            if name in CATEGORIES:
                category = name
            continue
        if line:
            out.append(BenchLine(line, category))
    return out


# --- rendering -----------------------------------------------------------------------------

def save_png(path: Path, image: np.ndarray) -> None:
    from penbot.atomic import atomic_write_bytes

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


# --- readers -------------------------------------------------------------------------------

_PAGE = "<<penbot-page>>"


def tesseract_reader() -> Reader | None:
    """Tesseract in single-line mode (``--psm 7``), or None when it is not installed.

    All images go to one process (a list file), since starting tesseract and loading its
    model costs more than reading a line.
    """
    exe = shutil.which("tesseract")
    if exe is None:
        return None

    def read(images: Sequence[np.ndarray]) -> list[str]:
        if not images:
            return []
        with tempfile.TemporaryDirectory() as tmp:
            names = []
            for i, image in enumerate(images):
                names.append(str(Path(tmp) / f"{i:05d}.png"))
                Image.fromarray(image).save(names[-1])
            listing = Path(tmp) / "images.txt"
            listing.write_text("\n".join(names) + "\n")
            env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
            res = subprocess.run([exe, str(listing), "stdout", "--psm", "7", "-l", "eng", "-c",
                                  f"page_separator={_PAGE}"], capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"tesseract failed: {res.stderr.strip()[-200:]}")
        pages = res.stdout.split(_PAGE)
        if len(pages) < len(images):
            raise RuntimeError(f"tesseract returned {len(pages)} pages for {len(images)} images")
        return [" ".join(p.split()) for p in pages[: len(images)]]

    return read


# --- scoring -------------------------------------------------------------------------------

# --- the benchmark -------------------------------------------------------------------------

def clock() -> np.ndarray:
    """(wall, CPU) seconds now. CPU time counts this process and finished subprocesses: on
    a machine shared with training it is the fairer figure of the work done."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return np.array([time.perf_counter(), time.process_time() + kids.ru_utime + kids.ru_stime])


def since(start: np.ndarray) -> tuple[float, float]:
    wall, cpu = clock() - start
    return float(wall), float(cpu)


@dataclass
class LineResult:
    text: str
    category: str
    style: str
    attempts: int = 1
    problem: str = ""
    hit_cap: bool = False
    width_per_char: float = float("nan")
    runaway: bool = False
    reads: dict[str, str] = field(default_factory=dict)
    errors: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # reader -> (d, n, d_ns, n_ns)
    png: str = ""


@dataclass
class Report:
    results: list[LineResult]
    readers: list[str]
    sample_time: tuple[float, float] = (0.0, 0.0)  # (wall, CPU) seconds
    ocr_time: tuple[float, float] = (0.0, 0.0)
    total_time: tuple[float, float] = (0.0, 0.0)
    label: str = ""

    def cer(self, reader: str, rows: Sequence[LineResult] | None = None, spaces: bool = True) -> float:
        rows = self.results if rows is None else rows
        k = 0 if spaces else 2
        d = sum(r.errors[reader][k] for r in rows if reader in r.errors)
        n = sum(r.errors[reader][k + 1] for r in rows if reader in r.errors)
        return d / n if n else float("nan")


def _mark_runaways(results: list[LineResult]) -> None:
    """A line is a run-away when it hit the step cap or is twice as wide per character as the median."""
    wpc = np.array([r.width_per_char for r in results])
    med = float(np.nanmedian(wpc)) if np.isfinite(wpc).any() else float("nan")
    for r in results:
        r.runaway = r.hit_cap or (np.isfinite(med) and r.width_per_char > 2 * med)


def _ocr_all(results: list[LineResult], images: list[np.ndarray], readers: dict[str, Reader],
             save_dir: Path | None, log: Callable[[str], None]) -> tuple[float, float]:
    t0 = clock()
    if save_dir is not None:
        for i, (res, img) in enumerate(zip(results, images, strict=True)):
            res.png = f"{i:04d}_{res.style}.png"
            save_png(save_dir / res.png, img)
    for rname, read in readers.items():
        log(f"  reading {len(images)} lines with {rname} ...")
        for res, hyp in zip(results, read(images), strict=True):
            res.reads[rname] = hyp
            res.errors[rname] = (*char_errors(res.text, hyp), *char_errors(res.text, hyp, spaces=False))
    return since(t0)


def make_readers(use_tesseract: bool = True) -> dict[str, Reader]:
    readers = {"rapidocr": rapidocr_reader()}
    tess = tesseract_reader() if use_tesseract else None
    if tess is not None:
        readers["tesseract"] = tess
    return readers


def run_benchmark(
    model,
    lines: Sequence[BenchLine],
    styles: Sequence[str | None] = (None,),
    bias: float | None = None,
    seed: int = 0,
    batch: int = 32,
    readers: dict[str, Reader] | None = None,
    save_dir: Path | None = None,
    render: RenderOptions = RenderOptions(),
    log: Callable[[str], None] = lambda s: None,
    verify: float | None = None,
    piece_chars: int | None = None,
    max_dwell: int | None = None,
) -> Report:
    """Sample every line in every style, render, read back, score. Returns the full report.

    ``verify``: the sampler's OCR-verified mode (RapidOCR judges, so read the Tesseract
    figure as the independent one)."""
    from penbot.readback import error_reader
    from penbot.sample import LineRequest, SampleOptions, sample_lines
    from penbot.styles import load_style

    judge = error_reader() if verify is not None else None

    t_start = clock()
    readers = make_readers() if readers is None else readers
    opts = SampleOptions() if bias is None else SampleOptions(bias=bias)
    opts = replace(opts, seed=seed, verify=verify)
    if piece_chars is not None:
        opts = replace(opts, piece_chars=piece_chars)
    if max_dwell is not None:
        opts = replace(opts, rules=replace(opts.rules, max_points_on_char=max_dwell))
    results: list[LineResult] = []
    images: list[np.ndarray] = []
    t_sample = np.zeros(2)
    for style_name in styles:
        style = load_style(style_name)
        prime = style.prime() if style is not None else None
        label = "none" if style is None else str(style_name)
        for b0 in range(0, len(lines), batch):
            chunk = lines[b0 : b0 + batch]
            reqs = [LineRequest(bl.text, prime, opts, key=b0 + j) for j, bl in enumerate(chunk)]
            t0 = clock()
            out = sample_lines(model, reqs, reader=judge)
            dt = since(t0)
            t_sample += dt
            log(f"style {label}: sampled lines {b0 + 1}-{b0 + len(chunk)} of {len(lines)} "
                f"({dt[0]:.1f} s, CPU {dt[1]:.1f} s)")
            for bl, s in zip(chunk, out, strict=True):
                cap = int(opts.max_steps_per_char * len(bl.text)) + 40
                xmin, _, xmax, _ = s.strokes.bounds()
                capped = len(s.strokes) >= cap or s.problem.startswith("did not finish")  # a tail may be trimmed
                results.append(LineResult(
                    bl.text, bl.category, label, s.attempts, s.problem, capped,
                    (xmax - xmin) / max(1, len(bl.text)),
                ))
                images.append(render_strokes(s.strokes, render))
    _mark_runaways(results)
    ocr_s = _ocr_all(results, images, readers, save_dir, log)
    report = Report(results, list(readers), tuple(t_sample), ocr_s, since(t_start),
                    f"bias {opts.bias:g}, seed {seed}")
    if save_dir is not None:
        write_csv(report, save_dir / "results.csv")
    return report


def run_real(
    data_dir: Path,
    limit: int = 130,
    readers: dict[str, Reader] | None = None,
    save_dir: Path | None = None,
    render: RenderOptions = RenderOptions(),
    clean: dict | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> Report:
    """The same renderer and readers on the first ``limit`` validation-writer database lines."""
    from penbot.data.clean import CleanConfig
    from penbot.data.dataset import load_lines, split_by_writer
    from penbot.strokes import Strokes

    t_start = clock()
    readers = make_readers() if readers is None else readers
    ls = load_lines(data_dir, CleanConfig(**(clean or {})))
    _, val = split_by_writer(ls)
    results, images = [], []
    for i in val[:limit]:
        strokes = Strokes(ls.line(int(i)).astype(np.float64))
        xmin, _, xmax, _ = strokes.bounds()
        text = ls.texts[int(i)]
        results.append(LineResult(text, "real", "real", width_per_char=(xmax - xmin) / max(1, len(text))))
        images.append(render_strokes(strokes, render))
    _mark_runaways(results)
    ocr_s = _ocr_all(results, images, readers, save_dir, log)
    report = Report(results, list(readers), (0.0, 0.0), ocr_s, since(t_start),
                    f"{len(results)} validation-writer lines of {data_dir}")
    if save_dir is not None:
        write_csv(report, save_dir / "results.csv")
    return report


# --- output --------------------------------------------------------------------------------

def write_csv(report: Report, path: Path) -> None:
    from penbot.atomic import atomic_write_text

    buf = io.StringIO()
    w = csv.writer(buf)
    head = ["style", "category", "text", "attempts", "problem", "hit_cap", "width_per_char", "runaway", "png"]
    for r in report.readers:
        head += [f"{r}_read", f"{r}_cer", f"{r}_cer_nospace"]
    w.writerow(head)
    for res in report.results:
        row = [res.style, res.category, res.text, res.attempts, res.problem, int(res.hit_cap),
               f"{res.width_per_char:.3f}", int(res.runaway), res.png]
        for r in report.readers:
            d, n, dn, nn = res.errors.get(r, (0, 0, 0, 0))
            row += [res.reads.get(r, ""), f"{d / max(n, 1):.3f}", f"{dn / max(nn, 1):.3f}"]
        w.writerow(row)
    atomic_write_text(path, buf.getvalue())


def format_report(report: Report, worst: int = 10) -> str:
    res, readers = report.results, report.readers
    out = [f"legibility: {len(res)} lines ({report.label})", ""]
    out.append(f"{'reader':<12}{'CER':>8}{'CER no spaces':>15}")
    for r in readers:
        out.append(f"{r:<12}{report.cer(r):>8.1%}{report.cer(r, spaces=False):>15.1%}")

    def table(title: str, key: Callable[[LineResult], str]) -> None:
        groups: dict[str, list[LineResult]] = defaultdict(list)
        for x in res:
            groups[key(x)].append(x)
        if len(groups) < 2:
            return
        out.extend(["", f"{title:<14}{'lines':>6}" + "".join(f"{r:>12}" for r in readers)])
        for name, rows in groups.items():
            out.append(f"{name:<14}{len(rows):>6}" + "".join(f"{report.cer(r, rows):>12.1%}" for r in readers))

    table("category", lambda x: x.category)
    table("style", lambda x: x.style)

    first = readers[0]
    ranked = sorted(res, key=lambda x: -x.errors[first][0] / max(1, x.errors[first][1]))
    out.extend(["", f"{worst} worst lines ({first}):"])
    for x in ranked[:worst]:
        d, n = x.errors[first][:2]
        reads = "  |  ".join(f"{r}: {x.reads.get(r, '')!r}" for r in readers)
        out.append(f"  {d / max(n, 1):5.0%} [{x.style}] {x.text!r}\n         {reads}")

    if any(x.style != "real" for x in res):
        resampled = sum(x.attempts > 1 for x in res)
        flagged = [x for x in res if x.problem]
        out.extend(["", f"re-sampled by the failure checks: {resampled} of {len(res)} lines; "
                        f"still flagged: {len(flagged)}"])
        for x in flagged[:10]:
            out.append(f"  [{x.style}] {x.text!r}: {x.problem}")
    run = [x for x in res if x.runaway]
    wpc = np.array([x.width_per_char for x in res])
    out.append(f"run-aways (step cap or > 2x the median width per character, median "
               f"{np.nanmedian(wpc):.2f} units/char): {len(run)} (hit the cap: {sum(x.hit_cap for x in res)})")
    for x in run[:10]:
        out.append(f"  [{x.style}] {x.text!r}: {x.width_per_char:.2f} units/char{' (cap)' if x.hit_cap else ''}")
    (tw, tc), (sw, sc), (ow, oc) = report.total_time, report.sample_time, report.ocr_time
    out.extend(["", f"time (wall / CPU incl. OCR subprocesses): {tw:.1f} / {tc:.1f} s total, "
                    f"sampling {sw:.1f} / {sc:.1f} s, OCR {ow:.1f} / {oc:.1f} s"])
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path,
                    help="model file, .onnx or .pt (default: the shipped int8 graph penbot writes with)")
    ap.add_argument("--lines", type=Path, default=DEFAULT_LINES)
    ap.add_argument("--styles", default="none", help="comma-separated: none,1,2,...")
    ap.add_argument("--bias", type=float, default=None, help="default: SampleOptions().bias")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32, help="lines per sampling call")
    ap.add_argument("--limit", type=int, default=None, help="only the first N lines (quick run)")
    ap.add_argument("--save-dir", type=Path, help="write the PNGs and results.csv here")
    ap.add_argument("--no-tesseract", action="store_true")
    ap.add_argument("--verify", type=float, default=None, metavar="MAX_ERROR",
                    help="sample in the OCR-verified mode (re-sample lines RapidOCR reads worse than this)")
    ap.add_argument("--piece-chars", type=int, default=None,
                    help="write lines longer than this in pieces (default: the library's; 0: whole)")
    ap.add_argument("--max-dwell", type=int, default=None,
                    help="most points the window may hold one character before a line is tried again "
                         "(default: the library's; 0: no limit)")
    ap.add_argument("--real", type=Path, metavar="DATA_DIR",
                    help="instead: database lines of validation writers through the same renderer and OCR")
    args = ap.parse_args(argv)

    from penbot.errors import PenbotError

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        readers = make_readers(not args.no_tesseract)
        if args.real is not None:
            clean = None
            if args.model is not None:
                from penbot.write import open_model

                clean = open_model(args.model).cfg.clean
            report = run_real(args.real, args.limit or 130, readers, args.save_dir, clean=clean, log=log)
        else:
            from penbot.write import open_model

            model = open_model(args.model)  # None: the shipped default graph
            lines = read_bench_lines(args.lines)[: args.limit]
            styles = [None if s.strip().lower() == "none" else s.strip() for s in args.styles.split(",") if s.strip()]
            report = run_benchmark(model, lines, styles, args.bias, args.seed, args.batch, readers,
                                   args.save_dir, log=log, verify=args.verify,
                                   piece_chars=args.piece_chars, max_dwell=args.max_dwell)
    except PenbotError as exc:
        print(f"legibility: error: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
