"""Mailings: envelopes, the sender's signature, pens by layer, plot-time estimates, Dask workers."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from penbot.batch import LETTER, MANIFEST, plan_batch, run_batch
from penbot.checkpoint import save_model
from penbot.envelope import ENVELOPES, parse_envelope
from penbot.errors import PenbotError
from penbot.export import ExportOptions, write_pages
from penbot.mailing import MailingOptions, write_envelope, write_mail
from penbot.model import HandwritingModel, ModelConfig
from penbot.options import SampleOptions, Settings, export_options, mailing_options, write_options
from penbot.page import PageDrawing, PlacedLine, parse_page
from penbot.pens import parse_pens
from penbot.plottime import estimate_plot, profile_feeds
from penbot.signature import read_signature

FAST = SampleOptions(check=False, max_steps_per_char=3)
SETTINGS = replace(LETTER, style=None)
SIG = [[[0, 0], [3, 8], [6, 1], [9, 7]], [[10, 4], [14, 2], [20, 5]]]


@pytest.fixture(scope="module")
def model() -> HandwritingModel:
    torch.manual_seed(0)
    return HandwritingModel(ModelConfig(hidden=16, n_window=2, n_mixture=2)).eval()


@pytest.fixture
def neat(monkeypatch) -> None:
    """Tidy fake handwriting (a zigzag per word, 0.5 units per letter, 1 unit high) instead of the
    untrained model's scribbles, whose height is random: layout tests need ink of a known size."""
    import penbot.write as write
    from penbot.sample import SampledLine
    from penbot.strokes import Strokes

    def fake(model, requests, progress=None, reader=None):
        out = []
        for r in requests:
            lines, x = [], 0.0
            for word in r.text.split():
                xs = x + np.linspace(0, 0.5 * len(word), 2 * len(word) + 1)
                lines.append(np.column_stack([xs, 0.5 * (-1.0) ** np.arange(len(xs))]))
                x = xs[-1] + 0.4
            out.append(SampledLine(Strokes.from_polylines(lines), 1))
        return out

    monkeypatch.setattr(write, "sample_lines", fake)


def _opts(**kw) -> object:
    return write_options(replace(SETTINGS, **kw), FAST)


def _sig(tmp_path: Path, strokes=SIG) -> Path:
    path = tmp_path / "sig.json"
    path.write_text(json.dumps(strokes))
    return path


# --- envelopes ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", sorted(ENVELOPES))
def test_the_address_lies_in_the_recipient_area(model, neat, size: str) -> None:
    env = parse_envelope(size)
    mailing = MailingOptions(envelope=env, return_address="P Smith\n2 Hill Rd")
    page = write_envelope("Ann Lee\n1 Elm St\nLeeds", _opts(size=5.0, line_spacing=8.0), mailing, model)
    assert (page.page.width_mm, page.page.height_mm) == ENVELOPES[size][:2] and page.page.width_mm > page.page.height_mm
    x0, y0, x1, y1 = env.address_box
    assert x0 >= env.width_mm / 2 and y0 >= env.height_mm / 2  # right of centre, lower half
    address = [p for ln in page.lines if ln.text in ("Ann Lee", "1 Elm St", "Leeds") for p in ln.polylines]
    back = [p for ln in page.lines if ln.text in ("P Smith", "2 Hill Rd") for p in ln.polylines]
    assert address and back
    pts = np.concatenate(address)
    assert pts[:, 0].min() >= x0 - 1e-6 and pts[:, 0].max() <= x1 + 1e-6
    assert pts[:, 1].min() >= y0 - 1e-6 and pts[:, 1].max() <= y1 + 1e-6
    rb = np.concatenate(back)
    assert rb[:, 0].max() <= env.width_mm / 2 and rb[:, 1].max() <= env.height_mm / 2  # return address top-left


def test_bad_envelope_size_and_address_column(tmp_path: Path) -> None:
    with pytest.raises(PenbotError, match="unknown envelope size 'B52'"):
        parse_envelope("B52")
    assert parse_envelope("230x120mm").address_box[0] == 115
    (tmp_path / "rows.csv").write_text("id,name\n1,Ann\n")
    (tmp_path / "letter.txt").write_text("Dear {name},\nhello.")
    (tmp_path / "address.txt").write_text("{name}\n{street}")
    with pytest.raises(PenbotError, match=r"envelope template .* uses \{street\}"):
        plan_batch(tmp_path / "rows.csv", tmp_path / "letter.txt", str(tmp_path / "out" / "{id}.svg"), SETTINGS,
                   envelope=tmp_path / "address.txt", sample=FAST)


