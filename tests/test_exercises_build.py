"""The exercise builder: solutions/ -> exercises/ (stubs, no outputs, public tests), and `--check`."""
from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from nnlearn.cli import main
from nnlearn.grading import BuildError, build_exercises, stale_exercises
from nnlearn.grading.builder import stub_solutions
from nnlearn.grading.notebook import cell_source, read_notebook

REPO = Path(__file__).resolve().parents[1]
SOLUTION_NOTEBOOKS = sorted((REPO / "solutions").glob("*.ipynb"))


def _functions(source: str) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)}


def _copy_course(tmp_path: Path) -> Path:
    """A private copy of the course's solutions (and exercises) to build in: the real ones stay untouched."""
    root = tmp_path / "course"
    shutil.copytree(REPO / "solutions", root / "solutions")
    if (REPO / "exercises").is_dir():
        shutil.copytree(REPO / "exercises", root / "exercises")
    return root


# --- stubbing one cell ---------------------------------------------------------------------------------

def test_stub_replaces_the_region_and_keeps_def_docstring_and_indentation():
    source = (
        "def f(x, y=2):\n"
        '    """Add. x: (N,)"""\n'
        "    z = 1\n"
        "    ### BEGIN SOLUTION\n"
        "    return x + y + z\n"
        "    ### END SOLUTION\n"
    )
    stubbed, count = stub_solutions(source)
    assert count == 1
    assert stubbed == (
        "def f(x, y=2):\n"
        '    """Add. x: (N,)"""\n'
        "    z = 1\n"
        '    raise NotImplementedError("f: replace this line with your answer")\n'
    )


def test_stub_finds_the_enclosing_function_through_nested_blocks_and_methods():
    source = (
        "class Model:\n"
        "    def fit(self,\n"
        "            X):\n"
        "        def helper():\n"
        "            return 1\n"
        "        if X is not None:\n"
        "            ### BEGIN SOLUTION\n"
        "            self.w = X\n"
        "            ### END SOLUTION\n"
        "        return self\n"
    )
    stubbed, count = stub_solutions(source)
    assert count == 1
    assert '            raise NotImplementedError("fit: replace this line with your answer")\n' in stubbed
    assert "self.w = X" not in stubbed and "return self" in stubbed
    compile(stubbed, "<stub>", "exec")


@pytest.mark.parametrize("source, message", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "line 2: BEGIN SOLUTION has no matching END"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "line 3: END SOLUTION without a BEGIN"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n",
     "line 3: BEGIN SOLUTION inside the region opened at line 2"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "must be inside a function body"),
    ("class A:\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION\n", "must be inside a function body"),
])
def test_unbalanced_or_misplaced_markers_are_errors(source, message):
    with pytest.raises(BuildError, match=message):
        stub_solutions(source, "nb.ipynb, cell 3")


def test_a_marker_typo_with_two_hashes_still_counts():
    # '## END SOLUTION' must not be taken for code: that would leak the answer into the exercise.
    stubbed, _ = stub_solutions("def f():\n    ### BEGIN SOLUTION\n    return 42\n    ## END SOLUTION\n")
    assert "42" not in stubbed


# --- the real course -----------------------------------------------------------------------------------

def test_there_is_at_least_one_solution_notebook():
    assert SOLUTION_NOTEBOOKS, "solutions/ holds no notebook"


@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=lambda p: p.name)
def test_solution_notebooks_are_stored_without_outputs(path):
    nb = read_notebook(path)
    for i, cell in enumerate(nb["cells"], start=1):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, f"cell {i} has outputs"


@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=lambda p: p.name)
def test_every_region_is_stubbed_and_every_signature_kept(path):
    built = {str(f.path): f.content for f in build_exercises(REPO)}
    exercise = json.loads(built[f"exercises/{path.name}"])
    solution = read_notebook(path)
    assert len(exercise["cells"]) == len(solution["cells"])
    stubbed_functions = 0
    for sol_cell, ex_cell in zip(solution["cells"], exercise["cells"]):
        sol_src, ex_src = cell_source(sol_cell), "".join(ex_cell["source"])
        assert "SOLUTION" not in ex_src
        if ex_cell["cell_type"] != "code":
            assert ex_src == sol_src
            continue
        assert ex_cell["outputs"] == [] and ex_cell["execution_count"] is None
        if "BEGIN SOLUTION" not in sol_src:
            assert ex_src == sol_src, "a cell without a solution region must be copied unchanged"
            continue
        assert ex_src.count("raise NotImplementedError(") == sol_src.count("BEGIN SOLUTION"), \
            "every region becomes exactly one stub"
        sol_defs, ex_defs = _functions(sol_src), _functions(ex_src)
        assert sol_defs.keys() == ex_defs.keys()
        for name, sol_def in sol_defs.items():
            ex_def = ex_defs[name]
            assert ast.dump(ex_def.args) == ast.dump(sol_def.args), f"{name}: signature changed"
            assert ast.get_docstring(ex_def) == ast.get_docstring(sol_def), f"{name}: docstring changed"
            last = ex_def.body[-1]
            if isinstance(last, ast.Raise):
                assert ast.unparse(last.exc).startswith("NotImplementedError(")
                stubbed_functions += 1
    assert stubbed_functions >= 3, "expected at least three exercises"
    last = exercise["cells"][-1]
    assert last["cell_type"] == "code" and "check(" in "".join(last["source"]), "last cell must be the check"


