"""The book's configuration and chapter notebooks are in the shape ``make book`` relies on.

Checked without executing anything (execution is nbval's and Jupyter Book's job):

- ``_toc.yml`` and ``book/`` agree: every chapter file exists, every notebook in ``book/`` is listed, in chapter order;
- notebooks are stored clean (no outputs, no execution counts), use the ``python3`` kernel, and start with a
  seed cell (``nnlearn.manual_seed(<int>)`` in the first code cell; NumPy generators always get a seed);
- ``_config.yml`` executes with a cache, stops the build on a failing cell, builds only the TOC's files, and
  asks for nothing from the network at build time.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat not installed: book checks skipped")
yaml = pytest.importorskip("yaml", reason="PyYAML not installed: book checks skipped")

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTER_NAME = re.compile(r"^\d{2}_[a-z0-9_]+$")          # NN_slug
SEED_CALL = re.compile(r"\bnnlearn\.manual_seed\(\s*\d+\s*\)")
UNSEEDED_NUMPY = re.compile(r"default_rng\(\s*\)|np\.random\.(seed|rand|randn|randint|normal|uniform|choice|shuffle|permutation)\(")


def _load_yaml(name: str) -> dict:
    path = ROOT / name
    assert path.is_file(), f"{name} is missing at the repository root"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{name} must be a YAML mapping, got {type(data).__name__}"
    return data


def _toc_entries(toc: dict) -> list[str]:
    """Every ``file:`` of the TOC in reading order, root first (chapters, or parts with chapters)."""
    entries = [toc["root"]]

    def walk(items):
        for item in items or []:
            if "file" in item:
                entries.append(item["file"])
            walk(item.get("sections"))

    walk(toc.get("chapters"))
    for part in toc.get("parts") or []:
        walk(part.get("chapters"))
    return entries


def _resolve(entry: str) -> Path | None:
    """The file a TOC entry (a path without extension) names, or None."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{entry}{suffix}"
        if path.is_file():
            return path
    return None


def _notebooks() -> list[Path]:
    return sorted(p for p in BOOK.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


NOTEBOOKS = _notebooks()


# ---------------------------------------------------------------------- _toc.yml <-> book/

def test_toc_is_a_jupyter_book_with_the_preface_as_root():
    toc = _load_yaml("_toc.yml")
    assert toc.get("format") == "jb-book", f"_toc.yml format must be 'jb-book', got {toc.get('format')!r}"
    assert toc.get("root") == "book/intro", f"_toc.yml root must be 'book/intro', got {toc.get('root')!r}"


def test_every_toc_entry_exists_once():
    entries = _toc_entries(_load_yaml("_toc.yml"))
    missing = [e for e in entries if _resolve(e) is None]
    assert not missing, f"_toc.yml lists files that do not exist (as .ipynb or .md): {missing}"
    duplicates = sorted({e for e in entries if entries.count(e) > 1})
    assert not duplicates, f"_toc.yml lists these files more than once: {duplicates}"
    with_suffix = [e for e in entries if e.endswith((".ipynb", ".md"))]
    assert not with_suffix, f"_toc.yml entries are written without an extension, got {with_suffix}"


def test_every_book_notebook_is_in_the_toc_and_vice_versa():
    entries = _toc_entries(_load_yaml("_toc.yml"))
    listed = {_resolve(e) for e in entries} - {None}
    on_disk = set(NOTEBOOKS) | set(BOOK.glob("*.md"))
    unlisted = sorted(p.relative_to(ROOT).as_posix() for p in on_disk - listed)
    assert not unlisted, f"files in book/ that _toc.yml does not list (they would not be built): {unlisted}"
    outside = sorted(p.relative_to(ROOT).as_posix() for p in listed if p.parent != BOOK)
    assert not outside, f"_toc.yml lists files outside book/: {outside}"


def test_chapters_are_named_and_ordered_by_number():
    # Chapters are notebooks; Markdown pages after them (the instructors' appendix) are not numbered.
    entries = _toc_entries(_load_yaml("_toc.yml"))[1:]
    chapters = [Path(e).name for e in entries if (path := _resolve(e)) is not None and path.suffix == ".ipynb"]
    badly_named = [c for c in chapters if not CHAPTER_NAME.match(c)]
    assert not badly_named, f"chapter files must be named NN_slug (two digits, lower case), got {badly_named}"
    numbers = [int(c[:2]) for c in chapters]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), (
        f"chapters must appear in _toc.yml in increasing chapter order, got {chapters}")


