"""The Numba CPU kernels (conv2d, max/avg pooling) against the NumPy reference, on random shapes.

Hypothesis draws batch size, channels, image size, kernel, stride and padding (each axis on its own, so
non-square kernels and asymmetric pairs come up), and the dtype; the compiled kernel must agree with the
reference, which is itself checked against PyTorch and finite differences in ``test_kernels_reference.py``.
The first run compiles the kernels (tens of seconds); Numba caches them on disk for later runs.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba", reason="Numba not installed: CPU kernel tests skipped")

from nnlearn.kernels.cpu import conv2d as cpu_conv  # noqa: E402
from nnlearn.kernels.cpu import pool2d as cpu_pool  # noqa: E402
from nnlearn.kernels.reference import conv2d as ref_conv  # noqa: E402
from nnlearn.kernels.reference import pool2d as ref_pool  # noqa: E402

TOLERANCES = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-4)}
DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def conv_shapes(draw):
    """(N, C_in, C_out, H, W, kernel, stride, padding) with the padded image at least as large as the kernel."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    H = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), kernel[0] + 7))
    W = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), kernel[1] + 7))
    return draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 5)), H, W, kernel, stride, padding


@st.composite
def pool_shapes(draw):
    """(N, C, H, W, kernel, stride, padding) with padding at most half the kernel, as PyTorch requires."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    H = draw(st.integers(kernel[0], kernel[0] + 7))
    W = draw(st.integers(kernel[1], kernel[1] + 7))
    return draw(st.integers(1, 4)), draw(st.integers(1, 4)), H, W, kernel, stride, padding


def assert_same(got, want, dtype):
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **TOLERANCES[dtype])


@settings(max_examples=25, deadline=None)
@given(shape=conv_shapes(), dtype=DTYPES, bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_conv2d_matches_reference(shape, dtype, bias, seed):
    N, C_in, C_out, H, W, kernel, stride, padding = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C_in, H, W)).astype(dtype)
    w = rng.standard_normal((C_out, C_in, *kernel)).astype(dtype)
    b = rng.standard_normal(C_out).astype(dtype) if bias else None

    out = cpu_conv.conv2d_forward(x, w, b, stride, padding)
    assert_same(out, ref_conv.conv2d_forward(x, w, b, stride, padding), dtype)

    dout = rng.standard_normal(out.shape).astype(dtype)
    got = cpu_conv.conv2d_backward(dout, x, w, stride, padding)
    want = ref_conv.conv2d_backward(dout, x, w, stride, padding)
    for g, r in zip(got, want):
        assert_same(g, r, dtype)


@settings(max_examples=25, deadline=None)
@given(shape=pool_shapes(), dtype=DTYPES, ties=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_max_pool2d_matches_reference(shape, dtype, ties, seed):
    N, C, H, W, kernel, stride, padding = shape
    rng = np.random.default_rng(seed)
    # With values from {0, 1, 2} most windows hold a tie: the first maximum must win, as in the reference.
    x = (rng.integers(0, 3, (N, C, H, W)) if ties else rng.standard_normal((N, C, H, W))).astype(dtype)

    out, indices = cpu_pool.max_pool2d_forward(x, kernel, stride, padding)
    ref_out, ref_indices = ref_pool.max_pool2d_forward(x, kernel, stride, padding)
    assert_same(out, ref_out, dtype)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices, ref_indices)

    dout = rng.standard_normal(out.shape).astype(dtype)
    assert_same(cpu_pool.max_pool2d_backward(dout, indices, x.shape),
                ref_pool.max_pool2d_backward(dout, ref_indices, x.shape), dtype)


@settings(max_examples=25, deadline=None)
@given(shape=pool_shapes(), dtype=DTYPES, seed=st.integers(0, 2**32 - 1))
def test_avg_pool2d_matches_reference(shape, dtype, seed):
    N, C, H, W, kernel, stride, padding = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)

    out = cpu_pool.avg_pool2d_forward(x, kernel, stride, padding)
    assert_same(out, ref_pool.avg_pool2d_forward(x, kernel, stride, padding), dtype)

    dout = rng.standard_normal(out.shape).astype(dtype)
    assert_same(cpu_pool.avg_pool2d_backward(dout, x.shape, kernel, stride, padding),
                ref_pool.avg_pool2d_backward(dout, x.shape, kernel, stride, padding), dtype)


def test_kernels_accept_views_of_dout(rng):
    # Autograd may hand a backward pass a broadcast or transposed view; the result must not depend on it.
    x = rng.standard_normal((3, 2, 6, 5))
    w = rng.standard_normal((4, 2, 3, 3))
    out_shape = cpu_conv.conv2d_forward(x, w, None, (1, 1), (1, 1)).shape
    broadcast = np.broadcast_to(np.float64(0.5), out_shape)
    for g, r in zip(cpu_conv.conv2d_backward(broadcast, x, w, (1, 1), (1, 1)),
                    ref_conv.conv2d_backward(np.full(out_shape, 0.5), x, w, (1, 1), (1, 1))):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10)
    transposed = rng.standard_normal((out_shape[3], out_shape[2], out_shape[1], out_shape[0])).T
    for g, r in zip(cpu_conv.conv2d_backward(transposed, x, w, (1, 1), (1, 1)),
                    ref_conv.conv2d_backward(np.ascontiguousarray(transposed), x, w, (1, 1), (1, 1))):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10)
    pooled_shape = (3, 2, 3, 2)
    dout = np.broadcast_to(np.float64(1.0), pooled_shape)
    np.testing.assert_array_equal(cpu_pool.avg_pool2d_backward(dout, x.shape, (2, 2), (2, 2), (0, 0)),
                                  ref_pool.avg_pool2d_backward(np.ones(pooled_shape), x.shape, (2, 2), (2, 2), (0, 0)))


@pytest.mark.parametrize("threads", [1, 2])
def test_conv2d_result_does_not_depend_on_thread_count(rng, threads):
    # The batch is split into one chunk per thread and dW, db are summed per chunk: any split must agree.
    import numba
    x = rng.standard_normal((5, 3, 7, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    dout = rng.standard_normal((5, 4, 7, 7))
    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        got = cpu_conv.conv2d_backward(dout, x, w, (1, 1), (1, 1))
    finally:
        numba.set_num_threads(previous)
    for g, r in zip(got, ref_conv.conv2d_backward(dout, x, w, (1, 1), (1, 1))):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10)


def test_conv2d_leaves_blas_threads_as_they_were_and_prints_nothing(rng, capfd):
    # BLAS runs single-threaded inside our parallel loop (a multi-threaded OpenBLAS under OpenMP prints a
    # warning on every call); the limit must be lifted again afterwards, for NumPy's own matmuls.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    x = rng.standard_normal((8, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)
    cpu_conv.conv2d_forward(x, w, None, (1, 1), (1, 1))  # loads SciPy's BLAS before we look
    before = [(lib["filepath"], lib["num_threads"]) for lib in threadpoolctl.threadpool_info()]
    out = cpu_conv.conv2d_forward(x, w, None, (1, 1), (1, 1))
    cpu_conv.conv2d_backward(np.ones_like(out), x, w, (1, 1), (1, 1))
    after = [(lib["filepath"], lib["num_threads"]) for lib in threadpoolctl.threadpool_info()]
    assert after == before
    assert "OpenBLAS" not in capfd.readouterr().err
