"""Weight initialisation, with ``torch.nn.init``'s names and formulas.

Every function fills ``tensor.data`` in place (keeping its dtype and identity), draws from the library's
generator :func:`nnlearn.random.get_rng` (so ``nnlearn.manual_seed`` makes it repeatable), and returns the
tensor, so ``init.zeros_(layer.bias)`` works as a statement.

Why the scales: a layer ``y = W x`` with ``fan_in`` inputs of variance 1 and weights of variance ``s**2``
gives outputs of variance ``fan_in * s**2``. Keeping signals from growing or shrinking layer after layer needs
``s = gain / sqrt(fan)``: Xavier/Glorot averages the forward and backward fans, ``2 / (fan_in + fan_out)``;
Kaiming/He uses one fan and a gain that makes up for what the nonlinearity removes (``sqrt(2)`` for ReLU,
which zeroes half its inputs). A uniform distribution on ``[-bound, bound]`` has standard deviation
``bound / sqrt(3)``, hence the ``sqrt(3)`` in the uniform versions.
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np

from ..random import get_rng
from ..tensor import Tensor

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")
_NONLINEARITIES = (*_LINEAR_LIKE, "tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (what it does to the variance of its input, inverted).

    ============================  ==============================
    nonlinearity                  gain
    ============================  ==============================
    linear, conv*, sigmoid        1
    tanh                          5 / 3
    relu                          sqrt(2)
    leaky_relu                    sqrt(2 / (1 + negative_slope**2)), ``param`` = negative_slope (0.01)
    selu                          3 / 4
    ============================  ==============================
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"param (the negative slope of leaky_relu) must be a number, got {param!r}")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"nonlinearity must be one of {', '.join(_NONLINEARITIES)}; got {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``, as PyTorch computes them.

    A Linear weight ``(out, in)`` has ``fan_in = in`` and ``fan_out = out``; a convolution weight
    ``(out, in, kh, kw)`` has ``fan_in = in * kh * kw`` and ``fan_out = out * kh * kw`` (each output sums over
    ``in * kh * kw`` inputs).
    """
    _check_tensor(tensor, "tensor")
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions (out, in, *kernel), "
                         f"got shape {tensor.shape}")
    receptive_field = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out  # PyTorch's (private) name


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check_tensor(tensor: Any, name: str = "tensor") -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name} must be an nnlearn Tensor or Parameter, got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"{name} must have a floating-point dtype to be initialised, got {tensor.dtype}")


def _fill(tensor: Tensor, values: np.ndarray | float) -> Tensor:
    # Write into the existing array: the tensor keeps its dtype, and anything holding it sees the new values.
    tensor.data[...] = values
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples from the uniform distribution U(a, b)."""
    _check_tensor(tensor)
    if not a <= b:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    return _fill(tensor, get_rng().uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples from the normal distribution N(mean, std**2)."""
    _check_tensor(tensor)
    if not std >= 0:
        raise ValueError(f"std must be non-negative, got {std}")
    return _fill(tensor, get_rng().normal(mean, std, size=tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with the value ``val``."""
    _check_tensor(tensor)
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros (the usual start for biases)."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones (the usual start for normalisation scales)."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): U(-bound, bound) with ``bound = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if tensor.size == 0:
        return tensor
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _fill(tensor, get_rng().uniform(-bound, bound, size=tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot & Bengio (2010): N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if tensor.size == 0:
        return tensor
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, get_rng().normal(0.0, std, size=tensor.shape))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al. (2015): U(-bound, bound) with ``bound = gain * sqrt(3 / fan)``.

    Args:
        a: the negative slope of the leaky ReLU that follows (only used with ``nonlinearity='leaky_relu'``;
            ``a=0`` gives ReLU's gain sqrt(2)).
        mode: ``'fan_in'`` keeps the variance of the forward signal, ``'fan_out'`` that of the gradients.
        nonlinearity: the activation after this layer, for :func:`calculate_gain`.
    """
    fan = _calculate_correct_fan(tensor, mode)
    if tensor.size == 0:
        return tensor  # nothing to fill, and a fan of 0 would divide by zero
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return _fill(tensor, get_rng().uniform(-bound, bound, size=tensor.shape))


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al. (2015): N(0, std**2) with ``std = gain / sqrt(fan)``; arguments as :func:`kaiming_uniform_`."""
    fan = _calculate_correct_fan(tensor, mode)
    if tensor.size == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, get_rng().normal(0.0, std, size=tensor.shape))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Saxe et al. (2013): a (semi-)orthogonal matrix times ``gain``, as for recurrent weights.

    A tensor with more than two dimensions is treated as a matrix of shape ``(shape[0], prod(shape[1:]))``.
    The matrix is the Q of the QR decomposition of a Gaussian matrix, with signs fixed so that it is
    uniformly distributed over orthogonal matrices.
    """
    _check_tensor(tensor)
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs a tensor with at least 2 dimensions, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = get_rng().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # without this the distribution of Q depends on the QR algorithm
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))
