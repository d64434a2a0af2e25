"""Gradient clipping and flattening parameters, as ``torch.nn.utils`` (``clip_grad``, ``convert_parameters``).

Clipping bounds the size of an update when a few unlucky batches (or an exploding RNN) produce huge
gradients: ``clip_grad_norm_`` rescales all gradients together so their combined norm is at most
``max_norm`` (the direction of the step is kept); ``clip_grad_value_`` clamps each element.
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Any, Iterable

import numpy as np

from ...tensor import Tensor, cat


def _as_list(parameters: Tensor | Iterable[Tensor], fn: str) -> list[Tensor]:
    """Accept one tensor or an iterable of them (e.g. ``model.parameters()``, a generator)."""
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError(f"{fn}: parameters must be a Tensor or an iterable of Tensors, "
                        f"got {type(parameters).__name__}") from None
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: parameters[{i}] must be a Tensor, got {type(p).__name__}")
    return params


def _check_real(value: Any, name: str, fn: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    return float(value)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Rescale the gradients in place so that their total norm is at most ``max_norm``.

    The total norm treats all gradients as one long vector: ``(sum_i |g_i|**p)**(1/p)`` for
    ``norm_type=p``, or ``max_i |g_i|`` for ``norm_type=inf``. If it exceeds ``max_norm``, every gradient
    is multiplied by ``max_norm / (total_norm + 1e-6)`` (the 1e-6 avoids dividing by zero), so the
    update keeps its direction. Parameters without a gradient are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        max_norm: the largest total norm allowed.
        norm_type: ``p`` of the p-norm (``float('inf')`` for the largest absolute value).
        error_if_nonfinite: raise ``RuntimeError`` if the total norm is nan or inf.

    Returns:
        The total norm of the gradients *before* clipping, as a 0-d Tensor (``.item()`` gives a float), as
        PyTorch returns it; worth logging to see whether clipping is active.
    """
    fn = "clip_grad_norm_"
    params = _as_list(parameters, fn)
    max_norm = _check_real(max_norm, "max_norm", fn)
    norm_type = _check_real(norm_type, "norm_type", fn)
    if max_norm < 0:
        raise ValueError(f"{fn}: max_norm must be non-negative, got {max_norm}")
    if norm_type <= 0:
        raise ValueError(f"{fn}: norm_type must be positive (or inf), got {norm_type}")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return Tensor(np.array(0.0))
    dtype = grads[0].dtype
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)  # float(): works on a GPU too
    else:
        # the p-norm of the per-tensor p-norms is the p-norm of all elements together
        per_tensor = [float(np.linalg.norm(g.ravel().astype(np.float64), ord=norm_type)) for g in grads]
        total = float(np.linalg.norm(np.array(per_tensor), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"{fn}: the total norm of order {norm_type} of the gradients is {total}, so they "
                           "cannot be clipped; set error_if_nonfinite=False to skip this check")
    scale = min(max_norm / (total + 1e-6), 1.0)  # never scale up
    for g in grads:
        g *= g.dtype.type(scale)  # a scalar of the gradient's dtype: no upcast, and fine on any device
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    fn = "clip_grad_value_"
    params = _as_list(parameters, fn)
    clip_value = _check_real(clip_value, "clip_value", fn)
    if clip_value < 0:
        raise ValueError(f"{fn}: clip_value must be non-negative, got {clip_value}")
    for p in params:
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one vector ``(total_size,)`` (differentiable)."""
    params = _as_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: parameters is empty")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy the slices of ``vec: (total_size,)`` back into the parameters' data, in order (the inverse of
    :func:`parameters_to_vector`)."""
    fn = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{fn}: vec must be a Tensor, got {type(vec).__name__}")
    params = _as_list(parameters, fn)
    total = sum(p.size for p in params)
    if vec.shape != (total,):
        raise ValueError(f"{fn}: vec must have shape ({total},) (the parameters' total size), got {vec.shape}")
    offset = 0
    for p in params:
        p.data[...] = vec.data[offset:offset + p.size].reshape(p.shape)
        offset += p.size
