"""The one error type penbot raises; the CLI prints it as a single line."""

from __future__ import annotations

__all__ = ["PenbotError"]


class PenbotError(Exception):
    """A problem the user can fix (bad input, missing file, corrupt model).

    Library code raises this instead of letting low-level exceptions escape, so the
    command line can print one clear line and exit non-zero instead of a traceback.
    """
