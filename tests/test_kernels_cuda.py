"""The CUDA kernels (``nnlearn.kernels.cuda``) against the NumPy reference.

By default these run under Numba's CUDA simulator (``tests/conftest.py`` sets ``NUMBA_ENABLE_CUDASIM=1``),
which executes every GPU thread as a Python thread: slow, so the shapes are small, but chosen so that each
kernel's grid spans several 128-thread blocks and its last block is ragged (the spare threads must do nothing).
On a machine with an NVIDIA GPU, ``NNLEARN_CUDA=real pytest tests/test_kernels_cuda.py`` runs the same tests on
the device, plus the larger ones at the end (and the CuPy ones when CuPy is installed).
"""
from __future__ import annotations

import os
import sys
import types
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import cuda

from nnlearn.kernels.cuda import _launch
from nnlearn.kernels.cuda import conv2d as cuda_conv
from nnlearn.kernels.cuda import pool2d as cuda_pool
from nnlearn.kernels.reference import conv2d as ref_conv
from nnlearn.kernels.reference import pool2d as ref_pool

REAL_GPU_ASKED = os.environ.get("NNLEARN_CUDA") == "real"
if REAL_GPU_ASKED and not cuda.is_available():
    pytest.skip("NNLEARN_CUDA=real, but Numba finds no CUDA GPU here", allow_module_level=True)
TPB = _launch.THREADS_PER_BLOCK
real_gpu_only = pytest.mark.skipif(
    not REAL_GPU_ASKED,
    reason="needs an NVIDIA GPU: run with NNLEARN_CUDA=real on a machine with one (here: the CUDA simulator)")


def assert_close(got, want):
    """Same dtype and shape, and equal up to rounding: float32 to ~1e-5 of the largest value, float64 to ~1e-12."""
    got = got.copy_to_host() if hasattr(got, "copy_to_host") else np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = 1e-5 if want.dtype == np.float32 else 1e-12
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def spans_blocks(size: int) -> bool:
    """True when a one-thread-per-element grid over ``size`` elements has several blocks, the last one ragged."""
    return size > 2 * TPB and size % TPB != 0


def test_the_kernels_run_on_the_simulator_unless_a_real_gpu_is_asked_for():
    simulated = type(cuda.to_device(np.zeros(1))).__name__ == "FakeCUDAArray"
    assert simulated != REAL_GPU_ASKED  # CI must never need a GPU; NNLEARN_CUDA=real must never be simulated


# ---------------------------------------------------------------- conv2d
# (N, C_in, C_out, H, W, (kH, kW), stride, padding, bias, dtype): batch 1 and 2, stride > 1 (also larger than
# the kernel, so some pixels are in no window and get dx = 0), padding, non-square kernels, both dtypes.
CONV_CASES = [
    (1, 2, 5, 10, 13, (3, 2), (2, 1), (1, 0), True, np.float32),
    (2, 3, 4, 9, 11, (3, 3), (1, 1), (0, 0), True, np.float64),
    (2, 2, 7, 13, 14, (2, 2), (3, 3), (0, 1), True, np.float32),
    (1, 4, 7, 12, 13, (1, 1), (2, 2), (0, 0), False, np.float64),
]


def conv_data(rng, N, C_in, C_out, H, W, kernel, bias, dtype):
    x = rng.standard_normal((N, C_in, H, W)).astype(dtype)
    w = rng.standard_normal((C_out, C_in, *kernel)).astype(dtype)
    b = rng.standard_normal(C_out).astype(dtype) if bias else None
    return x, w, b


@pytest.mark.parametrize("N, C_in, C_out, H, W, kernel, stride, padding, bias, dtype", CONV_CASES)
def test_conv2d_forward_and_backward_match_the_reference(rng, N, C_in, C_out, H, W, kernel, stride, padding,
                                                         bias, dtype):
    x, w, b = conv_data(rng, N, C_in, C_out, H, W, kernel, bias, dtype)
    want = ref_conv.conv2d_forward(x, w, b, stride, padding)
    got = cuda_conv.conv2d_forward(x, w, b, stride, padding)
    assert type(got) is np.ndarray  # host arrays in, host arrays out
    assert_close(got, want)
    dout = rng.standard_normal(want.shape).astype(dtype)
    for g, r in zip(cuda_conv.conv2d_backward(dout, x, w, stride, padding),
                    ref_conv.conv2d_backward(dout, x, w, stride, padding)):
        assert type(g) is np.ndarray
        assert_close(g, r)
    assert spans_blocks(want.size) and spans_blocks(x.size)  # the grids really have ragged edges


