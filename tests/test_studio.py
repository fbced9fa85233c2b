"""penbot studio API: every endpoint, the token/Host/Origin rules, the limits, bad requests, cancellation.

A tiny untrained model with fast sampling options keeps these to a few seconds; the
byte-for-byte comparison with ``penbot write`` uses the shipped model on a short line.
"""

from __future__ import annotations

import io
import json
import threading
import time
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette's notice about a future httpx package
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from penbot.errors import PenbotError  # noqa: E402
from penbot.model import HandwritingModel, ModelConfig  # noqa: E402
from penbot.options import SampleOptions  # noqa: E402
from penbot.studio.app import COPY_SENTENCE, LIMITS, create_app  # noqa: E402
from penbot.studio.jobs import Cancelled, JobBoard  # noqa: E402

TOKEN = "test-token"
BASE = "http://127.0.0.1:8765"
H = {"X-Penbot-Token": TOKEN}
FAST = SampleOptions(check=False, retries=0, max_steps_per_char=3.0)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """User styles go to a private folder."""
    monkeypatch.setenv("PENBOT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def tiny_model() -> HandwritingModel:
    import torch

    torch.manual_seed(0)
    return HandwritingModel(ModelConfig(hidden=16, n_window=2, n_mixture=3)).eval()


@pytest.fixture
def client(tiny_model):
    app = create_app(tiny_model, token=TOKEN, port=8765, sample=FAST)
    with TestClient(app, base_url=BASE) as c:
        yield c


def _ink(make_ink, text: str) -> list[list[list[float]]]:
    pts, up = make_ink(text, integer=False)
    ends = np.flatnonzero(up) + 1
    return [p.tolist() for p in np.split(pts, ends) if len(p)]


# ---------------------------------------------------------------------------- the gate
def test_page_and_static_files_need_no_token_but_carry_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and "studio.js" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    for f in ("studio.js", "studio.css"):
        assert client.get(f"/static/{f}").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


@pytest.mark.parametrize("path", ["/api/info", "/api/jobs/x", "/api/styles/1/preview.png"])
def test_api_without_or_with_a_wrong_token_is_403(client, path):
    for headers in ({}, {"X-Penbot-Token": "wrong"}, {"X-Penbot-Token": ""}):
        r = client.get(path, headers=headers)
        assert r.status_code == 403 and "token" in r.json()["error"]
    r = client.post("/api/write", json={"text": "hi"})
    assert r.status_code == 403


def test_token_in_the_query_string_is_accepted(client):
    assert client.get(f"/api/info?token={TOKEN}").status_code == 200


def test_foreign_host_is_refused_even_with_the_token(client):
    for host in ("evil.example:8765", "127.0.0.1:9999", "localhost", "0.0.0.0:8765"):
        r = client.get("/api/info", headers={**H, "host": host})
        assert r.status_code == 403, host
        assert "loopback" in r.json()["error"]
    assert client.get("/", headers={"host": "evil.example"}).status_code == 403
    assert client.get("/api/info", headers={**H, "host": "localhost:8765"}).status_code == 200


def test_foreign_origin_is_refused(client):
    for origin in ("http://evil.example", "https://127.0.0.1:8765", "null", "http://127.0.0.1:1"):
        r = client.post("/api/write", headers={**H, "origin": origin}, json={"text": "hi"})
        assert r.status_code == 403 and "other web sites" in r.json()["error"], origin
    r = client.get("/api/info", headers={**H, "origin": "http://127.0.0.1:8765"})
    assert r.status_code == 200


# ---------------------------------------------------------------------------- limits and bad requests
def test_body_over_1_mb_by_content_length_is_413(client):
    r = client.post("/api/write", headers={**H, "content-type": "application/json"}, content=b" " * 1_000_001)
    assert r.status_code == 413 and "body" in r.json()["error"]


def test_streamed_body_over_1_mb_without_length_is_413(client):
    def chunks():
        for _ in range(20):
            yield b" " * 60_000

    r = client.post("/api/write", headers={**H, "content-type": "application/json"}, content=chunks())
    assert r.status_code == 413


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b"null", b'"text"'])
def test_malformed_json_is_a_one_line_400(client, body):
    for path in ("/api/write", "/api/download", "/api/hand/try", "/api/hand/save", "/api/continue",
                 "/api/explore/fan", "/api/explore/view"):
        r = client.post(path, headers={**H, "content-type": "application/json"}, content=body)
        assert r.status_code == 400, (path, body)
        assert "\n" not in r.json()["error"]
    assert client.get("/api/info", headers=H).status_code == 200  # still serving


