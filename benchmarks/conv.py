"""Benchmark: conv2d and pooling, forward + backward, float32 — nnlearn's Numba kernels vs the NumPy reference
vs PyTorch CPU (2 threads), side by side in one process, median of repeated runs.

For each workload one "step" is the forward pass and the backward pass with every gradient (input, weight and
bias for conv2d). The table gives milliseconds, the ratios nnlearn / PyTorch and nnlearn / reference, and the
achieved GFLOP/s (a forward conv is ``2 N C_out H_out W_out C_in kH kW`` FLOPs; its backward, two matrix
products of the same size, twice that), next to this machine's float32 matmul peak measured here with NumPy.
A second table times the forward pass alone. Last, with Numba's disk cache warm, it measures what a fresh
process pays before the first result: importing the kernels (and so Numba), Numba's one-time start-up on the
first compiled call of any kind, and each kernel's own first call (loading its machine code from the cache).

    .venv/bin/python benchmarks/conv.py                        # the full table (about a minute)
    .venv/bin/python benchmarks/conv.py --repeats 7 --rounds 1

The machine is shared, so the implementations take turns: in each of ``--rounds`` rounds every implementation
is timed (median of ``--repeats`` runs), and the table keeps each one's best round — the round least disturbed
by whatever else was running. Run it on a quiet machine (see the load average it prints) all the same.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np

from timing import machine_description, median_time

try:  # before nnlearn's CPU kernels, which ask OpenMP for passive waiting: PyTorch keeps its own defaults
    import torch
except ImportError:
    torch = None

from nnlearn.kernels.cpu import conv2d as cpu_conv
from nnlearn.kernels.cpu import pool2d as cpu_pool
from nnlearn.kernels.reference import conv2d as ref_conv
from nnlearn.kernels.reference import pool2d as ref_pool

# (N, C_in, C_out, H=W, k, padding) and the target for nnlearn / PyTorch; stride 1 throughout.
CONV_WORKLOADS = [
    ((64, 3, 32, 32, 3, 1), 1.0),
    ((128, 1, 16, 28, 5, 0), 1.0),
    ((64, 32, 64, 16, 3, 1), 2.0),
]
# (kind, N, C, H=W, k, stride): the pools that follow the convolutions above in a LeNet-style network.
POOL_WORKLOADS = [
    ("max", 64, 32, 32, 2, 2),
    ("avg", 64, 32, 32, 2, 2),
    ("max", 64, 64, 16, 3, 2),
]


def matmul_peak(n: int = 2048, repeats: int = 7, rounds: int = 3) -> float:
    """GFLOP/s of a large float32 ``np.matmul`` with NumPy's BLAS (both cores): what this machine can deliver."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    best = min(median_time(lambda: a @ a, repeats=repeats, warmup=1) for _ in range(rounds))
    return 2 * n ** 3 / best / 1e9


