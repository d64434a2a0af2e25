"""nnlearn.train.experiment: the JSON Lines experiment log and its table."""
from __future__ import annotations

import json
import math
import platform

import numpy as np
import pytest

from nnlearn.train.experiment import ExperimentLog, ExperimentTable, library_versions


@pytest.fixture
def log(tmp_path):
    return ExperimentLog(tmp_path / "runs" / "log.jsonl")


# ---------------------------------------------------------------------- writing
def test_append_writes_one_json_line_per_run_with_every_field(log):
    assert len(log) == 0 and log.records() == [] and not log.path.exists()
    log.append({"lr": 0.1, "width": 64}, {"val_accuracy": 0.9}, duration=1.5, seed=3, name="first")
    log.append({"lr": 0.01, "width": 64}, {"val_accuracy": 0.95}, duration=2.0, seed=3)
    lines = log.path.read_text().splitlines()
    assert len(lines) == 2 and len(log) == 2
    first = json.loads(lines[0])  # each line is a JSON object on its own
    assert list(first) == ["run", "name", "started", "duration_s", "seed", "status", "config", "metrics",
                           "versions"]
    assert first["run"] == 1 and json.loads(lines[1])["run"] == 2
    assert first["config"] == {"lr": 0.1, "width": 64} and first["metrics"] == {"val_accuracy": 0.9}
    assert first["duration_s"] == 1.5 and first["seed"] == 3 and first["name"] == "first"
    assert first["status"] == "ok"
    assert first["versions"]["python"] == platform.python_version()
    assert first["versions"]["numpy"] == np.__version__


def test_records_read_back_what_was_written(log):
    written = [log.append({"lr": lr}, {"loss": 1 / lr}, seed=0) for lr in (0.1, 0.2)]
    assert log.records() == written


def test_numpy_values_become_json_numbers_and_non_finite_becomes_null(log):
    record = log.append({"lr": np.float32(0.5), "sizes": np.array([2, 3]), "flag": np.bool_(True),
                         "nested": {"depth": np.int64(4), "dims": (1, 2)}},
                        {"acc": np.float64(0.25), "loss": float("nan"), "grad": np.inf})
    back = log.records()[0]
    assert back["config"] == {"lr": 0.5, "sizes": [2, 3], "flag": True, "nested": {"depth": 4, "dims": [1, 2]}}
    assert back["metrics"] == {"acc": 0.25, "loss": None, "grad": None}
    assert record == back
    assert "NaN" not in log.path.read_text()  # strict JSON, readable by any tool


def test_run_context_times_the_block_and_records_metrics(log, monkeypatch):
    clock = iter([100.0, 102.5])
    monkeypatch.setattr("nnlearn.train.experiment.time.perf_counter", lambda: next(clock))
    with log.run({"lr": 0.1}, seed=7, name="timed") as run:
        run.metrics["val_loss"] = 0.3
        run.log_metrics(val_accuracy=0.8)
    record = log.records()[0]
    assert record["duration_s"] == pytest.approx(2.5)
    assert record["metrics"] == {"val_loss": 0.3, "val_accuracy": 0.8}
    assert record["seed"] == 7 and record["name"] == "timed" and record["status"] == "ok"
    assert run.record == record


def test_a_failing_run_is_logged_as_failed_and_the_error_propagates(log):
    with pytest.raises(FloatingPointError, match="diverged"):
        with log.run({"lr": 10.0}, seed=0) as run:
            run.metrics["loss_epoch_1"] = 3.0
            raise FloatingPointError("diverged")
    record = log.records()[0]
    assert record["status"] == "failed" and record["metrics"] == {"loss_epoch_1": 3.0}
    assert record["config"] == {"lr": 10.0}


def test_library_versions_reads_metadata_and_skips_missing_packages():
    versions = library_versions(("numpy", "surely-not-an-installed-package-xyz"))
    assert versions == {"python": platform.python_version(), "numpy": np.__version__}


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("config, message", [
    ([("lr", 0.1)], r"config must be a dict of name -> value, got list"),
    ({1: 0.1}, r"config keys must be str, got 1"),
    ({"model": object()}, r"config\['model'\] must be JSON data .* got object"),
    ({"a": {"b": {1, 2}}}, r"config\['a'\]\['b'\] must be JSON data .* got set"),
])
def test_bad_config_names_the_entry(log, config, message):
    with pytest.raises(TypeError, match=message):
        log.append(config, {})
    assert not log.path.exists()  # nothing half-written


