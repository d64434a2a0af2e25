"""The affine map behind ``nn.Linear``, and dropout."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Context, Function
from ..device import to_device
from ..random import get_rng
from ..tensor import Tensor
from ._checks import as_tensor, check_probability, require_float, require_same_dtype


class Linear(Function):
    """y = x Wᵀ + b with x: (M, in), W: (out, in), b: (out,) (leading dims are flattened into M first)."""

    @staticmethod
    def forward(ctx: Context, x, weight, bias):
        ctx.save_for_backward(x, weight)
        out = x @ weight.T
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx: Context, grad):
        x, weight = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x = grad @ weight if need_x else None  # (M, out) @ (out, in): each x_k feeds every y_j via W_jk
        grad_w = grad.T @ x if need_w else None  # (out, M) @ (M, in): sum over the batch of g_j x_k
        grad_b = grad.sum(axis=0) if need_b else None  # b is added to every row
        return grad_x, grad_w, grad_b


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:
    """``input @ weight.T + bias``, PyTorch's layout.

    Shapes: ``input: (*, in_features)``, ``weight: (out_features, in_features)``, ``bias: (out_features,)``
    -> ``(*, out_features)``. All three must share one floating dtype.
    """
    fn = "linear"
    input, weight = as_tensor(input, "input", fn), as_tensor(weight, "weight", fn)
    require_float(input, "input", fn)
    require_float(weight, "weight", fn)
    if weight.ndim != 2:
        raise ValueError(f"{fn}: weight must have shape (out_features, in_features), got shape {weight.shape}")
    out_features, in_features = weight.shape
    if input.ndim == 0 or input.shape[-1] != in_features:
        raise ValueError(f"{fn}: input must have shape (*, in_features) = (*, {in_features}) to match weight "
                         f"of shape {weight.shape}, got input of shape {input.shape}")
    require_same_dtype(input, "input", weight, "weight", fn)
    if bias is not None:
        bias = as_tensor(bias, "bias", fn)
        if bias.shape != (out_features,):
            raise ValueError(f"{fn}: bias must have shape (out_features,) = ({out_features},) to match weight "
                             f"of shape {weight.shape}, got bias of shape {bias.shape}")
        require_same_dtype(bias, "bias", weight, "weight", fn)
    # Flatten the leading dims so the Function only ever sees matrices, then restore them.
    flat = input.reshape(-1, in_features)
    out = Linear.apply(flat, weight, bias)
    return out.reshape(*input.shape[:-1], out_features)


class Dropout(Function):
    @staticmethod
    def forward(ctx: Context, x, scaled_mask):
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask

    @staticmethod
    def backward(ctx: Context, grad):
        (scaled_mask,) = ctx.saved
        return grad * scaled_mask, None  # a dropped unit passes no gradient; a kept one is scaled like its value


def dropout(input: Any, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The scaling keeps every element's expected value unchanged, so nothing needs rescaling at evaluation
    time, where (``training=False``) dropout is the identity. ``input: (*)`` -> ``(*)``. The mask is drawn
    from :func:`nnlearn.get_rng`, so ``nnlearn.manual_seed`` makes it repeatable.
    """
    fn = "dropout"
    p = check_probability(p, "p", fn)
    input = as_tensor(input, "input", fn)
    require_float(input, "input", fn)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        scaled_mask = np.zeros_like(input.data)  # everything dropped (and no 1 / 0)
    else:
        keep = get_rng().random(input.shape) >= p  # each element survives with probability 1 - p
        # The mask is drawn on the host (one seeded generator for the whole library), then joins the input.
        scaled_mask = to_device((keep / (1.0 - p)).astype(input.dtype), input.device)
    return Dropout.apply(input, scaled_mask)
