"""Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay.

The update, as in PyTorch's documentation (γ = lr, λ = weight_decay, μ = momentum, τ = dampening):

    g_t ← ∇f(θ_{t-1})                     (−∇f if maximize)
    g_t ← g_t + λ θ_{t-1}                  if λ ≠ 0
    b_t ← g_t                              if μ ≠ 0 and t = 1
    b_t ← μ b_{t-1} + (1 − τ) g_t          if μ ≠ 0 and t > 1
    g_t ← g_t + μ b_t  (nesterov)  or  b_t
    θ_t ← θ_{t-1} − γ g_t
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ..tensor import Tensor
from .optimizer import Optimizer, check_flag, check_number

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (``torch.optim.SGD``).

    Args:
        params: tensors to optimize, or param-group dicts.
        lr: learning rate γ.
        momentum: momentum factor μ (0 turns momentum off).
        dampening: τ, scales down the new gradient's share of the momentum buffer.
        weight_decay: L2 penalty λ, added to the gradient as ``λ θ``.
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``momentum_buffer`` (when momentum is on).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 momentum: float = 0, dampening: float = 0, weight_decay: float = 0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> None:
        check_number(options, "lr", where)
        check_number(options, "momentum", where)
        check_number(options, "dampening", where, high=1.0)
        check_number(options, "weight_decay", where)
        check_flag(options, "nesterov", where)
        check_flag(options, "maximize", where)
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(f"{where}: nesterov=True requires momentum > 0 and dampening == 0, got "
                             f"momentum={options['momentum']!r}, dampening={options['dampening']!r}")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one SGD step on every parameter that has a gradient. Returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            for p, g in self._params_with_grad(group):
                if maximize:
                    g = -g                                 # climb: follow +∇f
                if weight_decay != 0:
                    g = g + weight_decay * p.data          # ∇(λ/2 ‖θ‖²) = λ θ
                if momentum != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buf = state["momentum_buffer"] = g.copy()  # b_1 = g_1: the first buffer is the gradient
                    else:
                        buf = state["momentum_buffer"]
                        buf *= momentum                    # b_t = μ b_{t-1} ...
                        buf += (1 - dampening) * g         #       ... + (1 − τ) g_t
                    if nesterov:
                        g = g + momentum * buf             # look ahead: step along g_t + μ b_t
                    else:
                        g = buf                            # heavy ball: step along the buffer
                p.data -= lr * g                           # θ_t = θ_{t-1} − γ g_t  (in place)
        return loss
