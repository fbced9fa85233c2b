"""Speed and memory benchmark of both runtimes side by side: the ONNX step graph on ONNX Runtime
and the torch model (``.pt``).

    PYTHONPATH=. python benchmarks/speed.py [--onnx M.onnx] [--int8 M.onnx] [--pt M.pt] [--style none] [--profile]

Per runtime: (a) an A4 page of ~1,600 characters through ``write_text`` (one sampling batch
per layout round); (b) the very same line requests sampled one at a time; (c) 1..38 lines
in one batch: time per batch, per line and per recurrent step (``--profile`` adds a
cProfile of the sampler at batch 1, 8 and 32); (d) ``penbot write "hello"`` and (e) the A4
page as fresh processes: median of ``--repeat`` runs, wall and CPU, and peak memory (RSS);
(f) a mail merge: ``--letters`` letters of ~600 characters through ``write_documents`` in
chunks of 16, in letters per minute. Defaults: the shipped ``default.onnx``, ``default.int8.onnx``
(what ``penbot write`` uses) and ``default.pt``.
A part of the pipeline that is not there yet is reported as skipped, not as a crash.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PAGE_TEXT = """\
The first frost came early this year. When I opened the curtains on Monday the lawn was \
white and stiff, and the pond at the bottom of the garden had a thin skin of ice that the \
ducks could not understand. They walked across it with great dignity and then slid, one \
after another, into the reeds.

I have been meaning to write to you since the summer, but the weeks went by in the usual \
way: the roof needed mending, the apple harvest was bigger than we could eat, and your \
uncle decided to rebuild the shed with his own hands. It is still standing, which \
surprises everyone except him.

We finally had the piano tuned. The man who came was ninety if he was a day, and he \
played a short waltz when he had finished, very quietly, as if he did not want anyone to \
hear. Then he drank two cups of tea, asked for a third, and told us about the winter of \
1963, when the buses stopped for a week and he walked twelve miles to a concert.

The village is much the same. The bakery has a new owner who makes excellent bread but \
opens at odd hours, so half the street now keeps a loaf in the freezer just in case. The \
library is to close on Wednesdays, and there is a petition on the counter of the post \
office which nearly everyone has signed.

Do let me know when you plan to visit. The spare room is ready, the bed is aired, and \
there is a stack of books on the table that I think you would enjoy. Bring boots and a \
warm jumper; the walk along the river is muddy at this time of year but very beautiful \
in the early morning, when the mist lies low over the fields.

