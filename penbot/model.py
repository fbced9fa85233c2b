"""The Graves (2013, §5) handwriting synthesis network, in one file.

  x_{t-1} ──► LSTM-1 ──► window (K Gaussians over the text) ──► w_t
                 │                                            │
                 ▼                                            ▼
   [x, h1, w] ► LSTM-2 ► [x, h2, w] ► LSTM-3 ► [h1 h2 h3] ► mixture density (M bivariate
   Gaussians for dx, dy + a Bernoulli for the pen lifting)

``forward`` runs a padded batch with teacher forcing (training, likelihood); ``read``
runs the same teacher-forced pass and returns the state at its end (priming with a style
sample); ``step`` advances one point with explicit state (sampling). All go through
``_attend`` and ``_mixture``, so they cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from penbot.modelconfig import ModelConfig

__all__ = ["ModelConfig", "HandwritingModel", "Mixture", "State", "Packed", "mixture_nll", "sample_mixture"]


@dataclass
class Mixture:
    """Output distribution of one or many steps (all tensors shaped ``(..., M)`` or ``(...)``)."""

    log_pi: Tensor
    mu: Tensor  # (..., M, 2)
    log_sigma: Tensor  # (..., M, 2)
    rho: Tensor
    pen_logit: Tensor


@dataclass
class State:
    """Recurrent state of a batch of lines while sampling."""

    h1: Tensor
    c1: Tensor
    kappa: Tensor  # (B, K) attention positions, in characters
    w: Tensor  # (B, A) last window vector
    upper: tuple[Tensor, Tensor, Tensor, Tensor]  # h2, c2, h3, c3 shaped (B, H)


@dataclass(frozen=True)
class Packed:
    """The three LSTMs' weights packed for sampling: ``[W_ih | W_hh]`` as one matrix and
    ``b_ih + b_hh`` as one bias per layer, so a step is one matrix product per layer, not
    two plus two bias copies.

    ``dtype`` bfloat16 halves the cost of those products at batch 32 on a CPU with
    AVX-512 BF16 (measured 556 -> 244 us per layer; batch 1 unchanged); the state, the
    gate non-linearities, the window and the mixture stay float32.
    """

    layers: tuple[tuple[Tensor, Tensor], ...]  # per LSTM: (weight (4H, in + H), bias (4H,))

    def cell(self, i: int, inp: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """One LSTM step of layer ``i`` (PyTorch's gate order i, f, g, o)."""
        w, b = self.layers[i]
        xh = torch.cat([inp, h], dim=-1)
        if w.dtype != xh.dtype:  # no cast at all in float32 (nor in the exported graph)
            gates = F.linear(xh.to(w.dtype), w).float() + b
        else:
            gates = F.linear(xh, w) + b
        ig, fg, gg, og = gates.chunk(4, dim=-1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(ig) * torch.tanh(gg)
        return torch.sigmoid(og) * torch.tanh(c), c


LOG_2PI = math.log(2 * math.pi)
SIGMA_FLOOR = -5.0  # log sigma >= -5 (0.007 std units): keeps densities finite
RHO_MAX = 0.995  # |rho| < 1 keeps 1 - rho^2 away from zero


class HandwritingModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        h, a, k, m = cfg.hidden, len(cfg.alphabet), cfg.n_window, cfg.n_mixture
        self.lstm1 = nn.LSTMCell(3 + a, h)
        self.window = nn.Linear(h, 3 * k)
        self.lstm2 = nn.LSTM(3 + a + h, h, batch_first=True)
        self.lstm3 = nn.LSTM(3 + a + h, h, batch_first=True)
        self.head = nn.Linear(3 * h, 1 + 6 * m)
        with torch.no_grad():  # start the window moving at about one character per word-step
            self.window.bias[2 * k :].fill_(math.log(1.0 / cfg.points_per_char))
            self.window.bias[: 2 * k].fill_(0.0)
        self.register_buffer("mean", torch.tensor(cfg.offset_mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(cfg.offset_std, dtype=torch.float32))

    # shared pieces --------------------------------------------------------------------
    def one_hot(self, chars: Tensor) -> Tensor:
        """(B, U) indices (0 = padding) -> (B, U, A) one-hot with zero rows for padding."""
        return F.one_hot(chars, len(self.cfg.alphabet) + 1)[..., 1:].float()

    def _attend(
        self, x: Tensor, h1: Tensor, c1: Tensor, kappa: Tensor, w: Tensor, onehot: Tensor,
        packed: Packed | None = None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """LSTM-1 step and the soft window: returns h1, c1, kappa, w, phi (B, U)."""
        if packed is None:
            h1, c1 = self.lstm1(torch.cat([x, w], dim=-1), (h1, c1))
        else:
            h1, c1 = packed.cell(0, torch.cat([x, w], dim=-1), h1, c1)
        alpha, beta, dk = self.window(h1).exp().chunk(3, dim=-1)
        kappa = kappa + dk
        u = torch.arange(onehot.shape[1], device=x.device, dtype=x.dtype)
        d = kappa.unsqueeze(-1) - u
        phi = (alpha.unsqueeze(-1) * torch.exp(-beta.unsqueeze(-1) * (d * d))).sum(1)
        w = torch.bmm(phi.unsqueeze(1), onehot).squeeze(1)
        return h1, c1, kappa, w, phi

    def _mixture(self, h: Tensor) -> Mixture:
        m = self.cfg.n_mixture
        out = self.head(h)
        pen, pi, mu, log_sigma, rho = out.split([1, m, 2 * m, 2 * m, m], dim=-1)
        return Mixture(
            log_pi=F.log_softmax(pi, dim=-1),
            mu=mu.unflatten(-1, (m, 2)),
            log_sigma=log_sigma.unflatten(-1, (m, 2)).clamp(min=SIGMA_FLOOR),
            rho=torch.tanh(rho) * RHO_MAX,
            pen_logit=pen.squeeze(-1),
        )

    def normalise(self, offsets: Tensor) -> Tensor:
        return torch.cat([(offsets[..., :2] - self.mean) / self.std, offsets[..., 2:]], dim=-1)

    # training and priming ---------------------------------------------------------------
    def _window_pass(
        self, inp: Tensor, onehot: Tensor, keep_phi: bool = False
    ) -> tuple[Tensor, Tensor, Tensor | None, tuple[Tensor, Tensor, Tensor, Tensor]]:
        """The first LSTM and the window over normalised inputs ``(B, T, 3)``: (h1s, window
        vectors, window weights phi if ``keep_phi`` (alignment; training does not need them),
        final h1, c1, kappa, w)."""
        b = inp.shape[0]
        h1 = c1 = inp.new_zeros(b, self.cfg.hidden)
        kappa = inp.new_zeros(b, self.cfg.n_window)
        w = inp.new_zeros(b, len(self.cfg.alphabet))
        hs, ws, phis = [], [], []
        for i in range(inp.shape[1]):
            h1, c1, kappa, w, phi = self._attend(inp[:, i], h1, c1, kappa, w, onehot)
            hs.append(h1)
            ws.append(w)
            if keep_phi:
                phis.append(phi)
        return torch.stack(hs, 1), torch.stack(ws, 1), torch.stack(phis, 1) if keep_phi else None, (h1, c1, kappa, w)

    def _teacher_forced(self, inp: Tensor, onehot: Tensor) -> tuple[Tensor, Tensor, Tensor, State]:
        """All three layers over normalised inputs ``(B, T, 3)``: (h1s, h2s, h3s, final state)."""
        h1s, wss, _, (h1, c1, kappa, w) = self._window_pass(inp, onehot)
        h2s, (h2, c2) = self.lstm2(torch.cat([inp, h1s, wss], dim=-1))
        h3s, (h3, c3) = self.lstm3(torch.cat([inp, h2s, wss], dim=-1))
        state = State(h1, c1, kappa, w, (h2[0], c2[0], h3[0], c3[0]))
        return h1s, h2s, h3s, state

    def _start(self, b: int, device: torch.device) -> Tensor:
        start = torch.zeros(b, 1, 3, device=device)
        start[..., 2] = 1.0  # the line begins as if a stroke had just ended
        return start

    def forward(
        self, strokes: Tensor, chars: Tensor, stroke_mask: Tensor | None = None, fed: Tensor | None = None
    ) -> tuple[Mixture, Tensor | None]:
        """Teacher-forced pass over data-unit offsets ``(B, T, 3)``; returns (mixture, nll).

        ``fed`` (normalised, like ``x``) replaces the data as the *input* sequence while the
        targets stay the data: scheduled sampling feeds the model its own predictions.
        The loss is the summed negative log-likelihood divided by the number of real points.
        """
        x = self.normalise(strokes)
        inp = torch.cat([self._start(x.shape[0], x.device), (x if fed is None else fed)[:, :-1]], dim=1)
        h1s, h2s, h3s, _ = self._teacher_forced(inp, self.one_hot(chars))
        mix = self._mixture(torch.cat([h1s, h2s, h3s], dim=-1))
        if stroke_mask is None:
            return mix, None
        nll = mixture_nll(mix, x)
        mask = stroke_mask.float()
        return mix, (nll * mask).sum() / mask.sum().clamp(min=1.0)

    def read(self, x: Tensor, onehot: Tensor) -> State:
        """Read normalised offsets ``(B, T, 3)`` (all rows as long) the way ``forward`` does and
        return the state after the last one: priming. The next ``step`` takes ``x[:, -1]``.
        """
        inp = torch.cat([self._start(x.shape[0], x.device), x[:, :-1]], dim=1)
        return self._teacher_forced(inp, onehot)[3]

    @torch.no_grad()
    def attention(self, strokes: Tensor, chars: Tensor) -> Tensor:
        """Window weights ``(B, T, U)`` of a teacher-forced pass: row ``t`` is the window that
        predicts point ``t``, so its peak is the character that point belongs to (only the
        first layer runs: the window depends on nothing above it)."""
        x = self.normalise(strokes)
        inp = torch.cat([self._start(x.shape[0], x.device), x[:, :-1]], dim=1)
        return self._window_pass(inp, self.one_hot(chars), keep_phi=True)[2]

    # sampling -------------------------------------------------------------------------
    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        z = torch.zeros(batch, self.cfg.hidden, device=device)
        return State(
            z, z.clone(), torch.zeros(batch, self.cfg.n_window, device=device),
            torch.zeros(batch, len(self.cfg.alphabet), device=device), (z.clone(), z.clone(), z.clone(), z.clone()),
        )

    def pack(self, dtype: torch.dtype = torch.float32) -> Packed:
        """The LSTM weights as ``Packed`` for ``step`` (a copy: training does not see it)."""
        def one(w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor]:
            return torch.cat([w_ih, w_hh], dim=1).detach().to(dtype).contiguous(), (b_ih + b_hh).detach().float()

        l1, l2, l3 = self.lstm1, self.lstm2, self.lstm3
        return Packed((
            one(l1.weight_ih, l1.weight_hh, l1.bias_ih, l1.bias_hh),
            one(l2.weight_ih_l0, l2.weight_hh_l0, l2.bias_ih_l0, l2.bias_hh_l0),
            one(l3.weight_ih_l0, l3.weight_hh_l0, l3.bias_ih_l0, l3.bias_hh_l0),
        ))

    def step(
        self, x: Tensor, state: State, onehot: Tensor, packed: Packed | None = None
    ) -> tuple[Mixture, State, Tensor]:
        """One point: ``x`` is the previous *normalised* offset ``(B, 3)``.

        Returns the mixture for the next point, the new state and the window ``phi``.
        ``packed`` (from ``pack``) is the fast path the sampler uses.
        """
        h1, c1, kappa, w, phi = self._attend(x, state.h1, state.c1, state.kappa, state.w, onehot, packed)
        h2, c2, h3, c3 = state.upper
        if packed is None:
            h2, c2 = _lstm_step(self.lstm2, torch.cat([x, h1, w], -1), h2, c2)
            h3, c3 = _lstm_step(self.lstm3, torch.cat([x, h2, w], -1), h3, c3)
        else:
            h2, c2 = packed.cell(1, torch.cat([x, h1, w], -1), h2, c2)
            h3, c3 = packed.cell(2, torch.cat([x, h2, w], -1), h3, c3)
        mix = self._mixture(torch.cat([h1, h2, h3], dim=-1))
        return mix, State(h1, c1, kappa, w, (h2, c2, h3, c3)), phi


def _lstm_step(lstm: nn.LSTM, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One time step of a one-layer ``nn.LSTM``, through the LSTM-cell kernel with its weights.

    Same equations as ``lstm(x[:, None], (h[None], c[None]))``, but the sequence kernel
    (oneDNN on CPU) prepares its weights on every call, which made one sampling step 2-4x
    slower; results agree to float rounding (~1e-7).
    """
    return torch.lstm_cell(x, (h, c), lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)


def sample_mixture(mix: Mixture, generator: torch.Generator | None = None) -> Tensor:
    """One normalised offset ``(..., 3)`` per position drawn from the mixture (no bias)."""
    u = torch.rand(mix.pen_logit.shape + (4,), generator=generator, device=mix.pen_logit.device)
    k = torch.searchsorted(mix.log_pi.exp().cumsum(-1).contiguous(), u[..., :1].contiguous())
    k = k.clamp(max=mix.log_pi.shape[-1] - 1)
    mu = mix.mu.gather(-2, k[..., None].expand(*k.shape, 2)).squeeze(-2)
    sigma = mix.log_sigma.gather(-2, k[..., None].expand(*k.shape, 2)).squeeze(-2).exp()
    rho = mix.rho.gather(-1, k).squeeze(-1)
    z1, z2 = torch.erfinv(2 * u[..., 1] - 1) * math.sqrt(2), torch.erfinv(2 * u[..., 2] - 1) * math.sqrt(2)
    dx = mu[..., 0] + sigma[..., 0] * z1
    dy = mu[..., 1] + sigma[..., 1] * (rho * z1 + torch.sqrt(1 - rho**2) * z2)
    pen = (u[..., 3] < torch.sigmoid(mix.pen_logit)).float()
    return torch.stack([dx, dy, pen], dim=-1)


def mixture_nll(mix: Mixture, target: Tensor) -> Tensor:
    """Per-point negative log-likelihood (nats) of normalised targets ``(..., 3)``.

    Computed in log space: log-softmax weights, log-sum-exp over components and a
    Bernoulli in logits, so no probability ever underflows to zero.
    """
    d = (target[..., None, :2] - mix.mu) / mix.log_sigma.exp()
    rho = mix.rho
    one_m = 1.0 - rho**2
    z = d[..., 0] ** 2 + d[..., 1] ** 2 - 2 * rho * d[..., 0] * d[..., 1]
    log_n = -LOG_2PI - mix.log_sigma.sum(-1) - 0.5 * torch.log(one_m) - z / (2 * one_m)
    log_xy = torch.logsumexp(mix.log_pi + log_n, dim=-1)
    log_pen = -F.binary_cross_entropy_with_logits(mix.pen_logit, target[..., 2], reduction="none")
    return -(log_xy + log_pen)
