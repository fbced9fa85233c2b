"""The one error type penbot raises; front ends print it as a single line."""

from __future__ import annotations

__all__ = ["PenbotError"]


class PenbotError(Exception):
    """A problem the user can fix (bad input, missing file, corrupt model).

    Library code raises this instead of letting low-level exceptions escape, so a front
    end can print one clear line instead of a traceback. ``about`` names what the error
    is about (e.g. ``"unknown_characters"``) so a front end can add its own hint (a CLI
    flag, a form field); the library itself never names front-end flags.
    """

    def __init__(self, message: str, *, about: str = "") -> None:
        super().__init__(message)
        self.about = about
