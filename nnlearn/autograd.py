"""Reverse-mode automatic differentiation for :class:`~nnlearn.Tensor`.

An operation is a :class:`Function` subclass with two static methods, in the style of minitorch:

* ``forward(ctx, *arrays, **options) -> array`` computes the result from plain NumPy arrays and saves on
  ``ctx`` whatever the backward pass will need;
* ``backward(ctx, grad) -> grad_per_input`` turns the gradient of the loss with respect to the output into
  the gradient with respect to each input (``None`` for inputs that need none).

``Function.apply`` runs ``forward`` and, when any input requires a gradient, records a :class:`Node` on the
output so that :func:`backward` can later walk the graph from the loss back to the leaves.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from .device import asarray_like, device_of, to_device

if TYPE_CHECKING:  # pragma: no cover
    from .tensor import Tensor

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside a :func:`no_grad` block."""
    return _grad_enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager that stops graph recording (for evaluation and for in-place parameter updates)."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Context manager that turns graph recording back on inside a :func:`no_grad` block."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = True
    try:
        yield
    finally:
        _grad_enabled = previous


class Context:
    """A scratch space where ``forward`` leaves what ``backward`` needs (arrays, shapes, options)."""

    def __init__(self) -> None:
        self.saved: tuple = ()
        self.needs_input_grad: tuple[bool, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        self.saved = values


class Node:
    """The record of one operation in the graph: which Function made a tensor, from which inputs."""

    __slots__ = ("function", "ctx", "inputs")

    def __init__(self, function: type["Function"], ctx: Context, inputs: tuple) -> None:
        self.function = function
        self.ctx = ctx
        self.inputs = inputs  # the Tensor arguments of the call, in order (non-tensors are None)


class Function:
    """Base class of every differentiable operation. Subclasses define ``forward`` and ``backward``."""

    #: The result is placed on the inputs' device; only a move between devices (``Tensor.to``) says False.
    same_device = True

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> "Tensor":
        from .tensor import Tensor

        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        devices = {device_of(a.data) for a in args if isinstance(a, Tensor)}
        if len(devices) > 1:
            shapes = ", ".join(f"{a.shape} on {device_of(a.data)}" for a in args if isinstance(a, Tensor))
            raise ValueError(f"{cls.__name__}: all tensors must be on the same device, got {shapes}; "
                             "move them with .to('cuda') or .to('cpu')")
        ctx = Context()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        result = cls.forward(ctx, *arrays, **kwargs)
        # An op's result lives where its inputs live (a no-op unless a kernel answered from another device).
        out = Tensor(to_device(result, devices.pop()) if devices and cls.same_device else result)
        if _grad_enabled and any(ctx.needs_input_grad):
            out.requires_grad = True
            out._node = Node(cls, ctx, tuple(a if isinstance(a, Tensor) else None for a in args))
        return out


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting.

    If ``a`` of shape (3, 1) was broadcast against (4, 3, 5), every element of ``a`` was used 4 * 5 times, so
    its gradient is the sum of the upstream gradient over the axes that broadcasting added or stretched.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra > 0 else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def topological_order(root: "Tensor") -> list["Tensor"]:
    """Tensors of the graph that ends at ``root``, each after all of its inputs.

    An explicit stack instead of recursion, so a chain of 100,000 operations does not hit Python's
    recursion limit.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._node is not None:
            for parent in tensor._node.inputs:
                if parent is not None and parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def backward(root: "Tensor", grad: np.ndarray | None = None) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient."""
    if not root.requires_grad:
        raise RuntimeError("backward() called on a tensor that does not require grad "
                           "(no input had requires_grad=True, or it was computed under no_grad())")
    if grad is None:
        if root.data.size != 1:
            raise ValueError(f"backward() without a gradient needs a single-element tensor, got shape "
                               f"{root.shape}; pass grad= with the same shape")
        grad = np.ones_like(root.data)
    else:
        grad = asarray_like(grad, root.data, dtype=root.data.dtype)
        if grad.shape != root.shape:
            raise ValueError(f"grad must have the tensor's shape {root.shape}, got {grad.shape}")

    grads: dict[int, np.ndarray] = {id(root): grad}
    for tensor in reversed(topological_order(root)):
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        node = tensor._node
        if node is None or tensor._retains_grad:
            tensor.grad = g.copy() if tensor.grad is None else tensor.grad + g
        if node is None:
            continue
        input_grads = node.function.backward(node.ctx, g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, pg in zip(node.inputs, input_grads):
            if parent is None or pg is None or not parent.requires_grad:
                continue
            pg = pg if hasattr(pg, "ndim") else asarray_like(pg, parent.data)
            pg = unbroadcast(pg, parent.shape).astype(parent.data.dtype, copy=False)
            pg = to_device(pg, device_of(parent.data))  # each gradient lives with its tensor
            previous = grads.get(id(parent))
            grads[id(parent)] = pg if previous is None else previous + pg
