"""The three front ends (``penbot write``, a one-row ``penbot batch``, ``vpype penbot``) go through
one options builder: the same text and settings give the same strokes, and errors carry
only the hints of the front end that has the flag."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import vpype_cli

import penbot.options as options
from penbot.checkpoint import save_model
from penbot.cli import main
from penbot.model import HandwritingModel, ModelConfig
from penbot.options import SampleOptions, Settings, write_options
from penbot.page import PX_PER_MM
from penbot.vpype_plugin import penbot_generator

TEXT = "Dear Ann, thank you for the pen."
SETTINGS = ["--seed", "5", "--style", "none", "--bias", "1.5"]


@pytest.fixture
def tiny_model(tmp_path: Path, monkeypatch) -> Path:
    """A saved tiny model, and fast sampling (no re-sampling) for every front end."""
    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    save_model(HandwritingModel(ModelConfig(hidden=16, n_window=2, n_mixture=3)).eval(), path)
    monkeypatch.setattr(options, "SampleOptions", partial(SampleOptions, check=False, max_steps_per_char=3))
    if "penbot" not in vpype_cli.cli.commands:  # not pip-installed: register by hand
        vpype_cli.cli.add_command(penbot_generator)
    return path


def _cli(*argv: str) -> int:
    try:
        main([str(a) for a in argv])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _strokes(path: Path) -> list[np.ndarray]:
    data = json.loads(path.read_text())
    return [np.asarray(s) for page in data["pages"] for line in page["lines"] for s in line["strokes"]]


def test_write_batch_and_vpype_give_identical_strokes(tmp_path: Path, tiny_model: Path) -> None:
    assert _cli("write", TEXT, *SETTINGS, "--model", tiny_model, "--out", tmp_path / "w.json", "-q") == 0
    (tmp_path / "rows.csv").write_text('id,seed\n1,5\n')
    (tmp_path / "letter.txt").write_text(TEXT)
    assert _cli("batch", tmp_path / "rows.csv", "-t", tmp_path / "letter.txt", "-o", str(tmp_path / "b" / "{id}.json"),
                *SETTINGS, "--model", tiny_model, "-q") == 0
    doc = vpype_cli.execute(f"penbot --model {tiny_model} --seed 5 --style none --bias 1.5 '{TEXT}'")
    from_vpype = [np.column_stack([c.real, c.imag]) / PX_PER_MM for c in doc.layers[1]]

    written, batched = _strokes(tmp_path / "w.json"), _strokes(tmp_path / "b" / "1.json")
    assert len(written) > 3 and len(written) == len(batched) == len(from_vpype)
    for a, b, c in zip(written, batched, from_vpype, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, atol=1e-3)  # JSON keeps 3 decimals of a mm


def test_the_front_ends_share_one_set_of_defaults() -> None:
    opts = write_options(Settings())
    assert opts.sample.bias == SampleOptions().bias == Settings().bias
    assert opts.layout.size_mm == Settings().size and opts.page.width_mm == 210
    from penbot.batch import LETTER

    assert write_options(LETTER).sample == opts.sample  # the batch default bias is the library's


def test_unknown_characters_hint_names_the_flag_only_where_it_exists(tmp_path: Path, tiny_model: Path,
                                                                    capsys) -> None:
    assert _cli("write", "snow \u2603 man", "--model", tiny_model, "--out", tmp_path / "x.svg") == 1
    err = capsys.readouterr().err
    assert "U+2603" in err and "--drop-unknown" in err and err.count("\n") == 1
    with pytest.raises(Exception) as raised:
        vpype_cli.execute(f"penbot --model {tiny_model} 'snow \u2603 man'")
    assert "U+2603" in str(raised.value) and "--drop-unknown" not in str(raised.value)
    assert not (tmp_path / "x.svg").exists()


def test_characters_drawn_for_the_model_are_written_though_its_alphabet_lacks_them(
        tmp_path: Path, tiny_model: Path) -> None:
    assert _cli("write", "jo@example.com: 1 + 2 = 3, $4 < \u00a35 > \u20ac6", "--model", tiny_model,
                "--out", tmp_path / "x.svg") == 0
    assert (tmp_path / "x.svg").is_file()
    assert _cli("write", "Bake at 180\u00b0C, 3\u00d74 \u00b12 ~6 x^2 a|b C:\\dir", "--model", tiny_model,
                "--out", tmp_path / "y.svg") == 0


def test_accented_letters_are_written_with_their_accents_not_folded(tmp_path: Path, tiny_model: Path,
                                                                    capsys) -> None:
    out = tmp_path / "a.json"
    assert _cli("write", "Jos\u00e9 M\u00fcller", "--model", tiny_model, "--seed", "4", "--out", out) == 0
    assert "folded" not in capsys.readouterr().err
    accented = json.loads(out.read_text())
    assert _cli("write", "Jose Muller", "--model", tiny_model, "--seed", "4", "--out", out) == 0
    plain = json.loads(out.read_text())

    def strokes(doc):
        return sum(len(line["strokes"]) for page in doc["pages"] for line in page["lines"])

    assert strokes(accented) == strokes(plain) + 3  # an acute, and a diaeresis of two dots


def test_write_reports_the_lines_on_its_pages(tmp_path: Path, tiny_model: Path, capsys) -> None:
    """The summary counts lines on the pages (not paragraph gaps, not lines re-written to fit)."""
    text = "A first paragraph of a few words.\n\nA second one, written after a gap, a little longer than that."
    assert _cli("write", text, "--model", tiny_model, "--out", tmp_path / "w.json") == 0
    data = json.loads((tmp_path / "w.json").read_text())
    lines = sum(1 for page in data["pages"] for line in page["lines"] if line["strokes"])
    assert lines >= 2
    assert f"page(s), {lines} lines" in capsys.readouterr().out
