"""Reading lines back: the rendering goes through the plotting path, and the CER arithmetic."""

from __future__ import annotations

import numpy as np

from penbot.readback import RenderOptions, char_errors, levenshtein, normalise, render_strokes
from penbot.strokes import Strokes


def test_char_errors_normalise_case_punctuation_and_spaces():
    assert normalise("Hello,  World!") == "hello world"
    assert levenshtein("kitten", "sitting") == 3
    assert char_errors("Hello, world.", "hello world") == (0, 11)
    assert char_errors("hello world", "helo wor1d") == (2, 11)
    assert char_errors("hello world", "helloworld", spaces=False) == (0, 10)


def test_a_line_renders_as_ink_on_white_at_the_plotted_size():
    t = np.linspace(0, 6 * np.pi, 90)
    line = Strokes.from_polylines([np.column_stack([t / 3, -0.4 * (1 - np.cos(t))])])
    img = render_strokes(line, RenderOptions())
    assert img.dtype == np.uint8 and img.min() < 60 and np.median(img) > 200
    ink_width = np.flatnonzero((img < 128).any(axis=0))
    assert abs((ink_width[-1] - ink_width[0]) - 2 * np.pi * 34) < 12  # 34 px per unit of width
    assert render_strokes(Strokes(np.zeros((0, 3)))).min() == 255
