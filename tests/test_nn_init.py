"""nn.init: gains and fans as PyTorch computes them, sample statistics against the formulas, seeding."""
from __future__ import annotations

import math

import numpy as np
import pytest

import nnlearn
from nnlearn import Tensor, nn
from nnlearn.nn import init


def empty(*shape, dtype=np.float64):
    return Tensor(np.zeros(shape, dtype=dtype))


# ---------------------------------------------------------------- gains and fans
GAIN_CASES = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
              ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("selu", None)]


@pytest.mark.parametrize("nonlinearity,param", GAIN_CASES)
def test_calculate_gain_matches_torch(torch, nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_calculate_gain_by_hand():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    # Linear's default a = sqrt(5): sqrt(2 / (1 + 5)) = sqrt(1/3)
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="nonlinearity must be one of .*got 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative slope of leaky_relu.*must be a number"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3, 3), (6, 2, 5), (1, 7)])
def test_fans_match_torch(torch, shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.calculate_fan_in_and_fan_out(empty(*shape)) == expected


def test_conv_fans_by_hand():
    # a conv weight (out=8, in=4, kh=3, kw=3): each output sums 4*3*3 inputs; each input feeds 8*3*3 outputs
    assert init.calculate_fan_in_and_fan_out(empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match=r"at least 2 dimensions .* got shape \(5,\)"):
        init.calculate_fan_in_and_fan_out(empty(5))


# ---------------------------------------------------------------- distributions against their formulas
# 10,000-element samples: the sample std of a distribution is within ~1.5% of the truth with high
# probability (relative standard error ~ 1/sqrt(2n) = 0.7% for a normal), so 3% is a safe but sharp bound.
N_OUT, N_IN = 100, 100
REL = 0.03


def test_uniform_and_normal():
    t = init.uniform_(empty(N_OUT, N_IN), -2.0, 3.0)
    assert t.data.min() >= -2.0 and t.data.max() < 3.0
    assert t.data.mean() == pytest.approx(0.5, abs=0.05)
    assert t.data.std() == pytest.approx(5 / math.sqrt(12), rel=REL)  # U(a, b): std (b - a) / sqrt(12)
    t = init.normal_(empty(N_OUT, N_IN), mean=1.0, std=0.5)
    assert t.data.mean() == pytest.approx(1.0, abs=0.02)
    assert t.data.std() == pytest.approx(0.5, rel=REL)


def test_constant_zeros_ones():
    t = empty(3, 4)
    assert init.constant_(t, 0.25) is t and np.all(t.data == 0.25)
    assert np.all(init.ones_(t).data == 1.0)
    assert np.all(init.zeros_(t).data == 0.0)


@pytest.mark.parametrize("shape", [(N_OUT, N_IN), (50, 8, 5, 5)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier(shape, gain):
    fan_in, fan_out = init.calculate_fan_in_and_fan_out(empty(*shape))
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    t = init.xavier_uniform_(empty(*shape), gain=gain)
    bound = math.sqrt(3) * std  # = gain * sqrt(6 / (fan_in + fan_out))
    assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.98 * bound
    assert t.data.std() == pytest.approx(std, rel=REL)
    t = init.xavier_normal_(empty(*shape), gain=gain)
    assert t.data.std() == pytest.approx(std, rel=REL) and abs(t.data.mean()) < 0.03 * std


@pytest.mark.parametrize("shape", [(N_OUT, N_IN), (40, 10, 5, 5)])
@pytest.mark.parametrize("a,mode,nonlinearity", [(0, "fan_in", "relu"), (0, "fan_in", "leaky_relu"),
                                                 (0.2, "fan_out", "leaky_relu"), (math.sqrt(5), "fan_in",
                                                                                   "leaky_relu"),
                                                 (0, "fan_out", "tanh")])
def test_kaiming(shape, a, mode, nonlinearity):
    fan_in, fan_out = init.calculate_fan_in_and_fan_out(empty(*shape))
    fan = fan_in if mode == "fan_in" else fan_out
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    t = init.kaiming_uniform_(empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    bound = math.sqrt(3) * std
    assert np.abs(t.data).max() <= bound and np.abs(t.data).max() > 0.98 * bound
    assert t.data.std() == pytest.approx(std, rel=REL)
    t = init.kaiming_normal_(empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    assert t.data.std() == pytest.approx(std, rel=REL)


def test_kaiming_relu_by_hand():
    # ReLU, fan_in 100: std = sqrt(2) / sqrt(100) = 0.1414
    t = init.kaiming_normal_(empty(N_OUT, N_IN), nonlinearity="relu")
    assert t.data.std() == pytest.approx(0.1414, rel=REL)


def test_kaiming_and_xavier_bounds_match_torch(torch):
    # the same shape filled by both libraries spans the same range (the draws themselves differ)
    for ours_fn, torch_fn, kwargs in [(init.kaiming_uniform_, torch.nn.init.kaiming_uniform_,
                                       {"a": math.sqrt(5)}),
                                      (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_,
                                       {"mode": "fan_out", "nonlinearity": "relu"}),
                                      (init.xavier_uniform_, torch.nn.init.xavier_uniform_, {"gain": 1.5})]:
        ours = ours_fn(empty(64, 16, 3, 3), **kwargs).data
        theirs = torch_fn(torch.empty(64, 16, 3, 3, dtype=torch.float64), **kwargs).numpy()
        assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.01)
        assert ours.std() == pytest.approx(theirs.std(), rel=REL)


def test_orthogonal():
    for shape in [(6, 6), (4, 9), (9, 4)]:
        w = init.orthogonal_(empty(*shape), gain=2.0).data
        rows, cols = shape
        gram = w @ w.T if rows <= cols else w.T @ w
        np.testing.assert_allclose(gram, 4.0 * np.eye(min(shape)), atol=1e-12)


# ---------------------------------------------------------------- in place, dtype, seeding, errors
INITS = [lambda t: init.uniform_(t), lambda t: init.normal_(t), lambda t: init.xavier_uniform_(t),
         lambda t: init.xavier_normal_(t), lambda t: init.kaiming_uniform_(t), lambda t: init.kaiming_normal_(t),
         lambda t: init.orthogonal_(t)]


@pytest.mark.parametrize("fill", INITS)
def test_fills_in_place_keeping_dtype_and_returns_the_tensor(fill):
    p = nn.Parameter(np.zeros((4, 3), dtype=np.float32))
    array = p.data
    assert fill(p) is p
    assert p.data is array and p.dtype == np.float32 and p.data.any()


@pytest.mark.parametrize("fill", INITS)
def test_reproducible_under_manual_seed(fill):
    nnlearn.manual_seed(11)
    a = fill(empty(5, 4)).data.copy()
    nnlearn.manual_seed(11)
    b = fill(empty(5, 4)).data.copy()
    c = fill(empty(5, 4)).data.copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_bad_arguments_are_explained():
    with pytest.raises(TypeError, match="tensor must be an nnlearn Tensor or Parameter, got ndarray"):
        init.normal_(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="floating-point dtype.*int64"):
        init.zeros_(Tensor(np.zeros(3, dtype=np.int64)))
    with pytest.raises(ValueError, match=r"at least 2 dimensions .* got shape \(4,\)"):
        init.xavier_uniform_(empty(4))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_normal_(empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="std must be non-negative, got -1"):
        init.normal_(empty(3), std=-1)
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(empty(3), 1.0, 0.0)


def test_zero_element_tensors_are_left_alone():
    t = empty(0, 3)
    assert init.kaiming_uniform_(t) is t and init.xavier_normal_(t) is t and t.shape == (0, 3)