def conv_steps(N: int, C_in: int, C_out: int, size: int, k: int, pad: int):
    """Forward + backward step functions for nnlearn CPU, the reference and PyTorch on the same data."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C_in, size, size)).astype(np.float32)
    w = (rng.standard_normal((C_out, C_in, k, k)) / np.sqrt(C_in * k * k)).astype(np.float32)
    b = rng.standard_normal(C_out).astype(np.float32)
    stride, padding = (1, 1), (pad, pad)
    out_size = size + 2 * pad - k + 1
    dout = rng.standard_normal((N, C_out, out_size, out_size)).astype(np.float32)

    def with_kernels(kernels, backward=True):
        def step():
            kernels.conv2d_forward(x, w, b, stride, padding)
            if backward:
                kernels.conv2d_backward(dout, x, w, stride, padding)
        return step

    steps = {"nnlearn": with_kernels(cpu_conv), "reference": with_kernels(ref_conv), "torch": None}
    forward_steps = {"nnlearn": with_kernels(cpu_conv, backward=False), "torch": None}
    if torch is not None:
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        dt = torch.tensor(dout)

        def torch_step():
            xt.grad = wt.grad = bt.grad = None
            torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding).backward(dt)

        def torch_forward():
            with torch.no_grad():
                torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
        steps["torch"], forward_steps["torch"] = torch_step, torch_forward
    flops = 2 * N * C_out * out_size ** 2 * C_in * k * k      # one forward pass; the backward is twice that
    return steps, forward_steps, flops


def pool_steps(kind: str, N: int, C: int, size: int, k: int, stride: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, size, size)).astype(np.float32)
    kernel, strides, padding = (k, k), (stride, stride), (0, 0)
    out_size = (size - k) // stride + 1
    dout = rng.standard_normal((N, C, out_size, out_size)).astype(np.float32)

    def with_kernels(kernels):
        if kind == "max":
            def step():
                _, indices = kernels.max_pool2d_forward(x, kernel, strides, padding)
                return kernels.max_pool2d_backward(dout, indices, x.shape)
        else:
            def step():
                kernels.avg_pool2d_forward(x, kernel, strides, padding)
                return kernels.avg_pool2d_backward(dout, x.shape, kernel, strides, padding)
        return step

    steps = {"nnlearn": with_kernels(cpu_pool), "reference": with_kernels(ref_pool), "torch": None}
    if torch is not None:
        xt, dt = torch.tensor(x, requires_grad=True), torch.tensor(dout)
        pool = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d

        def torch_step():
            xt.grad = None
            pool(xt, k, stride).backward(dt)
        steps["torch"] = torch_step
    return steps


FIRST_CALLS = r"""
import sys, time
start = time.perf_counter()
import numpy as np
from nnlearn.kernels.cpu import conv2d, pool2d
imported = time.perf_counter()
x = np.random.default_rng(0).standard_normal((8, 3, 16, 16)).astype(np.float32)
w = np.ones((4, 3, 3, 3), np.float32)
calls = {
    "conv2d_forward": lambda: conv2d.conv2d_forward(x, w, None, (1, 1), (1, 1)),
    "conv2d_backward": lambda: conv2d.conv2d_backward(np.ones((8, 4, 16, 16), np.float32), x, w, (1, 1), (1, 1)),
    "max_pool2d_forward": lambda: pool2d.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0)),
    "max_pool2d_backward": lambda: pool2d.max_pool2d_backward(
        np.ones((8, 3, 8, 8), np.float32), np.zeros((8, 3, 8, 8), np.int64), x.shape),
    "avg_pool2d_forward": lambda: pool2d.avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0)),
    "avg_pool2d_backward": lambda: pool2d.avg_pool2d_backward(
        np.ones((8, 3, 8, 8), np.float32), x.shape, (2, 2), (2, 2), (0, 0)),
}
print(imported - start)
for name in sys.argv[1:]:
    before = time.perf_counter()
    calls[name]()
    print(time.perf_counter() - before)
"""
KERNEL_NAMES = ["conv2d_forward", "conv2d_backward", "max_pool2d_forward", "max_pool2d_backward",
                "avg_pool2d_forward", "avg_pool2d_backward"]


def first_call_costs(runs: int = 3) -> dict:
    """Seconds for the import and for the first call of each kernel in fresh interpreters (warm disk cache).

    Returns ``{"import": s, "first": (name, s), "others": {name: s}}``, medians over ``runs`` processes; the
    first kernel called also pays Numba's one-time start-up, so each kernel takes that place in turn.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def run(order):
        done = subprocess.run([sys.executable, "-c", FIRST_CALLS, *order], check=True, capture_output=True,
                              text=True, env=env)
        return [float(v) for v in done.stdout.split()]

    run(KERNEL_NAMES)                                          # make sure every kernel is in the disk cache
    imports, firsts, others = [], {}, {name: [] for name in KERNEL_NAMES}
    for _ in range(runs):
        for k, name in enumerate(KERNEL_NAMES):
            order = [name] + KERNEL_NAMES[:k] + KERNEL_NAMES[k + 1:]
            seconds = run(order)
            imports.append(seconds[0])
            firsts.setdefault(name, []).append(seconds[1])
            for other, t in zip(order[1:], seconds[2:]):
                others[other].append(t)
    median = lambda values: float(np.median(values))  # noqa: E731
    return {"import": median(imports), "first": {n: median(v) for n, v in firsts.items()},
            "others": {n: median(v) for n, v in others.items()}}


