"""Input validation shared by the functional ops: every public function checks its arguments here first.

A learner's most common bugs are a wrong shape, a wrong dtype or a label out of range. NumPy would either
broadcast silently (``(N,)`` against ``(N, 1)`` makes an ``(N, N)`` loss) or fail deep inside an op with a
message about some internal array. These helpers fail at the boundary instead, with a message that names the
function, the argument, what was expected and what was received.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def as_tensor(x: Any, name: str, fn: str) -> Tensor:
    """``x`` as a Tensor: Tensors pass through, numbers / lists / arrays are wrapped (without grad)."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {name} must be a Tensor or an array-like of numbers, "
                        f"got {type(x).__name__}") from None


def require_float(t: Tensor, name: str, fn: str) -> None:
    """Differentiable ops need floating-point data (integers have no gradient)."""
    if t.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must have a floating-point dtype (float32 or float64), got {t.dtype}; "
                        f"convert it with .float() or .double()")


def require_same_dtype(t: Tensor, name: str, like: Tensor, like_name: str, fn: str) -> None:
    """Like PyTorch, refuse to mix float32 and float64 in one product (the result's dtype would be a surprise)."""
    if t.dtype != like.dtype:
        raise TypeError(f"{fn}: {name} and {like_name} must have the same dtype, got {name} {t.dtype} and "
                        f"{like_name} {like.dtype}; convert one with .float() or .double()")


def require_class_indices(t: Tensor, name: str, fn: str) -> None:
    """Class labels must be integers: a float label usually means one-hot or probabilities were passed."""
    if t.dtype.kind not in "iu" and t.size > 0:  # an empty list arrives as float: no label to be wrong
        raise TypeError(f"{fn}: {name} must hold integer class indices (e.g. int64), got dtype {t.dtype}; "
                        f"pass labels such as [2, 0, 1], not one-hot vectors or probabilities "
                        f"(convert with {name}.astype('int64') if the values are whole numbers)")


def check_same_shape(input: Tensor, target: Tensor, fn: str) -> None:
    """Elementwise losses compare input and target element by element: their shapes must be equal.

    PyTorch warns and broadcasts here; we refuse, because ``(N,)`` against ``(N, 1)`` silently broadcasts to an
    ``(N, N)`` loss, the bug learners hit most.
    """
    if input.shape != target.shape:
        raise ValueError(f"{fn}: input and target must have the same shape, got input {input.shape} and target "
                         f"{target.shape} (reshape one of them; we do not broadcast, because a silent "
                         f"broadcast such as (N,) against (N, 1) computes the wrong loss)")


def check_broadcastable_to(t: Tensor, shape: tuple[int, ...], name: str, fn: str) -> None:
    """``t`` must broadcast to ``shape`` without changing it (e.g. a per-class weight ``(C,)`` for ``(N, C)``)."""
    try:
        result = np.broadcast_shapes(t.shape, shape)
    except ValueError:
        result = None
    if result != tuple(shape):
        raise ValueError(f"{fn}: {name} of shape {t.shape} does not broadcast to the input's shape {tuple(shape)}")


def check_not_empty(t: Tensor, name: str, fn: str) -> None:
    """A loss over zero examples is undefined (PyTorch returns nan for the mean; we say why)."""
    if t.size == 0:
        raise ValueError(f"{fn}: {name} is empty (shape {t.shape}); a loss needs at least one element")


def check_reduction(reduction: Any, fn: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {', '.join(repr(r) for r in REDUCTIONS)}, "
                         f"got {reduction!r}")