def test_conv2d_stride_larger_than_kernel_leaves_zero_gradient_between_windows(rng):
    x, w, b = conv_data(rng, 1, 1, 1, 7, 7, (2, 2), True, np.float64)
    dout = np.ones((1, 1, 2, 2))
    dx, _, _ = cuda_conv.conv2d_backward(dout, x, w, (3, 3), (0, 0))
    # Windows start at rows/columns 0 and 3 and are 2 wide: rows/columns 2, 5 and 6 are in none of them.
    for gap in (2, 5, 6):
        assert not dx[0, 0, gap].any() and not dx[0, 0, :, gap].any()
    np.testing.assert_array_equal(dx[0, 0, :2, :2], w[0, 0])  # window (0, 0) alone saw the top-left corner


def test_conv2d_splits_long_weight_sums_into_slices(rng, monkeypatch):
    # The dw/db sums are split so the GPU gets enough threads: never more slices than rows, never fewer than one.
    assert cuda_conv.slices_per_sum(864, 2048) == 2 ** 18 // 864
    assert cuda_conv.slices_per_sum(24, 5) == 5
    assert cuda_conv.slices_per_sum(10 ** 6, 100) == 1
    assert cuda_conv.slices_per_sum(0, 0) == 1
    # With a tiny thread target each slice must add up several rows (k, k + K, ...): still the same sums.
    x, w, b = conv_data(rng, 2, 2, 3, 8, 7, (3, 2), True, np.float64)
    stride, padding = (1, 2), (1, 1)
    dout = rng.standard_normal(ref_conv.conv2d_forward(x, w, b, stride, padding).shape)
    monkeypatch.setattr(cuda_conv, "TARGET_THREADS", 3 * w.size)  # 3 slices per weight, over 16 rows
    assert cuda_conv.slices_per_sum(w.size, 2 * 8) == 3
    _, dw, db = cuda_conv.conv2d_backward(dout, x, w, stride, padding)
    _, want_dw, want_db = ref_conv.conv2d_backward(dout, x, w, stride, padding)
    assert_close(dw, want_dw)
    assert_close(db, want_db)


def test_conv2d_empty_batch_gives_empty_outputs_and_zero_weight_gradients(rng):
    x, w, b = conv_data(rng, 0, 2, 3, 5, 5, (3, 3), True, np.float32)
    out = cuda_conv.conv2d_forward(x, w, b, (1, 1), (1, 1))
    assert out.shape == (0, 3, 5, 5) and out.dtype == np.float32
    dx, dw, db = cuda_conv.conv2d_backward(out, x, w, (1, 1), (1, 1))
    assert dx.shape == x.shape and not dw.any() and not db.any() and dw.shape == w.shape


@st.composite
def conv_problems(draw):
    """A random small conv2d problem whose kernel fits the padded input."""
    N, C_in, C_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kH, kW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, kH - 2 * ph), 9))
    W = draw(st.integers(max(1, kW - 2 * pw), 9))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2 ** 16))
    return N, C_in, C_out, H, W, (kH, kW), stride, (ph, pw), dtype, seed


@settings(max_examples=10, deadline=None, derandomize=True)  # each example costs ~0.4 s in the simulator
@given(conv_problems())
def test_conv2d_matches_the_reference_on_random_shapes(problem):
    N, C_in, C_out, H, W, kernel, stride, padding, dtype, seed = problem
    rng = np.random.default_rng(seed)
    x, w, b = conv_data(rng, N, C_in, C_out, H, W, kernel, True, dtype)
    want = ref_conv.conv2d_forward(x, w, b, stride, padding)
    assert_close(cuda_conv.conv2d_forward(x, w, b, stride, padding), want)
    dout = rng.standard_normal(want.shape).astype(dtype)
    for g, r in zip(cuda_conv.conv2d_backward(dout, x, w, stride, padding),
                    ref_conv.conv2d_backward(dout, x, w, stride, padding)):
        assert_close(g, r)


