"""Synthetic ALL-CAPS and number lines: glyphs cut by alignment, placed on the line's baseline."""

from __future__ import annotations

import numpy as np
import pytest

from penbot import train as train_mod
from penbot.data.clean import CleanConfig
from penbot.data.dataset import LineSet, concat_lines, load_lines, next_line_of_form, read_lines
from penbot.data.synth import (
    GLYPH_CHARS,
    Bank,
    Glyph,
    _cut_after_word,
    cut_glyphs,
    keep_consistent,
    line_band,
    synth_line,
    synth_lines,
)
from penbot.errors import PenbotError
from penbot.train import train


def _line(parts: list[tuple[str, list[np.ndarray]]]) -> tuple[np.ndarray, str, np.ndarray]:
    """Offsets, text and a perfect alignment from (character, strokes) parts (" " = no ink)."""
    pts, flags, owner, text = [], [], [], ""
    for j, (c, strokes) in enumerate(parts):
        text += c
        for s in strokes:
            pts.append(s)
            flags.append(np.eye(1, len(s), len(s) - 1).ravel())
            owner.append(np.full(len(s), j))
    p = np.concatenate(pts)
    offsets = np.column_stack([np.diff(p, axis=0, prepend=np.zeros((1, 2))), np.concatenate(flags)])
    return offsets, text, np.concatenate(owner)


def _seg(a, b, n=6) -> np.ndarray:
    return np.linspace(a, b, n)


def _flat(x: float) -> list[np.ndarray]:
    """A lower-case letter without ascender: a loop between y = -0.4 (x-height) and 0 (baseline)."""
    t = np.linspace(0, 2 * np.pi, 10)
    return [np.column_stack([x + 0.15 + 0.15 * np.cos(t), -0.2 + 0.2 * np.sin(t)])]


def _word_then_caps() -> tuple[np.ndarray, str, np.ndarray]:
    parts = [(c, _flat(0.4 * k)) for k, c in enumerate("same")]
    x = 2.2
    parts.append((" ", []))
    # T: the stem first, then the bar, which the window already gives to the next letter
    stem = _seg([x + 0.3, -0.6], [x + 0.3, 0.0])
    bar = _seg([x, -0.6], [x + 0.6, -0.6])
    parts.append(("T", [stem]))
    parts.append(("O", [bar, np.column_stack([x + 1.1 + 0.3 * np.cos(np.linspace(0, 6.3, 12)),
                                              -0.3 + 0.3 * np.sin(np.linspace(0, 6.3, 12))])]))
    parts.append(("P", [_seg([x + 1.8, 0.0], [x + 1.8, -0.6]), _seg([x + 1.75, -0.6], [x + 2.1, -0.4])]))
    offsets, text, owner = _line(parts)
    # the bar's points are aligned with "O" (the window moved on), as the model does
    return offsets, text, owner


def test_band_is_the_flat_letters_baseline_and_height():
    offsets, text, owner = _word_then_caps()
    base, xh = line_band(np.cumsum(offsets[:, :2], axis=0), text, owner)
    assert base == pytest.approx(0.0, abs=0.01) and xh == pytest.approx(0.4, abs=0.01)


def test_cut_glyphs_keeps_a_late_stroke_with_its_letter():
    offsets, text, owner = _word_then_caps()
    band = line_band(np.cumsum(offsets[:, :2], axis=0), text, owner)
    glyphs = {g.char: g for g in cut_glyphs(offsets, text, owner, "w1", band)}
    assert set(glyphs) == {"T", "O", "P"}
    assert len(glyphs["T"].strokes) == 2  # stem and bar, though the bar aligned with "O"
    assert len(glyphs["O"].strokes) == 1
    t = np.concatenate(glyphs["T"].strokes)
    assert t[:, 1].max() == pytest.approx(0.0, abs=0.02)  # sits on the baseline
    assert -t[:, 1].min() == pytest.approx(1.5, rel=0.03)  # 0.6 high over an x-height of 0.4
    assert t[:, 0].min() == pytest.approx(0.0) and glyphs["T"].width == pytest.approx(1.5, rel=0.03)


