"""Folding user text onto the model's alphabet, and naming what cannot be written."""

from __future__ import annotations

import numpy as np
import pytest

from penbot.errors import PenbotError
from penbot.text import DEFAULT_ALPHABET, encode, fold_text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\u201cquoted\u201d", '"quoted"'),
        ("it\u2019s", "it's"),
        ("\u2018single\u2019", "'single'"),
        ("a \u2013 b \u2014 c", "a - b - c"),
        ("wait\u2026", "wait..."),
        ("caf\u00e9 na\u00efve \u00c5ngstr\u00f6m", "cafe naive Angstrom"),
        ("Stra\u00dfe", "Strasse"),
        ("non\u00a0breaking", "non breaking"),
        ("plain ASCII, 1960!", "plain ASCII, 1960!"),
        ("\u00bd cup, \u2116 5", "1/2 cup, No. 5"),
    ],
)
def test_typographic_characters_and_accents_fold(text, expected):
    assert fold_text(text).text == expected


def test_an_arrow_folds_to_characters_the_pen_draws():
    from penbot.glyphs import writable

    assert fold_text("left \u2192 right", writable(DEFAULT_ALPHABET)).text == "left -> right"


def test_folded_characters_are_listed():
    assert fold_text("\u201chi\u201d caf\u00e9").folded == {"\u201c": '"', "\u201d": '"', "\u00e9": "e"}
    assert fold_text("hi").folded == {}


def test_newlines_are_kept():
    assert fold_text("one\r\ntwo\nthree").text == "one\ntwo\nthree"


def test_unknown_characters_are_named_with_positions():
    with pytest.raises(PenbotError) as err:
        fold_text("a\u2603b\u2603c\u20ac")
    msg = str(err.value)
    assert "U+2603" in msg and "position 2, 4" in msg
    assert "U+20AC" in msg and "position 6" in msg
    assert err.value.about == "unknown_characters" and "--drop-unknown" not in msg and "\n" not in msg


def test_long_runs_of_unknown_characters_are_abbreviated():
    msg = str(pytest.raises(PenbotError, fold_text, "\u2603" * 10).value)
    assert "1, 2, 3\u2026" in msg and "10" not in msg


def test_drop_unknown_removes_them():
    result = fold_text("a\u2603b\u20acc", drop_unknown=True)
    assert result.text == "abc" and result.dropped == "\u2603\u20ac"


def test_folding_respects_a_smaller_alphabet():
    assert fold_text("\u2026", alphabet="abc", drop_unknown=True).text == ""
    with pytest.raises(PenbotError):
        fold_text("A", alphabet="abc")


def test_encode_is_one_based_and_refuses_unknown():
    codes = encode("ab ", DEFAULT_ALPHABET)
    assert codes.dtype == np.int64 and codes.min() >= 1
    assert [DEFAULT_ALPHABET[c - 1] for c in codes] == ["a", "b", " "]
    with pytest.raises(PenbotError, match="\u00e9"):
        encode("\u00e9")
