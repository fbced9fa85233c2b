"""penbot studio: a local web page to write, preview and download, and to give penbot your hand.

Built on Starlette served by uvicorn: small, maintained, plain request/response functions
with no pydantic or code generation, and a test client in the box. The page is static
HTML/JS/CSS from the package (no CDN, no build step, works offline).

The studio is a thin front end. A request's settings become a ``penbot.options.Settings``
(parsed by ``settings_from_strings``, the same door as ``penbot batch`` rows) and then
``write_options`` / ``export_options``; the text is written by ``write_text``, files by
``write_pages``, styles by ``style_from_polylines`` + ``calibrate`` + ``save_style``, continuations by
``sample_free``: so a download is byte for byte what ``penbot write`` gives.

API (every ``/api`` call needs the token, see ``penbot.studio.security``):

- ``GET  /api/info``                       sentences, styles, profiles, defaults, limits
- ``GET  /api/styles/{name}/preview.png``  a gallery picture (``?token=`` in the URL)
- ``POST /api/write``                      start a preview job -> ``{"job": id, "marks": [...]}``
- ``GET  /api/jobs/{id}``                  its progress, first line, then pages (SVG) and notices
- ``DELETE /api/jobs/{id}``                cancel it
- ``POST /api/download``                   SVG, PNG, G-code, HPGL or JSON (a zip for several pages)
- ``POST /api/hand/try``                   a canvas sample -> the calibrated style writing a test sentence (+ its lean)
- ``POST /api/hand/save``                  save it as a user style
- ``POST /api/continue``                   the model goes on from a few strokes
- ``POST /api/explore/fan``                many continuations of a few strokes at once, coloured by side
- ``POST /api/explore/view``               fan, attention or cells of one line of text (``penbot.explore``)
- ``GET  /api/explore/cells/{id}``         a cells page made by ``/api/explore/view``, to frame (``?token=``)
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from penbot.errors import PenbotError
from penbot.glyphs import writable
from penbot.options import (
    MAX_SEED,
    ROW_SETTINGS,
    SampleOptions,
    Settings,
    WriteOptions,
    export_options,
    settings_from_strings,
    write_options,
)
from penbot.studio.jobs import Job, JobBoard, one_line
from penbot.studio.security import MAX_BODY, Gate, GateMiddleware, make_token

__all__ = ["create_app", "LIMITS", "COPY_SENTENCE", "TEST_SENTENCE", "check_style_name", "request_settings"]

COPY_SENTENCE = "The quick brown fox jumps over the lazy dog."  # every letter of the alphabet
TEST_SENTENCE = "Pack my box with five dozen liquor jugs."
LIMITS = {"text": 20_000, "points": 20_000, "strokes": 2_000, "body": MAX_BODY, "steps": 1_500, "fan": 50,
          "explore_text": 100, "explore_paths": 50, "explore_ahead": 10}
VIEWS = ("fan", "attention", "cells")
# the framed cells page runs its own few lines of script and inline style, and nothing else
CELLS_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
FORMATS = {"svg": "image/svg+xml", "png": "image/png", "gcode": "text/plain", "hpgl": "text/plain",
           "json": "application/json"}
_EXTRA_SETTINGS = ("profile", "drop_unknown")


class BadRequest(Exception):
    """A request the page (or someone else) got wrong: answered as ``{"error": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------- request parsing
async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


def _text(data: dict[str, Any], key: str = "text", limit: int = LIMITS["text"]) -> str:
    text = data.get(key)
    if not isinstance(text, str):
        raise BadRequest(f"{key!r} must be a string")
    if len(text) > limit:
        raise BadRequest(f"{key} is {len(text):,} characters; the studio takes at most {limit:,}", 413)
    if not text.strip():
        raise BadRequest(f"nothing to write: {key} is empty")
    return text


def _number(data: dict[str, Any], key: str, default: float, lo: float, hi: float, whole: bool = False) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not lo <= value <= hi or (whole and value != int(value)):
        kind = "a whole number" if whole else "a number"
        raise BadRequest(f"{key} must be {kind} from {lo:g} to {hi:g}")
    return int(value) if whole else float(value)


def _style_names() -> list[str]:
    from penbot.styles import list_styles

    return [name for name, _ in list_styles()]


def request_settings(raw: object) -> Settings:
    """A request's ``settings`` object -> ``Settings``, through ``settings_from_strings``.

    Only known names are taken; a style must be one of ``list_styles()`` (or none), so a
    client can never make penbot read a file path of its choosing.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BadRequest("settings must be a JSON object")
    unknown = sorted(set(raw) - set(ROW_SETTINGS) - set(_EXTRA_SETTINGS))
    if unknown:
        raise BadRequest(f"unknown setting(s): {', '.join(map(str, unknown))[:200]}")
    strings: dict[str, str] = {}
    for key in ROW_SETTINGS:
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise BadRequest(f"setting {key} must be a string or a number")
        strings[key] = value if isinstance(value, str) else repr(value)
        if len(strings[key]) > 100:
            raise BadRequest(f"setting {key} is too long")
    settings = settings_from_strings(Settings(), strings)
    style = (settings.style or "").strip()
    if style.lower() not in ("", "none"):
        names = _style_names()
        key = str(int(style)) if style.isdigit() else style
        if key not in names:
            raise BadRequest(f"unknown style {style!r} (available: {', '.join(names) or 'none'})")
        settings = replace(settings, style=key)
    if "profile" in raw:
        from penbot.export import gcode_profiles

        profiles = gcode_profiles()
        if raw["profile"] not in profiles:
            raise BadRequest(f"unknown G-code profile {raw['profile']!r} (use {', '.join(profiles)})")
        settings = replace(settings, profile=raw["profile"])
    if "drop_unknown" in raw:
        if not isinstance(raw["drop_unknown"], bool):
            raise BadRequest("drop_unknown must be true or false")
        settings = replace(settings, drop_unknown=raw["drop_unknown"])
    write_options(settings)  # every range check, now, with the library's own message
    export_options(settings)
    return settings


def check_style_name(name: object) -> str:
    """The rule of ``penbot styles add`` (``penbot.styles.check_style_name``), as a bad request."""
    from penbot.styles import check_style_name as library_rule

    try:
        return library_rule(name)
    except PenbotError as exc:
        raise BadRequest(str(exc)) from None


def parse_strokes(raw: object, limit: int = LIMITS["points"]) -> list[np.ndarray]:
    """``[[[x, y], ...], ...]`` (canvas pixels, y down) -> polylines; counts and numbers checked."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest("strokes must be a non-empty list of strokes, each a list of [x, y] points")
    if len(raw) > LIMITS["strokes"]:
        raise BadRequest(f"{len(raw):,} strokes; at most {LIMITS['strokes']:,}", 413)
    total = sum(len(s) if isinstance(s, list) else 0 for s in raw)
    if total > limit:
        raise BadRequest(f"the sample has {total:,} points; at most {limit:,}", 413)
    out = []
    for stroke in raw:
        if not isinstance(stroke, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(v, int | float) and not isinstance(v, bool)
                                                            for v in p) for p in stroke):
            raise BadRequest("each stroke must be a list of [x, y] number pairs")
        arr = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        if len(arr) and not np.isfinite(arr).all():
            raise BadRequest("stroke points must be finite numbers")
        if len(arr):
            out.append(arr)
    if not out:
        raise BadRequest("the sample has no points")
    return out


