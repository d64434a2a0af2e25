"""RMSprop: divide the gradient by a running root-mean-square of recent gradients.

The update, as in PyTorch's documentation (γ = lr, α = alpha, λ = weight_decay, μ = momentum, ε = eps):

    v_0 ← 0, b_0 ← 0, g^ave_0 ← 0
    g_t ← ∇f(θ_{t-1})                        (−∇f if maximize)
    g_t ← g_t + λ θ_{t-1}                     if λ ≠ 0
    v_t ← α v_{t-1} + (1 − α) g_t²
    ṽ_t ← v_t
    g^ave_t ← α g^ave_{t-1} + (1 − α) g_t     if centered
    ṽ_t ← ṽ_t − (g^ave_t)²                    if centered
    b_t ← μ b_{t-1} + g_t / (√ṽ_t + ε)        if μ > 0;  θ_t ← θ_{t-1} − γ b_t
    θ_t ← θ_{t-1} − γ g_t / (√ṽ_t + ε)        otherwise
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, check_flag, check_number

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``).

    Args:
        params: tensors to optimize, or param-group dicts.
        lr: learning rate γ.
        alpha: α, the smoothing constant of the running average of squared gradients.
        eps: ε, added to the denominator so it is never zero.
        weight_decay: L2 penalty λ, added to the gradient as ``λ θ``.
        momentum: momentum factor μ (0 turns momentum off).
        centered: divide by an estimate of the gradient's *variance* (subtract the squared running mean).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (when momentum > 0) and
    ``grad_avg`` (when centered).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> None:
        check_number(options, "lr", where)
        check_number(options, "alpha", where, high=1.0)
        for name in ("eps", "weight_decay", "momentum"):
            check_number(options, name, where)
        check_flag(options, "centered", where)
        check_flag(options, "maximize", where)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one RMSprop step on every parameter that has a gradient. Returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            centered, maximize = group["centered"], group["maximize"]
            for p, g in self._params_with_grad(group):
                state = self.state[p]
                if not state:                              # first step that sees this parameter
                    state["step"] = 0
                    state["square_avg"] = np.zeros_like(p.data)
                    if momentum > 0:
                        state["momentum_buffer"] = np.zeros_like(p.data)
                    if centered:
                        state["grad_avg"] = np.zeros_like(p.data)
                state["step"] += 1
                if maximize:
                    g = -g                                 # climb: follow +∇f
                if weight_decay != 0:
                    g = g + weight_decay * p.data          # L2 penalty λ θ
                square_avg = state["square_avg"]
                square_avg *= alpha                        # v_t = α v_{t-1} ...
                square_avg += (1 - alpha) * g * g          #       ... + (1 − α) g_t²
                if centered:
                    grad_avg = state["grad_avg"]
                    grad_avg += (1 - alpha) * (g - grad_avg)  # g^ave_t = α g^ave_{t-1} + (1 − α) g_t
                    avg = np.sqrt(square_avg - grad_avg * grad_avg)  # √(E[g²] − E[g]²): a standard deviation
                else:
                    avg = np.sqrt(square_avg)              # √v_t: the root-mean-square gradient
                avg += eps                                 # keep the denominator away from zero
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf *= momentum                        # b_t = μ b_{t-1} ...
                    buf += g / avg                         #       ... + g_t / (√ṽ_t + ε)
                    p.data -= lr * buf                     # θ_t = θ_{t-1} − γ b_t
                else:
                    p.data -= lr * g / avg                 # θ_t = θ_{t-1} − γ g_t / (√ṽ_t + ε)
        return loss
