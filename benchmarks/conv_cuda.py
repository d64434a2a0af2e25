"""Benchmark: conv2d and pooling, forward + backward, on an NVIDIA GPU — nnlearn's CUDA kernels vs PyTorch CUDA.

The workloads of the CPU benchmark (``conv.py``), float32: for conv2d one step is the forward pass and the
backward pass with the input, weight and bias gradients; for pooling, forward and the input gradient. The data
stays on the GPU throughout: CuPy arrays when CuPy is installed (what a tensor moved with ``.to("cuda")``
holds), else Numba device arrays. Each step is timed from an idle device to a finished one (``synchronize`` at
the end of the step), median of repeated runs after warm-up runs that also compile the kernels. Both libraries
run in this one process, one after the other; PyTorch with its defaults (cuDNN, ``benchmark=False``).

    .venv/bin/python benchmarks/conv_cuda.py              # on a machine with an NVIDIA GPU
    .venv/bin/python benchmarks/conv_cuda.py --repeats 31

Without a GPU (or under the CUDA simulator) it says so and exits with status 0; without a CUDA build of
PyTorch it measures nnlearn alone.
"""
from __future__ import annotations

import sys

import numpy as np

from gpu import measure, setup

WORKLOADS = [  # (N, C_in, C_out, H, W, k, padding), stride 1: the three shapes
    (64, 3, 32, 32, 32, 3, 1),
    (128, 1, 16, 28, 28, 5, 0),
    (64, 32, 64, 16, 16, 3, 1),
]
POOL_WORKLOADS = [  # (kind, N, C, H=W, k, stride): the pools after the first convolution, as in conv.py
    ("max", 64, 32, 32, 2, 2),
    ("avg", 64, 32, 32, 2, 2),
]


def flops(N: int, C_in: int, C_out: int, H_out: int, W_out: int, k: int) -> float:
    """Multiply-adds x 2 of one step: the forward pass, and dx and dw each cost as much again."""
    return 3 * 2 * N * C_out * H_out * W_out * C_in * k * k


def conv_steps(torch, to_gpu, sync, x, w, b, dout, padding):
    """One conv2d training step each for nnlearn and (if ``torch`` is given) PyTorch: forward, then all gradients."""
    from nnlearn.kernels.cuda import conv2d
    gx, gw, gb, gdout = (to_gpu(a) for a in (x, w, b, dout))
    stride, pad = (1, 1), (padding, padding)

    def ours():
        out = conv2d.conv2d_forward(gx, gw, gb, stride, pad)
        conv2d.conv2d_backward(gdout, gx, gw, stride, pad)
        sync()
        return out
    if torch is None:
        return ours, None
    tx, tw, tb, tdout = (torch.from_numpy(a).cuda() for a in (x, w, b, dout))
    for t in (tx, tw, tb):
        t.requires_grad_(True)

    def theirs():
        for t in (tx, tw, tb):
            t.grad = None
        out = torch.nn.functional.conv2d(tx, tw, tb, stride=1, padding=padding)
        out.backward(tdout)
        torch.cuda.synchronize()
        return out
    return ours, theirs


def pool_steps(torch, to_gpu, sync, kind, x, dout, k, stride):
    """One pooling step each for nnlearn and (if ``torch`` is given) PyTorch: forward, then the input gradient."""
    from nnlearn.kernels.cuda import pool2d
    gx, gdout = to_gpu(x), to_gpu(dout)
    kernel, strides, pad = (k, k), (stride, stride), (0, 0)

    def ours():
        if kind == "max":
            out, indices = pool2d.max_pool2d_forward(gx, kernel, strides, pad)
            pool2d.max_pool2d_backward(gdout, indices, x.shape)
        else:
            out = pool2d.avg_pool2d_forward(gx, kernel, strides, pad)
            pool2d.avg_pool2d_backward(gdout, x.shape, kernel, strides, pad)
        sync()
        return out
    if torch is None:
        return ours, None
    tx, tdout = torch.from_numpy(x).cuda().requires_grad_(True), torch.from_numpy(dout).cuda()
    pool = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d

    def theirs():
        tx.grad = None
        out = pool(tx, k, stride)
        out.backward(tdout)
        torch.cuda.synchronize()
        return out
    return ours, theirs


def main() -> int:
    gpu = setup("conv_cuda.py", __doc__.split("\n")[0])
    if gpu is None:
        return 0
    torch_cuda, to_gpu, sync, repeats = gpu.torch, gpu.to_gpu, gpu.sync, gpu.repeats

    rng = np.random.default_rng(0)

    print("| conv2d (N, C_in→C_out, H×W, k, pad) | nnlearn CUDA (ms) | PyTorch CUDA (ms) | nnlearn / PyTorch "
          "| nnlearn GFLOP/s | PyTorch GFLOP/s | max abs diff of out |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for N, C_in, C_out, H, W, k, pad in WORKLOADS:
        H_out, W_out = H + 2 * pad - k + 1, W + 2 * pad - k + 1
        x = rng.standard_normal((N, C_in, H, W)).astype(np.float32)
        w = (rng.standard_normal((C_out, C_in, k, k)) / np.sqrt(C_in * k * k)).astype(np.float32)
        b = rng.standard_normal(C_out).astype(np.float32)
        dout = rng.standard_normal((N, C_out, H_out, W_out)).astype(np.float32)
        ours, theirs = conv_steps(torch_cuda, to_gpu, sync, x, w, b, dout, pad)
        cells = measure(ours, theirs, repeats, flops(N, C_in, C_out, H_out, W_out, k))
        print(f"| {N}, {C_in}→{C_out}, {H}×{W}, {k}, {pad} | " + " | ".join(cells) + " |")

    print("\n| pool (kind, N, C, H×W, k, stride) | nnlearn CUDA (ms) | PyTorch CUDA (ms) | nnlearn / PyTorch "
          "| max abs diff of out |")
    print("| --- | --- | --- | --- | --- |")
    for kind, N, C, size, k, stride in POOL_WORKLOADS:
        x = rng.standard_normal((N, C, size, size)).astype(np.float32)
        out_size = (size - k) // stride + 1
        dout = rng.standard_normal((N, C, out_size, out_size)).astype(np.float32)
        ours, theirs = pool_steps(torch_cuda, to_gpu, sync, kind, x, dout, k, stride)
        cells = measure(ours, theirs, repeats)
        print(f"| {kind}, {N}, {C}, {size}×{size}, {k}, {stride} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
