"""F.batch_norm, F.layer_norm and the layers BatchNorm1d, BatchNorm2d and LayerNorm.

Gradients against finite differences in float64 (every element), values, gradients and running statistics
against PyTorch with the same parameters, and the bad-input messages.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import copy_from_torch

import nnlearn
from nnlearn import Tensor, nn
from nnlearn import functional as F
from nnlearn.testing import gradcheck


def to_torch(torch, array, requires_grad=True):
    return torch.tensor(array, requires_grad=requires_grad)


BN_SHAPES = [(6, 3), (4, 3, 5), (3, 2, 4, 5)]  # (N, C), (N, C, L), (N, C, H, W)
BN_IDS = ["NC", "NCL", "NCHW"]


# ---------------------------------------------------------------- F.batch_norm
@pytest.mark.parametrize("shape", BN_SHAPES, ids=BN_IDS)
def test_batch_norm_training_gradcheck(rng, shape):
    x = Tensor(rng.standard_normal(shape) * 2 + 1)
    weight = Tensor(rng.standard_normal(shape[1]))
    bias = Tensor(rng.standard_normal(shape[1]))
    # The batch statistics depend on x, so the gradient runs through the mean and the variance too.
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, weight, bias],
                     raise_exception=True)
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), [x], raise_exception=True)


def test_batch_norm_eval_gradcheck(rng):
    x = Tensor(rng.standard_normal((3, 2, 4, 3)))
    mean, var = Tensor(rng.standard_normal(2)), Tensor(rng.random(2) + 0.5)
    weight, bias = Tensor(rng.standard_normal(2)), Tensor(rng.standard_normal(2))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, mean, var, w, b), [x, weight, bias], raise_exception=True)


def test_batch_norm_normalises_each_channel():
    rng = np.random.default_rng(0)
    scale, shift = np.array([1.0, 5.0, 0.1]).reshape(3, 1, 1), np.array([0.0, -3.0, 7.0]).reshape(3, 1, 1)
    x = rng.standard_normal((8, 3, 4, 4)) * scale + shift
    y = F.batch_norm(x, None, None, training=True, eps=0.0).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-12)


@pytest.mark.parametrize("shape", BN_SHAPES, ids=BN_IDS)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)], ids=["float32", "float64"])
def test_batch_norm_matches_pytorch(torch, rng, shape, training, dtype, tol):
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    weight, bias = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    mean, var = rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype)
    ours = [Tensor(a, requires_grad=True) for a in (x, weight, bias)]
    ours_mean, ours_var = Tensor(mean.copy()), Tensor(var.copy())
    out = F.batch_norm(ours[0], ours_mean, ours_var, ours[1], ours[2], training=training, momentum=0.3, eps=1e-4)
    dout = rng.standard_normal(shape).astype(dtype)
    out.backward(dout)

    theirs = [to_torch(torch, a) for a in (x, weight, bias)]
    t_mean, t_var = torch.tensor(mean.copy()), torch.tensor(var.copy())
    expected = torch.nn.functional.batch_norm(theirs[0], t_mean, t_var, theirs[1], theirs[2], training=training,
                                              momentum=0.3, eps=1e-4)
    expected.backward(torch.tensor(dout))

    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=tol, atol=tol)
    # Running statistics: updated in place in training (the variance unbiased), untouched in evaluation.
    np.testing.assert_allclose(ours_mean.data, t_mean.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours_var.data, t_var.numpy(), rtol=tol, atol=tol)
    assert np.array_equal(ours_mean.data, mean) != training


def test_batch_norm_running_update_by_hand():
    # One channel, batch [1, 3]: mean 2, biased variance 1, unbiased variance 2 (m = 2 values).
    mean, var = Tensor(np.array([0.0])), Tensor(np.array([1.0]))
    y = F.batch_norm(np.array([[1.0], [3.0]]), mean, var, training=True, momentum=0.25, eps=0.0)
    np.testing.assert_allclose(y.data, [[-1.0], [1.0]])                   # (x - 2) / sqrt(1)
    np.testing.assert_allclose(mean.data, [0.75 * 0.0 + 0.25 * 2.0])      # 0.5
    np.testing.assert_allclose(var.data, [0.75 * 1.0 + 0.25 * 2.0])       # 1.25


# ---------------------------------------------------------------- F.layer_norm
@pytest.mark.parametrize("shape,normalized_shape", [((4, 5), 5), ((2, 3, 4), (3, 4)), ((3, 2, 4), [4])],
                         ids=["ND-int", "N-3x4", "NLD-list"])
def test_layer_norm_gradcheck(rng, shape, normalized_shape):
    x = Tensor(rng.standard_normal(shape) * 2 + 1)
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    weight, bias = Tensor(rng.standard_normal(ns)), Tensor(rng.standard_normal(ns))
    assert gradcheck(lambda x, w, b: F.layer_norm(x, normalized_shape, w, b), [x, weight, bias],
                     raise_exception=True)
    assert gradcheck(lambda x: F.layer_norm(x, normalized_shape, eps=1e-3), [x], raise_exception=True)


@pytest.mark.parametrize("shape,normalized_shape", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((3, 2, 4), (4,))],
                         ids=["ND", "N-3x4", "NLD"])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)], ids=["float32", "float64"])
def test_layer_norm_matches_pytorch(torch, rng, shape, normalized_shape, dtype, tol):
    x = (rng.standard_normal(shape) * 3 - 1).astype(dtype)
    weight = rng.standard_normal(normalized_shape).astype(dtype)
    bias = rng.standard_normal(normalized_shape).astype(dtype)
    ours = [Tensor(a, requires_grad=True) for a in (x, weight, bias)]
    out = F.layer_norm(ours[0], normalized_shape, ours[1], ours[2], eps=1e-4)
    dout = rng.standard_normal(shape).astype(dtype)
    out.backward(dout)
    theirs = [to_torch(torch, a) for a in (x, weight, bias)]
    expected = torch.nn.functional.layer_norm(theirs[0], normalized_shape, theirs[1], theirs[2], eps=1e-4)
    expected.backward(torch.tensor(dout))
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=tol, atol=tol)


# ---------------------------------------------------------------- modules
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 5))], ids=["1d-NC", "1d-NCL", "2d"])
@pytest.mark.parametrize("momentum", [0.1, None], ids=["momentum", "cumulative"])
def test_batchnorm_module_matches_pytorch_over_training_steps_and_in_eval(torch, rng, cls, shape, momentum):
    theirs = getattr(torch.nn, cls)(3, momentum=momentum).double()
    with torch.no_grad():  # not the default 1 and 0, so a swapped weight and bias would show
        theirs.weight.copy_(torch.tensor(rng.standard_normal(3)))
        theirs.bias.copy_(torch.tensor(rng.standard_normal(3)))
    ours = getattr(nn, cls)(3, momentum=momentum).double()
    copy_from_torch(ours, theirs)

    for step in range(3):  # each batch has its own mean and scale, so the running averages keep moving
        x = rng.standard_normal(shape) * (step + 1) + step
        dout = rng.standard_normal(shape)
        x_ours, x_theirs = Tensor(x, requires_grad=True), to_torch(torch, x)
        out = ours(x_ours)
        out.backward(dout)
        expected = theirs(x_theirs)
        expected.backward(torch.tensor(dout))
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
    for name, param in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad, param.grad.numpy(), rtol=1e-12, atol=1e-12)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name], value.numpy(), rtol=1e-12, atol=1e-12)
    assert int(ours.num_batches_tracked.item()) == 3

    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    assert int(ours.num_batches_tracked.item()) == 3  # evaluation neither counts nor updates


def test_batchnorm_module_in_eval_uses_the_running_statistics(rng):
    bn = nn.BatchNorm2d(2).double()
    bn.running_mean.data[...] = [1.0, -2.0]
    bn.running_var.data[...] = [4.0, 0.25]
    bn.weight.data[...] = [2.0, 1.0]
    bn.bias.data[...] = [0.5, 0.0]
    bn.eval()
    x = rng.standard_normal((1, 2, 3, 3))  # a batch of one is fine in evaluation
    expected = np.stack([2 * (x[0, 0] - 1) / np.sqrt(4 + 1e-5) + 0.5, (x[0, 1] + 2) / np.sqrt(0.25 + 1e-5)])
    np.testing.assert_allclose(bn(Tensor(x)).data[0], expected, rtol=1e-12)
    assert gradcheck(lambda x, w, b: bn(x), [Tensor(x), bn.weight, bn.bias], raise_exception=True)


def test_batchnorm_module_gradcheck_in_training(rng):
    bn = nn.BatchNorm2d(3).double()
    x = Tensor(rng.standard_normal((2, 3, 3, 2)))
    assert gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias], raise_exception=True)


def test_batchnorm_without_running_stats_or_affine_matches_pytorch(torch, rng):
    ours = nn.BatchNorm2d(3, affine=False, track_running_stats=False).double()
    theirs = torch.nn.BatchNorm2d(3, affine=False, track_running_stats=False).double()
    assert list(ours.parameters()) == [] and ours.state_dict() == {} and ours.running_mean is None
    x = rng.standard_normal((4, 3, 2, 2))
    ours.eval()
    theirs.eval()  # no running statistics: the batch's own are used even in evaluation
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).numpy(), rtol=1e-12)


def test_batchnorm_state_dict_parameters_and_repr(torch):
    bn = nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == list(torch.nn.BatchNorm2d(4).state_dict())
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()
    np.testing.assert_array_equal(bn.weight.data, np.ones(4, np.float32))
    np.testing.assert_array_equal(bn.running_var.data, np.ones(4, np.float32))
    assert bn.running_mean.dtype == np.float32
    assert bn.double().running_var.dtype == np.float64  # buffers follow the module's dtype
    # PyTorch 2.13's reprs, including its newer keyword-only `bias`
    assert repr(nn.BatchNorm2d(4)) == ("BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                                       "track_running_stats=True)")
    assert repr(nn.BatchNorm1d(3, momentum=None, affine=False, track_running_stats=False)) == (
        "BatchNorm1d(3, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=False)")
    no_bias = nn.BatchNorm1d(3, bias=False)
    assert no_bias.bias is None and [name for name, _ in no_bias.named_parameters()] == ["weight"]


def test_batchnorm_reset_running_stats():
    bn = nn.BatchNorm1d(2)
    bn(nnlearn.randn(5, 2) * 3 + 1)
    assert bn.num_batches_tracked.item() == 1 and not np.allclose(bn.running_mean.data, 0)
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean.data, 0)
    np.testing.assert_array_equal(bn.running_var.data, 1)
    assert bn.num_batches_tracked.item() == 0


def test_layernorm_module_matches_pytorch(torch, rng):
    theirs = torch.nn.LayerNorm((3, 4)).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.standard_normal((3, 4))))
        theirs.bias.copy_(torch.tensor(rng.standard_normal((3, 4))))
    ours = nn.LayerNorm((3, 4)).double()
    copy_from_torch(ours, theirs)
    x = rng.standard_normal((2, 5, 3, 4))
    dout = rng.standard_normal(x.shape)
    x_ours, x_theirs = Tensor(x, requires_grad=True), to_torch(torch, x)
    ours(x_ours).backward(dout)
    out = theirs(x_theirs)
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(ours(Tensor(x)).data, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_layernorm_module_shapes_repr_and_modes(rng):
    ln = nn.LayerNorm(5)
    assert ln.normalized_shape == (5,) and ln.weight.shape == (5,) and ln.weight.dtype == np.float32
    assert repr(ln) == "LayerNorm((5,), eps=1e-05, elementwise_affine=True, bias=True)"
    plain = nn.LayerNorm([2, 3], elementwise_affine=False)
    assert repr(plain) == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=False, bias=False)"
    assert list(plain.parameters()) == []
    assert [name for name, _ in nn.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    x = Tensor(rng.standard_normal((1, 5)).astype(np.float32))  # a batch of one: fine, no batch statistics
    np.testing.assert_array_equal(ln(x).data, ln.eval()(x).data)  # the same in both modes


# ---------------------------------------------------------------- bad input
def z(*shape, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


BAD_INPUTS = [
    ("bn-one-value-per-channel", lambda: F.batch_norm(z(1, 4), None, None, training=True), ValueError,
     r"batch_norm: expected more than 1 value per channel when training, got input of shape \(1, 4\)"),
    ("bn-1d-input", lambda: F.batch_norm(z(4), z(4), z(4)), ValueError,
     r"batch_norm: input must have shape \(N, C\) or \(N, C, \*\).*got shape \(4,\)"),
    ("bn-running-mean-shape", lambda: F.batch_norm(z(2, 3, 4), z(4), z(3)), ValueError,
     r"batch_norm: running_mean must have shape \(C,\) = \(3,\) for input of shape \(2, 3, 4\).*"
     r"got running_mean of shape \(4,\)"),
    ("bn-weight-shape", lambda: F.batch_norm(z(2, 3), z(3), z(3), z(3, 1)), ValueError,
     r"weight must have shape \(C,\) = \(3,\) for input of shape \(2, 3\).*got weight of shape \(3, 1\)"),
    ("bn-bias-dtype", lambda: F.batch_norm(z(2, 3), z(3), z(3), None, z(3, dtype=np.float64)), TypeError,
     r"batch_norm: bias and input must have the same dtype, got bias float64 and input float32"),
    ("bn-int-input", lambda: F.batch_norm(z(2, 3, dtype=np.int64), z(3), z(3)), TypeError,
     r"batch_norm: input must have a floating-point dtype.*got int64"),
    ("bn-eval-without-stats", lambda: F.batch_norm(z(2, 3), None, None), ValueError,
     r"batch_norm: running_mean and running_var are needed when training=False"),
    ("bn-negative-eps", lambda: F.batch_norm(z(2, 3), None, None, training=True, eps=-1.0), ValueError,
     r"batch_norm: eps must be >= 0, got -1.0"),
    ("bn2d-3d-input", lambda: nn.BatchNorm2d(3)(nnlearn.zeros(2, 3, 4)), ValueError,
     r"BatchNorm2d\(3\): input must have shape \(N, C, H, W\) with C = num_features = 3, got \(2, 3, 4\)"),
    ("bn1d-4d-input", lambda: nn.BatchNorm1d(3)(nnlearn.zeros(2, 3, 4, 4)), ValueError,
     r"BatchNorm1d\(3\): input must have shape \(N, C\) or \(N, C, L\) with C = num_features = 3, "
     r"got \(2, 3, 4, 4\)"),
    ("bn2d-channels", lambda: nn.BatchNorm2d(3)(nnlearn.zeros(2, 4, 5, 5)), ValueError,
     r"BatchNorm2d\(3\): input must have shape \(N, C, H, W\) with C = num_features = 3, got \(2, 4, 5, 5\)"),
    ("bn-module-double-input", lambda: nn.BatchNorm1d(3)(np.zeros((2, 3))), TypeError,
     r"batch_norm: running_mean and input must have the same dtype, got running_mean float32 and input "
     r"float64"),
    ("bn-num-features", lambda: nn.BatchNorm2d(0), ValueError, r"BatchNorm2d: num_features must be positive, got 0"),
    ("bn-momentum-str", lambda: nn.BatchNorm2d(2, momentum="0.1"), TypeError,
     r"BatchNorm2d: momentum must be a number or None, got str"),
    ("ln-shape", lambda: F.layer_norm(z(2, 3), (4,)), ValueError,
     r"layer_norm: input must have shape \(\*, 4\) to match normalized_shape=\(4,\), got input of shape \(2, 3\)"),
    ("ln-too-few-dims", lambda: F.layer_norm(z(3), (2, 3)), ValueError,
     r"layer_norm: input must have shape \(\*, 2, 3\) to match normalized_shape=\(2, 3\), got input of shape "
     r"\(3,\)"),
    ("ln-weight-shape", lambda: F.layer_norm(z(2, 3), 3, z(2, 3)), ValueError,
     r"layer_norm: weight must have normalized_shape \(3,\), got weight of shape \(2, 3\)"),
    ("ln-bias-dtype", lambda: F.layer_norm(z(2, 3), 3, None, z(3, dtype=np.float64)), TypeError,
     r"layer_norm: bias and input must have the same dtype, got bias float64 and input float32"),
    ("ln-normalized-shape-float", lambda: F.layer_norm(z(2, 3), 3.0), TypeError,
     r"layer_norm: normalized_shape must be an int or a non-empty tuple of ints, got 3.0"),
    ("ln-normalized-shape-empty", lambda: nn.LayerNorm(()), TypeError,
     r"LayerNorm: normalized_shape must be an int or a non-empty tuple of ints, got \(\)"),
    ("ln-normalized-shape-zero", lambda: nn.LayerNorm((3, 0)), ValueError,
     r"LayerNorm: normalized_shape must hold positive sizes, got \(3, 0\)"),
    ("ln-module-shape", lambda: nn.LayerNorm(4)(nnlearn.zeros(2, 5)), ValueError,
     r"layer_norm: input must have shape \(\*, 4\) to match normalized_shape=\(4,\), got input of shape \(2, 5\)"),
]


@pytest.mark.parametrize("call,error,match", [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_input_leaves_the_running_statistics_alone():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(nnlearn.zeros(1, 3))
    # The count went up before F.batch_norm refused, as in PyTorch; the statistics did not move.
    assert bn.num_batches_tracked.item() == 1
    np.testing.assert_array_equal(bn.running_mean.data, 0)
    np.testing.assert_array_equal(bn.running_var.data, 1)
