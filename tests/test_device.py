"""The GPU device path: tensors and models moved with .to("cuda") stay there through training.

Without a GPU these tests run on a strict CuPy stand-in (tests/fake_cupy.py) that raises as soon as an op
mixes a device array with a host array; with NNLEARN_CUDA=real on a machine with CuPy and a GPU, the last
tests run the same training on the real device.
"""
from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

import nnlearn
import nnlearn.functional as F
from nnlearn import Tensor, data, nn, optim, train
from nnlearn.device import device_of

from fake_cupy import FakeGPUArray, make_modules


@pytest.fixture
def fake_gpu(monkeypatch):
    cupy, cupyx = make_modules()
    monkeypatch.setattr(nnlearn.device, "_cuda_module", cupy)
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    return cupy


def on_device(array) -> bool:
    return isinstance(array, FakeGPUArray)


def test_tensor_moves_and_reports_its_device(fake_gpu):
    x = Tensor(np.arange(6.0).reshape(2, 3))
    g = x.to("cuda")
    assert g.device == "cuda" and on_device(g.data) and x.device == "cpu"
    assert g.to("cuda") is g and x.to("cpu") is x
    assert "device='cuda'" in repr(g)
    with pytest.raises(TypeError, match=r"\.cpu\(\) first"):
        g.numpy()
    back = g.cpu()
    assert back.device == "cpu" and type(back.numpy()) is np.ndarray
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    assert nnlearn.zeros(2, 3, device="cuda").device == "cuda"
    assert nnlearn.randn(2, device="cuda").device == "cuda"


def test_numbers_join_the_device_and_mixed_devices_are_refused(fake_gpu):
    g = Tensor(np.ones(3)).to("cuda")
    assert on_device((g * 2.0 + 1).data)
    with pytest.raises(ValueError, match=r"same device.*\(3,\) on cuda.*\(3,\) on cpu"):
        g + Tensor(np.ones(3))


def test_gradients_flow_back_across_a_move(fake_gpu):
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = (x.to("cuda") ** 2).sum()
    y.backward()
    assert type(x.grad) is np.ndarray  # the gradient comes home with the leaf
    np.testing.assert_allclose(x.grad, 2 * x.data)


def mlp() -> nn.Module:
    nnlearn.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3)).double()


def train_steps(model: nn.Module, device: str, steps: int = 3) -> list[float]:
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((8, 4))).to(device)
    y = Tensor(rng.integers(0, 3, 8)).to(device)
    opt = optim.AdamW(model.parameters(), lr=0.01)
    nnlearn.manual_seed(1)  # same dropout masks on both devices
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses


def test_an_mlp_trains_on_the_device_and_matches_the_cpu(fake_gpu):
    cpu_model = mlp()
    cpu_losses = train_steps(cpu_model, "cpu")
    gpu_model = mlp().to("cuda")
    gpu_losses = train_steps(gpu_model, "cuda")
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-12)
    for (name, p_gpu), p_cpu in zip(gpu_model.named_parameters(), cpu_model.parameters()):
        assert on_device(p_gpu.data) and on_device(p_gpu.grad), name
        np.testing.assert_allclose(np.asarray(p_gpu.data), p_cpu.data, rtol=1e-12, err_msg=name)


def test_fit_moves_each_batch_to_the_models_device(fake_gpu):
    X, y = data.make_moons(n_samples=64, noise=0.1, seed=0)
    histories = []
    for device in ("cpu", "cuda"):
        model = mlp()
        model[0] = nn.Linear(2, 16).double()
        model.to(device)
        loader = data.DataLoader(data.TensorDataset(X.astype(np.float64), y), batch_size=16, shuffle=True, seed=0)
        histories.append(train.fit(model, loader, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                                   epochs=2, val_loader=loader, progress=False))
        assert all(p.device == device for p in model.parameters())
    np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=1e-12)
    np.testing.assert_allclose(histories[1]["val_accuracy"], histories[0]["val_accuracy"])


def lenet() -> nn.Module:
    nnlearn.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3), nn.ReLU(), nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(6, 3),
    ).double()


def test_a_cnn_trains_on_the_device_with_the_cuda_kernels_and_matches_the_cpu(fake_gpu, monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 1, 8, 8)), rng.integers(0, 3, 2)
    results = {}
    for device in ("cpu", "cuda"):
        model = lenet().to(device)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(2):
            opt.zero_grad()
            loss = F.cross_entropy(model(Tensor(x).to(device)), Tensor(y).to(device))
            loss.backward()
            opt.step()
        results[device] = (loss.item(), model)
    cpu_loss, cpu_model = results["cpu"]
    gpu_loss, gpu_model = results["cuda"]
    np.testing.assert_allclose(gpu_loss, cpu_loss, rtol=1e-10)
    for (name, p_gpu), p_cpu in zip(gpu_model.named_parameters(), cpu_model.parameters()):
        assert on_device(p_gpu.data) and on_device(p_gpu.grad), name
        np.testing.assert_allclose(np.asarray(p_gpu.data), p_cpu.data, rtol=1e-9, atol=1e-12, err_msg=name)
    assert on_device(gpu_model[1].running_mean.data)


def test_state_dict_round_trip_on_the_device(fake_gpu):
    model = mlp().to("cuda")
    state = {k: nnlearn.device.to_device(v, "cpu") for k, v in model.state_dict().items()}
    fresh = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3)).double().to("cuda")
    fresh.load_state_dict(state)
    for p in fresh.parameters():
        assert on_device(p.data)
    np.testing.assert_array_equal(np.asarray(fresh[0].weight.data), state["0.weight"])


def test_without_cupy_moving_to_cuda_is_a_clear_error(monkeypatch):
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here, so this machine may well have a GPU")
    monkeypatch.setattr(nnlearn.device, "_cuda_module", None)
    with pytest.raises(RuntimeError, match=r"needs an NVIDIA GPU with CuPy installed"):
        Tensor([1.0]).to("cuda")
    with pytest.raises(ValueError, match="expected a device"):
        Tensor([1.0]).to("gpu")


REAL_GPU = os.environ.get("NNLEARN_CUDA") == "real"


@pytest.mark.skipif(not REAL_GPU, reason="real-GPU run only with NNLEARN_CUDA=real on a machine with CuPy and a GPU")
def test_an_mlp_trains_on_a_real_gpu_and_matches_the_cpu():
    cpu_losses = train_steps(mlp(), "cpu")
    gpu_model = mlp().to("cuda")
    gpu_losses = train_steps(gpu_model, "cuda")
    assert all(device_of(p.data) == "cuda" for p in gpu_model.parameters())
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-9)
