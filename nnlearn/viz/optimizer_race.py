"""The optimizer race: the real :mod:`nnlearn.optim` optimizers side by side on a 2-D loss surface.

Each racer is one optimizer (SGD, SGD with momentum, Nesterov, Adagrad, RMSprop or Adam) with its own learning
rate, minimising a function of the 2-element :class:`~nnlearn.nn.Parameter` ``p = (x, y)`` from the same start.
Every step is the ordinary training step — ``opt.zero_grad()``, fill ``p.grad``, ``opt.step()`` — so what you see
is exactly what these optimizers do to a network's weights, in two dimensions. The gradient comes from the
surface's hand-written formula: it is what ``surface.loss(p).backward()`` would put in ``p.grad`` (the tests
check that), about ten times faster, so the widget redraws without a wait.

* :func:`trajectory` runs one racer and returns the points it visited;
* :func:`plot_race` draws the trajectories over the contours of the surface, next to the loss per step
  (a static figure);
* :class:`OptimizerRace` is the same as a widget: a dropdown for the surface, a checkbox and a learning-rate
  slider per optimizer, a slider for the number of steps. Its picture is an ordinary image output, so the saved
  notebook and the rendered book show the race's starting state even without a running kernel.

matplotlib and ipywidgets are imported only when something is drawn.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import optim
from ..nn.parameter import Parameter
from .explorer import PictureExplorer
from .loss_surfaces import SURFACES, Surface

__all__ = ["DEFAULT_LRS", "OPTIMIZERS", "OptimizerRace", "make_optimizer", "plot_race", "trajectory"]

# name -> (optimizer class, options other than lr). The order is the order of the controls and the legend.
OPTIMIZERS: dict[str, tuple[type[optim.Optimizer], dict[str, Any]]] = {
    "SGD": (optim.SGD, {}),
    "Momentum": (optim.SGD, {"momentum": 0.9}),
    "Nesterov": (optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "Adagrad": (optim.Adagrad, {}),
    "RMSprop": (optim.RMSprop, {}),
    "Adam": (optim.Adam, {}),
}

# A learning rate per optimizer and surface at which each one does reasonably well (found by trying a few):
# the starting position of the widget's sliders. Plain SGD needs small steps where the surface is steep.
DEFAULT_LRS: dict[str, dict[str, float]] = {
    "rosenbrock": {"SGD": 2e-3, "Momentum": 1e-3, "Nesterov": 1e-3, "Adagrad": 1.0, "RMSprop": 0.03, "Adam": 0.2},
    "saddle": {"SGD": 0.05, "Momentum": 0.01, "Nesterov": 0.01, "Adagrad": 0.5, "RMSprop": 0.01, "Adam": 0.05},
    "bowl": {"SGD": 0.035, "Momentum": 0.01, "Nesterov": 0.01, "Adagrad": 0.5, "RMSprop": 0.03, "Adam": 0.1},
}
DEFAULT_RACERS = ("SGD", "Momentum", "RMSprop", "Adam")
DEFAULT_STEPS = 200
COLORS = {"SGD": "tab:blue", "Momentum": "tab:orange", "Nesterov": "tab:olive", "Adagrad": "tab:purple",
          "RMSprop": "tab:green", "Adam": "tab:red"}
ESCAPE = 1e3  # a racer whose |x| or |y| passes this has diverged: its run stops there


def _surface(surface: Any, fn: str) -> Surface:
    if isinstance(surface, Surface):
        return surface
    if surface not in SURFACES:
        raise ValueError(f"{fn}: surface must be one of {sorted(SURFACES)} or a Surface, got {surface!r}")
    return SURFACES[surface]


def _check_name(name: Any, fn: str) -> str:
    if name not in OPTIMIZERS:
        raise ValueError(f"{fn}: optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")
    return name


def _check_lr(lr: Any, fn: str, name: str = "lr") -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"{fn}: {name} must be a positive number, got {lr!r}")
    return float(lr)


def _check_steps(steps: Any, fn: str) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"{fn}: steps must be an int >= 0, got {steps!r}")
    return int(steps)


def make_optimizer(name: str, params: Any, lr: float) -> optim.Optimizer:
    """The optimizer called ``name`` in :data:`OPTIMIZERS` (e.g. ``"Nesterov"`` is ``SGD(momentum=0.9,
    nesterov=True)``), on ``params``, with learning rate ``lr``."""
    cls, options = OPTIMIZERS[_check_name(name, "make_optimizer")]
    return cls(params, lr=_check_lr(lr, "make_optimizer"), **options)


def trajectory(surface: str | Surface = "rosenbrock", optimizer: str = "Adam", lr: float | None = None,
               steps: int = DEFAULT_STEPS, start: tuple[float, float] | None = None) -> np.ndarray:
    """Run one racer: ``steps`` optimizer steps on ``surface`` from ``start``.

    Args:
        surface: a name in :data:`~nnlearn.viz.loss_surfaces.SURFACES` or a :class:`Surface`.
        optimizer: a name in :data:`OPTIMIZERS`.
        lr: the learning rate (default: :data:`DEFAULT_LRS` for this surface).
        steps: how many steps to take.
        start: the starting point (default: the surface's own).

    Returns:
        ``(k + 1, 2)`` float64 array: the start, then the point after each step. ``k = steps`` unless the run
        diverged (a coordinate became non-finite or larger than ``ESCAPE`` in size), in which case it stops at the
        first such point.
    """
    s = _surface(surface, "trajectory")
    name = _check_name(optimizer, "trajectory")
    lr = DEFAULT_LRS.get(s.name, {}).get(name, 1e-2) if lr is None else _check_lr(lr, "trajectory")
    steps = _check_steps(steps, "trajectory")
    start = s.start if start is None else start
    point = np.asarray(start, dtype=np.float64)
    if point.shape != (2,) or not np.all(np.isfinite(point)):
        raise ValueError(f"trajectory: start must be two finite numbers (x, y), got {start!r}")

    p = Parameter(point.copy())  # float64, like the surfaces' formulas
    opt = make_optimizer(name, [p], lr)
    path = [p.data.copy()]
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging racer is expected, not an error
        for _ in range(steps):
            opt.zero_grad()
            # where s.loss(p).backward() would put the gradient, computed by the surface's own formula
            p.grad = np.array(s.gradient(p.data[0], p.data[1]), dtype=np.float64)
            opt.step()
            path.append(p.data.copy())
            if not np.all(np.isfinite(p.data)) or np.abs(p.data).max() > ESCAPE:
                break
    return np.array(path)


def _losses(surface: Surface, path: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return surface.value(path[:, 0], path[:, 1])


def _check_racers(racers: Any, surface: Surface, fn: str) -> dict[str, float]:
    """``{name: lr}`` from a mapping, a list of names (default learning rates) or None (the default racers)."""
    defaults = DEFAULT_LRS.get(surface.name, {})
    if racers is None:
        racers = list(DEFAULT_RACERS)
    if isinstance(racers, str):
        racers = [racers]
    if isinstance(racers, Mapping):
        chosen = {_check_name(n, fn): _check_lr(lr, fn, f"racers[{n!r}]") for n, lr in racers.items()}
    else:
        chosen = {_check_name(n, fn): defaults.get(n, 1e-2) for n in racers}
    return {n: chosen[n] for n in OPTIMIZERS if n in chosen}  # legend order: the order of OPTIMIZERS


# ---------------------------------------------------------------------- drawing
def _draw_surface(ax: Any, surface: Surface) -> None:
    from matplotlib.colors import BoundaryNorm

    X, Y, Z = surface.grid(200)
    levels = surface.levels(20)
    # One colour per band between two levels, whatever their values: the log-spaced bands near the minimum
    # get as distinct colours as the wide ones far away.
    ax.contourf(X, Y, Z, levels=levels, cmap="Blues_r", norm=BoundaryNorm(levels, 256), alpha=0.6, extend="max")
    ax.contour(X, Y, Z, levels=levels, colors="0.4", linewidths=0.4)
    for mx, my in surface.minima:
        ax.plot(mx, my, marker="*", color="gold", markeredgecolor="k", markersize=14, zorder=5, label="_minimum")
    ax.plot(*surface.start, marker="o", color="k", markersize=6, zorder=5, label="_start")
    ax.set_xlim(surface.xlim)
    ax.set_ylim(surface.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{surface.name}: {surface.formula}", fontsize=10)


def _draw_racers(ax_path: Any, ax_loss: Any, surface: Surface, paths: dict[str, np.ndarray],
                 lrs: dict[str, float]) -> None:
    floor = 1e-12  # the loss panel is logarithmic: a loss of exactly 0 is drawn at the floor
    for name, path in paths.items():
        label = f"{name} (lr={lrs[name]:.3g})"
        ax_path.plot(path[:, 0], path[:, 1], "-", color=COLORS[name], lw=1.6, label=label)
        ax_path.plot(path[-1, 0], path[-1, 1], "o", color=COLORS[name], markeredgecolor="k", markersize=6,
                     label="_end")
        loss = _losses(surface, path) - min(float(surface.value(*m)) for m in surface.minima)
        ax_loss.semilogy(np.arange(len(path)), np.maximum(loss, floor), color=COLORS[name], lw=1.6, label=label)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss above the minimum")
    ax_loss.set_title("loss per step", fontsize=10)
    ax_loss.grid(True, which="major", alpha=0.3)
    if paths:
        ax_loss.legend(loc="best", fontsize=8, framealpha=0.85)


def plot_race(surface: str | Surface = "rosenbrock", racers: Any = None, steps: int = DEFAULT_STEPS,
              start: tuple[float, float] | None = None) -> Any:
    """Race optimizers on ``surface`` and draw their paths over its contours, with the loss per step beside.

    Args:
        surface: a name in :data:`~nnlearn.viz.loss_surfaces.SURFACES` or a :class:`Surface`.
        racers: ``{name: lr}``, or a list of names (each with its :data:`DEFAULT_LRS`), or None for
            ``DEFAULT_RACERS``. Names are those of :data:`OPTIMIZERS`.
        steps: steps per racer.
        start: the common starting point (default: the surface's own).

    Returns:
        The matplotlib Figure: the contours with one path per racer (a dot where it ended), and the loss above
        the minimum per step on a log scale (a line that stops early belongs to a racer that diverged).
    """
    s = _surface(surface, "plot_race")
    lrs = _check_racers(racers, s, "plot_race")
    steps = _check_steps(steps, "plot_race")
    paths = {name: trajectory(s, name, lr, steps, start) for name, lr in lrs.items()}
    import matplotlib.pyplot as plt

    fig, (ax_path, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.3), layout="constrained",
                                           gridspec_kw={"width_ratios": [1.15, 1]})
    _draw_surface(ax_path, s)
    _draw_racers(ax_path, ax_loss, s, paths, lrs)
    return fig


# ---------------------------------------------------------------------- the widget
class OptimizerRace(PictureExplorer):
    """Pick a surface, optimizers, their learning rates and the number of steps; watch the trajectories.

    Args:
        surface: the starting surface (a name in :data:`~nnlearn.viz.loss_surfaces.SURFACES`).
        racers: the optimizers switched on at the start (names from :data:`OPTIMIZERS`).
        steps: the starting number of steps.

    In Jupyter, display the race (make it the last line of a cell): the controls appear above a picture that
    is redrawn when they move. Changing the surface resets the learning rates to that surface's
    :data:`DEFAULT_LRS`. Anywhere else, :meth:`show_static` returns the figure.

    Attributes:
        figure: the matplotlib Figure that is shown (the contour panel and the loss panel).
        paths: ``{name: (k + 1, 2) array}``, the trajectories on show.
        surface_dropdown, steps_slider: ipywidgets controls (None without ipywidgets).
        checkboxes, lr_sliders: ``{name: control}`` per optimizer (empty without ipywidgets).
        Setting a control's ``value`` redraws, as moving it does.
    """

    def __init__(self, surface: str = "rosenbrock", racers: Any = DEFAULT_RACERS, steps: int = DEFAULT_STEPS) -> None:
        self._surface = _surface(surface, "OptimizerRace")
        if isinstance(racers, str):
            racers = [racers]
        self._enabled = {name: False for name in OPTIMIZERS}
        for name in racers:
            self._enabled[_check_name(name, "OptimizerRace")] = True
        self._lrs = dict(DEFAULT_LRS[self._surface.name]) if self._surface.name in DEFAULT_LRS else \
            {name: 1e-2 for name in OPTIMIZERS}
        self._steps = _check_steps(steps, "OptimizerRace")
        self._display = None  # the IPython display handle of the picture, once the race is displayed
        self.paths: dict[str, np.ndarray] = {}
        self.figure = self._build_figure()
        self.surface_dropdown = self.steps_slider = None
        self.checkboxes: dict[str, Any] = {}
        self.lr_sliders: dict[str, Any] = {}
        self._build_controls()

    # ------------------------------------------------------------------ state
    @property
    def surface(self) -> str:
        return self._surface.name

    @property
    def steps(self) -> int:
        return self._steps

    @property
    def racers(self) -> dict[str, float]:
        """``{name: lr}`` of the optimizers switched on."""
        return {name: self._lrs[name] for name in OPTIMIZERS if self._enabled[name]}

    def select(self, surface: str | None = None, racers: Any = None, lrs: Mapping[str, float] | None = None,
               steps: int | None = None) -> None:
        """Change the race (what moving the controls does) and redraw.

        Args:
            surface: a new surface; its default learning rates replace the current ones (before ``lrs``).
            racers: the names of the optimizers to switch on (the others are switched off).
            lrs: ``{name: lr}`` for some optimizers.
            steps: the number of steps.
        """
        if surface is not None:
            self._surface = _surface(surface, "OptimizerRace.select")
            self._lrs = dict(DEFAULT_LRS.get(self._surface.name, self._lrs))
        if racers is not None:
            names = [racers] if isinstance(racers, str) else list(racers)
            chosen = {_check_name(n, "OptimizerRace.select") for n in names}
            self._enabled = {name: name in chosen for name in OPTIMIZERS}
        for name, lr in (lrs or {}).items():
            self._lrs[_check_name(name, "OptimizerRace.select")] = _check_lr(lr, "OptimizerRace.select",
                                                                             f"lrs[{name!r}]")
        if steps is not None:
            self._steps = _check_steps(steps, "OptimizerRace.select")
        self._sync_controls()
        self._redraw()

    # ------------------------------------------------------------------ drawing
    def _run(self) -> None:
        self.paths = {name: trajectory(self._surface, name, lr, self._steps) for name, lr in self.racers.items()}

    def _build_figure(self) -> Any:
        # A Figure that pyplot does not manage: the inline backend must not show it a second time.
        from matplotlib.figure import Figure

        figure = Figure(figsize=(11, 4.3), layout="constrained")
        figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        self._draw(figure)
        return figure

    def _draw(self, figure: Any) -> None:
        self._run()
        ax_path, ax_loss = figure.axes[:2]
        ax_path.clear()
        ax_loss.clear()
        _draw_surface(ax_path, self._surface)
        _draw_racers(ax_path, ax_loss, self._surface, self.paths, self.racers)
        if not self.paths:
            ax_loss.text(0.5, 0.5, "switch on an optimizer", ha="center", va="center", transform=ax_loss.transAxes)

    def _redraw(self) -> None:
        self._draw(self.figure)
        self._update_picture()

    # ------------------------------------------------------------------ controls
    def _build_controls(self) -> None:
        try:
            import ipywidgets
        except ImportError:  # no widgets: the race still works through select() and show_static()
            return
        self._syncing = False
        self.surface_dropdown = ipywidgets.Dropdown(options=list(SURFACES), value=self._surface.name,
                                                    description="surface")
        self.steps_slider = ipywidgets.IntSlider(value=self._steps, min=10, max=1000, step=10, description="steps",
                                                 continuous_update=False)
        rows = []
        for name in OPTIMIZERS:
            box = ipywidgets.Checkbox(value=self._enabled[name], description=name, indent=False,
                                      layout=ipywidgets.Layout(width="110px"))
            slider = ipywidgets.FloatLogSlider(value=self._lrs[name], base=10, min=-5, max=1, step=0.1,
                                               description="lr", readout_format=".2g", continuous_update=False)
            box.observe(self._on_checkbox, names="value")
            slider.observe(lambda change, name=name: self._on_change(lrs={name: change["new"]}), names="value")
            self.checkboxes[name], self.lr_sliders[name] = box, slider
            rows.append(ipywidgets.HBox([box, slider]))
        self.surface_dropdown.observe(lambda change: self._on_change(surface=change["new"]), names="value")
        self.steps_slider.observe(lambda change: self._on_change(steps=change["new"]), names="value")
        half = (len(rows) + 1) // 2
        self.controls = ipywidgets.VBox([
            ipywidgets.HBox([self.surface_dropdown, self.steps_slider]),
            ipywidgets.HBox([ipywidgets.VBox(rows[:half]), ipywidgets.VBox(rows[half:])]),
        ])

    def _on_checkbox(self, change: dict) -> None:
        self._on_change(racers=[name for name, box in self.checkboxes.items() if box.value])

    def _on_change(self, **choice: Any) -> None:
        if not self._syncing:  # ignore the echoes of _sync_controls setting the widgets
            self.select(**choice)

    def _sync_controls(self) -> None:
        """Make the controls show the current state (a new surface brings its own learning rates)."""
        if self.surface_dropdown is None:
            return
        self._syncing = True
        try:
            self.surface_dropdown.value = self._surface.name
            self.steps_slider.value = self._steps
            for name in OPTIMIZERS:
                self.checkboxes[name].value = self._enabled[name]
                self.lr_sliders[name].value = self._lrs[name]
        finally:
            self._syncing = False

    def __repr__(self) -> str:
        racers = ", ".join(f"{n} lr={lr:.3g}" for n, lr in self.racers.items())
        return f"OptimizerRace(surface={self.surface!r}, steps={self._steps}, racers: {racers or 'none'})"
