"""Benchmark: LSTM and GRU, forward + backward through time, float32 — nnlearn's Numba kernels vs the NumPy
reference vs PyTorch CPU (``torch.nn.LSTM/GRU``, 2 threads), side by side in one process, median of repeated runs.

One "step" is the whole-sequence forward pass and the full backward pass (gradients of the input, the initial
states and every weight and bias), with random upstream gradients on the output and on the final states. The
table gives milliseconds, the ratio nnlearn / PyTorch next to the issue's target, and the reference's ratio.

    .venv/bin/python benchmarks/recurrent.py                        # the full table (about half a minute)
    .venv/bin/python benchmarks/recurrent.py --repeats 7 --rounds 1

The machine is shared, so the implementations take turns: in each of ``--rounds`` rounds every implementation
is timed (median of ``--repeats`` runs), and the table keeps each one's best round — the round least disturbed
by whatever else was running. Run it on a quiet machine (see the load average it prints) all the same.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

from timing import machine_description, median_time

try:  # before nnlearn's CPU kernels, which ask OpenMP for passive waiting: PyTorch keeps its own defaults
    import torch
except ImportError:
    torch = None

from nnlearn.kernels.cpu import recurrent as cpu_rnn
from nnlearn.kernels.reference import recurrent as ref_rnn

# (cell, batch N, sequence T, input I, hidden H) and the target for nnlearn / PyTorch.
WORKLOADS = [
    (("lstm", 32, 50, 64, 128), 1.5),
    (("lstm", 1, 200, 16, 32), 0.5),
    (("gru", 32, 50, 64, 128), 1.5),
    (("gru", 1, 200, 16, 32), 0.5),
]
GATES = {"lstm": 4, "gru": 3}


def recurrent_steps(cell: str, N: int, T: int, I: int, H: int):
    """Forward + backward step functions for nnlearn CPU, the reference and PyTorch on the same data."""
    rng = np.random.default_rng(0)
    G, k = GATES[cell], 1 / np.sqrt(H)
    f32 = np.float32
    x = rng.standard_normal((T, N, I)).astype(f32)
    h0, c0 = rng.standard_normal((N, H)).astype(f32), rng.standard_normal((N, H)).astype(f32)
    w_ih, w_hh = rng.uniform(-k, k, (G * H, I)).astype(f32), rng.uniform(-k, k, (G * H, H)).astype(f32)
    b_ih, b_hh = rng.uniform(-k, k, G * H).astype(f32), rng.uniform(-k, k, G * H).astype(f32)
    dout = rng.standard_normal((T, N, H)).astype(f32)
    dh_n, dc_n = rng.standard_normal((N, H)).astype(f32), rng.standard_normal((N, H)).astype(f32)

    def with_kernels(kernels):
        if cell == "lstm":
            def step():
                *_, saved = kernels.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
                return kernels.lstm_backward(dout, dh_n, dc_n, x, h0, c0, w_ih, w_hh, saved)
        else:
            def step():
                *_, saved = kernels.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
                return kernels.gru_backward(dout, dh_n, x, h0, w_ih, w_hh, saved)
        return step

    steps = {"nnlearn": with_kernels(cpu_rnn), "reference": with_kernels(ref_rnn), "torch": None}
    if torch is not None:
        module = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(I, H)
        with torch.no_grad():
            for name, value in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih),
                                ("bias_hh_l0", b_hh)):
                getattr(module, name).copy_(torch.from_numpy(value))
        xt = torch.tensor(x, requires_grad=True)
        h0t, c0t = torch.tensor(h0[None], requires_grad=True), torch.tensor(c0[None], requires_grad=True)
        dt, dht, dct = torch.tensor(dout), torch.tensor(dh_n[None]), torch.tensor(dc_n[None])

        def torch_step():
            module.zero_grad(set_to_none=True)
            xt.grad = h0t.grad = c0t.grad = None
            if cell == "lstm":
                out, (h_n, c_n) = module(xt, (h0t, c0t))
                torch.autograd.backward([out, h_n, c_n], [dt, dht, dct])
            else:
                out, h_n = module(xt, h0t)
                torch.autograd.backward([out, h_n], [dt, dht])
        steps["torch"] = torch_step
    return steps


def best_of_rounds(steps: dict, repeats: int, rounds: int) -> dict:
    """Each implementation's best median over ``rounds`` rounds, the implementations taking turns."""
    best = {name: float("inf") for name, fn in steps.items() if fn is not None}
    for _ in range(rounds):
        for name in best:
            best[name] = min(best[name], median_time(steps[name], repeats=repeats, warmup=2))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="runs per median (at least 7)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each implementation keeps its best")
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(2)
    print(f"Machine: {machine_description()}; load average {os.getloadavg()[0]:.2f}")
    print(f"float32, forward + backward, median of {args.repeats} runs, best of {args.rounds} rounds\n")
    print("| workload | nnlearn (ms) | reference (ms) | PyTorch (ms) | nnlearn / PyTorch | target | met | "
          "reference / PyTorch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: |")
    for (cell, N, T, I, H), target in WORKLOADS:
        times = best_of_rounds(recurrent_steps(cell, N, T, I, H), args.repeats, args.rounds)
        name = f"{cell.upper()} batch {N}, seq {T}, input {I}, hidden {H}"
        ours, ref = times["nnlearn"] * 1e3, times["reference"] * 1e3
        if "torch" in times:
            pt = times["torch"] * 1e3
            ratio = ours / pt
            print(f"| {name} | {ours:.3f} | {ref:.3f} | {pt:.3f} | {ratio:.2f}x | <= {target}x | "
                  f"{'yes' if ratio <= target else 'NO'} | {ref / pt:.2f}x |")
        else:
            print(f"| {name} | {ours:.3f} | {ref:.3f} | - | - | <= {target}x | - | - |")


if __name__ == "__main__":
    main()
