"""Running ``penbot`` in the test process, the way a user runs it."""

from __future__ import annotations

import pytest

from penbot.cli import main


def run_cli(argv: list | tuple, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``penbot ARGV`` in this process: (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err
