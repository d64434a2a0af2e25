"""nnlearn.viz.loss_surfaces and nnlearn.viz.optimizer_race: the test functions, the racers, the figure and
the widget (Agg backend; the widget's controls are set programmatically)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import nnlearn
from nnlearn import nn, optim
from nnlearn.testing import gradcheck
from nnlearn.viz.loss_surfaces import SURFACES, ill_conditioned_bowl, rosenbrock, saddle
from nnlearn.viz.optimizer_race import (DEFAULT_LRS, OPTIMIZERS, OptimizerRace, make_optimizer, plot_race,
                                        trajectory)

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------- the surfaces
@pytest.mark.parametrize("name", sorted(SURFACES))
def test_surface_gradient_matches_autograd_and_finite_differences(name, rng):
    surface = SURFACES[name]
    for point in rng.uniform(-1.5, 1.5, size=(4, 2)):
        p = nnlearn.tensor(point.copy(), requires_grad=True)
        assert gradcheck(surface.loss, [p], tol=1e-6), f"{name} at {point}"
        p.grad = None
        surface.loss(p).backward()
        np.testing.assert_allclose(p.grad, surface.gradient(*point), rtol=1e-10, atol=1e-10,
                                   err_msg=f"hand-written gradient of {name} at {point}")


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_surface_minima_are_minima(name, rng):
    surface = SURFACES[name]
    for mx, my in surface.minima:
        np.testing.assert_allclose(surface.gradient(mx, my), (0.0, 0.0), atol=1e-12)
        nearby = rng.normal(scale=0.05, size=(50, 2)) + (mx, my)
        assert np.all(surface.value(nearby[:, 0], nearby[:, 1]) >= surface.value(mx, my))


def test_surface_values_by_hand():
    assert rosenbrock(1.0, 1.0) == 0.0
    assert rosenbrock(0.0, 0.0) == 1.0                      # (1 - 0)^2 + 100 (0 - 0)^2
    assert saddle(0.0, 0.0) == 0.25                         # the saddle point: 0 + (0 - 1)^2 / 4
    assert saddle(0.0, 1.0) == 0.0
    # along the bowl's steep axis v = (-sin 30°, cos 30°) at distance 1: condition / 2 = 25
    assert ill_conditioned_bowl(-0.5, math.sqrt(3) / 2) == pytest.approx(25.0)
    assert ill_conditioned_bowl(math.sqrt(3) / 2, 0.5) == pytest.approx(0.5)  # along u: 1 / 2


def test_surface_grid_levels_and_loss_checks():
    surface = SURFACES["saddle"]
    X, Y, Z = surface.grid(30)
    assert X.shape == Y.shape == Z.shape == (30, 30)
    levels = surface.levels(10)
    assert levels.shape == (11,) and np.all(np.diff(levels) > 0)
    with pytest.raises(ValueError, match=r"p must have shape \(2,\).*got shape \(3,\)"):
        surface.loss(nnlearn.zeros(3))
    with pytest.raises(TypeError, match="p must be a Tensor of shape"):
        surface.loss(np.zeros(2))
    with pytest.raises(ValueError, match="resolution must be an int >= 2, got 1"):
        surface.grid(1)


# ---------------------------------------------------------------------- racing
def test_trajectory_is_the_real_optimizer_on_a_two_element_parameter():
    surface = SURFACES["rosenbrock"]
    path = trajectory("rosenbrock", "Nesterov", lr=1e-3, steps=25)
    # the same steps written out with the library's own SGD, the gradient from autograd
    p = nn.Parameter(np.array(surface.start))
    opt = optim.SGD([p], lr=1e-3, momentum=0.9, nesterov=True)
    expected = [p.data.copy()]
    for _ in range(25):
        opt.zero_grad()
        surface.loss(p).backward()
        opt.step()
        expected.append(p.data.copy())
    assert path.shape == (26, 2) and path.dtype == np.float64
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-12, atol=1e-14)


def test_plain_gradient_descent_step_by_hand():
    # one SGD step from the bowl's start: p1 = p0 - lr * grad(p0)
    surface = SURFACES["bowl"]
    path = trajectory("bowl", "SGD", lr=0.01, steps=1)
    g = np.array(surface.gradient(*surface.start))
    np.testing.assert_allclose(path[1], np.array(surface.start) - 0.01 * g, rtol=1e-12)


def test_trajectory_stops_when_a_racer_diverges():
    # on the bowl, plain gradient descent diverges when lr > 2 / condition = 0.04: |1 - lr * 50| > 1
    path = trajectory("bowl", "SGD", lr=0.1, steps=500)
    assert len(path) < 501
    assert np.abs(path[-1]).max() > 1e3 or not np.all(np.isfinite(path[-1]))
    assert len(trajectory("bowl", "SGD", lr=0.03, steps=500)) == 501


def test_every_default_racer_makes_progress():
    for name, surface in SURFACES.items():
        start_loss = surface.value(*surface.start)
        for racer in OPTIMIZERS:
            path = trajectory(name, racer, steps=100)
            assert len(path) == 101, f"{racer} diverged on {name} at its default lr {DEFAULT_LRS[name][racer]}"
            assert surface.value(*path[-1]) < start_loss, f"{racer} did not go downhill on {name}"


def test_make_optimizer_and_argument_checks():
    p = nn.Parameter(np.zeros(2))
    opt = make_optimizer("Nesterov", [p], 0.01)
    assert isinstance(opt, optim.SGD) and opt.param_groups[0]["nesterov"] and opt.param_groups[0]["momentum"] == 0.9
    assert isinstance(make_optimizer("Adam", [p], 0.1), optim.Adam)
    with pytest.raises(ValueError, match=r"optimizer must be one of \['SGD'.*got 'LBFGS'"):
        trajectory("bowl", "LBFGS")
    with pytest.raises(ValueError, match="surface must be one of .*got 'himmelblau'"):
        trajectory("himmelblau", "SGD")
    with pytest.raises(ValueError, match="lr must be a positive number, got -0.1"):
        trajectory("bowl", "SGD", lr=-0.1)
    with pytest.raises(ValueError, match="steps must be an int >= 0, got 2.5"):
        trajectory("bowl", "SGD", steps=2.5)
    with pytest.raises(ValueError, match=r"start must be two finite numbers \(x, y\), got \(1.0, 2.0, 3.0\)"):
        trajectory("bowl", "SGD", start=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match=r"racers\['Adam'\] must be a positive number, got 0"):
        plot_race("bowl", {"Adam": 0})


# ---------------------------------------------------------------------- the static figure
def test_plot_race_draws_one_path_and_one_loss_curve_per_racer():
    fig = plot_race("saddle", {"SGD": 0.05, "Adam": 0.05}, steps=30)
    ax_path, ax_loss = fig.axes[:2]
    paths = [line for line in ax_path.lines if not line.get_label().startswith("_")]
    assert [line.get_label() for line in paths] == ["SGD (lr=0.05)", "Adam (lr=0.05)"]
    np.testing.assert_allclose(paths[0].get_xydata(), trajectory("saddle", "SGD", 0.05, 30))
    curves = [line for line in ax_loss.lines if not line.get_label().startswith("_")]
    assert len(curves) == 2 and len(curves[0].get_xdata()) == 31
    assert ax_loss.get_yscale() == "log"


# ---------------------------------------------------------------------- the widget
def race_lines(race):
    """{label: (k, 2) path} of the trajectories drawn in the widget's contour panel."""
    ax = race.figure.axes[0]
    return {line.get_label().split(" ")[0]: line.get_xydata().copy() for line in ax.lines
            if not line.get_label().startswith("_")}


