"""nnlearn.train.profiling: phase timings and cProfile statistics of a training run.

Each phase is tested with a component made slow on purpose (``time.sleep`` in the loader, the loss, the
backward pass or the optimizer): the slowed phase must account for at least the time slept and be the
largest phase.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import nnlearn
from nnlearn import nn, optim
from nnlearn.autograd import Function
from nnlearn.data import DataLoader
from nnlearn.train import EarlyStopping, fit
from nnlearn.train.profiling import PHASES, FunctionStat, TrainingProfile, profile_fit

PAUSE = 0.01         # seconds slept per call by a slowed component
N, BATCH = 48, 16    # 3 batches per epoch
EPOCHS = 2


def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    return X, y


def loaders(seed=0):
    X, y = data()
    return DataLoader.from_arrays(X, y, batch_size=BATCH, shuffle=True, seed=seed), \
        DataLoader.from_arrays(X, y, batch_size=N)


def model_and_optimizer(optimizer_class=optim.SGD):
    nnlearn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, optimizer_class(model.parameters(), lr=0.1)


class SlowLoader:
    """A loader whose every batch takes PAUSE seconds to arrive (as from a slow disk)."""

    def __init__(self, loader):
        self.loader = loader

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            time.sleep(PAUSE)
            yield batch


def slow_loss(output, target):
    time.sleep(PAUSE)
    return nnlearn.functional.cross_entropy(output, target)


class SlowBackwardIdentity(Function):
    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):
        time.sleep(PAUSE)
        return (grad,)


class SlowBackward(nn.Module):
    def forward(self, x):
        return SlowBackwardIdentity.apply(x)


class SlowSGD(optim.SGD):
    def step(self, closure=None):
        time.sleep(PAUSE)
        return super().step(closure)


def check_phases(profile: TrainingProfile, steps: int):
    assert list(profile.phases) == list(PHASES)
    assert all(seconds >= 0 for seconds in profile.phases.values())
    assert sum(profile.phases.values()) == pytest.approx(profile.wall_time, rel=1e-9, abs=1e-9)
    assert profile.steps == steps


# ---------------------------------------------------------------------- each phase measured where it happens
@pytest.mark.parametrize("slow, phase", [("loader", "data"), ("loss", "forward"), ("backward", "backward"),
                                         ("optimizer", "optimizer")])
def test_the_slowed_component_shows_in_its_phase(slow, phase):
    train, _ = loaders()
    model, optimizer = model_and_optimizer(SlowSGD if slow == "optimizer" else optim.SGD)
    if slow == "backward":
        model = nn.Sequential(model, SlowBackward())
    profile = profile_fit(model, SlowLoader(train) if slow == "loader" else train,
                          slow_loss if slow == "loss" else nnlearn.functional.cross_entropy, optimizer, EPOCHS,
                          cprofile=False)
    steps = EPOCHS * len(train)
    check_phases(profile, steps)
    assert profile.phases[phase] >= steps * PAUSE, profile.phase_table()
    assert max(profile.phases, key=profile.phases.get) == phase, profile.phase_table()
    assert profile.stats is None


def test_validation_is_its_own_phase_and_zero_without_a_val_loader():
    train, val = loaders()
    model, optimizer = model_and_optimizer()
    without = profile_fit(model, train, nnlearn.functional.cross_entropy, optimizer, EPOCHS, cprofile=False)
    assert without.phases["validation"] == 0.0
    val_pause = 10 * PAUSE

    def slow_validation_loss(output, target):  # slow only where fit evaluates (gradients off)
        if not nnlearn.is_grad_enabled():
            time.sleep(val_pause)
        return nnlearn.functional.cross_entropy(output, target)

    with_val = profile_fit(model, train, slow_validation_loss, optimizer, EPOCHS, val_loader=SlowLoader(val),
                           cprofile=False)
    # validation: each epoch reads one slow batch and calls the slow loss once
    assert with_val.phases["validation"] >= EPOCHS * (val_pause + PAUSE), with_val.phase_table()
    # the loss calls of validation are not counted as training forward time
    assert with_val.phases["forward"] < EPOCHS * val_pause, with_val.phase_table()
    assert "val_loss" in with_val.history


# ---------------------------------------------------------------------- the training itself is unchanged
def test_profiled_training_is_the_same_training():
    train, val = loaders(seed=5)
    model, optimizer = model_and_optimizer(optim.Adam)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    plain = fit(model, train, nnlearn.functional.cross_entropy, optimizer, 3, val_loader=val, scheduler=scheduler,
                progress=False)
    weights = [p.data.copy() for p in model.parameters()]

    train, val = loaders(seed=5)
    model, optimizer = model_and_optimizer(optim.Adam)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    profile = profile_fit(model, train, nnlearn.functional.cross_entropy, optimizer, 3, val_loader=val,
                          scheduler=scheduler)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert profile.history[key] == plain[key], key
    assert profile.history["lr"] == [0.1, 0.05, 0.025]
    for before, after in zip(weights, model.parameters()):
        np.testing.assert_array_equal(before, after.data)


def test_callbacks_still_work_and_early_stopping_ends_the_run():
    train, val = loaders()
    model, optimizer = model_and_optimizer()
    # epoch 1 improves on "nothing yet"; no later epoch can beat it by 1e9, so patience 0 stops at epoch 2
    stopper = EarlyStopping(monitor="val_loss", patience=0, min_delta=1e9)
    profile = profile_fit(model, train, nnlearn.functional.cross_entropy, optimizer, 10, val_loader=val,
                          callbacks=[stopper], cprofile=False)
    assert len(profile.history) == 2 and profile.steps == 2 * len(train)
    assert stopper.stopped_epoch == 2


# ---------------------------------------------------------------------- cProfile's view
def test_cprofile_finds_the_function_that_takes_the_time():
    train, _ = loaders()
    model, optimizer = model_and_optimizer()
    # a first run pays one-time costs (lazy imports, first calls) that would otherwise crowd the table
    profile_fit(model, train, nnlearn.functional.cross_entropy, optimizer, 1, cprofile=False)
    profile = profile_fit(model, SlowLoader(train), nnlearn.functional.cross_entropy, optimizer, EPOCHS)
    top = profile.top_functions(3)
    assert all(isinstance(row, FunctionStat) for row in top) and len(top) == 3
    sleeps = [row for row in top if "sleep" in row.function]
    assert sleeps, f"time.sleep should be among the 3 functions with the most own time:\n{profile.top_table()}"
    assert sleeps[0].ncalls == EPOCHS * len(train)
    assert sleeps[0].tottime >= EPOCHS * len(train) * PAUSE
    assert [row.tottime for row in top] == sorted((row.tottime for row in top), reverse=True)
    by_cumulative = profile.top_functions(5, sort="cumtime")
    assert any("fit.py" in row.function and "(fit)" in row.function for row in by_cumulative)
    table = profile.top_table(3).splitlines()
    assert table[0].split() == ["ncalls", "tottime", "cumtime", "function"] and len(table) == 4
    text = repr(profile)
    assert "phase" in text and "top functions" in text
    assert 0.0 < profile.data_fraction < 1.0
    assert profile.compute_time == pytest.approx(sum(profile.phases[p] for p in ("forward", "backward", "optimizer")))


def test_phase_table_lists_every_phase_and_the_total():
    train, _ = loaders()
    model, optimizer = model_and_optimizer()
    profile = profile_fit(model, train, nnlearn.functional.cross_entropy, optimizer, 1, cprofile=False)
    lines = profile.phase_table().splitlines()
    assert [line.split()[0] for line in lines] == ["phase", *PHASES, "total"]
    assert float(lines[-1].split()[1]) == pytest.approx(profile.wall_time, abs=1e-3)


# ---------------------------------------------------------------------- bad input
def test_bad_arguments_get_clear_messages():
    X, y = data()
    train, _ = loaders()
    model, optimizer = model_and_optimizer()
    ce = nnlearn.functional.cross_entropy
    with pytest.raises(TypeError, match=r"train_loader must be an iterable of \(inputs, targets\) batches, got a "
                                        r"pair of arrays"):
        profile_fit(model, (X, y), ce, optimizer, 1)
    with pytest.raises(TypeError, match=r"val_loader is an iterator"):
        profile_fit(model, train, ce, optimizer, 1, val_loader=iter(train))
    with pytest.raises(TypeError, match=r"optimizer must have zero_grad\(\) and step\(\)"):
        profile_fit(model, train, ce, object(), 1)
    with pytest.raises(TypeError, match=r"loss_fn must be callable"):
        profile_fit(model, train, "cross_entropy", optimizer, 1)
    with pytest.raises(TypeError, match=r"cprofile must be True or False, got 'yes'"):
        profile_fit(model, train, ce, optimizer, 1, cprofile="yes")
    with pytest.raises(ValueError, match=r"live_plot=False"):
        profile_fit(model, train, ce, optimizer, 1, live_plot=True)
    with pytest.raises(TypeError, match=r"callbacks must be a list of Callback objects, got EarlyStopping"):
        profile_fit(model, train, ce, optimizer, 1, callbacks=EarlyStopping())
    with pytest.raises(ValueError, match=r"epochs must be a positive int, got 0"):
        profile_fit(model, train, ce, optimizer, 0)
    profile = profile_fit(model, train, ce, optimizer, 1)
    with pytest.raises(ValueError, match=r"sort must be one of \('tottime', 'cumtime', 'ncalls'\), got 'time'"):
        profile.top_functions(5, sort="time")
    with pytest.raises(ValueError, match=r"n must be an int >= 1, got 0"):
        profile.top_functions(0)
    quick = profile_fit(model, train, ce, optimizer, 1, cprofile=False)
    with pytest.raises(RuntimeError, match=r"cprofile=False"):
        quick.top_functions()
