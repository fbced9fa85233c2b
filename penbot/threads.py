"""How many CPU threads a sampling step gets, and in which precision its products run.

Kept apart from the sampler loop: this is a property of the machine, not of sampling.
Torch-free unless ``sampling_dtype`` is called (only the torch step runner does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ThreadPolicy", "sampling_dtype", "others_running"]


def others_running() -> int:
    """Tasks other than this one running or ready to run right now (Linux ``/proc/loadavg``;
    0 where that cannot be read, which leaves the decision to the probe steps)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            runnable = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(runnable - 1, 0)


@dataclass
class ThreadPolicy:
    """How many intra-op threads a step gets: one, and more only where they measurably help.

    A step is a few dozen small ops; only the three LSTM products of a big batch gain from
    a second core (measured on 2 idle cores: batch 32 1.72 -> 1.30 ms per step; batch 1
    none). When another process holds the other core, every product waits for a thread
    that is not running (measured: 8 lines took 37-51 s on 2 threads instead of 1.1 s).
    So: with every other core already busy no second thread is tried at all; else the
    first ``probe`` steps run on one thread, the next ``probe`` on ``most``; more
    threads are kept only if they were faster, and dropped for good the first time a step
    takes twice the one-thread time. The bfloat16 products give the same bits on any
    number of threads, so this choice never changes the strokes. The ONNX runner makes its
    two-thread session only when the policy first asks for it.
    """

    most: int
    min_batch: int = 16
    probe: int = 8
    one: list[float] = field(default_factory=list)
    many: list[float] = field(default_factory=list)
    verdict: bool | None = None  # None while probing; True: use ``most``

    def __post_init__(self) -> None:
        self.most = min(self.most, 4)
        if self.most < 2 or others_running() >= self.most - 1:
            self.verdict = False  # no idle core to probe: even the probe steps would wait

    def use(self, batch: int) -> int:
        if batch < self.min_batch:  # batches only shrink: a probe cut short ends as "one thread"
            if self.verdict is None:
                self.verdict = False
            return 1
        if self.verdict is None:
            return 1 if len(self.one) < self.probe else self.most
        return self.most if self.verdict else 1

    def took(self, threads: int, seconds: float) -> None:
        if self.verdict is None:
            (self.one if threads == 1 else self.many).append(seconds)
            if len(self.many) >= self.probe:
                self.verdict = float(np.median(self.many)) < 0.9 * float(np.median(self.one))
        elif self.verdict and threads > 1 and seconds > 2.0 * float(np.median(self.one)):
            self.verdict = False


def sampling_dtype() -> Any:
    """bfloat16 matrix products where the CPU has native bfloat16 instructions (AVX-512 BF16
    or AMX), else float32: emulated bfloat16 would be slower than float32. Measured on an
    AVX-512 BF16 CPU: a batch-32 step 3.3 -> 1.7 ms on one thread, batch 1 the same."""
    import torch

    try:
        caps = torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):
        return torch.float32
    return torch.bfloat16 if caps.get("avx512_bf16") or caps.get("amx_bf16") else torch.float32
