"""One model, three kernel backends: reference (NumPy), cpu (Numba) and cuda (Numba CUDA, in the simulator here).

The kernels themselves are compared with the reference in their own tests; this file checks the whole path a
learner uses — ``nnlearn.set_backend`` / ``use_backend``, the functional ops and the layers — by running the
same functions and a small LeNet-like CNN on every backend and asking for the same outputs and gradients, and
for PyTorch's. Shapes are tiny so the CUDA simulator (a Python interpreter of the kernels) stays fast.
"""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import Tensor, nn
from nnlearn import functional as F

BACKENDS = ["reference", "cpu", "cuda"]
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-11}


def lenet(module, seed=0):
    """Conv2d -> ReLU -> MaxPool2d -> Conv2d -> ReLU -> AvgPool2d -> Flatten -> Linear, in either library.

    (N, 1, 8, 8) -> conv 3x3 pad 1 -> (N, 2, 8, 8) -> max pool 2 -> (N, 2, 4, 4) -> conv (3, 2) stride (1, 2)
    -> (N, 3, 2, 2) -> avg pool 2 -> (N, 3, 1, 1) -> (N, 3) -> (N, 3).
    """
    nnlearn.manual_seed(seed)
    return module.Sequential(
        module.Conv2d(1, 2, 3, padding=1), module.ReLU(), module.MaxPool2d(2),
        module.Conv2d(2, 3, (3, 2), stride=(1, 2)), module.ReLU(), module.AvgPool2d(2),
        module.Flatten(), module.Linear(3, 3))


def run_lenet(backend, dtype, x, y):
    """Loss, logits and every parameter's gradient of one forward and backward pass on ``backend``."""
    model = lenet(nn).to(dtype)
    with nnlearn.use_backend(backend):
        logits = model(Tensor(x.astype(dtype)))
        loss = F.cross_entropy(logits, y)
        loss.backward()
    return loss.item(), logits.data, {name: p.grad for name, p in model.named_parameters()}


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(7)
    return rng.standard_normal((2, 1, 8, 8)), np.array([2, 0])


