"""The NumPy reference recurrent kernels (tanh RNN, LSTM, GRU): against PyTorch and against finite differences.

Every compiled implementation will be tested against these, so they are checked from two independent sides:
``torch.nn.RNN/LSTM/GRU`` forward and backward with the same weights (float64 tight, float32 loose), and central
finite differences of the forward pass on every element of every input (``nnlearn.testing.gradcheck``, float64).
Upstream gradients are random on ``out`` *and* on the final states, so both paths into BPTT are exercised.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnlearn import Function
from nnlearn.kernels.reference import recurrent as ref
from nnlearn.testing import gradcheck


# name -> (gates G, number of states (h, or h and c), forward, backward, name of the torch module)
CELLS = {
    "rnn": (1, 1, ref.rnn_forward, ref.rnn_backward, "RNN"),
    "lstm": (4, 2, ref.lstm_forward, ref.lstm_backward, "LSTM"),
    "gru": (3, 1, ref.gru_forward, ref.gru_backward, "GRU"),
}
TOLERANCES = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-5)}


def make_data(rng, cell, T, N, I, H, dtype, bias=True):
    """Inputs ``(x, states, (w_ih, w_hh, b_ih, b_hh))`` and upstream gradients ``(dout, dstates)``.

    Weights are drawn like PyTorch's default init, U(-1/sqrt(H), 1/sqrt(H)), but the inputs and initial states
    are standard normal so the gates are neither all saturated nor all linear.
    """
    G, S = CELLS[cell][:2]
    k = 1 / np.sqrt(H)

    def u(*shape):
        return rng.uniform(-k, k, shape).astype(dtype)

    x = rng.standard_normal((T, N, I)).astype(dtype)
    states = tuple(rng.standard_normal((N, H)).astype(dtype) for _ in range(S))
    weights = (u(G * H, I), u(G * H, H), u(G * H) if bias else None, u(G * H) if bias else None)
    dout = rng.standard_normal((T, N, H)).astype(dtype)
    dstates = tuple(rng.standard_normal((N, H)).astype(dtype) for _ in range(S))
    return x, states, weights, dout, dstates


def reference(cell, x, states, weights, dout, dstates):
    """Run the reference kernels: ``(outputs, grads)`` with ``outputs = (out, *final_states)`` and
    ``grads = (dx, *dstates0, dw_ih, dw_hh, db_ih, db_hh)``."""
    forward, backward = CELLS[cell][2:4]
    w_ih, w_hh, b_ih, b_hh = weights
    *outputs, saved = forward(x, *states, w_ih, w_hh, b_ih, b_hh)
    grads = backward(dout, *dstates, x, *states, w_ih, w_hh, saved)
    return tuple(outputs), tuple(grads)


def with_torch(torch, cell, x, states, weights, dout, dstates):
    """The same computation with ``torch.nn.RNN/LSTM/GRU``, the weights copied in: ``(outputs, grads)`` as above."""
    G, S, _, _, name = CELLS[cell]
    w_ih, w_hh, b_ih, b_hh = weights
    T, N, I = x.shape
    H = w_hh.shape[1]
    dtype = torch.float64 if x.dtype == np.float64 else torch.float32
    module = getattr(torch.nn, name)(I, H, bias=b_ih is not None, dtype=dtype)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(w_ih))
        module.weight_hh_l0.copy_(torch.from_numpy(w_hh))
        if b_ih is not None:
            module.bias_ih_l0.copy_(torch.from_numpy(b_ih))
            module.bias_hh_l0.copy_(torch.from_numpy(b_hh))
    xt = torch.from_numpy(x).requires_grad_()
    # PyTorch's states carry a leading (num_layers * num_directions,) axis; ours are one layer, one direction.
    st = [torch.from_numpy(s[None]).requires_grad_() for s in states]
    out, final = module(xt, tuple(st) if S == 2 else st[0])
    finals = final if S == 2 else (final,)
    loss = (out * torch.from_numpy(dout)).sum()
    for f, d in zip(finals, dstates):
        loss = loss + (f[0] * torch.from_numpy(d)).sum()
    loss.backward()
    params = [module.weight_ih_l0, module.weight_hh_l0]
    if b_ih is not None:
        params += [module.bias_ih_l0, module.bias_hh_l0]
    outputs = (out, *(f[0] for f in finals))
    grads = (xt.grad, *(s.grad[0] for s in st), *(p.grad for p in params))
    return tuple(o.detach().numpy() for o in outputs), tuple(g.numpy() for g in grads)


# --- PyTorch parity ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("T, N", [(1, 1), (1, 3), (7, 1), (7, 3)])
@pytest.mark.parametrize("cell", list(CELLS))
def test_matches_torch(torch, rng, cell, T, N, dtype):
    data = make_data(rng, cell, T, N, I=5, H=6, dtype=dtype)
    outputs, grads = reference(cell, *data)
    expected_outputs, expected_grads = with_torch(torch, cell, *data)
    names = ["out", "h_n", "c_n"][:len(outputs)]
    for name, got, want in zip(names, outputs, expected_outputs):
        assert got.dtype == dtype, name
        np.testing.assert_allclose(got, want, **TOLERANCES[dtype], err_msg=name)
    names = ["dx", "dh0", "dc0"][:len(grads) - 4] + ["dw_ih", "dw_hh", "db_ih", "db_hh"]
    for name, got, want in zip(names, grads, expected_grads, strict=True):
        assert got.dtype == dtype, name
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, **TOLERANCES[dtype], err_msg=name)


@pytest.mark.parametrize("cell", list(CELLS))
def test_matches_torch_without_bias(torch, rng, cell):
    x, states, weights, dout, dstates = make_data(rng, cell, T=4, N=2, I=3, H=5, dtype=np.float64, bias=False)
    outputs, grads = reference(cell, x, states, weights, dout, dstates)
    expected_outputs, expected_grads = with_torch(torch, cell, x, states, weights, dout, dstates)
    for got, want in zip(outputs, expected_outputs, strict=True):
        np.testing.assert_allclose(got, want, **TOLERANCES[np.float64])
    # torch has no bias gradients to compare; ours keep their (G*H,) shape for a uniform contract.
    for got, want in zip(grads[:-2], expected_grads, strict=True):
        np.testing.assert_allclose(got, want, **TOLERANCES[np.float64])
    G = CELLS[cell][0]
    assert grads[-2].shape == grads[-1].shape == (G * 5,)


# --- finite differences ------------------------------------------------------------------------------------

class _Recurrent(Function):
    """A reference cell as one autograd Function, so gradcheck can compare its BPTT with finite differences.

    The output is ``out`` and the final states flattened into one vector: gradcheck's random upstream gradient
    then weights every element of all of them, i.e. ``dout`` and ``dh_n`` (and ``dc_n``) are all non-zero.
    """

    @staticmethod
    def forward(ctx, x, *rest, cell):
        forward = CELLS[cell][2]
        S = CELLS[cell][1]
        states, (w_ih, w_hh, b_ih, b_hh) = rest[:S], rest[S:]
        *outputs, saved = forward(x, *states, w_ih, w_hh, b_ih, b_hh)
        ctx.save_for_backward(cell, x, states, w_ih, w_hh, saved, [o.shape for o in outputs],
                              (b_ih is not None, b_hh is not None))
        return np.concatenate([o.ravel() for o in outputs])

    @staticmethod
    def backward(ctx, grad):
        cell, x, states, w_ih, w_hh, saved, shapes, has_bias = ctx.saved
        sizes = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]
        dout, *dstates = (g.reshape(s) for g, s in zip(np.split(grad, sizes), shapes))
        dx, *rest = CELLS[cell][3](dout, *dstates, x, *states, w_ih, w_hh, saved)
        *dparams, db_ih, db_hh = rest
        return (dx, *dparams, db_ih if has_bias[0] else None, db_hh if has_bias[1] else None)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cell", list(CELLS))
def test_backward_matches_finite_differences(rng, cell, bias):
    x, states, weights, _, _ = make_data(rng, cell, T=3, N=2, I=3, H=4, dtype=np.float64, bias=bias)
    inputs = [x, *states, *(w for w in weights if w is not None)]
    S = len(states)

    def f(x, *rest):
        if bias:
            return _Recurrent.apply(x, *rest, cell=cell)
        return _Recurrent.apply(x, *rest, None, None, cell=cell)

    result = gradcheck(f, inputs)
    assert result, str(result)
    assert len(result.errors) == 1 + S + (4 if bias else 2)   # every input was checked


def test_finite_differences_catch_a_wrong_gradient(rng):
    # The check above can fail: halve one gradient and gradcheck must notice.
    class Broken(_Recurrent):
        @staticmethod
        def backward(ctx, grad):
            dx, *rest = _Recurrent.backward(ctx, grad)
            return (dx, *rest[:-3], rest[-3] * 0.5, *rest[-2:])   # dw_hh halved

    x, states, weights, _, _ = make_data(rng, "lstm", T=3, N=2, I=3, H=4, dtype=np.float64)
    result = gradcheck(lambda *a: Broken.apply(*a, cell="lstm"), [x, *states, *weights])
    assert not result


# --- small things ------------------------------------------------------------------------------------------

def test_saved_arrays_have_the_documented_shapes(rng):
    T, N, I, H = 4, 2, 3, 5
    x, (h0,), (w_ih, w_hh, b_ih, b_hh), _, _ = make_data(rng, "rnn", T, N, I, H, np.float64)
    out, h_n, (h,) = ref.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
    assert h.shape == (T + 1, N, H)
    np.testing.assert_array_equal(h[0], h0)
    np.testing.assert_array_equal(h[1:], out)
    np.testing.assert_array_equal(out[-1], h_n)

    x, (h0, c0), (w_ih, w_hh, b_ih, b_hh), _, _ = make_data(rng, "lstm", T, N, I, H, np.float64)
    out, h_n, c_n, (h, c, gates) = ref.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    assert h.shape == c.shape == (T + 1, N, H) and gates.shape == (T, N, 4 * H)
    np.testing.assert_array_equal(c[0], c0)
    np.testing.assert_array_equal(c[T], c_n)
    # h_t = o * tanh(c_t), with o the last quarter of the gates.
    np.testing.assert_allclose(h[1:], gates[..., 3 * H:] * np.tanh(c[1:]), rtol=1e-12)

    x, (h0,), (w_ih, w_hh, b_ih, b_hh), _, _ = make_data(rng, "gru", T, N, I, H, np.float64)
    out, h_n, (h, gates, hn) = ref.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
    assert h.shape == (T + 1, N, H) and gates.shape == (T, N, 3 * H) and hn.shape == (T, N, H)
    # hn is the recurrent part of n's pre-activation: h_{t-1} @ W_hn.T + b_hn.
    np.testing.assert_allclose(hn, h[:-1] @ w_hh[2 * H:].T + b_hh[2 * H:], rtol=1e-12)


def test_forward_does_not_modify_its_inputs_and_outputs_do_not_alias_saved(rng):
    x, (h0, c0), weights, dout, (dh_n, dc_n) = make_data(rng, "lstm", 3, 2, 3, 4, np.float64)
    copies = [a.copy() for a in (x, h0, c0, *weights, dout, dh_n, dc_n)]
    out, h_n, c_n, saved = ref.lstm_forward(x, h0, c0, *weights)
    ref.lstm_backward(dout, dh_n, dc_n, x, h0, c0, weights[0], weights[1], saved)
    for before, after in zip(copies, (x, h0, c0, *weights, dout, dh_n, dc_n)):
        np.testing.assert_array_equal(before, after)
    # A caller may write into out (e.g. an in-place op downstream) without corrupting the backward pass.
    h_saved = saved[0].copy()
    out[...] = 0
    h_n[...] = 0
    np.testing.assert_array_equal(saved[0], h_saved)


def test_sigmoid_is_stable_and_accurate():
    a = np.array([-1000.0, -745.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no overflow warning from exp
        s = ref.sigmoid(a)
    assert np.all(np.isfinite(s))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[4] == 0.5
    # Far from overflow the textbook formula is exact enough to compare with, in relative terms even where
    # sigmoid(a) is tiny (this is where 1 - sigmoid(-a) would lose every digit).
    moderate = a[2:-2]
    np.testing.assert_allclose(s[2:-2], 1 / (1 + np.exp(-moderate)), rtol=1e-15)
    assert ref.sigmoid(np.float32(-100.0)) > 0                # exp(-100) / (1 + ...) ~ 3.7e-44, not 0 ...
    assert ref.sigmoid(np.array([-100.0], dtype=np.float32)).dtype == np.float32   # ... and stays float32
