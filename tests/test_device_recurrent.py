"""Recurrent layers on the CUDA kernels, through the library: ``set_backend("cuda")`` with host tensors, and
models moved with ``.to("cuda")``.

Without a GPU the kernels run under Numba's CUDA simulator, and the device arrays are the strict CuPy stand-in
of ``tests/fake_cupy.py``, which raises as soon as an op mixes a device array with a host array. The kernels
themselves are checked against the reference in ``test_kernels_cuda_recurrent.py``; here the question is
whether ``nn.RNN/LSTM/GRU`` (several layers, both directions, ``batch_first``) and the training around them
give the same numbers on the CUDA path as on the CPU kernels.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

import nnlearn
import nnlearn.functional as F
from nnlearn import Tensor, nn, optim

from fake_cupy import FakeGPUArray, make_modules

CELLS = ("RNN", "LSTM", "GRU")


@pytest.fixture
def fake_gpu(monkeypatch):
    cupy, cupyx = make_modules()
    monkeypatch.setattr(nnlearn.device, "_cuda_module", cupy)
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    return cupy


@pytest.fixture
def cuda_kernels_used(monkeypatch):
    """Records the kernel module each recurrent layer picked, so a test can check the CUDA kernels really ran."""
    picked = []
    choose = nnlearn.backend.kernels

    def kernels(family, backend=None):
        module = choose(family, backend)
        if family == "recurrent":
            picked.append(module.__name__)
        return module
    monkeypatch.setattr(nnlearn.backend, "kernels", kernels)
    return picked


def make_model(cell: str, **kwargs) -> nn.Module:
    nnlearn.manual_seed(0)
    return getattr(nn, cell)(3, 5, dtype=np.float64, **kwargs)


def forward_backward(model: nn.Module, cell: str, x: np.ndarray, device: str = "cpu"):
    """Outputs, final states, the input's gradient and every parameter's gradient, all as host arrays.

    The loss weights every element differently, so a swapped or reversed result or gradient cannot hide.
    """
    xt = Tensor(x.copy(), requires_grad=True)
    output, final = model(xt.to(device))
    finals = list(final) if cell == "LSTM" else [final]
    weights = np.random.default_rng(7)
    loss = 0
    for r in (output, *finals):
        loss = loss + (r * Tensor(weights.standard_normal(r.shape)).to(device)).sum()
    loss.backward()
    host = [nnlearn.device.to_device(r.data, "cpu") for r in (output, *finals)]
    grads = [nnlearn.device.to_device(p.grad, "cpu") for p in model.parameters()]
    return host, grads, xt.grad


def assert_same_results(got, want, tol=1e-12):
    for part_got, part_want in zip(got, want):
        for g, w in zip(part_got, part_want):
            assert type(g) is np.ndarray
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


# Every path through the functional layer: stacked layers, the reverse direction (time reversal), batch_first.
BACKEND_CASES = [
    ("RNN", dict(batch_first=True)),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("GRU", dict(bidirectional=True)),
]


@pytest.mark.parametrize("cell, kwargs", BACKEND_CASES)
def test_set_backend_cuda_runs_host_tensors_through_the_cuda_kernels_with_the_same_results(cell, kwargs,
                                                                                           cuda_kernels_used):
    x = np.random.default_rng(0).standard_normal((2, 3, 3))  # (N, T, I) or (T, N, I)
    model = make_model(cell, **kwargs)
    # The comparison runs on the reference kernels: the ones every other implementation is tested against
    # (and, unlike the Numba CPU kernels, with nothing to compile first).
    with nnlearn.use_backend("reference"):
        want = forward_backward(model, cell, x)
    model.zero_grad()
    cuda_kernels_used.clear()
    previous = nnlearn.get_backend()
    nnlearn.set_backend("cuda")
    try:
        got = forward_backward(model, cell, x)
    finally:
        nnlearn.set_backend(previous)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    assert cuda_kernels_used == ["nnlearn.kernels.cuda.recurrent"] * layers
    assert_same_results(got, want)


def train_steps(cell: str, device: str, steps: int = 2) -> tuple[list[float], nn.Module]:
    """A few steps of a small sequence classifier (embedding, recurrent layer, linear head) with AdamW and
    gradient clipping, on ``device``; returns the losses and the model."""
    nnlearn.manual_seed(0)
    embed = nn.Embedding(7, 3, dtype=np.float64)
    rnn = getattr(nn, cell)(3, 5, num_layers=2, batch_first=True, dtype=np.float64)
    head = nn.Linear(5, 4, dtype=np.float64)
    for m in (embed, rnn, head):
        m.to(device)
    params = [*embed.parameters(), *rnn.parameters(), *head.parameters()]
    rng = np.random.default_rng(0)
    tokens = Tensor(rng.integers(0, 7, (2, 4))).to(device)  # (N, T)
    labels = Tensor(rng.integers(0, 4, 2)).to(device)
    opt = optim.AdamW(params, lr=0.05)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        output, _ = rnn(embed(tokens))
        loss = F.cross_entropy(head(output[:, -1]), labels)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
    model = nn.Sequential(embed, rnn, head)  # only to walk the parameters in one order
    return losses, model


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_a_recurrent_model_trains_on_the_device_with_the_cuda_kernels_and_matches_the_cpu(cell, fake_gpu,
                                                                                          cuda_kernels_used):
    with nnlearn.use_backend("reference"):  # for host tensors; device arrays always use the CUDA kernels
        cpu_losses, cpu_model = train_steps(cell, "cpu")
        assert "nnlearn.kernels.cuda.recurrent" not in cuda_kernels_used
        gpu_losses, gpu_model = train_steps(cell, "cuda")
    assert cuda_kernels_used[-1] == "nnlearn.kernels.cuda.recurrent"  # device arrays always use the CUDA kernels
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-10)
    assert cpu_losses[-1] < cpu_losses[0]  # it did learn something
    for (name, p_gpu), p_cpu in zip(gpu_model.named_parameters(), cpu_model.parameters()):
        assert isinstance(p_gpu.data, FakeGPUArray) and isinstance(p_gpu.grad, FakeGPUArray), name
        np.testing.assert_allclose(np.asarray(p_gpu.data), p_cpu.data, rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(np.asarray(p_gpu.grad), p_cpu.grad, rtol=1e-10, atol=1e-12, err_msg=name)


def test_outputs_and_final_states_of_a_device_lstm_stay_on_the_device(fake_gpu):
    model = make_model("LSTM", bidirectional=True).to("cuda")
    x = Tensor(np.random.default_rng(2).standard_normal((3, 2, 3))).to("cuda")
    output, (h_n, c_n) = model(x)
    assert all(isinstance(t.data, FakeGPUArray) for t in (output, h_n, c_n))
    assert output.shape == (3, 2, 10) and h_n.shape == c_n.shape == (2, 2, 5)
