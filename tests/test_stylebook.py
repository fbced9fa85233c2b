"""stylebook.py: how the shipped library is chosen from judged candidates, and how its hands are measured."""

from __future__ import annotations

import numpy as np
import torch

from penbot.handfeatures import CONNECTED, HandFeatures
from penbot.model import HandwritingModel
from penbot.modelconfig import ModelConfig
from penbot.strokes import Strokes
from penbot.stylebook import FEATURE_TEXTS, Candidate, _choose, measure_writes
from penbot.styles import Style


def _candidate(k: int, slant: float, strokes: float, width: float, error: float) -> Candidate:
    return Candidate(Style(f"c{k}", "ab", Strokes(np.zeros((2, 3)))), HandFeatures(slant, strokes, width), error)


def test_choose_takes_connected_hands_of_different_slants_then_the_most_legible_then_the_spread():
    pool = [
        _candidate(0, 5.0, 1.3, 0.6, 0.01),  # the most legible, printed
        _candidate(1, 8.0, 0.7, 0.5, 0.03),  # connected
        _candidate(2, 9.0, 0.7, 0.5, 0.02),  # connected, but within 3 degrees of the next
        _candidate(3, 20.0, 0.8, 0.55, 0.035),  # connected
        _candidate(4, -8.0, 1.2, 0.8, 0.02),  # printed, far from the rest
        _candidate(5, 6.0, 1.3, 0.6, 0.015),  # printed, a near copy of 0
        _candidate(6, 30.0, 0.6, 0.5, 0.2),  # connected but unreadable
    ]
    chosen = _choose(pool, count=4, min_connected=2, max_error=0.04)
    names = [c.style.name for c in chosen]
    assert names[0] == "c0"  # the most legible hand leads (the default style)
    assert names[1:3] == ["c2", "c3"]  # then connected hands, best read first, slants > 3 degrees apart
    assert "c4" in names and "c5" not in names  # then the farthest hand, not a near copy
    assert "c6" not in names
    assert sum(c.writes.strokes_per_char <= CONNECTED for c in chosen) == 2
    few = _choose(pool, count=2, min_connected=4, max_error=0.04)
    assert [c.style.name for c in few] == ["c0", "c2"]  # never more than asked for; the best hand leads


def test_measure_writes_gives_one_reading_per_style_in_order():
    torch.manual_seed(0)
    model = HandwritingModel(ModelConfig(hidden=16, n_window=2, n_mixture=2)).eval()
    rng = np.random.default_rng(0)
    wide = Strokes(np.column_stack([np.tile([0.6, 0.0], 20), rng.normal(0, 0.3, 40), np.tile([0, 1], 20)]))
    narrow = Strokes(np.column_stack([np.tile([0.1, 0.0], 20), rng.normal(0, 0.3, 40), np.tile([0, 1], 20)]))
    got = measure_writes(model, [Style("a", "hello there", wide), Style("b", "hello there", narrow)], seeds=(0,))
    assert len(got) == 2 and all(isinstance(f, HandFeatures) for f in got)
    assert len(FEATURE_TEXTS) >= 12
    again = measure_writes(model, [Style("b", "hello there", narrow)], seeds=(0,))
    assert again[0] == got[1]  # a style's reading does not depend on what is measured beside it


def test_near_connected_legible_candidates_are_measured_again_on_everyday_lines():
    from penbot.stylebook import _remeasure_near_connected

    torch.manual_seed(0)
    model = HandwritingModel(ModelConfig(hidden=16, n_window=2, n_mixture=2)).eval()
    rng = np.random.default_rng(1)
    ink = Strokes(np.column_stack([np.tile([0.3, 0.0], 20), rng.normal(0, 0.3, 40), np.tile([0, 1], 20)]))

    def cand(name: str, strokes: float, error: float) -> Candidate:
        return Candidate(Style(name, "hello there", ink), HandFeatures(99.0, strokes, 9.0), error)

    pool = [cand("printed", 1.3, 0.01), cand("near", 0.95, 0.02), cand("near-but-unreadable", 0.95, 0.3),
            cand("connected", 0.7, 0.03)]
    got = _remeasure_near_connected(model, pool, max_error=0.04)
    assert [c.style.name for c in got] == [c.style.name for c in pool]
    assert got[0] == pool[0] and got[2] == pool[2]  # printed or unreadable: left as judged
    want = measure_writes(model, [pool[1].style, pool[3].style])
    assert got[1].writes == want[0] and got[3].writes == want[1]  # measured on the everyday lines
    assert got[1].error == pool[1].error
    assert got[1].everyday and not got[0].everyday
    assert _remeasure_near_connected(model, got, max_error=0.04) == got  # measured once, not again
