"""penbot explore: fans, the attention window and the cells, with a tiny random model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_run import run_cli as run

from penbot.checkpoint import save_model
from penbot.errors import PenbotError
from penbot.explore import (
    AttentionTrace,
    ChosenLine,
    attention_trace,
    cell_activations,
    cell_order,
    chosen_directions,
    fan_paths,
    render_attention,
    render_cells_html,
    render_fan_svg,
    revisited_characters,
    save_fan,
    signed_turn,
    strokes_line,
    turn_colours,
    unfocused_characters,
)
from penbot.explore.fan import LEFT, RIGHT
from penbot.model import HandwritingModel, ModelConfig
from penbot.options import SampleOptions
from penbot.runtime import StepRunner, as_runner
from penbot.strokes import Strokes
from penbot.write import default_model_path


@pytest.fixture(scope="module")
def tiny_net() -> HandwritingModel:
    torch.manual_seed(0)
    return HandwritingModel(ModelConfig(hidden=16, n_window=2, n_mixture=3)).eval()


@pytest.fixture(scope="module")
def tiny(tiny_net: HandwritingModel) -> StepRunner:
    """The views run on a step runner; a torch model is wrapped in one."""
    return as_runner(tiny_net)


@pytest.fixture(scope="module")
def tiny_file(tiny_net: HandwritingModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explore") / "tiny.pt"
    save_model(tiny_net, path)
    return path


def _wave(n: int = 30) -> Strokes:
    """A hand-made line: a wave of ``n`` points in two strokes, normalised units."""
    x = np.linspace(0.0, 3.0, n)
    pts = np.column_stack([x, 0.4 * np.sin(3 * x)])
    up = np.zeros(n)
    up[n // 2] = up[-1] = 1
    return Strokes.from_points(pts, up)


@pytest.fixture
def line() -> ChosenLine:
    return ChosenLine("hi", _wave())


@pytest.fixture
def ink_json(tmp_path: Path) -> Path:
    """A person's strokes as `penbot styles add` reads them (JSON, pixels, y down)."""
    t = np.linspace(0, 2 * np.pi, 40)
    first = np.column_stack([40 * t, 50 + 40 * np.sin(2 * t)])
    second = np.column_stack([300 + 20 * np.cos(t), 50 + 40 * np.sin(t)])
    path = tmp_path / "ink.json"
    path.write_text(json.dumps([first.tolist(), second.tolist()]))
    return path


# --- fan --------------------------------------------------------------------------------------

def test_fan_paths_start_at_the_chosen_point_and_run_ahead(tiny, line):
    fan = fan_paths(tiny, line, paths=7, ahead=3, every=2, seed=1)
    pts = line.strokes.points
    assert list(fan.at) == list(range(0, len(pts), 2))
    assert fan.paths.shape == (len(fan.at), 7, 4, 2)
    assert fan.pen_up.shape == (len(fan.at), 7, 4) and fan.turn.shape == (len(fan.at), 7)
    np.testing.assert_allclose(fan.paths[:, :, 0], np.repeat(pts[fan.at][:, None], 7, axis=1))
    assert np.isfinite(fan.paths).all()
    assert not np.allclose(fan.paths[:, :, 1:], fan.paths[:, :, :1])  # they go somewhere


def test_same_seed_same_file(tiny, line, tmp_path):
    a, b, c = (save_fan(fan_paths(tiny, line, 5, 3, seed=s), tmp_path / f"{i}.svg") for i, s in enumerate((4, 4, 5)))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    png1 = save_fan(fan_paths(tiny, line, 5, 3, seed=4), tmp_path / "1.png").read_bytes()
    png2 = save_fan(fan_paths(tiny, line, 5, 3, seed=4), tmp_path / "2.png").read_bytes()
    assert png1 == png2 and png1.startswith(b"\x89PNG")