With love to you all, and write soon."""


# --- timing helpers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Took:
    """Wall and CPU seconds. CPU time (this process + finished subprocesses) is the fair
    figure on a machine shared with training; on an idle machine with one torch thread the
    two agree."""

    wall: float = 0.0
    cpu: float = 0.0

    def __add__(self, other: Took) -> Took:
        return Took(self.wall + other.wall, self.cpu + other.cpu)

    def __str__(self) -> str:
        return f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"


def _now() -> tuple[float, float]:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time() + kids.ru_utime + kids.ru_stime


@contextmanager
def stopwatch():
    """``with stopwatch() as took: ...`` then ``took()`` is the ``Took`` of the block."""
    w0, c0 = _now()
    end: list[Took] = []

    def took() -> Took:
        if end:
            return end[0]
        w, c = _now()
        return Took(w - w0, c - c0)

    try:
        yield took
    finally:
        end.append(took())


@dataclass
class Calls:
    """What ``sample_lines`` was asked by the pipeline, and how long each call took."""

    requests: list[list] = field(default_factory=list)
    took: list[Took] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)


@contextmanager
def recording_sample_lines(module):
    """Wrap ``module.sample_lines`` (benchmark only) to record the batches a pipeline makes."""
    calls = Calls()
    original = module.sample_lines

    def wrapped(model, requests, progress=None, **kwargs):
        steps = [0]

        def count(t: int, total: int) -> None:
            steps[0] += 1
            if progress is not None:
                progress(t, total)

        with stopwatch() as took:
            out = original(model, requests, count, **kwargs)
        calls.took.append(took())
        calls.requests.append(list(requests))
        calls.steps.append(steps[0])
        return out

    module.sample_lines = wrapped
    try:
        yield calls
    finally:
        module.sample_lines = original


def timed_sample(model, requests) -> tuple[Took, int, list]:
    """(time, recurrent steps incl. retries, results) of one ``sample_lines`` call."""
    from penbot.sample import sample_lines

    steps = [0]

    def count(t: int, total: int) -> None:
        steps[0] += 1

    with stopwatch() as took:
        out = sample_lines(model, requests, count)
    return took(), steps[0], out


# --- the four measurements -----------------------------------------------------------------

@dataclass
class PageResult:
    took: Took
    chars: int
    lines: int
    rounds: int
    sampling: Took
    steps: int
    resampled: int
    requests: list  # every line request of every round, in order
    note: str = ""


def bench_page(model, style: str | None, text: str = PAGE_TEXT, seed: int = 0) -> PageResult:
    """(a) ``write_text`` on an A4 page, with the sampling calls it makes recorded."""
    import penbot.write as write_mod

    options = write_mod.WriteOptions(style=style, sample=replace(write_mod.WriteOptions().sample, seed=seed))
    with recording_sample_lines(write_mod) as calls, stopwatch() as took:
        doc = write_mod.write_text(text, options, model)
    reqs = [r for batch in calls.requests for r in batch]
    return PageResult(took(), len(text), doc.lines_written, len(calls.requests), sum(calls.took, Took()),
                      sum(calls.steps), doc.resampled, reqs,
                      f"{len(doc.pages)} page(s), batches of {', '.join(str(len(r)) for r in calls.requests)} lines")


def bench_page_fallback(model, style: str | None, why: str, text: str = PAGE_TEXT, seed: int = 0,
                        width: int = 45) -> PageResult:
    """(a) without the layout: the text wrapped at ``width`` characters, sampled in one batch."""
    import textwrap

    from penbot.sample import LineRequest, SampleOptions
    from penbot.styles import load_style

    st = load_style(style)
    prime = st.prime() if st is not None else None
    lines = [ln for para in text.split("\n\n") for ln in textwrap.wrap(" ".join(para.split()), width)]
    opts = SampleOptions(seed=seed)
    reqs = [LineRequest(ln, prime, opts, key=i) for i, ln in enumerate(lines)]
    took, steps, out = timed_sample(model, reqs)
    return PageResult(took, len(text), len(lines), 1, took, steps, sum(o.attempts > 1 for o in out), reqs,
                      f"write_text failed ({why}): wrapped at {width} chars, one batch")


def bench_one_by_one(model, requests: Sequence) -> tuple[Took, int]:
    """(b) the same requests, each in its own ``sample_lines`` call."""
    total, steps = Took(), 0
    for r in requests:
        took, n, _ = timed_sample(model, [r])
        total += took
        steps += n
    return total, steps


def scaling_lines(style: str | None, n: int = 32) -> list:
    """``n`` requests of 30-44 characters from the page text, all in one style."""
    from penbot.sample import LineRequest, SampleOptions
    from penbot.styles import load_style

    st = load_style(style)
    prime = st.prime() if st is not None else None
    words = " ".join(PAGE_TEXT.split()).split()
    texts, cur = [], ""
    for w in words:
        if len(cur) + 1 + len(w) > 44:
            texts.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    texts = (texts * (n // len(texts) + 1))[:n]
    return [LineRequest(t, prime, SampleOptions(), key=i) for i, t in enumerate(texts)]


def bench_scaling(model, requests: Sequence, sizes=(1, 2, 4, 8, 16, 32), profile: bool = False,
                  log: Callable[[str], None] = print) -> list[tuple[int, Took, int, str]]:
    """(c) rows (batch size, time, steps, profile text)."""
    rows = []
    timed_sample(model, list(requests[:1]))  # warm-up: first-call allocations
    for n in sizes:
        batch = list(requests[:n])
        took, steps, _ = timed_sample(model, batch)
        prof = ""
        if profile and n in (1, 8, 32):
            pr = cProfile.Profile()
            pr.enable()
            timed_sample(model, batch)
            pr.disable()
            buf = io.StringIO()
            pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(14)
            prof = buf.getvalue()
        rows.append((n, took, steps, prof))
        log(f"  batch {n:>2}: {took}, {steps} steps")
    return rows


def penbot_command() -> list[str]:
    """How to start the CLI as a user would: the console script, else ``python -m penbot``."""
    exe = shutil.which("penbot")
    if exe:
        return [exe]
    if (ROOT / "penbot" / "__main__.py").is_file():
        return [sys.executable, "-m", "penbot"]
    return [sys.executable, "-c", "import sys; from penbot.cli import main; sys.exit(main())"]


@dataclass(frozen=True)
class Cold:
    """Medians over fresh processes (and the slowest run's peak memory)."""

    took: Took
    rss_mb: float
    runs: list[float]
    error: str = ""

    def __str__(self) -> str:
        return f"{self.took} peak {self.rss_mb:.0f} MB" if not self.error else "failed"


_RUN_AND_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter(); r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss, r.returncode)\n"
    "sys.stderr.write(r.stderr)\n"
)