# ---------------------------------------------------------------------------- text notes
def character_marks(text: str, alphabet: str, limit: int = 50) -> list[dict[str, Any]]:
    """Where the text has characters the model folds or cannot write (0-based positions)."""
    from penbot.text import fold_text

    verdict: dict[str, str | None] = {}
    for ch in set(text):
        if ch in "\n\r" or ch in alphabet:
            continue
        try:
            verdict[ch] = fold_text(ch, alphabet).text
        except PenbotError:
            verdict[ch] = None
    marks = [{"position": i, "char": ch, "to": verdict[ch]} for i, ch in enumerate(text) if ch in verdict]
    return marks[:limit]


def first_look(text: str, options: WriteOptions) -> str | None:
    """The words of about one line, written first so a long text shows ink within a second.

    Lines never depend on what else shares their batch (``penbot.write``): the first line
    of the full write has the same key and seed, so where the wrap agrees it comes out
    identical. None when the text is about one line anyway.
    """
    chars = int(options.page.usable_width / (options.layout.size_mm * 0.54) * 0.8)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if len(" ".join(text.split())) <= chars + 10:
        return None
    words: list[str] = []
    for word in first.split():
        if words and len(" ".join([*words, word])) > chars:
            break
        words.append(word)
    return " ".join(words) or None


