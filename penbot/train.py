"""``train(cfg)``: the training loop, with validation, keep-best and exact resume."""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from penbot.atomic import check_writable
from penbot.checkpoint import load_checkpoint, load_model, model_from_dict, save_checkpoint, save_model
from penbot.data.clean import CleanConfig
from penbot.data.dataset import (
    LineSet,
    caps_digit_weights,
    collate,
    concat_lines,
    joined_weights,
    load_lines,
    make_batches,
    rare_char_weights,
    read_lines,
    save_lines,
    split_by_writer,
)
from penbot.data.synth import align, glyph_bank, synth_lines
from penbot.errors import PenbotError
from penbot.model import HandwritingModel, ModelConfig, sample_mixture

__all__ = ["TrainConfig", "train", "evaluate_nll"]


@dataclass(frozen=True)
class TrainConfig:
    data: str
    out: str
    steps: int = 6000  # total optimiser steps of the schedule (the shipped recipe)
    batch_size: int = 32
    lr: float = 1e-3
    warmup: int = 300
    min_lr_frac: float = 0.05
    clip: float = 3.0
    hidden: int = 256
    n_window: int = 10  # ModelConfig.n_window (tests use smaller networks)
    n_mixture: int = 20  # ModelConfig.n_mixture
    decimate: int = 3
    pair_prob: float = 0.15  # join a line with the next of its form: long lines, priming
    drop_text_prob: float = 0.03  # hide the text: teaches the unconditional mode
    val_every: int = 500
    val_lines: int = 400
    ckpt_minutes: float = 5.0
    max_hours: float | None = None  # stop (resumably) after this much wall time
    init: str | None = None  # start from this model file's weights (fine-tuning); its config is kept
    slant_aug: float = 0.0  # per-line shear dx += k * dy, k uniform in +-slant_aug
    stretch_aug: float = 0.0  # per-line width factor exp(u), u uniform in +-stretch_aug
    caps_weight: float = 1.0  # extra repeats of lines with ALL-CAPS words or multi-digit numbers
    joined_weight: float = 1.0  # extra repeats of lines written joined up (<= 0.85 strokes per letter)
    self_feed: float = 0.0  # scheduled sampling: share of inputs replaced by the model's own draws, reached at the end
    synth: int = 0  # synthetic lines ending in ALL-CAPS words and numbers (needs init: it aligns the data)
    seed: int = 1234
    device: str = "auto"
    resume: bool = False
    progress: bool = True


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_frac`` of the peak at ``steps``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise PenbotError("device cuda: no CUDA device is available")
    return torch.device(name)


def _tensors(batch, device: torch.device) -> tuple[torch.Tensor, ...]:
    return (
        torch.from_numpy(batch.strokes).to(device),
        torch.from_numpy(batch.chars).to(device),
        torch.from_numpy(batch.stroke_mask).to(device),
    )


@torch.no_grad()
def evaluate_nll(
    model: HandwritingModel, ls: LineSet, index: np.ndarray, device: torch.device | str = "cpu",
    batch_size: int = 64,
) -> tuple[float, float, int]:
    """Mean NLL in nats ``(per line, per point, points)`` of the lines ``index``.

    Per-point figures are in the model's normalised units, so they compare between runs
    with the same data settings.
    """
    model.eval()
    order = index[np.argsort(ls.lengths()[index], kind="stable")]
    total, points = 0.0, 0
    for i in range(0, len(order), batch_size):
        batch = collate(ls, order[i : i + batch_size], model.cfg.alphabet)
        strokes, chars, mask = _tensors(batch, torch.device(device))
        _, loss = model(strokes, chars, mask)
        n = int(mask.sum())
        total += float(loss) * n
        points += n
    return total / max(1, len(order)), total / max(1, points), points


def _stats(ls: LineSet, train_idx: np.ndarray) -> tuple[tuple[float, float], tuple[float, float], float]:
    off = np.concatenate([ls.line(i) for i in train_idx[:4000]])
    ppc = float(np.mean([len(ls.line(i)) / max(1, len(ls.texts[i])) for i in train_idx[:4000]]))
    return tuple(off[:, :2].mean(0).tolist()), tuple(off[:, :2].std(0).tolist()), ppc


