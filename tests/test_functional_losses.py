"""nnlearn.functional losses: closed forms, gradchecks for every reduction, PyTorch parity, stability at
extreme logits, and the messages of bad input."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn.functional as F
from nnlearn import Tensor
from nnlearn.testing import gradcheck

REDUCTIONS = ["mean", "sum", "none"]


def _reduce(values, reduction):
    return values.mean() if reduction == "mean" else values.sum() if reduction == "sum" else values


def _compare_with_torch(torch, ours, theirs, arrays, differentiable, rng, tol):
    """Run ``ours(*Tensors)`` and ``theirs(*torch tensors)`` on the same arrays (integer arrays are labels);
    compare the values, then the gradients of the inputs listed in ``differentiable`` for one random upstream
    gradient."""
    mine = [Tensor(a.copy(), requires_grad=i in differentiable) for i, a in enumerate(arrays)]
    their = [torch.tensor(a, requires_grad=i in differentiable) for i, a in enumerate(arrays)]
    out, tout = ours(*mine), theirs(*their)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
    upstream = rng.standard_normal(out.shape).astype(out.dtype)
    out.backward(upstream)
    tout.backward(torch.tensor(upstream))
    for i in differentiable:
        np.testing.assert_allclose(mine[i].grad, their[i].grad.numpy(), rtol=tol, atol=tol, err_msg=f"input {i}")


def _labels(rng, n, num_classes):
    return rng.integers(0, num_classes, size=n)


# ---------------------------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_closed_forms(reduction, rng):
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(F.mse_loss(Tensor(x), Tensor(y), reduction=reduction).data,
                               _reduce((x - y) ** 2, reduction), rtol=1e-12)
    np.testing.assert_allclose(F.l1_loss(Tensor(x), Tensor(y), reduction=reduction).data,
                               _reduce(np.abs(x - y), reduction), rtol=1e-12)


def test_binary_losses_match_closed_forms(rng):
    z = rng.standard_normal((5, 2)) * 3
    t = rng.integers(0, 2, size=(5, 2)).astype(float)
    p = 1 / (1 + np.exp(-z))
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(F.binary_cross_entropy(Tensor(p), Tensor(t), reduction="none").data, bce,
                               rtol=1e-12)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(Tensor(z), Tensor(t)).data, bce.mean(),
                               rtol=1e-12)
    pw = np.array([3.0, 0.5])  # positives of column 0 count three times, of column 1 half
    weighted = -(pw * t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(Tensor(z), Tensor(t), pos_weight=Tensor(pw),
                                                                  reduction="sum").data, weighted.sum(), rtol=1e-12)


def test_classification_losses_match_closed_forms(rng):
    x, y = rng.standard_normal((6, 4)), _labels(rng, 6, 4)
    log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    rows = np.arange(6)
    np.testing.assert_allclose(F.cross_entropy(Tensor(x), Tensor(y)).data, -log_p[rows, y].mean(), rtol=1e-12)
    np.testing.assert_allclose(F.nll_loss(Tensor(log_p), Tensor(y), reduction="none").data, -log_p[rows, y],
                               rtol=1e-12)
    w = np.array([1.0, 2.0, 0.5, 3.0])  # weighted mean: divide by the weights of the targets, not by N
    np.testing.assert_allclose(F.cross_entropy(Tensor(x), Tensor(y), weight=Tensor(w)).data,
                               (-w[y] * log_p[rows, y]).sum() / w[y].sum(), rtol=1e-12)
    eps = 0.2  # smoothing: target distribution (1 - eps) one-hot + eps / C uniform
    smoothed = (1 - eps) * np.eye(4)[y] + eps / 4
    np.testing.assert_allclose(F.cross_entropy(Tensor(x), Tensor(y), label_smoothing=eps).data,
                               -(smoothed * log_p).sum(axis=1).mean(), rtol=1e-12)
    # multi-class hinge, p = 1, margin 1: sum over wrong classes of max(0, 1 - x_y + x_j), divided by C
    margins = np.maximum(0, 1 - x[rows, y][:, None] + x)
    margins[rows, y] = 0
    np.testing.assert_allclose(F.multi_margin_loss(Tensor(x), Tensor(y), reduction="none").data,
                               margins.sum(axis=1) / 4, rtol=1e-12)


def test_hinge_loss_matches_closed_form(rng):
    x, y = rng.standard_normal(8), rng.choice([-1.0, 1.0], size=8)
    np.testing.assert_allclose(F.hinge_loss(Tensor(x), Tensor(y), reduction="none").data,
                               np.maximum(0, 1 - y * x), rtol=1e-12)
    np.testing.assert_allclose(F.hinge_loss(Tensor(x), Tensor(y), margin=0.5).data,
                               np.maximum(0, 0.5 - y * x).mean(), rtol=1e-12)
    # hand-derived: score 2 for label +1 is beyond the margin (0); score 0.25 for label -1 costs 1 + 0.25
    assert F.hinge_loss(Tensor(np.array([2.0, 0.25])), [1, -1], reduction="sum").item() == 1.25


def test_bce_clamps_log_at_minus_100_like_pytorch():
    # a certain and wrong prediction costs 100 (the clamp), not infinity
    out = F.binary_cross_entropy(Tensor(np.array([0.0, 1.0, 1.0])), Tensor(np.array([1.0, 0.0, 1.0])),
                                 reduction="none")
    assert out.data.tolist() == [100.0, 100.0, 0.0]


def test_one_hot(torch):
    labels = np.array([[0, 2], [1, 2]])
    out = F.one_hot(labels)
    assert out.dtype == np.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data, torch.nn.functional.one_hot(torch.tensor(labels)).numpy())
    np.testing.assert_array_equal(F.one_hot(Tensor([1]), num_classes=4).data, [[0, 1, 0, 0]])


# ---------------------------------------------------------------------------------------------- gradchecks
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_elementwise_losses(reduction, rng):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    y[np.abs(x - y) < 1e-3] += 0.1  # keep l1's kink away from the finite differences
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), [x, y])
    assert gradcheck(lambda a, b: F.l1_loss(a, b, reduction=reduction), [x, y])
    p, t = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
    w = rng.uniform(0.5, 2, 4)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), [p, t])
    assert gradcheck(lambda a, b, c: F.binary_cross_entropy(a, b, c, reduction=reduction), [p, t, w])
    pw = rng.uniform(0.5, 3, 4)
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), [x, t])
    assert gradcheck(lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, c, reduction=reduction,
                                                                           pos_weight=d), [x, t, w, pw])
    s = rng.choice([-1.0, 1.0], (3, 4))
    xs = np.where(np.abs(1 - s * x) < 1e-3, x + 0.1, x)  # away from the hinge's kink
    signs = Tensor(s)  # labels, not perturbed: gradcheck would nudge them off {-1, +1}
    assert gradcheck(lambda a: F.hinge_loss(a, signs, reduction=reduction), [xs])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_class_losses(reduction, rng):
    x = rng.standard_normal((4, 3))
    y = Tensor(np.array([0, 2, 1, 2]))
    w = Tensor(np.array([0.5, 2.0, 1.5]))
    assert gradcheck(lambda a: F.cross_entropy(a, y, reduction=reduction), [x])
    assert gradcheck(lambda a: F.cross_entropy(a, y, w, reduction=reduction, label_smoothing=0.1), [x])
    y_ignored = Tensor(np.array([0, -100, 1, 2]))
    assert gradcheck(lambda a: F.nll_loss(a, y_ignored, w, reduction=reduction), [x])
    for p in (1, 2):
        assert gradcheck(lambda a: F.multi_margin_loss(a, y, p=p, margin=0.7, weight=w, reduction=reduction), [x])
    x4 = rng.standard_normal((2, 3, 2, 2))  # (N, C, d1, d2) with labels (N, d1, d2)
    y4 = Tensor(np.array([[[0, 1], [2, 2]], [[1, 0], [0, -100]]]))
    assert gradcheck(lambda a: F.cross_entropy(a, y4, reduction=reduction, label_smoothing=0.2), [x4])


# ---------------------------------------------------------------------------------------------- PyTorch parity
PRECISIONS = [(np.float64, 1e-10), (np.float32, 1e-5)]


@pytest.mark.parametrize("dtype, tol", PRECISIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_losses_match_pytorch(reduction, dtype, tol, rng, torch):
    tf = torch.nn.functional
    x, y = rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype)
    p, t = rng.uniform(0.02, 0.98, (4, 3)).astype(dtype), rng.uniform(0, 1, (4, 3)).astype(dtype)
    w, pw = rng.uniform(0.5, 2, 3).astype(dtype), rng.uniform(0.5, 3, 3).astype(dtype)
    r = {"reduction": reduction}
    for ours, theirs, arrays, grads in [
        (F.mse_loss, tf.mse_loss, [x, y], [0, 1]),
        (F.l1_loss, tf.l1_loss, [x, y], [0, 1]),
        (F.binary_cross_entropy, tf.binary_cross_entropy, [p, t], [0, 1]),
        (F.binary_cross_entropy, tf.binary_cross_entropy, [p, t, w], [0, 1]),
        (F.binary_cross_entropy_with_logits, tf.binary_cross_entropy_with_logits, [x, t], [0, 1]),
        (F.binary_cross_entropy_with_logits, tf.binary_cross_entropy_with_logits, [x, t, w], [0, 1]),
    ]:
        _compare_with_torch(torch, lambda *a: ours(*a, **r), lambda *a: theirs(*a, **r), arrays, grads, rng, tol)
    _compare_with_torch(torch, lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, c, pos_weight=d, **r),
                        lambda a, b, c, d: tf.binary_cross_entropy_with_logits(a, b, c, pos_weight=d, **r),
                        [x, t, w, pw], [0, 1], rng, tol)  # torch differentiates neither weight nor pos_weight


@pytest.mark.parametrize("dtype, tol", PRECISIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_losses_match_pytorch(reduction, dtype, tol, rng, torch):
    tf = torch.nn.functional
    x = (rng.standard_normal((6, 5)) * 2).astype(dtype)
    y = np.array([0, 4, 2, -100, 1, 4])
    y_plain = np.where(y < 0, 3, y)
    w = rng.uniform(0.5, 2, 5).astype(dtype)
    r = {"reduction": reduction}
    cases = [
        (lambda a, b: F.cross_entropy(a, b, **r), lambda a, b: tf.cross_entropy(a, b, **r), [x, y_plain]),
        (lambda a, b: F.cross_entropy(a, b, **r), lambda a, b: tf.cross_entropy(a, b, **r), [x, y]),
        (lambda a, b, c: F.cross_entropy(a, b, c, label_smoothing=0.3, **r),
         lambda a, b, c: tf.cross_entropy(a, b, c, label_smoothing=0.3, **r), [x, y, w]),
        (lambda a, b: F.cross_entropy(a, b, ignore_index=2, label_smoothing=0.1, **r),
         lambda a, b: tf.cross_entropy(a, b, ignore_index=2, label_smoothing=0.1, **r), [x, y_plain]),
        (lambda a, b, c: F.nll_loss(a, b, c, **r), lambda a, b, c: tf.nll_loss(a, b, c, **r), [x, y, w]),
        (lambda a, b: F.cross_entropy(a, b, **r), lambda a, b: tf.cross_entropy(a, b, **r), [x[0], y_plain[0]]),
    ]
    for p in (1, 2):
        cases.append((lambda a, b, c, p=p: F.multi_margin_loss(a, b, p, 0.8, c, **r),
                      lambda a, b, c, p=p: tf.multi_margin_loss(a, b, p, 0.8, c, **r), [x, y_plain, w]))
        cases.append((lambda a, b, p=p: F.multi_margin_loss(a, b, p, **r),
                      lambda a, b, p=p: tf.multi_margin_loss(a, b, p, **r), [x[1], y_plain[1]]))
    for ours, theirs, arrays in cases:
        _compare_with_torch(torch, ours, theirs, arrays, [0], rng, tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_spatial_cross_entropy_matches_pytorch(reduction, rng, torch):
    x = rng.standard_normal((2, 4, 3, 2))  # (N, C, H, W): one prediction per pixel
    y = rng.integers(0, 4, size=(2, 3, 2))
    y[0, 1, 1] = -100
    w = rng.uniform(0.5, 2, 4)
    _compare_with_torch(torch, lambda a, b, c: F.cross_entropy(a, b, c, reduction=reduction, label_smoothing=0.2),
                        lambda a, b, c: torch.nn.functional.cross_entropy(a, b, c, reduction=reduction,
                                                                          label_smoothing=0.2),
                        [x, y, w], [0], rng, 1e-10)


def test_all_targets_ignored_gives_nan_like_pytorch():
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    out = F.cross_entropy(x, Tensor(np.array([-100, -100])))
    assert np.isnan(out.item())


# ---------------------------------------------------------------------------------------------- stability
def test_cross_entropy_stable_for_huge_logits(torch):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [-1e4, 1e4, 5.0]])
    y = np.array([1, 0, 2, 1])
    for reduction in REDUCTIONS:
        X = Tensor(x.copy(), requires_grad=True)
        out = F.cross_entropy(X, Tensor(y), reduction=reduction, label_smoothing=0.1)
        assert np.isfinite(out.data).all()
        _compare_with_torch(torch, lambda a, b: F.cross_entropy(a, b, reduction=reduction, label_smoothing=0.1),
                            lambda a, b: torch.nn.functional.cross_entropy(a, b, reduction=reduction,
                                                                           label_smoothing=0.1),
                            [x, y], [0], np.random.default_rng(0), 1e-10)
    # the first example is wrong by 2e4 logits: its loss is 2e4 exactly, no inf
    assert F.cross_entropy(Tensor(x), Tensor(y), reduction="none").data[0] == 2e4


def test_bce_with_logits_stable_for_huge_logits(torch):
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0])
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.3])
    pw = np.array([2.0])
    X = Tensor(x.copy(), requires_grad=True)
    out = F.binary_cross_entropy_with_logits(X, Tensor(t), reduction="none")
    out.sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(X.grad).all()
    assert out.data[:4].tolist() == [1e4, 1e4, 0.0, 0.0]  # wrong by 1e4 costs 1e4; right costs 0
    for reduction in REDUCTIONS:
        _compare_with_torch(torch, lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, reduction=reduction,
                                                                                      pos_weight=c),
                            lambda a, b, c: torch.nn.functional.binary_cross_entropy_with_logits(
                                a, b, reduction=reduction, pos_weight=c),
                            [x, t, pw], [0, 1], np.random.default_rng(0), 1e-10)


def test_bce_at_exact_zero_and_one_matches_pytorch(torch):
    p = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    t = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    _compare_with_torch(torch, lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"),
                        lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction="sum"),
                        [p, t], [0], np.random.default_rng(0), 1e-10)


# ---------------------------------------------------------------------------------------------- bad input
def test_class_target_errors_name_the_target():
    x = Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"cross_entropy: target values must be class indices in \[0, 3\] "
                                         r"\(or ignore_index=-100\) .* 4 classes, got 4 at position \(1,\)"):
        F.cross_entropy(x, Tensor(np.array([0, 4, 1])))
    with pytest.raises(ValueError, match=r"nll_loss: target values .* got -1 at position \(2,\)"):
        F.nll_loss(x, [0, 1, -1])
    with pytest.raises(TypeError, match=r"cross_entropy: target must hold integer class indices .* "
                                        r"got dtype float32"):
        F.cross_entropy(x, Tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"cross_entropy: input of shape \(3, 4\) .* needs target of shape "
                                         r"\(3,\), got target of shape \(3, 1\)"):
        F.cross_entropy(x, Tensor(np.array([[0], [1], [2]])))
    with pytest.raises(ValueError, match=r"multi_margin_loss: target values must be class indices in \[0, 3\] "
                                         r"for an input with 4 classes, got -100"):
        F.multi_margin_loss(x, [0, -100, 1])


def test_shape_mismatch_errors_name_input_and_target():
    x = Tensor(np.zeros(5))
    for loss in (F.mse_loss, F.l1_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.hinge_loss):
        target = np.ones((5, 1))
        with pytest.raises(ValueError, match=rf"{loss.__name__}: input and target must have the same shape, got "
                                             r"input \(5,\) and target \(5, 1\)"):
            loss(x, target)


def test_other_bad_inputs_are_named():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"mse_loss: input is empty \(shape \(0, 3\)\)"):
        F.mse_loss(Tensor(np.zeros((0, 3))), Tensor(np.zeros((0, 3))))
    with pytest.raises(ValueError, match=r"cross_entropy: input is empty \(shape \(0, 3\)\)"):
        F.cross_entropy(Tensor(np.zeros((0, 3))), Tensor(np.zeros(0, dtype=np.int64)))
    with pytest.raises(ValueError, match=r"mse_loss: reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities in \[0, 1\], got "
                                         r"values from -0.5 to 2.0; apply sigmoid first"):
        F.binary_cross_entropy(Tensor(np.array([-0.5, 2.0])), Tensor(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities"):
        F.binary_cross_entropy(Tensor(np.array([np.nan, 0.5])), Tensor(np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match=r"hinge_loss: target values must be -1 or \+1, got 0.0 at position "
                                         r"\(1,\) \(for labels in \{0, 1\} use 2 \* target - 1\)"):
        F.hinge_loss(Tensor(np.zeros(2)), Tensor(np.array([1.0, 0.0])))
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have one entry per class, shape \(3,\), "
                                         r"got shape \(2,\)"):
        F.cross_entropy(x, [0, 1], weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight of shape \(2,\) does not "
                                         r"broadcast to the input's shape \(2, 3\)"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be a probability in \[0, 1\], "
                                         r"got 1.5"):
        F.cross_entropy(x, [0, 1], label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"multi_margin_loss: p must be 1 or 2, got 3"):
        F.multi_margin_loss(x, [0, 1], p=3)
    with pytest.raises(TypeError, match=r"mse_loss: input must have a floating-point dtype .* got int64"):
        F.mse_loss(Tensor([1, 2]), Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"l1_loss: target must be a Tensor or an array-like of numbers, got dict"):
        F.l1_loss(x, {})
    with pytest.raises(ValueError, match=r"one_hot: labels must be in \[0, 2\] for num_classes=3, got 3"):
        F.one_hot([0, 3], num_classes=3)
    with pytest.raises(TypeError, match=r"one_hot: labels must hold integer class indices"):
        F.one_hot(Tensor([0.0, 1.0]))
    with pytest.raises(TypeError):  # options after weight are keyword-only, as only keywords transfer to torch
        F.mse_loss(x, x, "sum")


def test_losses_accept_arrays_and_keep_the_input_dtype():
    x = Tensor(np.array([0.5, -1.0], dtype=np.float32), requires_grad=True)
    loss = F.mse_loss(x, np.array([1.0, 1.0]))  # a float64 target does not upcast the float32 loss
    assert loss.dtype == np.float32
    loss.backward()
    np.testing.assert_allclose(x.grad, [2 * (0.5 - 1.0) / 2, 2 * (-1.0 - 1.0) / 2])
    assert F.cross_entropy(np.zeros((2, 3)), [0, 2]).item() == pytest.approx(np.log(3))  # uniform: log C
    assert F.binary_cross_entropy_with_logits(x, [1, 0]).dtype == np.float32  # integer 0/1 targets are fine
