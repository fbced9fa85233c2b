"""Cached line sets, the writer split, batches and joined lines."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from conftest import FORMS

from penbot.data import dataset
from penbot.data.clean import CleanConfig
from penbot.data.dataset import (
    Item,
    collate,
    join_lines,
    load_lines,
    make_batches,
    next_line_of_form,
    rare_char_weights,
    split_by_writer,
)
from penbot.errors import PenbotError
from penbot.text import DEFAULT_ALPHABET


def _no_reading(*_a, **_k):
    raise AssertionError("the database was read although a valid cache exists")


def test_load_lines_keeps_every_good_line(tiny_db):
    ls = load_lines(tiny_db)
    assert len(ls) == sum(len(csr) for _, csr in FORMS.values())
    assert ls.starts[-1] == len(ls.offsets) and ls.offsets.dtype == np.float32
    assert all(ls.line(i)[-1, 2] == 1 for i in range(len(ls)))
    assert ls.dropped == {}


def test_dropped_lines_are_counted_by_reason(broken_db):
    ls = load_lines(broken_db)
    assert ls.dropped["characters outside the alphabet"] == 1  # the Latin-1 line
    assert sum(v for k, v in ls.dropped.items() if k.startswith("wild jump")) == 1
    assert len(ls.skipped) == 5


def test_cache_hit_returns_identical_arrays(tiny_db, cache_folder, monkeypatch):
    first = load_lines(tiny_db)
    assert len(list(cache_folder.glob("lines-*.npz"))) == 1
    monkeypatch.setattr(dataset, "read_iamondb", _no_reading)
    second = load_lines(tiny_db)
    np.testing.assert_array_equal(first.offsets, second.offsets)
    np.testing.assert_array_equal(first.starts, second.starts)
    assert (first.ids, first.texts, first.writers) == (second.ids, second.texts, second.writers)
    assert (first.dropped, first.skipped, first.raw_points) == (second.dropped, second.skipped, second.raw_points)


def test_cache_is_keyed_by_settings(tiny_db, cache_folder):
    three = load_lines(tiny_db, CleanConfig(decimate=3))
    two = load_lines(tiny_db, CleanConfig(decimate=2))
    assert len(list(cache_folder.glob("lines-*.npz"))) == 2
    assert len(two.offsets) > len(three.offsets)


def test_cache_notices_changed_data(tiny_db, cache_folder):
    before = load_lines(tiny_db)
    (tiny_db / "writers.csv").write_text("form,writer\n")
    after = load_lines(tiny_db)
    assert set(after.writers) == {""} != set(before.writers)


def test_no_cache_neither_reads_nor_writes(tiny_db, cache_folder):
    load_lines(tiny_db, use_cache=False)
    assert list(cache_folder.iterdir()) == []


@pytest.mark.parametrize("damage", [b"", b"not a zip file", "truncate"])
def test_a_corrupt_cache_file_is_rebuilt(tiny_db, cache_folder, monkeypatch, damage):
    good = load_lines(tiny_db)
    (path,) = cache_folder.glob("lines-*.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else damage)
    again = load_lines(tiny_db)
    np.testing.assert_array_equal(good.offsets, again.offsets)
    monkeypatch.setattr(dataset, "read_iamondb", _no_reading)
    rebuilt = load_lines(tiny_db)  # served by the rewritten cache file
    np.testing.assert_array_equal(good.offsets, rebuilt.offsets)


def test_no_usable_lines_is_one_clear_error(tmp_path):
    from conftest import write_form

    root = tmp_path / "iam"
    write_form(root, "a01-000u", ["ab", "cd"], inks={1: (np.zeros((5, 2)), np.eye(1, 5, 4, dtype=bool).ravel())})
    with pytest.raises(PenbotError, match="no usable lines"):
        load_lines(root)


def test_writer_split_is_disjoint_and_deterministic(session_db):
    ls = load_lines(session_db)
    train, val = split_by_writer(ls)
    assert len(train) and len(val)
    assert sorted([*train, *val]) == list(range(len(ls)))
    train_writers = {ls.writers[i] for i in train}
    val_writers = {ls.writers[i] for i in val}
    assert not train_writers & val_writers
    assert "" not in val_writers  # lines of unknown writers always train
    again = split_by_writer(ls)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(val, again[1])


def test_writer_split_on_many_writers_keeps_about_the_fraction():
    n = 2000
    ls = dataset.LineSet([f"a01-{i:03d}u-01" for i in range(n)], [str(i // 4) for i in range(n)], ["ab"] * n,
                         np.zeros((n, 3), np.float32), np.arange(n + 1))
    train, val = split_by_writer(ls, val_fraction=0.1)
    assert 0.06 < len(val) / n < 0.14
    assert not {ls.writers[i] for i in train} & {ls.writers[i] for i in val}


def test_batches_cover_every_line_once(session_db):
    ls = load_lines(session_db)
    index = np.arange(len(ls))
    batches = make_batches(ls, index, 4, np.random.default_rng(0))
    seen = [i for b in batches for item in b for i in item.lines]
    assert sorted(seen) == list(index)
    assert all(len(b) <= 4 for b in batches)
    again = make_batches(ls, index, 4, np.random.default_rng(0))
    assert again == batches


def test_weights_repeat_lines(session_db):
    ls = load_lines(session_db)
    index = np.arange(len(ls))
    weights = np.ones(len(ls))
    weights[3] = 3.0
    seen = Counter(i for b in make_batches(ls, index, 4, np.random.default_rng(0), weights) for it in b
                   for i in it.lines)
    assert seen[3] == 3 and all(seen[i] == 1 for i in index if i != 3)


def test_pairs_join_consecutive_lines_of_one_form(session_db):
    ls = load_lines(session_db)
    batches = make_batches(ls, np.arange(len(ls)), 4, np.random.default_rng(0), pair_prob=1.0)
    pairs = [it.lines for b in batches for it in b if len(it.lines) == 2]
    assert pairs
    for a, b in pairs:
        form_a, num_a = ls.ids[a].rsplit("-", 1)
        form_b, num_b = ls.ids[b].rsplit("-", 1)
        assert form_a == form_b and int(num_b) == int(num_a) + 1
    last_lines = [i for i in range(len(ls)) if next_line_of_form(ls)[i] < 0]
    assert len(last_lines) == len(FORMS)


def test_collate_pads_and_masks(session_db):
    ls = load_lines(session_db)
    items = [Item((0,)), Item((1, 2)), Item((5,), drop_text=True)]
    b = collate(ls, items, DEFAULT_ALPHABET)
    lengths = [len(ls.line(0)), len(ls.line(1)) + len(ls.line(2)), len(ls.line(5))]
    assert b.strokes.shape == (3, max(lengths), 3)
    assert b.stroke_mask.sum(1).tolist() == lengths
    assert b.char_mask[0].sum() == len(ls.texts[0])
    assert b.char_mask[1].sum() == len(ls.texts[1]) + 1 + len(ls.texts[2])
    assert b.char_mask[2].sum() == 0
    np.testing.assert_array_equal(b.strokes[0, : lengths[0]], ls.line(0))
    assert not b.strokes[0, lengths[0] :].any()


def test_join_lines_continues_to_the_right_on_the_same_band(session_db):
    ls = load_lines(session_db)
    a, b = ls.line(0), ls.line(1)
    joined = join_lines([a, b])
    pts = np.cumsum(joined[:, :2], axis=0)
    first, second = pts[: len(a)], pts[len(a) :]
    np.testing.assert_allclose(first, np.cumsum(a[:, :2], axis=0), atol=1e-5)
    assert second[:, 0].min() > first[:, 0].max()
    mid = [np.percentile(p[:, 1], [5, 95]).mean() for p in (first, second)]
    assert abs(mid[0] - mid[1]) < 1e-3
    np.testing.assert_allclose(np.diff(second, axis=0), b[1:, :2], atol=1e-5)


def test_rare_characters_weigh_more():
    texts = ["the cat"] * 50 + ["the Zoo"]
    w = rare_char_weights(texts, cap=6.0, ref=400.0)
    assert w[-1] > w[0] >= 1.0
    assert w.max() <= 6.0


def test_joined_lines_are_repeated_and_printed_ones_are_not():
    def line(strokes: int, points: int = 20) -> np.ndarray:
        off = np.zeros((points, 3), np.float32)
        off[:, 0] = 0.1
        off[np.linspace(points // strokes - 1, points - 1, strokes).astype(int), 2] = 1.0
        return off

    lines = [line(2), line(5), line(4)]  # "hello": 0.4, 1.0 and 0.8 strokes per letter
    ls = dataset.LineSet(["a", "b", "c"], ["w", "w", "w"], ["hello"] * 3, np.concatenate(lines),
                         np.cumsum([0] + [len(x) for x in lines]))
    assert dataset.joined_weights(ls, 3.0).tolist() == [3.0, 1.0, 3.0]
    assert dataset.joined_weights(ls, 1.0).tolist() == [1.0, 1.0, 1.0]