class _Progress:
    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self.t0, self.last = enabled, total, time.time(), 0.0

    def show(self, step: int, loss: float, val: float | None, pps: float, step_s: float) -> None:
        if not self.enabled or time.time() - self.last < 1.0:
            return
        self.last = time.time()
        eta = (self.total - step) * step_s
        done = int(30 * step / max(1, self.total))
        bar = "#" * done + "-" * (30 - done)
        v = f"{val:.3f}" if val is not None else "-"
        sys.stderr.write(
            f"\r[{bar}] step {step}/{self.total} loss {loss:.3f} val {v} "
            f"{pps:,.0f} pts/s ETA {eta / 60:.0f} min   "
        )
        sys.stderr.flush()

    def log(self, msg: str) -> None:
        if self.enabled:
            sys.stderr.write("\r" + msg + " " * 20 + "\n")
            sys.stderr.flush()


def _self_fed(model: HandwritingModel, strokes: torch.Tensor, chars: torch.Tensor, cfg: TrainConfig,
              step: int) -> torch.Tensor | None:
    """Scheduled sampling in two passes: a teacher-forced pass (no gradient) draws the model's
    own prediction of every point; a share of the inputs, growing linearly from 0 to
    ``cfg.self_feed`` over the schedule, is replaced by those draws. None: plain teacher forcing."""
    share = cfg.self_feed * min(1.0, step / max(1, cfg.steps))
    if share <= 0:
        return None
    with torch.no_grad():
        mix, _ = model(strokes, chars)
        drawn = sample_mixture(mix)
    x = model.normalise(strokes)
    swap = torch.rand(x.shape[:2], device=x.device) < share
    return torch.where(swap[..., None], drawn, x)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a session or job scheduler stopping the run) saves a checkpoint like Ctrl-C.

    A run started in the background ignores SIGINT, so without this only the periodic
    checkpoint would survive a stop.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _new_model(cfg: TrainConfig, ls: LineSet, train_idx: np.ndarray) -> HandwritingModel:
    """A fresh network, or the weights of ``cfg.init`` (kept with their own config)."""
    if cfg.init:
        model = load_model(cfg.init)
        model.train()
        return model
    mean, std, ppc = _stats(ls, train_idx)
    mcfg = ModelConfig(hidden=cfg.hidden, n_window=cfg.n_window, n_mixture=cfg.n_mixture,
                       offset_mean=mean, offset_std=std, points_per_char=ppc,
                       clean=CleanConfig(decimate=cfg.decimate).key())
    return HandwritingModel(mcfg)


def _with_synthetic(cfg: TrainConfig, ls: LineSet, train_idx: np.ndarray, weights: np.ndarray,
                    model: HandwritingModel, out: Path) -> tuple[LineSet, np.ndarray, np.ndarray]:
    """Add ``cfg.synth`` synthetic lines (made once per run and kept in the run folder, so a
    resumed run trains on the same ones), each seen once per pass."""
    path = out / "synth.npz"
    extra = read_lines(path) if cfg.resume else None
    if extra is None or len(extra) != cfg.synth:
        was = model.training
        model.eval()
        bank = glyph_bank(ls, align(model, ls, train_idx))
        model.train(was)
        extra = synth_lines(ls, bank, cfg.synth, seed=cfg.seed)
        if len(extra) < cfg.synth:
            raise PenbotError(f"only {len(extra)} of {cfg.synth} synthetic lines could be made: the model "
                              "aligns too few capitals and digits in this data as whole strokes")
        out.mkdir(parents=True, exist_ok=True)
        save_lines(path, extra)
    n = len(ls)
    return (concat_lines(ls, extra), np.concatenate([train_idx, np.arange(n, n + len(extra))]),
            np.concatenate([weights, np.ones(len(extra))]))


