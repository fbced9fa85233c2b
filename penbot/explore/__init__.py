"""Looking inside the model: three views of one written line, as data and as pictures.

- ``fan``: at each point of a chosen line, the paths the model would have taken from there.
- ``attention``: the attention window over time, characters x pen steps.
- ``cells``: every LSTM cell of a layer along the line, alike cells side by side.

A view is two plain steps, so a web front end can take the data and draw it its own way:
get the line (``sampled_line`` for the model's own writing, ``strokes_line`` for a
person's strokes), compute the view's data (``fan_paths``, ``attention_trace``,
``cell_activations``: frozen dataclasses of numpy arrays), then render it
(``render_fan_svg``, ``render_attention``, ``render_cells_html``, ...) or save it
(``save_fan``, ``save_attention``, ``save_cells``: the extension picks the format).
Everything raises ``PenbotError`` only and prints nothing; matplotlib and scikit-learn
(the ``explore`` extra) are imported only when a picture or an ordering is made. The model
is a step runner (``open_explore_model``: the shipped ONNX graph), so no view needs torch:
every step gives out the window and the cell states along with the mixture.
``sample_fan`` fans out from the end of a person's strokes instead (the studio's Fan).
"""

from __future__ import annotations

from penbot.explore.attention import (
    AttentionTrace,
    attention_trace,
    render_attention,
    revisited_characters,
    save_attention,
    unfocused_characters,
)
from penbot.explore.cells import (
    CellTrace,
    cell_activations,
    cell_order,
    check_layer,
    flip_and_blur,
    render_cells_html,
    render_cells_png,
    save_cells,
)
from penbot.explore.fan import (
    Fan,
    chosen_directions,
    fan_paths,
    render_fan_png,
    render_fan_svg,
    sample_fan,
    save_fan,
    signed_turn,
    turn_colours,
    veer_sides,
)
from penbot.explore.line import ChosenLine, open_explore_model, sampled_line, strokes_line
from penbot.explore.replay import Replay, replay

__all__ = [
    "ChosenLine", "open_explore_model", "sampled_line", "strokes_line", "Replay", "replay",
    "Fan", "fan_paths", "sample_fan", "veer_sides",
    "signed_turn", "chosen_directions", "turn_colours", "render_fan_svg", "render_fan_png",
    "save_fan",
    "AttentionTrace", "attention_trace", "unfocused_characters", "revisited_characters", "render_attention",
    "save_attention",
    "CellTrace", "cell_activations", "check_layer", "cell_order", "flip_and_blur", "render_cells_html",
    "render_cells_png", "save_cells",
]
