"""Adam and AdamW: momentum on the gradient, RMSprop-style scaling, and a bias correction for both.

The update, as in PyTorch's documentation (γ = lr, β1, β2 = betas, λ = weight_decay, ε = eps):

    m_0 ← 0, v_0 ← 0, v̂_0^max ← 0
    g_t ← ∇f(θ_{t-1})                          (−∇f if maximize)
    g_t ← g_t + λ θ_{t-1}                       Adam:  L2 penalty, inside the gradient
    θ_{t-1} ← θ_{t-1} − γ λ θ_{t-1}             AdamW: decoupled weight decay, outside it
    m_t ← β1 m_{t-1} + (1 − β1) g_t
    v_t ← β2 v_{t-1} + (1 − β2) g_t²
    m̂_t ← m_t / (1 − β1^t)
    v̂_t ← v_t / (1 − β2^t)          (amsgrad: v̂_t^max ← max(v̂_{t-1}^max, v_t) and use it instead of v_t)
    θ_t ← θ_{t-1} − γ m̂_t / (√v̂_t + ε)

Why AdamW: with Adam's L2 penalty the decay term λθ is divided by √v̂ like any gradient, so weights with
large gradients are barely decayed. AdamW shrinks every weight by the same factor ``1 − γλ`` instead.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, check_betas, check_flag, check_number

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``).

    Args:
        params: tensors to optimize, or param-group dicts.
        lr: learning rate γ.
        betas: (β1, β2), the decay rates of the running averages of the gradient and its square.
        eps: ε, added to the denominator so it is never zero.
        weight_decay: λ; an L2 penalty added to the gradient (or, with ``decoupled_weight_decay=True``,
            AdamW's direct shrinking of the weights).
        amsgrad: divide by the largest second-moment estimate so far (the AMSGrad variant).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: apply weight decay as AdamW does.

    State per parameter: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v) and ``max_exp_avg_sq`` (amsgrad).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, *, maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> None:
        check_number(options, "lr", where)
        check_betas(options, where)
        check_number(options, "eps", where)
        check_number(options, "weight_decay", where)
        for name in ("amsgrad", "maximize", "decoupled_weight_decay"):
            check_flag(options, name, where)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Take one Adam(W) step on every parameter that has a gradient. Returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            for p, g in self._params_with_grad(group):
                state = self.state[p]
                if not state:                              # first step that sees this parameter
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p.data)
                    state["exp_avg_sq"] = np.zeros_like(p.data)
                    if amsgrad:
                        state["max_exp_avg_sq"] = np.zeros_like(p.data)
                state["step"] += 1
                t = state["step"]
                if maximize:
                    g = -g                                 # climb: follow +∇f
                if weight_decay != 0:
                    if decoupled:
                        p.data *= 1 - lr * weight_decay    # AdamW: θ ← θ − γλθ, untouched by the scaling below
                    else:
                        g = g + weight_decay * p.data      # Adam: L2 penalty λθ joins the gradient
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m += (1 - beta1) * (g - m)                 # m_t = β1 m_{t-1} + (1 − β1) g_t
                v *= beta2                                 # v_t = β2 v_{t-1} ...
                v += (1 - beta2) * g * g                   #       ... + (1 − β2) g_t²
                bias_correction1 = 1 - beta1 ** t          # m_t underestimates E[g] early on (m_0 = 0) ...
                bias_correction2 = 1 - beta2 ** t          # ... and v_t underestimates E[g²]
                if amsgrad:
                    v_max = state["max_exp_avg_sq"]
                    np.maximum(v_max, v, out=v_max)        # v^max_t = max(v^max_{t-1}, v_t): never shrinks
                    v = v_max
                denom = np.sqrt(v) / math.sqrt(bias_correction2) + eps   # √v̂_t + ε
                step_size = lr / bias_correction1          # γ / (1 − β1^t) turns m_t into m̂_t
                p.data -= step_size * m / denom            # θ_t = θ_{t-1} − γ m̂_t / (√v̂_t + ε)
        return loss


class AdamW(Adam):
    """AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Each step first shrinks the weights, ``θ ← θ (1 − γλ)``, then takes a plain Adam step on the loss's
    gradient. Same arguments as :class:`Adam`, but ``weight_decay`` defaults to ``1e-2``.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