def test_cut_glyphs_refuses_a_group_that_swallowed_a_neighbour():
    offsets, text, owner = _word_then_caps()
    owner = owner.copy()
    owner[owner == text.index("P")] = text.index("O")  # the window never reached P
    band = line_band(np.cumsum(offsets[:, :2], axis=0), text, owner)
    chars = {g.char for g in cut_glyphs(offsets, text, owner, "w1", band)}
    assert "O" not in chars  # two groups claim O
    assert "P" not in chars  # P has no group of its own


def _bar(char: str, writer: str = "w") -> Glyph:
    return Glyph(char, writer, (_seg([0.0, 0.0], [0.0, -1.5]),))


def _ring(char: str, writer: str = "w", r: float = 0.6) -> Glyph:
    t = np.linspace(0, 2 * np.pi, 16)
    return Glyph(char, writer, (np.column_stack([r + r * np.cos(t), -r + r * np.sin(t)]),))


def test_keep_consistent_drops_a_glyph_shaped_like_another_letter():
    rng = np.random.default_rng(0)
    glyphs = [_bar("I") for _ in range(10)] + [_ring("O", r=0.5 + 0.2 * rng.random()) for _ in range(10)]
    alien = _bar("O", "odd")  # an "O" that is a bar: a bad cut
    kept = keep_consistent(glyphs + [alien])
    assert alien not in kept and len(kept) == 20


