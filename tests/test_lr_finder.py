"""nnlearn.train.lr_finder: the learning-rate range test, its bookkeeping, and that it leaves no trace."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
import nnlearn.functional as F
from nnlearn import nn, optim
from nnlearn.data import DataLoader, make_moons
from nnlearn.train.lr_finder import LRFinder


@pytest.fixture
def loader():
    X, y = make_moons(96, noise=0.2, seed=0)
    return DataLoader.from_arrays(X, y, batch_size=16, shuffle=True, seed=0)  # 6 batches


def make_model():
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))


def snapshot(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def test_range_test_records_one_entry_per_step_and_grows_lr_geometrically(loader):
    model = make_model()
    finder = LRFinder(model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    history = finder.range_test(loader, start_lr=1e-4, end_lr=1e-1, num_iter=20)  # 20 steps > 6 batches: cycles
    assert history is finder.history
    assert len(history["lr"]) == len(history["loss"]) == len(history["raw_loss"]) == 20
    lrs = np.array(history["lr"])
    assert lrs[0] == pytest.approx(1e-4) and lrs[-1] == pytest.approx(1e-1)
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], (1e3) ** (1 / 19))  # a constant ratio per step


def test_linear_step_mode(loader):
    model = make_model()
    finder = LRFinder(model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    history = finder.range_test(loader, start_lr=0.01, end_lr=0.1, num_iter=10, step_mode="linear")
    np.testing.assert_allclose(np.diff(history["lr"]), 0.01)


def test_loss_is_an_exponential_moving_average_of_the_batch_losses(loader):
    model = make_model()
    finder = LRFinder(model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    history = finder.range_test(loader, start_lr=1e-3, end_lr=1e-2, num_iter=12, smooth_f=0.3)
    raw, smooth = history["raw_loss"], history["loss"]
    assert smooth[0] == raw[0]
    for i in range(1, 12):
        assert smooth[i] == pytest.approx(0.3 * raw[i] + 0.7 * smooth[i - 1])


def test_each_step_uses_its_learning_rate(loader):
    seen = []

    class Spy(optim.SGD):
        def step(self, closure=None):
            seen.append(self.param_groups[0]["lr"])
            return super().step(closure)

    model = make_model()
    finder = LRFinder(model, Spy(model.parameters(), lr=0.5), F.cross_entropy)
    finder.range_test(loader, start_lr=1e-3, end_lr=1.0, num_iter=8)
    np.testing.assert_allclose(seen, finder.history["lr"])


def test_state_is_restored_after_the_test(loader):
    model = make_model()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    # one ordinary step first, so the optimizer has momentum buffers that the test must not change
    xb, yb = next(iter(loader))
    F.cross_entropy(model(xb), yb).backward()
    optimizer.step()
    model.eval()
    weights, opt_state = snapshot(model), optimizer.state_dict()
    LRFinder(model, optimizer, F.cross_entropy).range_test(loader, start_lr=1e-3, end_lr=1.0, num_iter=15)
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, weights[key], err_msg=key)
    assert optimizer.param_groups[0]["lr"] == 0.05
    after = optimizer.state_dict()["state"]
    for index, state in opt_state["state"].items():
        np.testing.assert_array_equal(after[index]["momentum_buffer"], state["momentum_buffer"])
    assert not model.training and not any(m.training for m in model.modules())


def test_state_is_restored_when_the_loss_raises(loader):
    model = make_model()
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    weights = snapshot(model)
    calls = []

    def failing_loss(output, target):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("boom")
        return F.cross_entropy(output, target)

    with pytest.raises(RuntimeError, match="boom"):
        LRFinder(model, optimizer, failing_loss).range_test(loader, start_lr=0.1, end_lr=1.0, num_iter=10)
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, weights[key], err_msg=key)
    assert optimizer.param_groups[0]["lr"] == 0.05


def test_stops_early_when_the_loss_diverges(loader):
    model = make_model()
    finder = LRFinder(model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    history = finder.range_test(loader, start_lr=1e-2, end_lr=1e6, num_iter=200)
    assert 5 < len(history["lr"]) < 200
    assert history["loss"][-1] > 5 * min(history["loss"]) or not np.isfinite(history["raw_loss"][-1])
    assert all(np.isfinite(history["raw_loss"]))  # a NaN or inf loss ends the test and is not recorded


def test_start_lr_defaults_to_the_optimizers(loader):
    model = make_model()
    finder = LRFinder(model, optim.SGD(model.parameters(), lr=3e-3), F.cross_entropy)
    assert finder.range_test(loader, num_iter=3, end_lr=0.1)["lr"][0] == pytest.approx(3e-3)


def test_suggestion_is_the_steepest_point_of_the_curve():
    model = make_model()
    finder = LRFinder(model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    lrs = np.logspace(-5, 1, 61)
    # loss falls fastest (slope -2 per decade) where log10(lr) = -2, i.e. lr = 1e-2
    finder.history = {"lr": list(lrs), "loss": list(1 - np.tanh(2 * (np.log10(lrs) + 2))), "raw_loss": []}
    assert finder.suggestion(skip_start=0, skip_end=0) == pytest.approx(1e-2)
    assert finder.suggestion(skip_start=40, skip_end=0) == pytest.approx(lrs[40])  # the window excludes 1e-2


def test_plot_draws_the_smoothed_loss(loader):
    plt = pytest.importorskip("matplotlib.pyplot")
    model = make_model()
    finder = LRFinder(model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy)
    finder.range_test(loader, start_lr=1e-4, end_lr=1.0, num_iter=30)
    ax = finder.plot(skip_start=5, skip_end=2)
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(x, finder.history["lr"][5:-2])
    np.testing.assert_allclose(y, finder.history["loss"][5:-2])
    assert ax.get_xscale() == "log"
    marked = ax.collections[0].get_offsets()[0]
    assert marked[0] == pytest.approx(finder.suggestion(5, 2))
    plt.close("all")


@pytest.mark.parametrize("kwargs, message", [
    (dict(start_lr=1.0, end_lr=0.1), "end_lr must be larger than start_lr, got start_lr=1, end_lr=0.1"),
    (dict(start_lr=-1.0), "start_lr must be a finite number > 0, got -1.0"),
    (dict(num_iter=1), "num_iter must be an int >= 2, got 1"),
    (dict(step_mode="cos"), "step_mode must be 'exp' or 'linear', got 'cos'"),
    (dict(smooth_f=1.0), r"smooth_f must be a number in \[0, 1\), got 1.0"),
    (dict(diverge_th=1), "diverge_th must be a number > 1, got 1"),
])
def test_range_test_bad_arguments(loader, kwargs, message):
    model = make_model()
    with pytest.raises(ValueError, match=message):
        LRFinder(model, optim.SGD(model.parameters(), lr=0.1), F.cross_entropy).range_test(loader, **kwargs)


def test_bad_construction_and_reading_before_running(loader):
    model = make_model()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        LRFinder(lambda x: x, optimizer, F.cross_entropy)
    with pytest.raises(TypeError, match="optimizer must be an optimizer with param_groups"):
        LRFinder(model, None, F.cross_entropy)
    with pytest.raises(TypeError, match="criterion must be a loss function"):
        LRFinder(model, optimizer, "cross_entropy")
    finder = LRFinder(model, optimizer, F.cross_entropy)
    with pytest.raises(ValueError, match="no range test has run yet"):
        finder.suggestion()
    with pytest.raises(TypeError, match="train_loader must be an iterable of"):
        finder.range_test(np.zeros((4, 2)))
    finder.range_test(loader, start_lr=1e-3, end_lr=1e-2, num_iter=5)
    with pytest.raises(ValueError, match="only 0 steps are left after skipping skip_start=10 and skip_end=5 of 5"):
        finder.suggestion()
