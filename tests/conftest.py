"""Shared test set-up: a headless matplotlib, and a fresh library seed for every test."""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
# The CUDA kernels run under Numba's CUDA simulator unless a real-GPU run is asked for with NNLEARN_CUDA=real.
# This must be decided before anything imports numba, hence here, at the very top of the test session.
if os.environ.get("NNLEARN_CUDA") != "real":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np
import pytest

import nnlearn


@pytest.fixture(autouse=True)
def _seed_everything():
    """Each test starts from the same library random state, so tests do not depend on their order."""
    nnlearn.manual_seed(0)
    yield


@pytest.fixture
def rng() -> np.random.Generator:
    """A NumPy generator for test data, independent of the library's own."""
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the reference the parity tests compare against; those tests skip, saying why, without it."""
    return pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")


def copy_from_torch(ours, theirs) -> None:
    """Load a torch module's state into ours; the state_dict keys (and their order) must be the same."""
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)