def test_text_limits(client):
    r = client.post("/api/write", headers=H, json={"text": "a" * (LIMITS["text"] + 1)})
    assert r.status_code == 413 and "20,000" in r.json()["error"]
    for text in ("", "   \n ", 5, None):
        r = client.post("/api/write", headers=H, json={"text": text})
        assert r.status_code == 400


@pytest.mark.parametrize("settings, words", [
    ({"bias": 99}, "bias"), ({"seed": "x"}, "seed"), ({"page": "Z9"}, "page size"),
    ({"style": "/etc/passwd.json"}, "unknown style"), ({"style": "../../x"}, "unknown style"),
    ({"colour": "red"}, "unknown setting"), ({"profile": "rm -rf"}, "profile"), ({"size": [1]}, "string or a number"),
    ({"margins": "500mm"}, "margins"), ({"align": "middle"}, "align"), ([1], "JSON object"),
    ({"drop_unknown": "yes"}, "true or false"),
])
def test_bad_settings_are_400_with_the_library_message(client, settings, words):
    r = client.post("/api/write", headers=H, json={"text": "hi", "settings": settings})
    assert r.status_code == 400
    assert words in r.json()["error"]


def test_unknown_route_and_job_are_json_errors(client):
    r = client.get("/api/nothing", headers=H)
    assert r.status_code == 404 and "error" in r.json()
    assert client.get("/api/jobs/nope", headers=H).status_code == 404
    assert client.delete("/api/jobs/nope", headers=H).status_code == 404
    assert client.put("/api/write", headers=H, json={}).status_code == 405


# ---------------------------------------------------------------------------- info, gallery
def test_info_lists_styles_profiles_and_defaults(client):
    info = client.get("/api/info", headers=H).json()
    assert info["sentence"] == COPY_SENTENCE
    assert {"1", "3"} <= {s["name"] for s in info["styles"]}
    hands = {s["name"]: s["hand"] for s in info["styles"]}
    assert hands["1"].startswith("printed") and hands["13"].startswith("connected")  # as penbot styles list says
    assert "penbot_servo" in info["profiles"] and info["defaults"]["profile"] == "penbot_servo"
    assert info["defaults"]["bias"] == 2.0 and info["limits"]["text"] == 20_000
    assert set(info["formats"]) == {"svg", "png", "gcode", "hpgl", "json"}


def test_style_previews(client, make_ink):
    r = client.get("/api/styles/3/preview.png", headers=H)
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/api/styles/nosuch/preview.png", headers=H).status_code == 404
    saved = client.post("/api/hand/save", headers=H, json={"name": "mine", "text": COPY_SENTENCE,
                                                           "strokes": _ink(make_ink, COPY_SENTENCE)})
    assert saved.status_code == 200, saved.text
    r = client.get(f"/api/styles/mine/preview.png?token={TOKEN}")
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"


# ---------------------------------------------------------------------------- write jobs
def _write(client, text, settings=None, page="p1"):
    r = client.post("/api/write", headers=H, json={"page": page, "text": text, "settings": settings or {}})
    assert r.status_code == 202, r.text
    start = r.json()
    return start, client.get(f"/api/jobs/{start['job']}", headers=H).json()


def test_write_job_gives_svg_pages(client):
    start, job = _write(client, "Hello there", {"style": "3", "seed": 4, "page": "A5"})
    assert job["state"] == "done", job
    assert len(job["pages"]) == 1 and "<polyline" in job["pages"][0] and 'width="148mm"' in job["pages"][0]
    assert job["lines"] >= 1 and start["marks"] == []
    light = client.get(f"/api/jobs/{start['job']}?full=0", headers=H).json()
    assert "pages" not in light and light["state"] == "done"


def test_long_text_shows_a_first_line_before_the_page(client):
    text = "one two three four five six seven eight nine ten " * 8
    _, job = _write(client, text)
    assert job["state"] == "done"
    assert len(job["draft"]) == 1 and "<polyline" in job["draft"][0]