def test_widget_default_state_is_drawn():
    race = OptimizerRace("rosenbrock", racers=["SGD", "Adam"], steps=40)
    lines = race_lines(race)
    assert set(lines) == {"SGD", "Adam"}
    np.testing.assert_allclose(lines["Adam"], trajectory("rosenbrock", "Adam", DEFAULT_LRS["rosenbrock"]["Adam"], 40))
    assert "rosenbrock" in race.figure.axes[0].get_title()
    assert race.show_static() is race.figure
    assert "OptimizerRace(surface='rosenbrock', steps=40" in repr(race)


def test_widget_controls_change_the_plot():
    pytest.importorskip("ipywidgets")
    race = OptimizerRace("bowl", racers=["SGD", "Momentum"], steps=30)
    before = race_lines(race)

    race.steps_slider.value = 60                                 # more steps: longer paths
    after_steps = race_lines(race)
    assert race.steps == 60 and len(after_steps["SGD"]) == 61 and len(before["SGD"]) == 31

    race.lr_sliders["Momentum"].value = 0.002                    # a smaller step: a different path
    after_lr = race_lines(race)
    assert race.racers["Momentum"] == pytest.approx(0.002)
    assert not np.allclose(after_lr["Momentum"], after_steps["Momentum"])
    np.testing.assert_allclose(after_lr["SGD"], after_steps["SGD"])  # the other racer is unchanged

    race.checkboxes["Adam"].value = True                         # a new racer joins ...
    race.checkboxes["SGD"].value = False                         # ... and one leaves
    assert set(race_lines(race)) == {"Momentum", "Adam"}

    race.surface_dropdown.value = "saddle"                       # a new surface: its own default learning rates
    lines = race_lines(race)
    assert race.surface == "saddle" and "saddle" in race.figure.axes[0].get_title()
    assert race.lr_sliders["Momentum"].value == pytest.approx(DEFAULT_LRS["saddle"]["Momentum"])
    np.testing.assert_allclose(lines["Adam"], trajectory("saddle", "Adam", DEFAULT_LRS["saddle"]["Adam"], 60))


def test_widget_select_keeps_the_controls_in_step():
    pytest.importorskip("ipywidgets")
    race = OptimizerRace("saddle", racers=["Adam"], steps=20)
    race.select(racers=["RMSprop", "Adagrad"], lrs={"RMSprop": 0.05}, steps=50)
    assert race.checkboxes["RMSprop"].value and race.checkboxes["Adagrad"].value
    assert not race.checkboxes["Adam"].value
    assert race.lr_sliders["RMSprop"].value == pytest.approx(0.05) and race.steps_slider.value == 50
    assert set(race_lines(race)) == {"Adagrad", "RMSprop"}
    race.select(racers=[])
    assert race_lines(race) == {}
    with pytest.raises(ValueError, match=r"lrs\['Adam'\] must be a positive number, got -1"):
        race.select(lrs={"Adam": -1})
    with pytest.raises(ValueError, match=r"optimizer must be one of .*got 'Adamax'"):
        OptimizerRace(racers=["Adamax"])
