"""Export the sampling step as an ONNX graph: ``HandwritingModel.step`` traced, config inside.

The graph is the very method the torch sampler runs (with float32 packed weights), so the
two runtimes cannot drift apart; the model config travels in the file's metadata, so
writing needs neither torch nor the ``.pt`` file. Exporting needs torch and onnx
(``pip install "penbot[train]"``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from penbot.atomic import atomic_path
from penbot.errors import PenbotError
from penbot.model import HandwritingModel, State
from penbot.runtime import GRAPH_FORMAT, INPUTS, OUTPUTS, OnnxRunner, TorchRunner

__all__ = ["StepGraph", "export_step", "quantize_step", "OPSET"]

OPSET = 17
PARITY = 1e-4  # largest difference from the float32 torch step an export may have


class StepGraph(nn.Module):
    """``HandwritingModel.step`` with the state as separate tensors: the traced unit."""

    def __init__(self, model: HandwritingModel):
        super().__init__()
        self.model = model
        self.packed = model.pack(torch.float32)

    def forward(self, x: Tensor, h1: Tensor, c1: Tensor, kappa: Tensor, w: Tensor, h2: Tensor, c2: Tensor,
                h3: Tensor, c3: Tensor, onehot: Tensor) -> tuple[Tensor, ...]:
        mix, st, phi = self.model.step(x, State(h1, c1, kappa, w, (h2, c2, h3, c3)), onehot, self.packed)
        return (mix.log_pi, mix.mu, mix.log_sigma, mix.rho, mix.pen_logit, st.h1, st.c1, st.kappa, st.w,
                *st.upper, phi)


def _example(model: HandwritingModel, batch: int, chars: int, seed: int) -> tuple[Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    st = model.initial_state(batch)
    state = [torch.randn(s.shape, generator=g) * 0.5 for s in (st.h1, st.c1, st.kappa, st.w, *st.upper)]
    state[2] = state[2].abs() * 3  # kappa: positions along the text
    text = torch.randint(0, len(model.cfg.alphabet) + 1, (batch, chars), generator=g)
    return (torch.randn(batch, 3, generator=g), *state, model.one_hot(text))


def export_step(model: HandwritingModel, path: str | Path, meta: dict | None = None) -> Path:
    """Write ``path`` (.onnx) and check it against the float32 torch step; returns the path."""
    import onnx

    path = Path(path)
    model = model.eval()
    graph = StepGraph(model)
    dynamic = {name: {0: "batch"} for name in (*INPUTS, *OUTPUTS)}
    dynamic["onehot"] = {0: "batch", 1: "chars"}
    dynamic["phi"] = {0: "batch", 1: "chars"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript tracer's deprecation notice
        with atomic_path(path) as tmp:
            torch.onnx.export(graph, _example(model, 2, 5, 0), str(tmp), input_names=list(INPUTS),
                              output_names=list(OUTPUTS), dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
            proto = onnx.load(str(tmp))
            digest = TorchRunner(model, torch.float32).digest()
            props = {"penbot_format": GRAPH_FORMAT, "config": model.cfg.to_json(), "source_digest": digest,
                     **{f"meta.{k}": str(v) for k, v in (meta or {}).items()}}
            onnx.helper.set_model_props(proto, props)
            proto.producer_name = "penbot"
            onnx.save(proto, str(tmp))
            worst = _parity(model, OnnxRunner(tmp))
            if worst > PARITY:
                raise PenbotError(f"{path}: exported graph differs from the torch step by {worst:.2g}")
    return path


def _parity(model: HandwritingModel, onnx_runner: OnnxRunner) -> float:
    """Largest difference between the graph and the float32 torch step on random inputs."""
    ref = TorchRunner(model, torch.float32)
    worst = 0.0
    for batch, chars, seed in ((1, 7, 1), (5, 23, 2)):
        x, *state, onehot = (t.numpy() for t in _example(model, batch, chars, seed))
        a, b = ref.step(x, tuple(state), onehot), onnx_runner.step(x, tuple(state), onehot)
        for u, v in zip((a.log_pi, a.mu, a.log_sigma, a.rho, a.pen_logit, *a.state, a.phi),
                        (b.log_pi, b.mu, b.log_sigma, b.rho, b.pen_logit, *b.state, b.phi), strict=True):
            worst = max(worst, float(np.abs(u - v).max()))
    return worst


def quantize_step(src: str | Path, dst: str | Path, min_rows: int = 64, reduce_range: bool = True) -> Path:
    """Write ``dst``: the float step graph ``src`` with its LSTM products in int8 (dynamic
    quantisation, per output channel), the rest float32; config and marker are kept.

    The traced graph holds the packed LSTM weights as ``Constant`` nodes, which the quantiser
    does not touch, so the large 2-D ones (``min_rows`` rows or more) become initializers first.
    ``reduce_range`` keeps the weights to 7 bits: x86 CPUs without VNNI multiply uint8 by
    int8 in pairs summed into 16 bits, which 8-bit weights can saturate; 7 bits cannot.
    Not bit-equal to the float graph: seeded strokes differ; README "Benchmarks" has the
    legibility and speed of both.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = Path(src), Path(dst)
    proto = onnx.load(str(src))
    keep = []
    for node in proto.graph.node:
        value = node.attribute[0].t if node.op_type == "Constant" and node.attribute else None
        if value is not None and node.attribute[0].name == "value" and len(value.dims) == 2 \
                and value.dims[0] >= min_rows:
            value.name = node.output[0]
            proto.graph.initializer.append(value)
        else:
            keep.append(node)
    del proto.graph.node[:]
    proto.graph.node.extend(keep)
    props = {p.key: p.value for p in proto.metadata_props}
    with atomic_path(dst) as tmp:
        plain = tmp.with_name(tmp.name + ".float.onnx")
        try:
            onnx.save(proto, str(plain))
            quantize_dynamic(str(plain), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             reduce_range=reduce_range,
                             op_types_to_quantize=["MatMul"], extra_options={"MatMulConstBOnly": True})
        finally:
            plain.unlink(missing_ok=True)
        out = onnx.load(str(tmp))
        onnx.helper.set_model_props(out, {**props, "penbot_precision": "int8"})
        out.producer_name = "penbot"
        onnx.save(out, str(tmp))
        OnnxRunner(tmp)  # refuses a graph that lost its marker or config
    return dst