def test_folded_and_unwritable_characters_are_pointed_at(client):
    # an accent the pen draws (é) is not pointed at; a letter it folds (ơ, whose horn it has no drawing for) is
    start, job = _write(client, "caf\u00e9 \u2014 \u01a1")
    assert job["state"] == "done"
    assert any("folded" in n for n in job["notices"])
    assert {(m["char"], m["position"], m["to"]) for m in start["marks"]} == {("\u2014", 5, "-"), ("\u01a1", 7, "o")}
    start, job = _write(client, "ab\u2603c")
    assert job["state"] == "error" and "\u2603" in job["error"] and "position 3" in job["error"]
    assert start["marks"] == [{"position": 2, "char": "\u2603", "to": None}]
    _, job = _write(client, "ab\u2603c", {"drop_unknown": True})
    assert job["state"] == "done"
    start, job = _write(client, "a@b = c")  # drawn, not folded: nothing to point at
    assert job["state"] == "done" and start["marks"] == []


def test_a_newer_preview_cancels_the_older(client, monkeypatch):
    import penbot.write

    def slow_write(text, options, model, progress=None):  # a long text: steps until cancelled
        for i in range(2000):
            progress(i, 2000)
            time.sleep(0.005)
        raise AssertionError("not cancelled")

    monkeypatch.setattr(penbot.write, "write_text", slow_write)
    board = client.app.state.board
    first = threading.Thread(target=client.post, args=("/api/write",),
                             kwargs={"headers": H, "json": {"page": "tab", "text": "long text"}})
    first.start()
    deadline = time.time() + 10
    while time.time() < deadline:
        job = board.get(board.current.get("tab", ""))
        if job is not None and job.step > 3:
            break
        time.sleep(0.01)
    old = board.current["tab"]
    monkeypatch.undo()
    monkeypatch.setenv("PENBOT_HOME", "unused")
    t0 = time.time()
    _, job = _write(client, "short", page="tab")
    first.join(10)
    assert not first.is_alive() and time.time() - t0 < 5
    assert client.get(f"/api/jobs/{old}", headers=H).json()["state"] == "cancelled"
    assert job["state"] == "done"
    assert client.delete(f"/api/jobs/{job['job']}", headers=H).json()["state"] == "done"


def test_job_board_cancel_flag_and_page_ids():
    board = JobBoard(keep=3)
    a = board.submit("p")
    b = board.submit("p")
    assert a.cancel.is_set() and not b.cancel.is_set()
    with pytest.raises(Cancelled):
        a.progress(1, 2)
    board.run(a, lambda job: {})
    assert a.state == "cancelled"
    board.run(b, lambda job: (_ for _ in ()).throw(PenbotError("bad\nthing")))
    assert b.state == "error" and b.error == "bad thing"
    c = board.submit("q")
    board.run(c, lambda job: 1 / 0)
    assert c.state == "error" and "ZeroDivisionError" in c.error
    for _ in range(5):
        board.submit("r")
    assert len(board.jobs) == 3
    for bad in ("", "a/b", "x" * 65, "../"):
        with pytest.raises(PenbotError):
            board.submit(bad)


# ---------------------------------------------------------------------------- downloads
def test_downloads_each_format(client):
    for fmt, magic in (("svg", b"<?xml"), ("png", b"\x89PNG"), ("gcode", b"G21"), ("hpgl", b"IN"),
                       ("json", b"{")):
        r = client.post("/api/download", headers=H, json={"text": "Hi", "settings": {"seed": 1}, "format": fmt})
        assert r.status_code == 200, (fmt, r.text)
        assert r.headers["content-disposition"] == f'attachment; filename="penbot.{fmt}"'
        assert magic in r.content[:40], fmt
    r = client.post("/api/download", headers=H, json={"text": "Hi", "format": "exe"})
    assert r.status_code == 400 and "unknown format" in r.json()["error"]
    r = client.post("/api/download", headers=H, json={"text": "Hi", "format": "svg", "path": "/tmp/x.svg"})
    assert r.status_code == 200  # extra keys are ignored; nothing is written where a client says


def test_several_pages_download_as_a_zip(client):
    text = "\n\n".join(f"word{i}" for i in range(12))
    r = client.post("/api/download", headers=H, json={"text": text, "format": "svg",
                                                      "settings": {"page": "A6", "size": 9, "line_spacing": 20}})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert len(names) > 1 and names[0] == "penbot-1.svg"