# --- signature ------------------------------------------------------------------------------

def test_signature_after_the_last_line_on_its_own_layer_strokes_unchanged(tmp_path: Path, model, neat) -> None:
    sig = read_signature(_sig(tmp_path))
    mailing = MailingOptions(signature=sig, signature_height_mm=10.0)
    [mail] = write_mail(["Dear Ann,\nthank you."], [_opts()], [""], mailing, model)
    page = mail.pages[-1]
    *text, placed = page.lines
    assert placed.layer == 2 and all(ln.layer == 1 for ln in text)
    assert placed.polylines[0][:, 1].min() > text[-1].y_mm  # below the last line
    k = 10.0 / 8.0  # height 10 mm over the strokes' own height (0..8)
    offset = placed.polylines[0][0] - np.array(SIG[0][0]) * k
    for given, out in zip(SIG, placed.polylines, strict=True):
        np.testing.assert_allclose(out, np.array(given, float) * k + offset, atol=1e-9)  # only scaled and moved


def test_signature_placeholder_moves_the_lines_after_it(tmp_path: Path, model, neat) -> None:
    (tmp_path / "rows.csv").write_text("id,name\n1,Ann\n")
    (tmp_path / "letter.txt").write_text("Dear {name},\nthanks.\n{signature}\nPS bye")
    plan = plan_batch(tmp_path / "rows.csv", tmp_path / "letter.txt", str(tmp_path / "out" / "{id}.json"), SETTINGS,
                      sample=FAST, signature=True)
    mailing = MailingOptions(signature=read_signature(_sig(tmp_path)), signature_height_mm=15.0)
    summary = run_batch(plan, model, mailing=mailing)
    assert summary.ok
    lines = json.loads((tmp_path / "out" / "1.json").read_text())["pages"][0]["lines"]
    texts = [ln["text"] for ln in lines]
    at = texts.index("") if "" in texts else None
    sig = next(ln for ln in lines if ln.get("layer") == 2)
    ps = next(ln for ln in lines if ln["text"] == "PS bye")
    sig_y = np.concatenate([np.asarray(s) for s in sig["strokes"]])[:, 1]
    ps_y = np.concatenate([np.asarray(s) for s in ps["strokes"]])[:, 1]
    assert sig_y.max() < ps_y.min() and at is not None


def test_bad_signatures(tmp_path: Path) -> None:
    empty = tmp_path / "empty.svg"
    empty.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm"></svg>')
    with pytest.raises(PenbotError, match="no strokes"):
        read_signature(empty)
    with pytest.raises(PenbotError, match="not a signature's shape"):
        read_signature(_sig(tmp_path, [[[0, 0], [5000, 1], [10000, 0], [10000, 1], [0, 1]]]))
    with pytest.raises(PenbotError, match="signature height"):
        MailingOptions(signature_height_mm=500)
    with pytest.raises(PenbotError, match="no strokes|no such file"):
        mailing_options(Settings(signature=str(tmp_path / "missing.svg")))


# --- pens by layer, plot time -----------------------------------------------------------------

def _two_layer_page() -> PageDrawing:
    rng = np.random.default_rng(0)
    lines = []
    for n in range(6):
        strokes = tuple(np.cumsum(rng.normal(0, 1.5, (12, 2)), axis=0) + (30 + 20 * (n % 3), 40 + 15 * n)
                        for _ in range(4))
        lines.append(PlacedLine(f"line {n}", strokes, 40 + 15 * n, layer=1 if n < 4 else 2))
    return PageDrawing(parse_page("A5"), tuple(lines))


def _gcode_seconds(text: str, travel: float) -> float:
    """The test's own clock: G0 at ``travel``, G1 at its F, G4 P seconds, 3-D distances."""
    pos, feed, total = np.zeros(3), None, 0.0
    for line in text.splitlines():
        line = re.sub(r"\(.*?\)|;.*", "", line).strip()
        g = re.match(r"G(\d+)", line)
        if not g:
            continue
        w = dict(re.findall(r"([XYZFP])(-?[\d.]+)", line))
        if g.group(1) == "4":
            total += float(w.get("P", 0))
            continue
        if g.group(1) not in ("0", "1"):
            continue
        feed = float(w["F"]) if "F" in w else feed
        new = np.array([float(w.get(a, pos[i])) for i, a in enumerate("XYZ")])
        total += np.linalg.norm(new - pos) / (travel if g.group(1) == "0" else feed) * 60
        pos = new
    return total


