"""The grader's fences, checked from inside the child, and the rules that pick and guard the answers."""
from __future__ import annotations

import ast
import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnlearn.grading import grade_notebook
from nnlearn.grading.guard import ModuleGuard, plain
from nnlearn.grading.notebook import answer_names, select_answers


def grade_probe(tmp_path: Path, body: str) -> dict:
    """Grade a notebook whose answer ``probe()`` returns a dict of facts; the test passes them back through
    its failure message (the only channel from the child to the report)."""
    source = "import json, os, sys\n\ndef probe():\n" + textwrap.indent(textwrap.dedent(body), "    ")
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source}]
    nb = tmp_path / "probe.ipynb"
    nb.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    tests = tmp_path / "probe_tests.py"
    tests.write_text("import json\n\ndef test_probe(nb):\n    assert False, 'FACTS' + json.dumps(nb.probe())\n")
    report = grade_notebook(nb, tests, timeout=10, memory_mb=1024)
    message = report.tests[0].message
    assert message.startswith("FACTS"), message
    return {"facts": json.loads(message[len("FACTS"):]), "isolation": report.isolation,
            "json": json.loads(report.to_json())}


def test_the_child_runs_in_an_empty_private_directory_with_a_small_environment(tmp_path):
    got = grade_probe(tmp_path, """
        import resource
        cwd = os.getcwd()
        return {"cwd": cwd, "listing": os.listdir("."), "home": os.environ.get("HOME"),
                "numba_cache": os.environ.get("NUMBA_CACHE_DIR"), "tmpdir": os.environ.get("TMPDIR"),
                "threads": [os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                         "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")],
                "env": sorted(os.environ), "stdin": sys.stdin.read(),
                "as": resource.getrlimit(resource.RLIMIT_AS)[0],
                "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0],
                "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
                "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0]}
    """)
    facts = got["facts"]
    assert facts["listing"] == []  # nothing but what the exercise needs: no job, no tests, no results
    assert facts["home"] == facts["tmpdir"] == facts["cwd"]
    assert facts["numba_cache"].startswith(facts["cwd"])
    assert facts["threads"] == ["1", "1", "1", "1"]
    assert facts["stdin"] == ""  # the job and token were read before; the student reads /dev/null
    assert not any(k.startswith(("PYTEST", "VIRTUAL_ENV")) for k in facts["env"])
    assert facts["as"] == 1024 << 20 and facts["cpu"] == 12 and facts["nofile"] == 256
    assert facts["fsize"] == 64 << 20
    limits = got["isolation"]["limits"]
    assert limits["memory_bytes"] == facts["as"] and limits["processes"] == facts["nproc"]
    assert got["json"]["isolation"] == got["isolation"]  # the report JSON carries it


def test_the_isolation_report_says_what_was_in_force(tmp_path):
    got = grade_probe(tmp_path, """
        import socket
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=1).close()
            net = "connected"
        except OSError as exc:
            net = type(exc).__name__
        return {"net": net, "pid": os.getpid(), "uid": os.getuid()}
    """)
    facts, iso = got["facts"], got["isolation"]
    for key in ("pid_namespace", "network_blocked", "hidden_paths", "own_user", "process_limit_in_force",
                "limits", "process_group_killed_at_timeout", "wall_clock_seconds"):
        assert key in iso, key
    if iso["network_blocked"]:
        assert facts["net"] != "connected"
    assert iso["pid_namespace"] == (facts["pid"] == 1)
    if iso["own_user"]:
        assert facts["uid"] != 0 and iso["process_limit_in_force"]
    if os.geteuid() == 0 and Path("/usr/bin/unshare").exists() \
            and os.environ.get("NNLEARN_GRADING_NO_NAMESPACES") != "1":
        # This machine (root, util-linux) should give the full set; say so loudly if it ever does not.
        assert iso["pid_namespace"] and iso["network_blocked"] and iso["own_user"], iso


def test_the_child_cannot_write_outside_its_directory_as_its_own_user(tmp_path):
    target = tmp_path / "owned_by_the_grader.txt"
    target.write_text("grader")
    got = grade_probe(tmp_path, f"""
        try:
            with open({str(target)!r}, "w") as f:
                f.write("student")
            return {{"wrote": True}}
        except OSError:
            return {{"wrote": False}}
    """)
    if not got["isolation"]["own_user"]:
        pytest.skip("the child runs as the grader's own user here")
    assert got["facts"] == {"wrote": False} and target.read_text() == "grader"