def train(cfg: TrainConfig) -> Path:
    """Train (or resume) and return the path of the best model file."""
    out = Path(cfg.out)
    last, best = out / "last.pt", out / "best.pt"
    if out.exists() and not out.is_dir():
        raise PenbotError(f"{out}: the run folder is a file (give a folder for last.pt and best.pt)")
    if cfg.resume and not last.is_file():
        raise PenbotError(f"nothing to resume in {out} (no last.pt)")
    if cfg.synth and not (cfg.init or cfg.resume):
        raise PenbotError("synthetic lines need a trained model to align the data with: give --init")
    check_writable(out)  # a read-only place fails now, not at the first checkpoint
    device = _device(cfg.device)
    torch.manual_seed(cfg.seed)
    ls = load_lines(cfg.data, CleanConfig(decimate=cfg.decimate))
    train_idx, val_idx = split_by_writer(ls)
    if len(train_idx) == 0:
        raise PenbotError(f"{cfg.data}: no training lines after the writer split")
    val_eval = val_idx[np.random.default_rng(0).permutation(len(val_idx))[: cfg.val_lines]]
    weights = rare_char_weights(ls.texts) * caps_digit_weights(ls.texts, cfg.caps_weight) \
        * joined_weights(ls, cfg.joined_weight)

    if cfg.resume:
        ck = load_checkpoint(last)
        model = model_from_dict(ck, last).to(device)
        start_step, epoch, pos, best_val = ck["step"], ck["epoch"], ck["pos"], ck["best_val"]
    else:
        model = _new_model(cfg, ls, train_idx).to(device)
        start_step, epoch, pos, best_val = 0, 0, 0, float("inf")
    if cfg.synth:
        ls, train_idx, weights = _with_synthetic(cfg, ls, train_idx, weights, model, out)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if cfg.resume:
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["torch_rng"])

    prog = _Progress(cfg.progress, cfg.steps)
    prog.log(
        f"data: {len(train_idx)} train / {len(val_idx)} validation lines; model "
        f"{sum(p.numel() for p in model.parameters()):,} parameters on {device}; "
        f"{'resuming at step ' + str(start_step) if cfg.resume else 'new run'}"
    )

    def checkpoint(step: int) -> None:
        save_checkpoint(last, {
            "config": model.cfg.to_json(), "state_dict": model.state_dict(), "optimizer": opt.state_dict(),
            "step": step, "epoch": epoch, "pos": pos, "best_val": best_val,
            "torch_rng": torch.get_rng_state(), "train_config": asdict(cfg),
        })

    def epoch_batches(e: int) -> list:
        return make_batches(ls, train_idx, cfg.batch_size, np.random.default_rng([cfg.seed, e]), weights,
                            cfg.pair_prob, cfg.drop_text_prob)

    t_start = last_ckpt = time.time()
    step, val, ema_loss, ema_pps, ema_s = start_step, None, None, 0.0, 1.0
    batches = epoch_batches(epoch)
    model.train()
    with _terminate_as_interrupt():
        try:
            while step < cfg.steps:
                if pos >= len(batches):
                    epoch, pos = epoch + 1, 0
                    batches = epoch_batches(epoch)
                t0 = time.time()
                aug = np.random.default_rng([cfg.seed, epoch, pos, 1])  # per batch: resume stays exact
                batch = collate(ls, batches[pos], model.cfg.alphabet, aug, cfg.slant_aug, cfg.stretch_aug)
                strokes, chars, mask = _tensors(batch, device)
                for g in opt.param_groups:
                    g["lr"] = lr_at(step, cfg)
                _, loss = model(strokes, chars, mask, fed=_self_fed(model, strokes, chars, cfg, step))
                if not torch.isfinite(loss):
                    raise PenbotError(f"loss became {loss.item()} at step {step}: lower the learning rate")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
                opt.step()
                step, pos = step + 1, pos + 1
                dt = time.time() - t0
                ema_loss = loss.item() if ema_loss is None else 0.98 * ema_loss + 0.02 * loss.item()
                ema_pps = 0.95 * ema_pps + 0.05 * (int(mask.sum()) / dt) if ema_pps else int(mask.sum()) / dt
                ema_s = 0.95 * ema_s + 0.05 * dt
                if step % cfg.val_every == 0 or step == cfg.steps:
                    _, val, _ = evaluate_nll(model, ls, val_eval, device)
                    model.train()
                    if val < best_val:
                        best_val = val
                        save_model(model, best, meta={"step": step, "val_nll_per_point": val, "epoch": epoch})
                    prog.log(f"step {step} epoch {epoch} train {ema_loss:.4f} val {val:.4f} best {best_val:.4f} "
                             f"lr {lr_at(step, cfg):.2e} {ema_pps:,.0f} pts/s")
                    checkpoint(step)
                    last_ckpt = time.time()
                elif time.time() - last_ckpt > cfg.ckpt_minutes * 60:
                    checkpoint(step)
                    last_ckpt = time.time()
                prog.show(step, ema_loss, val, ema_pps, ema_s)
                if cfg.max_hours is not None and time.time() - t_start > cfg.max_hours * 3600:
                    checkpoint(step)
                    prog.log(f"stopped after {cfg.max_hours} h at step {step}; continue with --resume")
                    break
        except KeyboardInterrupt:
            checkpoint(step)  # the steps done so far are kept: --resume continues from here
            prog.log(f"interrupted at step {step}; saved {last}, continue with --resume")
            raise
    if not best.is_file():
        save_model(model, best, meta={"step": step})
    return best