# ---------------------------------------------------------------------------- the work (worker threads)
def _cache_key(text: str, settings: Settings) -> tuple[str, Settings, int]:
    """What a written document depends on: text, the settings that shape strokes, and the
    style file's version (a user style saved again under its name writes differently)."""
    from penbot.styles import style_file

    try:
        path = style_file(settings.style)
        stamp = path.stat().st_mtime_ns if path is not None else 0
    except (PenbotError, OSError):
        stamp = 0  # writing it will say what is wrong
    return text, replace(settings, profile=Settings.profile, pen_width=Settings.pen_width, color=Settings.color,
                         optimise=Settings.optimise), stamp


def _remember(app: Starlette, key: tuple[str, Settings, int], doc: object) -> None:
    docs: OrderedDict = app.state.documents
    docs[key] = doc
    docs.move_to_end(key)
    while len(docs) > 8:
        docs.popitem(last=False)


def _write_work(app: Starlette, text: str, settings: Settings) -> Callable[[Job], dict[str, Any]]:
    def work(job: Job) -> dict[str, Any]:
        from penbot.export import svg_string
        from penbot.write import write_text

        options = write_options(settings, app.state.sample)
        export = export_options(settings)
        look = first_look(text, options)
        if look is not None:
            job.phase = "first line"
            first = write_text(look, options, app.state.model, progress=job.progress)
            job.draft = [svg_string(first.pages[0], export)]
        job.phase = "page"
        doc = write_text(text, options, app.state.model, progress=job.progress)
        _remember(app, _cache_key(text, settings), doc)
        return {"pages": [svg_string(p, export) for p in doc.pages], "notices": doc.notices,
                "lines": doc.lines_written, "resampled": doc.resampled}

    return work


def _document(app: Starlette, text: str, settings: Settings):
    """The written document for ``text`` and ``settings``: from the preview cache, else written now.

    Looked up again once no job samples: a preview still running when the download was asked
    for has written it by then.
    """
    key = _cache_key(text, settings)
    doc = app.state.documents.get(key)
    if doc is not None:
        return doc
    from penbot.write import write_text

    def cached_or_written():
        doc = app.state.documents.get(key)
        if doc is None:
            doc = write_text(text, write_options(settings, app.state.sample), app.state.model)
        _remember(app, key, doc)
        return doc

    return app.state.board.exclusive(cached_or_written)


def _export_bytes(doc, settings: Settings, fmt: str) -> tuple[bytes, str, str]:
    """``write_pages`` into a private folder (the path is ours, never the client's); one file or a zip."""
    from penbot.export import write_pages

    with tempfile.TemporaryDirectory(prefix="penbot-studio-") as folder:
        paths = write_pages(doc.pages, Path(folder) / f"penbot.{fmt}", export_options(settings))
        if len(paths) == 1:
            return paths[0].read_bytes(), f"penbot.{fmt}", FORMATS[fmt]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in paths:
                zf.write(p, p.name)
        return buf.getvalue(), f"penbot-{fmt}.zip", "application/zip"