def test_build_is_deterministic_and_in_nbformat_canonical_form():
    first, second = build_exercises(REPO), build_exercises(REPO)
    assert [(f.path, f.content) for f in first] == [(f.path, f.content) for f in second]
    nbformat = pytest.importorskip("nbformat")
    for f in first:
        if f.path.suffix == ".ipynb":
            nb = nbformat.reads(f.content.decode(), as_version=4)
            nbformat.validate(nb)
            assert (nbformat.writes(nb) + "\n").encode() == f.content, f"{f.path} is not in canonical form"


def test_the_committed_exercises_are_up_to_date():
    assert stale_exercises(REPO) == [], "run `nnlearn exercises build` and commit exercises/"


# --- the command line, on a private copy of the course ----------------------------------------------------

def test_check_passes_after_a_build_and_fails_after_a_solution_edit(tmp_path, capsys):
    root = _copy_course(tmp_path)
    assert main(["exercises", "build", "--root", str(root)]) == 0
    assert main(["exercises", "build", "--check", "--root", str(root)]) == 0
    capsys.readouterr()

    name = SOLUTION_NOTEBOOKS[0].name
    nb = json.loads((root / "solutions" / name).read_text())
    nb["cells"][0]["source"] = ["# An edited title\n"]
    (root / "solutions" / name).write_text(json.dumps(nb))
    assert main(["exercises", "build", "--check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"exercises/{name}" in out

    # --check wrote nothing; a build brings the exercises back in sync.
    assert main(["exercises", "build", "--check", "--root", str(root)]) == 1
    assert main(["exercises", "build", "--root", str(root)]) == 0
    assert main(["exercises", "build", "--check", "--root", str(root)]) == 0


def test_check_notices_edited_tests_and_orphaned_exercises(tmp_path, capsys):
    root = _copy_course(tmp_path)
    assert main(["exercises", "build", "--root", str(root)]) == 0
    test_file = next((root / "solutions" / "tests").glob("*.py"))
    test_file.write_text(test_file.read_text() + "\n# edited\n")
    (root / "exercises" / "99_removed.ipynb").write_text("{}")
    capsys.readouterr()
    assert main(["exercises", "build", "--check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"exercises/tests/{test_file.name}" in out and "exercises/99_removed.ipynb" in out
    assert main(["exercises", "build", "--root", str(root)]) == 0
    assert not (root / "exercises" / "99_removed.ipynb").exists()
    assert stale_exercises(root) == []


def test_begin_without_end_fails_the_build_and_writes_nothing(tmp_path, capsys):
    root = _copy_course(tmp_path)
    shutil.rmtree(root / "exercises", ignore_errors=True)
    name = SOLUTION_NOTEBOOKS[0].name
    text = (root / "solutions" / name).read_text()
    assert "### END SOLUTION" in text
    (root / "solutions" / name).write_text(text.replace("### END SOLUTION", "# (end removed)", 1))
    assert main(["exercises", "build", "--root", str(root)]) == 2
    assert "BEGIN SOLUTION has no matching END SOLUTION" in capsys.readouterr().err
    assert not (root / "exercises").exists()


def test_a_solution_without_a_test_file_or_a_check_cell_is_an_error(tmp_path):
    root = _copy_course(tmp_path)
    name = SOLUTION_NOTEBOOKS[0]
    (root / "solutions" / "tests" / f"{name.stem}.py").unlink()
    with pytest.raises(BuildError, match=f"no test file solutions/tests/{name.stem}.py"):
        build_exercises(root)

    root = _copy_course(tmp_path / "again")
    nb = json.loads((root / "solutions" / name.name).read_text())
    nb["cells"] = nb["cells"][:-1]
    (root / "solutions" / name.name).write_text(json.dumps(nb))
    with pytest.raises(BuildError, match="the last cell must be the self-check cell"):
        build_exercises(root)


def test_build_outside_a_course_is_a_clear_error(tmp_path, capsys):
    assert main(["exercises", "build", "--root", str(tmp_path)]) == 2
    assert "no solutions/ directory" in capsys.readouterr().err
