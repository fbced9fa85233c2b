"""The model's alphabet, text encoding, and folding of characters it cannot write."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from penbot.errors import PenbotError

__all__ = ["DEFAULT_ALPHABET", "fold_text", "encode", "FoldResult"]

# Every character IAM-OnDB's transcriptions use (its README): space, punctuation, digits,
# letters. Index 0 is reserved for padding, so encoded characters start at 1.
DEFAULT_ALPHABET = (
    " !\"#%&'()*+,-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZ[]abcdefghijklmnopqrstuvwxyz"
)

# Typographic characters people paste from word processors, folded to what the model writes.
_FOLD = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u00b4": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
    "\u2033": '"', "\u00ab": '"', "\u00bb": '"', "\u2013": "-", "\u2014": "-",
    "\u2012": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ",
    "\t": " ", "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe",
    "\u0152": "OE", "\u00f8": "o", "\u00d8": "O", "\u0142": "l", "\u0141": "L",
    "\u0111": "d", "\u0110": "D", "\u0131": "i", "\u0127": "h", "\u0126": "H",
    "{": "(", "}": ")", "~": "-", "\u2022": "-", "\u00b7": ".",
    "\u00bd": "1/2", "\u00bc": "1/4", "\u00be": "3/4", "\u2116": "No.", "\u2192": "->",
}


@dataclass(frozen=True)
class FoldResult:
    text: str
    folded: dict[str, str]  # original character -> replacement, for a notice
    dropped: str  # characters removed because the user asked to drop unknown ones


def _fold_char(ch: str, alphabet: str) -> str | None:
    if ch in alphabet:
        return ch
    if ch in _FOLD:
        rep = _FOLD[ch]
        return rep if all(c in alphabet for c in rep) else None
    # accented letters: strip the combining marks (é -> e, Å -> A)
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and base != ch and all(c in alphabet for c in base):
        return base
    return None


def fold_text(text: str, alphabet: str = DEFAULT_ALPHABET, drop_unknown: bool = False) -> FoldResult:
    """Map ``text`` onto ``alphabet``: fold typographic/accents, else raise naming the chars.

    Newlines are kept (layout splits on them); other characters outside the alphabet
    are an error unless ``drop_unknown``. The text is composed (NFC) first, so a letter
    typed as a base and a combining accent (``e`` + U+0301) folds like ``é``.
    """
    text = unicodedata.normalize("NFC", text)
    out: list[str] = []
    folded: dict[str, str] = {}
    dropped: list[str] = []
    bad: dict[str, list[int]] = {}
    for i, ch in enumerate(text):
        if ch in "\n\r":
            out.append("\n" if ch == "\n" else "")
            continue
        rep = _fold_char(ch, alphabet)
        if rep is None:
            if drop_unknown:
                dropped.append(ch)
            else:
                bad.setdefault(ch, []).append(i)
            continue
        if rep != ch:
            folded[ch] = rep
        out.append(rep)
    if bad:
        parts = [
            f"{ch!r} (U+{ord(ch):04X}) at position {', '.join(str(p + 1) for p in pos[:3])}"
            + ("…" if len(pos) > 3 else "")
            for ch, pos in bad.items()
        ]
        raise PenbotError("cannot write character(s): " + "; ".join(parts), about="unknown_characters")
    return FoldResult("".join(out), folded, "".join(dropped))


def encode(text: str, alphabet: str = DEFAULT_ALPHABET) -> np.ndarray:
    """Characters -> int64 indices (1-based; 0 is padding). Raises on unknown characters."""
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    try:
        return np.array([index[c] for c in text], dtype=np.int64)
    except KeyError as exc:
        raise PenbotError(f"cannot encode character {exc.args[0]!r}") from None
