"""Activation functions: each is a forward value and a few lines of chain rule.

Every op works elementwise on a tensor of any shape ``(*)`` and returns the same shape and dtype, except
``softmax`` / ``log_softmax``, which normalise along one dimension ``dim``. The NumPy helpers at the bottom
(``stable_sigmoid``, ``softplus_array``, ``erf``) are shared with the losses.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Context, Function
from ..device import asarray_like
from ..tensor import Tensor
from ._checks import as_tensor, check_dim, check_number, require_float


def _float_input(input: Any, fn: str) -> Tensor:
    input = as_tensor(input, "input", fn)
    require_float(input, "input", fn)
    return input


# ---------------------------------------------------------------------------------------------- ReLU family
class ReLU(Function):
    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x > 0)
        return np.maximum(x, 0).astype(x.dtype, copy=False)  # np.maximum lets NaN through, as PyTorch does

    @staticmethod
    def backward(ctx: Context, grad):
        (positive,) = ctx.saved
        return grad * positive  # the slope is 1 where x > 0 and 0 elsewhere (PyTorch also uses 0 at x = 0)


class LeakyReLU(Function):
    @staticmethod
    def forward(ctx: Context, x, negative_slope):
        ctx.save_for_backward(x > 0, negative_slope)
        return np.where(x > 0, x, negative_slope * x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad):
        positive, negative_slope = ctx.saved
        return grad * np.where(positive, 1.0, negative_slope).astype(grad.dtype, copy=False), None


class ELU(Function):
    @staticmethod
    def forward(ctx: Context, x, alpha):
        # expm1 of min(x, 0): accurate near 0, and never overflows for large positive x
        negative_part = alpha * np.expm1(np.minimum(x, 0))
        out = np.where(x > 0, x, negative_part).astype(x.dtype, copy=False)
        ctx.save_for_backward(x > 0, negative_part, alpha)
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        positive, negative_part, alpha = ctx.saved
        # d/dx alpha (e^x - 1) = alpha e^x = (alpha (e^x - 1)) + alpha
        return grad * np.where(positive, 1.0, negative_part + alpha).astype(grad.dtype, copy=False), None


# ---------------------------------------------------------------------------------------------- GELU
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_KAPPA = 0.044715


class GELU(Function):
    """GELU(x) = x Φ(x), Φ the standard normal CDF; ``approximate="tanh"`` uses Hendrycks & Gimpel's tanh fit."""

    @staticmethod
    def forward(ctx: Context, x, approximate):
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + _GELU_KAPPA * x ** 3)
            t = np.tanh(inner)
            ctx.save_for_backward(x, t, approximate)
            return 0.5 * x * (1.0 + t)
        cdf = (0.5 * (1.0 + erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, cdf, approximate)
        return x * cdf

    @staticmethod
    def backward(ctx: Context, grad):
        x, saved, approximate = ctx.saved
        if approximate == "tanh":
            t = saved  # product rule on 0.5 x (1 + tanh(inner)), with tanh' = 1 - tanh^2
            d_inner = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_KAPPA * x * x)
            return grad * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner), None
        cdf = saved  # d/dx x Φ(x) = Φ(x) + x φ(x), φ the standard normal density
        pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
        return grad * (cdf + x * pdf), None


# ---------------------------------------------------------------------------------------------- squashing
class Sigmoid(Function):
    @staticmethod
    def forward(ctx: Context, x):
        out = stable_sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        (out,) = ctx.saved
        return grad * out * (1.0 - out)  # σ' = σ (1 - σ)


