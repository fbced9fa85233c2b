"""The torch-free runtime: the exported step graph agrees with torch's step, writes without torch,
and refuses files that are not penbot graphs with one clear line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from penbot.checkpoint import load_model, save_model
from penbot.errors import PenbotError
from penbot.model import HandwritingModel, ModelConfig
from penbot.runtime import OnnxRunner, TorchRunner, open_runner
from penbot.sample import LineRequest, SampleOptions, sample_free, sample_lines
from penbot.stepgraph import export_step, quantize_step
from penbot.strokes import Prime, Strokes
from penbot.write import default_model_path

ROOT = Path(__file__).resolve().parents[1]
FAST = SampleOptions(check=False, max_steps_per_char=3.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[HandwritingModel, Path]:
    """An untrained tiny model with a non-trivial normalisation, saved and exported."""
    torch.manual_seed(0)
    cfg = ModelConfig(hidden=16, n_window=2, n_mixture=3, offset_mean=(0.5, -0.1), offset_std=(2.0, 1.5))
    model = HandwritingModel(cfg).eval()
    folder = tmp_path_factory.mktemp("tiny")
    save_model(model, folder / "m.pt")
    return model, export_step(model, folder / "m.onnx")


def _prime() -> Prime:
    t = np.linspace(0, 6 * np.pi, 60)
    return Prime("abc", Strokes.from_polylines([np.column_stack([t / 6, 0.4 * np.sin(t)])]))


def _free_parity(model: HandwritingModel, graph: Path, steps: int = 300) -> float:
    """Largest offset difference over ``steps`` sampled points, same noise, float32 torch step."""
    opts = SampleOptions(check=False, bias=0.5, seed=3)
    a = sample_free(TorchRunner(model, torch.float32), steps, opts).offsets
    b = sample_free(OnnxRunner(graph), steps, opts).offsets
    assert a.shape == b.shape == (steps, 3)
    return float(np.abs(a - b).max())


def test_graph_and_torch_step_agree_over_300_steps(tiny):
    model, graph = tiny
    assert _free_parity(model, graph) < 1e-4


def test_a_seeded_primed_line_is_the_same_on_both_runtimes(tiny):
    model, graph = tiny
    reqs = [LineRequest("same strokes", _prime(), FAST, key=1), LineRequest("abc", options=FAST, key=2)]
    a = sample_lines(TorchRunner(model, torch.float32), reqs)
    b = sample_lines(open_runner(graph), reqs)
    for x, y in zip(a, b, strict=True):
        assert x.strokes.offsets.shape == y.strokes.offsets.shape
        assert np.abs(x.strokes.offsets - y.strokes.offsets).max() < 1e-4


def test_the_graph_carries_the_model_config(tiny):
    model, graph = tiny
    runner = open_runner(graph)
    assert runner.cfg == model.cfg
    assert np.allclose(runner.mean, model.mean.numpy()) and np.allclose(runner.std, model.std.numpy())


def test_a_pt_file_still_opens_as_a_torch_runner(tiny):
    _, graph = tiny
    assert isinstance(open_runner(graph.with_suffix(".pt")), TorchRunner)


SHIPPED_FLOAT = default_model_path("float")


@pytest.mark.skipif(not SHIPPED_FLOAT.is_file() or not SHIPPED_FLOAT.with_suffix(".pt").is_file(),
                    reason="no shipped model")
def test_shipped_graph_matches_the_shipped_model():
    pt = SHIPPED_FLOAT.with_suffix(".pt")
    assert _free_parity(load_model(pt), SHIPPED_FLOAT) < 1e-4


@pytest.mark.skipif(not default_model_path().is_file() or not SHIPPED_FLOAT.is_file(), reason="no shipped model")
def test_the_default_is_the_int8_graph_of_the_shipped_float_graph():
    q, f = OnnxRunner(default_model_path()), OnnxRunner(SHIPPED_FLOAT)
    assert q.meta["penbot_precision"] == "int8" and q.cfg == f.cfg
    assert q.meta["source_digest"] == f.meta["source_digest"]  # quantised from this very model


def test_writes_a_page_where_torch_cannot_be_imported(tiny, tmp_path):
    _, graph = tiny
    out = tmp_path / "page.svg"
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        from penbot.export import write_pages
        from penbot.options import WriteOptions
        from penbot.sample import SampleOptions
        from penbot.write import open_model, write_text
        opts = WriteOptions(style=None, sample=SampleOptions(check=False, max_steps_per_char=3.0))
        doc = write_text("a short page\\nof two lines", opts, open_model({str(graph)!r}))
        write_pages(doc.pages, {str(out)!r})
        assert not [m for m in sys.modules if m.startswith("torch") and sys.modules[m] is not None]
    """)
    res = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    assert out.is_file() and "<svg" in out.read_text()


def test_a_pt_model_without_torch_says_how_to_install_it(tiny, tmp_path):
    _, graph = tiny
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None
        from penbot.errors import PenbotError
        from penbot.write import open_model
        try:
            open_model({str(graph.with_suffix(".pt"))!r})
        except PenbotError as exc:
            print(exc)
    """)
    res = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert 'pip install "penbot[train]"' in res.stdout and len(res.stdout.strip().splitlines()) == 1


def _foreign_graph(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "foreign", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "foreign", "missing"])
def test_a_bad_graph_file_is_one_clear_error(kind, tiny, tmp_path):
    _, graph = tiny
    path = tmp_path / "bad.onnx"
    if kind == "corrupt":
        path.write_bytes(b"\x08\x07 this is not an onnx graph" * 10)
    elif kind == "truncated":
        path.write_bytes(graph.read_bytes()[:5000])
    elif kind == "foreign":
        _foreign_graph(path)
    with pytest.raises(PenbotError) as err:
        open_runner(path)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg and len(msg) < 400


def test_trained_model_and_its_graph_agree(tiny_model_path, tmp_path):
    """``penbot train`` exports best.onnx beside best.pt; here the same export on the tiny run."""
    from penbot.cli.model import _export_graphs

    graph, fast = _export_graphs(Path(tiny_model_path))
    assert graph == Path(tiny_model_path).with_suffix(".onnx")
    assert _free_parity(load_model(tiny_model_path), graph) < 1e-4
    assert fast.name.endswith(".int8.onnx") and OnnxRunner(fast).meta["penbot_precision"] == "int8"


def test_int8_graph_keeps_the_marker_and_stays_near_the_float_graph(tiny, tmp_path):
    _, graph = tiny
    q = OnnxRunner(quantize_step(graph, tmp_path / "q.onnx", min_rows=8))
    f = OnnxRunner(graph)
    assert q.meta["penbot_precision"] == "int8" and q.cfg == f.cfg
    rng = np.random.default_rng(0)
    state = tuple(rng.standard_normal(s.shape).astype(np.float32) * 0.5 for s in f.initial_state(4))
    x, onehot = rng.standard_normal((4, 3)).astype(np.float32), f.one_hot(rng.integers(0, 9, (4, 6)))
    a, b = f.step(x, state, onehot), q.step(x, state, onehot)
    assert 0 < np.abs(a.mu - b.mu).max() < 0.05 and np.abs(a.log_pi - b.log_pi).max() < 0.05
