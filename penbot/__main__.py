"""``python -m penbot``: the same as the ``penbot`` command."""

from penbot.cli import main

main()
