"""Public tests for the chapter 6 exercises (optimization).

Each test takes ``nb``, the learner's answers: ``nb.sgd_momentum_step`` is the function the notebook defines.
The references are ``nnlearn.optim``'s optimizers and ``nnlearn.optim.lr_scheduler``'s schedulers, which follow
PyTorch's update rules (checked against PyTorch in the library's own tests), plus a few values derived by hand.
Test names start with the exercise they grade: ``test_sgd_*``, ``test_adam_*``, ``test_cosine_*``,
``test_warmup_*``.
"""
from __future__ import annotations

import math

import numpy as np

from nnlearn import nn, optim
from nnlearn.grading import points
from nnlearn.optim import lr_scheduler


def _library_path(opt_class, grads, theta0, **options):
    """The parameter after each step of an nnlearn optimizer fed ``grads``, shape (steps, *theta0.shape)."""
    theta = nn.Parameter(np.array(theta0, dtype=np.float64))
    opt = opt_class([theta], **options)
    path = []
    for g in grads:
        theta.grad = np.array(g, dtype=np.float64)
        opt.step()
        path.append(theta.data.copy())
    return np.array(path)


def _grads(seed, steps, shape):
    return np.random.default_rng(seed).normal(size=(steps, *shape))


# --- Exercise 1: sgd_momentum_step -----------------------------------------------------------------------

def _sgd_path(nb, grads, theta0, **options):
    theta, buf, path = np.array(theta0, dtype=np.float64), None, []
    for g in grads:
        theta, buf = nb.sgd_momentum_step(theta, g, buf, **options)
        path.append(np.array(theta))
    return np.array(path)


@points(1)
def test_sgd_plain_step_by_hand(nb):
    # no momentum: theta - lr * grad = [1, 2] - 0.1 * [10, -20] = [0, 4]; the buffer stays None
    theta, buf = nb.sgd_momentum_step(np.array([1.0, 2.0]), np.array([10.0, -20.0]), None, lr=0.1)
    np.testing.assert_allclose(theta, [0.0, 4.0], err_msg="plain SGD: theta - lr * grad")
    assert buf is None, f"with momentum=0 there is no buffer: return None, got {buf!r}"


@points(1)
def test_sgd_first_momentum_step_uses_the_gradient_as_buffer(nb):
    # first step: b = g = [1, -1]; theta = 0 - 0.5 * b = [-0.5, 0.5]
    theta, buf = nb.sgd_momentum_step(np.zeros(2), np.array([1.0, -1.0]), None, lr=0.5, momentum=0.9)
    np.testing.assert_allclose(buf, [1.0, -1.0], err_msg="on the first step the buffer is the gradient itself")
    np.testing.assert_allclose(theta, [-0.5, 0.5], err_msg="first momentum step: theta - lr * buf")
    # second step with g = [1, 1]: b = 0.9 * [1, -1] + [1, 1] = [1.9, 0.1]; theta = [-0.5, 0.5] - 0.5 b
    theta, buf = nb.sgd_momentum_step(theta, np.array([1.0, 1.0]), buf, lr=0.5, momentum=0.9)
    np.testing.assert_allclose(buf, [1.9, 0.1], err_msg="b = momentum * b + g")
    np.testing.assert_allclose(theta, [-1.45, 0.45], err_msg="theta - lr * b")


@points(2)
def test_sgd_matches_the_library_over_many_steps(nb):
    grads = _grads(0, 25, (3, 2))
    theta0 = np.random.default_rng(1).normal(size=(3, 2))
    for options in [dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
                    dict(lr=0.1, momentum=0.5, dampening=0.3), dict(lr=0.1, momentum=0.9, weight_decay=0.01),
                    dict(lr=0.02, momentum=0.8, nesterov=True, weight_decay=0.1), dict(lr=0.1, weight_decay=0.5)]:
        np.testing.assert_allclose(_sgd_path(nb, grads, theta0, **options),
                                   _library_path(optim.SGD, grads, theta0, **options), rtol=1e-10, atol=1e-12,
                                   err_msg=f"SGD{options}: every step should equal nnlearn.optim.SGD's")


@points(1)
def test_sgd_leaves_its_inputs_unchanged(nb):
    param, grad, buf = np.array([1.0, 2.0]), np.array([0.5, -0.5]), np.array([0.1, 0.2])
    nb.sgd_momentum_step(param, grad, buf, lr=0.1, momentum=0.9, weight_decay=0.1)
    np.testing.assert_array_equal(param, [1.0, 2.0], err_msg="sgd_momentum_step must not modify param")
    np.testing.assert_array_equal(grad, [0.5, -0.5], err_msg="sgd_momentum_step must not modify grad")
    np.testing.assert_array_equal(buf, [0.1, 0.2], err_msg="sgd_momentum_step must not modify buf")


# --- Exercise 2: adam_step -------------------------------------------------------------------------------

def _adam_path(nb, grads, theta0, **options):
    theta = np.array(theta0, dtype=np.float64)
    m, v, path = np.zeros_like(theta), np.zeros_like(theta), []
    for t, g in enumerate(grads, start=1):
        theta, m, v = nb.adam_step(theta, g, m, v, t, **options)
        path.append(np.array(theta))
    return np.array(path)


