"""Speed benchmark: a full page batched vs one line at a time, batch scaling, cold start.

    PYTHONPATH=. python benchmarks/speed.py --model /tmp/best.pt [--style none] [--profile]

(a) an A4 page of ~1,500 characters through ``write_text`` (one sampling batch per layout
round); (b) the very same line requests sampled one at a time; (c) 1..32 lines in one
batch: time per batch, per line and per recurrent step (``--profile`` adds a cProfile of
the sampler at batch 1, 8 and 32); (d) ``penbot write "hello"`` as a fresh process.
A part of the pipeline that is not there yet is reported as skipped, not as a crash.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
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

@dataclass
class Calls:
    """What ``sample_lines`` was asked by the pipeline, and how long each call took."""

    requests: list[list] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)


@contextmanager
def recording_sample_lines(module) -> Calls:
    """Wrap ``module.sample_lines`` (benchmark only) to record the batches a pipeline makes."""
    calls = Calls()
    original = module.sample_lines

    def wrapped(model, requests, progress=None):
        steps = [0]

        def count(t: int, total: int) -> None:
            steps[0] += 1
            if progress is not None:
                progress(t, total)

        t0 = time.perf_counter()
        out = original(model, requests, count)
        calls.seconds.append(time.perf_counter() - t0)
        calls.requests.append(list(requests))
        calls.steps.append(steps[0])
        return out

    module.sample_lines = wrapped
    try:
        yield calls
    finally:
        module.sample_lines = original


def timed_sample(model, requests) -> tuple[float, int, list]:
    """(seconds, recurrent steps incl. retries, results) of one ``sample_lines`` call."""
    from penbot.sample import sample_lines

    steps = [0]

    def count(t: int, total: int) -> None:
        steps[0] += 1

    t0 = time.perf_counter()
    out = sample_lines(model, requests, count)
    return time.perf_counter() - t0, steps[0], out


# --- the four measurements -----------------------------------------------------------------

@dataclass
class PageResult:
    seconds: float
    chars: int
    lines: int
    rounds: int
    sample_seconds: float
    steps: int
    resampled: int
    requests: list  # every line request of every round, in order
    note: str = ""


def bench_page(model, style: str | None, text: str = PAGE_TEXT, seed: int = 0) -> PageResult:
    """(a) ``write_text`` on an A4 page, with the sampling calls it makes recorded."""
    import penbot.write as write_mod

    options = write_mod.WriteOptions(style=style, sample=replace(write_mod.WriteOptions().sample, seed=seed))
    with recording_sample_lines(write_mod) as calls:
        t0 = time.perf_counter()
        doc = write_mod.write_text(text, options, model)
        seconds = time.perf_counter() - t0
    reqs = [r for batch in calls.requests for r in batch]
    pages = len(doc.pages)
    return PageResult(seconds, len(text), doc.lines_written, len(calls.requests), sum(calls.seconds),
                      sum(calls.steps), doc.resampled, reqs, f"{pages} page(s)")


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
    t0 = time.perf_counter()
    seconds_s, steps, out = timed_sample(model, reqs)
    return PageResult(time.perf_counter() - t0, len(text), len(lines), 1, seconds_s, steps,
                      sum(o.attempts > 1 for o in out), reqs,
                      f"write_text failed ({why}): wrapped at {width} chars, one batch")


def bench_one_by_one(model, requests: Sequence) -> tuple[float, int]:
    """(b) the same requests, each in its own ``sample_lines`` call."""
    total, steps = 0.0, 0
    for r in requests:
        s, n, _ = timed_sample(model, [r])
        total += s
        steps += n
    return total, steps


def scaling_lines(style: str | None, n: int = 32) -> list:
    from penbot.sample import LineRequest, SampleOptions
    from penbot.styles import load_style

    st = load_style(style)
    prime = st.prime() if st is not None else None
    text = [p for p in " ".join(PAGE_TEXT.split()).split(". ") if p]
    texts = [(t if len(t) <= 44 else t[:44].rsplit(" ", 1)[0]) for t in text]
    texts = (texts * (n // len(texts) + 1))[:n]
    return [LineRequest(t, prime, SampleOptions(), key=i) for i, t in enumerate(texts)]


def bench_scaling(model, requests: Sequence, sizes=(1, 2, 4, 8, 16, 32), profile: bool = False,
                  log: Callable[[str], None] = print) -> list[tuple[int, float, int, str]]:
    """(c) rows (batch size, seconds, steps, profile text)."""
    rows = []
    timed_sample(model, list(requests[:1]))  # warm-up: first-call allocations
    for n in sizes:
        batch = list(requests[:n])
        seconds, steps, _ = timed_sample(model, batch)
        prof = ""
        if profile and n in (1, 8, 32):
            pr = cProfile.Profile()
            pr.enable()
            timed_sample(model, batch)
            pr.disable()
            buf = io.StringIO()
            pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(12)
            prof = buf.getvalue()
        rows.append((n, seconds, steps, prof))
        log(f"  batch {n:>2}: {seconds:6.2f} s, {steps} steps")
    return rows


def penbot_command() -> list[str]:
    """How to start the CLI as a user would: the console script, else ``python -m penbot``."""
    exe = shutil.which("penbot")
    if exe:
        return [exe]
    if (ROOT / "penbot" / "__main__.py").is_file():
        return [sys.executable, "-m", "penbot"]
    return [sys.executable, "-c", "import sys; from penbot.cli import main; sys.exit(main())"]


def bench_cold(model_path: Path, style: str | None, repeat: int = 2) -> tuple[list[float], float, str]:
    """(d) wall time of fresh ``penbot write "hello"`` processes, and of ``import torch`` alone."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    times, err = [], ""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.svg"
        cmd = [*penbot_command(), "write", "hello", "--out", str(out), "--model", str(model_path),
               "--style", style or "none", "--quiet"]
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = subprocess.run(cmd, capture_output=True, text=True, env=env)
            times.append(time.perf_counter() - t0)
            if res.returncode != 0:
                err = (res.stderr.strip().splitlines() or [f"exit {res.returncode}"])[-1]
                break
            if not out.is_file():
                err = "no output file"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], env=env)
    return times, time.perf_counter() - t0, err