def test_bad_metrics_duration_seed_status(log):
    with pytest.raises(TypeError, match=r"metrics\['acc'\] must be a number, got str: 'high'"):
        log.append({}, {"acc": "high"})
    with pytest.raises(TypeError, match=r"metrics\['acc'\] must be a number, got list"):
        log.append({}, {"acc": [0.1, 0.2]})
    with pytest.raises(ValueError, match=r"duration must be a number of seconds >= 0, got -1"):
        log.append({}, {}, duration=-1)
    with pytest.raises(TypeError, match=r"seed must be None or an int >= 0, got 1.5"):
        log.append({}, {}, seed=1.5)
    with pytest.raises(ValueError, match=r"status must be 'ok' or 'failed', got 'done'"):
        log.append({}, {}, status="done")
    with pytest.raises(TypeError, match=r"path must be a str or a path, got int"):
        ExperimentLog(3)


def test_a_corrupt_line_is_reported_with_its_number(log):
    log.append({"lr": 0.1}, {})
    with open(log.path, "a") as file:
        file.write('{"run": 2, "config": \n')
    with pytest.raises(ValueError, match=r"line 2 is not valid JSON"):
        log.records()


# ---------------------------------------------------------------------- the table
def fill(log):
    for lr, acc, loss in [(0.1, 0.80, 0.6), (0.01, 0.95, 0.2), (0.001, 0.90, None)]:
        log.append({"lr": lr, "opt": {"name": "sgd"}}, {"val_accuracy": acc, "val_loss": loss}, duration=1.0,
                   seed=0)


def test_table_has_config_and_metrics_as_columns(log):
    fill(log)
    table = log.table()
    assert isinstance(table, ExperimentTable) and len(table) == 3
    assert table.columns == ["run", "seed", "lr", "opt.name", "val_accuracy", "val_loss", "duration_s"]
    assert table["lr"] == [0.1, 0.01, 0.001]
    assert table["val_loss"] == [0.6, 0.2, None]
    text = repr(table).splitlines()
    assert text[0].split() == table.columns and len(text) == 4
    assert text[2].split() == ["2", "0", "0.01", "sgd", "0.95", "0.2", "1"]
    assert text[3].split()[-2] == "-"  # a missing value
    html = table._repr_html_()
    assert html.count("<tr>") == 4 and "<th>val_accuracy</th>" in html


def test_table_sort_and_best(log):
    fill(log)
    table = log.table()
    assert table.sort("val_accuracy", descending=True)["lr"] == [0.01, 0.001, 0.1]
    assert table.sort("val_loss")["run"] == [2, 1, 3]  # the missing value goes last
    assert table.best("val_accuracy")["lr"] == 0.01  # accuracies: larger is better
    assert table.best("val_loss")["run"] == 2        # losses: smaller is better
    with pytest.raises(KeyError, match=r"'f1' is not a column"):
        table["f1"]


def test_names_in_both_config_and_metrics_are_kept_apart(log):
    log.append({"loss": "mse", "seed": 1}, {"loss": 0.5}, seed=2, name="clash")
    row = log.table().rows[0]
    assert row["config.loss"] == "mse" and row["metrics.loss"] == 0.5
    assert row["seed"] == 2 and row["config.seed"] == 1 and row["name"] == "clash"


def test_table_columns_can_be_chosen_and_failed_runs_show_status(log):
    fill(log)
    with pytest.raises(RuntimeError):
        with log.run({"lr": 5.0}):
            raise RuntimeError("boom")
    table = log.table()
    assert table.columns[-1] == "status" and table["status"] == ["ok", "ok", "ok", "failed"]
    chosen = log.table(columns=["lr", "versions.numpy"])
    assert chosen.columns == ["lr", "versions.numpy"] and chosen["versions.numpy"] == [np.__version__] * 4
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['depth'\]"):
        log.table(columns=["lr", "depth"])
    assert repr(ExperimentLog(log.path.parent / "empty.jsonl").table()) == "ExperimentTable(0 runs)"
    assert math.isclose(sum(log.table()["duration_s"][:3]), 3.0)
