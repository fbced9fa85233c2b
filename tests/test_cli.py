"""The data and model commands, run the way a user runs them, with their exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cli_run import run_cli as run

from penbot.checkpoint import load_checkpoint
from penbot.cli.model import DEFAULT_MODEL


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("penbot: error: ")
    return lines[0]


@pytest.fixture
def not_iam(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8\xff")
    return folder


@pytest.fixture
def corrupt_model(tmp_path: Path) -> Path:
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04 this is not a model")
    return path


# command, expected exit code, text expected on stdout (or, for errors, in the one error line)
COMMANDS = [
    (["--help"], 0, "Example:"),
    (["data", "--help"], 0, "Example:"),
    (["data", "stats", "--help"], 0, "Example:"),
    (["train", "--help"], 0, "Example:"),
    (["eval", "--help"], 0, "Example:"),
    (["data", "stats", "{db}"], 0, "16 kept"),
    (["data", "stats", "{db}", "--decimate", "1", "--no-cache"], 0, "decimated (k=1)"),
    (["data", "stats", "{not_iam}"], 1, "not an IAM-OnDB layout"),
    (["data", "stats", "{tmp}/nowhere"], 1, "not a folder"),
    (["data", "stats", "{db}", "--decimate", "0"], 2, ""),
    (["train", "--data", "{not_iam}", "--out", "{tmp}/run"], 1, "not an IAM-OnDB layout"),
    (["train", "--data", "{db}", "--out", "{tmp}/run", "--resume"], 1, "nothing to resume"),
    (["train", "--data", "{db}", "--out", "{tmp}/run", "--device", "tpu"], 2, ""),
    (["eval", "--model", "{model}", "--data", "{db}"], 0, "16 lines evaluated"),
    (["eval", "--model", "{model}", "--data", "{db}", "--max-lines", "5"], 0, "5 lines evaluated"),
    (["eval", "--model", "{corrupt}", "--data", "{db}"], 1, "model.pt"),
    (["eval", "--model", "{tmp}/missing.pt", "--data", "{db}"], 1, "no such model file"),
    (["eval", "--model", "{model}", "--data", "{not_iam}"], 1, "not an IAM-OnDB layout"),
    (["frobnicate"], 2, ""),
]


@pytest.mark.parametrize("argv, code, expect", COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_command(argv, code, expect, session_db, tiny_model_path, not_iam, corrupt_model, tmp_path, capsys):
    names = dict(db=session_db, model=tiny_model_path, not_iam=not_iam, corrupt=corrupt_model, tmp=tmp_path)
    got, out, err = run([a.format(**names) for a in argv], capsys)
    assert got == code, (out, err)
    assert "Traceback" not in out + err
    if code == 1:
        assert expect in _one_line_error(err)
    elif code == 0:
        assert expect in out


def test_data_stats_counts_what_was_dropped_and_skipped(broken_db, capsys):
    code, out, err = run(["data", "stats", broken_db], capsys)
    assert code == 0
    assert "19 with a transcription line, 17 kept, 2 dropped" in out
    assert "files skipped: 5" in out and "e01-000b-01.xml: malformed XML" in out
    assert "characters outside the alphabet" in out
    assert "writers: 4 known" in out
    assert "files" in err  # the progress count goes to stderr, not into the figures


def test_data_stats_caps_the_list_of_skipped_files(broken_db, capsys):
    folder = broken_db / "lineStrokes" / "z99" / "z99-000"
    folder.mkdir(parents=True)
    for n in range(30):
        (folder / f"z99-000a-{n:02d}.xml").write_text("<x/>")
    code, out, _ = run(["data", "stats", broken_db], capsys)
    assert code == 0 and "files skipped: 35" in out and "... and 15 more" in out


def test_train_then_resume(tiny_db, tmp_path, capsys):
    out_dir = tmp_path / "run"
    common = ["train", "--data", tiny_db, "--out", out_dir, "--device", "cpu"]
    code, out, err = run([*common, "--steps", "2", "--hidden", "8", "--batch-size", "4", "--seed", "7"], capsys)
    assert code == 0, err
    assert f"model: {out_dir / 'best.pt'}" in out and "Traceback" not in err
    assert load_checkpoint(out_dir / "last.pt")["step"] == 2
    code, out, err = run([*common, "--resume", "--steps", "3"], capsys)
    assert code == 0, err
    ck = load_checkpoint(out_dir / "last.pt")
    assert ck["step"] == 3
    assert ck["train_config"]["batch_size"] == 4 and ck["train_config"]["seed"] == 7  # kept from the first run
    assert ck["state_dict"]["lstm2.weight_hh_l0"].shape == (32, 8)


def test_eval_reports_nll_figures(session_db, tiny_model_path, capsys):
    code, out, _ = run(["eval", "--model", tiny_model_path, "--data", session_db], capsys)
    assert code == 0
    nll = out.split("NLL: ")[1]
    per_line, per_point = float(nll.split(" nats per line")[0]), float(nll.split(", ")[1].split(" ")[0])
    points = int(out.split(" points")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert per_line == pytest.approx(per_point * points / 16, rel=1e-3)


def test_eval_uses_the_model_decimation(session_db, tiny_model_path, tmp_path, capsys):
    """A model trained on every point must be evaluated on every point, whatever the default."""
    obj = torch.load(tiny_model_path, weights_only=True)
    obj["config"] = obj["config"].replace('"decimate": 3', '"decimate": 1')
    torch.save(obj, tmp_path / "k1.pt")
    points = []
    for model in (tiny_model_path, tmp_path / "k1.pt"):
        _, out, _ = run(["eval", "--model", model, "--data", session_db], capsys)
        points.append(int(out.split(" points")[0].rsplit(" ", 1)[1].replace(",", "")))
    assert points[1] > 2.5 * points[0]


def test_eval_without_a_shipped_model_says_so(session_db, capsys):
    if DEFAULT_MODEL.is_file():
        pytest.skip("a shipped model exists")
    code, _, err = run(["eval", "--data", session_db], capsys)
    assert code == 1 and "no shipped model" in _one_line_error(err)


def test_python_dash_m_penbot_prints_one_line_errors(not_iam):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-m", "penbot", "data", "stats", str(not_iam)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert proc.stdout == "" and "not an IAM-OnDB layout" in _one_line_error(proc.stderr)