def test_set_backend_switches_and_use_backend_restores():
    previous = nnlearn.get_backend()  # "cpu" unless a test before this one changed it
    with nnlearn.use_backend("reference"):
        assert nnlearn.get_backend() == "reference"
        with nnlearn.use_backend("cuda"):
            assert nnlearn.get_backend() == "cuda"
        assert nnlearn.get_backend() == "reference"
    assert nnlearn.get_backend() == previous
    try:
        nnlearn.set_backend("reference")
        assert nnlearn.get_backend() == "reference"
    finally:
        nnlearn.set_backend(previous)
    with pytest.raises(ValueError, match="backend must be one of 'reference', 'cpu', 'cuda'; got 'gpu'"):
        nnlearn.set_backend("gpu")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_lenet_gives_the_same_outputs_and_gradients_on_every_backend(batch, backend, dtype):
    x, y = batch
    ref_loss, ref_logits, ref_grads = run_lenet("reference", dtype, x, y)
    loss, logits, grads = run_lenet(backend, dtype, x, y)
    tol = TOLERANCE[dtype]
    assert logits.dtype == dtype
    assert loss == pytest.approx(ref_loss, rel=tol)
    np.testing.assert_allclose(logits, ref_logits, rtol=tol, atol=tol)
    assert list(grads) == list(ref_grads)
    for name in ref_grads:
        assert grads[name].dtype == dtype, name
        np.testing.assert_allclose(grads[name], ref_grads[name], rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lenet_matches_pytorch_on_every_backend(torch, batch, backend):
    x, y = batch
    theirs = lenet(torch.nn).double()
    ours = lenet(nn).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    with nnlearn.use_backend(backend):
        loss = F.cross_entropy(ours(Tensor(x)), y)
        loss.backward()
    expected = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


# (op, x shape, weight shape or None, keyword arguments): stride > 1, per-axis padding, ragged edges, batch 1
OPS = [
    ("conv2d", (1, 2, 5, 7), (3, 2, 3, 2), {"stride": (2, 1), "padding": (1, 2)}),
    ("conv2d", (2, 3, 6, 5), (2, 3, 1, 3), {"stride": 3}),
    ("max_pool2d", (2, 2, 7, 6), None, {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("max_pool2d", (1, 3, 5, 5), None, {"kernel_size": (2, 3), "stride": (1, 2)}),
    ("avg_pool2d", (2, 2, 7, 6), None, {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("avg_pool2d", (1, 3, 5, 4), None, {"kernel_size": (2, 3), "padding": (1, 0)}),
]
OP_IDS = [f"{op}-x{x}-{kw}" for op, x, _, kw in OPS]


def run_op(backend, op, x, w, b, kwargs, dout_seed=3):
    """Output and gradients (input, and weight and bias for conv2d) of one op on ``backend``."""
    tensors = [Tensor(a, requires_grad=True) for a in ((x,) if w is None else (x, w, b))]
    with nnlearn.use_backend(backend):
        out = getattr(F, op)(*tensors, **kwargs)
        family = "conv2d" if op == "conv2d" else "pool2d"
        assert out._node.ctx.kernels.__name__ == f"nnlearn.kernels.{backend}.{family}"  # the backend really ran
        out.backward(np.random.default_rng(dout_seed).standard_normal(out.shape).astype(x.dtype))
    return out.data, [t.grad for t in tensors]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("op,x_shape,w_shape,kwargs", OPS, ids=OP_IDS)
@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_functional_ops_agree_with_the_reference(rng, backend, op, x_shape, w_shape, kwargs, dtype):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = None if w_shape is None else rng.standard_normal(w_shape).astype(dtype)
    b = None if w_shape is None else rng.standard_normal(w_shape[0]).astype(dtype)
    expected, expected_grads = run_op("reference", op, x, w, b, kwargs)
    out, grads = run_op(backend, op, x, w, b, kwargs)
    tol = TOLERANCE[dtype]
    assert type(out) is np.ndarray and out.dtype == dtype  # host arrays in, host arrays out
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
    for got, want in zip(grads, expected_grads):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cnn_with_batch_norm_trains_the_same_on_every_backend(backend):
    """Two SGD steps of Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d -> Flatten -> Linear end where the reference's do."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 1, 6, 6)), np.array([0, 1, 1, 0])

    def train(backend):
        nnlearn.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(3),
                              nn.Flatten(), nn.Linear(8, 2)).double()
        optimizer = nnlearn.optim.SGD(model.parameters(), lr=0.1)
        with nnlearn.use_backend(backend):
            for _ in range(2):
                optimizer.zero_grad()
                F.cross_entropy(model(Tensor(x)), y).backward()
                optimizer.step()
        return model.state_dict()

    expected, got = train("reference"), train(backend)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-11, atol=1e-12, err_msg=name)


def test_gpu_arrays_always_use_the_cuda_kernels(monkeypatch):
    """A tensor moved with .to("cuda") must reach the CUDA kernels whatever the backend setting says."""
    from fake_cupy import make_modules  # the strict CuPy stand-in of tests/test_device.py

    from nnlearn.functional._checks import kernels_for

    cupy, _ = make_modules()
    monkeypatch.setattr(nnlearn.device, "_cuda_module", cupy)
    with nnlearn.use_backend("reference"):
        assert kernels_for("conv2d", cupy.zeros((1, 1, 4, 4))).__name__ == "nnlearn.kernels.cuda.conv2d"
        assert kernels_for("pool2d", cupy.zeros((1, 1, 4, 4))).__name__ == "nnlearn.kernels.cuda.pool2d"
        assert kernels_for("conv2d", np.zeros((1, 1, 4, 4))).__name__ == "nnlearn.kernels.reference.conv2d"
    with nnlearn.use_backend("cpu"):
        assert kernels_for("pool2d", np.zeros((1, 1, 4, 4))).__name__ == "nnlearn.kernels.cpu.pool2d"
