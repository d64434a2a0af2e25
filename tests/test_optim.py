"""Tests for nnlearn.optim: PyTorch parity of every update rule, checkpoints, and input checking."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import optim

OPTIMIZERS = {"SGD": optim.SGD, "Adagrad": optim.Adagrad, "RMSprop": optim.RMSprop, "Adam": optim.Adam,
              "AdamW": optim.AdamW}


def grad_fn(x: np.ndarray, k: int) -> np.ndarray:
    """Gradient of f(x) = 0.35 x² + sin(x + 0.3 k) at step k: a convex bowl plus a ripple that moves,
    so every step sees a different gradient (a fixed quadratic would hide bugs in how history is used)."""
    return 0.7 * x + np.cos(x + 0.3 * k)


def make_params(rng: np.random.Generator, dtype=np.float64) -> list[nnlearn.Tensor]:
    """Two tensors of different shapes, fresh copies of the same values every time for a given rng seed."""
    return [nnlearn.Tensor(rng.normal(size=3).astype(dtype), requires_grad=True),
            nnlearn.Tensor(rng.normal(size=(2, 3)).astype(dtype), requires_grad=True)]


def two_groups(params, second_lr=0.02):
    """The first tensor uses the optimizer's defaults, the second is in its own group with its own lr."""
    return [{"params": [params[0]]}, {"params": [params[1]], "lr": second_lr}]


def run(opt, params, steps, start=0):
    """Feed grad_fn's gradients for ``steps`` steps; return the parameter values after each step."""
    trajectory = []
    for k in range(start, start + steps):
        for p in params:
            p.grad = grad_fn(p.data, k)
        opt.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory


# Every optimizer with the option combinations that change its arithmetic.
PARITY_CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.2, weight_decay=0.05, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.05, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-4)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05, weight_decay=0.05, maximize=True)),
]


@pytest.mark.parametrize("name,options", PARITY_CASES, ids=[f"{n}-{o}" for n, o in PARITY_CASES])
def test_trajectory_matches_pytorch(torch, name, options):
    """20 steps, two param groups: every intermediate value and the final state equal torch.optim's."""
    ours = make_params(np.random.default_rng(0))
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    opt = OPTIMIZERS[name](two_groups(ours), **options)
    ref = getattr(torch.optim, name)(two_groups(theirs), **options)
    for k in range(20):
        for p, t in zip(ours, theirs):
            p.grad = grad_fn(p.data, k)
            t.grad = torch.from_numpy(grad_fn(t.detach().numpy(), k))
        opt.step()
        ref.step()
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=0, atol=1e-10,
                                       err_msg=f"{name}{options}: parameters differ after step {k + 1}")
    # the state keeps PyTorch's names, so it can be compared too
    for p, t in zip(ours, theirs):
        ref_state = ref.state[t]
        for key, value in opt.state[p].items():
            assert key in ref_state, f"{name} state {key!r} has no PyTorch counterpart"
            expected = ref_state[key]
            expected = expected.item() if key == "step" else expected.detach().numpy()
            np.testing.assert_allclose(value, expected, rtol=0, atol=1e-10, err_msg=f"state {key!r}")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_update_is_in_place_and_keeps_dtype(name):
    """A step changes the very array ``p.data`` (views and references stay valid), in the parameter's dtype."""
    params = make_params(np.random.default_rng(1), dtype=np.float32)
    arrays = [p.data for p in params]
    before = [a.copy() for a in arrays]
    opt = OPTIMIZERS[name](params, lr=0.1)
    run(opt, params, 3)
    for p, array, old in zip(params, arrays, before):
        assert p.data is array
        assert p.data.dtype == np.float32
        assert not np.allclose(p.data, old)


@pytest.mark.parametrize("name,lr", [("SGD", 0.2), ("Adagrad", 0.5), ("RMSprop", 0.02), ("Adam", 0.05),
                                     ("AdamW", 0.05)])