def test_downloads_are_byte_for_byte_what_penbot_write_gives(tmp_path):
    from penbot.cli import main

    text = "Hi there."
    args = ["--style", "3", "--seed", "2", "--bias", "2.5", "--size", "7", "--page", "A4", "--margins", "12mm",
            "--profile", "penbot_z", "-q"]
    settings = {"style": "3", "seed": 2, "bias": 2.5, "size": 7, "page": "A4", "margins": "12mm",
                "profile": "penbot_z"}
    with TestClient(create_app(token=TOKEN, port=8765), base_url=BASE) as c:  # the shipped model
        for fmt in ("svg", "png", "gcode", "hpgl", "json"):
            out = tmp_path / f"cli.{fmt}"
            main(["write", text, "--out", str(out), *args])
            r = c.post("/api/download", headers=H, json={"text": text, "settings": settings, "format": fmt})
            assert r.status_code == 200, r.text
            assert r.content == out.read_bytes(), fmt


# ---------------------------------------------------------------------------- your hand
def test_hand_try_writes_the_test_sentence_in_the_new_style(client, make_ink, _home):
    r = client.post("/api/hand/try", headers=H, json={"text": COPY_SENTENCE, "strokes": _ink(make_ink, COPY_SENTENCE)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "<polyline" in body["sample"] and "<polyline" in body["test"]
    assert not (_home / "styles").exists()  # trying saves nothing


def test_trying_and_saving_a_hand_calibrate_it_as_styles_add_does(client, make_ink, _home, monkeypatch):
    """The studio's hand is the one ``penbot styles add`` would save: calibrated."""
    import penbot.calibrate
    from penbot.styles import load_style

    seen = []

    def marked(model, styles, seed=0):
        seen.append([st.text for st in styles])
        return [replace(st, lean=0.123) for st in styles]

    monkeypatch.setattr(penbot.calibrate, "calibrate", marked)
    body = {"text": COPY_SENTENCE, "strokes": _ink(make_ink, COPY_SENTENCE)}
    tried = client.post("/api/hand/try", headers=H, json=body)
    assert tried.status_code == 200 and tried.json()["lean_deg"] == 7.0  # atan(0.123), shown to the writer
    assert client.post("/api/hand/save", headers=H, json={**body, "name": "leaned"}).status_code == 200
    assert seen == [[COPY_SENTENCE], [COPY_SENTENCE]]
    assert load_style("leaned").lean == pytest.approx(0.123)


def test_unusable_samples_say_why(client, make_ink):
    short = {"text": COPY_SENTENCE, "strokes": [[[0, 0], [5, 5], [10, 0]]]}
    r = client.post("/api/hand/try", headers=H, json=short)
    assert r.status_code == 422 and "too short" in r.json()["error"]
    one = np.concatenate([np.asarray(s) for s in _ink(make_ink, COPY_SENTENCE)]).tolist()
    r = client.post("/api/hand/try", headers=H, json={"text": COPY_SENTENCE, "strokes": [one]})
    assert r.status_code == 422 and any("few strokes" in p for p in r.json()["problems"])
    r = client.post("/api/hand/try", headers=H, json={"text": "Hi all", "strokes": _ink(make_ink, COPY_SENTENCE)})
    assert r.status_code == 422 and "too wide" in r.json()["error"]  # the rule styles add applies
    r = client.post("/api/hand/try", headers=H, json={"text": "caf\u20ac", "strokes": _ink(make_ink, "cafe")})
    assert r.status_code == 400 and "cannot write" in r.json()["error"]


@pytest.mark.parametrize("strokes, status", [
    ([[[0, 0]] * (LIMITS["points"] + 1)], 413), ([[[0, 0]]] * (LIMITS["strokes"] + 1), 413),
    ([], 400), ("abc", 400), ([[[0, "x"]]], 400), ([[[0, 0, 0]]], 400), ([[[True, 0]]], 400), ([[1, 2]], 400),
])
def test_bad_strokes(client, strokes, status):
    r = client.post("/api/hand/try", headers=H, json={"text": "hi", "strokes": strokes})
    assert r.status_code == status, r.text


@pytest.mark.parametrize("number", [b"1e400", b"NaN", b"-Infinity"])
def test_non_finite_points_are_refused(client, number):
    body = b'{"text": "hi", "strokes": [[[0, 0], [' + number + b', 1]]]}'
    r = client.post("/api/hand/try", headers={**H, "content-type": "application/json"}, content=body)
    assert r.status_code == 400 and "finite" in r.json()["error"]


def test_save_style_is_listed_and_usable(client, make_ink, _home, capsys):
    from penbot.cli import main
    from penbot.styles import load_style

    body = {"name": "my-hand", "text": COPY_SENTENCE, "strokes": _ink(make_ink, COPY_SENTENCE)}
    r = client.post("/api/hand/save", headers=H, json=body)
    assert r.status_code == 200, r.text
    assert "my-hand" in {s["name"] for s in r.json()["styles"]}
    assert (_home / "styles" / "my-hand.json").is_file()
    assert load_style("my-hand").text == COPY_SENTENCE
    main(["styles", "list"])
    assert "my-hand" in capsys.readouterr().out
    _, job = _write(client, "in my hand", {"style": "my-hand"})
    assert job["state"] == "done"
    r = client.post("/api/hand/save", headers=H, json=body)
    assert r.status_code == 409 and "exists" in r.json()["error"]
    assert client.post("/api/hand/save", headers=H, json={**body, "replace": True}).status_code == 200
    assert sorted(p.name for p in (_home / "styles").iterdir()) == ["my-hand.json"]  # no temporary files left


def test_a_style_saved_again_is_not_served_from_the_preview_cache(client, make_ink, _home):
    body = {"name": "mine2", "text": COPY_SENTENCE, "strokes": _ink(make_ink, COPY_SENTENCE)}
    assert client.post("/api/hand/save", headers=H, json=body).status_code == 200
    ask = {"text": "in my hand", "settings": {"style": "mine2", "seed": 3}, "format": "json"}
    _write(client, ask["text"], ask["settings"])  # a preview: the document is now cached
    first = client.post("/api/download", headers=H, json=ask).content
    wider = [[[x * 1.6, y] for x, y in stroke] for stroke in body["strokes"]]
    r = client.post("/api/hand/save", headers=H, json={**body, "strokes": wider, "replace": True})
    assert r.status_code == 200, r.text
    assert client.post("/api/download", headers=H, json=ask).content != first


@pytest.mark.parametrize("name", ["12", "", "../evil", "a/b", ".hidden", "x" * 65, None, 7, "a b", "\u00e9t\u00e9"])
def test_style_names_are_validated_like_the_cli(client, make_ink, name, _home):
    r = client.post("/api/hand/save", headers=H, json={"name": name, "text": COPY_SENTENCE,
                                                       "strokes": _ink(make_ink, COPY_SENTENCE)})
    assert r.status_code == 400 and "style name" in r.json()["error"]
    assert not (_home / "styles").exists() or not list((_home / "styles").iterdir())


def test_an_unusable_sample_is_not_saved(client, _home):
    r = client.post("/api/hand/save", headers=H, json={"name": "bad", "text": COPY_SENTENCE,
                                                       "strokes": [[[0, 0], [3, 3]]]})
    assert r.status_code == 422
    assert not (_home / "styles" / "bad.json").exists()


# ---------------------------------------------------------------------------- continue, explore
def test_continue_goes_on_from_the_strokes(client, make_ink):
    r = client.post("/api/continue", headers=H, json={"strokes": _ink(make_ink, "hello"), "steps": 40, "seed": 3,
                                                      "bias": 1.0, "temperature": 0.8})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["prime"] and body["continuation"]
    assert sum(len(s) for s in body["continuation"]) == 40
    for bad in ({"steps": 0}, {"steps": 10**6}, {"steps": 2.5}, {"bias": -1}, {"seed": -1}, {"temperature": "hot"}):
        r = client.post("/api/continue", headers=H, json={"strokes": _ink(make_ink, "hi"), **bad})
        assert r.status_code == 400, bad


def test_explore_fan_is_coloured_by_side_and_reproducible(client, make_ink):
    info = client.get("/api/info", headers=H).json()
    assert info["explore"]
    body = {"strokes": _ink(make_ink, "hello"), "steps": 12, "count": 5, "seed": 2}
    r = client.post("/api/explore/fan", headers=H, json=body)
    assert r.status_code == 200, r.text
    fan = r.json()
    assert fan["count"] == 5 and fan["prime"] and fan["chosen"]
    assert fan["right"] or fan["left"]
    assert all(len(p[0]) == 2 for p in fan["right"] + fan["left"])
    assert client.post("/api/explore/fan", headers=H, json=body).json() == fan  # seeded
    cont = client.post("/api/continue", headers=H, json={k: body[k] for k in ("strokes", "steps", "seed")}).json()
    assert np.allclose(np.concatenate(cont["continuation"]), np.concatenate(fan["chosen"]), atol=1e-2)
    for bad in ({"count": 1}, {"count": LIMITS["fan"] + 1}, {"steps": 0}):
        r = client.post("/api/explore/fan", headers=H, json={**body, **bad})
        assert r.status_code == 400 and "\n" not in r.json()["error"], bad


def test_fan_runs_split_by_side():
    from penbot.studio.app import _runs

    pts = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0], [4, 0]])
    up = np.array([0, 0, 1, 0, 1], bool)
    runs = _runs(pts, up, np.array([1, 1, -1, 1, 1]))
    assert [r.tolist() for r in runs[1]] == [[[0, 0], [1, 0]], [[3, 0], [4, 0]]]
    assert [r.tolist() for r in runs[-1]] == [[[1, 0], [2, 0]]]


