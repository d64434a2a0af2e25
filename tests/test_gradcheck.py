"""gradcheck must catch wrong gradients, not just bless right ones."""
from __future__ import annotations

import numpy as np
import pytest

from nnlearn import Function, Tensor
from nnlearn.testing import gradcheck


class Square(Function):
    """x**2 with a backward pass that can be broken on purpose."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x, scale)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, scale = ctx.saved
        return grad * scale * x, None  # correct only when scale == 2


class SwappedMatmul(Function):
    """a @ b whose gradient for b is too large by 0.01 %: a bug no loss curve would show."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        return grad @ b.T, (a.T @ grad) * 1.0001


def test_a_correct_backward_passes(rng):
    result = gradcheck(lambda x: Square.apply(x, 2.0), [rng.standard_normal((3, 4))])
    assert result and result.max_error < 1e-8
    assert "passed" in str(result)


def test_a_wrong_backward_fails_and_says_where(rng):
    result = gradcheck(lambda x: Square.apply(x, 2.1), [rng.standard_normal((3, 4))])
    assert not result
    assert result.worst[0] == 0 and len(result.worst[1]) == 2
    assert "FAILED" in str(result) and "finite differences" in str(result)
    with pytest.raises(AssertionError, match="FAILED"):
        gradcheck(lambda x: Square.apply(x, 2.1), [rng.standard_normal((3, 4))], raise_exception=True)


def test_a_small_relative_error_in_one_input_is_caught(rng):
    a, b = rng.standard_normal((3, 4)) * 10, rng.standard_normal((4, 2)) * 10
    result = gradcheck(SwappedMatmul.apply, [a, b])
    assert not result
    assert result.errors[0] < result.tol < result.errors[1]  # input 0 is right, input 1 is wrong


def test_inputs_are_restored_after_the_check(rng):
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    before = x.data.copy()
    gradcheck(lambda t: Square.apply(t, 2.0), [x])
    np.testing.assert_array_equal(x.data, before)


def test_float32_inputs_are_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"inputs\[0\] must be float64.*\.double\(\)"):
        gradcheck(lambda t: t * t, [Tensor(np.ones(3, dtype=np.float32))])
    with pytest.raises(ValueError, match="at least one"):
        gradcheck(lambda: Tensor(1.0), [])
    with pytest.raises(TypeError, match="must return a Tensor"):
        gradcheck(lambda t: t.data, [np.ones(2)])