def test_turn_sign_and_colour_on_a_hand_made_case():
    east = np.array([1.0, 0.0])
    # y points down, as on paper: moving east, +y is the writer's right
    turns = signed_turn(east, np.array([[1.0, 0.5], [1.0, -0.5], [2.0, 0.0]]))
    assert turns[0] > 0 and turns[1] < 0 and turns[2] == 0
    assert list(turn_colours(turns[:2])) == [RIGHT, LEFT]
    # the chosen direction is where the chosen line went over the same number of points
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.0, 1.0]])
    d = chosen_directions(pts, np.array([0, 2, 3]), 2)
    np.testing.assert_allclose(d, [[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # at the end: where it came from


def test_fan_svg_colours_follow_the_turn():
    from penbot.explore.fan import Fan

    chosen = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    paths = np.array([[[[1.0, 0.0], [1.5, 0.4]], [[1.0, 0.0], [1.5, -0.4]]]])  # one right, one left
    fan = Fan(chosen, np.array([False, False, True]), np.array([1]), paths, np.zeros((1, 2, 2), bool),
              signed_turn(np.array([[1.0, 0.0]]), paths[:, :, -1] - paths[:, :, 0]))
    svg = render_fan_svg(fan)
    right = re.search(rf'<path d="([^"]+)"[^>]*stroke="{RIGHT}"', svg).group(1)
    left = re.search(rf'<path d="([^"]+)"[^>]*stroke="{LEFT}"', svg).group(1)
    y_of = [float(s.split()[-1]) for s in (right.split("L")[-1], left.split("L")[-1])]
    assert y_of[0] > y_of[1]  # the green path ends lower on the page (y down): the right


def test_fan_rejects_silly_sizes(tiny, line):
    for kw in ({"paths": 0}, {"paths": 10_000}, {"ahead": 0}, {"every": 0}):
        with pytest.raises(PenbotError):
            fan_paths(tiny, line, **kw)


# --- attention ---------------------------------------------------------------------------------

def _trace(skip: bool) -> AttentionTrace:
    """A hand-built window over "abc": the focus walks a, b, c, end (or jumps from a to c)."""
    rows = [0, 0, 0, 2, 2, 2, 3] if skip else [0, 0, 1, 1, 2, 2, 3]
    phi = np.full((4, len(rows)), 0.05)
    phi[rows, np.arange(len(rows))] = 0.9
    return AttentionTrace("abc", _wave(len(rows)), phi)


def test_a_skipped_character_shows(tmp_path):
    good, bad = _trace(False), _trace(True)
    assert unfocused_characters(good) == [] and unfocused_characters(bad) == [1]
    assert render_attention(good) != render_attention(bad)


def test_a_repeated_character_shows():
    phi = np.full((4, 6), 0.05)
    phi[[0, 1, 2, 1, 2, 3], np.arange(6)] = 0.9  # b, c, then back to b
    assert revisited_characters(AttentionTrace("abc", _wave(6), phi)) == [1]


def test_attention_trace_has_a_row_per_character(tiny, line):
    trace = attention_trace(tiny, line)
    assert trace.phi.shape == (len("hi") + 1, len(line.strokes))
    assert render_attention(trace, "svg").lstrip().startswith(b"<?xml")


# --- cells -------------------------------------------------------------------------------------

def test_cell_order_is_a_permutation_and_ignores_sign():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 60)
    acts = np.stack([np.sin(t * (1 + i % 4)) * (1 + i % 3) + 0.1 * rng.normal(size=60) for i in range(16)])
    order = cell_order(acts)
    assert sorted(order.tolist()) == list(range(16))
    flipped = acts.copy()
    flipped[5] *= -1
    assert cell_order(flipped).tolist() == order.tolist()


def test_cells_html_holds_every_cell_and_no_url(tiny, line):
    trace = cell_activations(tiny, line, layer=2)
    assert trace.activations.shape == (16, len(line.strokes))
    page = render_cells_html(trace)
    data = json.loads(re.search(r"const D = (.*);\n", page).group(1))
    assert sorted(data["cells"]) == list(range(16)) and len(data["acts"]) == 16
    assert all(len(row) == len(line.strokes) for row in data["acts"])
    assert "http" not in page.lower() and "<script src" not in page


def test_strokes_file_becomes_a_line(ink_json):
    got = strokes_line(ink_json)
    assert got.text == "" and len(got.strokes) > 10 and got.prime is None
    assert np.ptp(got.strokes.points[:, 1]) < 3.0  # normalised like a style sample


# --- the command line --------------------------------------------------------------------------

@pytest.mark.parametrize("view", ["fan", "attention", "cells"])
def test_help_has_an_example(view, capsys):
    code, out, _ = run(["explore", view, "--help"], capsys)
    assert code == 0 and "Example:" in out


def test_cli_fan_from_strokes_is_reproducible(tiny_file, ink_json, tmp_path, capsys):
    outs = []
    for name in ("a.svg", "b.svg"):
        code, out, err = run(["explore", "fan", "--strokes", ink_json, "--paths", 6, "--ahead", 3, "--every", 3,
                              "--seed", 2, "--model", tiny_file, "--out", tmp_path / name], capsys)
        assert code == 0, err
        assert "wrote" in out
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]


def test_cli_views_from_text(tiny_file, tmp_path, capsys):
    for argv in (["attention", "hi", "--out", tmp_path / "a.png"], ["cells", "hi", "--layer", 3, "--out",
                                                                    tmp_path / "c.html"]):
        # no style: a random tiny model primed with a real hand may write nothing for "hi"
        code, _, err = run(["explore", *argv, "--style", "none", "--model", tiny_file], capsys)
        assert code == 0, err
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG")
    assert "http" not in (tmp_path / "c.html").read_text().lower()


@pytest.fixture
def no_ink(tmp_path: Path) -> Path:
    path = tmp_path / "empty.json"
    path.write_text("[]")
    return path


BAD = [
    (["fan", "", "--out", "{tmp}/f.svg"], "empty"),
    (["fan", "--strokes", "{no_ink}", "--out", "{tmp}/f.svg"], "no strokes"),
    (["fan", "hi", "--paths", "0", "--out", "{tmp}/f.svg"], "paths"),
    (["fan", "hi", "--paths", "10000", "--out", "{tmp}/f.svg"], "paths"),
    (["fan", "hi", "--out", "{tmp}/f.pdf"], ".svg or .png"),
    (["fan", "--out", "{tmp}/f.svg"], "TEXT"),
    (["attention", "", "--out", "{tmp}/a.png"], "empty"),
    (["attention", "hi", "--out", "{tmp}/a.html"], ".png or .svg"),
    (["cells", "hi", "--layer", "4", "--out", "{tmp}/c.html"], "layer"),
    (["cells", "hi", "--out", "{tmp}/c.svg"], ".html or .png"),
    (["cells", "--strokes", "{no_ink}", "--out", "{tmp}/c.html"], "no strokes"),
]


@pytest.mark.parametrize("argv, expect", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_no_file(argv, expect, tiny_file, no_ink, tmp_path, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = [a.format(tmp=out_dir, no_ink=no_ink) for a in argv]
    code, _, err = run(["explore", *args, "--model", tiny_file], capsys)
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("penbot: error: ") and expect in lines[0]
    assert "Traceback" not in err
    assert list(out_dir.iterdir()) == []  # no partial file, no temporary left behind


# --- on the step runner: ONNX, no torch ----------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_onnx(tiny_net: HandwritingModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from penbot.stepgraph import export_step

    return export_step(tiny_net, tmp_path_factory.mktemp("explore-onnx") / "tiny.onnx")


def test_onnx_and_torch_replay_agree(tiny, tiny_onnx, line):
    from penbot.explore import replay
    from penbot.runtime import OnnxRunner

    a, b = replay(tiny, line), replay(OnnxRunner(tiny_onnx), line)
    assert a.phi.shape == b.phi.shape == (len(line.strokes), len("hi") + 1)
    assert a.cells.shape == (3, len(line.strokes), 16)
    np.testing.assert_allclose(a.phi, b.phi, atol=2e-2)
    np.testing.assert_allclose(a.cells, b.cells, atol=2e-2)


def test_cli_views_on_an_onnx_model(tiny_onnx, tmp_path, capsys):
    code, _, err = run(["explore", "fan", "hi", "--paths", 4, "--ahead", 2, "--style", "none", "--model", tiny_onnx,
                        "--out", tmp_path / "f.svg"], capsys)
    assert code == 0, err
    assert "<svg" in (tmp_path / "f.svg").read_text()


def test_explore_runs_without_torch(tmp_path):
    """`pip install "penbot[explore]"` brings no torch: the three views on the shipped ONNX graph."""
    import subprocess
    import sys

    script = f"""
import sys


class NoTorch:  # any import of torch now fails, as where it is not installed
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("no torch here")


sys.meta_path.insert(0, NoTorch())
from penbot.cli import main
for argv in (["fan", "Hi", "--paths", "3", "--ahead", "2", "--every", "4", "--out", r"{tmp_path / 'f.svg'}"],
             ["attention", "Hi", "--out", r"{tmp_path / 'a.png'}"],
             ["cells", "Hi", "--out", r"{tmp_path / 'c.html'}"]):
    try:
        main(["explore", *argv])
    except SystemExit as exc:
        assert not exc.code, exc.code
assert "torch" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "f.svg").is_file() and (tmp_path / "a.png").is_file() and (tmp_path / "c.html").is_file()


# --- the fan from a person's strokes (the studio's) ----------------------------------------------

def test_sample_fan_is_one_reproducible_batch(tiny):
    from penbot.explore import sample_fan
    from penbot.sample import sample_free

    prime = _wave(20)
    opts = SampleOptions(bias=0.5, seed=3)
    a, b = sample_fan(tiny, prime, 5, 12, opts), sample_fan(tiny, prime, 5, 12, opts)
    assert len(a) == 5 and all(len(s) == 12 for s in a)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.offsets, y.offsets)
    assert not np.allclose(a[0].offsets, a[1].offsets)  # each path has its own noise
    free = sample_free(tiny, 12, opts, prime)  # path 0 is what sample_free writes
    np.testing.assert_allclose(a[0].offsets[:, :2], free.offsets[:, :2], atol=1e-3)
    c = sample_fan(tiny, prime, 5, 12, SampleOptions(bias=0.5, seed=4))
    assert not np.allclose(a[1].offsets, c[1].offsets)
    for bad in ((0, 12), (5, 0), (True, 12)):
        with pytest.raises(PenbotError):
            sample_fan(tiny, prime, *bad, opts)


def test_veer_sides_follow_the_chosen_path():
    from penbot.explore import veer_sides

    chosen = np.array([[1.0, 0.0], [2.0, 0.0]])
    right = np.array([[1.0, 0.3], [2.0, 0.5]])  # y down: below the chosen path is its right
    assert veer_sides(np.zeros(2), chosen, right).tolist() == [1, 1]
    assert veer_sides(np.zeros(2), chosen, right * [1, -1]).tolist() == [-1, -1]


@pytest.mark.skipif(not default_model_path().is_file(), reason="no shipped model")
def test_replay_reads_a_sample_as_the_sampler_does(monkeypatch):
    """A user's sample that leaves the window elsewhere, with a lean: the replay moves the
    window and undoes the lean as the sampler did, so its attention is the sampler's."""
    import penbot.sample as sample
    from penbot.explore import replay
    from penbot.sample import LineRequest, _sample_parts
    from penbot.strokes import Prime
    from penbot.styles import load_style
    from penbot.write import open_model

    runner = as_runner(open_model())
    prime = Prime("a quick brown fox", load_style(1).strokes, lean=0.1, stretch=0.9)  # its ink says "... jumps" too
    (line, owner), = _sample_parts(runner, [LineRequest("ending", prime, SampleOptions(seed=2))])
    leaned = prime.corrected(line.strokes)  # as sample_lines returns it
    got = replay(runner, ChosenLine("ending", leaned, prime))
    focus = got.phi.argmax(1) - got.start
    # the sampler puts the line at the origin (its first move differs), so within a character
    assert focus[0] <= 0 and np.abs(focus[:20] - owner[:20]).max() <= 1
    monkeypatch.setattr(sample, "_WINDOW_BAND", (-np.inf, np.inf))
    unaligned = replay(runner, ChosenLine("ending", leaned, prime))
    assert unaligned.phi[0].argmax() - unaligned.start >= 2  # where the sample left it: past "en"
