"""The Numba CPU recurrent kernels (tanh RNN, LSTM, GRU) against the NumPy reference, on random shapes.

Hypothesis draws sequence length, batch size (both from 1), input and hidden sizes, the dtype and whether the
layer has biases; forward outputs, final states, everything in ``saved`` and every gradient of the backward pass
must agree with the reference, which is itself checked against PyTorch and finite differences in
``test_kernels_reference_recurrent.py``. float32 uses a rational approximation of ``tanh`` (see the kernel
module); its accuracy against ``np.tanh`` is tested on its own. The first run compiles the kernels (about a
minute); Numba caches them on disk for later runs.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba", reason="Numba not installed: CPU kernel tests skipped")

from numba import njit  # noqa: E402

from nnlearn.kernels.cpu import recurrent as cpu  # noqa: E402
from nnlearn.kernels.reference import recurrent as ref  # noqa: E402
from recurrent_cases import GATES, make_data, run  # noqa: E402

TOLERANCES = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-5)}


def assert_same(got, want, dtype):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, **TOLERANCES[dtype])


@pytest.mark.parametrize("cell", sorted(GATES))
@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 6), N=st.integers(1, 5), I=st.integers(1, 5), H=st.integers(1, 7),
       dtype=st.sampled_from([np.float32, np.float64]), bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_matches_reference(cell, T, N, I, H, dtype, bias, seed):
    d = make_data(np.random.default_rng(seed), cell, T, N, I, H, dtype, bias)
    got, want = run(cpu, cell, d), run(ref, cell, d)
    for part in range(3):                        # forward outputs, saved, gradients
        assert_same(got[part], want[part], dtype)


@pytest.mark.parametrize("cell", sorted(GATES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_reference_on_the_blas_path(cell, dtype, monkeypatch):
    """Large enough that the per-step product goes to BLAS, the batch split unevenly into 2 chunks (19 + 18)."""
    monkeypatch.setattr(cpu, "_chunks", lambda N: 2)
    d = make_data(np.random.default_rng(1), cell, T=4, N=37, I=9, H=64, dtype=dtype, bias=True)
    assert 18 * 64 * 64 >= cpu._BLAS_MIN_MACS    # the smallest per-step product (RNN, smaller chunk)
    got, want = run(cpu, cell, d), run(ref, cell, d)
    for part in range(3):
        assert_same(got[part], want[part], dtype)


def test_outputs_do_not_alias_saved():
    d = make_data(np.random.default_rng(2), "lstm", 3, 2, 3, 4, np.float64, True)
    out, h_n, c_n, (h, c, _) = cpu.lstm_forward(d["x"], d["h0"], d["c0"], d["w_ih"], d["w_hh"], d["b_ih"],
                                                d["b_hh"])
    for a in (out, h_n, c_n):
        assert not np.shares_memory(a, h) and not np.shares_memory(a, c)


def test_inputs_are_not_modified():
    d = make_data(np.random.default_rng(3), "gru", 3, 2, 3, 4, np.float32, True)
    before = {k: None if v is None else v.copy() for k, v in d.items()}
    run(cpu, "gru", d)
    for k, v in d.items():
        if v is not None:
            np.testing.assert_array_equal(v, before[k], err_msg=k)


@njit
def _apply_fast_tanh(a, out):
    for i in range(a.size):
        out[i] = cpu.fast_tanh(a[i])


def test_fast_tanh_accuracy():
    """The float32 path's tanh approximation, on a fine grid well past where tanh saturates, against np.tanh."""
    a = np.linspace(-30.0, 30.0, 600_001)
    approx = np.empty_like(a)
    _apply_fast_tanh(a, approx)
    err = np.abs(approx - np.tanh(a)).max()
    assert err < 1e-7, f"max abs error of fast_tanh: {err:.2e}"
    assert np.all(np.abs(approx) <= 1.0)
    # As float32: inputs and results rounded to float32, the error is within a float32 rounding step.
    a32 = a.astype(np.float32)
    approx32 = np.empty_like(a32)
    _apply_fast_tanh(a32, approx32)
    assert np.abs(approx32 - np.tanh(a32)).max() <= 2 * np.finfo(np.float32).eps
