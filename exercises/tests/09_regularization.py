"""Public tests for the chapter 9 exercises (regularization and normalization).

Each test takes ``nb``, the learner's answers: ``nb.l2_penalty`` is the function the notebook defines.
Test names start with the exercise they grade: ``test_l2_*``, ``test_dropout_*``, ``test_batchnorm_*``,
``test_running_*``, ``test_early_*``. Where a test compares with ``nnlearn``, the library is the independent
reference (it is tested against PyTorch in the project's own test suite).
"""
from __future__ import annotations

import numpy as np

from nnlearn.grading import points


# --- Exercise 1: l2_penalty --------------------------------------------------------------------------------

@points(1)
def test_l2_hand_computed(nb):
    # (lam / 2) * (1 + 4 + 0.25 + 0 + 9) = 0.05 * 14.25 = 0.7125 with lam = 0.1
    W1, W2 = np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([3.0])
    penalty, grads = nb.l2_penalty([W1, W2], 0.1)
    assert np.isclose(float(penalty), 0.7125), f"expected the penalty 0.7125, got {penalty}"
    assert len(grads) == 2, f"one gradient per weight array: expected 2, got {len(grads)}"
    np.testing.assert_allclose(grads[0], 0.1 * W1, err_msg="the gradient of (lam/2) W^2 is lam * W")
    np.testing.assert_allclose(grads[1], 0.1 * W2, err_msg="the gradient of (lam/2) W^2 is lam * W")


@points(1)
def test_l2_gradient_matches_finite_differences(nb):
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    lam, h = 0.37, 1e-6
    _, grads = nb.l2_penalty([w.copy() for w in weights], lam)
    for k, w in enumerate(weights):
        numeric = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            plus = [v.copy() for v in weights]
            minus = [v.copy() for v in weights]
            plus[k][index] += h
            minus[k][index] -= h
            numeric[index] = (nb.l2_penalty(plus, lam)[0] - nb.l2_penalty(minus, lam)[0]) / (2 * h)
        assert np.shape(grads[k]) == w.shape, f"grads[{k}] should have shape {w.shape}, got {np.shape(grads[k])}"
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"grads[{k}] disagrees with the finite-difference gradient of the penalty")


@points(1)
def test_l2_zero_strength_and_inputs_untouched(nb):
    W = np.array([[2.0, -1.0]])
    penalty, grads = nb.l2_penalty([W], 0.0)
    assert float(penalty) == 0.0, f"with lam = 0 the penalty is 0, got {penalty}"
    np.testing.assert_array_equal(grads[0], [[0.0, 0.0]], err_msg="with lam = 0 the gradient is 0")
    nb.l2_penalty([W], 1.0)
    np.testing.assert_array_equal(W, [[2.0, -1.0]], err_msg="l2_penalty must not modify the weights")
    assert isinstance(float(nb.l2_penalty([W], 1.0)[0]), float)


# --- Exercise 2: dropout_forward ---------------------------------------------------------------------------

@points(1)
def test_dropout_evaluation_mode_is_the_identity(nb):
    x = np.random.default_rng(0).normal(size=(5, 7))
    out = nb.dropout_forward(x.copy(), 0.5, np.random.default_rng(1), training=False)
    np.testing.assert_array_equal(out, x, err_msg="with training=False dropout must return x unchanged")


@points(2)
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest(nb):
    x = np.random.default_rng(0).uniform(1.0, 2.0, size=(400, 250))   # 100 000 entries, none of them 0
    p = 0.3
    out = np.asarray(nb.dropout_forward(x, p, np.random.default_rng(1), training=True))
    assert out.shape == x.shape, f"the output must have x's shape {x.shape}, got {out.shape}"
    dropped = out == 0
    # with 100 000 independent draws the fraction is within 0.3 +- 0.006 (4 standard deviations)
    assert abs(dropped.mean() - p) < 0.006, f"expected a fraction {p} of zeros, got {dropped.mean():.4f}"
    np.testing.assert_allclose(out[~dropped], x[~dropped] / (1 - p), rtol=1e-6,
                               err_msg="every kept entry must be x / (1 - p)")
    # the scaling keeps the mean: E[out] = x
    assert abs(out.mean() / x.mean() - 1) < 0.01, "the mean of the output should stay close to the mean of x"


