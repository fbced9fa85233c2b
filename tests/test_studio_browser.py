"""penbot studio end to end in real headless Chromium: write, preview, add your hand, download.

Needs Debian's ``chromium`` (``apt-get install -y chromium``) and Playwright for Python;
without them the test is skipped. With ``PENBOT_SCREENSHOTS=examples`` it saves
``studio.png`` and ``studio-explore.png`` there for the README (a temporary folder otherwise).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = os.environ.get("PENBOT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# screenshots go to a temporary folder; PENBOT_SCREENSHOTS=examples refreshes the README's pictures
_SHOTS = Path(os.environ.get("PENBOT_SCREENSHOTS") or tempfile.mkdtemp(prefix="penbot-shots-"))
SCREENSHOT = _SHOTS / "studio.png"
EXPLORE_SCREENSHOT = SCREENSHOT.with_name("studio-explore.png")

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
pytest.importorskip("uvicorn", reason="the studio extra (uvicorn) is not installed")
if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set PENBOT_CHROMIUM)",
                allow_module_level=True)


@pytest.fixture
def studio(tmp_path, monkeypatch):
    """A real studio server (shipped model) on a free loopback port, in a thread."""
    import uvicorn

    from penbot.cli.studio import bind
    from penbot.studio.app import create_app

    monkeypatch.setenv("PENBOT_HOME", str(tmp_path / "home"))
    sock = bind(0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(token="e2e-token", port=port), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "the studio did not start"
    yield f"http://127.0.0.1:{port}/?token=e2e-token", tmp_path
    server.should_exit = True
    thread.join(10)
    sock.close()


def _sentence_strokes(text: str) -> list[np.ndarray]:
    """The copy sentence in a shipped hand (mm, y down): what a person would draw on the pad."""
    from penbot.options import Settings, write_options
    from penbot.write import open_model, write_text

    settings = Settings(style="5", seed=1, page="400x40mm", margins="5mm", size=8.0)
    doc = write_text(text, write_options(settings), open_model())
    return [p for line in doc.pages[0].lines for p in line.polylines]


def _draw(page, canvas: str, strokes: list[np.ndarray]) -> None:
    box = page.locator(canvas).bounding_box()
    allp = np.concatenate(strokes)
    lo, hi = allp.min(0), allp.max(0)
    scale = min((box["width"] - 40) / (hi[0] - lo[0]), (box["height"] - 40) / (hi[1] - lo[1]))
    for stroke in strokes:
        pts = (stroke - lo) * scale + [box["x"] + 20, box["y"] + 20]
        page.mouse.move(*pts[0])
        page.mouse.down()
        for x, y in pts[1:]:
            page.mouse.move(x, y)
        page.mouse.up()


def test_write_preview_add_a_hand_and_download(studio):
    url, tmp = studio
    from penbot.studio.app import COPY_SENTENCE

    strokes = _sentence_strokes(COPY_SENTENCE)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True,
                                    bypass_csp=True)  # the page's CSP forbids eval, which Playwright uses
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=20_000)
            assert "token" not in page.url  # moved out of the address bar

            # write: the preview follows typing
            page.fill("#text", "Dear Ada,\nthe studio writes what you type, as you type it.")
            page.wait_for_function("document.querySelector('#status').textContent.includes('line(s) in')",
                                   timeout=30_000)
            assert page.locator("#pages figure.page:not(.draft) svg polyline").count() > 10

            # your hand: draw the sentence, try it, save it
            page.click("nav [data-view='hand']")
            assert page.locator("#copy-sentence").inner_text() == COPY_SENTENCE
            _draw(page, "#hand-pad", strokes)
            assert page.evaluate("handPad.strokes.length") == len(strokes)
            page.click("#hand-try")
            page.wait_for_selector("#hand-test svg polyline", timeout=30_000)
            assert page.locator("#hand-error").is_hidden()
            assert page.locator("#hand-status").inner_text().startswith("this is how penbot writes in your hand")
            page.screenshot(path=str(tmp / "hand-try.png"), full_page=True)
            page.fill("#hand-name", "e2e-hand")
            page.click("#hand-save")
            page.wait_for_function("document.querySelector('#hand-saved').textContent.includes('saved')",
                                   timeout=10_000)
            page.screenshot(path=str(tmp / "hand.png"), full_page=True)
            assert (tmp / "home" / "styles" / "e2e-hand.json").is_file()

            # write with it: it is chosen in the gallery and the preview is redrawn
            page.click("nav [data-view='write']")
            assert page.locator(".gallery .style.chosen[data-style='e2e-hand']").count() == 1
            page.wait_for_function(
                "document.querySelector('#status').textContent.includes('line(s) in')"
                " && document.querySelectorAll('#pages figure.page:not(.draft) polyline').length > 10",
                timeout=30_000)
            page.wait_for_function("Array.from(document.querySelectorAll('.gallery img'))"
                                   ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))

            with page.expect_download(timeout=30_000) as info:
                page.click("[data-format='svg']")
            download = info.value
            assert download.suggested_filename == "penbot.svg"
            svg = Path(download.path()).read_text()
            assert svg.startswith("<?xml") and "<polyline" in svg and 'width="210mm"' in svg

            # explore: the tab opens on the Write box's first line, then on a line of our own
            page.click("nav [data-view='explore']")
            assert page.input_value("#explore-text") == "Dear Ada,"
            page.wait_for_selector("body[data-explored='1']", timeout=60_000)
            page.fill("#explore-text", "The quick brown foxes")
            page.click("#explore-go")
            page.wait_for_function("document.querySelector('#explore-status').textContent.includes('brown foxes')",
                                   timeout=60_000)
            assert page.locator("#explore-error").is_hidden()
            assert page.locator("#explore-fan svg path").count() >= 2
            page.wait_for_function("(() => { const i = document.querySelector('#explore-attention');"
                                   " return i.complete && i.naturalWidth > 200; })()", timeout=10_000)
            frame = page.frame_locator("#explore-cells")
            frame.locator("#heat").wait_for(timeout=20_000)
            assert frame.locator("#ink circle").count() > 50
            frame.locator("#heat").click(position={"x": 20, "y": 30})  # its own script runs in the frame
            assert "colours the strokes" in frame.locator("#info").inner_text()
            # a viewport as tall as the page: a full-page picture leaves the framed cells page blank
            page.set_viewport_size({"width": 1400, "height": page.evaluate("document.documentElement.scrollHeight")})
            page.evaluate("window.scrollTo(0, 0)")
            frame.locator("#heat").wait_for(timeout=10_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(EXPLORE_SCREENSHOT))
            assert not errors, errors
        finally:
            browser.close()