def _explore(client, view, text="hi there", **extra):
    return client.post("/api/explore/view", headers=H, json={"view": view, "text": text,
                                                             "settings": {"style": "3", "seed": 1}, **extra})


def test_explore_views_of_one_line(client):
    fan = _explore(client, "fan", paths=3, ahead=2, every=3)
    assert fan.status_code == 200, fan.text
    body = fan.json()
    assert body["svg"].lstrip().startswith("<?xml") and "#1a9641" in body["svg"] and body["text"] == "hi there"
    att = _explore(client, "attention")
    assert att.status_code == 200, att.text
    png = att.json()["png"]
    assert png.startswith("data:image/png;base64,")
    import base64

    assert base64.b64decode(png.split(",", 1)[1])[:4] == b"\x89PNG"
    cells = _explore(client, "cells", layer=2)
    assert cells.status_code == 200, cells.text
    assert cells.json()["cells"] == 16 and cells.json()["layer"] == 2
    url = cells.json()["url"]
    page = client.get(url, headers=H)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "const D = " in page.text and "http" not in page.text.lower()
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assert "default-src 'self'" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert client.get(f"{url}?token={TOKEN}").status_code == 200  # as the page frames it
    got = client.get(f"{url}?token={TOKEN}&download=1")
    assert got.headers["content-disposition"] == 'attachment; filename="penbot-cells.html"'
    assert client.get(url).status_code == 403
    assert client.get("/api/explore/cells/nope", headers=H).status_code == 404
    assert client.get("/api/info", headers=H).headers["x-frame-options"] == "DENY"  # the rest stays unframeable


