"""Faithful priming: the lean that keeps a user's hand at its own slant, and its width.

Primed with one line of a writer it never saw, the model follows the line's slant but
writes a few degrees more slanted (README "Styles": about 2.5 degrees on the validation
writers). So a user's style is calibrated once, when it is imported: the model writes the
everyday feature texts after the sample, their slant is measured, and the style records
the shear (``Style.lean``) that brings what it writes to the sample's own slant. The
sample's strokes are stored as they were written; the correction is applied to the
written lines (``sample_lines``). The same lines give the hand's advance per character,
the layout's first guess of line widths (a human sample's own advance predicts it less
well than the model's samples do). Width is corrected by the model's usual excess only
(``WRITTEN_WIDTH``), not matched to the one line, and connectedness not at all: matching
either to one line measured worse than what the model writes (README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from penbot.handfeatures import hand_features, median_features
from penbot.runtime import StepRunner
from penbot.sample import LineRequest, SampleOptions, sample_lines
from penbot.stylebook import FEATURE_TEXTS
from penbot.styles import MAX_LEAN, Style

if TYPE_CHECKING:
    from penbot.model import HandwritingModel

__all__ = ["calibrate", "WRITTEN_WIDTH"]

# the model writes after a person's line about this much wider than the line (median of
# written / sample ink width per character over 120 training lines used as samples; shipped model)
WRITTEN_WIDTH = 1.06


def calibrate(model: StepRunner | HandwritingModel, styles: Sequence[Style], seed: int = 0) -> list[Style]:
    """Each style with ``lean`` set so that lines written after it have the sample's slant,
    and ``writes`` and ``written_advance`` measured on those lines (so ``styles list``
    describes what it writes, and the layout's first guess of line widths is right).
    Styles are calibrated together (one batch), each on its own random streams, so a
    style's lean does not depend on the others (to within the int8 graph's batch-wide
    activation scales).

    A sample after which the model writes no line that passes the checks is returned
    uncorrected.
    """
    plain = [replace(st, lean=0.0, stretch=1.0, written_advance=None) for st in styles]
    requests = [LineRequest(t, st.prime(), SampleOptions(seed=seed), key=i)
                for st in plain for i, t in enumerate(FEATURE_TEXTS)]
    lines = sample_lines(model, requests)
    out = []
    for j, st in enumerate(plain):
        mine = range(j * len(FEATURE_TEXTS), (j + 1) * len(FEATURE_TEXTS))
        written = [(lines[i].strokes, requests[i].text) for i in mine if lines[i].ok]
        if not written:
            out.append(st)
            continue
        target = np.tan(np.radians(hand_features(st.strokes, st.text).slant_deg))
        lean, stretch = 0.0, 1.0 / WRITTEN_WIDTH
        for _ in range(3):  # a shear moves each line's measured slant a little differently: iterate
            writes = median_features([hand_features(s.slanted(lean, stretch), t) for s, t in written])
            lean += (target - np.tan(np.radians(writes.slant_deg))) / stretch
            lean = float(np.clip(lean, -MAX_LEAN, MAX_LEAN))
        final = [(s.slanted(lean, stretch), t) for s, t in written]
        writes = median_features([hand_features(s, t) for s, t in final])
        advance = float(np.median([np.ptp(s.points[:, 0]) / len(t) for s, t in final]))
        out.append(replace(st, lean=lean, stretch=stretch, writes=writes, written_advance=advance))
    return out