# --- main ----------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--style", default=None, help="style for every part (default: 1 if shipped, else none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: a,b,c,d")
    ap.add_argument("--profile", action="store_true", help="cProfile the sampler during (c)")
    args = ap.parse_args(argv)
    skip = set(args.skip.split(","))

    import torch

    from penbot.checkpoint import load_model
    from penbot.errors import PenbotError
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
    model = load_model(args.model)
    table: list[tuple[str, str, str]] = []
    log(f"model {args.model}, style {style or 'none'}, torch threads {torch.get_num_threads()}")

    page = None
    if "a" not in skip:
        log("(a) full page with write_text ...")
        try:
            page = bench_page(model, style, seed=args.seed)
        except (ImportError, AttributeError, PenbotError) as exc:  # layout/export not ready yet
            why = f"{type(exc).__name__}: {str(exc)[:80]}"
            log(f"    write_text failed ({why}); timing one batch of wrapped lines")
            page = bench_page_fallback(model, style, why, seed=args.seed)
        table.append(("(a) A4 page, batched", f"{page.seconds:.2f} s",
                      f"{page.chars} chars, {page.lines} lines, {page.rounds} round(s), "
                      f"sampling {page.sample_seconds:.2f} s, {page.steps} steps, "
                      f"{page.resampled} re-sampled; {page.note}"))
    if "b" not in skip and page is not None:
        log(f"(b) the same {len(page.requests)} line requests one at a time ...")
        seconds, steps = bench_one_by_one(model, page.requests)
        table.append(("(b) same lines one by one", f"{seconds:.2f} s",
                      f"{seconds / max(page.sample_seconds, 1e-9):.1f}x the batched sampling time, "
                      f"{seconds / page.seconds:.1f}x the page; {steps} steps"))
    if "c" not in skip:
        log("(c) batch scaling ...")
        rows = bench_scaling(model, scaling_lines(style), profile=args.profile, log=log)
        base = rows[0][1]
        for n, seconds, steps, _ in rows:
            table.append((f"(c) {n:>2} lines in one batch", f"{seconds:.2f} s",
                          f"{seconds / n:.3f} s/line ({base * n / seconds:.1f}x vs batch 1), "
                          f"{steps} steps, {1000 * seconds / max(steps, 1):.2f} ms/step"))
        if args.profile:
            for n, _, _, prof in rows:
                if prof:
                    print(f"\n--- cProfile of sample_lines, batch {n} ---\n{prof}")
    if "d" not in skip:
        log("(d) cold start ...")
        times, torch_s, err = bench_cold(args.model, style)
        detail = f"runs {', '.join(f'{t:.2f}' for t in times)} s; 'import torch' alone {torch_s:.2f} s"
        table.append(('(d) cold `penbot write "hello"`', f"{min(times):.2f} s" if not err else "failed",
                      detail + (f"; error: {err}" if err else "")))

    width = max(len(r[0]) for r in table) if table else 10
    print(f"\nspeed ({os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, model {args.model.name})")
    for name, value, detail in table:
        print(f"{name:<{width}}  {value:>9}  {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