def _bank_for(ls: LineSet, chars: str = GLYPH_CHARS) -> Bank:
    """Every glyph a bar or a ring; a linear alignment of each line's points to its text."""
    owners, bands = {}, {}
    for i in range(len(ls)):
        n = len(ls.line(i))
        owners[i] = np.minimum((np.arange(n) * len(ls.texts[i])) // n, len(ls.texts[i]) - 1).astype(np.int32)
        bands[i] = (0.3, 0.4)
    glyphs = {c: [_ring(c) if c in "OQ0" else _bar(c)] for c in chars}
    return Bank(glyphs, bands, owners)


def _two_words() -> tuple[LineSet, Bank]:
    """"same nose" in flat loops, the window resting on the space while the pen travels
    (the first point of "nose" aligns with the space, as the model's window does)."""
    parts = [(c, _flat(0.4 * k)) for k, c in enumerate("same")] + [(" ", [])]
    parts += [(c, _flat(2.2 + 0.4 * k)) for k, c in enumerate("nose")]
    offsets, text, owner = _line(parts)
    owner = owner.copy()
    owner[np.argmax(owner > text.index(" "))] = text.index(" ")
    ls = LineSet(["a01-000-01"], ["w1"], [text], offsets.astype(np.float32), np.array([0, len(offsets)]))
    bank = Bank({c: [_ring(c) if c in "O0" else _bar(c)] for c in "OI10"},
                {0: line_band(np.cumsum(offsets[:, :2], axis=0), text, owner)}, {0: owner})
    return ls, bank


def test_cut_after_word_finds_the_space_the_window_rests_on():
    ls, bank = _two_words()
    cuts = {_cut_after_word(np.random.default_rng(s), ls.line(0), ls.texts[0], bank.owners[0])[:2] for s in range(20)}
    assert cuts == {(len(ls.line(0)), 9), (40, 4)}  # after "same" (4 loops of 10 points) or at the end
    gap = _cut_after_word(np.random.default_rng(0), ls.line(0), ls.texts[0], bank.owners[0])[2]
    assert gap == pytest.approx(2.2 - 1.5, abs=0.02)  # from the right of "same" (1.5) to the left of "nose"


def test_synth_line_writes_the_new_words_between_the_old_ones_on_the_baseline():
    ls, bank = _two_words()
    seen = set()
    for seed in range(12):
        offsets, text = synth_line(np.random.default_rng(seed), ls, 0, bank, "OI 10")
        np.testing.assert_allclose(offsets[:39, :2], ls.line(0)[:39, :2], atol=1e-6)  # the real start kept
        pts = np.cumsum(offsets[:, :2], axis=0)
        old = np.cumsum(ls.line(0)[:, :2], axis=0)
        made = slice(40, 40 + 16 + 6 + 6 + 16)  # ring, bar, bar, ring
        if text == "same OI 10 nose":  # the rest of the line moved right, unchanged
            np.testing.assert_allclose(pts[made.stop:] - old[40:], np.tile(pts[made.stop] - old[40], (40, 1)),
                                       atol=1e-5)
            assert pts[made.stop:, 0].min() > pts[made, 0].max() + 0.2  # a word gap after the made words
            assert offsets[made.stop - 1, 2] == 1
        else:
            assert text == "same nose OI 10"
            made = slice(80, None)
        seen.add(text)
        assert offsets[39, 2] == 1  # lifted before the made words
        assert pts[made, 1].max() == pytest.approx(0.0, abs=0.05)  # on the baseline
        assert np.ptp(pts[made, 1]) == pytest.approx(1.5 * 0.4, rel=0.15)  # capitals 1.5 x-heights high
    assert seen == {"same OI 10 nose", "same nose OI 10"}
    assert synth_line(np.random.default_rng(0), ls, 0, Bank({"O": [_ring("O")]}, bank.bands, bank.owners),
                      "OI") is None  # no I glyph


def test_synth_needs_a_trained_model(tiny_db, tmp_path, tiny_train_config):
    with pytest.raises(PenbotError, match="--init"):
        train(tiny_train_config(tiny_db, tmp_path / "r", synth=10))


def test_training_with_synthetic_lines_and_exact_resume(tiny_db, tiny_model_path, tmp_path, tiny_train_config,
                                                        monkeypatch):
    monkeypatch.setattr(train_mod, "glyph_bank", lambda ls, owners: _bank_for(ls))
    cfg = dict(init=str(tiny_model_path), synth=12, steps=6, val_every=3)
    train(tiny_train_config(tiny_db, tmp_path / "run", **cfg))
    made = read_lines(tmp_path / "run" / "synth.npz")
    real = load_lines(tiny_db, CleanConfig())
    assert len(made) == 12
    for line_id, text in zip(made.ids, made.texts):
        base = real.texts[real.ids.index(line_id.split("+")[0])].split(" ")
        added = text.split(" ")
        for w in base:  # every word of the base line stays; what is left was written in
            added.remove(w)
        assert added and all(w.isupper() or w[0].isdigit() for w in added)

    def no_new_bank(ls, owners):
        raise AssertionError("a resumed run must reuse its synthetic lines")

    monkeypatch.setattr(train_mod, "glyph_bank", no_new_bank)
    train(tiny_train_config(tiny_db, tmp_path / "run", resume=True, **{**cfg, "steps": 9}))
    assert read_lines(tmp_path / "run" / "synth.npz").texts == made.texts


def test_a_joined_synthetic_line_goes_on_with_its_own_writers_next_line(tiny_db):
    ls = load_lines(tiny_db, CleanConfig())
    made = synth_lines(ls, _bank_for(ls), 30, seed=1)
    both = concat_lines(ls, made)
    nxt = next_line_of_form(both)
    real_next = next_line_of_form(ls)
    assert (real_next >= 0).any()
    for k, line_id in enumerate(made.ids):
        base = ls.ids.index(line_id.split("+")[0])
        assert nxt[len(ls) + k] == real_next[base]  # never another made line, never another hand
        if nxt[len(ls) + k] >= 0:
            assert both.writers[nxt[len(ls) + k]] == made.writers[k]
