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

Every function returns arrays of the dtype of ``x``. The CUDA versions accept host (NumPy) arrays, which they
copy to the GPU and back, or device arrays (anything exposing ``__cuda_array_interface__``, e.g. CuPy), which
they use in place, returning device arrays of the same kind.
"""
