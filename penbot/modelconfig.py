"""The network's shape and data settings, without torch: the ONNX runtime reads it too."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from penbot.text import DEFAULT_ALPHABET

__all__ = ["ModelConfig"]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the network; it travels inside the model file."""

    alphabet: str = DEFAULT_ALPHABET
    hidden: int = 256
    n_window: int = 10  # K: Gaussians in the attention window
    n_mixture: int = 20  # M: bivariate Gaussians in the output
    offset_mean: tuple[float, float] = (0.0, 0.0)  # normalisation of (dx, dy) in data units
    offset_std: tuple[float, float] = (1.0, 1.0)
    points_per_char: float = 7.0  # initial attention speed; also the sampler's step budget
    clean: dict = field(default_factory=dict)  # CleanConfig the data was prepared with

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        d = json.loads(text)
        d["offset_mean"], d["offset_std"] = tuple(d["offset_mean"]), tuple(d["offset_std"])
        return cls(**d)
