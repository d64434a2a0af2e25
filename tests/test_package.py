"""Package-level promises: a light import, and the public names in place."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["numba", "matplotlib", "sklearn", "torch", "tqdm", "ipywidgets", "scipy"]


def test_import_nnlearn_loads_no_heavy_dependency():
    # `import nnlearn` must stay fast (< 0.5 s): Numba compiles lazily and plotting loads on first use.
    code = ("import sys, json, nnlearn; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    assert loaded == [], f"import nnlearn pulled in {loaded}"


def test_subpackages_load_on_first_use():
    import nnlearn
    for name in ("functional", "nn", "optim", "data", "train", "viz", "testing", "grading", "kernels", "tuning"):
        assert getattr(nnlearn, name).__name__ == f"nnlearn.{name}"
