"""Shared by the recurrent kernel tests (CPU and CUDA against the reference): random data and one forward +
backward run through any implementation of the ``recurrent`` kernel contract (``nnlearn/kernels/__init__.py``)."""
from __future__ import annotations

import numpy as np

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def make_data(rng, cell, T, N, I, H, dtype, bias=True, scale=1.0):
    """Inputs and upstream gradients; weights drawn like PyTorch's init U(-1/sqrt(H), 1/sqrt(H)), times ``scale``
    (a large scale saturates the gates)."""
    G, k = GATES[cell], scale / np.sqrt(H)

    def normal(*shape):
        return rng.standard_normal(shape).astype(dtype)

    def uniform(*shape):
        return rng.uniform(-k, k, shape).astype(dtype)

    return dict(x=normal(T, N, I), h0=normal(N, H), c0=normal(N, H), w_ih=uniform(G * H, I),
                w_hh=uniform(G * H, H), b_ih=uniform(G * H) if bias else None,
                b_hh=uniform(G * H) if bias else None, dout=normal(T, N, H), dh_n=normal(N, H), dc_n=normal(N, H))


def run(kernels, cell, d):
    """Forward then backward with one implementation: ``(forward outputs, saved, gradients)``."""
    if cell == "lstm":
        *outs, saved = kernels.lstm_forward(d["x"], d["h0"], d["c0"], d["w_ih"], d["w_hh"], d["b_ih"], d["b_hh"])
        grads = kernels.lstm_backward(d["dout"], d["dh_n"], d["dc_n"], d["x"], d["h0"], d["c0"], d["w_ih"],
                                      d["w_hh"], saved)
    else:
        forward, backward = getattr(kernels, f"{cell}_forward"), getattr(kernels, f"{cell}_backward")
        *outs, saved = forward(d["x"], d["h0"], d["w_ih"], d["w_hh"], d["b_ih"], d["b_hh"])
        grads = backward(d["dout"], d["dh_n"], d["x"], d["h0"], d["w_ih"], d["w_hh"], saved)
    return outs, saved, grads
