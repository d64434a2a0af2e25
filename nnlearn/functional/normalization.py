"""Batch and layer normalisation, ``torch.nn.functional.batch_norm`` / ``layer_norm``, as fused Functions.

Both standardise ``x`` over some axes and then scale and shift it::

    x_hat = (x - mean) / sqrt(var + eps)        y = weight * x_hat + bias

Batch norm takes ``mean`` and ``var`` per channel over the batch (and the spatial positions); layer norm takes
them per sample over its last dimensions. Building this from elementary ops would record about ten nodes; as
one Function the backward pass is the compact formula below, which is also faster and more accurate.

The backward formula. When ``mean`` and ``var`` are computed from ``x`` itself over ``m`` elements, every
``x_i`` moves them too, and the chain rule through both collapses to::

    dx = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / sqrt(var + eps),    dx_hat = dy * weight

(the two subtracted terms are the gradient paths through the mean and through the variance). When they are
constants, as batch norm's running statistics at evaluation time, ``dx`` is just ``dx_hat / sqrt(var + eps)``.
"""
from __future__ import annotations

from numbers import Integral
from typing import Any

from ..autograd import Context, Function
from ..device import device_of
from ..tensor import Tensor
from ._checks import as_tensor, check_number, require_float, require_same_dtype


def _standardize_backward(dx_hat, x_hat, inv_std, axes):
    """``dx`` for ``x_hat = (x - mean(x)) * inv_std`` with mean and variance taken over ``axes`` of ``x``."""
    return inv_std * (dx_hat - dx_hat.mean(axis=axes, keepdims=True)
                      - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True))


class BatchNorm(Function):
    """``y = weight * (x - mean) / sqrt(var + eps) + bias`` per channel, ``x: (N, C, *)``.

    ``mean`` and ``var`` (``(C,)``) come in as arrays: the batch statistics in training (then the gradient
    flows through them) or the running statistics in evaluation (then they are constants).
    """

    @staticmethod
    def forward(ctx: Context, x, weight, bias, mean, var, eps, batch_stats):
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # broadcast a (C,) vector along the channel axis
        axes = (0, *range(2, x.ndim))                   # every axis but the channels
        inv_std = ((var + eps) ** -0.5).reshape(shape)
        x_hat = (x - mean.reshape(shape)) * inv_std
        out = x_hat if weight is None else x_hat * weight.reshape(shape)
        if bias is not None:
            out = out + bias.reshape(shape)
        ctx.save_for_backward(x_hat, inv_std, weight, shape, axes, batch_stats)
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        x_hat, inv_std, weight, shape, axes, batch_stats = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        if need_x:
            dx_hat = grad if weight is None else grad * weight.reshape(shape)
            dx = _standardize_backward(dx_hat, x_hat, inv_std, axes) if batch_stats else dx_hat * inv_std
        if need_w:
            dw = (grad * x_hat).sum(axis=axes)
        if need_b:
            db = grad.sum(axis=axes)
        return dx, dw, db, None, None, None, None


class LayerNorm(Function):
    """``y = weight * (x - mean) / sqrt(var + eps) + bias``, statistics over the last ``ndim`` axes of ``x``."""

    @staticmethod
    def forward(ctx: Context, x, weight, bias, ndim, eps):
        axes = tuple(range(x.ndim - ndim, x.ndim))  # the normalised axes; weight and bias have their shape
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)      # biased (divide by m), as in PyTorch
        inv_std = (var + eps) ** -0.5
        x_hat = (x - mean) * inv_std
        out = x_hat if weight is None else x_hat * weight
        if bias is not None:
            out = out + bias
        ctx.save_for_backward(x_hat, inv_std, weight, axes)
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        x_hat, inv_std, weight, axes = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        leading = tuple(range(grad.ndim - len(axes)))  # weight and bias are shared by every leading position
        dx = dw = db = None
        if need_x:
            dx = _standardize_backward(grad if weight is None else grad * weight, x_hat, inv_std, axes)
        if need_w:
            dw = (grad * x_hat).sum(axis=leading)
        if need_b:
            db = grad.sum(axis=leading)
        return dx, dw, db, None, None


def batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation, as ``torch.nn.functional.batch_norm``.

    Args:
        input: ``(N, C)`` or ``(N, C, *)`` (e.g. ``(N, C, H, W)``); statistics are per channel ``C``.
        running_mean, running_var: ``(C,)`` Tensors or None. In training they are updated in place,
            ``running = (1 - momentum) * running + momentum * batch_statistic`` (the variance unbiased, divided
            by ``m - 1``); in evaluation (``training=False``) they are what the input is normalised with.
        weight, bias: ``(C,)`` scale and shift, or None.
        training: normalise with the batch's own statistics (biased variance) instead of the running ones.
        momentum: weight of the new batch in the running averages.
        eps: added to the variance before the square root.

    Returns:
        A tensor of ``input``'s shape.
    """
    fn = "batch_norm"
    input = as_tensor(input, "input", fn)
    require_float(input, "input", fn)
    if input.ndim < 2:
        raise ValueError(f"{fn}: input must have shape (N, C) or (N, C, *) with channels on dim 1, "
                         f"got shape {input.shape}")
    channels = input.shape[1]
    running_mean = _per_channel(running_mean, "running_mean", input, fn)
    running_var = _per_channel(running_var, "running_var", input, fn)
    weight = _per_channel(weight, "weight", input, fn)
    bias = _per_channel(bias, "bias", input, fn)
    momentum = check_number(momentum, "momentum", fn)
    eps = _check_eps(eps, fn)
    axes = (0, *range(2, input.ndim))
    count = input.size // channels  # values per channel that one statistic summarises

    if training:
        if count <= 1:
            raise ValueError(f"{fn}: expected more than 1 value per channel when training, got input of shape "
                             f"{input.shape} (a batch of one vector has no variance; use a larger batch)")
        x = input.data
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        # The running averages estimate the population, hence the unbiased variance (divide by m - 1).
        if running_mean is not None:
            running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * mean
        if running_var is not None:
            running_var.data[...] = (1 - momentum) * running_var.data + momentum * var * (count / (count - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{fn}: running_mean and running_var are needed when training=False (they are "
                             "what the input is normalised with); pass them, or use training=True")
        mean, var = running_mean.data, running_var.data
    return BatchNorm.apply(input, weight, bias, mean, var, eps, training)


def layer_norm(input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """Layer normalisation, as ``torch.nn.functional.layer_norm``: standardise each sample over its last dims.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: an int or a tuple of ints, the trailing shape the statistics are taken over.
        weight, bias: ``normalized_shape``-shaped scale and shift, or None.
        eps: added to the variance before the square root.

    Returns:
        A tensor of ``input``'s shape.
    """
    fn = "layer_norm"
    input = as_tensor(input, "input", fn)
    require_float(input, "input", fn)
    shape = normalized_shape_tuple(normalized_shape, fn)
    if input.ndim < len(shape) or input.shape[input.ndim - len(shape):] != shape:
        raise ValueError(f"{fn}: input must have shape (*, {', '.join(map(str, shape))}) to match "
                         f"normalized_shape={shape}, got input of shape {input.shape}")
    weight = _affine(weight, "weight", shape, input, fn)
    bias = _affine(bias, "bias", shape, input, fn)
    return LayerNorm.apply(input, weight, bias, len(shape), _check_eps(eps, fn))


def normalized_shape_tuple(normalized_shape: Any, fn: str) -> tuple[int, ...]:
    """``normalized_shape`` as a tuple of positive ints (``5`` -> ``(5,)``), as ``nn.LayerNorm`` stores it."""
    values = (normalized_shape,) if isinstance(normalized_shape, Integral) else normalized_shape
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if (not values or any(isinstance(v, bool) or not isinstance(v, Integral) for v in values)):
        raise TypeError(f"{fn}: normalized_shape must be an int or a non-empty tuple of ints, "
                        f"got {normalized_shape!r}")
    if min(values) < 1:
        raise ValueError(f"{fn}: normalized_shape must hold positive sizes, got {normalized_shape!r}")
    return tuple(int(v) for v in values)


def _per_channel(t: Any, name: str, input: Tensor, fn: str) -> Tensor | None:
    """An optional ``(C,)`` tensor matching ``input: (N, C, *)`` in size and dtype."""
    if t is None:
        return None
    t = as_tensor(t, name, fn)
    channels = input.shape[1]
    if t.shape != (channels,):
        raise ValueError(f"{fn}: {name} must have shape (C,) = ({channels},) for input of shape {input.shape} "
                         f"(channels on dim 1), got {name} of shape {t.shape}")
    require_same_dtype(t, name, input, "input", fn)
    if device_of(t.data) != device_of(input.data):  # the running statistics reach the Function as raw arrays
        raise ValueError(f"{fn}: {name} must be on the input's device, got {name} on {device_of(t.data)} and "
                         f"input on {device_of(input.data)}; move the module with .to(...)")
    return t


def _affine(t: Any, name: str, shape: tuple[int, ...], input: Tensor, fn: str) -> Tensor | None:
    """An optional ``normalized_shape``-shaped tensor matching ``input`` in dtype."""
    if t is None:
        return None
    t = as_tensor(t, name, fn)
    if t.shape != shape:
        raise ValueError(f"{fn}: {name} must have normalized_shape {shape}, got {name} of shape {t.shape}")
    require_same_dtype(t, name, input, "input", fn)
    return t


def _check_eps(eps: Any, fn: str) -> float:
    eps = check_number(eps, "eps", fn)
    if not eps >= 0:
        raise ValueError(f"{fn}: eps must be >= 0, got {eps}")
    return eps
