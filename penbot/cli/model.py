"""``penbot train``, ``penbot eval`` and ``penbot export``: fit the handwriting model, measure it on a
database, and export its sampling step for writing without torch. All three need torch."""

from __future__ import annotations

from dataclasses import fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from penbot.cli import app
from penbot.data.clean import CleanConfig
from penbot.errors import PenbotError

if TYPE_CHECKING:  # torch is imported only when a command runs, so --help stays fast
    from penbot.train import TrainConfig

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "weights" / "default.pt"


def _need_torch(command: str) -> None:
    """Writing needs no torch, so it may be missing: say how to get it, in one line."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise PenbotError(f'penbot {command} needs torch, which is not installed: pip install "penbot[train]"'
                          ) from None


def _export_graphs(model_file: Path, out: Path | None = None) -> tuple[Path, Path]:
    """``best.pt`` -> ``best.onnx`` and ``best.int8.onnx`` (beside it unless ``out``): the step
    graphs ``penbot write --model`` runs without torch (float32, equal to the torch step;
    int8, the fast one)."""
    from penbot.atomic import check_writable
    from penbot.checkpoint import load_model
    from penbot.stepgraph import export_step, quantize_step

    out = out or model_file.with_suffix(".onnx")
    for target in (out, out.with_suffix(".int8.onnx")):  # refused before the model is even read
        if target.is_dir():
            raise PenbotError(f"{target}: a folder has that name")
    check_writable(out.parent)
    graph = export_step(load_model(model_file), out)
    return graph, quantize_step(graph, graph.with_suffix(".int8.onnx"))


class Device(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def _train_config(given: dict, resume: bool) -> TrainConfig:
    """Options not given on the command line come from the run being resumed, else the defaults.

    Resuming with a different schedule or batch size than the interrupted run would make
    ``--resume`` silently train something else, so a bare ``--resume`` continues as it was.
    """
    from penbot.checkpoint import load_checkpoint
    from penbot.train import TrainConfig

    base: dict = {}
    last = Path(given["out"]) / "last.pt"
    if resume and last.is_file():
        known = {f.name for f in fields(TrainConfig)}
        base = {k: v for k, v in load_checkpoint(last).get("train_config", {}).items() if k in known}
        base.pop("max_hours", None)  # a time limit belongs to one session, not to the run
    base.update({k: v for k, v in given.items() if v is not None})
    return TrainConfig(**{**base, "resume": resume, "progress": True})


@app.command("train")
def train_cmd(
    data: Path = typer.Option(..., "--data", help="IAM-OnDB folder in its original layout (folders or tar.gz)."),
    out: Path = typer.Option(..., "--out", help="Run folder: best.pt (the model), last.pt (resumable)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last.pt."),
    max_hours: float | None = typer.Option(None, "--max-hours", min=0.0, help="Stop (resumably) after this much time."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Optimiser steps of the schedule (default 6000)."),
    device: Device | None = typer.Option(None, "--device", help="Where to train (default auto: cuda if available)."),
    hidden: int | None = typer.Option(None, "--hidden", min=1, help="LSTM size of a new model (default 256)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Lines per step (default 32)."),
    lr: float | None = typer.Option(None, "--lr", min=0.0, help="Peak learning rate (default 0.001)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of initial weights and batch order (default 1234)."),
    init: Path | None = typer.Option(None, "--init", help="Start from this model file's weights (fine-tune)."),
    slant_aug: float | None = typer.Option(None, "--slant-aug", min=0.0, max=1.0,
                                           help="Per-line random shear of the ink, +- this (default 0)."),
    stretch_aug: float | None = typer.Option(None, "--stretch-aug", min=0.0, max=1.0,
                                             help="Per-line random width factor exp(+- this) (default 0)."),
    caps_weight: float | None = typer.Option(None, "--caps-weight", min=1.0, max=10.0,
                                             help="Repeats of lines with ALL-CAPS words or numbers (default 1)."),
    joined_weight: float | None = typer.Option(None, "--joined-weight", min=1.0, max=10.0,
                                               help="Repeats of lines written joined up, <= 0.85 pen-down strokes "
                                                    "per letter (default 1)."),
    self_feed: float | None = typer.Option(None, "--self-feed", min=0.0, max=0.9,
                                           help="Scheduled sampling: feed the model its own draws for a share of "
                                                "inputs growing to this (default 0: plain teacher forcing)."),
    synth: int | None = typer.Option(None, "--synth", min=0, max=200_000,
                                     help="Add this many synthetic lines ending in ALL-CAPS words and numbers, "
                                          "cut from the data by the --init model's attention (default 0)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads (default: torch's choice)."),
) -> None:
    """Train the handwriting model, or continue an interrupted run with --resume.

    With --resume, options you leave out keep the values the run started with.
    Progress goes to stderr; the model is OUT/best.pt (lowest validation loss), and
    OUT/best.onnx its step graph for writing without torch.

    Example: penbot train --data ../iam-ondb --out runs/main --max-hours 8
    """
    _need_torch("train")
    from penbot.train import train

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    given = dict(data=str(data), out=str(out), max_hours=max_hours, steps=steps, device=device and device.value,
                 hidden=hidden, batch_size=batch_size, lr=lr, seed=seed, init=init and str(init), slant_aug=slant_aug,
                 stretch_aug=stretch_aug, caps_weight=caps_weight, joined_weight=joined_weight,
                 self_feed=self_feed, synth=synth)
    best = train(_train_config(given, resume))
    print(f"model: {best}")
    graph, fast = _export_graphs(Path(best))
    print(f"step graphs: {graph} (float32), {fast} (int8)")


def _clean_config(clean: dict, path: Path) -> CleanConfig:
    """The cleaning settings a model was trained with (JSON turned tuples into lists)."""
    try:
        return CleanConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in clean.items()})
    except TypeError as exc:
        raise PenbotError(f"{path}: unknown data settings in the model ({exc})") from None


@app.command("eval")
def eval_cmd(
    data: Path = typer.Option(..., "--data", help="Database in the IAM-OnDB layout (folders or tar.gz)."),
    model: Path = typer.Option(DEFAULT_MODEL, "--model", show_default=False, help="Model file (default: shipped)."),
    max_lines: int | None = typer.Option(None, "--max-lines", min=1, help="Evaluate this many lines, spread evenly."),
    device: Device = typer.Option(Device.auto, "--device", help="Where to run (auto: cuda if available)."),
) -> None:
    """Mean negative log-likelihood of a model on every usable line of a database.

    Lines are read and cleaned as for training, with the model's own settings
    (decimation included), so the figures compare with its validation loss.
    Every line counts, not only a validation split: point it at writers the
    model never saw. Per-point figures are in the model's normalised units.

    Example: penbot eval --model runs/main/best.pt --data ../heldout-iam
    """
    _need_torch("eval")
    import numpy as np

    from penbot.checkpoint import load_model
    from penbot.data.dataset import load_lines
    from penbot.train import _device, evaluate_nll

    if model == DEFAULT_MODEL and not model.is_file():
        raise PenbotError(f"no shipped model at {model}; pass --model RUN/best.pt (from `penbot train`)")
    net = load_model(model)
    dev = _device(device.value)
    ls = load_lines(data, _clean_config(net.cfg.clean, model), net.cfg.alphabet)
    index = np.arange(len(ls))
    if max_lines is not None and max_lines < len(ls):
        index = np.unique(np.linspace(0, len(ls) - 1, max_lines).round().astype(np.int64))
    per_line, per_point, points = evaluate_nll(net.to(dev), ls, index, dev)
    print(f"model: {model}")
    print(f"data: {data}: {len(index):,} lines evaluated of {len(ls):,} usable "
          f"({sum(ls.dropped.values()):,} dropped by cleaning), {points:,} points")
    print(f"NLL: {per_line:.2f} nats per line, {per_point:.4f} nats per point")


@app.command("export")
def export_cmd(
    model: Path = typer.Option(DEFAULT_MODEL, "--model", show_default=False,
                               help="Model file (.pt; default: the shipped one)."),
    out: Path | None = typer.Option(None, "--out", help="Graph file (default: the model's path with .onnx)."),
) -> None:
    """Export a model's sampling step as ONNX graphs, which write without torch.

    The graph is HandwritingModel.step traced with float32 weights, with the model
    config in its metadata; it is checked against the torch step before it is kept.
    Beside it goes the int8 graph (OUT with .int8.onnx), the one penbot writes with by
    default: the LSTM products in 8 bits (7-bit weights, safe on every x86 CPU).

    Example: penbot export --model penbot/weights/default.pt --out penbot/weights/default.onnx
    """
    _need_torch("export")
    for path in _export_graphs(model, out):
        print(f"step graph: {path} ({path.stat().st_size / 1e6:.1f} MB)")