def run_cold(args: list[str], repeat: int = 5) -> Cold:
    """``penbot ARGS`` as fresh processes: median wall and CPU, and the largest peak RSS."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    walls, cpus, rss = [], [], []
    for _ in range(repeat):
        res = subprocess.run([sys.executable, "-c", _RUN_AND_MEASURE, *penbot_command(), *args],
                             capture_output=True, text=True, env=env)
        wall, cpu, maxrss, code = res.stdout.split()
        if int(code) != 0:
            return Cold(Took(), 0.0, [], (res.stderr.strip().splitlines() or [f"exit {code}"])[-1])
        walls.append(float(wall))
        cpus.append(float(cpu))
        rss.append(int(maxrss) / 1024)
    return Cold(Took(statistics.median(walls), statistics.median(cpus)), max(rss), walls)


def bench_cold(model_path: Path, style: str | None, repeat: int = 5) -> tuple[Cold, Cold]:
    """(d) ``penbot write "hello"`` and (e) the A4 page, as fresh processes."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.txt"
        page.write_text(PAGE_TEXT)
        common = ["--model", str(model_path), "--style", style or "none", "--quiet"]
        hello = run_cold(["write", "hello", "--out", str(Path(tmp) / "h.svg"), *common], repeat)
        full = run_cold(["write", "--file", str(page), "--out", str(Path(tmp) / "p.svg"), *common], repeat)
    return hello, full


def letters(n: int, chars: int = 600) -> list[str]:
    """``n`` different letters of about ``chars`` characters, cut from the page text."""
    words = " ".join(PAGE_TEXT.split()).split()
    out = []
    for i in range(n):
        body, j = [f"Dear friend number {i + 1},"], (i * 17) % len(words)
        while sum(len(w) + 1 for w in body) < chars:
            body.append(words[j % len(words)])
            j += 1
        out.append(" ".join(body))
    return out


def bench_merge(model, style: str | None, n: int, chunk: int = 16) -> tuple[Took, int]:
    """(f) ``n`` letters through ``write_documents``, ``chunk`` letters per sampling loop (as ``batch``)."""
    from penbot.write import WriteOptions, write_documents

    texts = letters(n)
    opts = WriteOptions(style=style)
    with stopwatch() as took:
        for start in range(0, n, chunk):
            part = texts[start: start + chunk]
            write_documents(part, [opts] * len(part), model)
    return took(), sum(len(t) for t in texts)


# --- main ----------------------------------------------------------------------------------

