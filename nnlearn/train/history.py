"""``History``: what ``fit`` measured, one row per epoch.

>>> history = History()
>>> history.append({"loss": 0.9, "val_loss": 1.0})
>>> history.append({"loss": 0.5, "val_loss": 0.7})
>>> history["val_loss"]
[1.0, 0.7]
>>> history.best("val_loss")
Best(epoch=2, value=0.7)

Epochs are counted from 1, as the progress bar counts them. A key that appears only in some epochs
(a callback may add one late) reads as NaN in the others, so every column has one value per epoch.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Mapping, NamedTuple

__all__ = ["Best", "History", "monitor_mode"]

# Metric names whose best value is the largest; anything ending in "loss" or "error" is best when smallest.
_HIGHER_IS_BETTER = ("accuracy", "acc", "precision", "recall", "f1", "auc", "r2")
_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse")
# Bookkeeping columns that fit records next to the metrics; not metrics themselves.
BOOKKEEPING = ("lr", "time", "grad_norm")


def monitor_mode(monitor: str, mode: str = "auto") -> str:
    """``"min"`` or ``"max"``: whether a smaller or a larger value of ``monitor`` is better.

    ``mode="auto"`` decides from the name: ``*loss``/``*error``/``mse``/``mae`` → min;
    ``*accuracy``/``precision``/``recall``/``f1``/``auc`` → max (a ``val_`` prefix is ignored).
    """
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    name = monitor.lower().removeprefix("val_")
    if name.endswith(_LOWER_IS_BETTER):
        return "min"
    if name.endswith(_HIGHER_IS_BETTER):
        return "max"
    raise ValueError(f"mode='auto' cannot tell whether a smaller or a larger {monitor!r} is better; "
                     "pass mode='min' or mode='max'")


class Best(NamedTuple):
    """The best epoch (counted from 1) and the value of the metric there."""

    epoch: int
    value: float


class History:
    """Per-epoch logs of a training run: ``history["val_loss"]`` is a list with one value per epoch.

    Attributes:
        metric_names: the metrics ``fit`` computed (without the ``val_`` prefix), in order; plots use it.
    """

    def __init__(self, metric_names: tuple[str, ...] | None = None) -> None:
        self._rows: list[dict[str, float]] = []
        self.metric_names: tuple[str, ...] | None = None if metric_names is None else tuple(metric_names)

    @classmethod
    def from_dict(cls, columns: Mapping[str, list[float]]) -> "History":
        """A History from ``{name: [value per epoch]}`` (e.g. Keras' ``history.history``)."""
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"every column needs one value per epoch, got lengths {lengths}")
        history = cls()
        for epoch in range(next(iter(lengths.values()), 0)):
            history.append({name: values[epoch] for name, values in columns.items()})
        return history

    def append(self, logs: dict[str, float]) -> None:
        """Add one epoch's logs. The dict is kept, not copied, so callbacks may still add entries to it."""
        if not isinstance(logs, dict):
            raise TypeError(f"logs must be a dict of name -> number, got {type(logs).__name__}")
        self._rows.append(logs)

    # ------------------------------------------------------------------ reading
    @property
    def epochs(self) -> list[int]:
        """The epoch numbers ``[1, 2, ..., len(history)]``: the x axis of a learning curve."""
        return list(range(1, len(self._rows) + 1))

    def keys(self) -> list[str]:
        """Every recorded name, in the order it first appeared."""
        names: dict[str, None] = {}
        for row in self._rows:
            names.update(dict.fromkeys(row))
        return list(names)

    def __getitem__(self, key: str) -> list[float]:
        if key not in self:
            raise KeyError(f"{key!r} was not recorded; the history has {self.keys()}")
        return [float(row.get(key, math.nan)) for row in self._rows]

    def __contains__(self, key: object) -> bool:
        return any(key in row for row in self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def as_dict(self) -> dict[str, list[float]]:
        """``{name: [value per epoch]}`` — fresh lists, safe to modify."""
        return {key: self[key] for key in self.keys()}

    def metrics(self) -> list[str]:
        """The metric names (no ``val_`` prefix, no ``loss``/``lr``/``time``): ``metric_names`` if ``fit``
        set it, else every other recorded name."""
        if self.metric_names is not None:
            return [m for m in self.metric_names if m in self or f"val_{m}" in self]
        names = [k.removeprefix("val_") for k in self.keys()]
        return list(dict.fromkeys(n for n in names if n != "loss" and n not in BOOKKEEPING))

    def best(self, metric: str = "val_loss", mode: str = "auto") -> Best:
        """The epoch where ``metric`` was best (the first one, on ties) and its value; NaNs are skipped.

        ``mode``: ``"min"``, ``"max"`` or ``"auto"`` (decided from the name, see :func:`monitor_mode`).
        """
        mode = monitor_mode(metric, mode)
        values = [(v, epoch) for epoch, v in zip(self.epochs, self[metric]) if not math.isnan(v)]
        if not values:
            raise ValueError(f"{metric!r} has no finite value in any of the {len(self)} epochs")
        sign = 1 if mode == "min" else -1
        value, epoch = min(values, key=lambda pair: (sign * pair[0], pair[1]))
        return Best(epoch, value)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        if not self._rows:
            return "History(0 epochs)"
        keys = self.keys()
        columns = {"epoch": [str(e) for e in self.epochs]}
        for key in keys:
            fmt = "{:.2f}s" if key == "time" else "{:.4g}"
            columns[key] = [fmt.format(v) for v in self[key]]
        widths = {k: max(len(k), *(len(v) for v in vals)) for k, vals in columns.items()}
        shown = list(range(len(self)))
        if len(shown) > 10:  # long runs: the first and the last epochs are what a reader compares
            shown = shown[:3] + [-1] + shown[-3:]
        lines = [f"History({len(self)} epochs)", "  ".join(k.rjust(widths[k]) for k in columns)]
        for i in shown:
            if i == -1:
                lines.append("  ".join("...".rjust(widths[k]) for k in columns))
            else:
                lines.append("  ".join(columns[k][i].rjust(widths[k]) for k in columns))
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython: same text as repr
        printer.text(repr(self))