# ---------------------------------------------------------------- pooling
# (N, C, H, W, kernel_size, stride, padding, dtype): overlapping windows (stride < kernel: windows share
# maxima, so max-pool backward's atomic adds really collide), tiling windows, non-square everything.
POOL_CASES = [
    (2, 3, 9, 11, (3, 3), (1, 1), (1, 1), np.float64),
    (2, 3, 13, 17, (2, 2), (2, 2), (0, 0), np.float32),
    (2, 2, 11, 13, (3, 2), (2, 1), (1, 0), np.float32),
]


@pytest.mark.parametrize("N, C, H, W, kernel_size, stride, padding, dtype", POOL_CASES)
def test_max_pool2d_matches_the_reference(rng, N, C, H, W, kernel_size, stride, padding, dtype):
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    want, want_idx = ref_pool.max_pool2d_forward(x, kernel_size, stride, padding)
    got, idx = cuda_pool.max_pool2d_forward(x, kernel_size, stride, padding)
    assert_close(got, want)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, want_idx)
    dout = rng.standard_normal(want.shape).astype(dtype)
    dx = cuda_pool.max_pool2d_backward(dout, idx, x.shape)
    assert_close(dx, ref_pool.max_pool2d_backward(dout, want_idx, x.shape))
    assert spans_blocks(want.size) and spans_blocks(x.size)


@pytest.mark.parametrize("N, C, H, W, kernel_size, stride, padding, dtype", POOL_CASES)
def test_avg_pool2d_matches_the_reference(rng, N, C, H, W, kernel_size, stride, padding, dtype):
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    want = ref_pool.avg_pool2d_forward(x, kernel_size, stride, padding)
    assert_close(cuda_pool.avg_pool2d_forward(x, kernel_size, stride, padding), want)
    dout = rng.standard_normal(want.shape).astype(dtype)
    assert_close(cuda_pool.avg_pool2d_backward(dout, x.shape, kernel_size, stride, padding),
                 ref_pool.avg_pool2d_backward(dout, x.shape, kernel_size, stride, padding))


def test_max_pool2d_ties_infinities_and_nans_follow_pytorch_conventions():
    x = np.zeros((1, 3, 4, 4))
    x[0, 1] = -np.inf                                   # channel 1: nothing but -inf
    x[0, 2, 0, 1] = x[0, 2, 1, 0] = np.nan              # channel 2: two NaNs in the top-left window
    out, idx = cuda_pool.max_pool2d_forward(x, (3, 3), (2, 2), (1, 1))
    want, want_idx = ref_pool.max_pool2d_forward(x, (3, 3), (2, 2), (1, 1))
    np.testing.assert_array_equal(out, want)            # equal as arrays: NaN == NaN here, -inf == -inf
    np.testing.assert_array_equal(idx, want_idx)
    # Worked by hand: windows start at rows/columns -1 and 1 (padding 1, stride 2).
    # Channel 0, all zeros: a tie, so each window names its first real element.
    np.testing.assert_array_equal(idx[0, 0], [[0, 1], [4, 5]])
    # Channel 1, all -inf: padding never wins, so again the first real element, and the maximum is -inf.
    np.testing.assert_array_equal(idx[0, 1], [[0, 1], [4, 5]])
    assert np.all(out[0, 1] == -np.inf)
    # Channel 2: the NaN at (0, 1) comes first in row-major order, wins, and propagates.
    assert np.isnan(out[0, 2, 0, 0]) and idx[0, 2, 0, 0] == 1


def test_max_pool2d_backward_adds_every_window_that_picked_an_element():
    # One large value inside many overlapping windows: every 3x3 window at stride 1 picks it.
    x = np.zeros((1, 1, 5, 5), dtype=np.float32)
    x[0, 0, 2, 2] = 1.0
    out, idx = cuda_pool.max_pool2d_forward(x, (3, 3), (1, 1), (0, 0))
    assert np.all(idx == 2 * 5 + 2)
    dx = cuda_pool.max_pool2d_backward(np.ones_like(out), idx, x.shape)
    assert dx[0, 0, 2, 2] == 9 and dx.sum() == 9  # nine windows, nine atomic adds, none lost


