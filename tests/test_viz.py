"""nnlearn.viz: learning-curve plots, decision boundaries and the live learning curves (Agg backend)."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import nn, optim
from nnlearn.data import DataLoader, make_blobs, make_moons
from nnlearn.train import History, fit
from nnlearn.viz import LiveLearningCurves, in_notebook_kernel, plot_decision_boundary, plot_history

plt = pytest.importorskip("matplotlib.pyplot")
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def moons():
    X, y = make_moons(100, noise=0.1, seed=0)
    return X, y, DataLoader.from_arrays(X, y, batch_size=32, shuffle=True), DataLoader.from_arrays(X, y, batch_size=100)


def small_fit(moons, epochs=3, **kwargs):
    _, _, train, val = moons
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    kwargs.setdefault("val_loader", val)
    history = fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=epochs,
                  progress=False, **kwargs)
    return model, history


def legend_labels(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


# ---------------------------------------------------------------------- plot_history
def test_plot_history_draws_a_loss_panel_and_one_per_metric(moons):
    _, history = small_fit(moons, metrics=("accuracy", "recall"))
    fig = plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy", "recall"]
    for ax, name in zip(fig.axes, ["loss", "accuracy", "recall"]):
        train, val = ax.get_lines()
        assert list(train.get_xdata()) == [1, 2, 3]
        np.testing.assert_array_equal(train.get_ydata(), history[name])
        np.testing.assert_array_equal(val.get_ydata(), history[f"val_{name}"])
        assert legend_labels(ax) == ["train", "validation"]
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == name


def test_plot_history_without_validation_and_with_chosen_panels(moons):
    _, history = small_fit(moons, val_loader=None)
    fig = plot_history(history)
    assert len(fig.axes) == 2 and all(len(ax.get_lines()) == 1 for ax in fig.axes)
    assert len(plot_history(history, metrics=[]).axes) == 1
    fig = plot_history(history, metrics=["lr"])
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "lr"]
    with pytest.raises(ValueError, match="cannot plot 'recall': it was not recorded"):
        plot_history(history, metrics=["recall"])


def test_plot_history_draws_into_given_axes_and_accepts_a_dict():
    fig, axes = plt.subplots(1, 2)
    out = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]}, ax=axes)
    assert out is fig and len(axes[0].get_lines()) == 2 and len(axes[1].get_lines()) == 1
    with pytest.raises(ValueError, match=r"one Axes per panel: 2 panels \(loss, accuracy\), got 1 Axes"):
        plot_history({"loss": [1.0], "accuracy": [0.5]}, ax=axes[0])
    with pytest.raises(ValueError, match="no epochs to plot"):
        plot_history(History())
    with pytest.raises(TypeError, match="history must be a History"):
        plot_history([1.0, 0.5])


# ---------------------------------------------------------------------- plot_decision_boundary
def _contour_sets(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def test_decision_boundary_of_a_known_binary_model_sits_where_the_logit_is_zero():
    # logit = x1 - 0.25: P(class 1) = 0.5 exactly on the vertical line x1 = 0.25
    model = nn.Linear(2, 1)
    model.load_state_dict({"weight": np.array([[1.0, 0.0]], np.float32), "bias": np.array([-0.25], np.float32)})
    X, y = make_moons(60, noise=0.1, seed=0)
    fig = plot_decision_boundary(model, X, y, resolution=50)
    (ax,) = fig.axes
    filled, line = _contour_sets(ax)
    assert filled.filled and not line.filled and list(line.levels) == [0.5]
    segments = np.concatenate(line.allsegs[0])
    np.testing.assert_allclose(segments[:, 0], 0.25, atol=1e-4)  # x stays 0.25 ...
    assert np.ptp(segments[:, 1]) > np.ptp(X[:, 1])  # ... along the whole height of the data
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(points.get_offsets(), X)
    assert ax.get_xlabel() == "$x_1$"


def test_decision_boundary_for_three_classes_colours_regions_and_restores_the_mode():
    X, y = make_blobs(90, centers=3, seed=0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 3))
    fig = plot_decision_boundary(model, nnlearn.tensor(X), nnlearn.tensor(y), resolution=30)
    (regions,) = _contour_sets(fig.axes[0])
    assert list(regions.levels) == [-0.5, 0.5, 1.5, 2.5]
    assert model.training


def test_decision_boundary_draws_into_a_given_axes_after_training(moons):
    X, y, _, _ = moons
    model, _ = small_fit(moons)
    fig, ax = plt.subplots()
    assert plot_decision_boundary(model, X, y, ax=ax, resolution=20) is fig


@pytest.mark.parametrize("X, y, resolution, message", [
    (np.zeros((5, 3)), np.zeros(5, int), 10, r"X must be numeric with shape \(N, 2\).*got shape \(5, 3\)"),
    (np.zeros((5, 2)), np.zeros(4, int), 10, r"y must have shape \(N,\) = \(5,\) to match X, got shape \(4,\)"),
    (np.zeros((5, 2)), np.zeros(5, int), 1, "resolution must be an int >= 2, got 1"),
])
def test_decision_boundary_rejects_bad_input(X, y, resolution, message):
    with pytest.raises(ValueError, match=message):
        plot_decision_boundary(nn.Linear(2, 2), X, y, resolution=resolution)


# ---------------------------------------------------------------------- LiveLearningCurves
def test_live_curves_outside_a_notebook_draw_the_final_figure_once(moons, capsys):
    assert not in_notebook_kernel()
    live = LiveLearningCurves(min_interval=0)
    _, history = small_fit(moons, epochs=3, live_plot=live)
    assert live.frames == 0  # nothing drawn while training
    assert [ax.get_title() for ax in live.figure.axes] == ["loss", "accuracy"]
    np.testing.assert_array_equal(live.figure.axes[0].get_lines()[1].get_ydata(), history["val_loss"])
    assert plt.get_fignums() == [live.figure.number]  # one figure, managed by pyplot (plt.show() shows it)
    assert capsys.readouterr() == ("", "")


def test_live_plot_true_makes_its_own_callback(moons):
    small_fit(moons, epochs=2, live_plot=True)
    assert len(plt.get_fignums()) == 1
    with pytest.raises(ValueError, match="min_interval must be a number of seconds >= 0"):
        LiveLearningCurves(min_interval=-1)


NOTEBOOK_CODE = """
import nnlearn
from nnlearn import nn, optim
from nnlearn.data import make_moons, DataLoader
from nnlearn.train import fit
from nnlearn.viz import LiveLearningCurves
X, y = make_moons(64, noise=0.1, seed=0)
loader = DataLoader.from_arrays(X, y, batch_size=32)
model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
live = LiveLearningCurves(min_interval=0)
fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), epochs=3, live_plot=live,
    progress=False)
print(live.frames)
"""


def test_live_curves_in_a_kernel_update_a_widget_then_leave_a_static_image():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_CODE)])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    widget, image, printed = outputs
    model_id = widget["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert "image/png" in image["data"]
    assert printed["text"].strip() == "3"  # one frame per epoch
    # the widget was emptied at the end, so a rendered page shows the curves once, as the static image
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"][model_id]
    assert state["model_name"] == "OutputModel" and state["state"]["outputs"] == []
