"""Benchmark: one training step (forward, backward, SGD update) of an MLP, float32.

Compares nnlearn's autograd with a hand-written NumPy forward/backward (the floor: no graph bookkeeping at
all) and with PyTorch CPU limited to 2 threads, in one process, median of repeated runs.

    .venv/bin/python benchmarks/mlp.py
"""
from __future__ import annotations

import numpy as np

from timing import machine_description, median_time

import nnlearn
import nnlearn.functional as F
from nnlearn import nn, optim

WORKLOADS = [  # (batch, layer sizes)
    (256, (784, 256, 10)),
    (64, (2, 64, 64, 2)),
    (1024, (64, 512, 512, 10)),
]


def nnlearn_step(batch: int, sizes: tuple[int, ...]):
    nnlearn.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    opt = optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = nnlearn.Tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    y = nnlearn.Tensor(rng.integers(0, sizes[-1], batch))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


def numpy_step(batch: int, sizes: tuple[int, ...]):
    """The same network with its backward pass written out by hand: what autograd automates."""
    rng = np.random.default_rng(0)
    ws = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(o, np.float32) for o in sizes[1:]]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)

    def step():
        acts = [x]
        for k, (w, b) in enumerate(zip(ws, bs)):
            z = acts[-1] @ w.T + b
            acts.append(np.maximum(z, 0) if k < len(ws) - 1 else z)
        logits = acts[-1]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = p
        grad[np.arange(batch), y] -= 1
        grad /= batch
        for k in reversed(range(len(ws))):
            gw, gb = grad.T @ acts[k], grad.sum(axis=0)
            if k > 0:
                grad = (grad @ ws[k]) * (acts[k] > 0)
            ws[k] -= 0.01 * gw
            bs[k] -= 0.01 * gb
    return step


def torch_step(batch: int, sizes: tuple[int, ...]):
    import torch
    torch.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(batch, sizes[0])
    y = torch.randint(0, sizes[-1], (batch,))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


def main() -> None:
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        torch = None
    print(f"Machine: {machine_description()}\n")
    print("| batch | layers | nnlearn (ms) | NumPy by hand (ms) | PyTorch CPU (ms) | nnlearn / NumPy | nnlearn / PyTorch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for batch, sizes in WORKLOADS:
        ours = median_time(nnlearn_step(batch, sizes), repeats=15)
        ref = median_time(numpy_step(batch, sizes), repeats=15)
        theirs = median_time(torch_step(batch, sizes), repeats=15) if torch else float("nan")
        print(f"| {batch} | {'-'.join(map(str, sizes))} | {ours * 1e3:.2f} | {ref * 1e3:.2f} | "
              f"{theirs * 1e3:.2f} | {ours / ref:.2f}x | {ours / theirs:.2f}x |")


if __name__ == "__main__":
    main()
