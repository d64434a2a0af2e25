"""Public tests for the chapter 7 exercises (feedforward networks).

Each test takes ``nb``, the learner's answers: ``nb.mlp_forward`` is the function the notebook defines.
Weights use PyTorch's layout: ``W: (d_out, d_in)``, a layer computes ``X @ W.T + b``.
Test names start with the exercise they grade: ``test_forward_*``, ``test_count_*``, ``test_make_mlp_*``,
``test_interpolation_*``.
"""
from __future__ import annotations

import numpy as np

import nnlearn
from nnlearn import nn
from nnlearn.grading import points


def random_params(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((d_out, d_in)), rng.standard_normal(d_out))
            for d_in, d_out in zip(sizes[:-1], sizes[1:])]


def as_nnlearn_mlp(params):
    """The same network as an nnlearn Sequential in float64: Linear, ReLU, ..., Linear."""
    layers = []
    for i, (W, b) in enumerate(params):
        layer = nn.Linear(W.shape[1], W.shape[0], dtype=np.float64)
        layer.weight.data[...] = W
        layer.bias.data[...] = b
        layers.append(layer)
        if i < len(params) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# --- Exercise 1: mlp_forward -----------------------------------------------------------------------------

@points(1)
def test_forward_absolute_value_by_hand(nb):
    # relu(x) + relu(-x) = |x|: hidden weights (1, -1), output weights (1, 1), all biases 0.
    params = [(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.array([[1.0, 1.0]]), np.zeros(1))]
    got = np.asarray(nb.mlp_forward(params, np.array([[-2.0], [0.5], [3.0], [0.0]])))
    np.testing.assert_allclose(got, [[2.0], [0.5], [3.0], [0.0]],
                               err_msg="relu(x) + relu(-x) should give |x|; is there a ReLU after the hidden layer?")


@points(1)
def test_forward_single_layer_is_affine(nb):
    (W, b), = random_params([3, 2], seed=1)
    X = np.random.default_rng(2).standard_normal((5, 3))
    got = np.asarray(nb.mlp_forward([(W, b)], X))
    np.testing.assert_allclose(got, X @ W.T + b, rtol=1e-12,
                               err_msg="one layer is X @ W.T + b, with no activation on the last layer")


@points(2)
def test_forward_matches_nnlearn(nb):
    sizes = [4, 7, 5, 3, 2]
    params = random_params(sizes, seed=3)
    X = np.random.default_rng(4).standard_normal((9, 4))
    expected = as_nnlearn_mlp(params)(nnlearn.tensor(X)).numpy()
    got = np.asarray(nb.mlp_forward(params, X))
    assert got.shape == (9, 2), f"X: (9, 4) through layers {sizes} should give (9, 2), got {got.shape}"
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12,
                               err_msg="differs from nn.Sequential(Linear, ReLU, ..., Linear) with the same weights")


@points(1)
def test_forward_does_not_modify_its_inputs(nb):
    params = random_params([3, 4, 2], seed=5)
    copies = [(W.copy(), b.copy()) for W, b in params]
    X = np.random.default_rng(6).standard_normal((4, 3))
    X_copy = X.copy()
    nb.mlp_forward(params, X)
    np.testing.assert_array_equal(X, X_copy, err_msg="mlp_forward must not change X")
    for (W, b), (W0, b0) in zip(params, copies):
        np.testing.assert_array_equal(W, W0, err_msg="mlp_forward must not change the weights")
        np.testing.assert_array_equal(b, b0, err_msg="mlp_forward must not change the biases")


# --- Exercise 2: count_parameters ------------------------------------------------------------------------

@points(1)
def test_count_by_hand(nb):
    # (4 + 1) * 5 + (5 + 1) * 3 + (3 + 1) * 2 = 25 + 18 + 8 = 51; a single layer 2 -> 1 has 2 weights + 1 bias.
    assert nb.count_parameters([4, 5, 3, 2]) == 51, "layer sizes [4, 5, 3, 2] have 51 parameters"
    assert nb.count_parameters([2, 1]) == 3, "layer sizes [2, 1] have 3 parameters (2 weights, 1 bias)"


@points(2)
def test_count_matches_nnlearn_models(nb):
    for sizes in ([30, 32, 16, 2], [1, 64, 1], [784, 256, 128, 10], [5, 5, 5, 5, 5, 5]):
        layers = [nn.Linear(d_in, d_out) for d_in, d_out in zip(sizes[:-1], sizes[1:])]
        expected = nn.Sequential(*layers).num_parameters()
        got = nb.count_parameters(sizes)
        assert got == expected, f"layer sizes {sizes}: expected {expected} parameters, got {got}"
        assert isinstance(got, (int, np.integer)), f"return an int, got {type(got).__name__}"


# --- Exercise 3: make_mlp --------------------------------------------------------------------------------

