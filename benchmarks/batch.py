"""Mail-merge speed: letters per minute written in chunks vs one letter at a time.

    PYTHONPATH=. python benchmarks/batch.py --model /tmp/best.pt [--letters 100] [--chunk 16]
        [--serial 10] [--style none] [--keep DIR]

Makes ``--letters`` made-up recipients and a ~600-character letter, then times
``penbot.batch.run_batch`` (planning excluded, writing + SVG export included) twice into
fresh folders: with ``--chunk`` letters per sampling loop, and with one letter per loop
for the first ``--serial`` letters (one by one is slow; its rate is measured on that
subset, whose letters are like the others). Prints absolute rates and the speed-up, by
wall-clock and by CPU time (the fair figure on a machine busy with something else).
Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = ["Ada", "Alan", "Grace", "Kurt", "Emmy", "John", "Hedy", "Claude", "Rosalind", "Niels", "Lise", "Paul"]
LAST = ["Lovelace", "Turing", "Hopper", "Goedel", "Noether", "Neumann", "Lamarr", "Shannon", "Franklin", "Bohr",
        "Meitner", "Dirac", "Curie", "Planck"]
CITY = ["London", "Leeds", "York", "Bath", "Oxford", "Bristol", "Dover", "Exeter", "Durham", "Norwich"]

TEMPLATE = """Dear {first_name} {last_name},

Thank you for coming to the open day at the garden on Saturday. It was lovely to see so many \
friends from {city} walking between the apple trees, and the weather held until the very \
last cup of tea. We raised enough to repair the old greenhouse, and the roses by the gate \
will finally get the new trellis they deserve.

If you would like to help with the planting in spring, the first work party meets on the \
second Sunday of March at ten. Bring gloves and a flask; we will bring the cake.

With warm wishes,
Margaret

P.S. The lost umbrella is still by the door; do collect it."""


def make_inputs(folder: Path, letters: int) -> tuple[Path, Path]:
    rows = ["id,first_name,last_name,city"]
    for i in range(letters):
        rows.append(f"{i + 1},{FIRST[i % len(FIRST)]},{LAST[(i * 5) % len(LAST)]},{CITY[(i * 3) % len(CITY)]}")
    csv_path, template = folder / "recipients.csv", folder / "letter.txt"
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    template.write_text(TEMPLATE, encoding="utf-8")
    return csv_path, template


SIGNATURE = [[[0, 6], [2, 0], [4, 7], [6, 1], [9, 6], [12, 2]], [[13, 4], [17, 1], [22, 5], [26, 3]]]


def make_mailing(folder: Path):
    """An address template and a signature file: the mailing's envelopes and signatures."""
    import json

    address, sig = folder / "address.txt", folder / "sig.json"
    address.write_text("{first_name} {last_name}\n12 Orchard Lane\n{city}", encoding="utf-8")
    sig.write_text(json.dumps(SIGNATURE), encoding="utf-8")
    return address, sig


def timed_run(csv_path: Path, template: Path, out: Path, settings, model, chunk: int, limit: int | None,
              mailing: tuple | None = None, workers: int = 0, model_path: str | None = None):
    """One run into ``out``; ``mailing`` = (address template, signature file); ``workers`` > 0: local Dask.

    With Dask the cluster is started before the clock starts; its figure is the scheduling
    overhead plus the sampling spread over the workers."""
    from contextlib import nullcontext
    from dataclasses import replace

    from penbot.batch import BatchPlan, plan_batch, run_batch
    from penbot.options import mailing_options

    envelope = None
    if mailing is not None:
        envelope, sig = mailing
        settings = replace(settings, envelope_size="DL", signature=str(sig))
    opts = mailing_options(settings, envelope=envelope is not None)
    plan = plan_batch(csv_path, template, str(out / "{id}-{last_name}.svg"), settings, envelope=envelope,
                      signature=mailing is not None)
    if limit is not None:
        plan = BatchPlan(plan.folder, plan.letters[:limit], plan.errors, min(plan.rows, limit), plan.inputs)
    if workers:
        from penbot.distributed import dask_executor

        context = dask_executor(model_path, opts, workers=workers)
    else:
        context = nullcontext(None)
    with context as executor:
        t0, c0 = time.perf_counter(), time.process_time()
        summary = run_batch(plan, model, chunk=chunk, force=True, progress=_ticker(f"chunk {chunk}"), mailing=opts,
                            executor=executor)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0  # the cluster's shutdown excluded
    sys.stderr.write("\r" + " " * 78 + "\r")
    return summary, seconds, cpu, plan


