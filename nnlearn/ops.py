"""The elementary differentiable operations behind :class:`~nnlearn.Tensor`'s methods and operators.

Each is a forward value and a few lines of chain rule. Broadcasting is undone by the autograd engine
(:func:`~nnlearn.autograd.unbroadcast`), so these backward passes return gradients in the broadcast shape.
"""
from __future__ import annotations

import numpy as np

from .autograd import Context, Function
from .device import array_module, asarray_like, scatter_add


class Add(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        return a + b

    @staticmethod
    def backward(ctx: Context, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        return a - b

    @staticmethod
    def backward(ctx: Context, grad):
        return grad, -grad


class Mul(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad):
        a, b = ctx.saved
        return grad * b, grad * a


class Div(Function):
    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx: Context, grad):
        a, b = ctx.saved
        return grad / b, -grad * a / (b * b)


class Neg(Function):
    @staticmethod
    def forward(ctx: Context, a):
        return -a

    @staticmethod
    def backward(ctx: Context, grad):
        return -grad


class Pow(Function):
    """``a ** exponent`` for a constant (non-differentiated) exponent."""

    @staticmethod
    def forward(ctx: Context, a, exponent):
        ctx.save_for_backward(a, exponent)
        return a ** exponent

    @staticmethod
    def backward(ctx: Context, grad):
        a, exponent = ctx.saved
        return grad * exponent * a ** (exponent - 1), None


class Exp(Function):
    @staticmethod
    def forward(ctx: Context, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        (out,) = ctx.saved
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx: Context, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx: Context, grad):
        (a,) = ctx.saved
        return grad / a


class Sqrt(Function):
    @staticmethod
    def forward(ctx: Context, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        (out,) = ctx.saved
        return grad / (2.0 * out)


class Abs(Function):
    @staticmethod
    def forward(ctx: Context, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, grad):
        (a,) = ctx.saved
        return grad * np.sign(a)


class Clip(Function):
    """Clamp to [low, high]; the gradient flows only where the input was inside the range."""

    @staticmethod
    def forward(ctx: Context, a, low, high):
        ctx.save_for_backward(a, low, high)
        return np.clip(a, low, high)

    @staticmethod
    def backward(ctx: Context, grad):
        a, low, high = ctx.saved
        inside = np.ones_like(a, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        return grad * inside, None, None


class Maximum(Function):
    """Elementwise max of two tensors; ties send the gradient to the first argument."""

    @staticmethod
    def forward(ctx: Context, a, b):
        first = a >= b
        ctx.save_for_backward(first)
        return np.where(first, a, b)

    @staticmethod
    def backward(ctx: Context, grad):
        (first,) = ctx.saved
        return grad * first, grad * ~first


class Where(Function):
    """``condition ? a : b`` elementwise; ``condition`` is a constant boolean array."""

    @staticmethod
    def forward(ctx: Context, condition, a, b):
        condition = asarray_like(condition, a, dtype=bool)
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx: Context, grad):
        (condition,) = ctx.saved
        return None, grad * condition, grad * ~condition


class MatMul(Function):
    """``a @ b`` with NumPy's rules: 1-D operands are promoted to matrices and batch dims broadcast."""

    @staticmethod
    def forward(ctx: Context, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx: Context, grad):
        a, b = ctx.saved
        if a.ndim == 1 and b.ndim == 1:  # a dot product: the output is a scalar
            return grad * b, grad * a
        # Promote 1-D operands to matrices so the two matrix-calculus rules below always apply.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        grad_a = g2 @ np.swapaxes(b2, -1, -2)  # dL/dA = dL/dC B^T
        grad_b = np.swapaxes(a2, -1, -2) @ g2  # dL/dB = A^T dL/dC
        if a.ndim == 1:
            grad_a = grad_a.sum(axis=tuple(range(grad_a.ndim - 2))) if grad_a.ndim > 2 else grad_a
            grad_a = grad_a.reshape(a.shape)
        if b.ndim == 1:
            grad_b = grad_b.sum(axis=tuple(range(grad_b.ndim - 2))) if grad_b.ndim > 2 else grad_b
            grad_b = grad_b.reshape(b.shape)
        return grad_a, grad_b


class Reshape(Function):
    @staticmethod
    def forward(ctx: Context, a, shape):
        ctx.save_for_backward(a.shape)
        return a.reshape(shape)

    @staticmethod
    def backward(ctx: Context, grad):
        (shape,) = ctx.saved
        return grad.reshape(shape), None


class Transpose(Function):
    @staticmethod
    def forward(ctx: Context, a, axes):
        ctx.save_for_backward(axes)
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx: Context, grad):
        (axes,) = ctx.saved
        inverse = None if axes is None else tuple(np.argsort(axes))
        return np.transpose(grad, inverse), None


class GetItem(Function):
    """Indexing and slicing; repeated indices (``x[[0, 0]]``) add up their gradients."""

    @staticmethod
    def forward(ctx: Context, a, index):
        ctx.save_for_backward(a.shape, a.dtype, index)
        return a[index]

    @staticmethod
    def backward(ctx: Context, grad):
        shape, dtype, index = ctx.saved
        out = array_module(grad).zeros(shape, dtype=dtype)
        scatter_add(out, index, grad)
        return out, None


class Concatenate(Function):
    @staticmethod
    def forward(ctx: Context, axis, *arrays):
        ctx.save_for_backward(axis, [a.shape[axis] for a in arrays])
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad):
        axis, sizes = ctx.saved
        cuts = np.cumsum(sizes)[:-1]
        return (None, *np.split(grad, cuts, axis=axis))


class Sum(Function):
    @staticmethod
    def forward(ctx: Context, a, axis, keepdims):
        ctx.save_for_backward(a.shape, axis, keepdims)
        return np.sum(a, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad):
        shape, axis, keepdims = ctx.saved
        if axis is not None and not keepdims:
            grad = np.expand_dims(grad, axis)
        return np.broadcast_to(grad, shape), None, None


class Mean(Function):
    @staticmethod
    def forward(ctx: Context, a, axis, keepdims):
        out = np.mean(a, axis=axis, keepdims=keepdims)
        ctx.save_for_backward(a.shape, axis, keepdims, a.size // max(np.size(out), 1))
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        shape, axis, keepdims, count = ctx.saved
        if axis is not None and not keepdims:
            grad = np.expand_dims(grad, axis)
        return np.broadcast_to(grad / count, shape), None, None


class Max(Function):
    """Max over axes; when several elements tie for the max they share its gradient equally."""

    @staticmethod
    def forward(ctx: Context, a, axis, keepdims):
        out = np.max(a, axis=axis, keepdims=True)
        ctx.save_for_backward(a, out, axis, keepdims)
        return out if keepdims else np.squeeze(out, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad):
        a, out, axis, keepdims = ctx.saved
        if axis is not None and not keepdims:
            grad = np.expand_dims(grad, axis)
        elif axis is None and not keepdims:
            grad = np.reshape(grad, (1,) * a.ndim)
        winners = (a == out)
        return grad * winners / winners.sum(axis=axis, keepdims=True), None, None
