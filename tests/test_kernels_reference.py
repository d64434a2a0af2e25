"""The NumPy reference kernels (conv2d, max/avg pooling): against PyTorch and against finite differences.

Every other implementation is tested against these, so they are checked from two independent sides: the
forward and backward results of ``torch.nn.functional`` (float64 tight, float32 loose), and central finite
differences of the forward pass on every element (``nnlearn.testing.gradcheck``, float64).
"""
from __future__ import annotations

import numpy as np
import pytest

from nnlearn import Function
from nnlearn.kernels.reference import conv2d as ref_conv
from nnlearn.kernels.reference import pool2d as ref_pool
from nnlearn.testing import gradcheck


# (N, C_in, C_out, H, W, kernel, stride, padding): square and non-square kernels, stride > 1, asymmetric
# padding pairs, batch 1, odd sizes, a kernel as large as the input, and a 1 x k kernel.
CONV_CASES = [
    (2, 3, 4, 7, 9, (3, 3), (1, 1), (1, 1)),
    (1, 1, 1, 5, 5, (5, 5), (1, 1), (0, 0)),
    (3, 2, 5, 8, 6, (3, 2), (2, 1), (1, 0)),
    (2, 4, 3, 11, 13, (1, 4), (3, 2), (0, 2)),
    (1, 2, 3, 6, 4, (2, 3), (2, 3), (2, 1)),
    (4, 1, 2, 9, 7, (4, 4), (3, 3), (1, 2)),
]
# (N, C, H, W, kernel, stride, padding): PyTorch allows padding up to half the kernel.
POOL_CASES = [
    (2, 3, 8, 8, (2, 2), (2, 2), (0, 0)),
    (1, 2, 7, 9, (3, 3), (1, 1), (1, 1)),
    (3, 1, 9, 6, (3, 2), (2, 1), (1, 0)),
    (2, 2, 5, 11, (2, 3), (1, 2), (1, 1)),
    (1, 1, 6, 6, (6, 6), (1, 1), (0, 0)),
    (2, 4, 10, 7, (4, 3), (3, 2), (2, 1)),
]
TOLERANCES = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-4)}


def conv_data(rng, case, dtype):
    N, C_in, C_out, H, W, (kH, kW), stride, padding = case
    x = rng.standard_normal((N, C_in, H, W)).astype(dtype)
    w = rng.standard_normal((C_out, C_in, kH, kW)).astype(dtype)
    b = rng.standard_normal(C_out).astype(dtype)
    return x, w, b, stride, padding


def output_hw(H, W, kernel, stride, padding):
    return ((H + 2 * padding[0] - kernel[0]) // stride[0] + 1, (W + 2 * padding[1] - kernel[1]) // stride[1] + 1)


# --- im2col / col2im ---------------------------------------------------------------------------------------

def test_im2col_rows_are_the_windows():
    # A 3 x 3 image 0..8, 2 x 2 windows at stride 1: the top-left window holds 0, 1 / 3, 4, and so on.
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    cols = ref_conv.im2col(x, (2, 2), (1, 1), (0, 0))
    assert cols.shape == (1, 2, 2, 4)
    np.testing.assert_array_equal(cols[0, 0, 0], [0, 1, 3, 4])
    np.testing.assert_array_equal(cols[0, 1, 1], [4, 5, 7, 8])
    # With one pixel of zero padding and stride 2 the first window is the padded corner: 0, 0 / 0, x[0, 0].
    cols = ref_conv.im2col(x, (2, 2), (2, 2), (1, 1))
    assert cols.shape == (1, 2, 2, 4)
    np.testing.assert_array_equal(cols[0, 0, 0], [0, 0, 0, 0])
    np.testing.assert_array_equal(cols[0, 1, 1], [4, 5, 7, 8])


@pytest.mark.parametrize("case", CONV_CASES)
def test_col2im_is_the_transpose_of_im2col(rng, case):
    # The adjoint identity <im2col(x), y> == <x, col2im(y)> is exactly what backpropagation needs.
    x, w, _, stride, padding = conv_data(rng, case, np.float64)
    kernel = w.shape[2:]
    cols = ref_conv.im2col(x, kernel, stride, padding)
    y = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * y)
    rhs = np.sum(x * ref_conv.col2im(y, x.shape, kernel, stride, padding))
    assert lhs == pytest.approx(rhs, rel=1e-12)


