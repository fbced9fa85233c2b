"""penbot studio: a local web page to write, preview and download, and to give penbot your own hand.

Start it with ``penbot studio``; ``create_app`` builds the Starlette app (see ``penbot.studio.app``).
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args, **kwargs):
    """``penbot.studio.app.create_app`` (imported on use: Starlette is an optional extra)."""
    from penbot.studio.app import create_app as make

    return make(*args, **kwargs)