def _polylines_json(polylines: list[np.ndarray]) -> list[list[list[float]]]:
    return [np.round(p, 3).tolist() for p in polylines]


def sample_problems(style, n_strokes: int) -> list[str]:
    """Why a canvas sample cannot make a style (empty when it can)."""
    from penbot.styles import ink_problems

    letters = len(style.text.replace(" ", ""))
    words = len(style.text.split())
    points = len(style.strokes)
    problems = []
    if points < 3 * letters:
        problems.append(f"the sample is too short for its text ({points} points for {letters} letters): "
                        "write the whole sentence")
    if n_strokes < max(2, math.ceil(words / 3)):
        problems.append(f"too few strokes ({n_strokes}) for {words} words: lift the pen between words")
    if not points < 3 * letters:  # the rule `penbot styles add` applies (the data cleaning's bounds)
        problems += [f"{p} — does it say exactly the sentence above?" for p in ink_problems(style)]
    return problems


def _strip(settings_page: str = "240x28mm") -> Settings:
    return Settings(style=None, page=settings_page, margins="3mm", size=6.0, line_spacing=10.0)


def _calibrated(app: Starlette, style):
    """The style as ``penbot styles add`` saves it: calibrated to keep the sample's slant and width."""
    from penbot.calibrate import calibrate

    return app.state.board.exclusive(lambda: calibrate(app.state.model, [style])[0])


def _try_style(app: Starlette, name: str, text: str, polylines: list[np.ndarray], test: str, seed: int):
    """Build the style as ``penbot styles add`` does and write ``test`` with it (not saved)."""
    from penbot.export import svg_string
    from penbot.page import PageDrawing, PlacedLine, parse_page
    from penbot.styles import save_style, style_from_polylines
    from penbot.write import write_text

    style = style_from_polylines(name, text, polylines)
    problems = sample_problems(style, len(polylines))
    if problems:
        return style, problems, None, None
    style = _calibrated(app, style)
    size = 6.0
    ink = [p * size for p in style.strokes.to_polylines()]
    allp = np.concatenate(ink)
    lo, hi = allp.min(0), allp.max(0)
    page = parse_page(f"{hi[0] - lo[0] + 6:.1f}x{hi[1] - lo[1] + 6:.1f}mm", margins="3mm")
    sample_svg = svg_string(PageDrawing(page, (PlacedLine(text, tuple(p - lo + 3 for p in ink)),)),
                            export_options(Settings()))
    with tempfile.TemporaryDirectory(prefix="penbot-studio-") as folder:
        path = save_style(style, Path(folder) / "sample.json")
        settings = replace(_strip("180x34mm"), style=str(path), seed=seed)
        doc = app.state.board.exclusive(lambda: write_text(test, write_options(settings, app.state.sample),
                                                           app.state.model))
    return style, [], sample_svg, svg_string(doc.pages[0], export_options(settings))


# ---------------------------------------------------------------------------- endpoints
async def info(request: Request) -> JSONResponse:
    from penbot.export import gcode_profiles
    from penbot.page import PAGE_SIZES

    defaults = Settings()
    return JSONResponse({
        "sentence": COPY_SENTENCE, "test_sentence": TEST_SENTENCE, "styles": _gallery(),
        "profiles": gcode_profiles(), "pages": [n.upper() if n.startswith("a") else n.title() for n in PAGE_SIZES],
        "defaults": {f.name: getattr(defaults, f.name) for f in fields(Settings) if f.name in
                     (*ROW_SETTINGS, *_EXTRA_SETTINGS)},
        "limits": LIMITS, "formats": list(FORMATS), "explore": _fan() is not None,
    })


def _gallery() -> list[dict[str, Any]]:
    from penbot.handfeatures import describe
    from penbot.styles import list_styles, load_style

    out = []
    for name, path in list_styles():
        try:
            style = load_style(str(path))
        except PenbotError:
            continue  # a broken user file is not offered
        out.append({"name": name, "kind": "shipped" if name.isdigit() else "user", "text": style.text,
                    "hand": ", ".join(describe(style.features())), "preview": f"/api/styles/{name}/preview.png"})
    return out