def test_lowers_a_convex_quadratic(name, lr):
    """With real autograd gradients, 300 steps bring f(θ) = ½ θᵀAθ − bᵀθ close to its minimum f* = −½ bᵀA⁻¹b."""
    A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 2.0]])  # symmetric positive definite
    b = np.array([1.0, -2.0, 0.5])
    f_star = -0.5 * b @ np.linalg.solve(A, b)
    theta = nnlearn.Tensor(np.array([2.0, 2.0, -2.0]), requires_grad=True)
    A_t, b_t = nnlearn.Tensor(A), nnlearn.Tensor(b)

    def loss_fn():
        return 0.5 * (theta @ (A_t @ theta)) - b_t @ theta

    opt = OPTIMIZERS[name]([theta], lr=lr)
    gap0 = loss_fn().item() - f_star
    for _ in range(300):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    gap = loss_fn().item() - f_star
    assert gap < 1e-3 * gap0, f"{name}: f(θ) − f* went from {gap0:.3g} to {gap:.3g}"


def test_step_with_closure_returns_the_loss():
    theta = nnlearn.Tensor(np.array([1.0, -1.0]), requires_grad=True)
    opt = optim.SGD([theta], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (theta * theta).sum()
        loss.backward()
        return loss

    with nnlearn.no_grad():  # the closure turns autograd back on for itself
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(2.0)
    np.testing.assert_allclose(theta.data, [0.8, -0.8])  # θ − 0.1 · 2θ


# ---------------------------------------------------------------------------- AdamW's decoupling

def test_adamw_decay_is_decoupled_from_the_gradient_scaling():
    """A weight the loss ignores (gradient 0), θ = 2, lr = 0.1, λ = 0.01, one step.

    Adam + L2: g = λθ = 0.02, so m̂ = 0.02 and √v̂ = 0.02, and the step is lr · 0.02/(0.02 + ε) ≈ 0.1:
    the penalty is normalised like any gradient, whatever its size. θ → ≈ 1.9.
    AdamW: θ ← θ(1 − lr·λ) = 2 · 0.999 = 1.998, then m = v = 0 so the Adam step is 0. θ → 1.998.
    """
    adam_p = nnlearn.Tensor(np.array([2.0]), requires_grad=True)
    adamw_p = nnlearn.Tensor(np.array([2.0]), requires_grad=True)
    adam = optim.Adam([adam_p], lr=0.1, weight_decay=0.01)
    adamw = optim.AdamW([adamw_p], lr=0.1, weight_decay=0.01)
    adam_p.grad = np.zeros(1)
    adamw_p.grad = np.zeros(1)
    adam.step()
    adamw.step()
    assert adam_p.data[0] == pytest.approx(2.0 - 0.1 * 0.02 / (0.02 + 1e-8), abs=1e-12)
    assert adamw_p.data[0] == pytest.approx(1.998, abs=1e-12)


def test_adamw_and_adam_with_l2_follow_different_trajectories():
    p_adam, p_adamw = make_params(np.random.default_rng(2)), make_params(np.random.default_rng(2))
    adam = optim.Adam(p_adam, lr=0.05, weight_decay=0.1)
    adamw = optim.AdamW(p_adamw, lr=0.05, weight_decay=0.1)
    a, w = run(adam, p_adam, 20)[-1], run(adamw, p_adamw, 20)[-1]
    assert max(np.abs(x - y).max() for x, y in zip(a, w)) > 1e-2


def test_adamw_is_shrink_then_plain_adam():
    """AdamW's step = multiply θ by (1 − lr·λ), then an Adam step with no weight decay, at every step."""
    p_w, p_a = make_params(np.random.default_rng(3)), make_params(np.random.default_rng(3))
    adamw = optim.AdamW(p_w, lr=0.05, weight_decay=0.2)
    adam = optim.Adam(p_a, lr=0.05, weight_decay=0.0)
    for k in range(10):
        for p_1, p_2 in zip(p_w, p_a):
            p_1.grad = grad_fn(p_1.data, k)
            p_2.grad = grad_fn(p_2.data, k)  # the gradient is taken before the shrink, as in AdamW
            p_2.data *= 1 - 0.05 * 0.2
        adamw.step()
        adam.step()
        for p_1, p_2 in zip(p_w, p_a):
            np.testing.assert_allclose(p_1.data, p_2.data, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------- zero_grad, skipping

def test_zero_grad_sets_grads_to_none_or_zeros():
    params = make_params(np.random.default_rng(4))
    opt = optim.SGD(params, lr=0.1)
    for p in params:
        p.grad = np.ones(p.shape)
    kept = params[0].grad
    opt.zero_grad(set_to_none=False)
    assert params[0].grad is kept and not kept.any()
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_lets_backward_start_afresh():
    w = nnlearn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.0)
    (w * w).sum().backward()
    opt.zero_grad()
    (w * 3.0).sum().backward()
    np.testing.assert_allclose(w.grad, [3.0, 3.0])  # without zero_grad it would be 2w + 3


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_params_without_grad_are_skipped(name):
    used, unused = make_params(np.random.default_rng(5))
    before = unused.data.copy()
    opt = OPTIMIZERS[name]([used, unused], lr=0.1, weight_decay=0.1)  # decay must not touch it either
    for k in range(3):
        used.grad = grad_fn(used.data, k)
        opt.step()
    np.testing.assert_array_equal(unused.data, before)
    assert unused not in opt.state
    assert name == "SGD" or used in opt.state  # plain SGD keeps no state


# ---------------------------------------------------------------------------- state_dict

STATEFUL_CASES = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)), ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
                  ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)), ("Adam", dict(lr=0.05, amsgrad=True)),
                  ("AdamW", dict(lr=0.05))]


