"""The CUDA recurrent kernels (``nnlearn.kernels.cuda.recurrent``) against the NumPy reference.

Forward outputs, final states, every array in ``saved`` and every gradient of the backward pass must agree with
the reference (itself checked against PyTorch and finite differences in ``test_kernels_reference_recurrent.py``).
By default these run under Numba's CUDA simulator (``tests/conftest.py`` sets ``NUMBA_ENABLE_CUDASIM=1``), which
runs every GPU thread as a Python thread: the sequences are 1-3 steps, and the shapes of the first cases are
chosen so that every one-thread-per-element grid (the per-step kernels over ``N * H`` units, the input
projection, ``dx`` and the weight gradients) spans several 128-thread blocks with a ragged last block. With
``NNLEARN_CUDA=real`` on a machine with an NVIDIA GPU the same tests run on the device, plus the larger ones at
the end. Whether the kernels compile for a real GPU is checked without one, too (by compiling them to PTX).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import cuda

from nnlearn.kernels.cuda import _launch
from nnlearn.kernels.cuda import recurrent as cu
from nnlearn.kernels.reference import recurrent as ref
from recurrent_cases import GATES, make_data, run

REAL_GPU_ASKED = os.environ.get("NNLEARN_CUDA") == "real"
if REAL_GPU_ASKED and not cuda.is_available():
    pytest.skip("NNLEARN_CUDA=real, but Numba finds no CUDA GPU here", allow_module_level=True)
TPB = _launch.THREADS_PER_BLOCK
real_gpu_only = pytest.mark.skipif(
    not REAL_GPU_ASKED,
    reason="needs an NVIDIA GPU: run with NNLEARN_CUDA=real on a machine with one (here: the CUDA simulator)")


def to_host(a):
    return a.copy_to_host() if hasattr(a, "copy_to_host") else a.get() if hasattr(a, "get") else a


def assert_close(got, want, tol32=1e-5):
    """Same dtype and shape, and equal up to rounding: float32 to ``tol32`` (1e-5) of the largest value, float64
    to 1e-12 (the kernels add in another order than BLAS does)."""
    got = to_host(got)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    tol = tol32 if want.dtype == np.float32 else 1e-12
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def assert_all_close(got, want, tol32=1e-5):
    """Every forward output, saved array and gradient (the three parts of :func:`run`)."""
    for part_got, part_want in zip(got, want):
        assert len(part_got) == len(part_want)
        for g, w in zip(part_got, part_want):
            assert_close(g, w, tol32)


def spans_blocks(size: int) -> bool:
    """True when a one-thread-per-element grid over ``size`` elements has several blocks, the last one ragged."""
    return size > 2 * TPB and size % TPB != 0


# ---------------------------------------------------------------- against the reference
# (cell, T, N, I, H): N * H units per step, G * H * I and G * H * H weights, T * N * G * H projected inputs and
# T * N * I input gradients: each more than two blocks, none a whole number of blocks.
# The simulator takes ~1-2 s for each, so each cell runs in one dtype; the other cases cover both dtypes.
RAGGED_CASES = [
    ("rnn", 2, 17, 16, 17, np.float64),
    ("lstm", 2, 31, 8, 9, np.float32),
    ("gru", 3, 29, 10, 10, np.float64),
]


@pytest.mark.parametrize("cell, T, N, I, H, dtype", RAGGED_CASES)
def test_kernels_match_the_reference_on_grids_with_ragged_blocks(rng, cell, T, N, I, H, dtype):
    G = GATES[cell]
    for size in (N * H, G * H * I, G * H * H, T * N * G * H, T * N * I):
        assert spans_blocks(size), size
    d = make_data(rng, cell, T, N, I, H, dtype)
    got, want = run(cu, cell, d), run(ref, cell, d)
    assert all(type(a) is np.ndarray for part in got for a in part)  # host arrays in, host arrays out
    assert_all_close(got, want)


# Sequence length 1, batch 1, no biases, then all three at once: each cell, in both dtypes.
EDGE_CASES = [  # (T, N, I, H, bias, dtype)
    (1, 3, 4, 5, True, np.float32),
    (4, 1, 3, 5, True, np.float64),
    (3, 2, 4, 3, False, np.float32),
    (1, 1, 1, 1, False, np.float64),
]


@pytest.mark.parametrize("cell", sorted(GATES))
@pytest.mark.parametrize("T, N, I, H, bias, dtype", EDGE_CASES)
def test_kernels_match_the_reference_on_edge_cases(rng, cell, T, N, I, H, bias, dtype):
    d = make_data(rng, cell, T, N, I, H, dtype, bias)
    got, want = run(cu, cell, d), run(ref, cell, d)
    assert_all_close(got, want)
    db_ih, db_hh = got[2][-2:]
    assert db_ih.shape == db_hh.shape == (GATES[cell] * H,)  # returned even without biases


@pytest.mark.parametrize("cell", sorted(GATES))
def test_either_bias_alone(rng, cell):
    # F.lstm & co. accept b_ih without b_hh and the other way round; the GRU adds the two in different places.
    for missing in ("b_ih", "b_hh"):
        d = make_data(rng, cell, 2, 2, 3, 4, np.float64)
        d[missing] = None
        assert_all_close(run(cu, cell, d), run(ref, cell, d))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_saturated_gates_stay_finite_and_match_the_reference(rng, cell):
    # Pre-activations of several hundred: exp(-a) would overflow float32 in the textbook sigmoid.
    d = make_data(rng, cell, 2, 2, 3, 4, np.float32, scale=300.0)
    assert np.abs(ref.input_projection(d["x"], d["w_ih"], None)).max() > 100  # float32's exp overflows past 88.7
    got, want = run(cu, cell, d), run(ref, cell, d)
    assert all(np.isfinite(to_host(a)).all() for part in got for a in part)
    assert_all_close(got, want)


@settings(max_examples=8, deadline=None, derandomize=True)  # ~0.5-1 s per example in the simulator
@given(cell=st.sampled_from(sorted(GATES)), T=st.integers(1, 3), N=st.integers(1, 4), I=st.integers(1, 5),
       H=st.integers(1, 6), dtype=st.sampled_from([np.float32, np.float64]), bias=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_kernels_match_the_reference_on_random_shapes(cell, T, N, I, H, dtype, bias, seed):
    d = make_data(np.random.default_rng(seed), cell, T, N, I, H, dtype, bias)
    assert_all_close(run(cu, cell, d), run(ref, cell, d))


def test_outputs_do_not_alias_saved_inputs_are_left_alone_and_reruns_give_the_same_bits(rng):
    d = make_data(rng, "lstm", 2, 2, 3, 4, np.float32)
    before = {k: v.copy() for k, v in d.items() if v is not None}
    first = run(cu, "lstm", d)
    (out, h_n, c_n), (h, c, gates), _ = first
    for a in (out, h_n, c_n):
        assert not any(np.shares_memory(a, s) for s in (h, c, gates))
    for k, v in before.items():
        np.testing.assert_array_equal(d[k], v, err_msg=k)
    # No atomics: every sum is added up by one thread in a fixed order, so a second run is bit for bit the same.
    for part_a, part_b in zip(first, run(cu, "lstm", d)):
        for a, b in zip(part_a, part_b):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- where the arrays live
def is_numba_device_array(a) -> bool:
    return bool(getattr(a, "__cuda_ndarray__", False))


@pytest.mark.parametrize("cell", sorted(GATES))
def test_device_arrays_in_give_device_arrays_out(rng, cell):
    d = make_data(rng, cell, 2, 3, 4, 5, np.float64)
    want = run(ref, cell, d)
    on_gpu = {k: None if v is None else cuda.to_device(v) for k, v in d.items()}
    got = run(cu, cell, on_gpu)  # the saved device arrays go back into the backward pass as they are
    assert all(is_numba_device_array(a) for part in got for a in part)
    assert_all_close(got, want)


def test_one_device_array_among_host_arrays_is_enough_to_answer_on_the_gpu(rng):
    d = make_data(rng, "lstm", 2, 3, 4, 5, np.float32)
    d["x"] = cuda.to_device(d["x"])
    out, h_n, c_n, saved = cu.lstm_forward(d["x"], d["h0"], d["c0"], d["w_ih"], d["w_hh"], d["b_ih"], d["b_hh"])
    assert all(is_numba_device_array(a) for a in (out, h_n, c_n, *saved))
    want = ref.lstm_forward(d["x"].copy_to_host(), d["h0"], d["c0"], d["w_ih"], d["w_hh"], d["b_ih"], d["b_hh"])
    assert_close(out, want[0])


# ---------------------------------------------------------------- compiled for a real GPU, without one
PTX_SCRIPT = textwrap.dedent("""
    import os, sys
    from types import SimpleNamespace
    os.environ.pop("NUMBA_ENABLE_CUDASIM", None)
    os.environ["NUMBA_FORCE_CUDA_CC"] = "9.0"
    from numba import cuda, float32, float64, int64
    # Compiling needs the CUDA toolkit's NVVM and libdevice, not a GPU, but Numba asks for two things it does not
    # use here: NVRTC's path (only to list the toolkit's paths) and the current device (to pick the compute
    # capability of device functions). Both are answered for it, as for an H100 (compute capability 9.0).
    from numba.cuda import cuda_paths, dispatcher
    cuda_paths._get_nvrtc_path = lambda: None
    dispatcher.get_current_device = lambda: SimpleNamespace(compute_capability=(9, 0))
    from nnlearn.kernels.cuda import recurrent as R, _matmul as M

    @cuda.jit(device=True)
    def twice(a):
        return a + a

    @cuda.jit
    def probe(a):
        a[0] = twice(a[0])

    try:  # can anything be compiled here? If not, it is the machine, not the kernels
        cuda.compile_ptx(probe.py_func, (float32[::1],), cc=(9, 0))
    except Exception as error:
        print("NO-TOOLKIT", type(error).__name__, (str(error).strip().splitlines() or [""])[0])
        sys.exit(0)
    i = int64
    for t in (float32, float64):
        a3, a2, a1 = t[:, :, ::1], t[:, ::1], t[::1]
        kernels = {
            M._matmul_kernel: (a2, a2, a1, a1, a2), M._matmul_at_kernel: (a2, a2, a2),
            M._column_sums_kernel: (a2, a1), M._transpose_kernel: (a2, a2),
            R._rnn_step_kernel: (a3, a2, i, a3, a3, a2),
            R._lstm_step_kernel: (a3, a2, i, a3, a3, a3, a3, a2, a2),
            R._gru_step_kernel: (a3, a2, a1, i, a3, a3, a3, a3, a2),
            R._rnn_backward_step_kernel: (a3, a2, a3, a2, i, a3),
            R._lstm_backward_step_kernel: (a3, a2, a2, a3, a3, a2, i, a2, a3),
            R._gru_backward_step_kernel: (a3, a2, a3, a3, a3, a2, i, a2, a3, a3),
            R._gru_dh0_kernel: (a3, a3, a2, a2),
        }
        for kernel, signature in kernels.items():
            ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
            # float32 kernels must stay in float32: a stray float64 constant makes them several times slower.
            doubles = [line for line in ptx.splitlines() if ".f64" in line and not line.lstrip().startswith("//")]
            print(t, kernel.py_func.__name__, "f64" if doubles and t is float32 else "ok")