@st.composite
def pool_problems(draw):
    """A random small pooling problem; padding at most half the kernel, as PyTorch requires."""
    kH, kW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kH // 2)), draw(st.integers(0, kW // 2))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)),
             draw(st.integers(max(1, kH - 2 * ph), 9)), draw(st.integers(max(1, kW - 2 * pw), 9)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return shape, (kH, kW), stride, (ph, pw), dtype, draw(st.integers(0, 2 ** 16))


@settings(max_examples=10, deadline=None, derandomize=True)
@given(pool_problems())
def test_pooling_matches_the_reference_on_random_shapes(problem):
    shape, kernel_size, stride, padding, dtype, seed = problem
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    want, want_idx = ref_pool.max_pool2d_forward(x, kernel_size, stride, padding)
    got, idx = cuda_pool.max_pool2d_forward(x, kernel_size, stride, padding)
    assert_close(got, want)
    np.testing.assert_array_equal(idx, want_idx)
    dout = rng.standard_normal(want.shape).astype(dtype)
    assert_close(cuda_pool.max_pool2d_backward(dout, idx, shape), ref_pool.max_pool2d_backward(dout, want_idx, shape))
    assert_close(cuda_pool.avg_pool2d_forward(x, kernel_size, stride, padding),
                 ref_pool.avg_pool2d_forward(x, kernel_size, stride, padding))
    assert_close(cuda_pool.avg_pool2d_backward(dout, shape, kernel_size, stride, padding),
                 ref_pool.avg_pool2d_backward(dout, shape, kernel_size, stride, padding))


# ---------------------------------------------------------------- where the arrays live
def is_numba_device_array(a) -> bool:
    return bool(getattr(a, "__cuda_ndarray__", False))


def test_device_arrays_in_give_device_arrays_out(rng):
    x, w, b = conv_data(rng, 1, 2, 3, 6, 7, (3, 3), True, np.float64)
    stride, padding = (1, 2), (1, 1)
    want = ref_conv.conv2d_forward(x, w, b, stride, padding)
    dout = rng.standard_normal(want.shape)
    x_d, w_d, b_d, dout_d = (cuda.to_device(a) for a in (x, w, b, dout))
    out = cuda_conv.conv2d_forward(x_d, w_d, b_d, stride, padding)
    assert is_numba_device_array(out)
    assert_close(out, want)
    grads = cuda_conv.conv2d_backward(dout_d, x_d, w_d, stride, padding)
    for g, r in zip(grads, ref_conv.conv2d_backward(dout, x, w, stride, padding)):
        assert is_numba_device_array(g)
        assert_close(g, r)
    # One GPU array among host ones is enough to answer on the GPU (the host arrays are copied up).
    assert is_numba_device_array(cuda_conv.conv2d_forward(x_d, w, None, stride, padding))
    pooled, idx = cuda_pool.max_pool2d_forward(x_d, (2, 2), (2, 2), (0, 0))
    assert is_numba_device_array(pooled) and is_numba_device_array(idx)
    assert is_numba_device_array(cuda_pool.max_pool2d_backward(pooled, idx, x.shape))
    avg = cuda_pool.avg_pool2d_forward(x_d, (2, 2), (1, 1), (1, 1))
    assert is_numba_device_array(avg)
    assert is_numba_device_array(cuda_pool.avg_pool2d_backward(avg, x.shape, (2, 2), (1, 1), (1, 1)))


def test_cupy_arrays_are_answered_with_arrays_from_cupy(monkeypatch):
    # A stand-in CuPy, just enough to check the choice of allocator and stream (no kernel runs here; the
    # real thing is tested on a GPU below). CuPy is recognised by module name: type(x).__module__ is cupy's.
    fake = types.ModuleType("cupy")
    made = []
    fake.empty = lambda shape, dtype: made.append(("empty", shape, np.dtype(dtype))) or np.empty(shape, dtype)
    fake.zeros = lambda shape, dtype: made.append(("zeros", shape, np.dtype(dtype))) or np.zeros(shape, dtype)
    fake.cuda = types.SimpleNamespace(get_current_stream=lambda: types.SimpleNamespace(ptr=0))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    FakeCupyArray = type("ndarray", (), {"__module__": "cupy._core.core", "__cuda_array_interface__": {}})
    space = _launch.ArraySpace(np.zeros(2), None, FakeCupyArray())
    assert space.cupy is fake and not space.on_host
    space.empty((2, 3), np.float32)
    space.zeros((4,), np.float64)
    assert made == [("empty", (2, 3), np.dtype(np.float32)), ("zeros", (4,), np.dtype(np.float64))]
    host = _launch.ArraySpace(np.zeros(2), None)
    assert host.on_host and host.cupy is None


def test_grid_sizes_cover_every_element_with_whole_blocks():
    assert [_launch.blocks_for(n, 128) for n in (0, 1, 128, 129, 300)] == [0, 1, 1, 2, 3]


def test_launch_sizes_the_grid_and_silences_only_the_small_grid_warning():
    launched = []

    class NoisyKernel:  # warns at configuration time, as Numba does on a real GPU for grids under 128 blocks
        def __getitem__(self, config):
            warnings.warn("Grid size 3 will likely result in GPU under-utilization due to low occupancy.")
            warnings.warn("something else")
            return lambda *args: launched.append((config, args))

    space = _launch.ArraySpace(np.zeros(1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        space.launch(NoisyKernel(), 300, "arg")
        space.launch(NoisyKernel(), 0, "arg")  # no elements: no launch at all
    assert launched == [((3, TPB, 0), ("arg",))]
    assert [str(w.message) for w in caught] == ["something else"]


# ---------------------------------------------------------------- on a real GPU only
REAL_CONV_CASES = [  # the benchmark's workloads, at a smaller batch
    (8, 3, 32, 32, 32, 3, 1),
    (8, 1, 16, 28, 28, 5, 0),
    (8, 32, 64, 16, 16, 3, 1),
]


@real_gpu_only
@pytest.mark.parametrize("N, C_in, C_out, H, W, k, pad", REAL_CONV_CASES)
def test_real_gpu_conv2d_matches_the_reference_on_benchmark_shapes(rng, N, C_in, C_out, H, W, k, pad):
    x, w, b = conv_data(rng, N, C_in, C_out, H, W, (k, k), True, np.float32)
    want = ref_conv.conv2d_forward(x, w, b, (1, 1), (pad, pad))
    dout = rng.standard_normal(want.shape).astype(np.float32)
    got = cuda_conv.conv2d_forward(cuda.to_device(x), cuda.to_device(w), cuda.to_device(b), (1, 1), (pad, pad))
    assert_close(got, want)
    grads = cuda_conv.conv2d_backward(cuda.to_device(dout), cuda.to_device(x), cuda.to_device(w), (1, 1), (pad, pad))
    for g, r in zip(grads, ref_conv.conv2d_backward(dout, x, w, (1, 1), (pad, pad))):
        assert_close(g, r)


@real_gpu_only
def test_real_gpu_kernels_take_and_return_cupy_arrays(rng):
    cupy = pytest.importorskip("cupy", reason="CuPy not installed: the zero-copy CuPy path is not tested")
    x, w, b = conv_data(rng, 2, 3, 4, 12, 10, (3, 3), True, np.float32)
    want = ref_conv.conv2d_forward(x, w, b, (2, 1), (1, 1))
    dout = rng.standard_normal(want.shape).astype(np.float32)
    out = cuda_conv.conv2d_forward(cupy.asarray(x), cupy.asarray(w), cupy.asarray(b), (2, 1), (1, 1))
    assert isinstance(out, cupy.ndarray)
    assert_close(cupy.asnumpy(out), want)
    grads = cuda_conv.conv2d_backward(cupy.asarray(dout), cupy.asarray(x), cupy.asarray(w), (2, 1), (1, 1))
    for g, r in zip(grads, ref_conv.conv2d_backward(dout, x, w, (2, 1), (1, 1))):
        assert isinstance(g, cupy.ndarray)
        assert_close(cupy.asnumpy(g), r)
    pooled, idx = cuda_pool.max_pool2d_forward(cupy.asarray(x), (2, 2), (2, 2), (0, 0))
    want_pooled, want_idx = ref_pool.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    assert isinstance(pooled, cupy.ndarray) and isinstance(idx, cupy.ndarray)
    assert_close(cupy.asnumpy(pooled), want_pooled)
    dx = cuda_pool.max_pool2d_backward(pooled, idx, x.shape)
    assert_close(cupy.asnumpy(dx), ref_pool.max_pool2d_backward(want_pooled, want_idx, x.shape))
    # Kernels queued on a non-default CuPy stream run in order with the CuPy work on that stream.
    with cupy.cuda.Stream(non_blocking=True):
        avg = cuda_pool.avg_pool2d_forward(cupy.asarray(x) * 2, (3, 3), (1, 1), (1, 1))
        total = float((avg * 1).sum())
    assert np.isclose(total, 2 * ref_pool.avg_pool2d_forward(x, (3, 3), (1, 1), (1, 1)).sum(), rtol=1e-4)
