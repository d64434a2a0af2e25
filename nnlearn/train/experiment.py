"""A small experiment log: one JSON line per training run, read back as a table.

Every run you do not write down is a run you will do again. An experiment log keeps, for each run, what
was tried (the ``config``: learning rate, width, ...), what came out (the ``metrics``), how long it took,
the random ``seed``, and the versions of the libraries it ran with, so that a result can be compared,
and repeated, weeks later. The file format is *JSON Lines*: one JSON object per line, appended at the end
of each run, so a crash can lose at most the run that crashed, and the file can be read by any tool
(``pandas.read_json(path, lines=True)``, ``jq``, a text editor).

>>> log = ExperimentLog("runs/experiments.jsonl")                           # doctest: +SKIP
>>> with log.run({"lr": 0.01, "width": 64}, seed=0) as run:                 # doctest: +SKIP
...     history = fit(model, train_loader, loss_fn, optimizer, epochs=20, val_loader=val_loader)
...     run.metrics["val_accuracy"] = history["val_accuracy"][-1]
>>> log.table().sort("val_accuracy", descending=True)                      # doctest: +SKIP
run  seed  lr    width  val_accuracy  duration_s
  1     0  0.01     64        0.9350        1.21

A line of the file looks like::

    {"run": 1, "name": null, "started": "2025-01-31T14:02:11", "duration_s": 1.21, "seed": 0,
     "status": "ok", "config": {"lr": 0.01, "width": 64}, "metrics": {"val_accuracy": 0.935},
     "versions": {"python": "3.12.3", "numpy": "2.4.0", "nnlearn": "0.1.0"}}
"""
from __future__ import annotations

import datetime
import html
import importlib.metadata
import json
import math
import numbers
import os
import platform
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .history import monitor_mode

__all__ = ["ExperimentLog", "ExperimentTable", "Run", "library_versions"]

# The libraries whose versions decide whether a run can be repeated; the ones not installed are skipped.
DEFAULT_PACKAGES = ("nnlearn", "numpy", "numba", "scikit-learn", "torch")
# The fields every record has, in the order they are written.
FIELDS = ("run", "name", "started", "duration_s", "seed", "status", "config", "metrics", "versions")


