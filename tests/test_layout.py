"""layout.py: page parsing, measured wrapping, placement inside the margins, pagination, lockstep driving."""

from __future__ import annotations

import numpy as np
import pytest
from fake_ink import FakeWriter, fake_line

from penbot.errors import PenbotError
from penbot.layout import LayoutOptions, drive_layouts, layout_pages, layout_text
from penbot.page import Page, parse_page

PROSE = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, "
    "it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had "
    "everything before us, we had nothing before us, we were all going direct to Heaven, we were all going "
    "direct the other way."
)
EXACT = dict(variation=0.0, smooth=False, tolerance_mm=0.0, straighten=False)  # geometry checkable exactly


def ink_bounds(polylines: list[np.ndarray]) -> tuple[float, float, float, float]:
    p = np.concatenate(polylines)
    return (*p.min(axis=0), *p.max(axis=0))


def written_lines(pages):
    return [line for page in pages for line in page.lines if line.polylines]


# ---------------------------------------------------------------------------- pages
@pytest.mark.parametrize(
    "size, orientation, margins, expect",
    [
        ("A4", "portrait", "20mm", (210, 297, 20, 20, 20, 20)),
        ("a4", "landscape", "20mm", (297, 210, 20, 20, 20, 20)),
        ("Letter", "portrait", "1in", (215.9, 279.4, 25.4, 25.4, 25.4, 25.4)),
        ("LEGAL", "portrait", "0", (215.9, 355.6, 0, 0, 0, 0)),
        ("a3", "portrait", "10,20,30,40mm", (297, 420, 10, 20, 30, 40)),
        ("A5", "portrait", "1cm,2cm,3cm,4cm", (148, 210, 10, 20, 30, 40)),
        ("a6", "portrait", "10,15", (105, 148, 10, 15, 10, 15)),
        ("210x297mm", "portrait", "20mm", (210, 297, 20, 20, 20, 20)),
        ("8.5x11in", "portrait", "20mm", (215.9, 279.4, 20, 20, 20, 20)),
        ("20x30cm", "landscape", "20mm", (300, 200, 20, 20, 20, 20)),
        ("100 x 150", "portrait", "5", (100, 150, 5, 5, 5, 5)),
    ],
)
def test_parse_page(size, orientation, margins, expect):
    p = parse_page(size, orientation, margins)
    got = (p.width_mm, p.height_mm, p.margin_top, p.margin_right, p.margin_bottom, p.margin_left)
    assert np.allclose(got, expect)


@pytest.mark.parametrize(
    "size, orientation, margins, words",
    [
        ("B5", "portrait", "20mm", "unknown page size 'B5'"),
        ("huge", "portrait", "20mm", "unknown page size"),
        ("0x297mm", "portrait", "20mm", "must be positive"),
        ("A4", "sideways", "20mm", "unknown orientation"),
        ("A5", "portrait", "80mm", "leave no room"),
        ("A4", "portrait", "-5mm", "bad margins"),
        ("A4", "portrait", "1,2,3", "give 1, 2 or 4"),
        ("A4", "portrait", "20pt", "bad margins"),
    ],
)
def test_parse_page_errors_are_one_clear_line(size, orientation, margins, words):
    with pytest.raises(PenbotError, match=words) as info:
        parse_page(size, orientation, margins)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs, words",
    [({"align": "justify"}, "unknown alignment"), ({"size_mm": 0}, "size"), ({"max_shrink": 0.7}, "shrink"),
     ({"max_pages": 0}, "max pages"), ({"line_spacing_mm": -1}, "spacing")],
)
def test_layout_options_are_checked(kwargs, words):
    with pytest.raises(PenbotError, match=words):
        LayoutOptions(**kwargs)


# ---------------------------------------------------------------------------- placement
@pytest.mark.parametrize("align", ["left", "center", "right"])
@pytest.mark.parametrize("variation", [0.0, 1.0, 3.0])
def test_every_point_inside_the_margins(align, variation):
    page = parse_page("A5", margins="12,15,18,10mm")
    opts = LayoutOptions(size_mm=7, line_spacing_mm=8, align=align, variation=variation, seed=3, indent_mm=6)
    pages = layout_pages(PROSE + "\n\n" + PROSE, page, opts, FakeWriter(spread=0.15, jitter=0.03))
    assert len(pages) >= 2
    x0, y0, x1, y1 = page.box
    for p in pages:
        xmin, ymin, xmax, ymax = ink_bounds(p.polylines)
        assert xmin >= x0 - 1e-9 and ymin >= y0 - 1e-9 and xmax <= x1 + 1e-9 and ymax <= y1 + 1e-9