# --- conv2d --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_torch(torch, rng, case, dtype):
    x, w, b, stride, padding = conv_data(rng, case, dtype)
    out = ref_conv.conv2d_forward(x, w, b, stride, padding)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    expected = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
    assert out.dtype == dtype and out.flags.c_contiguous
    np.testing.assert_allclose(out, expected.detach().numpy(), **TOLERANCES[dtype])

    dout = rng.standard_normal(out.shape).astype(dtype)
    expected.backward(torch.tensor(dout))
    dx, dw, db = ref_conv.conv2d_backward(dout, x, w, stride, padding)
    for got, want in ((dx, xt.grad), (dw, wt.grad), (db, bt.grad)):
        assert got.dtype == dtype and got.shape == tuple(want.shape)
        np.testing.assert_allclose(got, want.numpy(), **TOLERANCES[dtype])


def test_conv2d_without_bias(torch, rng):
    x, w, _, stride, padding = conv_data(rng, CONV_CASES[2], np.float64)
    out = ref_conv.conv2d_forward(x, w, None, stride, padding)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), None, stride=stride, padding=padding)
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-10, atol=1e-10)


def test_conv2d_by_hand():
    # One 2 x 2 filter [[1, 0], [0, -1]] over the image 0..8 (3 x 3): each output is top-left minus
    # bottom-right of its window, 0 - 4 = 1 - 5 = ... = -4 everywhere; bias 0.5 gives -3.5.
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    out = ref_conv.conv2d_forward(x, w, np.array([0.5]), (1, 1), (0, 0))
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), -3.5))