def library_versions(packages: Sequence[str] = DEFAULT_PACKAGES) -> dict[str, str]:
    """``{"python": "3.12.3", "numpy": "2.4.0", ...}`` for Python and each installed package of ``packages``.

    The versions come from the installed packages' metadata, so nothing is imported (asking for torch's
    version does not load torch).
    """
    versions = {"python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed: nothing to record
    return versions


# ---------------------------------------------------------------------- turning values into JSON
def _json_value(value: Any, where: str) -> Any:
    """``value`` as plain JSON data (str, int, float, bool, None, list, dict), or a TypeError naming ``where``.

    NumPy scalars and arrays become Python numbers and lists; a non-finite float becomes ``None``, because
    JSON has no NaN or infinity (a diverged run's loss is recorded as null).
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return _json_value(value.tolist(), where)
    if isinstance(value, Mapping):
        return _json_mapping(value, where)
    if isinstance(value, (list, tuple)):
        return [_json_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"{where} must be JSON data (a number, str, bool, None, list or dict), got "
                    f"{type(value).__name__}: {value!r}")


def _json_mapping(mapping: Any, where: str) -> dict[str, Any]:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{where} must be a dict of name -> value, got {type(mapping).__name__}")
    out = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"{where} keys must be str, got {key!r} ({type(key).__name__})")
        out[key] = _json_value(value, f"{where}[{key!r}]")
    return out


def _metrics(metrics: Any) -> dict[str, float | None]:
    """Metrics are numbers (or None for 'not measured'); a string or a list is a mistake worth reporting."""
    out = _json_mapping({} if metrics is None else metrics, "metrics")
    for name, value in out.items():
        if isinstance(value, bool) or not (value is None or isinstance(value, (int, float))):
            raise TypeError(f"metrics[{name!r}] must be a number, got {type(metrics[name]).__name__}: "
                            f"{metrics[name]!r}")
    return out


def _optional_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"seed must be None or an int >= 0, got {seed!r}")
    return int(seed)


# ---------------------------------------------------------------------- the log
class Run:
    """The run in progress inside ``with log.run(config) as run:``; put results into ``run.metrics``."""

    def __init__(self, config: dict[str, Any], seed: int | None, name: str | None) -> None:
        self.config = config
        self.seed = seed
        self.name = name
        self.metrics: dict[str, Any] = {}
        self.record: dict[str, Any] | None = None  # what was written, once the run has ended

    def log_metrics(self, **metrics: Any) -> None:
        """``run.log_metrics(val_accuracy=0.93, val_loss=0.21)``: the same as updating ``run.metrics``."""
        self.metrics.update(metrics)

    def __repr__(self) -> str:
        return f"Run(config={self.config}, seed={self.seed}, metrics={self.metrics})"


class ExperimentLog:
    """A JSON Lines file of training runs: ``append`` (or ``with run(...)``) writes one, ``table`` reads all.

    Args:
        path: the file; created, with its folder, when the first run is written.
        packages: whose versions every record keeps (see :func:`library_versions`).
    """

    def __init__(self, path: str | os.PathLike, packages: Sequence[str] = DEFAULT_PACKAGES) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
        self.path = Path(path)
        self.packages = tuple(packages)

    # ------------------------------------------------------------------ writing
    def append(self, config: Mapping[str, Any], metrics: Mapping[str, Any] | None = None, *,
               duration: float | None = None, seed: int | None = None, name: str | None = None,
               status: str = "ok", started: str | None = None) -> dict[str, Any]:
        """Write one run as a new line of the file and return the record written.

        Args:
            config: what defines the run (hyperparameters, data set, model size): JSON data, nested dicts allowed.
            metrics: what the run measured, name -> number (NumPy numbers are fine; NaN/inf are stored as null).
            duration: the run's wall-clock time in seconds.
            seed: the random seed the run used.
            name: an optional label for the run.
            status: ``"ok"``, or ``"failed"`` for a run that raised.
            started: when the run started (ISO 8601); default: now minus ``duration``.
        """
        config = _json_mapping(config, "config")
        metrics = _metrics(metrics)
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, numbers.Real)
                                     or not duration >= 0):
            raise ValueError(f"duration must be a number of seconds >= 0, got {duration!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__}")
        if status not in ("ok", "failed"):
            raise ValueError(f"status must be 'ok' or 'failed', got {status!r}")
        if started is None:
            now = datetime.datetime.now() - datetime.timedelta(seconds=duration or 0.0)
            started = now.isoformat(timespec="seconds")
        record = {
            "run": len(self) + 1, "name": name, "started": started,
            "duration_s": None if duration is None else round(float(duration), 6),
            "seed": _optional_seed(seed), "status": status, "config": config, "metrics": metrics,
            "versions": library_versions(self.packages),
        }
        line = json.dumps(record, allow_nan=False)  # strict JSON: every tool can read the file back
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(line + "\n")  # one write per run: a crash cannot leave half a line behind another run
        return record

    @contextmanager
    def run(self, config: Mapping[str, Any], seed: int | None = None, name: str | None = None) -> Iterator[Run]:
        """Time the block and append its run when it ends: ``with log.run({"lr": 0.1}, seed=0) as run: ...``.

        Fill ``run.metrics`` inside the block. A block that raises is still written, with ``status="failed"``,
        its time and whatever metrics it had set, and the error propagates: a diverged run is a result too.
        """
        current = Run(_json_mapping(config, "config"), _optional_seed(seed), name)
        start = time.perf_counter()
        status = "ok"
        try:
            yield current
        except BaseException:
            status = "failed"
            raise
        finally:
            current.record = self.append(current.config, current.metrics, duration=time.perf_counter() - start,
                                         seed=current.seed, name=current.name, status=status)

    # ------------------------------------------------------------------ reading
    def records(self) -> list[dict[str, Any]]:
        """Every run in the file, in the order written, as dicts (an empty list before the first run)."""
        if not self.path.exists():
            return []
        records = []
        with open(self.path, encoding="utf-8") as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{self.path}, line {number} is not valid JSON ({error.msg}): "
                                     f"{line[:80]!r}") from None
                if not isinstance(record, dict):
                    raise ValueError(f"{self.path}, line {number} must hold a JSON object (a run), got "
                                     f"{type(record).__name__}")
                records.append(record)
        return records

    def table(self, columns: Sequence[str] | None = None) -> "ExperimentTable":
        """The runs as an :class:`ExperimentTable`: one row per run, config and metrics as columns."""
        return ExperimentTable.from_records(self.records(), columns)

    def __len__(self) -> int:
        if not self.path.exists():
            return 0
        with open(self.path, encoding="utf-8") as file:
            return sum(1 for line in file if line.strip())

    def __repr__(self) -> str:
        return f"ExperimentLog({str(self.path)!r}, {len(self)} runs)"


# ---------------------------------------------------------------------- the table
def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"opt": {"lr": 0.1}}`` -> ``{"opt.lr": 0.1}``: nested config becomes dotted column names."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    """One record as a flat row. Config and metric names become columns as they are; a name that is both
    a config entry and a metric (or clashes with a field such as ``seed``) is kept as ``config.<name>`` and
    ``metrics.<name>`` so neither hides the other."""
    config = _flatten(record.get("config") or {})
    metrics = _flatten(record.get("metrics") or {})
    row = {key: record.get(key) for key in FIELDS if key not in ("config", "metrics", "versions")}
    taken = set(row) | (set(config) & set(metrics))
    for part, values in (("config", config), ("metrics", metrics)):
        for key, value in values.items():
            row[f"{part}.{key}" if key in taken else key] = value
    for package, version in (record.get("versions") or {}).items():
        row[f"versions.{package}"] = version
    return row


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class ExperimentTable:
    """Runs as rows and named columns: ``table["val_accuracy"]`` is a column, ``table.rows`` the rows.

    Shown as aligned text (``repr``) and as an HTML table in a notebook. Missing values read as ``None``.
    """

    def __init__(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.rows = [{column: row.get(column) for column in self.columns} for row in rows]

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]],
                     columns: Sequence[str] | None = None) -> "ExperimentTable":
        """A table of log records. Default columns: ``run``, ``name`` (if any run has one), ``seed``, the
        config entries, the metrics, ``duration_s`` and ``status`` (if any run failed); ``started`` and
        ``versions.<package>`` are available by name."""
        rows = [_row(record) for record in records]
        available: dict[str, None] = {}
        for row in rows:
            available.update(dict.fromkeys(row))
        if columns is None:
            def shown(column: str) -> bool:
                if column in ("started", "duration_s", "status") or column.startswith("versions."):
                    return False
                return column != "name" or any(row.get("name") is not None for row in rows)
            columns = [c for c in available if shown(c)]
            if rows:
                columns.append("duration_s")
            if any(row.get("status") == "failed" for row in rows):
                columns.append("status")
        else:
            if isinstance(columns, str):
                raise TypeError(f"columns must be a list of column names, got the str {columns!r}")
            unknown = [c for c in columns if c not in available]
            if unknown and rows:
                raise ValueError(f"unknown column(s) {unknown}; the runs have {list(available)}")
        return cls(rows, columns)

    def __getitem__(self, column: str) -> list[Any]:
        if column not in self.columns:
            raise KeyError(f"{column!r} is not a column; the columns are {self.columns}")
        return [row[column] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def sort(self, by: str, descending: bool = False) -> "ExperimentTable":
        """A new table with the rows ordered by column ``by``; missing values (None) go last."""
        values = self[by]
        present = sorted((i for i, v in enumerate(values) if v is not None), key=lambda i: values[i],
                         reverse=descending)
        order = present + [i for i, v in enumerate(values) if v is None]
        return ExperimentTable([self.rows[i] for i in order], self.columns)

    def best(self, metric: str, mode: str = "auto") -> dict[str, Any]:
        """The row with the best value of ``metric`` (``mode`` as in ``EarlyStopping``: losses min, accuracies max)."""
        mode = monitor_mode(metric, mode)
        ranked = self.sort(metric, descending=(mode == "max"))
        if not ranked.rows or ranked.rows[0][metric] is None:
            raise ValueError(f"no run has a value for {metric!r}")
        return dict(ranked.rows[0])

    def _cells(self) -> list[list[str]]:
        return [[_format(row[c]) for c in self.columns] for row in self.rows]

    def __repr__(self) -> str:
        if not self.rows:
            return "ExperimentTable(0 runs)"
        cells = self._cells()
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(self.columns)]
        lines = ["  ".join(c.rjust(w) for c, w in zip(self.columns, widths))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython's plain-text display
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in self._cells())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