class Tanh(Function):
    @staticmethod
    def forward(ctx: Context, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        (out,) = ctx.saved
        return grad * (1.0 - out * out)  # tanh' = 1 - tanh^2


# ---------------------------------------------------------------------------------------------- softmax
class Softmax(Function):
    @staticmethod
    def forward(ctx: Context, x, dim):
        # Subtracting the max changes nothing mathematically (it cancels in the ratio) but keeps every
        # exponent <= 0, so exp never overflows even for logits of 1e4. (`initial` lets an empty dim through.)
        shifted = x - np.max(x, axis=dim, keepdims=True, initial=-np.inf)
        e = np.exp(shifted)
        out = e / np.sum(e, axis=dim, keepdims=True)
        ctx.save_for_backward(out, dim)
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        out, dim = ctx.saved
        # Jacobian-vector product of s = softmax(x): dx_i = s_i (g_i - sum_j g_j s_j)
        return out * (grad - np.sum(grad * out, axis=dim, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx: Context, x, dim):
        # log softmax(x)_i = x_i - logsumexp(x), with logsumexp(x) = m + log sum exp(x - m), m = max(x)
        shifted = x - np.max(x, axis=dim, keepdims=True, initial=-np.inf)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        ctx.save_for_backward(out, dim)
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        out, dim = ctx.saved
        # d(x_i - logsumexp x)/dx_j = δ_ij - softmax_j, so dx = g - softmax * sum(g)
        return grad - np.exp(out) * np.sum(grad, axis=dim, keepdims=True)


# ---------------------------------------------------------------------------------------------- public API
def relu(input: Any) -> Tensor:
    """max(0, x), elementwise. ``input: (*)`` -> ``(*)``."""
    return ReLU.apply(_float_input(input, "relu"))


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise. ``input: (*)`` -> ``(*)``."""
    slope = check_number(negative_slope, "negative_slope", "leaky_relu")
    return LeakyReLU.apply(_float_input(input, "leaky_relu"), slope)


def elu(input: Any, alpha: float = 1.0) -> Tensor:
    """x for x > 0, ``alpha * (exp(x) - 1)`` otherwise. ``input: (*)`` -> ``(*)``."""
    alpha = check_number(alpha, "alpha", "elu")
    return ELU.apply(_float_input(input, "elu"), alpha)


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """x Φ(x) with Φ the standard normal CDF (``approximate="none"``, the exact erf form) or its tanh
    approximation 0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³))) (``approximate="tanh"``).
    ``input: (*)`` -> ``(*)``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float_input(input, "gelu"), approximate)


def sigmoid(input: Any) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow for any x. ``input: (*)`` -> ``(*)``."""
    return Sigmoid.apply(_float_input(input, "sigmoid"))


def tanh(input: Any) -> Tensor:
    """Hyperbolic tangent. ``input: (*)`` -> ``(*)``."""
    return Tanh.apply(_float_input(input, "tanh"))


def softmax(input: Any, dim: int = -1) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim``; stable for large logits. ``input: (*)`` -> ``(*)``."""
    input = _float_input(input, "softmax")
    return Softmax.apply(input, dim=check_dim(dim, input.ndim, "softmax"))


def log_softmax(input: Any, dim: int = -1) -> Tensor:
    """x_i - log sum_j exp(x_j) along ``dim`` (the log-sum-exp trick); more accurate than
    ``softmax(x).log()``, which underflows to log(0) = -inf. ``input: (*)`` -> ``(*)``."""
    input = _float_input(input, "log_softmax")
    return LogSoftmax.apply(input, dim=check_dim(dim, input.ndim, "log_softmax"))


# ---------------------------------------------------------------------------------------------- NumPy helpers
def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) without overflow: with e = exp(-|x|) <= 1, σ(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softplus_array(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


# The error function, vectorised. NumPy has none (math.erf is scalar-only: ~170 ns per element through
# np.frompyfunc, about 2.5x slower than this) and SciPy is not a dependency of nnlearn. These are the
# rational approximations of the Cephes library (S. L. Moshier, public domain; SciPy uses the same ones):
#   |x| <= 1:      erf(x)  = x T(x²) / U(x²)
#   1 < |x| < 8:   erf(x)  = 1 - erfc(x),  erfc(x) = exp(-x²) P(x) / Q(x)
#   |x| >= 8:      erf(x)  = 1 in float64 (erfc(8) ≈ 1e-29 is far below the spacing of floats near 1)
# accurate to a few units in the last place of a float64 (tests compare them with math.erf).
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
           1.65666309194161350182e3, 5.57535340817727675546e2)


def _horner(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """c0 x^n + c1 x^(n-1) + ... + cn, evaluated with n multiply-adds."""
    out = coefficients[0] * x + coefficients[1]
    for c in coefficients[2:]:
        out = out * x + c
    return out


def erf(x: Any) -> np.ndarray:
    """The error function erf(x) = 2/sqrt(π) ∫_0^x exp(-t²) dt, elementwise, in float64."""
    x = asarray_like(x, x, dtype=np.float64)  # on the host, or on the GPU for a GPU array
    a = np.abs(x)
    out = np.sign(x, out=np.empty_like(x))  # ±1 (NaN for NaN): the value for |x| >= 8, overwritten below
    small = a <= 1.0
    s = x[small]
    out[small] = s * _horner(_ERF_T, s * s) / _horner(_ERF_U, s * s)
    middle = (a > 1.0) & (a < 8.0)
    m = a[middle]
    out[middle] *= 1.0 - np.exp(-m * m) * _horner(_ERFC_P, m) / _horner(_ERFC_Q, m)
    return out
