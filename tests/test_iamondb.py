"""The IAM-OnDB reader: folders and tarballs, CSR pairing, writers, and damaged files."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BROKEN, FORMS

from penbot.data.iamondb import ReadReport, parse_csr, parse_strokes, read_iamondb
from penbot.errors import PenbotError


def _lines(root, report=None):
    return {r.line_id: r for r in read_iamondb(root, report)}


def test_folders_and_tarballs_give_the_same_lines(tiny_db, tiny_tar_db):
    folders, tars = _lines(tiny_db), _lines(tiny_tar_db)
    assert len(folders) == sum(len(csr) for _, csr in FORMS.values())
    assert folders.keys() == tars.keys()
    for line_id, a in folders.items():
        b = tars[line_id]
        assert (a.form, a.writer, a.text) == (b.form, b.writer, b.text)
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.pen_up, b.pen_up)


def test_each_stroke_file_gets_its_csr_line_not_the_ocr_line(tiny_db):
    lines = _lines(tiny_db)
    for form, (_, csr) in FORMS.items():
        for n, text in enumerate(csr, 1):
            assert lines[f"{form}-{n:02d}"].text == text
            assert lines[f"{form}-{n:02d}"].form == form


def test_points_and_pen_lifts_follow_the_xml(tiny_db):
    xml = (tiny_db / "lineStrokes/a01/a01-000/a01-000u-01.xml").read_bytes()
    points, pen_up = parse_strokes(xml)
    assert points.shape == (xml.count(b"<Point "), 2)
    assert pen_up.sum() == xml.count(b"<Stroke ")
    assert pen_up[-1]
    first = xml.split(b"<Point ", 1)[1].split(b"/>", 1)[0]
    assert f'x="{points[0, 0]:g}" y="{points[0, 1]:g}"'.encode() in first


def test_writers_come_from_writers_csv(tiny_db):
    lines = _lines(tiny_db)
    for form, (writer, csr) in FORMS.items():
        assert {lines[f"{form}-{n:02d}"].writer for n in range(1, len(csr) + 1)} == {writer}


def test_writers_fall_back_to_original_form_xml(tiny_db):
    (tiny_db / "writers.csv").unlink()
    folder = tiny_db / "original" / "a01" / "a01-000"
    folder.mkdir(parents=True)
    (folder / "strokesz.xml").write_text('<Form id="a01-000u" writerID="777"><Writer name="x"/></Form>')
    lines = _lines(tiny_db)
    assert lines["a01-000u-01"].writer == "777"
    assert lines["a01-001w-01"].writer is None


def test_damaged_inputs_are_reported_not_fatal(broken_db):
    report = ReadReport()
    lines = _lines(broken_db, report)
    skipped = dict(report.skipped)
    assert "no CSR" in skipped[BROKEN["no_csr_section"]]
    assert "no transcription" in skipped[BROKEN["no_transcription"]]
    assert "malformed XML" in skipped[BROKEN["malformed"]]
    assert "no line 3" in skipped[BROKEN["no_csr_line"]]
    assert "Latin-1" in skipped[BROKEN["latin1"]]
    assert report.lines == len(lines)
    assert "d01-000a-01" in lines  # the wild jump is for the cleaner to judge
    for name in (BROKEN["malformed"], BROKEN["no_csr_line"], BROKEN["no_transcription"]):
        assert name.removesuffix(".xml") not in lines


def test_latin1_text_is_decoded(broken_db):
    assert _lines(broken_db)["g01-000d-01"].text == "a caf\u00e9 in Paris"


def test_parse_csr_keeps_only_the_csr_section():
    assert parse_csr("OCR:\n\none two\n\nCSR:\n\none\ntwo\n\n") == ["one", "two"]
    assert parse_csr("OCR:\n\nonly ocr\n") is None


@pytest.mark.parametrize("make", ["missing", "file", "empty", "half"])
def test_a_folder_that_is_not_the_database_is_one_clear_error(tmp_path, make):
    root = tmp_path / "x"
    if make == "file":
        root.write_text("hello")
    elif make != "missing":
        root.mkdir()
        if make == "half":
            (root / "ascii").mkdir()
    with pytest.raises(PenbotError) as err:
        list(read_iamondb(root))
    assert str(root) in str(err.value) and "\n" not in str(err.value)


def test_a_corrupt_tarball_is_one_clear_error(tiny_tar_db):
    (tiny_tar_db / "lineStrokes-all.tar.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(PenbotError, match="cannot read archive") as err:
        list(read_iamondb(tiny_tar_db))
    assert "\n" not in str(err.value)  # tarfile's own message lists every method it tried, one a line


def test_progress_counts_stroke_files(tiny_db):
    seen: list[int] = []
    list(read_iamondb(tiny_db, progress=seen.append))
    assert seen == list(range(1, len(list(tiny_db.rglob("*.xml"))) + 1))