def best_of_rounds(steps: dict, repeats: int, rounds: int) -> dict:
    """Each step's median time over ``repeats`` runs, best of ``rounds`` rounds taken in turn."""
    times: dict = {name: [] for name in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            times[name].append(median_time(fn, repeats=repeats, warmup=1) if fn else float("nan"))
    return {name: min(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per implementation and round (median)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of turns; the best round is kept")
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(2)
    else:
        print("PyTorch not installed: its column is left empty.\n")
    print(f"Machine: {machine_description()}")
    print(f"Load average before the run: {os.getloadavg()[0]:.2f} (1 min)")
    peak = matmul_peak()
    print(f"Each time: median of {args.repeats} runs, best of {args.rounds} rounds; PyTorch on 2 threads.")
    print(f"float32 matmul peak (2048 x 2048 np.matmul): {peak:.0f} GFLOP/s\n")

    print("| workload (N, C_in→C_out, H×W, k, pad) | nnlearn (ms) | reference (ms) | PyTorch (ms) "
          "| nnlearn / PyTorch | target | nnlearn / reference | nnlearn GFLOP/s (% of peak) | PyTorch GFLOP/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    forward_rows = []
    for (N, C_in, C_out, size, k, pad), target in CONV_WORKLOADS:
        steps, forward_steps, forward_flops = conv_steps(N, C_in, C_out, size, k, pad)
        flops = 3 * forward_flops
        times = best_of_rounds(steps, args.repeats, args.rounds)
        ours, ref, theirs = times["nnlearn"], times["reference"], times["torch"]
        forward = best_of_rounds(forward_steps, args.repeats, args.rounds)
        forward_rows.append((f"{N}, {C_in}→{C_out}, {size}×{size}, {k}, {pad}", forward["nnlearn"], forward["torch"],
                             forward_flops))
        if np.isnan(theirs):
            verdict = "no PyTorch"
        else:
            verdict = "met" if ours / theirs <= target else f"**missed** by {ours / theirs / target - 1:.0%}"
        print(f"| conv2d {N}, {C_in}→{C_out}, {size}×{size}, {k}, {pad} | {ours * 1e3:.2f} | {ref * 1e3:.2f} | "
              f"{theirs * 1e3:.2f} | {ours / theirs:.2f}x | ≤ {target:.1f}x ({verdict}) | {ours / ref:.2f}x | "
              f"{flops / ours / 1e9:.1f} ({flops / ours / 1e9 / peak:.0%}) | {flops / theirs / 1e9:.1f} |")
    for kind, N, C, size, k, stride in POOL_WORKLOADS:
        steps = pool_steps(kind, N, C, size, k, stride)
        times = best_of_rounds(steps, args.repeats, args.rounds)
        ours, ref, theirs = times["nnlearn"], times["reference"], times["torch"]
        print(f"| {kind}_pool2d {N}, {C}, {size}×{size}, k{k}, stride {stride} | {ours * 1e3:.2f} | "
              f"{ref * 1e3:.2f} | {theirs * 1e3:.2f} | {ours / theirs:.2f}x | – | {ours / ref:.2f}x | – | – |")

    print("\nThe forward pass alone (inference):\n")
    print("| workload | nnlearn (ms) | PyTorch (ms) | nnlearn / PyTorch | nnlearn GFLOP/s | PyTorch GFLOP/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, ours, theirs, forward_flops in forward_rows:
        print(f"| conv2d {name} | {ours * 1e3:.2f} | {theirs * 1e3:.2f} | {ours / theirs:.2f}x | "
              f"{forward_flops / ours / 1e9:.1f} | {forward_flops / theirs / 1e9:.1f} |")

    print("\nFirst calls in a fresh process, warm Numba cache (medians of 3 processes per order):\n")
    costs = first_call_costs()
    print(f"Importing NumPy and the CPU kernels (which imports Numba): {costs['import']:.2f} s\n")
    print("| kernel | first call, when it is the process's first Numba call (s) "
          "| first call, after another kernel (s) |")
    print("| --- | --- | --- |")
    for name in KERNEL_NAMES:
        print(f"| {name} | {costs['first'][name]:.2f} | {costs['others'][name]:.3f} |")
    print(f"\nLoad average after the run: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
