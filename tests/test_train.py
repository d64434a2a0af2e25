"""nnlearn.train: the fit loop, History, callbacks, metrics and the progress bar."""
from __future__ import annotations

import math

import numpy as np
import pytest

import nnlearn
from nnlearn import nn, optim
from nnlearn.data import DataLoader, make_moons
from nnlearn.train import (Callback, EarlyStopping, GradientClipping, History, LambdaCallback, ModelCheckpoint,
                           TrainState, accuracy, confusion_matrix, evaluate, fit, precision, predict, recall,
                           to_labels)


# ---------------------------------------------------------------------- fixtures and helpers
def moons_loaders(n=200, batch_size=32):
    X, y = make_moons(n, noise=0.1, seed=0)
    return X, y, DataLoader.from_arrays(X, y, batch_size=batch_size, shuffle=True), \
        DataLoader.from_arrays(X, y, batch_size=256)


def mlp(hidden=32, out=2):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, out))


def drifting_regression():
    """A 1-D problem whose validation loss falls, then rises: training pulls w from 0 to 2, validation
    wants w = 1. With full-batch SGD (lr 0.1) on MSE, w_{t+1} = w_t - 0.2 m2 (w_t - 2), m2 = mean(x**2),
    so w passes 1 during epoch 3 or 4 and the validation loss (w - 1)**2 m2 is smallest there."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((64, 1)).astype(np.float32)
    train = DataLoader.from_arrays(x, 2 * x, batch_size=64)
    val = DataLoader.from_arrays(x, 1 * x, batch_size=64)
    model = nn.Linear(1, 1, bias=False)
    model.load_state_dict({"weight": np.zeros((1, 1), dtype=np.float32)})
    return model, train, val, optim.SGD(model.parameters(), lr=0.1)


def without_time(history):
    return {k: v for k, v in history.as_dict().items() if k != "time"}


# ---------------------------------------------------------------------- fit
def test_fit_learns_moons_to_95_percent_in_seconds():
    X, y, train, val = moons_loaders()
    model = mlp()
    history = fit(model, train, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), epochs=40,
                  val_loader=val, progress=False)
    assert history["accuracy"][-1] >= 0.95
    assert evaluate(model, val, nn.CrossEntropyLoss())["accuracy"] >= 0.95
    assert history["loss"][-1] < history["loss"][0]
    assert sum(history["time"]) < 15  # "a few seconds" (about 1 s here), with room for a busy machine


def test_history_has_one_value_per_epoch_for_every_record():
    _, _, train, val = moons_loaders(100)
    model = mlp(8)
    history = fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=3,
                  val_loader=val, progress=False)
    assert history.keys() == ["loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"]
    assert history.epochs == [1, 2, 3] and len(history) == 3
    assert all(len(values) == 3 for values in history.as_dict().values())
    assert history.metric_names == ("accuracy",)


def test_epoch_loss_is_the_sample_weighted_mean_of_the_batch_losses():
    # 100 samples in batches of 32 -> sizes 32, 32, 32, 4: a plain mean of batch losses would be wrong
    X, y = make_moons(100, noise=0.1, seed=0)
    loader = DataLoader.from_arrays(X, y, batch_size=32)
    model = mlp(8)
    losses = []
    history = fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=1,
                  metrics=(), callbacks=[LambdaCallback(on_batch_end=lambda s: losses.append(s.batch_loss))],
                  progress=False)
    expected = np.dot(losses, [32, 32, 32, 4]) / 100
    assert history["loss"][0] == pytest.approx(expected, rel=1e-12)
    assert expected != pytest.approx(np.mean(losses), rel=1e-6)


def test_train_metrics_match_evaluate_when_the_weights_do_not_change():
    _, _, train, _ = moons_loaders(100)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.0), nn.ReLU(), nn.Linear(8, 2))
    history = fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0), epochs=1,
                  progress=False)
    scores = evaluate(model, train, nn.CrossEntropyLoss())
    assert history["loss"][0] == pytest.approx(scores["loss"], rel=1e-6)
    assert history["accuracy"][0] == scores["accuracy"]


def test_validation_numbers_are_those_of_the_final_weights():
    X, y, train, val = moons_loaders(100)
    model = mlp(8)
    history = fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2,
                  val_loader=val, metrics=("accuracy", "recall"), progress=False)
    scores = evaluate(model, val, nn.CrossEntropyLoss(), metrics=("accuracy", "recall"))
    assert history["val_loss"][-1] == scores["loss"]
    assert history["val_accuracy"][-1] == scores["accuracy"] == accuracy(predict(model, X), y)
    assert history["val_recall"][-1] == scores["recall"] == recall(predict(model, X), y)


def test_fit_leaves_the_model_in_training_mode():
    _, _, train, val = moons_loaders(64)
    model = mlp(4)
    fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=1, val_loader=val,
        progress=False)
    assert model.training


def test_two_runs_with_the_same_seed_have_identical_histories():
    def run(seed):
        nnlearn.manual_seed(seed)
        _, _, train, val = moons_loaders(100)
        train = DataLoader(train.dataset, batch_size=16, shuffle=True)  # order drawn from nnlearn's generator
        model = mlp(8)
        return fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=3,
                   val_loader=val, progress=False)

    assert without_time(run(0)) == without_time(run(0))
    assert without_time(run(0)) != without_time(run(1))


def test_the_learning_rate_is_recorded_and_the_scheduler_steps_once_per_epoch():
    _, _, train, _ = moons_loaders(64)
    model = mlp(4)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(model, train, nn.CrossEntropyLoss(), optimizer, epochs=3, scheduler=scheduler, progress=False)
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert scheduler.get_last_lr()[0] == pytest.approx(0.0125)


def test_a_scheduler_whose_step_needs_a_value_gets_the_validation_loss():
    class Plateau:  # the shape of torch's ReduceLROnPlateau: step(metrics)
        def __init__(self):
            self.seen = []

        def step(self, metrics):
            self.seen.append(metrics)

    _, _, train, val = moons_loaders(64)
    model, plateau = mlp(4), Plateau()
    history = fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2,
                  val_loader=val, scheduler=plateau, progress=False)
    assert plateau.seen == history["val_loss"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy reports the overflow on its way to inf
def test_a_diverging_loss_raises_an_error_that_suggests_a_lower_learning_rate():
    model, train, val, _ = drifting_regression()
    with pytest.raises(FloatingPointError, match=r"epoch \d+, batch 1 of 1.*lower learning rate.*1000"):
        fit(model, train, nn.MSELoss(), optim.SGD(model.parameters(), lr=1000.0), epochs=50, metrics=(),
            progress=False)


def test_nan_in_the_data_is_named_as_the_cause():
    X, y = make_moons(64, noise=0.1, seed=0)
    X[40, 1] = np.nan
    loader = DataLoader.from_arrays(X, y, batch_size=16)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))  # tanh passes NaN on, as torch's relu would
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 3 of 4.*inputs\[0\] contain NaN"):
        fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=1,
            progress=False)


# ---------------------------------------------------------------------- argument checks
def test_plain_arrays_get_a_pointer_to_dataloader():
    X, y = make_moons(32, seed=0)
    model = mlp(4)
    with pytest.raises(TypeError, match=r"train_loader .* pair of arrays .*\(32, 2\).*DataLoader"):
        fit(model, (X, y), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=1)
    with pytest.raises(TypeError, match="val_loader .* ndarray of shape"):
        fit(model, DataLoader.from_arrays(X, y), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
            epochs=1, val_loader=X)


def test_a_one_shot_iterator_is_refused():
    X, y = make_moons(32, seed=0)
    batches = (b for b in DataLoader.from_arrays(X, y, batch_size=8))
    model = mlp(4)
    with pytest.raises(TypeError, match="read only once"):
        fit(model, batches, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"epochs": 0}, ValueError, "epochs must be a positive int, got 0"),
    ({"metrics": ("f1",)}, ValueError, "unknown metric 'f1'"),
    ({"metrics": {"lr": accuracy}}, ValueError, "'lr' is reserved"),
    ({"callbacks": [object()]}, TypeError, "Callback, got object"),
    ({"progress": "yes"}, ValueError, "progress must be 'auto', True or False, got 'yes'"),
    ({"scheduler": object()}, TypeError, "scheduler must have a step"),
    ({"live_plot": "yes"}, TypeError, "live_plot must be True, False or a LiveLearningCurves"),
])
def test_bad_arguments_are_named(kwargs, error, message):
    _, _, train, _ = moons_loaders(32)
    model = mlp(4)
    args = {"epochs": 1, **kwargs}
    with pytest.raises(error, match=message):
        fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), **args)


def test_a_loss_that_is_not_a_scalar_is_refused():
    _, _, train, _ = moons_loaders(32)
    model = mlp(4)
    with pytest.raises(ValueError, match=r"single number.*shape \(32,\).*reduction='mean'"):
        fit(model, train, nn.CrossEntropyLoss(reduction="none"), optim.SGD(model.parameters(), lr=0.1),
            epochs=1, progress=False)


def test_accuracy_on_a_regression_target_suggests_no_metrics():
    model, train, _, optimizer = drifting_regression()
    with pytest.raises(ValueError, match=r"class labels.*metrics=\(\)"):
        fit(model, train, nn.MSELoss(), optimizer, epochs=1, progress=False)


def test_batches_must_be_pairs():
    model = mlp(4)
    with pytest.raises(TypeError, match="must yield \\(inputs, targets\\) pairs.*Tensor"):
        fit(model, [nnlearn.zeros(4, 2)], nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
            epochs=1, progress=False)


# ---------------------------------------------------------------------- callbacks
def test_hooks_run_in_the_documented_order():
    X, y = make_moons(32, seed=0)
    train = DataLoader.from_arrays(X, y, batch_size=16)
    calls = []
    hooks = {name: (lambda name: lambda s: calls.append((name, s.epoch, s.batch)))(name) for name in
             ("on_train_begin", "on_epoch_begin", "after_backward", "on_batch_end", "on_epoch_end", "on_train_end")}
    model = mlp(4)
    fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2, val_loader=train,
        callbacks=[LambdaCallback(**hooks)], progress=False)
    epoch = lambda e: [("on_epoch_begin", e, 0), ("after_backward", e, 1), ("on_batch_end", e, 1),
                       ("after_backward", e, 2), ("on_batch_end", e, 2), ("on_epoch_end", e, 2)]
    assert calls == [("on_train_begin", 0, 0), *epoch(1), *epoch(2), ("on_train_end", 2, 2)]


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="unknown hook 'on_batch_start'"):
        LambdaCallback(on_batch_start=print)


def test_a_callback_can_stop_training_after_a_batch():
    _, _, train, val = moons_loaders(100)
    batches = []

    class StopAfterTwoBatches(Callback):
        def on_batch_end(self, state):
            batches.append(state.batch)
            state.stop_training = state.batch == 2

    model = mlp(4)
    history = fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=5,
                  val_loader=val, callbacks=[StopAfterTwoBatches()], progress=False)
    assert batches == [1, 2] and len(history) == 1 and "val_loss" in history


def test_early_stopping_stops_and_restores_the_best_weights():
    model, train, val, optimizer = drifting_regression()
    snapshots = {}
    record = LambdaCallback(on_epoch_end=lambda s: snapshots.update({s.epoch: s.model.weight.data.copy()}))
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    history = fit(model, train, nn.MSELoss(), optimizer, epochs=50, val_loader=val, metrics=(),
                  callbacks=[record, stopper], progress=False)
    best = history.best("val_loss")
    assert 1 < best.epoch < len(history)  # the loss really fell, then rose
    assert stopper.best_epoch == best.epoch and stopper.best == best.value
    assert len(history) == best.epoch + 2 == stopper.stopped_epoch
    assert np.array_equal(model.weight.data, snapshots[best.epoch])
    assert not np.array_equal(model.weight.data, snapshots[len(history)])


def test_early_stopping_can_keep_the_last_weights():
    model, train, val, optimizer = drifting_regression()
    snapshots = {}
    record = LambdaCallback(on_epoch_end=lambda s: snapshots.update({s.epoch: s.model.weight.data.copy()}))
    history = fit(model, train, nn.MSELoss(), optimizer, epochs=50, val_loader=val, metrics=(),
                  callbacks=[record, EarlyStopping(patience=2, restore_best_weights=False)], progress=False)
    assert np.array_equal(model.weight.data, snapshots[len(history)])


def _feed(callback, values, monitor="val_loss"):
    """Call on_epoch_end with the given monitored values; return the epoch at which it asked to stop."""
    state = TrainState(model=None, optimizer=None, history=History(), epochs=len(values))
    callback.on_train_begin(state)
    for epoch, value in enumerate(values, start=1):
        state.epoch, state.logs = epoch, {monitor: value}
        callback.on_epoch_end(state)
        if state.stop_training:
            return epoch
    return None


def test_early_stopping_min_delta_patience_and_mode():
    losses = [1.0, 0.97, 0.96, 0.5]
    # improvements of 0.03 and 0.04 are smaller than min_delta=0.05, so epochs 2 and 3 count as no progress
    assert _feed(EarlyStopping(patience=2, min_delta=0.05, restore_best_weights=False), losses) == 3
    assert _feed(EarlyStopping(patience=2, restore_best_weights=False), losses) is None
    # accuracy is better when larger: mode "auto" knows it
    stopper = EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=False)
    assert stopper.mode == "max"
    assert _feed(stopper, [0.5, 0.8, 0.7], "val_accuracy") == 3 and stopper.best_epoch == 2
    assert _feed(EarlyStopping(patience=1, restore_best_weights=False), [1.0, math.nan]) == 2  # NaN: no progress


def test_early_stopping_names_a_missing_monitor():
    _, _, train, _ = moons_loaders(32)
    model = mlp(4)
    with pytest.raises(ValueError, match=r"monitors 'val_loss', but epoch 1 recorded only .*pass val_loader"):
        fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2,
            callbacks=[EarlyStopping()], progress=False)
    with pytest.raises(ValueError, match="pass mode='min' or mode='max'"):
        EarlyStopping(monitor="grad_norm")
    with pytest.raises(ValueError, match="patience must be an int >= 0, got -1"):
        EarlyStopping(patience=-1)


def test_gradient_clipping_bounds_the_norm_seen_by_the_optimizer():
    _, _, train, _ = moons_loaders(100)
    model, max_norm = mlp(16), 0.1

    def total_norm(state):
        return math.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum()) for p in state.model.parameters()))

    before, after = [], []
    clipper = GradientClipping(max_norm)
    callbacks = [LambdaCallback(after_backward=lambda s: before.append(total_norm(s))), clipper,
                 LambdaCallback(after_backward=lambda s: after.append(total_norm(s)))]
    history = fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5), epochs=3,
                  callbacks=callbacks, progress=False)
    assert len(after) == 3 * len(train)
    assert max(after) <= max_norm * (1 + 1e-5)
    assert max(before) > max_norm  # clipping really happened
    assert clipper.grad_norms == pytest.approx(before, rel=1e-5)  # it records the norm before clipping
    per_epoch = np.reshape(before, (3, len(train))).mean(axis=1)
    assert history["grad_norm"] == pytest.approx(per_epoch, rel=1e-5)


def test_model_checkpoint_saves_the_best_epochs_and_loads_back(tmp_path):
    model, train, val, optimizer = drifting_regression()
    snapshots = {}
    record = LambdaCallback(on_epoch_end=lambda s: snapshots.update({s.epoch: s.model.state_dict()}))
    best_only = ModelCheckpoint(tmp_path / "ckpt" / "epoch{epoch}", save_best_only=True)
    every = ModelCheckpoint(tmp_path / "last.npz")
    history = fit(model, train, nn.MSELoss(), optimizer, epochs=6, val_loader=val, metrics=(),
                  callbacks=[record, best_only, every], progress=False)
    best = history.best("val_loss")
    # the validation loss improves up to the best epoch, then only gets worse
    assert best_only.saved == [str(tmp_path / "ckpt" / f"epoch{e}.npz") for e in range(1, best.epoch + 1)]
    assert best_only.best_epoch == best.epoch and every.saved == [str(tmp_path / "last.npz")] * 6
    loaded = dict(np.load(best_only.saved[-1]))
    assert np.array_equal(loaded["weight"], snapshots[best.epoch]["weight"])
    model.load_state_dict(loaded)
    assert np.array_equal(model.weight.data, snapshots[best.epoch]["weight"])


# ---------------------------------------------------------------------- progress
def test_progress_false_prints_nothing(capsys):
    _, _, train, val = moons_loaders(64)
    model = mlp(4)
    fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2, val_loader=val,
        progress=False)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("progress", ["auto", True])
def test_progress_shows_one_bar_over_epochs_with_the_numbers(capsys, progress):
    _, _, train, val = moons_loaders(64)
    model = mlp(4)
    history = fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=2,
                  val_loader=val, progress=progress)
    err = capsys.readouterr().err
    assert "2/2" in err and f"val_loss={history['val_loss'][-1]:.4g}" in err and "accuracy=" in err


# ---------------------------------------------------------------------- evaluate and predict
def test_predict_matches_the_model_in_eval_mode_and_restores_the_mode(rng):
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 3))
    X = rng.standard_normal((50, 2)).astype(np.float32)
    model.eval()
    expected = model(nnlearn.tensor(X)).data
    model.train()
    out = predict(model, X, batch_size=7)
    assert isinstance(out, np.ndarray) and out.shape == (50, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(predict(model, nnlearn.tensor(X), batch_size=1000), expected, rtol=1e-6)
    assert model.training
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        predict(model, X, batch_size=0)


def test_evaluate_without_a_loss_reports_only_metrics():
    X, y, _, val = moons_loaders(64)
    model = mlp(4)
    scores = evaluate(model, val, None, metrics={"acc": accuracy, "labels_mean": lambda o, t: t.mean()})
    assert set(scores) == {"acc", "labels_mean"}
    assert scores["labels_mean"] == pytest.approx(y.mean())


# ---------------------------------------------------------------------- History
def test_history_columns_best_and_copies():
    history = History()
    for loss, acc in [(0.9, 0.5), (0.4, 0.8), (0.4, 0.9), (0.6, 0.7)]:
        history.append({"val_loss": loss, "val_accuracy": acc})
    assert history["val_loss"] == [0.9, 0.4, 0.4, 0.6]
    assert history.best("val_loss") == (2, 0.4)  # ties: the first epoch
    assert history.best("val_accuracy") == (3, 0.9)
    assert history.best("val_loss", mode="max") == (1, 0.9)
    columns = history.as_dict()
    columns["val_loss"].append(0.0)
    assert len(history["val_loss"]) == 4
    with pytest.raises(KeyError, match=r"'accuracy' was not recorded; the history has \['val_loss', 'val_acc"):
        history["accuracy"]
    with pytest.raises(ValueError, match="cannot tell whether a smaller or a larger 'speed'"):
        History.from_dict({"speed": [1.0]}).best("speed")


def test_history_fills_late_keys_with_nan_and_reads_back_from_dict():
    history = History()
    history.append({"loss": 1.0})
    history.append({"loss": 0.5, "grad_norm": 2.0})
    assert math.isnan(history["grad_norm"][0]) and history["grad_norm"][1] == 2.0
    assert history.metrics() == []
    again = History.from_dict({"loss": [1.0, 0.5], "accuracy": [0.1, 0.2]})
    assert again.epochs == [1, 2] and again.metrics() == ["accuracy"]
    with pytest.raises(ValueError, match="one value per epoch"):
        History.from_dict({"loss": [1.0], "accuracy": [0.1, 0.2]})


def test_history_repr_is_a_table():
    history = History.from_dict({"loss": [0.5 / (e + 1) for e in range(12)], "time": [0.25] * 12})
    text = repr(history)
    lines = text.splitlines()
    assert lines[0] == "History(12 epochs)"
    assert lines[1].split() == ["epoch", "loss", "time"]
    assert lines[2].split() == ["1", "0.5", "0.25s"]
    assert "..." in text and lines[-1].split()[0] == "12"
    assert len(lines) == 2 + 3 + 1 + 3
    assert repr(History()) == "History(0 epochs)"


# ---------------------------------------------------------------------- metrics
def test_accuracy_reads_class_scores_binary_probabilities_and_logits():
    # argmax of the rows: 0, 1, 0 against 0, 1, 1 -> 2 of 3
    assert accuracy(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), np.array([0, 1, 1])) == pytest.approx(2 / 3)
    # probabilities in [0, 1]: > 0.5 -> 0, 1, 1 against 0, 1, 0 -> 2 of 3; (N, 1) and Tensors the same
    probs, y = np.array([0.2, 0.7, 0.9]), np.array([0, 1, 0])
    assert accuracy(probs, y) == accuracy(probs[:, None], y[:, None]) == pytest.approx(2 / 3)
    assert accuracy(nnlearn.tensor(probs), nnlearn.tensor(y)) == pytest.approx(2 / 3)
    # a score outside [0, 1] means logits: > 0 -> 0, 1, 0 (a logit of exactly 0 is class 0)
    assert list(to_labels(np.array([-3.0, 2.0, 0.0]))) == [0, 1, 0]
    assert list(to_labels(np.array([0.2, 0.7]), from_logits=True)) == [1, 1]
    assert accuracy(np.array([1, 2, 2]), np.array([1, 2, 0])) == pytest.approx(2 / 3)  # labels as they are
    assert accuracy(probs, np.array([0.0, 1.0, 0.0])) == pytest.approx(2 / 3)  # BCE-style float targets
    one_hot = np.eye(2)[[0, 1, 1]]
    assert accuracy(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), one_hot) == pytest.approx(2 / 3)


def test_metrics_reject_bad_targets_with_the_shapes():
    with pytest.raises(ValueError, match=r"same number of samples: output has shape \(3, 2\), target has "
                                         r"shape \(2,\)"):
        accuracy(np.zeros((3, 2)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="class labels .* got the value 0.5"):
        accuracy(np.zeros(2), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"output must have shape \(N, C\), \(N, 1\) or \(N,\), got shape"):
        accuracy(np.zeros((2, 2, 2)), np.zeros(2, dtype=int))
    with pytest.raises(TypeError, match="output must hold numbers"):
        accuracy(np.array(["a", "b"]), np.zeros(2, dtype=int))


def test_confusion_matrix_precision_recall_match_scikit_learn(rng):
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn not installed: parity skipped")
    scores = rng.standard_normal((60, 3))
    y = rng.integers(0, 3, 60)
    predicted = scores.argmax(axis=1)
    np.testing.assert_array_equal(confusion_matrix(scores, y), metrics.confusion_matrix(y, predicted))
    for average in ("macro", None):
        np.testing.assert_allclose(precision(scores, y, average=average),
                                   metrics.precision_score(y, predicted, average=average, zero_division=0))
        np.testing.assert_allclose(recall(scores, y, average=average),
                                   metrics.recall_score(y, predicted, average=average, zero_division=0))
    logits, yb = rng.standard_normal(40), rng.integers(0, 2, 40)
    assert precision(logits, yb) == pytest.approx(metrics.precision_score(yb, logits > 0))
    assert recall(logits, yb) == pytest.approx(metrics.recall_score(yb, logits > 0))
    with pytest.raises(ValueError, match="needs a two-class problem, found 3 classes; pass average='macro'"):
        precision(scores, y)


def test_precision_of_a_class_never_predicted_is_zero():
    # every prediction is class 0: class 1 has TP = FP = 0, counted as 0 (scikit-learn's zero_division=0)
    assert precision(np.array([0, 0, 0]), np.array([0, 1, 1])) == 0.0
    assert confusion_matrix(np.array([0, 0, 0]), np.array([0, 1, 1]), num_classes=3).tolist() == \
        [[1, 0, 0], [2, 0, 0], [0, 0, 0]]
