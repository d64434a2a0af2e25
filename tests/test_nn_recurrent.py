"""nn.RNN / nn.LSTM / nn.GRU and nn.Embedding: PyTorch parity (forward and every gradient), finite differences,
the functional layers, and the bad-input messages.

These tests run on the readable NumPy kernels (the reference backend); one test runs the compiled CPU kernels
when they exist.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import copy_from_torch

import nnlearn
from nnlearn import Tensor, nn
from nnlearn.functional import recurrent as R
from nnlearn.testing import gradcheck

TOL = dict(rtol=1e-10, atol=1e-10)
CELLS = ("RNN", "LSTM", "GRU")


@pytest.fixture(autouse=True)
def _reference_kernels():
    with nnlearn.use_backend("reference"):
        yield


def run_both(torch, rng, cell, T=5, N=3, I=4, H=6, with_hx=True, **kwargs):
    """Run the same float64 network in both libraries on the same data; return (ours, theirs) results.

    The loss weights every element of output, h_n (and c_n) differently, so a transposed, reversed or swapped
    result or gradient cannot hide.
    """
    theirs = getattr(torch.nn, cell)(I, H, **kwargs).double()
    ours = getattr(nn, cell)(I, H, **kwargs, dtype=np.float64)
    copy_from_torch(ours, theirs)
    D = 2 if kwargs.get("bidirectional") else 1
    L = kwargs.get("num_layers", 1)
    x = rng.standard_normal((N, T, I) if kwargs.get("batch_first") else (T, N, I))
    states = [rng.standard_normal((L * D, N, H)) for _ in range(2 if cell == "LSTM" else 1)]
    results = []
    for lib, make in ((ours, lambda a: Tensor(a.copy(), requires_grad=True)),
                      (theirs, lambda a: torch.tensor(a, requires_grad=True))):
        xt, st = make(x), [make(s) for s in states]
        hx = (tuple(st) if cell == "LSTM" else st[0]) if with_hx else None
        output, final = lib(xt, hx)
        finals = list(final) if cell == "LSTM" else [final]
        weights = np.random.default_rng(7)   # the same loss weights in both libraries
        loss = 0
        for r in (output, *finals):
            w = weights.standard_normal(tuple(r.shape))
            loss = loss + (r * (Tensor(w) if lib is ours else torch.tensor(w))).sum()
        loss.backward()
        grads = {name: p.grad for name, p in lib.named_parameters()}
        inputs = [xt, *st] if with_hx else [xt]
        results.append(([r.detach().numpy() for r in (output, *finals)], grads,
                        [np.asarray(t.grad) for t in inputs]))
    return results


CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(batch_first=True, bias=False),
]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
@pytest.mark.parametrize("with_hx", [True, False], ids=["hx", "no-hx"])
def test_matches_pytorch_forward_and_every_gradient(torch, rng, cell, kwargs, with_hx):
    (ours, theirs) = run_both(torch, rng, cell, with_hx=with_hx, **kwargs)
    for a, b in zip(ours[0], theirs[0]):                     # output, h_n (, c_n)
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOL)
    assert ours[1].keys() == theirs[1].keys()                 # every parameter, by PyTorch's name
    for name in ours[1]:
        np.testing.assert_allclose(ours[1][name], theirs[1][name].numpy(), **TOL, err_msg=name)
    for a, b in zip(ours[2], theirs[2]):                     # input, h_0 (, c_0)
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.parametrize("cell", CELLS)
def test_only_output_used_gives_zero_final_state_gradient_path(torch, rng, cell):
    """A loss on output alone (h_n unused) must match PyTorch too: the unused rows of the pack get zeros."""
    theirs = getattr(torch.nn, cell)(3, 4).double()
    ours = getattr(nn, cell)(3, 4, dtype=np.float64)
    copy_from_torch(ours, theirs)
    x = rng.standard_normal((4, 2, 3))
    (ours(Tensor(x))[0] ** 2).sum().backward()
    (theirs(torch.tensor(x))[0] ** 2).sum().backward()
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(theirs, name).grad.numpy(), **TOL, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_parameters_names_shapes_and_init_like_pytorch(torch, cell):
    ours = getattr(nn, cell)(5, 7, num_layers=2, bidirectional=True)
    theirs = getattr(torch.nn, cell)(5, 7, num_layers=2, bidirectional=True)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    bound = 1 / np.sqrt(7)
    for name, p in ours.named_parameters():
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound, name
        assert p.data.std() > bound / 3, name                # really drawn from U(-b, b), not zeros
    assert repr(ours) == f"{cell}(5, 7, num_layers=2, bidirectional=True)"


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_gradcheck_one_layer(cell):
    """Every element of every input, state and parameter against central finite differences."""
    model = getattr(nn, cell)(2, 3, dtype=np.float64)
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((3, 2, 2)))
    h0 = Tensor(rng.standard_normal((1, 2, 3)))
    params = list(model.parameters())
    if cell == "LSTM":
        c0 = Tensor(rng.standard_normal((1, 2, 3)))

        def f(x, h0, c0, *_):
            out, (h_n, c_n) = model(x, (h0, c0))
            return nnlearn.cat([out.reshape(-1), h_n.reshape(-1), c_n.reshape(-1)])

        result = gradcheck(f, [x, h0, c0, *params])
    else:
        def f(x, h0, *_):
            out, h_n = model(x, h0)
            return nnlearn.cat([out.reshape(-1), h_n.reshape(-1)])

        result = gradcheck(f, [x, h0, *params])
    assert result, str(result)


def test_functional_reverse_is_the_reversed_sequence(rng):
    """reverse=True equals running the flipped sequence forwards and flipping the output back."""
    x, h0 = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 4))
    w_ih, w_hh, b = rng.standard_normal((12, 3)), rng.standard_normal((12, 4)), rng.standard_normal(12)
    out_r, h_r = R.gru(x, h0, w_ih, w_hh, b, b, reverse=True)
    out_f, h_f = R.gru(x[::-1].copy(), h0, w_ih, w_hh, b, b)
    np.testing.assert_allclose(out_r.data, out_f.data[::-1], **TOL)
    np.testing.assert_allclose(h_r.data, h_f.data, **TOL)


def test_training_mode_dropout_between_layers_only():
    model = nn.GRU(3, 4, num_layers=2, dropout=0.5, dtype=np.float64)
    x = Tensor(np.ones((3, 2, 3)))
    model.eval()
    a, b = model(x)[0].data, model(x)[0].data
    np.testing.assert_array_equal(a, b)                        # eval: no dropout, deterministic
    model.train()
    assert not np.allclose(model(x)[0].data, a)               # train: the first layer's output is dropped


# ------------------------------------------------------------------------------------------- Embedding
def test_embedding_matches_pytorch(torch, rng):
    theirs = torch.nn.Embedding(10, 4, padding_idx=2).double()
    ours = nn.Embedding(10, 4, padding_idx=2, dtype=np.float64)
    copy_from_torch(ours, theirs)
    idx = np.array([[1, 2, 1], [9, 0, 2]])
    w = rng.standard_normal((2, 3, 4))
    out = ours(Tensor(idx))
    expected = theirs(torch.tensor(idx))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOL)
    (out * Tensor(w)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), **TOL)  # repeats add; pad gets 0
    assert np.all(ours.weight.grad[2] == 0)
    assert repr(ours) == "Embedding(10, 4, padding_idx=2)"


def test_embedding_init_and_shapes():
    emb = nn.Embedding(50, 8, padding_idx=-1)
    assert emb.padding_idx == 49 and np.all(emb.weight.data[49] == 0)
    assert 0.7 < emb.weight.data[:49].std() < 1.3               # N(0, 1)
    assert emb([3, 4]).shape == (2, 8)
    assert emb(np.array(3)).shape == (8,)


@pytest.mark.parametrize("bad, error, match", [
    ([[1, 10]], ValueError, r"indices must be in \[0, 9\].*got 10 at position \(0, 1\)"),
    ([-1], ValueError, r"got -1 at position \(0,\)"),
    (np.array([1.0, 2.0]), TypeError, r"integer indices.*got dtype float64"),
])
def test_embedding_bad_indices(bad, error, match):
    with pytest.raises(error, match=match):
        nn.Embedding(10, 3)(bad)


def test_embedding_bad_arguments():
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-4, 3\].*got 4"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(TypeError, match="embedding_dim must be an int, got float"):
        nn.Embedding(4, 2.0)


# ------------------------------------------------------------------------------------------- bad input
@pytest.fixture
def no_kernel_runs(monkeypatch):
    """Fail the test if any recurrent kernel is reached: every check must come first."""
    import nnlearn.backend as backend

    def refuse(family, name=None):
        raise AssertionError(f"a {family} kernel was reached before the input was checked")

    monkeypatch.setattr(backend, "kernels", refuse)


@pytest.mark.parametrize("cell", CELLS)
def test_wrong_feature_size(cell, no_kernel_runs):
    with pytest.raises(ValueError, match=r"input must have shape \(T, N, 8\).*got \(T, N, 5\): shape \(7, 3, 5\)"):
        getattr(nn, cell)(8, 4)(nnlearn.zeros(7, 3, 5))
    with pytest.raises(ValueError, match=r"input must have shape \(N, T, 8\).*got \(N, T, 5\)"):
        getattr(nn, cell)(8, 4, batch_first=True)(nnlearn.zeros(3, 7, 5))


@pytest.mark.parametrize("shape, match", [
    ((7, 8), r"input must be 3-D \(T, N, input_size\).*got shape \(7, 8\).*input\.unsqueeze\(1\)"),
    ((2, 7, 3, 8), r"input must be 3-D.*got shape \(2, 7, 3, 8\)"),
])
def test_input_not_3d(shape, match, no_kernel_runs):
    with pytest.raises(ValueError, match=match):
        nn.GRU(8, 4)(nnlearn.zeros(*shape))


def test_integer_or_mismatched_dtype_input(no_kernel_runs):
    with pytest.raises(TypeError, match=r"input must have dtype float32 or float64, got int64"):
        nn.RNN(2, 3)(np.zeros((4, 1, 2), dtype=np.int64))
    with pytest.raises(TypeError, match=r"input and weight_ih_l0 must have the same dtype.*float64.*float32"):
        nn.RNN(2, 3)(np.zeros((4, 1, 2)))


@pytest.mark.parametrize("cell, name", [("RNN", "hx"), ("GRU", "hx"), ("LSTM", "h_0"), ("LSTM", "c_0")])
def test_mismatched_initial_state(cell, name, no_kernel_runs):
    model = getattr(nn, cell)(2, 3, num_layers=2)
    x = nnlearn.zeros(5, 4, 2)
    good, bad = nnlearn.zeros(2, 4, 3), nnlearn.zeros(1, 4, 3)
    hx = bad if cell != "LSTM" else ((bad, good) if name == "h_0" else (good, bad))
    with pytest.raises(ValueError, match=rf"{name} must have shape .* = \(2, 4, 3\) for input of shape "
                                         rf"\(5, 4, 2\).*got \(1, 4, 3\)"):
        model(x, hx)


def test_lstm_hx_must_be_a_pair(no_kernel_runs):
    with pytest.raises(TypeError, match=r"hx must be a pair \(h_0, c_0\).*got Tensor"):
        nn.LSTM(2, 3)(nnlearn.zeros(5, 4, 2), nnlearn.zeros(1, 4, 3))


@pytest.mark.parametrize("batch_first, x_shape, hint", [
    (False, (4, 6, 2), r"batch-first \(N, T, input_size\)\? then pass batch_first=True"),
    (True, (6, 4, 2), r"time-major \(T, N, input_size\)\? then pass batch_first=False"),
])
def test_batch_first_confusion_hint(batch_first, x_shape, hint, no_kernel_runs):
    """hx says the batch has 4 sequences; the input has 4 along the other leading dim: a swapped layout."""
    model = nn.GRU(2, 3, batch_first=batch_first)
    with pytest.raises(ValueError, match=rf"hx must have shape.*\(1, 6, 3\).*got \(1, 4, 3\).*{hint}"):
        model(nnlearn.zeros(*x_shape), nnlearn.zeros(1, 4, 3))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"nonlinearity must be 'tanh'; 'relu' is not supported yet"):
        nn.RNN(2, 3, nonlinearity="relu")
    with pytest.raises(TypeError, match="hidden_size must be an int, got float"):
        nn.LSTM(2, 3.0)
    with pytest.raises(ValueError, match="num_layers must be positive, got 0"):
        nn.GRU(2, 3, num_layers=0)
    with pytest.raises(ValueError, match=r"dropout must be a probability in \[0, 1\], got 1.5"):
        nn.GRU(2, 3, dropout=1.5)


def test_functional_bad_shapes(rng):
    x, w_ih, w_hh = rng.standard_normal((5, 2, 3)), rng.standard_normal((16, 3)), rng.standard_normal((16, 4))
    h0 = np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"lstm: c0 must have shape \(N, hidden_size\) = \(2, 4\).*got \(3, 4\)"):
        R.lstm(x, h0, np.zeros((3, 4)), w_ih, w_hh)
    with pytest.raises(ValueError, match=r"gru: w_hh must have shape \(3\*H, H\).*got \(16, 4\)"):
        R.gru(x, h0, w_ih[:12], w_hh)
    with pytest.raises(ValueError, match=r"rnn_tanh: w_ih must have shape \(1\*H, input_size\) = \(4, 3\)"):
        R.rnn_tanh(x, h0, w_ih, w_hh[:4])


# ------------------------------------------------------------------------------------------- cpu kernels
CPU_KERNELS = Path(nnlearn.__file__).parent / "kernels" / "cpu" / "recurrent.py"


@pytest.mark.skipif(not CPU_KERNELS.exists(), reason="nnlearn/kernels/cpu/recurrent.py not written yet: "
                                                     "the compiled CPU recurrent kernels are missing")
@pytest.mark.parametrize("cell", CELLS)
def test_cpu_backend_matches_reference(cell, rng):
    model = getattr(nn, cell)(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    x = rng.standard_normal((5, 2, 3))
    results = []
    for backend in ("reference", "cpu"):
        model.zero_grad()
        with nnlearn.use_backend(backend):
            output, final = model(Tensor(x))
        h_n = final[0] if cell == "LSTM" else final
        ((output ** 2).sum() + h_n.sum()).backward()
        results.append([output.data, h_n.data, *(p.grad for p in model.parameters())])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