async def style_preview(request: Request) -> Response:
    from penbot.styles import list_styles

    name = request.path_params["name"]
    styles = dict(list_styles())
    if name not in styles:
        raise BadRequest(f"unknown style {name[:80]!r}", 404)
    path = styles[name]
    png = path.with_suffix(".png")
    if name.isdigit() and png.is_file():
        return FileResponse(png, media_type="image/png")
    key = (name, path.stat().st_mtime_ns)
    cache: dict = request.app.state.previews
    if key not in cache:
        cache[key] = await run_in_threadpool(_render_preview, request.app, name)
    return Response(cache[key], media_type="image/png", headers={"cache-control": "no-store"})


def _render_preview(app: Starlette, name: str) -> bytes:
    """A user style's gallery picture: it writes a short line (shipped ones have a PNG)."""
    from penbot.export import render_png
    from penbot.write import write_text

    settings = replace(_strip("236x26mm"), style=name)
    doc = app.state.board.exclusive(lambda: write_text("Hello from penbot.", write_options(settings, app.state.sample),
                                                       app.state.model))
    buf = io.BytesIO()
    render_png(doc.pages[0], export_options(settings, png_dpi=127)).save(buf, format="PNG")
    return buf.getvalue()


async def start_write(request: Request) -> JSONResponse:
    data = await _body(request)
    text = _text(data)
    settings = request_settings(data.get("settings"))
    page = data.get("page", "default")
    if not isinstance(page, str):
        raise BadRequest("page must be a string id")
    board: JobBoard = request.app.state.board
    job = board.submit(page)
    marks = character_marks(text, writable(request.app.state.model.cfg.alphabet))
    return JSONResponse({"job": job.id, "marks": marks}, status_code=202,
                        background=BackgroundTask(board.run, job, _write_work(request.app, text, settings)))


async def job_status(request: Request) -> JSONResponse:
    job = request.app.state.board.get(request.path_params["job"])
    if job is None:
        raise BadRequest("no such job (finished long ago, or never started)", 404)
    return JSONResponse(job.view(full=request.query_params.get("full", "1") != "0"),
                        headers={"cache-control": "no-store"})


async def cancel_job(request: Request) -> JSONResponse:
    job = request.app.state.board.get(request.path_params["job"])
    if job is None:
        raise BadRequest("no such job", 404)
    job.cancel.set()
    return JSONResponse({"job": job.id, "state": "cancelled" if not job.finished else job.state})


async def download(request: Request) -> Response:
    data = await _body(request)
    text = _text(data)
    settings = request_settings(data.get("settings"))
    fmt = data.get("format")
    if fmt not in FORMATS:
        raise BadRequest(f"unknown format {str(fmt)[:20]!r}: use {', '.join(FORMATS)}")

    def make() -> tuple[bytes, str, str]:
        return _export_bytes(_document(request.app, text, settings), settings, fmt)

    body, filename, media = await run_in_threadpool(make)
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"',
                                                     "cache-control": "no-store"})


def _hand_inputs(data: dict[str, Any]) -> tuple[str, list[np.ndarray]]:
    text = _text(data, "text", 500)
    return text, parse_strokes(data.get("strokes"))


async def hand_try(request: Request) -> JSONResponse:
    data = await _body(request)
    text, polylines = _hand_inputs(data)
    seed = _number(data, "seed", 0, 0, MAX_SEED, whole=True)
    style, problems, sample_svg, test_svg = await run_in_threadpool(
        _try_style, request.app, "sample", text, polylines, TEST_SENTENCE, seed)
    if problems:
        return JSONResponse({"error": problems[0], "problems": problems}, status_code=422)
    return JSONResponse({"sample": sample_svg, "test": test_svg, "test_sentence": TEST_SENTENCE,
                         "lean_deg": round(math.degrees(math.atan(style.lean)), 1)})


