"""Weights-only model files and resumable training checkpoints.

Both are plain ``torch.save`` dictionaries of tensors, numbers and strings, read back
with ``weights_only=True``: a file carrying pickled code is refused, never executed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from penbot.atomic import atomic_path
from penbot.errors import PenbotError
from penbot.model import HandwritingModel, ModelConfig

__all__ = ["save_model", "load_model", "save_checkpoint", "load_checkpoint", "model_from_dict"]

MODEL_FORMAT = "penbot-model-1"
CHECKPOINT_FORMAT = "penbot-checkpoint-1"


def _atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _safe_load(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise PenbotError(f"{path}: no such model file")
    with path.open("rb") as fh:
        head = fh.read(4)
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # a torch zip or a legacy pickle
        raise PenbotError(f"{path}: not a model file (penbot reads .onnx step graphs and torch .pt files)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt, truncated or unsafe files
        msg = "the file is truncated or damaged"  # torch's own messages run to paragraphs
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            msg = "it contains pickled code, which penbot refuses to load"
        raise PenbotError(f"{path}: not a readable penbot file ({msg})") from None
    if not isinstance(obj, dict) or "format" not in obj:
        raise PenbotError(f"{path}: not a penbot file (no format marker)")
    return obj


def save_model(model: HandwritingModel, path: str | Path, meta: dict | None = None, half: bool = False) -> None:
    """Save weights + config (+ free-form metadata such as training figures)."""
    state = {k: (v.half() if half and v.is_floating_point() else v).clone() for k, v in model.state_dict().items()}
    _atomic_torch_save(
        {"format": MODEL_FORMAT, "config": model.cfg.to_json(), "state_dict": state, "meta": dict(meta or {})},
        Path(path),
    )


def model_from_dict(obj: dict, path: str | Path) -> HandwritingModel:
    try:
        cfg = ModelConfig.from_json(obj["config"])
        model = HandwritingModel(cfg)
        state = {k: v.float() if v.is_floating_point() else v for k, v in obj["state_dict"].items()}
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise PenbotError(f"{path}: model file is damaged ({str(exc).splitlines()[0][:160]})") from None
    model.eval()
    return model


def load_model(path: str | Path) -> HandwritingModel:
    """Load a model file (or a training checkpoint) safely."""
    obj = _safe_load(path)
    if obj["format"] not in (MODEL_FORMAT, CHECKPOINT_FORMAT):
        raise PenbotError(f"{path}: unknown format {obj['format']!r}")
    return model_from_dict(obj, path)


def save_checkpoint(path: str | Path, state: dict) -> None:
    _atomic_torch_save({"format": CHECKPOINT_FORMAT, **state}, Path(path))


def load_checkpoint(path: str | Path) -> dict:
    obj = _safe_load(path)
    if obj["format"] != CHECKPOINT_FORMAT:
        raise PenbotError(f"{path}: not a training checkpoint")
    return obj
