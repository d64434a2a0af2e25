"""``Tensor``: a NumPy array that remembers how it was computed, so gradients can flow back through it.

>>> x = Tensor([[1.0, 2.0]], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
array([[2., 4.]], dtype=float32)

``.grad`` is a plain NumPy array of the tensor's shape (PyTorch makes it a tensor; an array is all a reader
of this library needs). Gradients accumulate across ``backward()`` calls until ``zero_grad()``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import ops
from .autograd import Function, Node, backward
from .device import asarray_like, check_device, device_of, is_device_name, to_device
from .dtypes import get_default_dtype


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to an ndarray: Python floats/lists get the default dtype, NumPy arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data.data
    if device_of(data) == "cuda":  # already a GPU array: keep it there
        return data if dtype is None else data.astype(dtype, copy=False)
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        if data.dtype == object:
            raise TypeError("data must be numeric; got a NumPy array of dtype object")
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    array = np.asarray(data)
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"data must be numeric (a number, nested list or array), got {type(data).__name__}")
    if array.dtype.kind == "f":
        array = array.astype(get_default_dtype())
    return array


class Tensor:
    """An n-dimensional array with reverse-mode autodiff.

    Args:
        data: a number, nested list, NumPy array or Tensor. Python floats become the default dtype
            (float32); NumPy arrays keep their dtype; integers stay integers (e.g. class labels).
        requires_grad: record operations on this tensor so ``backward()`` can fill ``.grad``.
        dtype: optional NumPy dtype to convert to.
    """

    __array_priority__ = 1000  # so `ndarray + Tensor` calls Tensor.__radd__ instead of broadcasting NumPy

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data: np.ndarray = _as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self._node: Node | None = None
        self._retains_grad = False
        self.requires_grad = bool(requires_grad)
        if self.requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require grad, got dtype {self.data.dtype}")

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def device(self) -> str:
        """``"cpu"`` (data is a NumPy array) or ``"cuda"`` (data is a CuPy array on the GPU)."""
        return device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not by an operation): the ones whose ``.grad`` is kept."""
        return self._node is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        host = to_device(self.data, "cpu")
        body = np.array2string(host, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.device != "cpu":
            extra = f", device='{self.device}'" + extra
        if self.data.dtype != get_default_dtype() and self.data.dtype.kind == "f":
            extra = f", dtype={self.data.dtype}" + extra
        return f"tensor({body}{extra})"

    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied). A GPU tensor must be brought back first."""
        if self.device != "cpu":
            raise TypeError("numpy(): this tensor is on the 'cuda' device; call .cpu() first to copy it "
                            "to host memory")
        return self.data

    def to(self, target: Any) -> "Tensor":
        """A copy on another device (``"cpu"``/``"cuda"``) or with another dtype; ``self`` if nothing changes.

        Moving is differentiable: gradients flow back to the original device.
        """
        if is_device_name(target):
            device = check_device(target)
            return self if device == self.device else _ToDevice.apply(self, device)
        try:
            dtype = np.dtype(target)
        except TypeError:
            raise ValueError(f"to(): expected a device ('cpu' or 'cuda') or a dtype, got {target!r}") from None
        return self.astype(dtype)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def item(self) -> float | int:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with exactly one element, got shape {self.shape}")
        return self.data.item()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A tensor with the same data that is cut off from the graph."""
        return Tensor(self.data)

    def astype(self, dtype: Any) -> "Tensor":
        """A copy converted to ``dtype`` (differentiable for float-to-float conversions)."""
        dtype = np.dtype(dtype)
        return self if dtype == self.dtype else _AsType.apply(self, dtype)

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` on this intermediate tensor too (by default only leaves keep it)."""
        self._retains_grad = True
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require grad, got dtype {self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    # ------------------------------------------------------------------ autograd
    def backward(self, grad: Any = None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        ``grad`` is the upstream gradient, needed only when this tensor has more than one element.
        Gradients add up into ``.grad`` across calls, as in PyTorch; call :meth:`zero_grad` between steps.
        """
        backward(self, None if grad is None else _as_array(grad))

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other): return ops.Add.apply(self, _lift(other, self))
    def __radd__(self, other): return ops.Add.apply(_lift(other, self), self)
    def __sub__(self, other): return ops.Sub.apply(self, _lift(other, self))
    def __rsub__(self, other): return ops.Sub.apply(_lift(other, self), self)
    def __mul__(self, other): return ops.Mul.apply(self, _lift(other, self))
    def __rmul__(self, other): return ops.Mul.apply(_lift(other, self), self)
    def __truediv__(self, other): return ops.Div.apply(self, _lift(other, self))
    def __rtruediv__(self, other): return ops.Div.apply(_lift(other, self), self)
    def __neg__(self): return ops.Neg.apply(self)
    def __matmul__(self, other): return self.matmul(other)
    def __rmatmul__(self, other): return _lift(other, self).matmul(self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor):
            # a ** b = exp(b log a), differentiable in both
            return (exponent * self.log()).exp()
        if not np.isscalar(exponent):
            raise TypeError(f"exponent must be a number or Tensor, got {type(exponent).__name__}")
        return ops.Pow.apply(self, exponent)

    def __rpow__(self, base):
        return (self * float(np.log(base))).exp()

    def matmul(self, other: Any) -> "Tensor":
        """Matrix product with NumPy's ``@`` rules; shapes are checked with a readable message."""
        other = _lift(other, self)
        if self.ndim == 0 or other.ndim == 0:
            raise ValueError("matmul: both operands need at least one dimension, got shapes "
                             f"{self.shape} and {other.shape}")
        inner_a = self.shape[-1]
        inner_b = other.shape[0] if other.ndim == 1 else other.shape[-2]
        if inner_a != inner_b:
            raise ValueError(f"matmul: inner dimensions differ: left operand has shape {self.shape} "
                             f"(last dim {inner_a}), right operand has shape {other.shape} "
                             f"(expected its {'only' if other.ndim == 1 else 'second-to-last'} dim "
                             f"to be {inner_a}, got {inner_b})")
        return ops.MatMul.apply(self, other)

    # ------------------------------------------------------------------ comparisons (no gradient)
    def __lt__(self, other): return Tensor(self.data < _raw(other))
    def __le__(self, other): return Tensor(self.data <= _raw(other))
    def __gt__(self, other): return Tensor(self.data > _raw(other))
    def __ge__(self, other): return Tensor(self.data >= _raw(other))
    def eq(self, other): return Tensor(self.data == _raw(other))
    def ne(self, other): return Tensor(self.data != _raw(other))

    # Keep tensors hashable (so they can be dict keys and set members, as Parameters must be):
    # elementwise equality is `eq`, not `==`.
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                             "use .any() or .all()")
        return bool(self.data)

    def any(self) -> bool:
        return bool(self.data.any())

    def all(self) -> bool:
        return bool(self.data.all())

    # ------------------------------------------------------------------ elementwise functions
    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sqrt(self): return ops.Sqrt.apply(self)
    def abs(self): return ops.Abs.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> "Tensor":
        """Clamp values to ``[min, max]`` (either may be None)."""
        return ops.Clip.apply(self, min, max)

    clamp = clip

    def tanh(self):
        from .functional import tanh
        return tanh(self)

    def sigmoid(self):
        from .functional import sigmoid
        return sigmoid(self)

    def relu(self):
        from .functional import relu
        return relu(self)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> "Tensor":
        shape = _shape_args(shape)
        try:
            self.data.reshape(shape)  # a view: cheap, and raises if the sizes do not match
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                             f"({self.size} elements) into shape {shape}") from None
        return ops.Reshape.apply(self, shape)

    view = reshape

    def flatten(self, start_dim: int = 0) -> "Tensor":
        """Merge dimensions from ``start_dim`` on into one (``x.flatten(1)`` keeps the batch dim)."""
        start = start_dim % self.ndim if self.ndim else 0
        return self.reshape(*self.shape[:start], -1)

    def transpose(self, *axes: Any) -> "Tensor":
        """``t.transpose()`` reverses the axes; ``t.transpose(0, 1)`` swaps two (PyTorch style);
        ``t.transpose((2, 0, 1))`` permutes all (NumPy style)."""
        axes = _shape_args(axes) if axes else None
        if axes is not None and len(axes) == 2 and self.ndim != 2:
            order = list(range(self.ndim))
            i, j = (a % self.ndim for a in axes)
            order[i], order[j] = order[j], order[i]
            axes = tuple(order)
        if axes is not None and sorted(a % self.ndim for a in axes) != list(range(self.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {self.ndim} dims "
                             f"of a tensor of shape {self.shape}")
        return ops.Transpose.apply(self, axes)

    def permute(self, *axes: Any) -> "Tensor":
        return self.transpose(_shape_args(axes))

    @property
    def T(self) -> "Tensor":
        return ops.Transpose.apply(self, None)

    def unsqueeze(self, dim: int) -> "Tensor":
        dim = dim % (self.ndim + 1)
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim: int | None = None) -> "Tensor":
        if dim is None:
            return self.reshape(*(n for n in self.shape if n != 1))
        dim = dim % self.ndim
        if self.shape[dim] != 1:
            return self
        return self.reshape(*self.shape[:dim], *self.shape[dim + 1:])

    def __getitem__(self, index: Any) -> "Tensor":
        index = _raw_index(index)
        return ops.GetItem.apply(self, index)

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return ops.Sum.apply(self, _axis(axis, self.ndim), keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        axis = _axis(axis, self.ndim)
        if self.size == 0:
            raise ValueError(f"mean of an empty tensor (shape {self.shape}) is undefined")
        return ops.Mean.apply(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        if self.size == 0:
            raise ValueError(f"max of an empty tensor (shape {self.shape}) is undefined")
        return ops.Max.apply(self, _axis(axis, self.ndim), keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return -((-self).max(axis=axis, keepdims=keepdims))

    def var(self, axis: Any = None, keepdims: bool = False, unbiased: bool = False) -> "Tensor":
        """Variance (biased by default, as normalisation layers use it)."""
        centred = self - self.mean(axis=axis, keepdims=True)
        squares = (centred * centred)
        if not unbiased:
            return squares.mean(axis=axis, keepdims=keepdims)
        count = self.size // max(np.size(np.mean(self.data, axis=_axis(axis, self.ndim))), 1)
        return squares.sum(axis=axis, keepdims=keepdims) / (count - 1)

    def argmax(self, axis: int | None = None) -> "Tensor":
        return Tensor(np.argmax(self.data, axis=axis))

    def argmin(self, axis: int | None = None) -> "Tensor":
        return Tensor(np.argmin(self.data, axis=axis))


class _AsType(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.save_for_backward(a.dtype)
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        (dtype,) = ctx.saved
        return grad.astype(dtype), None


class _ToDevice(Function):
    same_device = False  # the one op whose result lives elsewhere

    @staticmethod
    def forward(ctx, a, device):
        ctx.save_for_backward(device_of(a))
        return to_device(a, device)

    @staticmethod
    def backward(ctx, grad):
        (origin,) = ctx.saved
        return to_device(grad, origin), None


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _raw_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _lift(x: Any, like: Tensor) -> Tensor:
    """Wrap a number or array as a constant Tensor; Python numbers take ``like``'s dtype (no upcasting)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float, bool, np.number)):
        # A number joins the other operand's device, and its dtype when that is floating point.
        dtype = like.data.dtype if like.data.dtype.kind == "f" else None
        return Tensor(asarray_like(x, like.data, dtype=dtype))
    return Tensor(x)


def _shape_args(args: Sequence[Any]) -> tuple[int, ...]:
    """Accept both ``reshape(2, 3)`` and ``reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(int(a) for a in args[0])
    return tuple(int(a) for a in args)


def _axis(axis: Any, ndim: int) -> Any:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dims")
    normalised = tuple(int(a) % max(ndim, 1) for a in axes)
    return normalised[0] if isinstance(axis, (int, np.integer)) else normalised


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Shorthand for ``Tensor(data, ...)``, like ``torch.tensor``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None, device: str = "cpu") -> Tensor:
    return Tensor(to_device(np.zeros(_shape_args(shape), dtype=dtype or get_default_dtype()), check_device(device)), requires_grad)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None, device: str = "cpu") -> Tensor:
    return Tensor(to_device(np.ones(_shape_args(shape), dtype=dtype or get_default_dtype()), check_device(device)), requires_grad)


def randn(*shape: Any, requires_grad: bool = False, dtype: Any = None, device: str = "cpu") -> Tensor:
    """Standard-normal samples drawn from the library's seeded generator."""
    from .random import get_rng
    data = get_rng().standard_normal(_shape_args(shape)).astype(dtype or get_default_dtype())
    return Tensor(to_device(data, check_device(device)), requires_grad)


def rand(*shape: Any, requires_grad: bool = False, dtype: Any = None, device: str = "cpu") -> Tensor:
    """Uniform [0, 1) samples drawn from the library's seeded generator."""
    from .random import get_rng
    data = get_rng().random(_shape_args(shape)).astype(dtype or get_default_dtype())
    return Tensor(to_device(data, check_device(device)), requires_grad)


def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Concatenate tensors along an existing axis (``torch.cat``)."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: tensors must be a non-empty sequence")
    return ops.Concatenate.apply(axis, *tensors)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Stack tensors of equal shape along a new axis (``torch.stack``)."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: tensors must be a non-empty sequence")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return cat([t.unsqueeze(axis) for t in tensors], axis=axis)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``condition ? a : b``; differentiable in ``a`` and ``b``."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = _lift(b, a)
    return ops.Where.apply(_raw(condition), a, b)


def maximum(a: Any, b: Any) -> Tensor:
    a = a if isinstance(a, Tensor) else Tensor(a)
    return ops.Maximum.apply(a, _lift(b, a))
