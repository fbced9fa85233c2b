"""Training: it learns, resumes exactly, and refuses impossible requests in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from penbot import train as train_mod
from penbot.checkpoint import load_checkpoint, load_model
from penbot.data.clean import CleanConfig
from penbot.data.dataset import collate, load_lines
from penbot.errors import PenbotError
from penbot.train import evaluate_nll, lr_at, train


def _nll(model_path, db) -> float:
    model = load_model(model_path)
    ls = load_lines(db, CleanConfig(**model.cfg.clean))
    return evaluate_nll(model, ls, np.arange(len(ls)))[1]


def _weights(path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["state_dict"]


def _next_loss(path, db) -> float:
    """The training loss of the checkpointed model on a fixed batch (what the next step would see)."""
    model = load_model(path)
    ls = load_lines(db, CleanConfig(**model.cfg.clean))
    b = collate(ls, np.arange(6), model.cfg.alphabet)
    with torch.no_grad():
        _, loss = model(torch.from_numpy(b.strokes), torch.from_numpy(b.chars), torch.from_numpy(b.stroke_mask))
    return float(loss)


def test_loss_decreases_on_the_tiny_database(session_db, tiny_model_path, tmp_path, tiny_train_config):
    start = train(tiny_train_config(session_db, tmp_path / "start", steps=1))  # same seed, one step
    assert _nll(tiny_model_path, session_db) < _nll(start, session_db) - 0.3


def test_outputs_and_model_config(tiny_model_path):
    run = tiny_model_path.parent
    assert {p.name for p in run.iterdir()} >= {"best.pt", "last.pt"}
    model = load_model(tiny_model_path)
    assert (model.cfg.hidden, model.cfg.n_window, model.cfg.n_mixture) == (16, 3, 3)
    assert model.cfg.clean["decimate"] == 3
    assert json.dumps(model.cfg.clean) == json.dumps(CleanConfig(decimate=3).key())
    assert all(s > 0 for s in model.cfg.offset_std)
    ck = load_checkpoint(run / "last.pt")
    assert ck["step"] == 20 and np.isfinite(ck["best_val"])


class _Interrupt(Exception):
    pass


def test_resume_after_an_interruption_is_exact(tiny_db, tmp_path, tiny_train_config, monkeypatch):
    """N steps in one go == N/2 steps, killed, then --resume: same weights, same next loss."""
    n = 12
    cfg = dict(steps=n, val_every=n // 2, pair_prob=0.5, drop_text_prob=0.2, warmup=3)
    whole = tiny_train_config(tiny_db, tmp_path / "whole", **cfg)
    train(whole)

    show = train_mod._Progress.show

    def interrupt_after_half(self, step, *a):
        show(self, step, *a)
        if step == n // 2:
            raise _Interrupt  # as if killed right after the step-n/2 checkpoint

    split = tiny_train_config(tiny_db, tmp_path / "split", **cfg)
    monkeypatch.setattr(train_mod._Progress, "show", interrupt_after_half)
    with pytest.raises(_Interrupt):
        train(split)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "split" / "last.pt")["step"] == n // 2
    train(tiny_train_config(tiny_db, tmp_path / "split", resume=True, **cfg))

    a, b = _weights(tmp_path / "whole" / "last.pt"), _weights(tmp_path / "split" / "last.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert _next_loss(tmp_path / "whole" / "last.pt", tiny_db) == _next_loss(tmp_path / "split" / "last.pt", tiny_db)
    ca, cb = load_checkpoint(tmp_path / "whole" / "last.pt"), load_checkpoint(tmp_path / "split" / "last.pt")
    assert (ca["step"], ca["epoch"], ca["pos"]) == (cb["step"], cb["epoch"], cb["pos"])
    for sa, sb in zip(ca["optimizer"]["state"].values(), cb["optimizer"]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_resume_with_a_longer_schedule_continues_exactly(tiny_db, tmp_path, tiny_train_config):
    """With a constant learning rate, N/2 steps + ``--resume --steps N`` == N steps in one go."""
    cfg = dict(val_every=5, warmup=0, min_lr_frac=1.0)
    train(tiny_train_config(tiny_db, tmp_path / "whole", steps=10, **cfg))
    train(tiny_train_config(tiny_db, tmp_path / "split", steps=5, **cfg))
    train(tiny_train_config(tiny_db, tmp_path / "split", steps=10, resume=True, **cfg))
    a, b = _weights(tmp_path / "whole" / "last.pt"), _weights(tmp_path / "split" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_different_seeds_give_different_models(tiny_db, tmp_path, tiny_train_config):
    train(tiny_train_config(tiny_db, tmp_path / "a", steps=2, seed=1))
    train(tiny_train_config(tiny_db, tmp_path / "b", steps=2, seed=2))
    a, b = _weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt")
    assert not all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_nothing_to_resume_is_an_error(tiny_db, tmp_path, tiny_train_config):
    with pytest.raises(PenbotError, match="nothing to resume"):
        train(tiny_train_config(tiny_db, tmp_path / "empty", resume=True))


def test_a_folder_with_no_usable_lines_is_an_error(tmp_path, tiny_train_config):
    from conftest import write_form

    root = tmp_path / "iam"
    dots = (np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([False, True]))
    write_form(root, "a01-000u", ["one", "two"], inks={1: dots, 2: dots})
    with pytest.raises(PenbotError, match="no usable lines"):
        train(tiny_train_config(root, tmp_path / "run"))
    assert not (tmp_path / "run" / "last.pt").exists()


def test_a_folder_that_is_not_the_database_is_an_error(tmp_path, tiny_train_config):
    (tmp_path / "notes").mkdir()
    with pytest.raises(PenbotError, match="not an IAM-OnDB layout"):
        train(tiny_train_config(tmp_path / "notes", tmp_path / "run"))


def test_learning_rate_schedule():
    cfg = train_mod.TrainConfig(data="", out="", steps=100, warmup=10, lr=1.0, min_lr_frac=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(100, cfg) == pytest.approx(0.1)
    values = [lr_at(s, cfg) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_self_feeding_replaces_a_growing_share_of_inputs_with_model_draws(tiny_model_path, session_db):
    from penbot.model import sample_mixture
    from penbot.train import TrainConfig, _self_fed

    model = load_model(tiny_model_path)
    ls = load_lines(session_db, CleanConfig(**model.cfg.clean))
    b = collate(ls, np.arange(4), model.cfg.alphabet)
    strokes, chars = torch.from_numpy(b.strokes), torch.from_numpy(b.chars)
    with torch.no_grad():
        mix, _ = model(strokes, chars)
    drawn = sample_mixture(mix, torch.Generator().manual_seed(0))
    assert drawn.shape == strokes.shape and set(drawn[..., 2].unique().tolist()) <= {0.0, 1.0}
    cfg = TrainConfig(data="", out="", steps=100, self_feed=0.5)
    assert _self_fed(model, strokes, chars, cfg, 0) is None  # the schedule starts at full teacher forcing
    x = model.normalise(strokes)
    torch.manual_seed(0)
    late = _self_fed(model, strokes, chars, cfg, 100)
    changed = (late != x).any(-1).float().mean().item()
    assert 0.35 < changed < 0.65  # about half the inputs are the model's own by the end
    with torch.no_grad():
        _, loss = model(strokes, chars, torch.from_numpy(b.stroke_mask), fed=late)
    assert torch.isfinite(loss)