# ---------------------------------------------------------------------- the notebooks

def test_there_are_chapter_notebooks():
    assert NOTEBOOKS, "book/ holds no chapter notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_and_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} have outputs or execution counts; "
                       "strip them before committing (the book build executes the notebooks)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_python3_kernel(path):
    nb = nbformat.read(path, as_version=4)
    name = nb.metadata.get("kernelspec", {}).get("name")
    assert name == "python3", f"{path.name}: kernelspec name must be 'python3', got {name!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_a_title_and_a_seed_cell(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0] if nb.cells else None
    assert first is not None and first.cell_type == "markdown" and first.source.lstrip().startswith("# "), (
        f"{path.name}: the first cell must be a markdown cell starting with the chapter title ('# ...')")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells, f"{path.name}: has no code cells"
    assert SEED_CALL.search(code_cells[0].source), (
        f"{path.name}: the first code cell must seed the library with nnlearn.manual_seed(<int>); "
        f"it reads:\n{code_cells[0].source}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_draws_randomness_only_from_seeded_generators(path):
    nb = nbformat.read(path, as_version=4)
    offending = [(i, m.group(0)) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                 for m in UNSEEDED_NUMPY.finditer(cell.source)]
    assert not offending, (f"{path.name}: use a seeded np.random.default_rng(<seed>) or nnlearn's generator, "
                           f"not the global NumPy state or an unseeded generator; found (cell, call): {offending}")


# ---------------------------------------------------------------------- _config.yml

def test_config_title_and_toc_only_build():
    config = _load_yaml("_config.yml")
    assert config.get("title") == "nnlearn — Neural networks, from the inside"
    assert config.get("only_build_toc_files") is True, "only the files in _toc.yml may be built"
    excluded = set(config.get("exclude_patterns") or [])
    needed = {".venv", "exercises", "solutions", "tests", "_build"}
    assert needed <= excluded, f"exclude_patterns must contain {sorted(needed)}, missing {sorted(needed - excluded)}"


def test_config_executes_with_cache_and_fails_on_a_cell_error():
    config = _load_yaml("_config.yml")
    execute = config.get("execute") or {}
    assert execute.get("execute_notebooks") == "cache", (
        f"execute.execute_notebooks must be 'cache', got {execute.get('execute_notebooks')!r}")
    assert execute.get("allow_errors") is False, "execute.allow_errors must be false"
    timeout = execute.get("timeout")
    assert isinstance(timeout, int) and 0 < timeout <= 600, f"execute.timeout must be 1..600 s per cell, got {timeout!r}"
    # Without raise_on_error a failing cell is only a warning and `jupyter-book build` still exits 0.
    assert execute.get("raise_on_error") is True, "execute.raise_on_error must be true"
    sphinx_config = (config.get("sphinx") or {}).get("config") or {}
    assert sphinx_config.get("nb_execution_raise_on_error") is True, (
        "sphinx.config.nb_execution_raise_on_error must be true")


def test_config_fetches_nothing_from_the_network():
    config = _load_yaml("_config.yml")
    launch = config.get("launch_buttons") or {}
    for key in ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url"):
        assert not launch.get(key), f"launch_buttons.{key} must be empty (no launch buttons), got {launch.get(key)!r}"
    assert not launch.get("thebe"), "launch_buttons.thebe must be false"
    html = config.get("html") or {}
    for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
        assert not html.get(key), f"html.{key} must be false"
    assert not (html.get("analytics") or {}).get("google_analytics_id"), "no analytics"
    sphinx = config.get("sphinx") or {}
    assert not (sphinx.get("config") or {}).get("intersphinx_mapping"), (
        "intersphinx_mapping would download inventories at build time")