# --- which statements run --------------------------------------------------------------------------------

def _chosen(cells, names):
    code = select_answers(cells, names)
    return {n: [ast.unparse(s) for s in m.body] for n, m in code.cells}, code


def test_only_the_answers_and_what_they_need_are_chosen():
    cells = [(1, "import numpy as np\nimport os\nW = np.ones(3)\nUNUSED = os._exit(0)\n"),
             (2, "def helper(x):\n    return x @ W\n\ndef junk():\n    while True: pass\n"),
             (3, "def answer(x):\n    w = 5  # a local, not the global w\n    return helper(x) + w\n"),
             (4, "w = answer(1)\nprint(w)\nwhile True:\n    pass\n"),
             (5, "class Model(Base):\n    scale = SCALE\n"), (6, "SCALE = 2\nBase = object\n")]
    chosen, code = _chosen(cells, ["answer", "missing_one"])
    assert chosen == {1: ["import numpy as np", "W = np.ones(3)"],
                      2: ["def helper(x):\n    return x @ W"],
                      3: [ast.unparse(ast.parse(cells[2][1]).body[0])]}
    assert code.found == ["answer"] and code.missing == ["missing_one"]
    chosen, _ = _chosen(cells, ["Model"])
    assert chosen == {5: ["class Model(Base):\n    scale = SCALE"], 6: ["SCALE = 2", "Base = object"]}


def test_the_last_definition_wins_and_earlier_bindings_serve_definition_time_uses():
    cells = [(1, "import numpy as np\nK = np.float64(2)\n"), (2, "def f(x):\n    return K * x\n"),
             (3, "def f(x):\n    return 3 * x\n"), (4, "import numpy as np\n"),
             (5, "x = [1, 2\n")]  # a syntax error: reported, nothing else lost
    chosen, code = _chosen(cells, ["f", "K"])
    assert chosen == {1: ["import numpy as np", "K = np.float64(2)"], 3: ["def f(x):\n    return 3 * x"],
                      4: ["import numpy as np"]}
    assert [n for n, _ in code.errors] == [5] and "SyntaxError" in code.errors[0][1]


def test_answer_names_come_from_how_tests_use_nb():
    source = textwrap.dedent("""
        def helper(nb, x):
            return nb.first(x)

        def test_a(nb):
            nb.second(nb["third"], getattr(nb, "fourth"))
            other.not_an_answer()

        class Op(Function):
            def forward(ctx, x):             # a helper's first parameter is not the notebook
                ctx.save_for_backward(x)
                return x.copy()
    """)
    assert sorted(answer_names(source)) == ["first", "fourth", "second", "third"]


# --- the guard -------------------------------------------------------------------------------------------

def test_the_guard_restores_tools_and_makes_answers_plain():
    guard = ModuleGuard()
    real_allclose, real_len = np.allclose, len
    try:
        np.allclose = lambda *a, **k: True
        import builtins
        builtins.len = lambda obj: 0
        np.brand_new_tool = lambda: None
        guard.restore()
        assert np.allclose is real_allclose and builtins.len is real_len
        assert not hasattr(np, "brand_new_tool")
    finally:
        np.allclose = real_allclose
        builtins.len = real_len

    class Lying(np.ndarray):
        def __eq__(self, other):
            return True

    lie = np.arange(3.0).view(Lying)
    got = plain((lie, [np.float64(1.5)], {"k": lie}), guard)
    assert type(got[0]) is np.ndarray and np.array_equal(got[0], [0.0, 1.0, 2.0])
    assert type(got[1]) is list and type(got[2]["k"]) is np.ndarray

    class MyFloat(float):
        def __eq__(self, other):
            return True

    assert type(plain(MyFloat(2.5), guard)) is float and plain(MyFloat(2.5), guard) != 3

    class Yes:
        def __eq__(self, other):
            return True

    with pytest.raises(TypeError, match="redefines comparisons"):
        plain(Yes(), guard)

    class Honest:  # no lying dunders: handed over as it is (a model, a Function subclass ...)
        pass

    h = Honest()
    assert plain(h, guard) is h
