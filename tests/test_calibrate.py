"""calibrate.py and a style's lean: what is written after a user's sample keeps its slant."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from penbot.calibrate import WRITTEN_WIDTH, calibrate
from penbot.errors import PenbotError
from penbot.handfeatures import hand_features, median_features
from penbot.model import HandwritingModel, ModelConfig
from penbot.sample import LineRequest, SampleOptions, sample_lines
from penbot.strokes import Prime, Strokes
from penbot.styles import Style, load_style, save_style
from penbot.write import default_model_path, open_model

FAST = SampleOptions(check=False, max_steps_per_char=3.0)
shipped = pytest.mark.skipif(not default_model_path().is_file() or load_style(1) is None,
                             reason="no shipped model or styles")


@pytest.fixture(scope="module")
def tiny() -> HandwritingModel:
    torch.manual_seed(0)
    return HandwritingModel(ModelConfig(hidden=16, n_window=2, n_mixture=2)).eval()


def _prime(lean: float = 0.0) -> Prime:
    t = np.linspace(0, 6 * np.pi, 60)
    return Prime("abc", Strokes.from_polylines([np.column_stack([t / 6, 0.4 * np.sin(t)])]), lean)


def test_a_prime_correction_is_undone_exactly():
    prime = Prime("abc", Strokes(np.zeros((3, 3))), lean=0.12, stretch=0.9)
    line = Strokes(np.column_stack([np.random.default_rng(0).normal(size=(40, 2)), np.zeros(40)]))
    assert np.allclose(prime.uncorrected(prime.corrected(line)).offsets, line.offsets)
    assert not np.allclose(prime.corrected(line).offsets, line.offsets)


def test_a_prime_lean_shears_every_line_written_after_it(tiny):
    texts = ["one line", "a longer line in two pieces"]
    opts = replace(FAST, piece_chars=12)
    plain = sample_lines(tiny, [LineRequest(t, _prime(), opts, key=i) for i, t in enumerate(texts)])
    leaned = sample_lines(tiny, [LineRequest(t, _prime(0.2), opts, key=i) for i, t in enumerate(texts)])
    for a, b in zip(plain, leaned, strict=True):
        assert np.allclose(a.strokes.slanted(0.2).offsets, b.strokes.offsets)
        assert not np.allclose(a.strokes.offsets, b.strokes.offsets)


def test_lean_is_saved_loaded_and_checked(tmp_path):
    off = np.zeros((6, 3))
    off[:, 0] = 0.1
    off[-1, 2] = 1
    style = Style("mine", "abc", Strokes(off), lean=0.05, stretch=0.94, written_advance=0.61)
    path = save_style(style, tmp_path / "mine.json")
    back = load_style(str(path))
    assert back.lean == pytest.approx(0.05) and back.prime().lean == pytest.approx(0.05)
    assert back.stretch == pytest.approx(0.94) and back.prime().stretch == pytest.approx(0.94)
    assert back.advance() == pytest.approx(0.61)  # the layout's first guess: measured, not from the sample
    plain = json.loads(save_style(replace(style, lean=0.0, stretch=1.0, written_advance=None),
                                  tmp_path / "plain.json").read_text())
    assert "lean" not in plain and "advance" not in plain and "stretch" not in plain
    assert load_style(str(tmp_path / "plain.json")).advance() == pytest.approx(0.5 / 3 * 0.78)
    for key, bad in (("lean", 5.0), ("lean", "steep"), ("lean", float("nan")), ("advance", 0.0), ("advance", "x"),
                     ("stretch", 0.1), ("stretch", "wide")):
        d = json.loads(path.read_text())
        d[key] = bad
        (tmp_path / "bad.json").write_text(json.dumps(d))
        with pytest.raises(PenbotError, match=key):
            load_style(str(tmp_path / "bad.json"))


def _written_slant(model, style: Style) -> float:
    texts = ["The river was high after the storm.", "She folded the map and smiled.",
             "Nobody answered the door.", "A cold wind came down the hill."]
    reqs = [LineRequest(t, style.prime(), SampleOptions(seed=3), key=i) for i, t in enumerate(texts)]
    return median_features([hand_features(line.strokes, r.text)
                            for line, r in zip(sample_lines(model, reqs), reqs, strict=True)]).slant_deg


@shipped
def test_calibration_brings_the_written_slant_to_the_samples():
    """A strongly slanted sample: the model leans a few degrees less than it; the
    calibrated style writes other texts within 1.5 degrees of the sample's slant."""
    model = open_model()
    base = load_style(1)
    sample = Style("mine", base.text, base.strokes.slanted(0.35))
    target = hand_features(sample.strokes, sample.text).slant_deg
    (calibrated,) = calibrate(model, [sample])
    assert calibrated.lean != 0.0 and calibrated.writes is not None
    assert calibrated.stretch == pytest.approx(1 / WRITTEN_WIDTH)  # the model's usual excess width, taken off
    assert 0.3 < calibrated.advance() < 0.9 and calibrated.advance() != sample.advance()
    assert abs(calibrated.writes.slant_deg - target) < 1.0  # on the texts it was measured on
    before, after = abs(_written_slant(model, sample) - target), abs(_written_slant(model, calibrated) - target)
    assert after < 1.5 and after < before
    # styles are calibrated together but each on its own lines: the batch does not matter
    (again, _) = calibrate(model, [sample, base])
    assert again.lean == pytest.approx(calibrated.lean, abs=0.01)