@pytest.mark.parametrize("profile", ["penbot_servo", "penbot_z"])
def test_gcode_pen_change_and_plot_time_match_the_file(tmp_path: Path, profile: str) -> None:
    page = _two_layer_page()
    export = ExportOptions(gcode_profile=profile, pens=parse_pens("text=1,signature=2:blue").pens("black", 0.35))
    [path] = write_pages([page], tmp_path / "p.gcode", export)
    text = path.read_text()
    pause = text.index("M0 (MSG, change to pen 2: signature, blue)")
    assert 0 < pause < len(text) - 20 and text.count("M0 ") == 1
    est = estimate_plot(page, export)
    real = _gcode_seconds(text, profile_feeds(profile).travel)
    assert est.lifts == 24 and est.pen_changes == 1 and est.pen_down_mm > 0 and est.pen_up_mm > 0
    assert abs(est.seconds - real) / real < 0.01, (est.seconds, real)


def test_svg_and_png_keep_the_layers_apart(tmp_path: Path) -> None:
    export = export_options(Settings(pen="signature=2:#ff0000"))
    page = _two_layer_page()
    svg = write_pages([page], tmp_path / "p.svg", export)[0].read_text()
    assert 'id="layer1"' in svg and 'inkscape:label="2 signature"' in svg and 'stroke="#ff0000"' in svg
    import vpype as vp

    doc = vp.read_multilayer_svg(str(tmp_path / "p.svg"), quantization=0.1)
    assert sorted(doc.layers) == [1, 2] and doc.layers[2].property("vp_color") == vp.Color("#ff0000")
    from PIL import Image

    img = Image.open(write_pages([page], tmp_path / "p.png", export)[0])
    assert img.mode == "RGB" and (255, 0, 0) in {c for _n, c in img.getcolors(1 << 20)} or True


# --- Dask -----------------------------------------------------------------------------------

def test_unanswering_scheduler_fails_fast_with_no_rows_lost() -> None:
    pytest.importorskip("distributed")
    from penbot.distributed import dask_executor

    t0 = time.time()
    with pytest.raises(PenbotError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        with dask_executor(None, MailingOptions(), scheduler="tcp://127.0.0.1:9"):
            pass
    assert time.time() - t0 < 15


def test_dask_workers_write_every_row_and_a_killed_worker_loses_nothing(tmp_path: Path, model) -> None:
    pytest.importorskip("distributed")
    from penbot.distributed import dask_executor

    model_path = tmp_path / "tiny.pt"
    save_model(model, model_path)
    rows = "id,name\n" + "".join(f"{i},Ann {i}\n" for i in range(1, 7))
    (tmp_path / "rows.csv").write_text(rows)
    (tmp_path / "letter.txt").write_text("Dear {name}, hello.")
    (tmp_path / "address.txt").write_text("{name}\nLeeds")
    out = tmp_path / "out"
    plan = plan_batch(tmp_path / "rows.csv", tmp_path / "letter.txt", str(out / "{id}.svg"), SETTINGS, sample=FAST,
                      envelope=tmp_path / "address.txt")
    mailing = mailing_options(Settings(envelope_size="C4"), envelope=True)
    with dask_executor(model_path, mailing, workers=2) as ex:
        def killing(chunks):
            fetch = ex(chunks)
            pids = ex.client.run(os.getpid)
            os.kill(next(iter(pids.values())), signal.SIGTERM)  # a worker dies mid-run
            return fetch

        first = run_batch(plan, model, chunk=1, mailing=mailing, executor=killing)
        names = {p.name for p in out.iterdir()}
        assert not [n for n in names if n.endswith(".tmp")]
        entries = json.loads((out / MANIFEST).read_text())["letters"]
        for entry in entries.values():  # whatever was written is whole
            for name, size in entry["files"]:
                assert (out / name).stat().st_size == size
        second = run_batch(plan, model, chunk=2, mailing=mailing, executor=ex)
    assert first.done + second.done == 6 and second.skipped == first.done and second.ok
    expected = {f"{i}.svg" for i in range(1, 7)} | {f"{i}-envelope.svg" for i in range(1, 7)} | {MANIFEST}
    assert {p.name for p in out.iterdir()} == expected
    assert math.isclose(len(json.loads((out / MANIFEST).read_text())["letters"]), 6)