def check_number(value: Any, name: str, fn: str) -> float:
    """A real scalar hyper-parameter (a slope, a margin); returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    return float(value)


def check_probability(value: Any, name: str, fn: str) -> float:
    """A probability in [0, 1] (dropout's ``p``, ``label_smoothing``); returns it as a float."""
    value = check_number(value, name, fn)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{fn}: {name} must be a probability in [0, 1], got {value}")
    return value


def check_dim(dim: Any, ndim: int, fn: str) -> int:
    """A dimension index in ``[-ndim, ndim)``; returns it as a non-negative int."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{fn}: dim must be an int, got {type(dim).__name__}")
    if ndim == 0:
        raise ValueError(f"{fn}: input must have at least one dimension, got a 0-d tensor")
    if not -ndim <= dim < ndim:
        raise ValueError(f"{fn}: dim must be in [{-ndim}, {ndim - 1}] for a {ndim}-d input, got {dim}")
    return int(dim) % ndim


def check_class_range(target: Tensor, num_classes: int, fn: str, ignore_index: int | None = None) -> None:
    """Every label must be in ``[0, num_classes)`` (or equal ``ignore_index``); name the first bad one."""
    labels = target.data
    bad = (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        bad &= labels != ignore_index
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        value = int(labels[position])
        also = f" (or ignore_index={ignore_index})" if ignore_index is not None else ""
        raise ValueError(f"{fn}: target values must be class indices in [0, {num_classes - 1}]{also} for an "
                         f"input with {num_classes} classes, got {value} at position {position}")


def check_class_target_shape(input: Tensor, target: Tensor, fn: str) -> None:
    """Class-index targets: input ``(N, C, d1, ...)`` needs target ``(N, d1, ...)``; input ``(C,)`` a 0-d target."""
    if input.ndim == 0:
        raise ValueError(f"{fn}: input must have shape (N, C), (N, C, d1, ...) or (C,), got a 0-d tensor")
    expected = () if input.ndim == 1 else (input.shape[0], *input.shape[2:])
    if target.shape != expected:
        layout = "(C,)" if input.ndim == 1 else "(N, C)" if input.ndim == 2 else "(N, C, d1, ...)"
        wanted = "a 0-d target" if input.ndim == 1 else f"target of shape {expected}"
        raise ValueError(f"{fn}: input of shape {input.shape} (read as {layout}: classes along dim "
                         f"{0 if input.ndim == 1 else 1}) needs {wanted}, got target of shape {target.shape}")


# ------------------------------------------------------------------ the kernel-backed ops (conv2d, pooling)
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def require_kernel_dtype(t: Tensor, name: str, fn: str) -> None:
    """The compiled kernels exist for float32 and float64 only (not integers, complex or float16)."""
    if t.dtype not in KERNEL_DTYPES:
        raise TypeError(f"{fn}: {name} must have dtype float32 or float64, got {t.dtype}; "
                        f"convert it with .float() or .double()")


def check_4d(t: Tensor, name: str, layout: str, fn: str) -> None:
    """An image batch ``(N, C, H, W)`` or a filter bank ``(C_out, C_in, kH, kW)``: exactly 4 dims, none empty."""
    if t.ndim != 4:
        hint = ""
        if name == "input" and t.ndim == 3:
            hint = " (a single image? add the batch dimension with input.unsqueeze(0))"
        raise ValueError(f"{fn}: {name} must be 4-D {layout}, got shape {t.shape}{hint}")
    if 0 in t.shape:
        raise ValueError(f"{fn}: {name} must not be empty: expected {layout} with every size >= 1, "
                         f"got shape {t.shape}")


def check_pair(value: Any, name: str, fn: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (one per spatial axis, height then width), each >= ``minimum``.

    Returns the ``(int, int)`` pair the kernels expect: ``3`` -> ``(3, 3)``.
    """
    def is_int(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    if is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints (height, width), got {value!r}")
    if min(pair) < minimum:
        what = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{fn}: {name} must be {what}, got {value!r}")
    return pair


def check_window_fits(input_shape: tuple[int, ...], kernel_size: tuple[int, int], padding: tuple[int, int],
                      fn: str, detail: str) -> None:
    """A window of ``kernel_size`` must fit into the zero-padded ``(H + 2 ph, W + 2 pw)`` image at least once.

    ``detail`` names the arguments involved (e.g. both shapes), so the message says where the sizes came from.
    """
    padded = (input_shape[2] + 2 * padding[0], input_shape[3] + 2 * padding[1])
    if kernel_size[0] > padded[0] or kernel_size[1] > padded[1]:
        raise ValueError(f"{fn}: kernel size {kernel_size} is larger than the padded input {padded} "
                         f"(height, width) — {detail}; use a smaller kernel, more padding or a larger input")


def kernels_for(family: str, x: Any) -> Any:
    """The kernel module for ``family`` that fits the array ``x``.

    Arrays on the GPU (see :mod:`nnlearn.device`) always use the CUDA kernels, which work on them in place;
    host arrays use the backend chosen with :func:`nnlearn.set_backend`.
    """
    from .. import backend  # looked up at call time, so tests can intercept backend.kernels
    from ..device import device_of

    return backend.kernels(family, "cuda" if device_of(x) == "cuda" else None)


def contiguous(array: Any) -> Any:
    """``array`` in C order (the kernels index raw memory), copied only if it is not already."""
    if isinstance(array, np.ndarray):
        return np.ascontiguousarray(array)
    return array if array.flags.c_contiguous else array.copy()  # a GPU array (CuPy copies in C order)
