"""``penbot batch``: mail merge, one handwritten letter per CSV row."""

from __future__ import annotations

import sys
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import typer

from penbot.cli import app
from penbot.cli import options as o
from penbot.errors import PenbotError
from penbot.options import Settings

_HELP = (
    "Write one letter per row of CSV_FILE: the --template with {column} placeholders filled in.\n\n"
    'Example: penbot batch recipients.csv --template letter.txt --out "out/{id}-{last_name}.svg"\n\n'
    "Placeholders use Python's format syntax ({{ and }} for literal braces). Columns named style, bias, "
    "temperature, seed, page, orientation, margins, size, line_spacing, align or indent override that option "
    "for their row; an empty cell keeps the command's value.\n\n"
    "--out takes placeholders in the file name only; its folder gets the outputs, errors.csv and "
    ".penbot-batch.json. Values are made safe for file names: '/', '\\', ':', '*', '?', '\"', '<', '>', '|' "
    "and control characters become '_', leading and trailing dots and spaces are dropped, so no file lands "
    "outside the folder; names that collide (ignoring case) get -2, -3, ... in row order.\n\n"
    "A rerun skips letters already written with the same inputs (see .penbot-batch.json); --force rewrites "
    "them. Rows are numbered from 1 after the header.\n\n"
    "Mailing: --envelope address.txt --envelope-size DL also writes NAME-envelope.EXT; --signature sig.svg signs "
    "each letter; --pen text=1,signature=2 puts them on separate pens; plotter outputs get a plot-time estimate; "
    "--workers N or --scheduler tcp://HOST:8786 samples on Dask (see README, Mailings).\n\n"
    "Exit status: 0 when every row was written, 1 when any row failed (listed in errors.csv) or the command "
    "is wrong, 130 when interrupted."
)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class _Progress:
    """One self-overwriting stderr line: letters done, failed, skipped, ETA."""

    def __init__(self, enabled: bool):
        self.enabled, self.last, self.state = enabled, 0.0, None

    def __call__(self, p) -> None:
        self.state = p
        now = time.time()
        if not self.enabled or (p.step and now - self.last < 0.5):
            return
        self.last = now
        inner = f", writing step {p.step}/{p.steps}" if p.steps else ""
        sys.stderr.write(f"\rletters: {p.done}/{p.total} done, {p.failed} failed, {p.skipped} skipped{inner}, "
                         f"ETA {_duration(p.eta_s)}   ")
        sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 79 + "\r")


def _executor(model: Path | None, mailing, scheduler: str | None, workers: int | None):
    """Dask for --scheduler / --workers, else nothing (run_batch samples in this process)."""
    if not scheduler and workers is None:
        return nullcontext(None)
    from penbot.distributed import dask_executor

    if workers is not None and workers < 1:
        raise PenbotError(f"--workers must be at least 1, got {workers}")
    return dask_executor(model, mailing, scheduler=scheduler, workers=workers)


@app.command("batch", help=_HELP)
@o.with_settings
def batch_cmd(
    csv_file: Path = typer.Argument(..., help="CSV with a header line of column names."),
    template: Path = typer.Option(..., "--template", "-t", help="Letter text with {column} placeholders."),
    out: str = typer.Option(..., "--out", "-o", help="Output pattern, e.g. 'out/{id}-{name}.svg' (.svg .png ...)."),
    seed: int = typer.Option(o.DEFAULTS.seed, help="Base seed; each row without a seed column gets its own from it."),
    max_pages: int = typer.Option(1, min=0, help="A letter needing more pages fails; 0 = no limit."),
    model: o.Model = None,
    chunk: int = typer.Option(16, help="Letters written together in one sampling loop."),
    force: bool = typer.Option(False, "--force", help="Rewrite letters that are already complete."),
    encoding: str = typer.Option("utf-8", help="Encoding of the CSV and the template (e.g. latin-1)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress line; errors and summary only."),
    envelope: Path = typer.Option(None, "--envelope", help="Address template ({column} placeholders): also write "
                                  "NAME-envelope.EXT beside each letter."),
    envelope_size: o.EnvelopeSize = o.DEFAULTS.envelope_size,
    return_address: o.ReturnAddress = o.DEFAULTS.return_address,
    signature: o.SignatureFile = o.DEFAULTS.signature,
    signature_height: o.SignatureHeight = o.DEFAULTS.signature_height,
    pen: o.Pen = o.DEFAULTS.pen,
    scheduler: str = typer.Option(None, "--scheduler", help="Run on an existing Dask cluster, e.g. tcp://HOST:8786 "
                                  '(pip install "penbot[dask]"); outputs are written here.'),
    workers: int = typer.Option(None, "--workers", help="Start N local Dask worker processes (loopback only) "
                                "and sample the chunks on them."),
    settings: Settings = o.DEFAULTS,
) -> None:
    from penbot.batch import plan_batch, run_batch
    from penbot.options import export_options, mailing_options
    from penbot.write import open_model

    settings = replace(settings, max_pages=max_pages or None)
    if chunk < 1:
        raise PenbotError(f"--chunk must be at least 1, got {chunk}")
    export = export_options(settings)
    if envelope_size and envelope is None:
        raise PenbotError("--envelope-size needs --envelope, the address template")
    if scheduler and workers is not None:
        raise PenbotError("give either --scheduler or --workers, not both")
    mailing = mailing_options(settings, encoding, envelope=envelope is not None)
    plan = plan_batch(csv_file, template, out, settings, encoding, envelope=envelope,
                      signature=mailing.signature is not None)
    net = open_model(model)
    show = _Progress(not quiet and sys.stderr.isatty())
    try:
        with _executor(model, mailing, scheduler, workers) as executor:
            summary = run_batch(plan, net, export, chunk=chunk, force=force, progress=show, mailing=mailing,
                                executor=executor)
    except KeyboardInterrupt:
        show.clear()
        done = show.state.done if show.state else 0
        print(f"penbot: interrupted after {done} letter(s); run the same command again to finish", file=sys.stderr)
        sys.exit(130)  # sys.exit, not typer.Exit: click returns (swallows) Exit codes when not standalone
    except PenbotError:
        show.clear()  # the error gets a line of its own, not the end of the progress line
        raise
    show.clear()
    for row, notice in summary.notices:
        if not quiet:
            print(f"penbot: note: row {row}: {notice}", file=sys.stderr)
    for e in summary.errors:
        print(f"penbot: row {e.row}{' (' + e.output + ')' if e.output else ''}: {e.error}", file=sys.stderr)
    report = f" (see {summary.errors_csv})" if summary.errors_csv else ""
    print(f"{summary.rows} rows: {summary.done} written, {summary.skipped} skipped (already complete), "
          f"{summary.failed} failed{report} in {summary.seconds:.1f} s; outputs in {plan.folder}", file=sys.stderr)
    if summary.plot is not None:
        print(f"plot time for the mailing ({settings.profile}): {summary.plot.describe()}; per letter in "
              f"{plan.folder / '.penbot-batch.json'}", file=sys.stderr)
    if not summary.ok:
        sys.exit(1)