@points(1)
def test_dropout_draws_from_the_given_generator(nb):
    x = np.ones((50, 40))
    a = nb.dropout_forward(x, 0.5, np.random.default_rng(7), training=True)
    b = nb.dropout_forward(x, 0.5, np.random.default_rng(7), training=True)
    c = nb.dropout_forward(x, 0.5, np.random.default_rng(8), training=True)
    np.testing.assert_array_equal(a, b, err_msg="the same seeded generator must give the same mask")
    assert not np.array_equal(a, c), "different generators should give different masks (draw from rng)"
    rng = np.random.default_rng(9)
    first, second = nb.dropout_forward(x, 0.5, rng, True), nb.dropout_forward(x, 0.5, rng, True)
    assert not np.array_equal(first, second), "two calls with the same generator must draw two different masks"
    np.testing.assert_array_equal(x, np.ones((50, 40)), err_msg="dropout_forward must not modify x")


@points(1)
def test_dropout_extreme_probabilities(nb):
    x = np.random.default_rng(0).normal(size=(6, 6))
    np.testing.assert_allclose(nb.dropout_forward(x, 0.0, np.random.default_rng(0), training=True), x,
                               err_msg="with p = 0 nothing is dropped and nothing is scaled")
    out = np.asarray(nb.dropout_forward(x, 1.0, np.random.default_rng(0), training=True))
    assert np.all(np.isfinite(out)), "with p = 1 the output must be finite (no division by zero)"
    np.testing.assert_array_equal(out, np.zeros_like(x), err_msg="with p = 1 everything is dropped")


# --- Exercise 3: batchnorm_forward_train -------------------------------------------------------------------

@points(1)
def test_batchnorm_hand_computed(nb):
    # columns (1, 3) and (2, 6): means (2, 4), biased variances (1, 4), standardised values -1 and +1
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    out, mean, var = nb.batchnorm_forward_train(x, np.ones(2), np.zeros(2), eps=0.0)
    np.testing.assert_allclose(mean, [2.0, 4.0], err_msg="mean: one value per feature (column)")
    np.testing.assert_allclose(var, [1.0, 4.0], err_msg="var: the biased variance (divide by N) per feature")
    np.testing.assert_allclose(out, [[-1.0, -1.0], [1.0, 1.0]], err_msg="the standardised batch")


@points(2)
def test_batchnorm_matches_nnlearn(nb):
    import nnlearn
    import nnlearn.functional as F

    rng = np.random.default_rng(5)
    x = rng.normal(loc=[3.0, -1.0, 0.0, 10.0], scale=[1.0, 0.1, 5.0, 2.0], size=(16, 4))
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    out, mean, var = nb.batchnorm_forward_train(x, gamma, beta, eps=1e-3)
    expected = F.batch_norm(nnlearn.tensor(x), None, None, nnlearn.tensor(gamma), nnlearn.tensor(beta),
                            training=True, eps=1e-3).numpy()
    assert np.shape(out) == x.shape, f"out should have x's shape {x.shape}, got {np.shape(out)}"
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-8,
                               err_msg="out = gamma * (x - mean) / sqrt(var + eps) + beta")
    np.testing.assert_allclose(mean, x.mean(axis=0), err_msg="mean of each feature over the batch")
    np.testing.assert_allclose(var, x.var(axis=0), err_msg="biased variance of each feature over the batch")


@points(1)
def test_batchnorm_output_statistics_and_inputs_untouched(nb):
    rng = np.random.default_rng(6)
    x = rng.normal(loc=7.0, scale=3.0, size=(200, 3))
    kept = x.copy()
    out, _, _ = nb.batchnorm_forward_train(x, np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0]))
    np.testing.assert_allclose(out.mean(axis=0), [0.0, -1.0, 3.0], atol=1e-8,
                               err_msg="each output feature's mean is beta")
    np.testing.assert_allclose(out.std(axis=0), [1.0, 2.0, 0.5], rtol=1e-5,
                               err_msg="each output feature's standard deviation is gamma (up to eps)")
    np.testing.assert_array_equal(x, kept, err_msg="batchnorm_forward_train must not modify x")


# --- Exercise 4: update_running_stats ----------------------------------------------------------------------

@points(1)
def test_running_hand_computed(nb):
    # mean: 0.9 * 0 + 0.1 * 5 = 0.5;  var: 0.9 * 1 + 0.1 * (4 * 10 / 9) = 0.9 + 0.4444... = 1.3444...
    new_mean, new_var = nb.update_running_stats(np.zeros(1), np.ones(1), np.array([5.0]), np.array([4.0]),
                                                n=10, momentum=0.1)
    np.testing.assert_allclose(new_mean, [0.5], err_msg="running_mean = (1 - m) running_mean + m batch_mean")
    np.testing.assert_allclose(new_var, [0.9 + 0.4 / 0.9], err_msg="running_var uses the unbiased batch "
                                                                   "variance batch_var * n / (n - 1)")


