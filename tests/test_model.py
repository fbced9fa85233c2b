"""The Graves network: shapes, a finite likelihood, forward == step, and that it can learn."""

from __future__ import annotations

import math

import pytest
import torch

from penbot.model import HandwritingModel, Mixture, ModelConfig, mixture_nll

CFG = ModelConfig(hidden=16, n_window=3, n_mixture=4, offset_mean=(0.2, 0.0), offset_std=(0.5, 0.6))


def _batch(b: int = 3, t: int = 25, u: int = 7, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    strokes = torch.randn(b, t, 3, generator=g) * 0.3
    strokes[..., 2] = (torch.rand(b, t, generator=g) < 0.15).float()
    chars = torch.randint(1, len(CFG.alphabet) + 1, (b, u), generator=g)
    chars[0, u - 2 :] = 0  # a shorter text, padded
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[1, t - 5 :] = False  # a shorter line, padded
    return strokes, chars, mask


def _model(seed: int = 0) -> HandwritingModel:
    torch.manual_seed(seed)
    return HandwritingModel(CFG)


def test_forward_shapes():
    strokes, chars, mask = _batch()
    mix, loss = _model()(strokes, chars, mask)
    b, t, m = 3, 25, CFG.n_mixture
    assert mix.log_pi.shape == (b, t, m) and mix.rho.shape == (b, t, m)
    assert mix.mu.shape == (b, t, m, 2) and mix.log_sigma.shape == (b, t, m, 2)
    assert mix.pen_logit.shape == (b, t)
    assert torch.allclose(mix.log_pi.exp().sum(-1), torch.ones(b, t), atol=1e-5)
    assert loss.shape == () and torch.isfinite(loss)
    assert _model()(strokes, chars)[1] is None


def test_nll_is_finite_for_extreme_targets():
    strokes, chars, mask = _batch()
    strokes[0, 3, :2] = 1e4  # far outside every component
    _, loss = _model()(strokes, chars, mask)
    assert torch.isfinite(loss)


def test_nll_of_a_single_gaussian_matches_the_formula():
    mix = Mixture(
        log_pi=torch.zeros(1, 1), mu=torch.zeros(1, 1, 2), log_sigma=torch.zeros(1, 1, 2),
        rho=torch.zeros(1, 1), pen_logit=torch.zeros(1),
    )
    target = torch.tensor([[0.5, -1.0, 1.0]])
    expected = math.log(2 * math.pi) + 0.5 * (0.25 + 1.0) + math.log(2.0)
    assert mixture_nll(mix, target).item() == pytest.approx(expected, rel=1e-6)


def test_padding_does_not_change_the_loss():
    strokes, chars, mask = _batch()
    model = _model()
    _, loss_a = model(strokes, chars, mask)
    strokes[1, -5:] = 99.0  # garbage where the mask is False
    _, loss_b = model(strokes, chars, mask)
    assert torch.allclose(loss_a, loss_b)


def test_step_with_teacher_forcing_equals_forward():
    """``step`` and ``forward`` share the window and mixture code: same inputs, same outputs."""
    strokes, chars, mask = _batch()
    model = _model().eval()
    with torch.no_grad():
        full, _ = model(strokes, chars, mask)
        x = model.normalise(strokes)
        onehot = model.one_hot(chars)
        prev = torch.zeros(strokes.shape[0], 3)
        prev[:, 2] = 1.0  # a line starts as if a stroke had just ended
        state = model.initial_state(strokes.shape[0])
        for t in range(strokes.shape[1]):
            mix, state, phi = model.step(prev, state, onehot)
            for name in ("log_pi", "mu", "log_sigma", "rho", "pen_logit"):
                torch.testing.assert_close(getattr(mix, name), getattr(full, name)[:, t], rtol=1e-4, atol=1e-5)
            assert phi.shape == chars.shape
            prev = x[:, t]


def test_loss_decreases_on_one_batch():
    strokes, chars, mask = _batch(seed=3)
    model = _model().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        _, loss = model(strokes, chars, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.3


def test_config_json_round_trip():
    cfg = ModelConfig(hidden=8, clean={"decimate": 2})
    assert ModelConfig.from_json(cfg.to_json()) == cfg


def test_packed_step_equals_the_plain_step():
    """The sampler's packed weights compute the same LSTMs; bfloat16 stays close."""
    strokes, chars, _ = _batch()
    model = _model().eval()
    with torch.no_grad():
        x = model.normalise(strokes)
        onehot = model.one_hot(chars)
        states = {k: model.initial_state(strokes.shape[0]) for k in ("plain", "f32", "bf16")}
        packs = {"plain": None, "f32": model.pack(torch.float32), "bf16": model.pack(torch.bfloat16)}
        for t in range(strokes.shape[1]):
            mixes = {}
            for k in states:
                mixes[k], states[k], _ = model.step(x[:, t], states[k], onehot, packs[k])
            torch.testing.assert_close(mixes["f32"].mu, mixes["plain"].mu, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(mixes["bf16"].mu, mixes["plain"].mu, rtol=0.05, atol=0.05)


def test_read_leaves_the_state_that_stepping_leaves():
    strokes, chars, _ = _batch()
    model = _model().eval()
    with torch.no_grad():
        x = model.normalise(strokes)
        onehot = model.one_hot(chars)
        read = model.read(x, onehot)
        prev = torch.zeros(x.shape[0], 3)
        prev[:, 2] = 1.0
        state = model.initial_state(x.shape[0])
        for t in range(x.shape[1] - 1):
            _, state, _ = model.step(prev, state, onehot)
            prev = x[:, t]
        _, state, _ = model.step(prev, state, onehot)
    for a, b in zip((read.h1, read.c1, read.kappa, read.w, *read.upper),
                    (state.h1, state.c1, state.kappa, state.w, *state.upper), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
