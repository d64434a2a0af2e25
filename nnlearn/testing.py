"""Gradient checking: compare autograd's gradients with finite differences, element by element.

Backpropagation bugs are silent — the loss still goes down, just worse. ``gradcheck`` catches them by
nudging every input element up and down by ``eps`` and comparing the slope it sees with the gradient
autograd computed. It works in float64, where central differences are accurate to about ``eps**2``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .tensor import Tensor


@dataclass
class GradcheckResult:
    """What :func:`gradcheck` found. Truthy when every element agreed to within ``tol``.

    ``max_error`` is the worst error over all elements, where an element's error is
    ``|analytic - numeric| / max(1, |analytic|, |numeric|)`` (relative for large values, absolute for
    small ones, so gradients that are exactly zero do not divide by zero).
    """

    ok: bool
    max_error: float
    tol: float
    errors: list[float] = field(default_factory=list)  # worst error per input
    worst: tuple[int, tuple[int, ...], float, float] | None = None  # (input, index, analytic, numeric)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        text = f"gradcheck {verdict}: worst error {self.max_error:.2e} (tolerance {self.tol:.0e})"
        if self.worst is not None and not self.ok:
            i, idx, a, n = self.worst
            text += f"; input {i} at index {idx}: autograd {a:.6g}, finite differences {n:.6g}"
        return text


def gradcheck(f: Callable[..., Tensor], inputs: Sequence[Any], eps: float = 1e-6, tol: float = 1e-6,
              seed: int = 0, raise_exception: bool = False) -> GradcheckResult:
    """Check autograd's gradient of ``f(*inputs)`` against central finite differences.

    Args:
        f: function of the inputs returning a Tensor of any shape.
        inputs: Tensors (float64; they are perturbed in place, so a model's Parameters may be passed and
            used inside ``f``) or arrays/numbers (converted to float64 Tensors that require grad).
        eps: finite-difference step.
        tol: largest acceptable error (see :class:`GradcheckResult`).
        seed: seed for the random upstream gradient ``u``; the scalar checked is ``sum(f(*inputs) * u)``, so
            every output element is weighted differently and a transposed or swapped gradient cannot hide.
        raise_exception: raise ``AssertionError`` with the details instead of returning a failing result.

    Returns:
        A :class:`GradcheckResult`, truthy on success.
    """
    tensors: list[Tensor] = []
    for position, x in enumerate(inputs):
        if isinstance(x, Tensor):
            if x.dtype != np.float64:
                raise TypeError(f"inputs[{position}] must be float64 for a meaningful check, got {x.dtype}; "
                                "convert with .double() (and model.double() for a model's parameters)")
            x.requires_grad = True
            tensors.append(x)
        else:
            tensors.append(Tensor(np.array(x, dtype=np.float64), requires_grad=True))
    if not tensors:
        raise ValueError("inputs must contain at least one tensor to check")

    out = f(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"f must return a Tensor, got {type(out).__name__}")
    upstream = np.random.default_rng(seed).standard_normal(out.shape)

    for t in tensors:
        t.grad = None
    out.backward(upstream.astype(out.dtype))
    analytic = [np.zeros(t.shape) if t.grad is None else t.grad.astype(np.float64) for t in tensors]

    def objective() -> float:
        return float(np.sum(f(*tensors).data * upstream))

    errors: list[float] = []
    worst: tuple[int, tuple[int, ...], float, float] | None = None
    max_error = 0.0
    for i, t in enumerate(tensors):
        worst_here = 0.0
        for index in np.ndindex(t.shape):
            original = t.data[index]
            t.data[index] = original + eps
            plus = objective()
            t.data[index] = original - eps
            minus = objective()
            t.data[index] = original
            numeric = (plus - minus) / (2 * eps)
            a = float(analytic[i][index])
            error = abs(a - numeric) / max(1.0, abs(a), abs(numeric))
            worst_here = max(worst_here, error)
            if error >= max_error:
                max_error, worst = error, (i, index, a, numeric)
        errors.append(worst_here)

    result = GradcheckResult(ok=bool(max_error <= tol), max_error=max_error, tol=tol, errors=errors, worst=worst)
    if raise_exception and not result.ok:
        raise AssertionError(str(result))
    return result
