"""Public tests for the chapter 12 exercises (convolution and max pooling, forward and backward, in NumPy).

Each test takes ``nb``, the learner's answers: ``nb.conv2d_forward`` is the function the notebook defines.
Random cases are compared with the library's reference kernels (``nnlearn.kernels.reference``), which are
themselves tested against finite differences and PyTorch; small cases are worked out by hand in the comments.
Test names start with the exercise they grade: ``test_forward_*``, ``test_backward_*``, ``test_pool_*``,
``test_pool_backward_*``.
"""
from __future__ import annotations

import numpy as np

from nnlearn.grading import points
from nnlearn.kernels.reference import conv2d as ref_conv
from nnlearn.kernels.reference import pool2d as ref_pool

# The 4x4 image 0..15 and a 2x2 vertical-edge filter (right column minus left column).
IMAGE = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
EDGE = np.array([[[[-1.0, 1.0], [-1.0, 1.0]]]])


def random_case(seed, N, C_in, C_out, H, W, k):
    """x: (N, C_in, H, W), w: (C_out, C_in, k[0], k[1]), b: (C_out,), float64 from a fixed seed."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(N, C_in, H, W)), rng.normal(size=(C_out, C_in, *k)), rng.normal(size=C_out))


def ref_forward(x, w, b, stride, padding):
    return ref_conv.conv2d_forward(x, w, b, (stride, stride), (padding, padding))


def ref_backward(dout, x, w, stride, padding):
    return ref_conv.conv2d_backward(dout, x, w, (stride, stride), (padding, padding))


def out_size(size, k, stride, padding):
    return (size + 2 * padding - k) // stride + 1


def check_shape(got, shape, what):
    got = np.asarray(got)
    assert got.shape == shape, f"{what} should have shape {shape}, got {got.shape}"
    return got


# --- Exercise 1: conv2d_forward ---------------------------------------------------------------------------

@points(1)
def test_forward_hand_computed_edge_filter(nb):
    # Every 2x2 window of IMAGE is [[a, a+1], [a+4, a+5]]: EDGE gives (a+1 - a) + (a+5 - (a+4)) = 2, plus b = 0.5.
    got = check_shape(nb.conv2d_forward(IMAGE, EDGE, np.array([0.5]), 1, 0), (1, 1, 3, 3), "the output")
    np.testing.assert_allclose(got, np.full((1, 1, 3, 3), 2.5), err_msg="every window gives 2, plus the bias 0.5")


@points(1)
def test_forward_hand_computed_stride_and_padding(nb):
    # Padding 1, stride 2: window (i, j) covers image rows 2i-1, 2i and columns 2j-1, 2j (outside = 0).
    # Row 0 sees only image row 0: [x00, x02 - x01, -x03] = [0, 1, -3]; row 1 sees rows 1-2:
    # [4 + 8, (6-5) + (10-9), -(7 + 11)] = [12, 2, -18]; row 2 sees row 3: [12, 14 - 13, -15].
    got = check_shape(nb.conv2d_forward(IMAGE, EDGE, None, 2, 1), (1, 1, 3, 3), "the output")
    np.testing.assert_allclose(got[0, 0], [[0, 1, -3], [12, 2, -18], [12, 1, -15]],
                               err_msg="stride 2, padding 1, no bias (b=None)")


@points(1)
def test_forward_output_shapes(nb):
    for (H, W, k, stride, padding) in [(5, 7, (3, 3), 1, 0), (5, 7, (3, 2), 2, 1), (6, 6, (1, 1), 3, 0),
                                       (4, 9, (4, 4), 1, 2)]:
        x, w, b = random_case(0, 2, 3, 4, H, W, k)
        got = nb.conv2d_forward(x, w, b, stride, padding)
        expected = (2, 4, out_size(H, k[0], stride, padding), out_size(W, k[1], stride, padding))
        check_shape(got, expected, f"for x {x.shape}, w {w.shape}, stride {stride}, padding {padding}, the output")


@points(2)
def test_forward_matches_reference_multichannel(nb):
    x, w, b = random_case(1, 3, 4, 5, 7, 6, (3, 3))
    got = check_shape(nb.conv2d_forward(x, w, b, 1, 0), (3, 5, 5, 4), "the output")
    np.testing.assert_allclose(got, ref_forward(x, w, b, 1, 0), rtol=1e-10, atol=1e-10,
                               err_msg="3 images, 4 -> 5 channels, 3x3 filters: every channel sums over all inputs")


@points(2)
def test_forward_matches_reference_with_stride_and_padding(nb):
    for seed, (N, C_in, C_out, H, W, k, stride, padding) in enumerate([
            (2, 2, 3, 9, 8, (3, 3), 2, 1), (1, 1, 2, 7, 7, (5, 5), 3, 2), (2, 3, 1, 6, 5, (2, 3), 2, 0)]):
        x, w, b = random_case(10 + seed, N, C_in, C_out, H, W, k)
        got = np.asarray(nb.conv2d_forward(x, w, b, stride, padding))
        np.testing.assert_allclose(got, ref_forward(x, w, b, stride, padding), rtol=1e-10, atol=1e-10,
                                   err_msg=f"x {x.shape}, w {w.shape}, stride {stride}, padding {padding}")


@points(1)
def test_forward_without_bias_and_inputs_unchanged(nb):
    x, w, _ = random_case(2, 2, 2, 3, 5, 5, (3, 3))
    x_copy, w_copy = x.copy(), w.copy()
    got = np.asarray(nb.conv2d_forward(x, w, None, 1, 1))
    np.testing.assert_allclose(got, ref_forward(x, w, None, 1, 1), rtol=1e-10, atol=1e-10,
                               err_msg="b=None means no bias")
    np.testing.assert_array_equal(x, x_copy, err_msg="conv2d_forward must not change x")
    np.testing.assert_array_equal(w, w_copy, err_msg="conv2d_forward must not change w")


# --- Exercise 2: conv2d_backward --------------------------------------------------------------------------

@points(1)
def test_backward_hand_computed(nb):
    # x = [[0, 1, 2], [4, 5, 6], [8, 9, 10]], EDGE, dout = 1 at all four positions:
    #   db = 4 (four positions); dw[p, q] = sum of the pixels w[p, q] touched = sum of x[p:p+2, q:q+2]
    #   = [[0+1+4+5, 1+2+5+6], [4+5+8+9, 5+6+9+10]]; dx[r, c] = sum of the filter weights that touched
    #   pixel (r, c): left column -1 per window, right column +1, so [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]].
    dx, dw, db = nb.conv2d_backward(np.ones((1, 1, 2, 2)), IMAGE[:, :, :3, :3], EDGE, 1, 0)
    np.testing.assert_allclose(np.ravel(db), [4.0], err_msg="db: dout summed over the batch and every position")
    np.testing.assert_allclose(np.asarray(dw)[0, 0], [[10, 14], [26, 30]], err_msg="dw with dout = 1")
    np.testing.assert_allclose(np.asarray(dx)[0, 0], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], err_msg="dx with dout = 1")


@points(1)
def test_backward_shapes(nb):
    x, w, _ = random_case(3, 2, 3, 4, 7, 6, (3, 2))
    dout = np.random.default_rng(3).normal(size=(2, 4, out_size(7, 3, 2, 1), out_size(6, 2, 2, 1)))
    result = nb.conv2d_backward(dout, x, w, 2, 1)
    assert isinstance(result, tuple) and len(result) == 3, "conv2d_backward must return a tuple (dx, dw, db)"
    check_shape(result[0], x.shape, "dx (like x)")
    check_shape(result[1], w.shape, "dw (like w)")
    check_shape(result[2], (4,), "db, (C_out,)")


@points(2)
def test_backward_matches_reference(nb):
    x, w, b = random_case(4, 3, 2, 4, 6, 7, (3, 3))
    dout = np.random.default_rng(4).normal(size=(3, 4, 4, 5))
    names = ("dx", "dw", "db")
    for name, got, expected in zip(names, nb.conv2d_backward(dout, x, w, 1, 0), ref_backward(dout, x, w, 1, 0)):
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-10, atol=1e-10,
                                   err_msg=f"{name}, stride 1, padding 0")


@points(2)
def test_backward_matches_reference_with_stride_and_padding(nb):
    # Stride 1 with padding (overlapping windows that run off the image) and stride 3 with a 2x2 filter
    # (gaps between the windows: some pixels get no gradient at all).
    for seed, (N, C_in, C_out, H, W, k, stride, padding) in enumerate([
            (2, 2, 3, 5, 6, (3, 3), 1, 2), (1, 3, 2, 8, 7, (2, 2), 3, 0), (2, 1, 2, 9, 9, (4, 3), 2, 1)]):
        x, w, _ = random_case(20 + seed, N, C_in, C_out, H, W, k)
        shape = (N, C_out, out_size(H, k[0], stride, padding), out_size(W, k[1], stride, padding))
        dout = np.random.default_rng(seed).normal(size=shape)
        got = nb.conv2d_backward(dout, x, w, stride, padding)
        for name, g, e in zip(("dx", "dw", "db"), got, ref_backward(dout, x, w, stride, padding)):
            np.testing.assert_allclose(np.asarray(g), e, rtol=1e-10, atol=1e-10,
                                       err_msg=f"{name} for x {x.shape}, w {w.shape}, stride {stride}, "
                                               f"padding {padding}")


@points(1)
def test_backward_agrees_with_finite_differences(nb):
    # L = sum(dout * conv(x, w)) is linear in x and in w, so central differences are exact up to rounding.
    x, w, _ = random_case(5, 1, 2, 2, 4, 4, (2, 2))
    dout = np.random.default_rng(5).normal(size=(1, 2, 3, 3))  # (4 + 2 - 2) // 2 + 1 = 3 positions per axis
    dx, dw, _ = nb.conv2d_backward(dout, x, w, 2, 1)

    def loss(x_, w_):
        return float(np.sum(dout * ref_forward(x_, w_, None, 2, 1)))

    eps = 1e-6
    for index in [(0, 0, 0, 0), (0, 1, 2, 3), (0, 0, 3, 1)]:
        bump = np.zeros_like(x)
        bump[index] = eps
        numeric = (loss(x + bump, w) - loss(x - bump, w)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(dx)[index], numeric, rtol=1e-5, atol=1e-8, err_msg=f"dx{index}")
    for index in [(0, 0, 0, 0), (1, 1, 1, 0)]:
        bump = np.zeros_like(w)
        bump[index] = eps
        numeric = (loss(x, w + bump) - loss(x, w - bump)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(dw)[index], numeric, rtol=1e-5, atol=1e-8, err_msg=f"dw{index}")


# --- Exercise 3: max_pool2d_forward -----------------------------------------------------------------------

@points(1)
def test_pool_hand_computed(nb):
    # The 2x2 windows of IMAGE have their maxima at their bottom-right corners: 5, 7, 13, 15.
    got = check_shape(nb.max_pool2d_forward(IMAGE, 2), (1, 1, 2, 2), "pooling 4x4 by 2x2 windows")
    np.testing.assert_allclose(got[0, 0], [[5, 7], [13, 15]], err_msg="stride=None means stride = kernel_size")
    got = check_shape(nb.max_pool2d_forward(IMAGE, 3, 1), (1, 1, 2, 2), "3x3 windows at stride 1")
    np.testing.assert_allclose(got[0, 0], [[10, 11], [14, 15]], err_msg="overlapping 3x3 windows, stride 1")


@points(2)
def test_pool_matches_reference(nb):
    x = np.random.default_rng(6).normal(size=(2, 3, 7, 6))
    for k, stride in [(2, None), (3, 1), (2, 3), (3, 2)]:
        s = k if stride is None else stride
        expected, _ = ref_pool.max_pool2d_forward(x, (k, k), (s, s), (0, 0))
        got = check_shape(nb.max_pool2d_forward(x, k, stride), expected.shape,
                          f"kernel_size {k}, stride {stride}: the output")
        np.testing.assert_allclose(got, expected, err_msg=f"kernel_size {k}, stride {stride}")


# --- Exercise 4: max_pool2d_backward ----------------------------------------------------------------------

@points(1)
def test_pool_backward_hand_computed(nb):
    # Each 2x2 window's maximum is its bottom-right corner: the gradients 1, 2, 3, 4 land there.
    dx = nb.max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), IMAGE, 2)
    expected = np.zeros((4, 4))
    expected[1, 1], expected[1, 3], expected[3, 1], expected[3, 3] = 1, 2, 3, 4
    np.testing.assert_allclose(check_shape(dx, (1, 1, 4, 4), "dx (like x)")[0, 0], expected,
                               err_msg="each window's gradient goes to its maximum, the rest get 0")


@points(1)
def test_pool_backward_ties_go_to_the_first_maximum(nb):
    # A window of equal values: PyTorch (and argmax) give the gradient to the first one in row-major order.
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, :, 2:] = 7.0  # second window: all four are 7
    dx = np.asarray(nb.max_pool2d_backward(np.array([[[[5.0, 6.0]]]]), x, 2))
    expected = np.zeros((2, 4))
    expected[0, 0], expected[0, 2] = 5.0, 6.0
    np.testing.assert_allclose(dx[0, 0], expected, err_msg="a tie goes to the first maximum (top-left first)")


@points(2)
def test_pool_backward_matches_reference(nb):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 2, 8, 6))
    for k, stride in [(2, None), (3, 3), (2, 3)]:
        s = k if stride is None else stride
        out, indices = ref_pool.max_pool2d_forward(x, (k, k), (s, s), (0, 0))
        dout = rng.normal(size=out.shape)
        got = check_shape(nb.max_pool2d_backward(dout, x, k, stride), x.shape, "dx (like x)")
        np.testing.assert_allclose(got, ref_pool.max_pool2d_backward(dout, indices, x.shape),
                                   err_msg=f"kernel_size {k}, stride {stride}")


@points(2)
def test_pool_backward_overlapping_windows_add_up(nb):
    # A single peak inside all four 3x3 windows (stride 1) of a 4x4 image collects all four gradients.
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = 9.0
    dx = np.asarray(nb.max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), x, 3, 1))
    expected = np.zeros((4, 4))
    expected[1, 1] = 1 + 2 + 3 + 4
    np.testing.assert_allclose(dx[0, 0], expected, err_msg="overlapping windows sharing a maximum must add (+=)")
    # ... and on random data with overlapping windows the result matches the reference.
    x = np.random.default_rng(8).normal(size=(2, 3, 7, 7))
    out, indices = ref_pool.max_pool2d_forward(x, (3, 3), (2, 2), (0, 0))
    dout = np.random.default_rng(9).normal(size=out.shape)
    np.testing.assert_allclose(np.asarray(nb.max_pool2d_backward(dout, x, 3, 2)),
                               ref_pool.max_pool2d_backward(dout, indices, x.shape),
                               err_msg="kernel_size 3, stride 2 (overlapping windows)")