@pytest.mark.parametrize("change, status, words", [
    ({"text": "a" * 101}, 413, "at most 100"), ({"text": ""}, 400, "empty"), ({"view": "movie"}, 400, "unknown view"),
    ({"layer": 4}, 400, "layer"), ({"paths": 0}, 400, "paths"), ({"paths": 51}, 400, "paths"),
    ({"ahead": 11}, 400, "ahead"), ({"settings": {"style": "../x"}}, 400, "unknown style"),
    ({"text": "caf\u20ac"}, 400, "cannot write"),
])
def test_explore_view_bad_requests(client, change, status, words):
    body = {"view": "fan", "text": "hi", "settings": {}, **change}
    r = client.post("/api/explore/view", headers=H, json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"] and "\n" not in r.json()["error"]


def test_explore_view_goes_through_the_gate_and_one_job_at_a_time(client, monkeypatch):
    import penbot.studio.app as studio_app

    assert client.post("/api/explore/view", json={"view": "fan", "text": "hi"}).status_code == 403
    r = client.post("/api/explore/view", headers={**H, "origin": "http://evil.example"}, json={"view": "fan",
                                                                                               "text": "hi"})
    assert r.status_code == 403
    held = []
    real = studio_app._explore_work
    monkeypatch.setattr(studio_app, "_explore_work",
                        lambda app, *a: held.append(app.state.board.sampling.locked()) or real(app, *a))
    assert _explore(client, "attention").status_code == 200
    assert held == [True]


# ---------------------------------------------------------------------------- the command
def test_studio_command_reports_a_busy_port():
    from penbot.cli.studio import bind

    sock = bind(0)
    try:
        with pytest.raises(PenbotError, match="cannot listen"):
            bind(sock.getsockname()[1])
    finally:
        sock.close()


def test_error_bodies_are_json(client):
    r = client.post("/api/write", headers=H, json={"text": "x" * 30_000})
    assert json.loads(r.text)["error"]