async def hand_save(request: Request) -> JSONResponse:
    from penbot.styles import save_style, style_from_polylines, user_style_dir

    data = await _body(request)
    name = check_style_name(data.get("name"))
    text, polylines = _hand_inputs(data)
    overwrite = data.get("replace", False)
    if not isinstance(overwrite, bool):
        raise BadRequest("replace must be true or false")
    path = user_style_dir() / f"{name}.json"
    if path.exists() and not overwrite:
        raise BadRequest(f"a style called {name!r} exists already: choose another name or replace it", 409)
    style = style_from_polylines(name, text, polylines)
    problems = sample_problems(style, len(polylines))
    if problems:
        return JSONResponse({"error": problems[0], "problems": problems}, status_code=422)
    style = await run_in_threadpool(_calibrated, request.app, style)
    await run_in_threadpool(save_style, style, path)  # atomic: a failure leaves no half-written style
    return JSONResponse({"name": name, "styles": _gallery()})


def _continue_inputs(request: Request, data: dict[str, Any]):
    from penbot.styles import style_from_polylines

    polylines = parse_strokes(data.get("strokes"))
    steps = _number(data, "steps", 300, 10, LIMITS["steps"], whole=True)
    # bias, temperature and seed through the one door, like every other setting
    numbers = {k: _number(data, k, d, lo, hi, whole=k == "seed") for k, d, lo, hi in
               (("bias", 0.5, 0, 10), ("temperature", Settings.temperature, 0.05, 3), ("seed", 0, 0, MAX_SEED))}
    sample = write_options(Settings(style=None, **numbers), request.app.state.sample).sample
    prime = style_from_polylines("continue", "x", polylines).strokes  # as ``penbot free --continue``
    return prime, steps, sample


def _joined(prime, more) -> dict[str, Any]:
    """Prime and continuation in one frame (normalised units, y down), as polylines."""
    from penbot.strokes import Strokes

    both = Strokes(np.vstack([prime.offsets, more.offsets]))
    points, up = both.points, both.pen_up
    n = len(prime)  # a Strokes always ends with the pen up: the continuation starts a new stroke

    def split(pts: np.ndarray, flags: np.ndarray) -> list[np.ndarray]:
        return [p for p in np.split(pts, np.flatnonzero(flags) + 1) if len(p)]

    mine, theirs = split(points[:n], up[:n]), split(points[n:], up[n:])
    return {"prime": _polylines_json(mine), "continuation": _polylines_json(theirs)}


async def continue_strokes(request: Request) -> JSONResponse:
    from penbot.sample import sample_free

    data = await _body(request)
    prime, steps, sample = _continue_inputs(request, data)
    model = request.app.state.model
    more = await run_in_threadpool(request.app.state.board.exclusive, lambda: sample_free(model, steps, sample, prime))
    return JSONResponse(_joined(prime, more))


def _fan() -> Callable | None:
    """The hook for the fan of continuations: ``penbot.explore.fan.sample_fan(model, prime, count,
    steps, sample) -> list[Strokes]`` (``count`` continuations of the ``prime`` strokes, ``steps``
    points each). Without it (an install without ``penbot.explore``) the Fan button is hidden and
    ``/api/explore/fan`` answers 501."""
    try:
        from penbot.explore import fan  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(fan, "sample_fan", None)


def _runs(points: np.ndarray, up: np.ndarray, sides: np.ndarray) -> dict[int, list[np.ndarray]]:
    """One path's pen-down segments grouped into polylines by side (+1 right, -1 left, 0 on it).

    Segment ``k`` joins point ``k - 1`` to ``k`` and takes point ``k``'s side.
    """
    out: dict[int, list[np.ndarray]] = {1: [], -1: [], 0: []}
    run, side = [0], 0

    def flush() -> None:
        if len(run) >= 2:
            out[side].append(points[run])

    for k in range(1, len(points)):
        if up[k - 1]:  # the pen lifts: no ink to this point
            flush()
            run = [k]
            continue
        if len(run) >= 2 and int(sides[k]) != side:
            flush()
            run = [k - 1]
        side = int(sides[k])
        run.append(k)
    flush()
    return out