@points(1)
def test_adam_first_step_by_hand(nb):
    # t = 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps) ~ lr * sign(g)
    theta, m, v = nb.adam_step(np.zeros(3), np.array([4.0, -0.001, 250.0]), np.zeros(3), np.zeros(3), 1, lr=0.1)
    np.testing.assert_allclose(m, [0.4, -0.0001, 25.0], rtol=1e-12, err_msg="m = beta1 m + (1 - beta1) g")
    np.testing.assert_allclose(v, [0.016, 1e-9, 62.5], rtol=1e-12, err_msg="v = beta2 v + (1 - beta2) g^2")
    np.testing.assert_allclose(theta, [-0.1, 0.1, -0.1], rtol=1e-4,
                               err_msg="with bias correction the first step has size lr whatever the gradient")


@points(2)
def test_adam_matches_the_library_over_many_steps(nb):
    grads = _grads(2, 30, (4,)) * np.array([1e-3, 1.0, 10.0, 100.0])   # very different gradient scales
    theta0 = np.random.default_rng(3).normal(size=4)
    for options in [dict(lr=1e-2), dict(lr=0.05, betas=(0.8, 0.99)), dict(lr=1e-2, eps=1e-3),
                    dict(lr=1e-2, weight_decay=0.1)]:
        np.testing.assert_allclose(_adam_path(nb, grads, theta0, **options),
                                   _library_path(optim.Adam, grads, theta0, **options), rtol=1e-10, atol=1e-12,
                                   err_msg=f"Adam{options}: every step should equal nnlearn.optim.Adam's")


@points(1)
def test_adam_decoupled_is_adamw(nb):
    grads = _grads(4, 30, (2, 3))
    theta0 = np.random.default_rng(5).normal(size=(2, 3))
    ours = _adam_path(nb, grads, theta0, lr=0.02, weight_decay=0.5, decoupled=True)
    np.testing.assert_allclose(ours, _library_path(optim.AdamW, grads, theta0, lr=0.02, weight_decay=0.5),
                               rtol=1e-10, atol=1e-12, err_msg="decoupled=True should equal nnlearn.optim.AdamW")
    coupled = _adam_path(nb, grads, theta0, lr=0.02, weight_decay=0.5)
    assert not np.allclose(ours, coupled), "Adam with an L2 penalty and AdamW must give different weights"


@points(1)
def test_adam_leaves_its_inputs_unchanged(nb):
    param, grad, m, v = np.ones(2), np.array([0.5, -1.0]), np.array([0.1, 0.1]), np.array([0.2, 0.2])
    nb.adam_step(param, grad, m, v, 3, lr=0.1, weight_decay=0.1, decoupled=True)
    for name, array, original in [("param", param, [1.0, 1.0]), ("grad", grad, [0.5, -1.0]),
                                  ("m", m, [0.1, 0.1]), ("v", v, [0.2, 0.2])]:
        np.testing.assert_array_equal(array, original, err_msg=f"adam_step must not modify {name}")


# --- Exercises 3 and 4: the schedules ----------------------------------------------------------------------

def _library_lrs(make_scheduler, steps, base_lr):
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=base_lr)
    scheduler = make_scheduler(opt)
    lrs = []
    for _ in range(steps + 1):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return np.array(lrs)


@points(1)
def test_cosine_by_hand(nb):
    # t = 0: the base; t = T/2: cos(pi/2) = 0, half way between; t = T: cos(pi) = -1, the minimum
    got = [float(nb.cosine_lr(t, 10, 0.1, 0.02)) for t in (0, 5, 10)]
    np.testing.assert_allclose(got, [0.1, 0.06, 0.02], rtol=1e-12, err_msg="cosine_lr(t, 10, 0.1, 0.02), t = 0, 5, 10")
    assert math.isclose(float(nb.cosine_lr(3, 6, 1.0)), 0.5, rel_tol=1e-12), "min_lr defaults to 0"


@points(2)
def test_cosine_matches_cosine_annealing_lr(nb):
    for total, base, low in [(50, 0.1, 0.0), (7, 3e-4, 1e-5), (1, 1.0, 0.5)]:
        expected = _library_lrs(lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=low), total, base)
        got = [float(nb.cosine_lr(t, total, base, low)) for t in range(total + 1)]
        np.testing.assert_allclose(got, expected, rtol=1e-12,
                                   err_msg=f"CosineAnnealingLR(T_max={total}, eta_min={low}), base lr {base}")


@points(1)
def test_warmup_by_hand(nb):
    # w = 4: the warmup gives base * 1/5, 2/5, 3/5, 4/5; at t = 4 the cosine starts at the base; at T the minimum
    got = [float(nb.warmup_cosine_lr(t, 4, 14, 1.0)) for t in (0, 1, 3, 4, 9, 14)]
    np.testing.assert_allclose(got, [0.2, 0.4, 0.8, 1.0, 0.5, 0.0], rtol=1e-12, atol=1e-15,
                               err_msg="warmup_cosine_lr(t, 4, 14, 1.0) at t = 0, 1, 3, 4, 9, 14")


@points(2)
def test_warmup_matches_linear_warmup_cosine(nb):
    for warmup, total, base, low in [(10, 100, 0.1, 0.0), (3, 8, 1e-3, 1e-4), (0, 20, 0.5, 0.05), (1, 2, 1.0, 0.0)]:
        expected = _library_lrs(lambda opt: lr_scheduler.linear_warmup_cosine(opt, warmup, total, eta_min=low),
                                total, base)
        got = [float(nb.warmup_cosine_lr(t, warmup, total, base, low)) for t in range(total + 1)]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15,
                                   err_msg=f"linear_warmup_cosine(warmup_steps={warmup}, total_steps={total}, "
                                           f"eta_min={low}), base lr {base}")
