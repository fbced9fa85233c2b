"""export/: every format written, read back where it can be, atomic, and errors as one line."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import vpype as vp
from fake_ink import FakeWriter
from PIL import Image

from penbot.errors import PenbotError
from penbot.export import ExportOptions, gcode_profiles, optimise_lines, output_paths, read_json, write_pages
from penbot.layout import LayoutOptions, layout_pages
from penbot.page import PageDrawing, parse_page

PX = 96 / 25.4
TEXT = (
    "Pen plotters draw with a real pen, so the page should look written by a careful hand. "
    "Each line is measured after writing and wrapped again when it runs too long."
)


@pytest.fixture(scope="module")
def pages() -> list[PageDrawing]:
    return layout_pages(TEXT, parse_page("A4"), LayoutOptions(seed=1), FakeWriter(spread=0.1, jitter=0.02))


@pytest.fixture(scope="module")
def two_pages() -> list[PageDrawing]:
    out = layout_pages(TEXT * 3, parse_page("A6", margins="10mm"), LayoutOptions(size_mm=5, seed=2), FakeWriter())
    assert len(out) >= 2
    return out[:2]


def length_mm(lines: list[np.ndarray]) -> float:
    return float(sum(np.linalg.norm(np.diff(p, axis=0), axis=1).sum() for p in lines))


def bounds_mm(lines: list[np.ndarray]) -> np.ndarray:
    p = np.concatenate(lines)
    return np.r_[p.min(axis=0), p.max(axis=0)]


# ---------------------------------------------------------------------------- SVG
def test_svg_real_size_layer_and_vpype_round_trip(pages, tmp_path):
    [path] = write_pages(pages, tmp_path / "page.svg")
    root = ET.parse(path).getroot()
    assert root.get("width") == "210mm" and root.get("height") == "297mm" and root.get("viewBox") == "0 0 210 297"
    ink = "{http://www.inkscape.org/namespaces/inkscape}"
    layers = [g for g in root if g.get(f"{ink}groupmode") == "layer"]
    assert len(layers) == 1 and layers[0].get(f"{ink}label") and layers[0].get("fill") == "none"

    doc = vp.read_multilayer_svg(str(path), quantization=0.1)
    assert np.allclose(np.array(doc.page_size) / PX, (210, 297), atol=0.01)
    assert list(doc.layers) == [1]
    ours = pages[0].polylines
    assert len(doc.layers[1]) == len(ours)
    assert np.allclose(np.array(doc.bounds()) / PX, bounds_mm(ours), atol=0.002)
    assert doc.length() / PX == pytest.approx(length_mm(ours), rel=1e-4)


# ---------------------------------------------------------------------------- G-code
def parse_gcode(text: str, lift: str) -> tuple[list[list[tuple[float, float]]], dict]:
    """Replay G-code: return drawn polylines and facts (units, pen state at every move)."""
    down, pos, drawn, facts = False, (0.0, 0.0), [], {"g21": False, "bad_moves": 0, "xy": []}
    for raw in text.splitlines():
        line = raw.split(";")[0].strip()
        if not line:
            continue
        words = dict((w[0], w[1:]) for w in line.split())
        code = line.split()[0]
        if code == "G21":
            facts["g21"] = True
        if lift == "servo" and code == "M3":
            down = True
            drawn.append([pos])
        elif lift == "servo" and code == "M5":
            down = False
        if lift == "z" and "Z" in words:
            was, down = down, float(words["Z"]) <= 0.0
            if down and not was:
                drawn.append([pos])
        if code in ("G0", "G1") and ("X" in words or "Y" in words):
            pos = (float(words.get("X", pos[0])), float(words.get("Y", pos[1])))
            facts["xy"].append(pos)
            if (code == "G1") != down:  # drawing move with the pen up, or travel with it down
                facts["bad_moves"] += 1
            if down:
                drawn[-1].append(pos)
    return drawn, facts


@pytest.mark.parametrize("profile, lift", [("penbot_servo", "servo"), ("penbot_z", "z")])
def test_gcode_pen_down_only_while_drawing_inside_the_page(pages, tmp_path, profile, lift):
    [path] = write_pages(pages, tmp_path / "page.gcode", ExportOptions(gcode_profile=profile))
    drawn, facts = parse_gcode(path.read_text(), lift)
    assert facts["g21"] and facts["bad_moves"] == 0
    xy = np.array(facts["xy"])
    assert (xy >= -1e-3).all() and (xy[:, 0] <= 210 + 1e-3).all() and (xy[:, 1] <= 297 + 1e-3).all()
    # the same ink: total drawn length, and the page flipped to y-up
    drawn = [np.array(d) for d in drawn]
    ours = pages[0].polylines
    assert length_mm(drawn) == pytest.approx(length_mm(ours), rel=1e-3)
    b = bounds_mm(drawn)
    o = bounds_mm(ours)
    assert np.allclose([b[0], b[2], 297 - b[3], 297 - b[1]], [o[0], o[2], o[1], o[3]], atol=2e-3)


def test_gcode_optimisation_cuts_travel(pages):
    lines = pages[0].polylines
    optimised, travel = optimise_lines(lines)
    assert travel.after_mm < 0.8 * travel.before_mm
    assert len(optimised) <= len(lines)
    assert length_mm(optimised) == pytest.approx(length_mm(lines), rel=1e-9)


def test_unknown_gcode_profile_lists_the_known_ones(pages, tmp_path):
    with pytest.raises(PenbotError, match="penbot_servo") as info:
        write_pages(pages, tmp_path / "x.gcode", ExportOptions(gcode_profile="nope"))
    assert "nope" in str(info.value) and list(tmp_path.iterdir()) == []


def test_user_gcode_profile_file(pages, tmp_path):
    cfg = tmp_path / "mine.toml"
    cfg.write_text(
        '[gwrite.my_laser]\nunit = "mm"\nvertical_flip = true\ndocument_start = "G21\\n"\n'
        'segment_first = "G0 X{x:.2f} Y{y:.2f}\\nM3\\n"\nsegment = "G1 X{x:.2f} Y{y:.2f}\\n"\nline_end = "M5\\n"\n'
    )
    assert "my_laser" in gcode_profiles(str(cfg))
    [path] = write_pages(pages, tmp_path / "l.gcode", ExportOptions(gcode_profile="my_laser", gcode_config=str(cfg)))
    _, facts = parse_gcode(path.read_text(), "servo")
    assert facts["bad_moves"] == 0 and facts["g21"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[gwrite.broken\n")
    with pytest.raises(PenbotError, match="TOML"):
        gcode_profiles(str(bad))


# ---------------------------------------------------------------------------- HPGL, PNG, JSON
def test_hpgl_written_for_the_matching_paper(pages, tmp_path):
    [path] = write_pages(pages, tmp_path / "page.hpgl")
    text = path.read_text()
    assert text.startswith("IN;") and "SP1;" in text and text.count("PD") >= len(pages[0].polylines) // 2
    assert re.search(r"PU-?\d+,-?\d+;", text)


@pytest.mark.parametrize(
    "opts, words", [(ExportOptions(hpgl_device="nope"), "unknown HPGL device"),
                    (ExportOptions(hpgl_paper="z9"), "no paper 'z9'")],
)
def test_hpgl_errors(pages, tmp_path, opts, words):
    with pytest.raises(PenbotError, match=words):
        write_pages(pages, tmp_path / "page.hpgl", opts)


def test_hpgl_page_size_without_paper(tmp_path):
    odd = layout_pages("hello there", parse_page("150x150mm"), LayoutOptions(), FakeWriter())
    with pytest.raises(PenbotError, match="no paper of 150x150 mm"):
        write_pages(odd, tmp_path / "odd.plt")


def test_png_preview(pages, tmp_path):
    [path] = write_pages(pages, tmp_path / "page.png", ExportOptions(png_dpi=60))
    img = np.asarray(Image.open(path).convert("L"))
    assert img.shape == (round(297 / 25.4 * 60), round(210 / 25.4 * 60))
    assert img.min() < 80 and (img == 255).mean() > 0.9  # ink on mostly white paper
    assert len(np.unique(img)) > 10  # antialiased edges, not just black and white
    x0 = round(20 / 25.4 * 60)
    assert (img[:, : x0 - 2] == 255).all()  # nothing in the left margin


def test_json_round_trip(two_pages, tmp_path):
    [path] = write_pages(two_pages, tmp_path / "doc.json")
    data = json.loads(path.read_text())
    assert data["units"] == "mm" and len(data["pages"]) == 2 and data["pages"][0]["width_mm"] == 105
    back = read_json(path)
    assert [p.page for p in back] == [p.page for p in two_pages]
    for a, b in zip(back, two_pages, strict=True):
        assert [ln.text for ln in a.lines] == [ln.text for ln in b.lines]
        for p, q in zip(a.polylines, b.polylines, strict=True):
            assert np.allclose(p, q, atol=1e-4)


def test_read_json_errors(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(PenbotError, match="not a penbot JSON"):
        read_json(tmp_path / "x.json")
    with pytest.raises(PenbotError, match="cannot read"):
        read_json(tmp_path / "missing.json")


# ---------------------------------------------------------------------------- files
@pytest.mark.parametrize("ext", [".svg", ".gcode", ".hpgl", ".png"])
def test_multi_page_names(two_pages, tmp_path, ext):
    # an A6 page has no HPGL paper of its own: plot it on an A4 sheet
    written = write_pages(two_pages, tmp_path / f"out{ext}", ExportOptions(hpgl_paper="a4"))
    assert written == [tmp_path / f"out-1{ext}", tmp_path / f"out-2{ext}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"out-1{ext}", f"out-2{ext}"]
    assert output_paths("a/b.svg", 1) == [type(written[0])("a/b.svg")]


def test_unknown_extension_lists_formats(pages, tmp_path):
    with pytest.raises(PenbotError, match=r"\.svg.*\.gcode.*\.png.*\.json") as info:
        write_pages(pages, tmp_path / "out.docx")
    assert "\n" not in str(info.value) and list(tmp_path.iterdir()) == []


def test_no_partial_files_when_a_page_fails(two_pages, tmp_path, monkeypatch):
    import penbot.export as ex

    calls = []

    def flaky(page, path, opts):
        calls.append(path)
        if len(calls) == 2:
            raise PenbotError("page 2 broke")
        path.write_text("page one")

    monkeypatch.setitem(ex.WRITERS, ".svg", ex.Writer(flaky, True))
    (tmp_path / "out-1.svg").write_text("old")
    with pytest.raises(PenbotError, match="page 2 broke"):
        write_pages(two_pages, tmp_path / "out.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-1.svg"]  # no temp files, no page 2
    assert (tmp_path / "out-1.svg").read_text() == "old"  # and the old file untouched


def test_unwritable_path_is_one_line(pages, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PenbotError, match="cannot write") as info:
        write_pages(pages, blocker / "sub" / "out.svg")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs, words",
    [({"pen_width_mm": 0}, "pen width"), ({"png_dpi": 5}, "dpi"), ({"merge_tolerance_mm": -1}, "merge")],
)
def test_export_options_checked(kwargs, words):
    with pytest.raises(PenbotError, match=words):
        ExportOptions(**kwargs)


def test_bad_colour_for_png(pages, tmp_path):
    with pytest.raises(PenbotError, match="colour"):
        write_pages(pages, tmp_path / "p.png", ExportOptions(color="notacolour"))
    assert list(tmp_path.iterdir()) == []


def test_the_exporters_do_not_import_the_layout_algorithm_or_torch():
    """The page model is its own module: writers read pages, they never need the wrapping code."""
    import subprocess
    import sys

    code = "import sys, penbot.export; print('penbot.layout' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_listing_styles_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom penbot.cli import main\ntry:\n    main(['styles', 'list'])\n"
            "except SystemExit:\n    pass\nprint('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