def fan_json(prime, paths: list) -> dict[str, Any]:
    """A fan of continuations in one frame with the prime (normalised units, y down): the chosen
    (first) path, and the others split by the side of it they veer to (green right, orange left)."""
    from penbot.explore.fan import veer_sides
    from penbot.strokes import Strokes

    n = len(prime)
    frames = [Strokes(np.vstack([prime.offsets, p.offsets])) for p in paths]
    start = frames[0].points[n - 1]
    chosen = frames[0].points[n:]
    right: list[np.ndarray] = []
    left: list[np.ndarray] = []
    for both in frames[1:]:
        pts, up = both.points[n:], both.pen_up[n:]
        runs = _runs(pts, up, veer_sides(start, chosen, pts))
        right += runs[1] + runs[0]
        left += runs[-1]
    return {**_joined(prime, paths[0]), "chosen": _joined(prime, paths[0])["continuation"],
            "right": _polylines_json(right), "left": _polylines_json(left), "count": len(paths)}


async def explore_fan(request: Request) -> JSONResponse:
    fan = _fan()
    if fan is None:
        raise BadRequest("the fan needs penbot.explore.fan, which this install does not have", 501)
    data = await _body(request)
    prime, steps, sample = _continue_inputs(request, data)
    count = _number(data, "count", 24, 2, LIMITS["fan"], whole=True)
    model = request.app.state.model
    outs = await run_in_threadpool(request.app.state.board.exclusive, lambda: fan(model, prime, count, steps, sample))
    return JSONResponse(fan_json(prime, outs))


def _explore_line(app: Starlette, text: str, settings: Settings):
    """The line the explore views look at (cached: the three views of one text share it)."""
    from penbot.explore.line import sampled_line

    key = (text, settings.style, settings.seed, settings.bias)
    lines: OrderedDict = app.state.explore_lines
    if key not in lines:
        lines[key] = sampled_line(app.state.model, text, settings.style or "none", settings.seed, settings.bias,
                                  app.state.sample)
        while len(lines) > 8:
            lines.popitem(last=False)
    lines.move_to_end(key)
    return lines[key]


def _explore_work(app: Starlette, view: str, text: str, settings: Settings, numbers: dict[str, int]) -> dict[str, Any]:
    """One view of ``text`` in the chosen style: the fan as SVG, the attention PNG, or a cells page."""
    import base64
    import uuid

    from penbot.explore import attention, cells, fan

    line = _explore_line(app, text, settings)
    out: dict[str, Any] = {"view": view, "text": line.text, "points": len(line.strokes), "problem": line.problem}
    if view == "fan":
        made = fan.fan_paths(app.state.model, line, numbers["paths"], numbers["ahead"], numbers["every"],
                             seed=settings.seed)
        out.update(svg=fan.render_fan_svg(made), fans=len(made.at))
    elif view == "attention":
        trace = attention.attention_trace(app.state.model, line)
        png = attention.render_attention(trace, "png", dpi=110)
        out.update(png="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                   unfocused=[line.text[i] for i in attention.unfocused_characters(trace)],
                   revisited=[line.text[i] for i in attention.revisited_characters(trace)])
    else:
        trace = cells.cell_activations(app.state.model, line, numbers["layer"])
        page_id = uuid.uuid4().hex
        pages: OrderedDict = app.state.explore_pages
        pages[page_id] = cells.render_cells_html(trace)
        while len(pages) > 8:
            pages.popitem(last=False)
        out.update(url=f"/api/explore/cells/{page_id}", layer=trace.layer, cells=int(trace.activations.shape[0]))
    return out