def _line(label: str, letters: int, wall: float, cpu: float, summary) -> tuple[float, float]:
    rate, crate = 60 * letters / wall, 60 * letters / max(cpu, 1e-9)
    print(f"{label:<28}{wall:8.1f}  {rate:12.2f}  {cpu:7.1f}  {crate:15.2f}  {summary.done:7d} {summary.failed:6d}")
    return rate, crate


def _ticker(label: str):
    last = [0.0]

    def show(p) -> None:
        if time.time() - last[0] > 1.0:
            last[0] = time.time()
            sys.stderr.write(f"\r{label}: {p.done}/{p.total} letters, {p.failed} failed, step {p.step}/{p.steps}   ")
            sys.stderr.flush()

    return show


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model file (default: the shipped one)")
    ap.add_argument("--letters", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--serial", type=int, default=10, help="letters to write one by one (0 = skip)")
    ap.add_argument("--style", default="none")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--keep", type=Path, default=None, help="keep the batched outputs in this folder")
    ap.add_argument("--mailing", action="store_true", help="with DL envelopes and a signature per letter")
    ap.add_argument("--workers", default="", help="also time local Dask workers, e.g. 1,2 (needs penbot[dask])")
    args = ap.parse_args(argv)

    from dataclasses import replace

    import torch

    from penbot.batch import LETTER
    from penbot.write import open_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model = open_model(args.model)
    settings = replace(LETTER, style=args.style)
    work = Path(tempfile.mkdtemp(prefix="penbot-bench-batch-"))
    try:
        csv_path, template = make_inputs(work, args.letters)
        mailing = make_mailing(work) if args.mailing else None
        batched, t_batch, c_batch, plan = timed_run(csv_path, template, args.keep or work / "batched", settings,
                                                    model, args.chunk, None, mailing)
        chars = sum(len(m.text) for m in plan.letters) / max(len(plan.letters), 1)
        print(f"model {args.model or 'shipped'}, style {args.style}, torch threads {torch.get_num_threads()}, "
              f"{len(plan.letters)} letters of ~{chars:.0f} characters")
        print("                              wall s   letters/min   CPU s  letters/CPU-min  written failed")
        rate_b, crate_b = _line(f"batched, {args.chunk} per chunk", len(plan.letters), t_batch, c_batch, batched)
        if args.serial:
            n = min(args.serial, args.letters)
            serial, t_serial, c_serial, _ = timed_run(csv_path, template, work / "serial", settings, model, 1, n)
            rate_s, crate_s = _line(f"one by one ({n} letters)", n, t_serial, c_serial, serial)
            print(f"speed-up of batching: {rate_b / rate_s:.2f}x wall, {crate_b / crate_s:.2f}x CPU time; "
                  f"100 letters: {100 / rate_b:.1f} min batched vs {100 / rate_s:.1f} min one by one (wall)")
        chunks = -(-len(plan.letters) // args.chunk)
        for n in [int(w) for w in args.workers.split(",") if w.strip()]:
            summary, wall, cpu, _ = timed_run(csv_path, template, work / f"dask{n}", settings, model, args.chunk,
                                              None, mailing, n, args.model)
            rate, _ = _line(f"Dask, {n} local worker(s)", len(plan.letters), wall, cpu, summary)
            ideal = t_batch / min(n, chunks)
            print(f"  overhead vs in-process/{n}: {wall - ideal:+.1f} s ({(wall - ideal) / chunks:+.2f} s per chunk); "
                  f"per chunk {wall * min(n, chunks) / chunks:.1f} s of worker time; projected for M machines of "
                  f"{n} worker(s): ~{rate:.0f} x M letters/min while chunks ({chunks}) >= workers")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
