"""The library's hot loops, as plain functions of arrays (no autograd, no Tensor).

Each op family has one contract and three implementations with identical signatures:

* ``reference/`` — readable NumPy, the version the book prints and every test trusts;
* ``cpu/`` — Numba ``@njit(cache=True)`` versions, tested against the reference;
* ``cuda/`` — ``numba.cuda`` kernels with host wrappers, tested against the reference under the CUDA simulator
  in CI and on a real GPU when one is present.

:func:`nnlearn.backend.kernels` picks the implementation. Nothing here is imported by ``import nnlearn``;
Numba compiles lazily on first use. Callers (``nnlearn.functional``) validate shapes and dtypes first and pass
C-contiguous float32 or float64 arrays and normalised ``(int, int)`` pairs; kernels do not re-check.

The contract
------------
``conv2d`` — cross-correlation, as ``torch.nn.functional.conv2d``::

    conv2d_forward(x, w, b, stride, padding) -> out
    conv2d_backward(dout, x, w, stride, padding) -> (dx, dw, db)

    x: (N, C_in, H, W)   w: (C_out, C_in, kH, kW)   b: (C_out,) or None   stride, padding: (int, int)
    out, dout: (N, C_out, H_out, W_out),  H_out = (H + 2 ph - kH) // sh + 1  (likewise W_out)
    dx like x, dw like w, db: (C_out,) (zeros' shape even when b was None)

``pool2d`` — max and average pooling, as ``torch.nn.functional.max_pool2d`` / ``avg_pool2d``::

    max_pool2d_forward(x, kernel_size, stride, padding) -> (out, indices)
    max_pool2d_backward(dout, indices, x_shape) -> dx
    avg_pool2d_forward(x, kernel_size, stride, padding) -> out
    avg_pool2d_backward(dout, x_shape, kernel_size, stride, padding) -> dx

    x: (N, C, H, W)   kernel_size, stride, padding: (int, int)   out, dout: (N, C, H_out, W_out)
    indices: int64 (N, C, H_out, W_out), the flat position ``h * W + w`` of each window's maximum in its
    (H, W) plane of x, as PyTorch's ``return_indices=True`` (the first maximum wins a tie; padding is -inf).
    Average pooling divides by the full window, padding included (PyTorch's ``count_include_pad=True``).

``recurrent`` — one layer, one direction, time-major, as ``torch.nn.RNN`` (tanh) / ``LSTM`` / ``GRU`` with
their weight layouts and gate order; whole-sequence forward and full backpropagation through time::

    rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh) -> (out, h_n, saved)
    rnn_backward(dout, dh_n, x, h0, w_ih, w_hh, saved) -> (dx, dh0, dw_ih, dw_hh, db_ih, db_hh)
    lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh) -> (out, h_n, c_n, saved)
    lstm_backward(dout, dh_n, dc_n, x, h0, c0, w_ih, w_hh, saved) -> (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh)
    gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh) -> (out, h_n, saved)
    gru_backward(dout, dh_n, x, h0, w_ih, w_hh, saved) -> (dx, dh0, dw_ih, dw_hh, db_ih, db_hh)

    x: (T, N, I)   h0, c0, h_n, c_n, dh_n, dc_n: (N, H)   out, dout: (T, N, H)
    w_ih: (G*H, I)   w_hh: (G*H, H)   b_ih, b_hh: (G*H,) or None   G = 1 (RNN), 4 (LSTM), 3 (GRU)
    gates stacked in the rows of w_*/b_*: LSTM i, f, g, o;  GRU r, z, n with
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))  (PyTorch's form: r multiplies after b_hn is added)
    dx, dh0, dc0, dw_ih, dw_hh like their inputs; db_ih, db_hh: (G*H,) even when the biases were None
    (the gradient a bias would have had; the caller drops it)

    saved — what the backward needs, produced by the forward and passed back unchanged:
      RNN:  (h,)              h: (T+1, N, H), the hidden states h_0 .. h_T (h[0] = h0, h[1:] = out)
      LSTM: (h, c, gates)     h, c: (T+1, N, H) the states 0 .. T; gates: (T, N, 4H) activated [i, f, g, o]
      GRU:  (h, gates, hn)    h: (T+1, N, H); gates: (T, N, 3H) activated [r, z, n];
                              hn: (T, N, H) = h_{t-1} @ W_hn.T + b_hn, the term that r multiplied
    out, h_n, c_n never alias saved, so a caller may modify them. dout and the final-state gradients are
    always arrays (zeros when the loss does not use that output).

The input projection ``x.reshape(T*N, I) @ w_ih.T`` (plus biases) is one matrix product for all time steps,
done before the time loop; only the recurrence ``h_{t-1} @ w_hh.T`` runs inside it. The backward pass keeps
each step's pre-activation gradients, accumulates ``dw_hh`` (and the GRU's ``db_hh``) over the reversed loop,
and computes ``dx`` and ``dw_ih`` with one matrix product each after it. A compiled version should keep this
split: the GEMMs go to BLAS, and only the (batch-parallel, never time-parallel) recurrence needs compiling.

Every function returns arrays of the dtype of ``x``. The CUDA versions accept host (NumPy) arrays, which they
copy to the GPU and back, or device arrays (anything exposing ``__cuda_array_interface__``, e.g. CuPy), which
they use in place, returning device arrays of the same kind.
"""
