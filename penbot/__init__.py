"""penbot: realistic handwriting for pen plotters.

settings (``options``) -> text -> model strokes (``sample``) -> polylines smoothed and placed on
pages (``layout``, ``page``) -> files (``export``).
"""

from penbot.errors import PenbotError
from penbot.strokes import Strokes

__all__ = ["PenbotError", "Strokes", "write_text", "open_model", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # the writing pipeline pulls in torch; import it lazily so `import penbot` stays light
    if name in ("write_text", "open_model", "WriteOptions"):
        from penbot import write

        return getattr(write, name)
    raise AttributeError(name)
