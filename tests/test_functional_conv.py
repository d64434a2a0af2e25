"""F.conv2d, F.max_pool2d and F.avg_pool2d: the autograd Functions over the kernels, and their input checks.

Everything here runs on the reference (NumPy) kernels: this file tests the functional layer — gradients against
finite differences in float64 on every element, values and gradients against PyTorch, and that bad input fails
with a clear message before any kernel runs. tests/test_backends.py checks that the CPU and CUDA kernels give
the same results through the same functions.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import nnlearn
from nnlearn import Tensor, backend
from nnlearn import functional as F
from nnlearn.testing import gradcheck


@pytest.fixture(autouse=True)
def _reference_kernels():
    with nnlearn.use_backend("reference"):
        yield


def as_torch(torch, array, requires_grad=True):
    return torch.tensor(array, requires_grad=requires_grad)


# (x shape, w shape, stride, padding): odd sizes, non-square kernels, per-axis stride and padding, batch 1
CONV_CASES = [
    ((2, 2, 5, 6), (3, 2, 3, 3), 1, 0),
    ((2, 2, 5, 6), (3, 2, 3, 2), 2, (1, 2)),
    ((1, 3, 7, 4), (2, 3, 2, 3), (2, 1), 1),
    ((2, 1, 6, 6), (4, 1, 1, 1), (3, 2), 0),
    ((1, 2, 3, 3), (2, 2, 3, 3), 1, 1),
]
CONV_IDS = [f"x{x}-w{w}-s{s}-p{p}" for x, w, s, p in CONV_CASES]

# (x shape, kernel_size, stride, padding): overlapping and non-overlapping windows, padding, ragged edges
POOL_CASES = [
    ((2, 3, 6, 6), 2, None, 0),
    ((2, 2, 7, 5), 3, 2, 1),
    ((1, 2, 5, 7), (2, 3), (1, 2), (1, 1)),
    ((2, 1, 4, 6), (3, 2), 1, (1, 0)),
]
POOL_IDS = [f"x{x}-k{k}-s{s}-p{p}" for x, k, s, p in POOL_CASES]


# ---------------------------------------------------------------- conv2d
@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CASES, ids=CONV_IDS)
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
def test_conv2d_gradcheck(rng, x_shape, w_shape, stride, padding, with_bias):
    x = Tensor(rng.standard_normal(x_shape))
    w = Tensor(rng.standard_normal(w_shape))
    inputs = [x, w] + ([Tensor(rng.standard_normal(w_shape[0]))] if with_bias else [])

    def f(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding)

    assert gradcheck(f, inputs, raise_exception=True)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CASES, ids=CONV_IDS)
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-11)], ids=["float32", "float64"])
def test_conv2d_matches_pytorch_forward_and_backward(torch, rng, x_shape, w_shape, stride, padding, dtype, tol):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    ours_x, ours_w, ours_b = (Tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(ours_x, ours_w, ours_b, stride=stride, padding=padding)
    dout = rng.standard_normal(out.shape).astype(dtype)
    out.backward(dout)

    tx, tw, tb = (as_torch(torch, a) for a in (x, w, b))
    expected = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)
    expected.backward(torch.tensor(dout))

    assert out.dtype == dtype and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    for ours, theirs in ((ours_x, tx), (ours_w, tw), (ours_b, tb)):
        assert ours.grad.dtype == dtype
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=tol, atol=tol)


def test_conv2d_by_hand():
    # The "diagonal difference" filter [[1, 0], [0, -1]] on the 3x3 ramp x[i, j] = 3i + j: every window gives
    # x[i, j] - x[i+1, j+1] = -4, plus the bias 0.5.
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    w = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(1, 1, 2, 2)
    out = F.conv2d(x, w, np.array([0.5]))
    np.testing.assert_array_equal(out.data, np.full((1, 1, 2, 2), -3.5))
    # Stride 2, padding 1: H_out = (3 + 2 - 2) // 2 + 1 = 2, windows with top-left corners (r, c) in {-1, 1}^2.
    # Corner (-1, -1): pad - x[0, 0] = 0;  (-1, 1): pad - x[0, 2] = -2;  (1, -1): pad - x[2, 0] = -6;
    # (1, 1): x[1, 1] - x[2, 2] = 4 - 8 = -4.
    out = F.conv2d(x, w, stride=2, padding=1)
    np.testing.assert_array_equal(out.data, [[[[0.0, -2.0], [-6.0, -4.0]]]])


def test_conv2d_keeps_the_dtype_and_accepts_arrays_lists_and_pairs(rng):
    x = rng.standard_normal((1, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    assert F.conv2d(x.astype(np.float32), w.astype(np.float32)).dtype == np.float32
    as_ints = F.conv2d(x, w, stride=2, padding=1)
    as_pairs = F.conv2d(Tensor(x), Tensor(w), stride=(2, 2), padding=[1, 1])
    assert as_ints.dtype == np.float64 and as_ints.shape == (1, 3, 3, 3)
    np.testing.assert_array_equal(as_ints.data, as_pairs.data)
    from_lists = F.conv2d(x.tolist(), w.astype(np.float32).tolist())  # Python floats become float32
    assert from_lists.dtype == np.float32 and from_lists.shape == (1, 3, 3, 3)


def test_conv2d_handles_non_contiguous_tensors(rng):
    # A channels-last array viewed as (N, C, H, W) is not C-contiguous: the kernels must get a C-ordered copy.
    x_nhwc = rng.standard_normal((2, 5, 6, 3))
    x = Tensor(x_nhwc, requires_grad=True).permute(0, 3, 1, 2)
    assert not x.data.flags.c_contiguous
    w = Tensor(rng.standard_normal((3, 4, 3, 2)), requires_grad=True).permute(1, 0, 2, 3)
    expected = F.conv2d(np.ascontiguousarray(x.data), np.ascontiguousarray(w.data), stride=(2, 1), padding=1)
    out = F.conv2d(x, w, stride=(2, 1), padding=1)
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-12)
    assert gradcheck(lambda x, w: F.conv2d(x.permute(0, 3, 1, 2), w.permute(1, 0, 2, 3), padding=1),
                     [Tensor(x_nhwc), Tensor(rng.standard_normal((3, 4, 3, 2)))], raise_exception=True)


def test_conv2d_gradient_only_for_what_requires_it(rng):
    x = Tensor(rng.standard_normal((1, 2, 4, 4)))
    w = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(3))
    F.conv2d(x, w, b).sum().backward()
    assert x.grad is None and b.grad is None and w.grad.shape == (3, 2, 3, 3)
    with nnlearn.no_grad():
        assert not F.conv2d(x, w, b).requires_grad


def test_backward_uses_the_kernels_chosen_in_forward(rng, monkeypatch):
    x = Tensor(rng.standard_normal((1, 1, 4, 4)), requires_grad=True)
    out = F.conv2d(x, Tensor(rng.standard_normal((1, 1, 2, 2))))  # forward under the reference backend
    pooled = F.max_pool2d(out, 2)

    def no_new_lookup(*args, **kwargs):
        raise AssertionError("backward looked the kernels up again instead of reusing the forward's")

    monkeypatch.setattr(backend, "kernels", no_new_lookup)
    pooled.sum().backward()
    assert x.grad.shape == (1, 1, 4, 4)


# ---------------------------------------------------------------- pooling
@pytest.mark.parametrize("x_shape,kernel_size,stride,padding", POOL_CASES, ids=POOL_IDS)
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pool_gradcheck(rng, name, x_shape, kernel_size, stride, padding):
    # Distinct values (a shuffled ramp) 0.1 apart: no ties, so max pooling is differentiable at the point, and
    # eps = 1e-6 cannot change which element wins.
    x = Tensor(rng.permutation(np.prod(x_shape)).reshape(x_shape) * 0.1)
    pool = getattr(F, name)
    assert gradcheck(lambda x: pool(x, kernel_size, stride, padding), [x], raise_exception=True)


@pytest.mark.parametrize("x_shape,kernel_size,stride,padding", POOL_CASES, ids=POOL_IDS)
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-6), (np.float64, 1e-12)], ids=["float32", "float64"])
def test_pool_matches_pytorch_forward_and_backward(torch, rng, name, x_shape, kernel_size, stride, padding,
                                                   dtype, tol):
    x = rng.standard_normal(x_shape).astype(dtype)
    ours_x = Tensor(x, requires_grad=True)
    out = getattr(F, name)(ours_x, kernel_size, stride, padding)
    dout = rng.standard_normal(out.shape).astype(dtype)
    out.backward(dout)

    tx = as_torch(torch, x)
    expected = getattr(torch.nn.functional, name)(tx, kernel_size, stride, padding)
    expected.backward(torch.tensor(dout))
    assert out.dtype == dtype and ours_x.grad.dtype == dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours_x.grad, tx.grad.numpy(), rtol=tol, atol=tol)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum_like_pytorch(torch):
    x = np.ones((1, 1, 4, 4))
    ours = Tensor(x, requires_grad=True)
    F.max_pool2d(ours, 3, stride=1).sum().backward()
    tx = as_torch(torch, x)
    torch.nn.functional.max_pool2d(tx, 3, stride=1).sum().backward()
    # Each of the four overlapping windows picks its top-left element: (0,0), (0,1), (1,0), (1,1).
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, :2, :2] = 1
    np.testing.assert_array_equal(ours.grad, expected)
    np.testing.assert_array_equal(ours.grad, tx.grad.numpy())


def test_pool_by_hand():
    x = np.array([[1.0, 2.0, 5.0, 0.0],
                  [3.0, 4.0, 1.0, 1.0],
                  [0.0, 0.0, 2.0, 2.0],
                  [8.0, 0.0, 2.0, 6.0]]).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(F.max_pool2d(x, 2).data, [[[[4.0, 5.0], [8.0, 6.0]]]])
    np.testing.assert_array_equal(F.avg_pool2d(x, 2).data, [[[[2.5, 1.75], [2.0, 3.0]]]])
    # padding 1, stride 2, kernel 2: windows start at -1, so the corner windows hold one real element each and
    # average pooling still divides by 4 (the padding counts as zeros).
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, padding=1).data[0, 0, 0], [0.25, 1.75, 0.0])


def test_pool_stride_defaults_to_the_kernel_size(rng):
    x = rng.standard_normal((1, 1, 6, 6))
    np.testing.assert_array_equal(F.max_pool2d(x, 3).data, F.max_pool2d(x, 3, stride=3).data)
    np.testing.assert_array_equal(F.avg_pool2d(x, (2, 3)).data, F.avg_pool2d(x, (2, 3), stride=(2, 3)).data)
    assert F.max_pool2d(x, (2, 3)).shape == (1, 1, 3, 2)


# ---------------------------------------------------------------- bad input
def z(*shape, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


# (id, call, exception, message pattern): each names the argument and what was expected and received
BAD_INPUTS = [
    ("conv-channels", lambda: F.conv2d(z(2, 3, 8, 8), z(4, 1, 3, 3)), ValueError,
     r"conv2d: input has 3 channels, weight expects 1: shapes \(2, 3, 8, 8\) and \(4, 1, 3, 3\)"),
    ("conv-kernel-too-large", lambda: F.conv2d(z(1, 1, 2, 5), z(1, 1, 3, 3)), ValueError,
     r"conv2d: kernel size \(3, 3\) is larger than the padded input \(2, 5\).*input shape \(1, 1, 2, 5\), "
     r"weight shape \(1, 1, 3, 3\), padding \(0, 0\)"),
    ("conv-kernel-too-large-padded", lambda: F.conv2d(z(1, 1, 4, 2), z(1, 1, 3, 5), padding=1), ValueError,
     r"kernel size \(3, 5\) is larger than the padded input \(6, 4\)"),
    ("conv-3d-input", lambda: F.conv2d(z(3, 8, 8), z(4, 3, 3, 3)), ValueError,
     r"conv2d: input must be 4-D \(N, C_in, H, W\), got shape \(3, 8, 8\).*unsqueeze\(0\)"),
    ("conv-5d-input", lambda: F.conv2d(z(1, 1, 3, 8, 8), z(4, 3, 3, 3)), ValueError,
     r"input must be 4-D \(N, C_in, H, W\), got shape \(1, 1, 3, 8, 8\)"),
    ("conv-2d-weight", lambda: F.conv2d(z(1, 3, 8, 8), z(4, 27)), ValueError,
     r"conv2d: weight must be 4-D \(C_out, C_in, kH, kW\), got shape \(4, 27\)"),
    ("conv-empty-input", lambda: F.conv2d(z(0, 3, 8, 8), z(4, 3, 3, 3)), ValueError,
     r"input must not be empty.*got shape \(0, 3, 8, 8\)"),
    ("conv-int-input", lambda: F.conv2d(z(1, 1, 4, 4, dtype=np.int64), z(1, 1, 3, 3)), TypeError,
     r"conv2d: input must have dtype float32 or float64, got int64"),
    ("conv-complex-weight", lambda: F.conv2d(z(1, 1, 4, 4), z(1, 1, 3, 3, dtype=np.complex64)), TypeError,
     r"conv2d: weight must have dtype float32 or float64, got complex64"),
    ("conv-float16-input", lambda: F.conv2d(z(1, 1, 4, 4, dtype=np.float16), z(1, 1, 3, 3)), TypeError,
     r"input must have dtype float32 or float64, got float16"),
    ("conv-object-input", lambda: F.conv2d(np.empty((1, 1, 4, 4), dtype=object), z(1, 1, 3, 3)), TypeError,
     r"conv2d: input must be a Tensor or an array-like of numbers, got ndarray"),
    ("conv-dtype-mismatch", lambda: F.conv2d(z(1, 1, 4, 4), z(1, 1, 3, 3, dtype=np.float64)), TypeError,
     r"conv2d: input and weight must have the same dtype, got input float32 and weight float64"),
    ("conv-bias-shape", lambda: F.conv2d(z(1, 3, 8, 8), z(4, 3, 3, 3), z(3)), ValueError,
     r"conv2d: bias must have shape \(C_out,\) = \(4,\) to match weight of shape \(4, 3, 3, 3\), "
     r"got bias of shape \(3,\)"),
    ("conv-bias-2d", lambda: F.conv2d(z(1, 3, 8, 8), z(4, 3, 3, 3), z(4, 1)), ValueError,
     r"bias must have shape \(C_out,\) = \(4,\).*got bias of shape \(4, 1\)"),
    ("conv-bias-dtype", lambda: F.conv2d(z(1, 3, 8, 8), z(4, 3, 3, 3), z(4, dtype=np.float64)), TypeError,
     r"bias and weight must have the same dtype, got bias float64 and weight float32"),
    ("conv-stride-0", lambda: F.conv2d(z(1, 1, 4, 4), z(1, 1, 3, 3), stride=0), ValueError,
     r"conv2d: stride must be positive, got 0"),
    ("conv-stride-negative", lambda: F.conv2d(z(1, 1, 4, 4), z(1, 1, 3, 3), stride=(1, -2)), ValueError,
     r"conv2d: stride must be positive, got \(1, -2\)"),
    ("conv-padding-negative", lambda: F.conv2d(z(1, 1, 4, 4), z(1, 1, 3, 3), padding=-1), ValueError,
     r"conv2d: padding must be >= 0, got -1"),
    ("conv-stride-float", lambda: F.conv2d(z(1, 1, 4, 4), z(1, 1, 3, 3), stride=1.5), TypeError,
     r"conv2d: stride must be an int or a pair of ints \(height, width\), got 1.5"),
    ("conv-padding-triple", lambda: F.conv2d(z(1, 1, 4, 4), z(1, 1, 3, 3), padding=(1, 1, 1)), TypeError,
     r"conv2d: padding must be an int or a pair of ints \(height, width\), got \(1, 1, 1\)"),
    ("conv-padding-str", lambda: F.conv2d(z(1, 1, 4, 4), z(1, 1, 3, 3), padding="same"), TypeError,
     r"padding must be an int or a pair of ints \(height, width\), got 'same'"),
    ("max-pad-over-half", lambda: F.max_pool2d(z(1, 1, 8, 8), 3, padding=2), ValueError,
     r"max_pool2d: padding must be at most half of kernel_size, got padding=\(2, 2\) for kernel_size=\(3, 3\)"),
    ("avg-pad-over-half", lambda: F.avg_pool2d(z(1, 1, 8, 8), (4, 2), padding=(2, 2)), ValueError,
     r"avg_pool2d: padding must be at most half of kernel_size, got padding=\(2, 2\) for kernel_size=\(4, 2\)"),
    ("max-kernel-too-large", lambda: F.max_pool2d(z(1, 1, 2, 2), 3), ValueError,
     r"max_pool2d: kernel size \(3, 3\) is larger than the padded input \(2, 2\).*input shape \(1, 1, 2, 2\)"),
    ("avg-kernel-too-large", lambda: F.avg_pool2d(z(2, 3, 5, 1), (2, 2)), ValueError,
     r"avg_pool2d: kernel size \(2, 2\) is larger than the padded input \(5, 1\).*input shape \(2, 3, 5, 1\)"),
    ("max-3d-input", lambda: F.max_pool2d(z(3, 8, 8), 2), ValueError,
     r"max_pool2d: input must be 4-D \(N, C, H, W\), got shape \(3, 8, 8\)"),
    ("avg-2d-input", lambda: F.avg_pool2d(z(8, 8), 2), ValueError,
     r"avg_pool2d: input must be 4-D \(N, C, H, W\), got shape \(8, 8\)"),
    ("max-int-input", lambda: F.max_pool2d(z(1, 1, 4, 4, dtype=np.int32), 2), TypeError,
     r"max_pool2d: input must have dtype float32 or float64, got int32"),
    ("avg-bool-input", lambda: F.avg_pool2d(z(1, 1, 4, 4, dtype=bool), 2), TypeError,
     r"avg_pool2d: input must have dtype float32 or float64, got bool"),
    ("max-kernel-0", lambda: F.max_pool2d(z(1, 1, 4, 4), 0), ValueError,
     r"max_pool2d: kernel_size must be positive, got 0"),
    ("avg-stride-0", lambda: F.avg_pool2d(z(1, 1, 4, 4), 2, stride=(0, 1)), ValueError,
     r"avg_pool2d: stride must be positive, got \(0, 1\)"),
    ("max-padding-negative", lambda: F.max_pool2d(z(1, 1, 4, 4), 2, padding=(0, -1)), ValueError,
     r"max_pool2d: padding must be >= 0, got \(0, -1\)"),
    ("max-kernel-bool", lambda: F.max_pool2d(z(1, 1, 4, 4), True), TypeError,
     r"max_pool2d: kernel_size must be an int or a pair of ints \(height, width\), got True"),
]


@pytest.mark.parametrize("call,error,match", [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_input_fails_before_any_kernel_runs(monkeypatch):
    """No kernel module is even looked up (so Numba never compiles) and no kernel function is called."""
    calls = []

    def trap(name):
        def fail(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} ran on bad input")
        return fail

    monkeypatch.setattr(backend, "kernels", trap("backend.kernels"))
    for family in ("conv2d", "pool2d"):
        module = importlib.import_module(f"nnlearn.kernels.reference.{family}")
        for name in dir(module):
            if name.endswith(("_forward", "_backward")):
                monkeypatch.setattr(module, name, trap(name))

    for case_id, call, error, match in BAD_INPUTS:
        with pytest.raises(error, match=match):
            call()
    assert calls == []
    # The trap works: a good call does reach it.
    with pytest.raises(AssertionError, match="backend.kernels ran on bad input"):
        F.conv2d(z(1, 1, 4, 4), z(1, 1, 3, 3))
