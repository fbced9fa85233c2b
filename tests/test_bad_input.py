"""Bad input, full disks and hostile files: every failure is one clear line, nothing is lost.

A read-only folder or a full disk is simulated by making the write raise ``OSError`` (the
tests run as root, which ignores permissions). The model is a tiny untrained one with fast
sampling; most checks fail before it is ever asked to write.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import vpype_cli
from cli_run import run_cli
from click.testing import CliRunner
from fake_ink import FakeWriter

import penbot.atomic as atomic
import penbot.batch as batch
import penbot.export as export
import penbot.options as options
import penbot.styles as styles
import penbot.write as pw
from penbot.batch import LETTER, plan_batch, run_batch
from penbot.checkpoint import save_model
from penbot.errors import PenbotError
from penbot.export import ExportOptions, stale_pages, write_pages
from penbot.layout import LayoutOptions, layout_pages
from penbot.manifest import MANIFEST
from penbot.model import HandwritingModel, ModelConfig
from penbot.options import SampleOptions, Settings, write_options
from penbot.page import Page, PageDrawing, PlacedLine, parse_page
from penbot.styles import check_style_name, import_style, list_styles, load_style, style_from_polylines
from penbot.text import fold_text
from penbot.vpype_plugin import penbot_generator

FAST = SampleOptions(check=False, max_steps_per_char=3)


@pytest.fixture(scope="module")
def model() -> HandwritingModel:
    torch.manual_seed(0)
    return HandwritingModel(ModelConfig(hidden=16, n_window=2, n_mixture=2)).eval()


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("PENBOT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch, model) -> Path:
    """A saved tiny model; every front end samples fast, and batch opens it as the torch module."""
    path = tmp_path / "tiny.pt"
    save_model(model, path)
    monkeypatch.setattr(options, "SampleOptions", partial(SampleOptions, check=False, max_steps_per_char=3))
    monkeypatch.setattr(pw, "open_model", lambda path=None: model)
    return path


def _cli(capsys, *argv: object) -> tuple[int, str, str]:
    return run_cli(argv, capsys)


def _one_line(err: str) -> str:
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("penbot: error: "), err
    return lines[0]


def _oserror(code: int):
    def fail(*_a, **_k):
        raise OSError(code, os.strerror(code))
    return fail


def _page(n: int = 1) -> PageDrawing:
    line = PlacedLine(f"line {n}", (np.array([[20.0, 30.0], [60.0, 35.0 + n]]),), 30.0)
    return PageDrawing(parse_page("A6"), (line,))


def _word_strokes(n: int = 5, slant: float = 0.3) -> list[np.ndarray]:
    return [np.array([[i * 30 + slant * 40, 0], [i * 30, 40]], dtype=float) for i in range(n)]


# --- 1. one bad cell fails its row only ---------------------------------------------------------

def test_a_bad_seed_in_row_20_fails_alone_and_rows_21_to_40_are_written(tmp_path: Path, model) -> None:
    rows = "".join(f"{i},{'-1' if i == 20 else i}\n" for i in range(1, 41))
    (tmp_path / "rows.csv").write_text("id,seed\n" + rows)
    (tmp_path / "letter.txt").write_text("Hi {id}")
    plan = plan_batch(tmp_path / "rows.csv", tmp_path / "letter.txt", str(tmp_path / "out" / "{id}.svg"),
                      replace(LETTER, style=None), sample=FAST)
    summary = run_batch(plan, model, chunk=16)
    assert [e.row for e in summary.errors] == [20] and "seed" in summary.errors[0].error
    assert summary.done == 39
    assert all((tmp_path / "out" / f"{i}.svg").is_file() for i in range(21, 41))
    assert "20,20.svg" in (tmp_path / "out" / "errors.csv").read_text()


@pytest.mark.parametrize("column, value, why", [
    ("seed", str(2**32), "seed"), ("seed", "1.5", "whole number"), ("bias", "nan", "not a number"),
    ("bias", "1e9", "bias"), ("temperature", "0", "temperature"), ("size", "1e-9", "writing size"),
    ("size", "inf", "not a number"), ("line_spacing", "1e12", "line spacing"), ("indent", "-3", "indent"),
    ("page", "100000x100000mm", "page size"), ("page", "3000x3000mm", "pixels"), ("margins", "200mm", "no room"),
    ("style", "no-such-hand", "unknown style"), ("orientation", "sideways", "orientation"),
])
def test_every_per_row_value_is_checked_in_its_row(tmp_path: Path, model, column, value, why) -> None:
    (tmp_path / "rows.csv").write_text(f"id,{column}\n1,{value}\n2,\n")
    (tmp_path / "letter.txt").write_text("Hi {id}")
    plan = plan_batch(tmp_path / "rows.csv", tmp_path / "letter.txt", str(tmp_path / "out" / "{id}.png"),
                      replace(LETTER, style=None), sample=FAST)
    assert [e.row for e in plan.errors] == [1] and why in plan.errors[0].error, plan.errors
    assert [m.row for m in plan.letters] == [2]


def test_an_empty_template_is_one_error_before_any_row(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("id\n1\n2\n")
    (tmp_path / "letter.txt").write_text("  \n\n")
    with pytest.raises(PenbotError, match="template is empty"):
        plan_batch(tmp_path / "rows.csv", tmp_path / "letter.txt", str(tmp_path / "{id}.svg"))


# --- 2. out-of-range numbers: one line from every front end ----------------------------------------

@pytest.mark.parametrize("args, why", [
    (["--seed", "-1"], "seed"), (["--seed", str(2**32)], "seed"), (["--size", "inf"], "writing size"),
    (["--size", "1e-9"], "writing size"), (["--line-spacing", "inf"], "line spacing"),
    (["--bias", "nan"], "bias"), (["--temperature", "0"], "temperature"), (["--indent", "-1"], "indent"),
    (["--pen-width", "1e9", "--out", "x.png"], "pen width"), (["--pen-width", "inf", "--out", "x.png"], "pen width"),
    (["--pen-width", "inf", "--out", "x.svg"], "pen width"), (["--pen-width", "0"], "pen width"),
    (["--color", "not-a-colour", "--out", "x.svg"], "unknown colour"), (["--color", "none"], "unknown colour"),
    (["--page", "100000x100000mm", "--out", "x.png"], "page size"), (["--page", "0.1x0.1mm"], "page size"),
    (["--page", "3000x3000mm", "--out", "x.png"], "pixels"), (["--margins", "1e400mm"], "margins"),
])
def test_out_of_range_numbers_are_one_line(tmp_path: Path, tiny: Path, capsys, args, why) -> None:
    args = [a if a not in ("x.png", "x.svg") else str(tmp_path / a) for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "x.svg")]
    code, _, err = _cli(capsys, "write", "hi", "--model", tiny, *args, *out)
    assert code == 1 and why in _one_line(err)
    assert not list(tmp_path.glob("x.*"))


def test_an_svg_colour_is_checked_and_a_good_one_is_written(tmp_path: Path) -> None:
    write_pages([_page()], tmp_path / "ok.svg", ExportOptions(color="#203080"))
    assert 'stroke="#203080"' in (tmp_path / "ok.svg").read_text()
    with pytest.raises(PenbotError, match="unknown colour"):
        ExportOptions(color='red" onload="x')


def test_vpype_penbot_refuses_a_bad_seed_in_one_line(tmp_path: Path) -> None:
    if "penbot" not in vpype_cli.cli.commands:
        vpype_cli.cli.add_command(penbot_generator)
    result = CliRunner().invoke(vpype_cli.cli, ["penbot", "--seed", "-1", "hi", "write", str(tmp_path / "x.svg")])
    assert result.exit_code != 0 and "seed must be" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "x.svg").exists()


def test_a_word_too_long_for_any_line_is_refused_before_sampling() -> None:
    def never(texts):
        raise AssertionError("sampled a line that cannot fit")

    with pytest.raises(PenbotError, match="300 characters"):
        layout_pages("a" * 300, parse_page("A4"), LayoutOptions(), never)
    pages = layout_pages("a" * 40, parse_page("A4"), LayoutOptions(), FakeWriter())  # long but possible
    assert len(pages) == 1


# --- 3 and 4. style import: limits, shapes, ink that cannot be its text -------------------------

def test_a_huge_style_sample_is_refused_quickly(tmp_path: Path, home: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps([[[i, i % 7] for i in range(10)]] * 30_000))  # > 2 MB
    with pytest.raises(PenbotError, match="too large"):
        import_style("big", big, "hello")
    many = tmp_path / "many.json"
    many.write_text(json.dumps([[[i, i % 40] for i in range(25_000)]]))  # < 2 MB, > 20,000 points
    with pytest.raises(PenbotError, match="too many"):
        import_style("many", many, "hello")
    assert not (home / "styles").exists()


def test_listing_skips_a_style_file_too_large_and_a_broken_one(tmp_path: Path, home: Path, capsys) -> None:
    folder = home / "styles"
    folder.mkdir(parents=True)
    (folder / "huge.json").write_text('{"text": "x", "strokes": [' + "[0.1, 0.1, 0]," * 200_000 + "[0, 0, 1]]}")
    (folder / "broken.json").write_text('{"text": "oops", "strok')
    good = style_from_polylines("fine", "lllll", _word_strokes())
    styles.save_style(good, folder / "fine.json")
    code, out, err = _cli(capsys, "styles", "list")
    assert code == 0 and "'lllll'" in out and "fine" in out and "'1'" not in out
    assert "broken.json" in err and "huge.json" in err and "too large" in err and "Traceback" not in err
    with pytest.raises(PenbotError, match="too large"):
        load_style("huge")


def test_svg_import_reads_strokes_not_shapes(tmp_path: Path, home: Path) -> None:
    rect = tmp_path / "rect.svg"
    rect.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60">'
                    '<rect x="10" y="10" width="100" height="40" stroke="black" fill="none"/></svg>')
    with pytest.raises(PenbotError, match="no strokes found"):
        import_style("s1", rect, "hello")
    polys = "".join(f'<polyline points="{" ".join(f"{x},{y}" for x, y in s)}" fill="none" stroke="black"/>'
                    for s in _word_strokes())
    mixed = tmp_path / "mixed.svg"
    mixed.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60">'
                     '<rect width="200" height="60" stroke="black"/><text x="1" y="1">lllll</text>'
                     f'<circle cx="5" cy="5" r="3"/>{polys}</svg>')
    import_style("s2", mixed, "lllll")
    assert len(load_style("s2").strokes.to_polylines()) == 5  # the frame, text and dot are not ink


def test_ink_that_cannot_be_its_text_is_refused(tmp_path: Path, home: Path) -> None:
    sample = tmp_path / "s.json"
    sample.write_text(json.dumps([s.tolist() for s in _word_strokes()]))
    with pytest.raises(PenbotError, match="does not look like"):
        import_style("short", sample, "This is a whole sentence that five strokes cannot say.")
    with pytest.raises(PenbotError, match="does not look like"):
        import_style("wide", sample, "l")
    assert import_style("right", sample, "lllll").is_file()


# --- 5. read-only folders and full disks in a mailing ------------------------------------------

def _mailing(tmp_path: Path, n: int = 6):
    (tmp_path / "rows.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(1, n + 1)))
    (tmp_path / "letter.txt").write_text("Hi {id}")
    return plan_batch(tmp_path / "rows.csv", tmp_path / "letter.txt", str(tmp_path / "out" / "{id}.svg"),
                      replace(LETTER, style=None), sample=FAST)


def test_a_read_only_output_folder_fails_before_any_work(tmp_path: Path, model, monkeypatch) -> None:
    plan = _mailing(tmp_path)
    monkeypatch.setattr(atomic, "_temp_beside", _oserror(errno.EROFS))
    monkeypatch.setattr(batch, "write_documents", _oserror(errno.EIO))  # would be "work"
    with pytest.raises(PenbotError, match="cannot write in this folder .Read-only file system."):
        run_batch(plan, model)


def test_a_full_disk_mid_batch_stops_in_one_line_and_the_rerun_finishes(tmp_path: Path, model, monkeypatch) -> None:
    plan = _mailing(tmp_path)
    real = export.WRITERS[".svg"]
    calls = []

    def svg_until_full(page, path, opts):
        calls.append(path)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real.write(page, path, opts)

    monkeypatch.setitem(export.WRITERS, ".svg", export.Writer(svg_until_full, True))
    with pytest.raises(PenbotError, match="No space left on device.*2 letter.s. written.*run the same command"):
        run_batch(plan, model, chunk=4)
    record = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert sorted(record["letters"]) == ["1.svg", "2.svg"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setitem(export.WRITERS, ".svg", real)
    summary = run_batch(plan, model, chunk=4)
    assert (summary.skipped, summary.done, summary.failed) == (2, 4, 0)


def test_a_resume_record_that_cannot_be_saved_is_one_line_and_the_old_one_stays(tmp_path: Path, model,
                                                                                  monkeypatch) -> None:
    plan = _mailing(tmp_path, 3)
    run_batch(plan, model)
    before = (tmp_path / "out" / MANIFEST).read_text()
    import penbot.manifest as manifest

    monkeypatch.setattr(manifest, "atomic_write_text", _oserror(errno.ENOSPC))
    with pytest.raises(PenbotError, match="cannot save the resume record"):
        run_batch(plan, model, force=True)
    assert (tmp_path / "out" / MANIFEST).read_text() == before


def test_batch_cli_puts_a_disk_error_on_its_own_line(tmp_path: Path, tiny: Path, monkeypatch, capsys) -> None:
    (tmp_path / "rows.csv").write_text("id\n1\n")
    (tmp_path / "letter.txt").write_text("Hi {id}")
    monkeypatch.setattr(atomic, "_temp_beside", _oserror(errno.EROFS))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = _cli(capsys, "batch", tmp_path / "rows.csv", "-t", tmp_path / "letter.txt", "-o",
                        str(tmp_path / "out" / "{id}.svg"), "--style", "none", "--model", tiny)
    assert code == 1 and "Read-only file system" in err.split("\r")[-1] and err.split("\r")[-1].startswith("penbot:")


# --- 6. styles add: where it cannot save, and what it would overwrite -----------------------------

def test_styles_add_into_a_file_or_a_read_only_folder_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    sample = tmp_path / "s.json"
    sample.write_text(json.dumps([s.tolist() for s in _word_strokes()]))
    (tmp_path / "home-file").write_text("not a folder")
    monkeypatch.setenv("PENBOT_HOME", str(tmp_path / "home-file"))
    code, _, err = _cli(capsys, "styles", "add", "mine", "--from", sample, "--text", "lllll")
    assert code == 1 and "cannot save style 'mine'" in _one_line(err)
    monkeypatch.setenv("PENBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(atomic, "_temp_beside", _oserror(errno.EROFS))
    code, _, err = _cli(capsys, "styles", "add", "mine", "--from", sample, "--text", "lllll")
    assert code == 1 and "Read-only file system" in _one_line(err)


def test_styles_add_calibrates_unless_asked_not_to(tmp_path: Path, home: Path, capsys, monkeypatch) -> None:
    import penbot.calibrate

    monkeypatch.setattr(penbot.calibrate, "calibrate",
                        lambda model, sts, seed=0: [replace(st, lean=0.05) for st in sts])
    sample = tmp_path / "s.json"
    sample.write_text(json.dumps([s.tolist() for s in _word_strokes()]))
    code, out, _ = _cli(capsys, "styles", "add", "mine", "--from", sample, "--text", "lllll")
    assert code == 0 and "leaned +2.9 degrees" in out
    assert load_style("mine").lean == pytest.approx(0.05)
    argv = ("styles", "add", "mine", "--from", sample, "--text", "lllll", "--force", "--no-calibrate")
    assert _cli(capsys, *argv)[0] == 0
    assert load_style("mine").lean == 0.0


def test_styles_add_asks_before_replacing_a_style(tmp_path: Path, home: Path, capsys) -> None:
    sample = tmp_path / "s.json"
    sample.write_text(json.dumps([s.tolist() for s in _word_strokes()]))
    assert _cli(capsys, "styles", "add", "mine", "--from", sample, "--text", "lllll")[0] == 0
    code, _, err = _cli(capsys, "styles", "add", "mine", "--from", sample, "--text", "lll ll")
    assert code == 1 and "exists already" in _one_line(err) and "--force" in err
    assert load_style("mine").text == "lllll"
    assert _cli(capsys, "styles", "add", "mine", "--from", sample, "--text", "lll ll", "--force")[0] == 0
    assert load_style("mine").text == "lll ll"


# --- 7. pages: all or nothing, no stale pages ---------------------------------------------------

def test_a_page_that_cannot_be_written_changes_no_page_and_is_named(tmp_path: Path) -> None:
    (tmp_path / "out-1.svg").write_text("old page 1")
    (tmp_path / "out-2.svg").mkdir()
    with pytest.raises(PenbotError, match=r"out-2\.svg: cannot write"):
        write_pages([_page(1), _page(2), _page(3)], tmp_path / "out.svg")
    assert (tmp_path / "out-1.svg").read_text() == "old page 1" and not (tmp_path / "out-3.svg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-1.svg", "out-2.svg"]


def test_a_rename_that_fails_puts_the_earlier_pages_back(tmp_path: Path, monkeypatch) -> None:
    for n in (1, 2, 3):
        (tmp_path / f"out-{n}.svg").write_text(f"old {n}")
    real, moved = os.replace, []

    def replace_until_page_3(src, dst):
        if str(dst).endswith("out-3.svg") and str(src).endswith(".tmp") and not moved:
            moved.append(dst)
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace_until_page_3)
    with pytest.raises(PenbotError, match=r"out-3\.svg: cannot write"):
        write_pages([_page(1), _page(2), _page(3)], tmp_path / "out.svg")
    assert [(tmp_path / f"out-{n}.svg").read_text() for n in (1, 2, 3)] == ["old 1", "old 2", "old 3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-1.svg", "out-2.svg", "out-3.svg"]


def test_pages_of_an_earlier_longer_text_are_removed(tmp_path: Path) -> None:
    write_pages([_page(n) for n in range(1, 4)], tmp_path / "out.svg")
    (tmp_path / "out-notes.svg").write_text("mine")
    write_pages([_page(1), _page(2)], tmp_path / "out.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-1.svg", "out-2.svg", "out-notes.svg"]
    write_pages([_page(1)], tmp_path / "out.svg", protect={"OUT-2.SVG"})  # another document's file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-2.svg", "out-notes.svg", "out.svg"]
    assert stale_pages(tmp_path / "out.json", 1) == []


# --- 9. training --------------------------------------------------------------------------------

def test_training_interrupted_before_its_first_checkpoint_saves_it(tiny_db, tmp_path, tiny_train_config,
                                                                   monkeypatch) -> None:
    import penbot.train as train_mod
    from penbot.checkpoint import load_checkpoint

    def interrupt(self, step, *a):
        if step == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_mod._Progress, "show", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train_mod.train(tiny_train_config(tiny_db, tmp_path / "run", val_every=100, steps=50))
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 3


def test_training_stopped_by_sigterm_saves_its_checkpoint(tiny_db, tmp_path, tiny_train_config, monkeypatch) -> None:
    """A background run ignores SIGINT; a session or scheduler stops it with SIGTERM."""
    import signal

    import penbot.train as train_mod
    from penbot.checkpoint import load_checkpoint

    def terminate(self, step, *a):
        if step == 4:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(train_mod._Progress, "show", terminate)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        train_mod.train(tiny_train_config(tiny_db, tmp_path / "run", val_every=100, steps=50))
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 4
    assert signal.getsignal(signal.SIGTERM) is before  # the caller's handler is back


def test_train_into_an_existing_file_is_one_line(tiny_db, tmp_path, capsys) -> None:
    (tmp_path / "taken").write_text("x")
    code, _, err = _cli(capsys, "train", "--data", tiny_db, "--out", tmp_path / "taken", "--steps", "2")
    assert code == 1 and "is a file" in _one_line(err)


# --- 10. the small ones ---------------------------------------------------------------------------

def test_accents_fold_the_same_in_styles_and_in_writing(home: Path) -> None:
    assert fold_text("cafe\u0301").text == "cafe" and fold_text("caf\u00e9").text == "cafe"
    assert style_from_polylines("x", "caf\u00e9 l", _word_strokes()).text == "cafe l"
    with pytest.raises(PenbotError, match="style text"):
        style_from_polylines("x", "snow \u2603", _word_strokes())


def test_none_is_no_style_everywhere_and_not_a_user_style_name(tmp_path: Path, home: Path) -> None:
    for name in ("none", "NONE", " None "):
        assert write_options(Settings(style=name)).style is None and load_style(name) is None
    for bad in ("none", "NONE", "12", "../x", "", None, "x" * 65):
        with pytest.raises(PenbotError, match="style name"):
            check_style_name(bad)
    assert check_style_name("my-hand.2") == "my-hand.2"
    sample = tmp_path / "s.json"
    sample.write_text(json.dumps([s.tolist() for s in _word_strokes()]))
    with pytest.raises(PenbotError, match="not 'none'"):
        import_style("None", sample, "lllll")
    assert [n for n, _ in list_styles() if not n.isdigit()] == []


def test_the_studio_uses_the_library_name_rule() -> None:
    app = pytest.importorskip("penbot.studio.app")
    with pytest.raises(app.BadRequest, match="not 'none'"):
        app.check_style_name("none")


def test_write_errors_start_on_a_fresh_line_after_the_progress_meter(tmp_path: Path, tiny: Path, monkeypatch,
                                                                     capsys) -> None:
    def fail(*_a, **kw):
        kw["progress"](1, 10) if kw.get("progress") else None
        raise PenbotError("could not write 'hi' legibly")

    monkeypatch.setattr(pw, "write_text", fail)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = _cli(capsys, "write", "hi", "--model", tiny, "--out", tmp_path / "x.svg")
    assert code == 1 and err.split("\r")[-1].startswith("penbot: error: could not write")


def test_a_page_too_large_for_png_fails_in_one_line_not_in_memory() -> None:
    page = PageDrawing(Page(5000, 5000, 0, 0, 0, 0))
    with pytest.raises(PenbotError, match="million"):
        export.render_png(page, ExportOptions())


def test_a_failed_write_leaves_no_new_folder(tmp_path, capsys, tiny):
    out = tmp_path / "new" / "deeper" / "page.svg"
    code, _, err = _cli(capsys, "write", "hello", "--out", out, "--size", 500)
    assert code != 0 and "500 mm" in _one_line(err)
    assert not (tmp_path / "new").exists()  # the folder is made by the first file written, not before
    code, _, _ = _cli(capsys, "write", "hello", "--out", out)
    assert code == 0 and out.is_file()


def test_a_file_in_the_way_of_the_output_folder_is_one_line(tmp_path, capsys, tiny):
    (tmp_path / "afile").write_text("x")
    code, _, err = _cli(capsys, "write", "hello", "--out", tmp_path / "afile" / "sub" / "page.svg")
    assert code != 0 and "cannot write in this folder" in _one_line(err)


def test_export_onto_a_folder_is_one_line_before_any_work(tmp_path, capsys, tiny):
    for name in ("g.onnx", "h.int8.onnx"):
        (tmp_path / name).mkdir()
    for out in ("g.onnx", "h.onnx"):
        code, _, err = _cli(capsys, "export", "--model", tiny, "--out", tmp_path / out)
        assert code != 0 and "a folder has that name" in _one_line(err)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary files left
    assert not (tmp_path / "h.onnx").exists()  # nothing half-exported beside the refused target