@points(2)
def test_running_matches_nnlearn_batchnorm1d(nb):
    import nnlearn
    from nnlearn import nn

    rng = np.random.default_rng(8)
    layer = nn.BatchNorm1d(3, momentum=0.2, dtype=np.float64)
    running_mean, running_var = np.zeros(3), np.ones(3)
    for _ in range(5):
        x = rng.normal(loc=[1.0, 2.0, 3.0], scale=[1.0, 2.0, 0.5], size=(12, 3))
        layer(nnlearn.tensor(x))        # a new layer is in training mode: it updates its buffers
        running_mean, running_var = nb.update_running_stats(running_mean, running_var, x.mean(axis=0),
                                                             x.var(axis=0), n=12, momentum=0.2)
    np.testing.assert_allclose(running_mean, layer.running_mean.numpy(), rtol=1e-10,
                               err_msg="running_mean after 5 batches differs from nn.BatchNorm1d's")
    np.testing.assert_allclose(running_var, layer.running_var.numpy(), rtol=1e-10,
                               err_msg="running_var after 5 batches differs from nn.BatchNorm1d's")


@points(1)
def test_running_momentum_extremes_and_inputs_untouched(nb):
    rm, rv = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    bm, bv = np.array([-1.0, 0.0]), np.array([2.0, 2.0])
    same_mean, same_var = nb.update_running_stats(rm, rv, bm, bv, n=5, momentum=0.0)
    np.testing.assert_allclose(same_mean, rm, err_msg="momentum 0: the running mean does not move")
    np.testing.assert_allclose(same_var, rv, err_msg="momentum 0: the running variance does not move")
    new_mean, new_var = nb.update_running_stats(rm, rv, bm, bv, n=5, momentum=1.0)
    np.testing.assert_allclose(new_mean, bm, err_msg="momentum 1: the running mean becomes the batch mean")
    np.testing.assert_allclose(new_var, bv * 5 / 4, err_msg="momentum 1: the running variance becomes the "
                                                             "unbiased batch variance")
    np.testing.assert_array_equal(rm, [1.0, 2.0], err_msg="update_running_stats must return new arrays, "
                                                          "not modify running_mean in place")
    np.testing.assert_array_equal(rv, [3.0, 4.0], err_msg="update_running_stats must not modify running_var")


# --- Exercise 5: early_stopping_epochs ---------------------------------------------------------------------

@points(1)
def test_early_hand_traced(nb):
    losses = [1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9]
    # best at epoch 3; epochs 4, 5, 6 do not improve (0.71 > 0.7), so with patience 3 it stops after epoch 6
    assert tuple(nb.early_stopping_epochs(losses, 3)) == (3, 6), "patience 3 on the example"
    assert tuple(nb.early_stopping_epochs(losses, 10)) == (3, 0), "patience 10: the list runs out first"
    # patience 1: epoch 4 is the first without improvement, and one is enough to stop
    assert tuple(nb.early_stopping_epochs(losses, 1)) == (3, 4), "patience 1 on the example"


@points(1)
def test_early_equal_loss_is_not_an_improvement(nb):
    # an epoch improves only if its loss is strictly lower; the first epoch always improves
    assert tuple(nb.early_stopping_epochs([0.5, 0.5, 0.5], 2)) == (1, 3), "ties do not improve"
    assert tuple(nb.early_stopping_epochs([0.5], 0)) == (1, 0), "a single improving epoch never stops"
    assert tuple(nb.early_stopping_epochs([3.0, 2.0, 1.0], 1)) == (3, 0), "always improving: never stops"


@points(2)
def test_early_matches_nnlearn_early_stopping(nb):
    from nnlearn.train import EarlyStopping, History, TrainState

    rng = np.random.default_rng(11)
    for trial in range(30):
        losses = list(np.round(rng.uniform(0, 1, size=int(rng.integers(1, 25))), 1))  # rounding makes ties
        patience = int(rng.integers(0, 5))
        stopper = EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=False)
        state = TrainState(model=None, optimizer=None, history=History(), epochs=len(losses))
        stopper.on_train_begin(state)
        for epoch, loss in enumerate(losses, start=1):
            state.epoch, state.logs = epoch, {"val_loss": loss}
            stopper.on_epoch_end(state)
            if state.stop_training:
                break
        expected = (stopper.best_epoch, stopper.stopped_epoch)
        got = tuple(int(v) for v in nb.early_stopping_epochs(losses, patience))
        assert got == expected, (f"val_losses={losses}, patience={patience}: nnlearn's EarlyStopping gives "
                                 f"(best_epoch, stopped_epoch) = {expected}, got {got}")