async def explore_view(request: Request) -> JSONResponse:
    data = await _body(request)
    view = data.get("view")
    if view not in VIEWS:
        raise BadRequest(f"unknown view {str(view)[:20]!r}: use {', '.join(VIEWS)}")
    text = _text(data, "text", LIMITS["explore_text"])
    settings = request_settings(data.get("settings"))
    numbers = {"paths": _number(data, "paths", 20, 1, LIMITS["explore_paths"], whole=True),
               "ahead": _number(data, "ahead", 4, 1, LIMITS["explore_ahead"], whole=True),
               "every": _number(data, "every", 2, 1, 20, whole=True),
               "layer": _number(data, "layer", 1, 1, 3, whole=True)}
    app = request.app
    body = await run_in_threadpool(app.state.board.exclusive, lambda: _explore_work(app, view, text, settings, numbers))
    return JSONResponse(body, headers={"cache-control": "no-store"})


async def explore_cells_page(request: Request) -> Response:
    page = request.app.state.explore_pages.get(request.path_params["page"])
    if page is None:
        raise BadRequest("no such cells page (made long ago, or never)", 404)
    headers = {"content-security-policy": CELLS_POLICY, "x-frame-options": "SAMEORIGIN", "cache-control": "no-store"}
    if request.query_params.get("download") == "1":
        headers["content-disposition"] = 'attachment; filename="penbot-cells.html"'
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)


async def index(request: Request) -> Response:
    return FileResponse(_static_dir() / "index.html", headers={"cache-control": "no-store"})


def _static_dir() -> Path:
    return Path(str(resources.files("penbot.studio") / "static"))


# ---------------------------------------------------------------------------- errors and the app
async def _on_bad_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BadRequest)
    return JSONResponse({"error": one_line(str(exc))}, status_code=exc.status)


async def _on_penbot_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": one_line(str(exc))}, status_code=400)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": one_line(str(exc.detail))}, status_code=exc.status_code)


async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
    import logging

    logging.getLogger("penbot.studio").exception("studio request failed")
    return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)


def create_app(model=None, *, token: str | None = None, port: int = 8765, gate: Gate | None = None,
               sample: SampleOptions | None = None, model_path: str | Path | None = None) -> Starlette:
    """The studio app. ``model`` (else ``open_model(model_path)`` once, at startup) is kept in
    ``app.state``; ``sample`` is the base ``SampleOptions`` (tests pass fast ones)."""

    @asynccontextmanager
    async def lifespan(app: Starlette):
        if app.state.model is None:
            from penbot.write import open_model

            app.state.model = await run_in_threadpool(open_model, model_path)
        yield

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/styles/{name}/preview.png", style_preview),
        Route("/api/write", start_write, methods=["POST"]),
        Route("/api/jobs/{job}", job_status),
        Route("/api/jobs/{job}", cancel_job, methods=["DELETE"]),
        Route("/api/download", download, methods=["POST"]),
        Route("/api/hand/try", hand_try, methods=["POST"]),
        Route("/api/hand/save", hand_save, methods=["POST"]),
        Route("/api/continue", continue_strokes, methods=["POST"]),
        Route("/api/explore/fan", explore_fan, methods=["POST"]),
        Route("/api/explore/view", explore_view, methods=["POST"]),
        Route("/api/explore/cells/{page}", explore_cells_page),
        Mount("/static", StaticFiles(directory=str(_static_dir())), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        BadRequest: _on_bad_request, PenbotError: _on_penbot_error, HTTPException: _on_http, Exception: _on_crash,
    })
    token = token or make_token()
    app.state.token = token
    app.state.model = model
    app.state.sample = sample
    app.state.board = JobBoard()
    app.state.documents = OrderedDict()
    app.state.previews = {}
    app.state.explore_lines = OrderedDict()
    app.state.explore_pages = OrderedDict()
    app.add_middleware(GateMiddleware, gate=gate or Gate.loopback(token, port))
    return app
