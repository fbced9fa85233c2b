"""Fixtures: a tiny synthetic IAM-OnDB in the original layout, its broken variants, a tiny model.

The ink is synthetic but shaped like the real thing: whiteboard units (integers, y down,
a written line about 250 units tall), one pen-down stroke per word made of a loop of
20 points per letter, separate short strokes for punctuation and i/j dots, and
timestamps. Everything is deterministic, so tests can compare runs exactly.
"""

from __future__ import annotations

import shutil
import tarfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from penbot.data.iamondb import RawLine

XH = 100.0  # x-height in whiteboard units
ADVANCE = 70.0  # per letter
GAP = 90.0  # between words
_TALL = set("bdfhklt0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DESC = set("gjpqy")

# form -> (writer or None, CSR lines). Writers 10000..10003 are known; c01-000u has none.
FORMS: dict[str, tuple[str | None, list[str]]] = {
    "a01-000u": ("10000", ["A MOVE to stop Mr . Gaitskell", "from nominating any more", "Labour life Peers",
                           "is to be made at a"]),
    "a01-001w": ("10001", ["meeting of Labour M Ps", "tomorrow . Mr . Michael", "Foot has put down a"]),
    "a02-000x": ("10002", ["he 's going to write", "resolution on the subject", "and it 's quite clear"]),
    "b01-000z": ("10003", ["Quick brown fox , jumps", "over the lazy dog 1960", "Zebra ( six ) quit !"]),
    "c01-000u": (None, ["Twenty lines of ink", "written on a board ;", "with no known writer"]),
}


def synth_ink(
    text: str, *, scale: float = 1.0, slant: float = 0.2, angle_deg: float = 0.0,
    origin: tuple[float, float] = (900.0, 1300.0), seed: int = 0, integer: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Plausible whiteboard ink for ``text``: ``(points (N, 2), pen_up (N,))``."""
    strokes: list[np.ndarray] = []
    x = 0.0
    for word in text.split(" "):
        loop: list[np.ndarray] = []
        for ch in word:
            if ch.isalnum():
                t = np.linspace(0.0, 2 * np.pi, 20, endpoint=False)
                top = -XH * (2.0 if ch in _TALL else 1.0)
                bottom = 0.8 * XH if ch in _DESC else 0.0
                wobble = 0.15 * np.sin((ord(ch) % 7 + 1) * t)
                ys = bottom + (top - bottom) * (1 - np.cos(t)) / 2
                xs = x + ADVANCE * t / (2 * np.pi) + 25 * (np.sin(t) + wobble)
                loop.append(np.column_stack([xs, ys]))
                if ch in "ij":
                    strokes.append(np.array([[x + 30, -1.6 * XH], [x + 33, -1.55 * XH]]))
                x += ADVANCE
            else:  # punctuation: its own short stroke near the baseline
                if loop:
                    strokes.append(np.concatenate(loop))
                    loop = []
                s = np.linspace(0.0, 1.0, 6)
                strokes.append(np.column_stack([x + 10 + 8 * s, -35 + 45 * s]))
                x += 0.6 * ADVANCE
        if loop:
            strokes.append(np.concatenate(loop))
        x += GAP
    pts = np.concatenate(strokes)
    pen_up = np.concatenate([np.eye(1, len(s), len(s) - 1, dtype=bool).ravel() for s in strokes])
    rng = np.random.default_rng(seed)
    pts = pts + rng.normal(0.0, 1.5, pts.shape)
    pts[:, 0] -= slant * pts[:, 1]
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])  # y down: positive = clockwise
    pts = (pts * scale) @ rot + np.asarray(origin)
    if integer:
        pts = np.round(pts)
    return pts.astype(np.float64), pen_up


def stroke_xml(points: np.ndarray, pen_up: np.ndarray, t0: float = 700.0) -> str:
    """The lineStrokes XML schema of IAM-OnDB for one line."""
    out = [
        '<?xml version="1.0" encoding="ISO-8859-1"?>',
        "<WhiteboardCaptureSession>",
        "  <WhiteboardDescription>",
        '    <SensorLocation corner="top_left"/>',
        '    <DiagonallyOppositeCoords x="6512" y="1376"/>',
        '    <VerticallyOppositeCoords x="966" y="1376"/>',
        '    <HorizontallyOppositeCoords x="6512" y="787"/>',
        "  </WhiteboardDescription>",
        "  <StrokeSet>",
    ]
    ends = np.flatnonzero(pen_up) + 1
    start, i = 0, 0
    for end in ends:
        times = t0 + 0.015 * np.arange(start, end)
        out.append(f'    <Stroke colour="black" start_time="{times[0]:.2f}" end_time="{times[-1]:.2f}">')
        for (x, y), tm in zip(points[start:end], times):
            out.append(f'      <Point x="{x:g}" y="{y:g}" time="{tm:.2f}"/>')
        out.append("    </Stroke>")
        start, i = end, i + 1
    out += ["  </StrokeSet>", "</WhiteboardCaptureSession>", ""]
    return "\n".join(out)


def ascii_text(csr: list[str]) -> str:
    """An ascii/ transcription file: the OCR text wrapped differently, then the CSR lines."""
    ocr = textwrap.wrap(" ".join(csr), 38)
    return "OCR:\n\n" + "\n".join(ocr) + "\n\nCSR:\n\n" + "\n".join(csr) + "\n"


def _form_dir(root: Path, tree: str, form: str) -> Path:
    folder = root / tree / form[:3] / form[:7]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_form(root: Path, form: str, csr: list[str], writer_index: int = 0,
               inks: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
    """Write ascii/<form>.txt and lineStrokes/<form>-NN.xml (one per CSR line unless ``inks``)."""
    (_form_dir(root, "ascii", form) / f"{form}.txt").write_text(ascii_text(csr), encoding="utf-8")
    inks = inks if inks is not None else {
        n: synth_ink(text, scale=0.9 + 0.1 * writer_index, slant=0.1 + 0.05 * writer_index,
                     angle_deg=(-1.5, 0.0, 2.0)[n % 3], origin=(900.0 + 7 * n, 900.0 + 420 * n), seed=n)
        for n, text in enumerate(csr, 1)
    }
    for n, (pts, up) in inks.items():
        (_form_dir(root, "lineStrokes", form) / f"{form}-{n:02d}.xml").write_text(stroke_xml(pts, up))


def build_db(root: Path) -> Path:
    """The tiny database (16 lines, 5 forms, 4 known writers + one unknown) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    rows = ["form,writer"]
    for k, (form, (writer, csr)) in enumerate(FORMS.items()):
        write_form(root, form, csr, k)
        if writer is not None:
            rows.append(f"{form},{writer}")
    (root / "writers.csv").write_text("\n".join(rows) + "\n")
    return root


def build_tar_db(root: Path) -> Path:
    """The same database as the release tarballs ``lineStrokes-all.tar.gz`` + ``ascii-all.tar.gz``."""
    src = build_db(root.parent / f"{root.name}-src")
    root.mkdir(parents=True, exist_ok=True)
    for tree in ("lineStrokes", "ascii"):
        with tarfile.open(root / f"{tree}-all.tar.gz", "w:gz") as tar:
            tar.add(src / tree, arcname=tree)
    shutil.copy(src / "writers.csv", root / "writers.csv")
    return root


def wild_jump_ink(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Ink with one point of a long stroke recorded 30 line-heights below the line."""
    pts, up = synth_ink(text)
    ends = np.flatnonzero(up) + 1
    starts = np.r_[0, ends[:-1]]
    k = int(np.argmax(ends - starts))  # the middle of the longest stroke: not a stray dot
    pts = pts.copy()
    pts[(starts[k] + ends[k]) // 2, 1] += 30 * 250
    return pts, up


# What build_broken_db adds, and what the reader/cleaner must say about each.
BROKEN = {
    "wild": "d01-000a-01.xml",  # kept by the reader, dropped by cleaning as a wild jump
    "no_csr_line": "d01-000a-03.xml",  # CSR has two lines only
    "malformed": "e01-000b-01.xml",
    "no_csr_section": "f01-000c.txt",
    "no_transcription": "f01-000c-01.xml",  # its text file has no CSR section
    "latin1": "g01-000d.txt",
}


def build_broken_db(root: Path) -> Path:
    """The tiny database plus one example of each kind of damage seen in the real data."""
    build_db(root)
    d_csr = ["a wild jump here", "and a fine line"]
    write_form(root, "d01-000a", d_csr, inks={
        1: wild_jump_ink(d_csr[0]), 2: synth_ink(d_csr[1]), 3: synth_ink("extra ink"),
    })
    write_form(root, "e01-000b", ["broken file"], inks={})
    (_form_dir(root, "lineStrokes", "e01-000b") / "e01-000b-01.xml").write_text(
        stroke_xml(*synth_ink("broken file"))[:900]
    )
    write_form(root, "f01-000c", ["no csr"])
    (_form_dir(root, "ascii", "f01-000c") / "f01-000c.txt").write_text("OCR:\n\nno csr\n")
    write_form(root, "g01-000d", ["a caf\u00e9 in Paris"])
    (_form_dir(root, "ascii", "g01-000d") / "g01-000d.txt").write_bytes(
        ascii_text(["a caf\u00e9 in Paris"]).encode("latin-1")
    )
    return root


def raw_line(text: str, line_id: str = "z01-000a-01", **ink) -> RawLine:
    pts, up = synth_ink(text, **ink)
    return RawLine(line_id, line_id[:-3], "99", text, pts.astype(np.float32), up)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own PENBOT_CACHE: the user's cache is never read or written."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("PENBOT_CACHE", str(cache))
    return cache


@pytest.fixture
def cache_folder(_private_cache: Path) -> Path:
    return _private_cache


@pytest.fixture
def tiny_db(tmp_path: Path) -> Path:
    return build_db(tmp_path / "iam")


@pytest.fixture
def tiny_tar_db(tmp_path: Path) -> Path:
    return build_tar_db(tmp_path / "iam-tar")


@pytest.fixture
def broken_db(tmp_path: Path) -> Path:
    return build_broken_db(tmp_path / "iam-broken")


@pytest.fixture
def make_raw() -> Callable[..., RawLine]:
    """``make_raw(text, **synth_ink options) -> RawLine`` for cleaning tests."""
    return raw_line


@pytest.fixture
def make_ink() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    return synth_ink


@pytest.fixture(scope="session")
def session_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny database shared by tests that only read it."""
    return build_db(tmp_path_factory.mktemp("session") / "iam")


def tiny_config(data: Path, out: Path, **kw):
    """A TrainConfig small enough to train in about a second."""
    from penbot.train import TrainConfig

    base = dict(data=str(data), out=str(out), steps=20, val_every=10, batch_size=4, hidden=16,
                n_window=3, n_mixture=3, lr=1e-2, warmup=2, progress=False, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture
def tiny_train_config() -> Callable[..., object]:
    return tiny_config


@pytest.fixture(scope="session")
def tiny_model_path(session_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained for 20 steps on the tiny database (best.pt), shared by the session."""
    from penbot.train import train

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PENBOT_CACHE", str(tmp_path_factory.mktemp("model-cache")))
        return train(tiny_config(session_db, tmp_path_factory.mktemp("run") / "tiny"))
