"""Mail merge: planning (CSV, template, names), chunked writing, resume, failures per row, CLI."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
import torch

import penbot.batch as batch
import penbot.options as options
from penbot.batch import ERRORS, LETTER, MANIFEST, plan_batch, run_batch, safe_stem
from penbot.errors import PenbotError
from penbot.model import HandwritingModel, ModelConfig
from penbot.options import SampleOptions, Settings

FAST = SampleOptions(check=False, max_steps_per_char=3)  # the untrained model writes short noise
SETTINGS = replace(LETTER, style=None)
TEMPLATE = "Dear {first} {last},\nsee you in {city}.\n"
HOSTILE = (
    "id,first,last,city\n"
    "1,Ada,Lovelace,London\n"
    "2,Alan,../../etc/x,Leeds\n"
    "3,Grace,/abs,York\n"
    "4,Broken,row\n"
    "5,Kurt,C:evil,Brno\n"
)


@pytest.fixture(scope="module")
def model() -> HandwritingModel:
    torch.manual_seed(0)
    return HandwritingModel(ModelConfig(hidden=16, n_window=2, n_mixture=2)).eval()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _inputs(tmp_path: Path, rows: str = HOSTILE, template: str = TEMPLATE, data: bytes | None = None):
    (tmp_path / "in").mkdir(exist_ok=True)
    src, tpl = tmp_path / "in" / "rows.csv", tmp_path / "in" / "letter.txt"
    src.write_bytes(data if data is not None else rows.encode("utf-8"))
    tpl.write_text(template, encoding="utf-8")
    return src, tpl


def _run(tmp_path: Path, model, out: str = "deep/out/{id}-{last}.svg", settings: Settings = SETTINGS, **kw):
    src, tpl = _inputs(tmp_path)
    plan = plan_batch(src, tpl, str(tmp_path / out), settings, sample=FAST)
    return run_batch(plan, model, chunk=kw.pop("chunk", 2), **kw)


# --- names --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("../../etc/x", "_.._etc_x"),
    ("/abs", "_abs"),
    ("C:evil", "C_evil"),
    ("a\\b", "a_b"),
    ("nul\x00byte", "nul_byte"),
    ("tab\tand\nnewline", "tab and newline"),
    ("bell\x07", "bell_"),
    ("evil\u202egpj.svg", "evil_gpj.svg"),  # right-to-left override hides the real extension
    ("...", "row-7"),
    ("  . hidden", "hidden"),
    ("CON", "_CON"),
    ("com1.report", "_com1.report"),
    ("Zoë Müller", "Zoë Müller"),
])
def test_safe_stem(value: str, expected: str) -> None:
    assert safe_stem(value, row=7) == expected


def test_safe_stem_limits_length_in_bytes() -> None:
    stem = safe_stem("é" * 400)
    assert len(stem.encode()) <= batch.MAX_NAME_BYTES and stem == "é" * len(stem)


def test_colliding_names_are_made_unique_in_row_order(tmp_path: Path) -> None:
    rows = "id,last\n1,Smith\n2,smith\n3,Smith\n4,Smith-2\n5,Jones\n"
    src, tpl = _inputs(tmp_path, rows, "Hi {last}")
    plan = plan_batch(src, tpl, str(tmp_path / "out" / "{last}.svg"), SETTINGS)
    assert [m.output for m in plan.letters] == ["Smith.svg", "smith-2.svg", "Smith-3.svg", "Smith-2-2.svg",
                                                "Jones.svg"]


def test_page_files_may_not_overwrite_another_letter() -> None:
    letter = partial(batch.Letter, 1, 2, text="x", options=None)
    owners = {"smith.svg": "smith.svg", "smith-2.svg": "smith-2.svg"}
    assert "smith-2.svg" in batch._clash(letter(output="smith.svg"), 2, owners)
    assert batch._clash(letter(output="smith.svg"), 1, owners) == ""
    assert batch._clash(letter(output="smith.json"), 3, owners) == ""  # one file holds every page


# --- planning: reading and checking before any work -------------------------------------

def test_quoted_fields_with_commas_and_newlines(tmp_path: Path) -> None:
    rows = 'id,last,city\n1,"Smith, Jr.","12 Main St,\nSpringfield"\n2,Bad\n3,Doe,"Leeds"\n'
    src, tpl = _inputs(tmp_path, rows, "{last}\n{city}")
    plan = plan_batch(src, tpl, str(tmp_path / "out" / "{last}.svg"), SETTINGS)
    assert [m.text for m in plan.letters] == ["Smith, Jr.\n12 Main St,\nSpringfield", "Doe\nLeeds"]
    assert [m.output for m in plan.letters] == ["Smith, Jr.svg", "Doe.svg"]
    [err] = plan.errors
    assert (err.row, err.output) == (2, "") and "CSV line 4" in err.error and "2 fields" in err.error


def test_escaped_braces_and_format_specs(tmp_path: Path) -> None:
    src, tpl = _inputs(tmp_path, "id,amount\n7,5\n", "Price: {{ {amount:>3} }}")
    plan = plan_batch(src, tpl, str(tmp_path / "out" / "{{x}}-{id:0>3}.svg"), SETTINGS)
    assert [(m.output, m.text) for m in plan.letters] == [("{x}-007.svg", "Price: {   5 }")]


def test_utf8_bom_is_read(tmp_path: Path) -> None:
    src, tpl = _inputs(tmp_path, data="id,last\n1,Zoë\n".encode("utf-8-sig"), template="Hi {last}")
    plan = plan_batch(src, tpl, str(tmp_path / "out" / "{id}.svg"), SETTINGS)
    assert [(m.output, m.text) for m in plan.letters] == [("1.svg", "Hi Zoë")]


def test_latin1_is_reported_with_its_line_or_read_when_asked(tmp_path: Path) -> None:
    src, tpl = _inputs(tmp_path, data="id,last\n1,Smith\n2,Zo\u00eb\n".encode("latin-1"), template="Hi {last}")
    with pytest.raises(PenbotError, match=r"not valid utf-8 at line 3, column 5 \(byte 0xeb\).*UTF-8.*latin-1"):
        plan_batch(src, tpl, str(tmp_path / "out" / "{id}.svg"), SETTINGS)
    plan = plan_batch(src, tpl, str(tmp_path / "out" / "{id}.svg"), SETTINGS, encoding="latin-1")
    assert plan.letters[1].text == "Hi Zoë"


@pytest.mark.parametrize("rows, template, out, message", [
    ("id,last\n1,A\n", "Hi {first}", "{id}.svg", r"uses \{first\} but .* no such column \(columns: id, last\)"),
    ("id,last\n1,A\n", "Hi {last}", "letter.svg", "no {column} placeholder"),
    ("id,last\n1,A\n", "Hi {last}", "{id}/x{id}.svg", "only in the file name"),
    ("id,last\n1,A\n", "Hi {last}", "{id}.docx", "literal extension"),
    ("id,last\n1,A\n", "Hi {last}", "{id}.{last}", "literal extension"),
    ("id,last\n1,A\n", "Hi {last}", "{ghost}.svg", r"output pattern uses \{ghost\}"),
    ("", "Hi {last}", "{id}.svg", "empty"),
    ("\n\n", "Hi {last}", "{id}.svg", "empty"),
    ("id,last\n", "Hi {last}", "{id}.svg", "header but no rows"),
    ("1,Smith\n2,Jones\n", "Hi {last}", "{id}.svg", "is the first line a header"),
    ("id,,last\n1,2,3\n", "Hi {last}", "{id}.svg", "column 2 of the header has no name"),
    ("id,last,last\n1,2,3\n", "Hi {last}", "{id}.svg", "duplicate column"),
    ('id,last\n1,"open\n', "Hi {last}", "{id}.svg", "broken CSV"),
    ("id,last\n1,A\n", "Hi {last", "{id}.svg", "expected '}'"),
    ("id,last\n1,A\n", "Hi {}", "{id}.svg", "needs a column name"),
    ("id,last\n1,A\n", "Hi {last:d}", "{id}.svg", "values are text"),
])
def test_bad_commands_fail_before_any_work(tmp_path: Path, rows, template, out, message) -> None:
    src, tpl = _inputs(tmp_path, rows, template)
    with pytest.raises(PenbotError, match=message):
        plan_batch(src, tpl, str(tmp_path / "out" / out), SETTINGS)
    assert not (tmp_path / "out").exists()


def test_missing_inputs_and_bad_options_fail_before_work(tmp_path: Path) -> None:
    src, tpl = _inputs(tmp_path)
    with pytest.raises(PenbotError, match="CSV file not found"):
        plan_batch(tmp_path / "nope.csv", tpl, str(tmp_path / "{id}.svg"), SETTINGS)
    with pytest.raises(PenbotError, match="template not found"):
        plan_batch(src, tmp_path / "nope.txt", str(tmp_path / "{id}.svg"), SETTINGS)
    with pytest.raises(PenbotError, match="unknown encoding"):
        plan_batch(src, tpl, str(tmp_path / "{id}.svg"), SETTINGS, encoding="klingon")
    with pytest.raises(PenbotError, match="align"):
        plan_batch(src, tpl, str(tmp_path / "{id}.svg"), replace(SETTINGS, align="middle"))
    with pytest.raises(PenbotError, match="unknown style 'no-such-style'"):
        plan_batch(src, tpl, str(tmp_path / "{id}.svg"), replace(SETTINGS, style="no-such-style"))


def test_row_options_and_row_failures(tmp_path: Path) -> None:
    rows = ("id,last,size,bias,style,seed,align\n"
            "1,A,4.5,,,,\n"  # own size
            "2,B,,abc,,,\n"  # bias not a number
            "3,C,,,no-such-style,,\n"
            "4,,,,,,\n"  # empty cell used in the name and the letter
            "5,E,,,,,middle\n"
            "6,F,,,none,42,right\n")
    src, tpl = _inputs(tmp_path, rows, "Dear {last}")
    plan = plan_batch(src, tpl, str(tmp_path / "out" / "{id}-{last}.svg"), replace(SETTINGS, size=6.0))
    by_row = {m.row: m for m in plan.letters}
    errors = {e.row: e for e in plan.errors}
    assert sorted(by_row) == [1, 6] and sorted(errors) == [2, 3, 4, 5]
    assert by_row[1].options.layout.size_mm == 4.5 and by_row[6].options.layout.size_mm == 6.0
    assert by_row[6].options.sample.seed == 42 and by_row[6].options.layout.align == "right"
    assert by_row[1].options.sample.seed not in (0, 42)  # a seed of its own, so letters differ
    assert "bias 'abc' is not a number" in errors[2].error
    assert "unknown style 'no-such-style'" in errors[3].error and errors[3].output == "3-C.svg"
    assert "empty value for {last}" in errors[4].error and errors[4].output == ""
    assert "align" in errors[5].error


# --- running -------------------------------------------------------------------------------

def test_hostile_names_and_a_broken_row(tmp_path: Path, model) -> None:
    summary = _run(tmp_path, model)
    folder = tmp_path / "deep" / "out"
    assert (summary.rows, summary.done, summary.failed, summary.skipped) == (5, 4, 1, 0)
    assert _files(tmp_path) == {
        "in/rows.csv", "in/letter.txt", "deep/out/1-Lovelace.svg", "deep/out/2-.._.._etc_x.svg",
        "deep/out/3-_abs.svg", "deep/out/5-C_evil.svg", f"deep/out/{ERRORS}", f"deep/out/{MANIFEST}",
    }
    assert all(p.read_text().lstrip().startswith("<?xml") for p in folder.glob("*.svg"))
    with open(folder / ERRORS, newline="", encoding="utf-8") as f:
        report = list(csv.reader(f))
    assert report[0] == ["row", "output", "error"] and len(report) == 2
    assert report[1][:2] == ["4", ""] and "3 fields, the header has 4" in report[1][2]
    assert [e.row for e in summary.errors] == [4]


def test_rerun_skips_complete_letters_and_force_rewrites(tmp_path: Path, model) -> None:
    first = _run(tmp_path, model)
    folder = tmp_path / "deep" / "out"
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.svg")}
    again = _run(tmp_path, model)
    assert (again.done, again.skipped, again.failed) == (0, 4, 1)
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.svg")} == stamps
    # a damaged file (other size), a file missing from the manifest, and changed options are rewritten
    (folder / "3-_abs.svg").write_text("<svg/>")
    manifest = json.loads((folder / MANIFEST).read_text())
    del manifest["letters"]["5-C_evil.svg"]
    (folder / MANIFEST).write_text(json.dumps(manifest))
    fixed = _run(tmp_path, model)
    assert (fixed.done, fixed.skipped) == (2, 2)
    assert sorted(p.name for p in fixed.outputs) == ["3-_abs.svg", "5-C_evil.svg"]
    bigger = _run(tmp_path, model, settings=replace(SETTINGS, size=5.0))
    assert (bigger.done, bigger.skipped) == (4, 0)
    forced = _run(tmp_path, model, settings=replace(SETTINGS, size=5.0), force=True)
    assert (forced.done, forced.skipped, first.done) == (4, 0, 4)


def test_errors_csv_is_removed_when_a_run_has_no_errors(tmp_path: Path, model) -> None:
    _run(tmp_path, model)
    assert (tmp_path / "deep" / "out" / ERRORS).exists()
    (tmp_path / "in" / "rows.csv").write_text(HOSTILE.replace("4,Broken,row", "4,Broken,row,Bath"))
    src, tpl = tmp_path / "in" / "rows.csv", tmp_path / "in" / "letter.txt"
    summary = run_batch(plan_batch(src, tpl, str(tmp_path / "deep/out/{id}-{last}.svg"), SETTINGS, sample=FAST), model)
    assert summary.ok and (summary.done, summary.skipped) == (1, 4)
    assert not (tmp_path / "deep" / "out" / ERRORS).exists()


def test_interrupted_run_keeps_finished_letters_and_no_temp_files(tmp_path: Path, model, monkeypatch) -> None:
    calls = []
    real = batch.write_documents

    def flaky(texts, options, net, progress=None):
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(texts, options, net, progress)

    monkeypatch.setattr(batch, "write_documents", flaky)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, model, chunk=2)
    folder = tmp_path / "deep" / "out"
    assert sorted(p.name for p in folder.glob("*.svg")) == ["1-Lovelace.svg", "2-.._.._etc_x.svg"]
    assert set(json.loads((folder / MANIFEST).read_text())["letters"]) == {"1-Lovelace.svg", "2-.._.._etc_x.svg"}
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert "4" in (folder / ERRORS).read_text()  # the broken row is reported even so

    monkeypatch.setattr(batch, "write_documents", real)
    rest = _run(tmp_path, model, chunk=2)
    assert (rest.done, rest.skipped) == (2, 2)


def test_kill_during_export_leaves_no_half_file(tmp_path: Path, model, monkeypatch) -> None:
    import penbot.export.svg as svg

    real = svg.svg_string
    seen = []

    def dying(page, opts):
        seen.append(1)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return real(page, opts)

    monkeypatch.setattr(svg, "svg_string", dying)
    (tmp_path / "deep" / "out").mkdir(parents=True)
    stale = tmp_path / "deep" / "out" / ".5-C_evil.svg.abc123.tmp"  # left by a SIGKILLed run
    stale.write_text("half")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, model, chunk=4)
    folder = tmp_path / "deep" / "out"
    assert sorted(p.name for p in folder.glob("*.svg")) == ["1-Lovelace.svg", "2-.._.._etc_x.svg"]
    assert set(json.loads((folder / MANIFEST).read_text())["letters"]) == {"1-Lovelace.svg", "2-.._.._etc_x.svg"}
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_failures_while_writing_are_per_row(tmp_path: Path, model) -> None:
    rows = "id,text\n1,fine\n2,snow \u2603 man\n3," + "long words here " * 400 + "\n4,also fine\n"
    src, tpl = _inputs(tmp_path, rows, "{text}")
    plan = plan_batch(src, tpl, str(tmp_path / "out" / "{id}.png"), SETTINGS, sample=FAST)
    summary = run_batch(plan, model, chunk=4)
    errors = {e.row: e.error for e in summary.errors}
    assert sorted(errors) == [2, 3] and summary.done == 2
    assert "cannot write character" in errors[2] and "U+2603" in errors[2]
    assert "does not fit on 1 page" in errors[3]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["1.png", "4.png"]
    assert (tmp_path / "out" / "1.png").read_bytes()[:4] == b"\x89PNG"


def test_progress_reports_counts_and_eta(tmp_path: Path, model) -> None:
    seen = []
    _run(tmp_path, model, progress=seen.append)
    assert seen[0].done == 0 and seen[0].eta_s is None and seen[0].failed == 1
    last = seen[-1]
    assert (last.total, last.done, last.failed, last.skipped) == (4, 4, 1, 0) and last.eta_s == 0


# --- command line ---------------------------------------------------------------------------

def _register_some(argv=None) -> None:
    """The batch command plus ``write`` (with one command typer would drop the command name)."""
    import penbot.cli.batch  # noqa: F401
    import penbot.cli.write  # noqa: F401


@pytest.fixture
def cli(monkeypatch, model, tmp_path):
    """``penbot`` main() with only the batch command, a saved tiny model and fast sampling."""
    import penbot.cli as cli_pkg
    from penbot.checkpoint import save_model

    path = tmp_path / "tiny.pt"
    save_model(model, path)
    monkeypatch.setattr(cli_pkg, "_register", _register_some)
    monkeypatch.setattr(options, "SampleOptions", partial(SampleOptions, check=False, max_steps_per_char=3))

    def run(*args: str) -> int:
        try:
            cli_pkg.main(["batch", *args, "--model", str(path), "--style", "none", "--quiet"])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    return run


def test_cli_exit_codes_and_one_line_errors(tmp_path: Path, cli, capsys) -> None:
    src, tpl = _inputs(tmp_path)
    out = str(tmp_path / "out" / "{id}-{last}.svg")
    assert cli(str(src), "-t", str(tpl), "-o", str(tmp_path / "out" / "same.svg")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("penbot: error:") and "placeholder" in err
    assert not (tmp_path / "out").exists()

    assert cli(str(src), "-t", str(tpl), "-o", out) == 1  # the broken row
    err = capsys.readouterr().err
    assert "Traceback" not in err and "row 4: CSV line 5: 3 fields" in err
    assert "5 rows: 4 written, 0 skipped (already complete), 1 failed" in err

    (tmp_path / "in" / "rows.csv").write_text(HOSTILE.replace("4,Broken,row", "4,Broken,row,Bath"))
    assert cli(str(src), "-t", str(tpl), "-o", out) == 0
    assert "1 written, 4 skipped" in capsys.readouterr().err


def test_cli_help_has_an_example(capsys, monkeypatch) -> None:
    import penbot.cli as cli_pkg

    monkeypatch.setattr(cli_pkg, "_register", _register_some)
    try:
        cli_pkg.main(["batch", "--help"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    out = capsys.readouterr().out
    assert "Example: penbot batch" in out and "--max-pages" in out