class _Conv2d(Function):
    """The reference kernels as an autograd Function, so that gradcheck can compare them with finite differences."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding):
        ctx.save_for_backward(x, w, stride, padding)
        return ref_conv.conv2d_forward(x, w, b, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        x, w, stride, padding = ctx.saved
        dx, dw, db = ref_conv.conv2d_backward(grad, x, w, stride, padding)
        return dx, dw, db, None, None


@pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[2], CONV_CASES[4], (1, 2, 2, 5, 6, (2, 2), (3, 2), (1, 0))])
def test_conv2d_backward_matches_finite_differences(rng, case):
    x, w, b, stride, padding = conv_data(rng, case, np.float64)
    result = gradcheck(lambda x, w, b: _Conv2d.apply(x, w, b, stride, padding), [x, w, b])
    assert result, str(result)


# --- pooling -------------------------------------------------------------------------------------------

def pool_data(rng, case, dtype):
    N, C, H, W, kernel, stride, padding = case
    return rng.standard_normal((N, C, H, W)).astype(dtype), kernel, stride, padding


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_matches_torch(torch, rng, case, dtype):
    x, kernel, stride, padding = pool_data(rng, case, dtype)
    out, indices = ref_pool.max_pool2d_forward(x, kernel, stride, padding)
    xt = torch.tensor(x, requires_grad=True)
    expected, expected_indices = torch.nn.functional.max_pool2d(xt, kernel, stride, padding, return_indices=True)
    assert out.dtype == dtype and indices.dtype == np.int64
    assert out.shape == (x.shape[0], x.shape[1], *output_hw(*x.shape[2:], kernel, stride, padding))
    np.testing.assert_array_equal(out, expected.detach().numpy())
    np.testing.assert_array_equal(indices, expected_indices.numpy())

    dout = rng.standard_normal(out.shape).astype(dtype)
    expected.backward(torch.tensor(dout))
    dx = ref_pool.max_pool2d_backward(dout, indices, x.shape)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool2d_matches_torch(torch, rng, case, dtype):
    x, kernel, stride, padding = pool_data(rng, case, dtype)
    out = ref_pool.avg_pool2d_forward(x, kernel, stride, padding)
    xt = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.avg_pool2d(xt, kernel, stride, padding)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected.detach().numpy(), **TOLERANCES[dtype])

    dout = rng.standard_normal(out.shape).astype(dtype)
    expected.backward(torch.tensor(dout))
    dx = ref_pool.avg_pool2d_backward(dout, x.shape, kernel, stride, padding)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOLERANCES[dtype])


@pytest.mark.parametrize("case", [POOL_CASES[1], POOL_CASES[3], (1, 2, 4, 4, (2, 2), (1, 1), (1, 1))])
def test_max_pool2d_ties_go_to_the_first_maximum_like_torch(torch, rng, case):
    # Values from {0, 1, 2}: almost every window has a tie for its maximum, and overlapping windows
    # (stride < kernel) often pick the same element, whose gradients must then add up.
    N, C, H, W, kernel, stride, padding = case
    x = rng.integers(0, 3, (N, C, H, W)).astype(np.float64)
    _, indices = ref_pool.max_pool2d_forward(x, kernel, stride, padding)
    xt = torch.tensor(x, requires_grad=True)
    expected, expected_indices = torch.nn.functional.max_pool2d(xt, kernel, stride, padding, return_indices=True)
    np.testing.assert_array_equal(indices, expected_indices.numpy())
    dout = rng.standard_normal(indices.shape)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(ref_pool.max_pool2d_backward(dout, indices, x.shape), xt.grad.numpy(), atol=1e-12)


def test_max_pool2d_ties_by_hand():
    # A constant 2 x 2 image: the first element (flat index 0) wins; in the padded case window (1, 1)
    # covers x[0:2, 0:2] whose first real element is x[0, 0] again, and the padding (-inf) never wins.
    x = np.ones((1, 1, 2, 2))
    out, indices = ref_pool.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    assert out.item() == 1.0 and indices.item() == 0
    out, indices = ref_pool.max_pool2d_forward(x, (2, 2), (1, 1), (1, 1))
    np.testing.assert_array_equal(out, np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(indices[0, 0], [[0, 0, 1], [0, 0, 1], [2, 2, 3]])
    # Every window chose x[0, 0] except those that cannot see it: dx counts the windows each element won.
    dx = ref_pool.max_pool2d_backward(np.ones((1, 1, 3, 3)), indices, x.shape)
    np.testing.assert_array_equal(dx[0, 0], [[4, 2], [2, 1]])


def test_max_pool2d_all_minus_inf_window_points_at_a_real_element(torch):
    x = np.full((1, 1, 3, 3), -np.inf)
    _, indices = ref_pool.max_pool2d_forward(x, (2, 2), (2, 2), (1, 1))
    _, expected = torch.nn.functional.max_pool2d(torch.tensor(x), 2, 2, 1, return_indices=True)
    np.testing.assert_array_equal(indices, expected.numpy())


def test_avg_pool2d_by_hand():
    # 2 x 2 average of 0..15 (4 x 4) at stride 2: [[0+1+4+5, 2+3+6+7], [8+9+12+13, 10+11+14+15]] / 4.
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out = ref_pool.avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(out[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    # With padding 1 the corner window holds three padding zeros and x[0, 0] + 4 = 4, and still divides by
    # the whole window, 4 (count_include_pad=True): 4 / 4 = 1.
    out = ref_pool.avg_pool2d_forward(x + 4, (2, 2), (2, 2), (1, 1))
    assert out[0, 0, 0, 0] == 1.0


class _MaxPool(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        out, indices = ref_pool.max_pool2d_forward(x, kernel, stride, padding)
        ctx.save_for_backward(indices, x.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        indices, shape = ctx.saved
        return ref_pool.max_pool2d_backward(grad, indices, shape), None, None, None


class _AvgPool(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        ctx.save_for_backward(x.shape, kernel, stride, padding)
        return ref_pool.avg_pool2d_forward(x, kernel, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        return ref_pool.avg_pool2d_backward(grad, *ctx.saved), None, None, None


@pytest.mark.parametrize("op", [_MaxPool, _AvgPool])
@pytest.mark.parametrize("case", [POOL_CASES[1], POOL_CASES[2], POOL_CASES[3]])
def test_pool2d_backward_matches_finite_differences(rng, op, case):
    # Gaussian inputs have no ties, so max-pool is differentiable at them (eps = 1e-6 never flips a winner).
    x, kernel, stride, padding = pool_data(rng, case, np.float64)
    result = gradcheck(lambda x: op.apply(x, kernel, stride, padding), [x])
    assert result, str(result)