@pytest.mark.parametrize("name,options", STATEFUL_CASES, ids=[n for n, _ in STATEFUL_CASES])
def test_state_dict_round_trip_continues_the_same_trajectory(name, options):
    params = make_params(np.random.default_rng(6))
    opt = OPTIMIZERS[name](two_groups(params), **options)
    run(opt, params, 10)
    saved = opt.state_dict()
    saved_values = [p.data.copy() for p in params]
    expected = run(opt, params, 10, start=10)  # training goes on after the checkpoint ...

    # ... the snapshot did not follow it ...
    assert saved["state"][0] != {} and all(
        not np.shares_memory(v, s) for v in saved["state"][0].values() if isinstance(v, np.ndarray)
        for s in opt.state[params[0]].values() if isinstance(s, np.ndarray))

    # ... and a new optimizer on new tensors, loaded from it, takes the same steps.
    restored = [nnlearn.Tensor(v, requires_grad=True) for v in saved_values]
    fresh = OPTIMIZERS[name](two_groups(restored, second_lr=0.5), lr=0.5)  # options come from the dict
    fresh.load_state_dict(saved)
    assert fresh.param_groups[1]["lr"] == 0.02
    got = run(fresh, restored, 10, start=10)
    for step_got, step_expected in zip(got, expected):
        for a, b in zip(step_got, step_expected):
            np.testing.assert_array_equal(a, b)


def test_state_dict_layout_uses_parameter_positions():
    params = make_params(np.random.default_rng(7))
    opt = optim.Adam(two_groups(params), lr=0.05)
    run(opt, params, 2)
    saved = opt.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1]]
    assert saved["param_groups"][1]["lr"] == 0.02 and saved["param_groups"][0]["lr"] == 0.05
    assert set(saved["state"]) == {0, 1} and saved["state"][1]["step"] == 2
    assert saved["state"][1]["exp_avg"].shape == (2, 3)


def test_load_state_dict_rejects_a_mismatch():
    params = make_params(np.random.default_rng(8))
    opt = optim.Adam(two_groups(params), lr=0.05)
    run(opt, params, 1)
    saved = opt.state_dict()
    one_group = optim.Adam(params, lr=0.05)
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer has 1"):
        one_group.load_state_dict(saved)
    swapped = make_params(np.random.default_rng(8))[::-1]  # same group sizes, shapes swapped
    other = optim.Adam(two_groups(swapped), lr=0.05)
    with pytest.raises(ValueError, match=r"'exp_avg' has shape \(3,\), expected the parameter's shape \(2, 3\)"):
        other.load_state_dict(saved)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


# ---------------------------------------------------------------------------- param groups

