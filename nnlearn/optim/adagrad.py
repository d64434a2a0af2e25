"""Adagrad: a per-coordinate learning rate that shrinks with the sum of that coordinate's squared gradients.

The update, as in PyTorch's documentation (γ = lr, η = lr_decay, λ = weight_decay, ε = eps):

    state_sum_0 ← initial_accumulator_value
    g_t ← ∇f(θ_{t-1})                      (−∇f if maximize)
    γ̃ ← γ / (1 + (t − 1) η)
    g_t ← g_t + λ θ_{t-1}                   if λ ≠ 0
    state_sum_t ← state_sum_{t-1} + g_t²
    θ_t ← θ_{t-1} − γ̃ g_t / (√state_sum_t + ε)
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, check_flag, check_number

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``).

    Args:
        params: tensors to optimize, or param-group dicts.
        lr: learning rate γ.
        lr_decay: η, the learning rate after t steps is ``lr / (1 + (t - 1) * lr_decay)``.
        weight_decay: L2 penalty λ, added to the gradient as ``λ θ``.
        initial_accumulator_value: starting value of the sum of squared gradients.
        eps: ε, added to the denominator so it is never zero.
        maximize: ascend the objective instead of descending it.

    State per parameter: ``step`` (t) and ``sum`` (the running sum of squared gradients).
    Unlike PyTorch, which fills ``sum`` with the constructor's value for every group when the optimizer
    is built, the state is created at a parameter's first step from its own group's
    ``initial_accumulator_value``; with one value for all groups the two agree.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2,
                 lr_decay: float = 0, weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> None:
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_number(options, name, where)
        check_flag(options, "maximize", where)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one Adagrad step on every parameter that has a gradient. Returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            weight_decay, maximize = group["weight_decay"], group["maximize"]
            for p, g in self._params_with_grad(group):
                state = self.state[p]
                if not state:                              # first step that sees this parameter
                    state["step"] = 0
                    state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
                state["step"] += 1
                t = state["step"]
                if maximize:
                    g = -g                                 # climb: follow +∇f
                if weight_decay != 0:
                    g = g + weight_decay * p.data          # L2 penalty λ θ
                clr = lr / (1 + (t - 1) * lr_decay)        # γ̃ = γ / (1 + (t − 1) η)
                state_sum = state["sum"]
                state_sum += g * g                         # sum_t = sum_{t-1} + g_t²
                std = np.sqrt(state_sum) + eps             # √sum_t + ε: large for often-steep coordinates
                p.data -= clr * g / std                    # θ_t = θ_{t-1} − γ̃ g_t / (√sum_t + ε)
        return loss
