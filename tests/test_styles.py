"""Styles: shipped library, import from SVG / JSON / InkML, bad style files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from penbot.errors import PenbotError
from penbot.styles import import_style, list_styles, load_style, style_from_polylines


@pytest.fixture(autouse=True)
def user_home(tmp_path, monkeypatch):
    monkeypatch.setenv("PENBOT_HOME", str(tmp_path / "home"))


def _slanted_word(slant: float) -> list[np.ndarray]:
    """Five down-strokes leaning by ``slant`` (x per unit of height), like a written word."""
    return [np.array([[i * 30 + slant * 40, 0], [i * 30, 40]], dtype=float) for i in range(5)]


def test_shipped_styles_load():
    names = [n for n, _ in list_styles()]
    assert len([n for n in names if n.isdigit()]) >= 12
    style = load_style("1")
    assert style.text and len(style.strokes) > 20


def test_advance_guess_follows_the_sample_width():
    from penbot.styles import ADVANCE_RATIO

    style = load_style("1")
    xs = style.strokes.points[:, 0]
    assert style.advance() == pytest.approx(np.ptp(xs) / len(style.text) * ADVANCE_RATIO)
    wide = style_from_polylines("wide", "abcde", [p * [2.0, 1.0] for p in _slanted_word(0.0)])
    narrow = style_from_polylines("narrow", "abcde", _slanted_word(0.0))
    assert wide.advance() > narrow.advance() > 0


def test_unknown_style_names_the_available_ones():
    with pytest.raises(PenbotError, match="unknown style"):
        load_style("no-such-style")


def test_import_from_json_svg_and_inkml(tmp_path):
    strokes = _slanted_word(0.5)
    (tmp_path / "s.json").write_text(json.dumps([s.tolist() for s in strokes]))
    polys = " ".join(f'<polyline points="{" ".join(f"{x},{y}" for x, y in s)}" fill="none" stroke="black"/>'
                     for s in strokes)
    (tmp_path / "s.svg").write_text(f'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60">{polys}</svg>')
    traces = "".join(f"<trace>{', '.join(f'{x} {y}' for x, y in s)}</trace>" for s in strokes)
    (tmp_path / "s.inkml").write_text(f'<ink xmlns="http://www.w3.org/2003/InkML">{traces}</ink>')
    for ext in ("json", "svg", "inkml"):
        path = import_style(f"mine-{ext}", tmp_path / f"s.{ext}", "lllll")
        style = load_style(f"mine-{ext}")
        assert path.is_file() and style.text == "lllll"
        assert len(style.strokes.to_polylines()) == 5


def test_imported_slant_follows_the_sample():
    def lean(style) -> float:
        polys = style.strokes.to_polylines()
        return float(np.mean([p[0, 0] - p[-1, 0] for p in polys]))

    upright = style_from_polylines("a", "lllll", _slanted_word(0.0))
    leaning = style_from_polylines("b", "lllll", _slanted_word(0.6))
    assert lean(leaning) > lean(upright) + 0.3


@pytest.mark.parametrize("content, why", [
    ('{"text": "", "strokes": [[0, 0, 1]]}', "no text"),
    ('{"text": "abc", "strokes": [[0, 0]]}', "broken"),
    ("not json", "not a readable"),
])
def test_bad_style_files(tmp_path, content, why):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PenbotError, match=why):
        load_style(str(path))


def test_import_needs_text_and_a_good_name(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps([s.tolist() for s in _slanted_word(0.2)]))
    with pytest.raises(PenbotError):
        import_style("x", tmp_path / "s.json", "   ")
    with pytest.raises(PenbotError):
        import_style("../evil", tmp_path / "s.json", "abc")
    with pytest.raises(PenbotError):
        import_style("ok", tmp_path / "missing.svg", "abc")