def test_add_param_group_fills_defaults_and_trains_the_new_group():
    a, b = make_params(np.random.default_rng(9))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.01
    before = b.data.copy()
    b.grad = np.ones(b.shape)
    opt.step()
    np.testing.assert_allclose(b.data, before - 0.01)  # first momentum step: b_1 = g, θ − 0.01 · 1
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_accepts_a_generator_and_has_a_readable_repr():
    params = make_params(np.random.default_rng(10))
    opt = optim.Adam((p for p in params), lr=0.01)
    assert len(opt.param_groups[0]["params"]) == 2
    text = repr(opt)
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.01" in text


# ---------------------------------------------------------------------------- bad input

def _p():
    return nnlearn.Tensor(np.zeros(3), requires_grad=True)


BAD_OPTIONS = [
    (lambda: optim.SGD([_p()], lr=-0.1), ValueError, r"SGD: lr must be >= 0.0, got -0.1"),
    (lambda: optim.SGD([_p()], lr="fast"), TypeError, r"lr must be a real number, got str 'fast'"),
    (lambda: optim.SGD([_p()], lr=float("nan")), ValueError, r"lr must be >= 0.0, got nan"),
    (lambda: optim.SGD([_p()], momentum=-0.9), ValueError, r"momentum must be >= 0.0, got -0.9"),
    (lambda: optim.SGD([_p()], dampening=1.5), ValueError, r"dampening must be in \[0.0, 1.0\], got 1.5"),
    (lambda: optim.SGD([_p()], nesterov=True), ValueError, r"nesterov=True requires momentum > 0 and "
                                                           r"dampening == 0, got momentum=0, dampening=0"),
    (lambda: optim.SGD([_p()], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     r"nesterov=True requires .* got momentum=0.9, dampening=0.1"),
    (lambda: optim.SGD([_p()], weight_decay=-1e-4), ValueError, r"weight_decay must be >= 0.0, got -0.0001"),
    (lambda: optim.Adam([_p()], betas=(1.0, 0.999)), ValueError, r"Adam: betas\[0\] must be in \[0.0, 1.0\), "
                                                                 r"got 1.0"),
    (lambda: optim.Adam([_p()], betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in \[0.0, 1.0\), got -0.1"),
    (lambda: optim.AdamW([_p()], betas=0.9), TypeError, r"betas must be a pair \(beta1, beta2\), got 0.9"),
    (lambda: optim.Adam([_p()], eps=-1e-8), ValueError, r"eps must be >= 0.0, got -1e-08"),
    (lambda: optim.Adam([_p()], amsgrad="yes"), TypeError, r"amsgrad must be True or False, got str 'yes'"),
    (lambda: optim.Adagrad([_p()], lr_decay=-0.1), ValueError, r"lr_decay must be >= 0.0, got -0.1"),
    (lambda: optim.Adagrad([_p()], initial_accumulator_value=-1), ValueError,
     r"initial_accumulator_value must be >= 0.0, got -1"),
    (lambda: optim.RMSprop([_p()], alpha=1.5), ValueError, r"alpha must be in \[0.0, 1.0\], got 1.5"),
    (lambda: optim.SGD([{"params": [_p()]}, {"params": [_p()], "lr": -1.0}], lr=0.1), ValueError,
     r"SGD param_groups\[1\]: lr must be >= 0.0, got -1.0"),
]


@pytest.mark.parametrize("make,error,message", BAD_OPTIONS, ids=[m for _, _, m in BAD_OPTIONS])
def test_bad_hyperparameters_are_rejected(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_parameter_lists_are_rejected():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or of param-group dicts .* got Tensor"):
        optim.SGD(_p(), lr=0.1)
    with pytest.raises(TypeError, match=r"can only optimize Tensors, but param_groups\[0\]\['params'\]\[1\] is "
                                        "a ndarray"):
        optim.SGD([_p(), np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match=r"\['params'\]\[0\] \(shape \(3,\)\) does not require grad"):
        optim.SGD([nnlearn.Tensor(np.zeros(3))], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([_p() * 2.0], lr=0.1)
    p = _p()
    with pytest.raises(ValueError, match="lists the same tensor more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="must have a 'params' entry"):
        optim.SGD([{"lr": 0.1}])


def test_a_gradient_of_the_wrong_shape_is_reported():
    p = _p()
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones((3, 1))
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(3,\) but its .grad has shape \(3, 1\)"):
        opt.step()
