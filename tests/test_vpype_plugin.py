"""vpype_plugin.py: ``vpype penbot`` is registered, converts mm to px, and reports errors as one line."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

import numpy as np
import pytest
import vpype_cli
from click.testing import CliRunner
from fake_ink import FakeWriter

from penbot.errors import PenbotError
from penbot.layout import layout_pages
from penbot.page import PX_PER_MM, PageDrawing
from penbot.vpype_plugin import penbot_generator

pw = pytest.importorskip("penbot.write")  # the library the plugin calls (imports torch)

INSTALLED = any(ep.name == "penbot" for ep in importlib.metadata.entry_points().select(group="vpype.plugins"))


@dataclass
class FakeDocument:
    pages: list[PageDrawing]


@pytest.fixture
def fake_write(monkeypatch):
    """Replace the model with the zig-zag writer; record the options the plugin passed."""
    seen = {}

    def write_text(text, options, model=None):
        seen.update(text=text, options=options, model=model)
        if "explode" in text:
            raise PenbotError("the style 'x' does not exist")
        return FakeDocument(layout_pages(text, options.page, options.layout, FakeWriter()))

    monkeypatch.setattr(pw, "write_text", write_text)
    if "penbot" not in vpype_cli.cli.commands:  # not pip-installed: register by hand
        vpype_cli.cli.add_command(penbot_generator)
    return seen


@pytest.mark.skipif(not INSTALLED, reason="penbot is not installed, so vpype cannot see its entry point")
def test_vpype_penbot_help_through_the_entry_point():
    result = CliRunner().invoke(vpype_cli.cli, ["penbot", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--file", "--style", "--bias", "--seed", "--size", "--page-size", "--line-spacing", "--align"):
        assert option in result.output


def test_generator_returns_the_page_in_pixels(fake_write):
    doc = vpype_cli.execute("penbot --seed 4 --size 8mm --bias 2 -p a5 'Dear Ann, thank you for the lovely pen.'")
    opts = fake_write["options"]
    assert opts.layout.size_mm == pytest.approx(8.0) and opts.layout.seed == 4
    assert opts.sample.bias == 2 and opts.sample.seed == 4
    assert (opts.page.width_mm, opts.page.height_mm) == (148, 210)
    assert np.allclose(np.array(doc.page_size) / PX_PER_MM, (148, 210))  # set because the pipeline had none
    lc = doc.layers[1]
    assert len(lc) > 0
    x0, y0, x1, y1 = np.array(lc.bounds()) / PX_PER_MM
    assert x0 >= 20 - 1e-6 and y0 >= 20 - 1e-6 and x1 <= 128 + 1e-6 and y1 <= 190 + 1e-6


def test_several_pages_pick_one(fake_write, caplog):
    text = "word " * 60  # about 15 lines: two A6 pages
    doc = vpype_cli.execute(f"penbot -p a6 --page 2 --size 6mm '{text}'")
    assert len(doc.layers[1]) > 0
    assert "pages" in caplog.text
    with pytest.raises(Exception, match="fills only"):
        vpype_cli.execute(f"penbot -p a6 --page 9 '{text}'")


def test_text_from_file(fake_write, tmp_path):
    f = tmp_path / "letter.txt"
    f.write_text("Hello from a file\n\nSecond paragraph", encoding="utf-8")
    doc = vpype_cli.execute(f"penbot --file '{f}' linesort")  # the next command is not taken as text
    assert fake_write["text"].startswith("Hello from a file") and len(doc.layers[1]) > 0
    missing = CliRunner().invoke(vpype_cli.cli, ["penbot", "--file", str(tmp_path / "nope.txt")])
    assert missing.exit_code != 0 and "cannot read" in missing.output


def test_library_errors_become_one_line(fake_write):
    result = CliRunner().invoke(vpype_cli.cli, ["penbot", "please explode"])
    assert result.exit_code != 0
    assert "the style 'x' does not exist" in result.output and "Traceback" not in result.output
    bad = CliRunner().invoke(vpype_cli.cli, ["penbot", "--page-size", "B9", "hi"])
    assert bad.exit_code != 0 and "unknown page size" in bad.output