def test_line_spacing_and_band_centre_on_the_slot():
    page = parse_page("A4")
    opts = LayoutOptions(line_spacing_mm=9, **EXACT)
    pages = layout_pages(PROSE, page, opts, FakeWriter(spread=0.1))
    lines = written_lines(pages)
    assert np.allclose(np.diff([line.y_mm for line in lines]), 9.0)
    bands = []
    for line in lines:
        ys = np.concatenate(line.polylines)[:, 1]
        assert abs(np.mean(np.percentile(ys, [5, 95])) - line.y_mm) < 1e-6
        bands.append(np.ptp(np.percentile(ys, [5, 95])) / line.scale)
    # the fake's band is 0.9 units plus jitter: every line written at the same size
    assert 0.85 < np.mean(bands) / opts.size_mm < 1.0 and np.ptp(bands) < 0.15


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_alignment_by_ink_bounds(align):
    page = parse_page("A5", margins="20,10,20,30mm")
    opts = LayoutOptions(align=align, indent_mm=8, **EXACT)
    pages = layout_pages(PROSE, page, opts, FakeWriter(spread=0.1))
    for k, line in enumerate(written_lines(pages)):
        xmin, _, xmax, _ = ink_bounds(line.polylines)
        if align == "left":
            assert xmin == pytest.approx(page.margin_left + (8 if k == 0 else 0))
        elif align == "right":
            assert xmax == pytest.approx(page.width_mm - page.margin_right)
        else:
            assert (xmin + xmax) / 2 == pytest.approx(page.margin_left + page.usable_width / 2)


def test_text_is_kept_in_order_and_fills_lines_raggedly():
    page = parse_page("A4")
    pages = layout_pages(PROSE, page, LayoutOptions(seed=1), FakeWriter(spread=0.1))
    lines = written_lines(pages)
    assert " ".join(line.text for line in lines).split() == PROSE.split()
    fills = [np.ptp(np.concatenate(line.polylines)[:, 0]) / page.usable_width for line in lines[:-1]]
    assert min(fills) > 0.6 and np.mean(fills) > 0.82 and max(fills) <= 1 + 1e-9


def test_paragraphs_hard_breaks_and_gaps():
    page = parse_page("A4")
    opts = LayoutOptions(line_spacing_mm=10, **EXACT)
    pages = layout_pages("Dear Ann,\nthank you.\n\n\n\nLove, Bo", page, opts, FakeWriter())
    texts = [line.text for line in pages[0].lines]
    assert texts == ["Dear Ann,", "thank you.", "", "Love, Bo"]
    ys = [line.y_mm for line in pages[0].lines]
    assert np.allclose(np.diff(ys), 10)


def test_empty_text_is_an_error():
    with pytest.raises(PenbotError, match="empty"):
        layout_pages(" \n\n ", parse_page("A4"), LayoutOptions(), FakeWriter())


def test_same_seed_same_pages():
    page = parse_page("A5")
    a = layout_pages(PROSE, page, LayoutOptions(seed=5), FakeWriter(spread=0.1))
    b = layout_pages(PROSE, page, LayoutOptions(seed=5), FakeWriter(spread=0.1))
    assert all(np.array_equal(p, q) for p, q in zip(a[0].polylines, b[0].polylines, strict=True))


# ---------------------------------------------------------------------------- pagination
def test_pages_split_and_fill():
    page = parse_page("A6", margins="10mm")
    opts = LayoutOptions(size_mm=5, line_spacing_mm=8, **EXACT)
    pages = layout_pages(PROSE * 3, page, opts, FakeWriter())
    assert len(pages) >= 3
    per_page = [len(p.lines) for p in pages]
    assert len(set(per_page[:-1])) == 1 and per_page[-1] <= per_page[0]
    first = pages[0].lines[0].y_mm
    assert all(p.lines[0].y_mm == pytest.approx(first) for p in pages)  # every page starts at the same slot
    room = page.height_mm - page.margin_bottom - (first + per_page[0] * 8)
    assert room < 8 + 5  # one more line would not have fitted


def test_max_pages_exceeded():
    page = parse_page("A6", margins="10mm")
    with pytest.raises(PenbotError, match=r"does not fit on 1 page\(s\)"):
        layout_pages(PROSE * 2, page, LayoutOptions(size_mm=5, line_spacing_mm=8, max_pages=1), FakeWriter())


def test_max_pages_fails_before_writing_when_hopeless():
    writer = FakeWriter()
    with pytest.raises(PenbotError, match="does not fit"):
        layout_pages(PROSE * 8, parse_page("A6"), LayoutOptions(max_pages=1), writer)
    assert writer.calls == []


def test_page_too_small_for_one_line():
    page = Page(100, 30, 12, 10, 12, 10)
    with pytest.raises(PenbotError, match="height"):
        layout_pages("hello", page, LayoutOptions(size_mm=9, line_spacing_mm=9), FakeWriter())


# ---------------------------------------------------------------------------- re-wrapping
def test_overflowing_lines_are_rewrapped_and_the_width_is_learnt():
    page = parse_page("A4")
    writer = FakeWriter(unit=0.7)  # 30 % wider than the first guess: round one overflows
    pages = layout_pages(PROSE, page, LayoutOptions(**EXACT), writer, unit_width=0.54)
    assert len(writer.calls) >= 2
    first = [fake_line(t, 0.7) for t in writer.calls[0]]
    assert any(np.ptp(s.points[:, 0]) * 6.5 > page.usable_width for s in first)
    for line in written_lines(pages):
        width = np.ptp(np.concatenate(line.polylines)[:, 0])
        assert width <= page.usable_width + 1e-9 and line.scale == 1.0
    # learnt: the second round's new lines fit without a third round
    assert len(writer.calls) == 2


