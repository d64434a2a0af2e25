"""Benchmark: LSTM and GRU, forward + backward through time, on an NVIDIA GPU — nnlearn's CUDA kernels vs PyTorch
CUDA (``torch.nn.LSTM/GRU``, which runs cuDNN's fused recurrent kernels).

The workloads of the CPU benchmark (``recurrent.py``), float32. One step is the whole-sequence forward pass and
the full backward pass (gradients of the input, the initial states and every weight and bias), with random
upstream gradients on the output and on the final states. The data stays on the GPU throughout: CuPy arrays
when CuPy is installed (what a tensor moved with ``.to("cuda")`` holds), else Numba device arrays. Each step is
timed from an idle device to a finished one (``synchronize`` before reading the clock), median of repeated runs
after warm-up runs that also compile the kernels. Both libraries run in this one process, one after the other.

Our kernels launch one kernel per time step forward and one per step backward (see
``nnlearn/kernels/cuda/recurrent.py``), so the long, narrow workload (200 steps of 32 units) measures mostly
the cost of a kernel launch from Python; the table gives the number of launches per forward + backward step.

    .venv/bin/python benchmarks/recurrent_cuda.py              # on a machine with an NVIDIA GPU
    .venv/bin/python benchmarks/recurrent_cuda.py --repeats 31

Without a GPU (or under the CUDA simulator) it says so and exits with status 0; without a CUDA build of
PyTorch it measures nnlearn alone.
"""
from __future__ import annotations

import sys

import numpy as np

from gpu import measure, setup

# (cell, batch N, sequence T, input I, hidden H): the four workloads, as in recurrent.py.
WORKLOADS = [
    ("lstm", 32, 50, 64, 128),
    ("lstm", 1, 200, 16, 32),
    ("gru", 32, 50, 64, 128),
    ("gru", 1, 200, 16, 32),
]
GATES = {"lstm": 4, "gru": 3}


def make_data(cell: str, N: int, T: int, I: int, H: int) -> dict:
    """Inputs, weights drawn like PyTorch's init, and upstream gradients, as float32 host arrays."""
    rng = np.random.default_rng(0)
    G, k = GATES[cell], 1 / np.sqrt(H)
    f32 = np.float32
    return dict(
        x=rng.standard_normal((T, N, I)).astype(f32),
        h0=rng.standard_normal((N, H)).astype(f32), c0=rng.standard_normal((N, H)).astype(f32),
        w_ih=rng.uniform(-k, k, (G * H, I)).astype(f32), w_hh=rng.uniform(-k, k, (G * H, H)).astype(f32),
        b_ih=rng.uniform(-k, k, G * H).astype(f32), b_hh=rng.uniform(-k, k, G * H).astype(f32),
        dout=rng.standard_normal((T, N, H)).astype(f32),
        dh_n=rng.standard_normal((N, H)).astype(f32), dc_n=rng.standard_normal((N, H)).astype(f32))


def recurrent_steps(torch, to_gpu, sync, cell: str, data: dict):
    """One forward + backward step each for nnlearn and (if ``torch`` is given) PyTorch, on the same data."""
    from nnlearn.kernels.cuda import recurrent
    g = {name: to_gpu(a) for name, a in data.items()}

    if cell == "lstm":
        def ours():
            out, _, _, saved = recurrent.lstm_forward(g["x"], g["h0"], g["c0"], g["w_ih"], g["w_hh"], g["b_ih"],
                                                      g["b_hh"])
            recurrent.lstm_backward(g["dout"], g["dh_n"], g["dc_n"], g["x"], g["h0"], g["c0"], g["w_ih"],
                                    g["w_hh"], saved)
            sync()
            return out
    else:
        def ours():
            out, _, saved = recurrent.gru_forward(g["x"], g["h0"], g["w_ih"], g["w_hh"], g["b_ih"], g["b_hh"])
            recurrent.gru_backward(g["dout"], g["dh_n"], g["x"], g["h0"], g["w_ih"], g["w_hh"], saved)
            sync()
            return out
    if torch is None:
        return ours, None

    T, N, I = data["x"].shape
    H = data["w_hh"].shape[1]
    module = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(I, H).cuda()
    with torch.no_grad():
        for name, key in (("weight_ih_l0", "w_ih"), ("weight_hh_l0", "w_hh"), ("bias_ih_l0", "b_ih"),
                          ("bias_hh_l0", "b_hh")):
            getattr(module, name).copy_(torch.from_numpy(data[key]))

    def cuda_tensor(key: str, grad: bool = False, batch_of_one_layer: bool = False):
        t = torch.from_numpy(data[key][None] if batch_of_one_layer else data[key]).cuda()
        return t.requires_grad_(grad)
    xt, h0t, c0t = cuda_tensor("x", True), cuda_tensor("h0", True, True), cuda_tensor("c0", True, True)
    dt, dht, dct = cuda_tensor("dout"), cuda_tensor("dh_n", False, True), cuda_tensor("dc_n", False, True)

    def theirs():
        module.zero_grad(set_to_none=True)
        xt.grad = h0t.grad = c0t.grad = None
        if cell == "lstm":
            out, (h_n, c_n) = module(xt, (h0t, c0t))
            torch.autograd.backward([out, h_n, c_n], [dt, dht, dct])
        else:
            out, h_n = module(xt, h0t)
            torch.autograd.backward([out, h_n], [dt, dht])
        torch.cuda.synchronize()
        return out
    return ours, theirs


def main() -> int:
    gpu = setup("recurrent_cuda.py", __doc__.split("\n")[0])
    if gpu is None:
        return 0
    torch_cuda, to_gpu, sync, repeats = gpu.torch, gpu.to_gpu, gpu.sync, gpu.repeats

    print("| workload | kernel launches | nnlearn CUDA (ms) | PyTorch CUDA (ms) | nnlearn / PyTorch "
          "| max abs diff of out |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for cell, N, T, I, H in WORKLOADS:
        ours, theirs = recurrent_steps(torch_cuda, to_gpu, sync, cell, make_data(cell, N, T, I, H))
        cells = measure(ours, theirs, repeats)
        # Forward: 2 transposes, the input projection, T steps; backward: T steps, dh0, dx, 2 weight and 2 bias sums.
        launches = 3 + T + T + 6
        print(f"| {cell.upper()} batch {N}, seq {T}, input {I}, hidden {H} | {launches} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