def layer_types(model):
    return [type(m).__name__ for m in model]


@points(1)
def test_make_mlp_structure(nb):
    model = nb.make_mlp([2, 16, 8, 1])
    assert isinstance(model, nn.Sequential), f"return an nn.Sequential, got {type(model).__name__}"
    assert layer_types(model) == ["Linear", "ReLU", "Linear", "ReLU", "Linear"], \
        f"[2, 16, 8, 1] with the default activation gives Linear, ReLU, Linear, ReLU, Linear; got {layer_types(model)}"
    shapes = [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)]
    assert shapes == [(2, 16), (16, 8), (8, 1)], f"Linear layers (in, out) should be (2, 16), (16, 8), (8, 1), got {shapes}"
    assert model.num_parameters() == 48 + 136 + 9


@points(1)
def test_make_mlp_activations(nb):
    assert layer_types(nb.make_mlp([3, 4, 2], "tanh")) == ["Linear", "Tanh", "Linear"]
    assert layer_types(nb.make_mlp([3, 4, 4, 2], "sigmoid")) == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert layer_types(nb.make_mlp([3, 2], "tanh")) == ["Linear"], "a single layer has no activation"


@points(1)
def test_make_mlp_runs_forward(nb):
    model = nb.make_mlp([5, 7, 3])
    out = model(nnlearn.tensor(np.random.default_rng(7).standard_normal((4, 5)).astype(np.float32)))
    assert out.shape == (4, 3), f"input (4, 5) through [5, 7, 3] should give (4, 3), got {out.shape}"
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters()), "every parameter should receive a gradient"


@points(1)
def test_make_mlp_rejects_bad_arguments(nb):
    try:
        nb.make_mlp([2, 4, 1], "swish")
    except ValueError as error:
        assert "swish" in str(error), f"the message should name the activation it got, got: {error}"
    else:
        raise AssertionError("make_mlp([2, 4, 1], 'swish') should raise ValueError")
    try:
        nb.make_mlp([2])
    except ValueError:
        pass
    else:
        raise AssertionError("make_mlp([2]) (fewer than two sizes) should raise ValueError")


# --- Exercise 4: relu_interpolation_network --------------------------------------------------------------

def evaluate(model, x):
    """The model's outputs (N,) for the points x (N,), in the dtype of its parameters."""
    dtype = next(iter(model.parameters())).dtype
    return model(nnlearn.tensor(np.asarray(x, dtype=dtype)[:, None])).numpy()[:, 0]


@points(1)
def test_interpolation_structure(nb):
    knots = np.linspace(-1.0, 1.0, 6)
    model = nb.relu_interpolation_network(knots, knots ** 2)
    assert layer_types(model) == ["Linear", "ReLU", "Linear"], \
        f"expected nn.Sequential(Linear(1, m), ReLU(), Linear(m, 1)), got {layer_types(model)}"
    assert (model[0].in_features, model[0].out_features) == (1, 5), "5 segments need 5 hidden units: Linear(1, 5)"
    assert (model[2].in_features, model[2].out_features) == (5, 1), "the output layer is Linear(5, 1)"
    dtypes = {str(p.dtype) for p in model.parameters()}
    assert dtypes == {"float64"}, f"build the layers with dtype=np.float64, got parameters of dtype {sorted(dtypes)}"


@points(1)
def test_interpolation_passes_through_the_knots(nb):
    knots = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])            # uneven spacing on purpose
    values = np.array([1.0, -1.0, 0.5, 2.0, -0.5])
    model = nb.relu_interpolation_network(knots, values)
    np.testing.assert_allclose(evaluate(model, knots), values, rtol=1e-5, atol=1e-5,
                               err_msg="the network must equal y_i at every knot x_i")


@points(1)
def test_interpolation_is_the_broken_line(nb):
    knots = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    values = np.array([1.0, -1.0, 0.5, 2.0, -0.5])
    model = nb.relu_interpolation_network(knots, values)
    x = np.linspace(-2.0, 3.0, 501)
    np.testing.assert_allclose(evaluate(model, x), np.interp(x, knots, values), rtol=1e-5, atol=1e-5,
                               err_msg="between the knots the network must follow the straight segments")


@points(1)
def test_interpolation_approximates_a_smooth_function(nb):
    # Linear interpolation of sin with spacing h is off by at most h^2 / 8 (max |sin''| = 1).
    knots = np.linspace(0.0, 2 * np.pi, 41)
    model = nb.relu_interpolation_network(knots, np.sin(knots))
    x = np.linspace(0.0, 2 * np.pi, 2001)
    error = np.abs(evaluate(model, x) - np.sin(x)).max()
    h = knots[1] - knots[0]
    assert error <= h ** 2 / 8 + 1e-6, f"max error {error:.2e} exceeds the interpolation bound h^2/8 = {h ** 2 / 8:.2e}"
