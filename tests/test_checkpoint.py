"""Model files: exact round trip, and damaged, foreign or code-carrying files refused in one line."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from penbot.checkpoint import load_checkpoint, load_model, save_checkpoint, save_model
from penbot.errors import PenbotError
from penbot.model import HandwritingModel, ModelConfig

CFG = ModelConfig(hidden=8, n_window=2, n_mixture=3, offset_mean=(0.1, -0.2), offset_std=(0.4, 0.5),
                  clean={"decimate": 2})


def _model() -> HandwritingModel:
    torch.manual_seed(0)
    return HandwritingModel(CFG).eval()


def _outputs(model: HandwritingModel) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    strokes = torch.randn(2, 9, 3, generator=g)
    chars = torch.randint(1, len(CFG.alphabet) + 1, (2, 4), generator=g)
    with torch.no_grad():
        mix, loss = model(strokes, chars, torch.ones(2, 9, dtype=torch.bool))
    return [mix.log_pi, mix.mu, mix.log_sigma, mix.rho, mix.pen_logit, loss]


def _one_line_error(path) -> str:
    with pytest.raises(PenbotError) as err:
        load_model(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_save_and_load_give_identical_outputs(tmp_path):
    model = _model()
    save_model(model, tmp_path / "m.pt", meta={"step": 7})
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.cfg == CFG
    for a, b in zip(_outputs(model), _outputs(loaded)):
        assert torch.equal(a, b)
    assert torch.load(tmp_path / "m.pt", weights_only=True)["meta"] == {"step": 7}


def test_half_precision_file_is_close(tmp_path):
    model = _model()
    save_model(model, tmp_path / "m.pt", half=True)
    for a, b in zip(_outputs(model), _outputs(load_model(tmp_path / "m.pt"))):
        torch.testing.assert_close(a, b, rtol=0.05, atol=0.05)


def test_a_checkpoint_loads_as_a_model_and_as_a_checkpoint(tmp_path):
    model = _model()
    save_checkpoint(tmp_path / "last.pt", {"config": CFG.to_json(), "state_dict": model.state_dict(), "step": 3})
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 3
    assert torch.equal(_outputs(load_model(tmp_path / "last.pt"))[-1], _outputs(model)[-1])
    save_model(model, tmp_path / "m.pt")
    with pytest.raises(PenbotError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "m.pt")


def test_missing_file(tmp_path):
    assert "no such model file" in _one_line_error(tmp_path / "nope.pt")


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, "truncated", "text"])
def test_corrupt_or_truncated_files_are_refused(tmp_path, content):
    path = tmp_path / "m.pt"
    save_model(_model(), path)
    data = path.read_bytes()
    if content == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif content == "text":
        path.write_text("this is a model, honest\n")
    else:
        path.write_bytes(content)
    _one_line_error(path)


@pytest.mark.parametrize(
    "obj, why",
    [
        ({"weights": torch.zeros(3)}, "no format marker"),
        ([1, 2, 3], "no format marker"),
        ({"format": "someone-else-1"}, "unknown format"),
        ({"format": "penbot-model-1", "config": "{}", "state_dict": {}}, "damaged"),
        ({"format": "penbot-model-1", "config": CFG.to_json(), "state_dict": {"x": torch.zeros(1)}}, "damaged"),
    ],
)
def test_foreign_files_are_refused(tmp_path, obj, why):
    torch.save(obj, tmp_path / "m.pt")
    assert why in _one_line_error(tmp_path / "m.pt")


class _Payload:
    """Unpickling this would run a shell command that creates a marker file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("how", ["torch", "pickle"])
def test_a_file_carrying_code_is_refused_and_never_run(tmp_path, how):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    obj = {"format": "penbot-model-1", "config": CFG.to_json(), "state_dict": {}, "meta": _Payload(str(marker))}
    if how == "torch":
        torch.save(obj, path)
    else:
        path.write_bytes(pickle.dumps(obj))
    assert "pickled code" in _one_line_error(path)
    with pytest.raises(PenbotError):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_text_file_as_model_says_what_it_is_not(tmp_path):
    from penbot.checkpoint import load_model
    from penbot.errors import PenbotError

    path = tmp_path / "notes.pt"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(PenbotError, match=r"not a model file \(penbot reads \.onnx step graphs and torch \.pt files\)"):
        load_model(path)


def test_a_truncated_model_is_named_as_such(tmp_path):
    from penbot.checkpoint import load_model, save_model
    from penbot.errors import PenbotError
    from penbot.model import HandwritingModel, ModelConfig

    whole = tmp_path / "whole.pt"
    save_model(HandwritingModel(ModelConfig(hidden=8, n_window=2, n_mixture=2)), whole)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(PenbotError, match=r"\(the file is truncated or damaged\)$"):
        load_model(cut)

