"""Step runners: one sampling step of the network on numpy arrays, from an ONNX graph or a torch model.

The sampler (``penbot.sample``) only calls ``step``. Both runners execute the same code:
the ONNX graph is ``HandwritingModel.step`` traced (``penbot.stepgraph``), so a user who
only writes needs ONNX Runtime (~60 MB), not torch (~750 MB); a ``.pt`` model still works
where torch is installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from penbot.errors import PenbotError
from penbot.modelconfig import ModelConfig

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

__all__ = ["Step", "StepRunner", "OnnxRunner", "TorchRunner", "open_runner", "as_runner", "GRAPH_FORMAT",
           "STATE", "INPUTS", "OUTPUTS"]

GRAPH_FORMAT = "penbot-step-1"
STATE = ("h1", "c1", "kappa", "w", "h2", "c2", "h3", "c3")  # the recurrent state, in graph order
INPUTS = ("x", *STATE, "onehot")
OUTPUTS = ("log_pi", "mu", "log_sigma", "rho", "pen_logit", *(f"{n}_out" for n in STATE), "phi")
TRAIN_HINT = 'install torch with: pip install "penbot[train]"'


@dataclass(frozen=True)
class Step:
    """One step of a batch: the mixture for the next point, the new state and the window."""

    log_pi: np.ndarray  # (B, M)
    mu: np.ndarray  # (B, M, 2)
    log_sigma: np.ndarray  # (B, M, 2)
    rho: np.ndarray  # (B, M)
    pen_logit: np.ndarray  # (B,)
    state: tuple[np.ndarray, ...]  # STATE order, each (B, n); c1, c2, c3 are the cell states
    phi: np.ndarray  # (B, U) window weight of each character


class StepRunner:
    """What the sampler needs from a model: its config, the normalisation and ``step``."""

    cfg: ModelConfig

    def __init__(self, cfg: ModelConfig):
        self.cfg = cfg
        self.mean = np.asarray(cfg.offset_mean, np.float32)
        self.std = np.asarray(cfg.offset_std, np.float32)

    def step(self, x: np.ndarray, state: tuple[np.ndarray, ...], onehot: np.ndarray) -> Step:
        """``x``: previous normalised offsets (B, 3) float32; ``onehot``: (B, U, A) float32."""
        raise NotImplementedError

    def digest(self) -> str:
        """SHA-256 of what shapes the strokes (config and weights): a saved output's model key."""
        raise NotImplementedError

    def initial_state(self, batch: int) -> tuple[np.ndarray, ...]:
        h, k, a = self.cfg.hidden, self.cfg.n_window, len(self.cfg.alphabet)
        sizes = {"kappa": k, "w": a}
        return tuple(np.zeros((batch, sizes.get(name, h)), np.float32) for name in STATE)

    def one_hot(self, chars: np.ndarray) -> np.ndarray:
        """(B, U) indices (0 = padding) -> (B, U, A) float32 with zero rows for padding."""
        return np.eye(len(self.cfg.alphabet) + 1, dtype=np.float32)[chars][..., 1:]

    def read(self, x: np.ndarray, onehot: np.ndarray) -> tuple[np.ndarray, ...]:
        """Teacher-force normalised offsets ``(T, 3)`` of one line (priming with a style sample):
        the state after ``x[:-1]``, as ``HandwritingModel.read``; the next step takes ``x[-1]``."""
        state = self.initial_state(1)
        inp = np.concatenate([np.array([[0.0, 0.0, 1.0]], np.float32), x[:-1]]).astype(np.float32)
        for row in inp:
            state = self.step(row[None], state, onehot).state
        return state

    def max_threads(self) -> int:
        return 1

    def set_threads(self, n: int) -> None:
        """Threads of the following steps (``ThreadPolicy`` decides)."""

    @contextmanager
    def sampling(self) -> Iterator[int]:
        """Around one sampling loop: yields the most threads a step may use."""
        yield self.max_threads()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxRunner(StepRunner):
    """The exported step graph on ONNX Runtime, one thread by default.

    A session's thread count is fixed when it is made, so a two-thread session is made
    only the first time ``ThreadPolicy`` asks for two (big batches on an idle second core).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._sessions: dict[int, Any] = {1: self._session(1)}
        self._threads = 1
        meta = self._sessions[1].get_modelmeta().custom_metadata_map
        if meta.get("penbot_format") != GRAPH_FORMAT:
            raise PenbotError(f"{self.path}: not a penbot step graph (no {GRAPH_FORMAT!r} marker)")
        names = tuple(i.name for i in self._sessions[1].get_inputs())
        outs = tuple(o.name for o in self._sessions[1].get_outputs())
        if set(names) != set(INPUTS) or not set(OUTPUTS) <= set(outs):
            raise PenbotError(f"{self.path}: step graph has unexpected inputs or outputs")
        try:
            cfg = ModelConfig.from_json(meta["config"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PenbotError(f"{self.path}: step graph has no readable model config ({exc})") from None
        super().__init__(cfg)
        self.meta = dict(meta)

    def digest(self) -> str:
        import hashlib

        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def _session(self, threads: int) -> Any:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        if threads > 1:  # a spinning worker would steal the core another process is using
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if not self.path.is_file():
            raise PenbotError(f"{self.path}: no such model file")
        try:
            return ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own types for corrupt or unsupported graphs
            msg = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise PenbotError(f"{self.path}: not a readable ONNX step graph ({msg[:160]})") from None

    def step(self, x: np.ndarray, state: tuple[np.ndarray, ...], onehot: np.ndarray) -> Step:
        feeds = dict(zip(STATE, state))
        feeds["x"], feeds["onehot"] = x, onehot
        session = self._sessions[self._threads]
        # the C session directly: ``InferenceSession.run`` re-validates the feed names on every
        # call, a tenth of a batch-1 step; the names were checked once, when the graph was opened
        out = getattr(session, "_sess", session).run(OUTPUTS, feeds, None)  # both take (names, feeds, options)
        return Step(*out[:5], tuple(out[5:13]), out[13])

    def max_threads(self) -> int:
        return min(2, _cpus())

    def set_threads(self, n: int) -> None:
        if n not in self._sessions:
            self._sessions[n] = self._session(n)
        self._threads = n


class TorchRunner(StepRunner):
    """A torch ``HandwritingModel`` behind the same interface (``.pt`` files; needs torch).

    Products run in ``sampling_dtype()``: bfloat16 on CPUs with native bfloat16, which is
    faster there but not bit-equal to the float32 ONNX graph.
    """

    def __init__(self, model: HandwritingModel, dtype: Any = None):
        import torch

        from penbot.threads import sampling_dtype

        super().__init__(model.cfg)
        self.model = model
        self._torch = torch
        self._packed = model.pack(dtype if dtype is not None else sampling_dtype())
        self._most = 1

    def step(self, x: np.ndarray, state: tuple[np.ndarray, ...], onehot: np.ndarray) -> Step:
        from penbot.model import State

        t = self._torch
        h1, c1, kappa, w, h2, c2, h3, c3 = (t.from_numpy(s) for s in state)
        with t.no_grad():
            mix, st, phi = self.model.step(t.from_numpy(x), State(h1, c1, kappa, w, (h2, c2, h3, c3)),
                                           t.from_numpy(onehot), self._packed)
        return Step(mix.log_pi.numpy(), mix.mu.numpy(), mix.log_sigma.numpy(), mix.rho.numpy(),
                    mix.pen_logit.numpy(), tuple(s.numpy() for s in (st.h1, st.c1, st.kappa, st.w, *st.upper)),
                    phi.numpy())

    def digest(self) -> str:
        import hashlib

        h = hashlib.sha256(self.cfg.to_json().encode())
        for name, tensor in sorted(self.model.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    def max_threads(self) -> int:
        return self._most

    def set_threads(self, n: int) -> None:
        self._torch.set_num_threads(n)

    @contextmanager
    def sampling(self) -> Iterator[int]:
        """One thread for the many small ops (reading the style sample too); the caller's
        setting is the most ``ThreadPolicy`` may use, and comes back afterwards."""
        threads = self._torch.get_num_threads()
        self._most = threads
        self._torch.set_num_threads(1)
        try:
            yield threads
        finally:
            self._torch.set_num_threads(threads)


def as_runner(model: StepRunner | HandwritingModel) -> StepRunner:
    """A runner as it is; a torch ``HandwritingModel`` wrapped (for training code and tests)."""
    if isinstance(model, StepRunner):
        return model
    if hasattr(model, "pack") and hasattr(model, "step"):
        return TorchRunner(model)
    raise PenbotError(f"not a handwriting model: {type(model).__name__}")


def open_runner(path: str | Path) -> StepRunner:
    """An ``.onnx`` step graph on ONNX Runtime; any other file as a torch model (needs torch)."""
    path = Path(path)
    if not path.is_file():
        raise PenbotError(f"{path}: model file not found")
    if path.suffix.lower() == ".onnx":
        return OnnxRunner(path)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise PenbotError(f"{path}: a torch model file needs torch; use its .onnx graph, or {TRAIN_HINT}") from None
    from penbot.checkpoint import load_model

    return TorchRunner(load_model(path))
