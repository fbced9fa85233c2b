"""The ``penbot`` command: thin typer commands that parse, call one library function, print.

Every command module adds its commands to ``app``; ``main`` turns ``PenbotError`` (and
Ctrl-C) into one line on stderr and a non-zero exit instead of a traceback.
"""

from __future__ import annotations

import sys

import typer

from penbot.errors import PenbotError

app = typer.Typer(
    name="penbot",
    help="Realistic handwriting for pen plotters.\n\nExample: penbot write \"hello\" --style 3 --out page.svg",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# the module that adds each command to ``app`` (when imported)
_MODULES = {"batch": "batch", "data": "data", "explore": "explore", "train": "model", "eval": "model",
            "export": "model", "studio": "studio", "styles": "styles", "write": "write", "free": "write"}


@app.callback()
def _root() -> None:
    # keeps ``app`` a group of commands when only one command module is imported
    pass


def _register(argv: list[str] | None = None) -> None:
    """Import only the invoked command's module (all of them for help or an unknown command):
    the others' imports (torch checks, PIL, data code) would cost every start-up."""
    import importlib

    args = sys.argv[1:] if argv is None else argv
    command = next((a for a in args if not a.startswith("-")), "")
    for name in [_MODULES[command]] if command in _MODULES else sorted(set(_MODULES.values())):
        importlib.import_module(f"penbot.cli.{name}")


# the CLI's own hint for a library error, by (command, what the error is about)
_HINTS = {
    ("write", "unknown_characters"): "use --drop-unknown to skip them",
    ("write", "seed"): "try another --seed or a higher --bias",
    ("styles", "style_text"): "give it with --text",
    ("styles", "style_exists"): "add --force to replace it",
}


def _hint(argv: list[str] | None, exc: PenbotError) -> str:
    args = sys.argv[1:] if argv is None else argv
    command = next((a for a in args if not a.startswith("-")), "")
    hint = _HINTS.get((command, exc.about))
    return f" ({hint})" if hint else ""


def main(argv: list[str] | None = None) -> None:
    _register(argv)
    try:
        code = app(args=argv, standalone_mode=False)
        # not standalone, typer returns (not raises) typer.Exit codes, and 130 for Ctrl-C
        if isinstance(code, int) and code:
            if code == 130:
                print("penbot: interrupted", file=sys.stderr)
            sys.exit(code)
    except PenbotError as exc:
        print(f"penbot: error: {exc}{_hint(argv, exc)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("penbot: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except SystemExit:
        raise
    except typer.TyperException as exc:  # usage errors (typer >= 0.22 carries its own click)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"penbot: error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