def test_max_shrink_is_respected_and_used_for_a_slightly_wide_word():
    page = parse_page("A6", margins="10mm")
    opts = LayoutOptions(size_mm=6, max_shrink=0.04, **EXACT)
    word = "abcdefghijklmnopqrstuvw"  # the fake writes 23 chars at 0.54*6 = 74.5 mm ...
    unit = page.usable_width * 1.03 / (len(word) * 6)  # ... scaled to 3 % over the 85 mm line
    pages = layout_pages(f"a {word} b", page, opts, FakeWriter(unit=unit))
    [line] = [ln for ln in written_lines(pages) if ln.text == word]
    assert line.scale == pytest.approx(1 / 1.03, rel=1e-3) and line.scale >= 0.96
    xmin, _, xmax, _ = ink_bounds(line.polylines)
    assert xmin >= page.margin_left - 1e-9 and xmax <= page.width_mm - page.margin_right + 1e-9
    assert all(ln.scale >= 1 - opts.max_shrink for ln in written_lines(pages))


def test_a_slightly_wide_first_round_line_is_shrunk_not_written_again():
    page = parse_page("A4")
    opts = LayoutOptions(**EXACT)
    writer = FakeWriter(unit=0.54 * 1.03 / 0.93)  # lines planned to fill 93 % come out up to 3 % too wide
    pages = layout_pages(PROSE, page, opts, writer, unit_width=0.54)
    assert len(writer.calls) == 1  # no second sampling round for a few per cent
    scales = [ln.scale for ln in written_lines(pages)]
    assert min(scales) < 0.99 and min(scales) >= 1 - opts.max_shrink


def test_a_line_too_wide_to_shrink_is_written_again():
    writer = FakeWriter(unit=0.54 * 1.08 / 0.93)  # up to 8 % too wide: more than max_shrink
    pages = layout_pages(PROSE, parse_page("A4"), LayoutOptions(**EXACT), writer, unit_width=0.54)
    assert len(writer.calls) == 2
    assert all(ln.scale >= 0.96 for ln in written_lines(pages))


def test_a_word_too_wide_even_shrunk_is_named():
    page = parse_page("A6", margins="10mm")
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis"
    with pytest.raises(PenbotError, match=word) as info:
        layout_pages(f"the {word} case", page, LayoutOptions(size_mm=8), FakeWriter())
    assert "\n" not in str(info.value)


def test_rounds_are_bounded():
    page = parse_page("A5")
    writer = FakeWriter(spread=0.25)
    layout_pages(PROSE, page, LayoutOptions(max_rounds=4, seed=2), writer)
    assert len(writer.calls) <= 4


def test_rounds_running_out_is_one_clear_error():
    writer = FakeWriter(unit=0.75)  # 40 % wider than guessed, and no second round allowed
    with pytest.raises(PenbotError, match=r"after 1 round\(s\)"):
        layout_pages(PROSE, parse_page("A4"), LayoutOptions(max_rounds=1), writer, unit_width=0.54)
    assert len(writer.calls) == 1


# ---------------------------------------------------------------------------- the protocol
def test_generator_protocol_by_hand():
    gen = layout_text("one two three", parse_page("A4"), LayoutOptions(**EXACT))
    request = next(gen)
    assert request == ["one two three"]
    with pytest.raises(StopIteration) as stop:
        gen.send([fake_line(t) for t in request])
    [page] = stop.value.value
    assert [line.text for line in page.lines] == ["one two three"]


def test_drive_layouts_batches_documents_and_isolates_errors():
    page = parse_page("A6", margins="10mm")
    opts = LayoutOptions(size_mm=6)
    texts = [PROSE, "a Pneumonoultramicroscopicsilicovolcanoconiosis b", "short note"]
    gens = [layout_text(t, page, opts) for t in texts]
    writer = FakeWriter(unit=0.7)
    seen: list[list[int]] = []

    def write(pairs):
        seen.append(sorted({d for d, _ in pairs}))
        return writer.pairs(pairs)

    results = drive_layouts(gens, write)
    assert seen[0] == [0, 1, 2]  # one call for every document in the first round
    assert isinstance(results[1], PenbotError) and "Pneumono" in str(results[1])
    assert isinstance(results[0], list) and isinstance(results[2], list)
    assert [line.text for line in results[2][0].lines] == ["short note"]
    assert len(seen) == len(writer.calls)


def test_drive_layouts_checks_the_answer_count():
    gens = [layout_text("hello world", parse_page("A4"), LayoutOptions())]
    with pytest.raises(ValueError):
        drive_layouts(gens, lambda pairs: [])