""")


def test_kernels_compile_to_ptx_for_a_real_gpu_without_float64_in_float32_kernels():
    # The simulator runs the kernels as Python, so it cannot catch code that Numba fails to compile for a GPU;
    # compiling to PTX needs the CUDA toolkit's NVVM but no GPU. In a child process: this one is simulated.
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", PTX_SCRIPT], capture_output=True, text=True, env=env,
                            cwd=root, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    if result.stdout.startswith("NO-TOOLKIT"):
        pytest.skip(f"no CUDA toolkit (NVVM) to compile with: {result.stdout.strip()}")
    lines = result.stdout.splitlines()
    assert len(lines) == 2 * 11 and all(line.endswith(" ok") for line in lines), result.stdout


# ---------------------------------------------------------------- on a real GPU only
REAL_CASES = [  # the benchmark's workloads, shorter
    ("lstm", 10, 32, 64, 128),
    ("gru", 10, 32, 64, 128),
    ("rnn", 10, 32, 64, 128),
    ("lstm", 40, 1, 16, 32),
    ("gru", 40, 1, 16, 32),
]


@real_gpu_only
@pytest.mark.parametrize("cell, T, N, I, H", REAL_CASES)
def test_real_gpu_kernels_match_the_reference_on_benchmark_shapes(rng, cell, T, N, I, H):
    d = make_data(rng, cell, T, N, I, H, np.float32)
    on_gpu = {k: None if v is None else cuda.to_device(v) for k, v in d.items()}
    # float32 sums of up to T * N = 320 products (weight gradients), added in another order than BLAS's.
    assert_all_close(run(cu, cell, on_gpu), run(ref, cell, d), tol32=1e-4)
    d64 = make_data(rng, cell, T, N, I, H, np.float64)
    assert_all_close(run(cu, cell, d64), run(ref, cell, d64))


@real_gpu_only
def test_real_gpu_kernels_take_and_return_cupy_arrays(rng):
    cupy = pytest.importorskip("cupy", reason="CuPy not installed: the zero-copy CuPy path is not tested")
    for cell in sorted(GATES):
        d = make_data(rng, cell, 3, 4, 5, 6, np.float64)
        got = run(cu, cell, {k: None if v is None else cupy.asarray(v) for k, v in d.items()})
        assert all(isinstance(a, cupy.ndarray) for part in got for a in part)
        assert_all_close(got, run(ref, cell, d))
    # Kernels queued on a non-default CuPy stream run in order with the CuPy work on that stream.
    d = make_data(rng, "lstm", 3, 4, 5, 6, np.float64)
    with cupy.cuda.Stream(non_blocking=True):
        x = cupy.asarray(d["x"]) * 2
        out, *_ = cu.lstm_forward(x, *(cupy.asarray(d[k]) for k in ("h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")))
        total = float((out * 1).sum())
    want, *_ = ref.lstm_forward(2 * d["x"], d["h0"], d["c0"], d["w_ih"], d["w_hh"], d["b_ih"], d["b_hh"])
    assert np.isclose(total, want.sum(), rtol=1e-10)
