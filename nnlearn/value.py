"""``Value``: a single number that remembers how it was computed — reverse-mode autodiff in ~100 lines.

This is the engine the backpropagation chapter builds by hand (in the spirit of Andrej Karpathy's
micrograd). Each operation creates a new ``Value`` and stores a small closure, ``_backward``, that applies
the chain rule for that one operation: it adds ``out.grad * d(out)/d(input)`` to each input's ``grad``.
``backward()`` then calls those closures from the output back to the inputs, in reverse topological order.

>>> a, b = Value(2.0), Value(-3.0)
>>> c = a * b + a.tanh()
>>> c.backward()
>>> round(a.grad, 4), b.grad
(-2.9293, 2.0)
"""
from __future__ import annotations

import math
from typing import Callable, Iterable


class Value:
    """A scalar with a gradient. ``label`` is only for drawing the computation graph."""

    __slots__ = ("data", "grad", "_backward", "_parents", "op", "label")

    def __init__(self, data: float, _parents: Iterable["Value"] = (), op: str = "", label: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError("data must be a number, not a Value (use the Value itself)")
        try:
            self.data = float(data)
        except (TypeError, ValueError):
            raise TypeError(f"data must be a real number, got {type(data).__name__}") from None
        self.grad = 0.0
        self._backward: Callable[[], None] = lambda: None
        self._parents = tuple(_parents)
        self.op = op
        self.label = label

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.4g}, grad={self.grad:.4g})"

    # -------------------------------------------------------------- arithmetic
    def __add__(self, other: "Value | float") -> "Value":
        other = _lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:  # d(a+b)/da = d(a+b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other: "Value | float") -> "Value":
        other = _lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:  # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> "Value":
        if not isinstance(exponent, (int, float)):
            raise TypeError(f"exponent must be an int or float constant, got {type(exponent).__name__}")
        out = Value(self.data ** exponent, (self,), f"**{exponent:g}")

        def _backward() -> None:  # d(a^n)/da = n a^(n-1)
            self.grad += exponent * self.data ** (exponent - 1) * out.grad
        out._backward = _backward
        return out

    def __neg__(self) -> "Value":
        return self * -1.0

    def __sub__(self, other: "Value | float") -> "Value":
        return self + (-_lift(other))

    def __truediv__(self, other: "Value | float") -> "Value":
        return self * _lift(other) ** -1

    def __radd__(self, other: float) -> "Value":
        return self + other

    def __rmul__(self, other: float) -> "Value":
        return self * other

    def __rsub__(self, other: float) -> "Value":
        return _lift(other) - self

    def __rtruediv__(self, other: float) -> "Value":
        return _lift(other) / self

    # -------------------------------------------------------------- functions
    def exp(self) -> "Value":
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward() -> None:  # d(e^a)/da = e^a
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self) -> "Value":
        if self.data <= 0:
            raise ValueError(f"log needs a positive input, got {self.data}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward() -> None:  # d(ln a)/da = 1/a
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self) -> "Value":
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward() -> None:  # d(tanh a)/da = 1 - tanh(a)^2
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = _backward
        return out

    def relu(self) -> "Value":
        out = Value(max(0.0, self.data), (self,), "relu")

        def _backward() -> None:  # slope 1 where the input was positive, 0 elsewhere
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self) -> "Value":
        # Written so that exp never overflows: for a < 0 use e^a / (1 + e^a).
        if self.data >= 0:
            s = 1.0 / (1.0 + math.exp(-self.data))
        else:
            e = math.exp(self.data)
            s = e / (1.0 + e)
        out = Value(s, (self,), "sigmoid")

        def _backward() -> None:  # d(sigma)/da = sigma (1 - sigma)
            self.grad += s * (1.0 - s) * out.grad
        out._backward = _backward
        return out

    # -------------------------------------------------------------- backprop
    def backward(self) -> None:
        """Set ``grad`` of every Value this one depends on to d(self)/d(that value)."""
        order: list[Value] = []
        visited: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:  # iterative depth-first search: no recursion limit on long chains
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._parents if id(p) not in visited)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def _lift(x: "Value | float") -> Value:
    return x if isinstance(x, Value) else Value(x)