def bench_runtime(name: str, model, path: Path, style: str | None, args, skip: set[str],
                  log: Callable[[str], None]) -> list[tuple[str, str, str]]:
    """Every part for one runtime: rows of (what, figure, detail)."""
    from penbot.errors import PenbotError

    table: list[tuple[str, str, str]] = []
    page = None
    if "a" not in skip:
        log(f"[{name}] (a) full page with write_text ...")
        try:
            page = bench_page(model, style, seed=args.seed)
        except (ImportError, AttributeError, PenbotError) as exc:  # layout/export not ready yet
            why = f"{type(exc).__name__}: {str(exc)[:80]}"
            log(f"    write_text failed ({why}); timing one batch of wrapped lines")
            page = bench_page_fallback(model, style, why, seed=args.seed)
        table.append(("(a) A4 page, batched", str(page.took),
                      f"{page.chars} chars, {page.lines} lines, {page.rounds} round(s), sampling {page.sampling}, "
                      f"{page.steps} steps, {page.resampled} re-sampled; {page.note}"))
    if "b" not in skip and page is not None:
        log(f"[{name}] (b) the same {len(page.requests)} line requests one at a time ...")
        took, steps = bench_one_by_one(model, page.requests)
        table.append(("(b) same lines one by one", str(took),
                      f"{took.wall / page.took.wall:.1f}x the page wall time, {took.cpu / page.took.cpu:.1f}x its CPU "
                      f"time; {took.cpu / max(page.sampling.cpu, 1e-9):.1f}x the batched sampling CPU; {steps} steps"))
    if "c" not in skip:
        log(f"[{name}] (c) batch scaling ...")
        sizes = tuple(int(x) for x in args.sizes.split(","))
        rows = bench_scaling(model, scaling_lines(style, max(sizes)), sizes, profile=args.profile, log=log)
        base = rows[0][1].cpu / rows[0][0]
        for n, took, steps, _ in rows:
            table.append((f"(c) {n:>2} lines in one batch", str(took),
                          f"CPU {took.cpu / n:.3f} s/line ({base * n / took.cpu:.1f}x vs batch {rows[0][0]}), "
                          f"{steps} steps, CPU {1000 * took.cpu / max(steps, 1):.2f} ms/step"))
        if args.profile:
            for n, _, _, prof in rows:
                if prof:
                    print(f"\n--- [{name}] cProfile of sample_lines, batch {n} ---\n{prof}")
    if "d" not in skip:
        log(f"[{name}] (d, e) cold starts, {args.repeat} runs each ...")
        hello, full = bench_cold(path, style, args.repeat)
        for what, cold in (('(d) cold `penbot write "hello"`', hello), ("(e) cold A4 page, whole process", full)):
            table.append((what, str(cold), f"median of runs {', '.join(f'{w:.2f}' for w in cold.runs)} s"
                          + (f"; error: {cold.error}" if cold.error else "")))
    if "f" not in skip and args.letters:
        log(f"[{name}] (f) mail merge of {args.letters} letters ...")
        took, chars = bench_merge(model, style, args.letters)
        table.append((f"(f) mail merge, {args.letters} letters", str(took),
                      f"{60 * args.letters / took.wall:.0f} letters/min wall, "
                      f"{60 * args.letters / took.cpu:.0f} per CPU minute; "
                      f"{chars / args.letters:.0f} chars per letter"))
    return table


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    weights = ROOT / "penbot" / "weights"
    ap.add_argument("--onnx", type=Path, default=weights / "default.onnx", help="step graph ('none' to skip)")
    ap.add_argument("--int8", type=Path, default=weights / "default.int8.onnx",
                    help="int8 step graph from penbot.stepgraph.quantize_step ('none' to skip)")
    ap.add_argument("--pt", type=Path, default=weights / "default.pt", help="torch model ('none' to skip)")
    ap.add_argument("--style", default=None, help="style for every part (default: 1 if shipped, else none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip", default="b", help="comma-separated parts to skip: a,b,c,d,f (default: b)")
    ap.add_argument("--sizes", default="1,2,4,8,16,38", help="batch sizes for (c)")
    ap.add_argument("--repeat", type=int, default=5, help="fresh processes per cold figure (median)")
    ap.add_argument("--letters", type=int, default=100, help="letters in the mail merge (0: skip)")
    ap.add_argument("--profile", action="store_true", help="cProfile the sampler during (c)")
    args = ap.parse_args(argv)
    skip = set(args.skip.split(","))

    from penbot.errors import PenbotError
    from penbot.runtime import open_runner
    from penbot.styles import load_style

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    style = args.style
    if style is None:
        try:
            style = "1" if load_style("1") is not None else None
        except PenbotError:
            style = None
    elif style.lower() == "none":
        style = None
    tables = {}
    for name, path in (("onnxruntime", args.onnx), ("onnxruntime int8", args.int8), ("torch", args.pt)):
        if str(path).lower() == "none" or not path.is_file():
            log(f"[{name}] skipped: no model at {path}")
            continue
        tables[name] = bench_runtime(name, open_runner(path), path, style, args, skip, log)

    print(f"\nspeed ({len(os.sched_getaffinity(0))} CPUs usable, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, style {style or 'none'}); times are wall (CPU)")
    names = list(tables)
    width = max((len(r[0]) for t in tables.values() for r in t), default=10)
    print(f"{'':<{width}}  " + "  ".join(f"{n:>32}" for n in names))
    for i, row in enumerate(next(iter(tables.values()), [])):
        print(f"{row[0]:<{width}}  " + "  ".join(f"{tables[n][i][1]:>32}" for n in names))
    for n in names:
        print(f"\n{n}:")
        for what, _, detail in tables[n]:
            print(f"  {what:<{width}}  {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
