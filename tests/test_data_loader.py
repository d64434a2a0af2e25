"""nnlearn.data: Dataset, TensorDataset and DataLoader."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import Tensor
from nnlearn.data import DataLoader, Dataset, TensorDataset, default_collate


def _epoch_ids(loader):
    """The sample ids of one epoch, in order: the loaders below put each sample's id in column 0 of X."""
    return np.concatenate([xb.numpy()[:, 0] for xb, _ in loader]).astype(int)


def _id_loader(n=10, **kwargs):
    X = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32)
    y = np.arange(n, dtype=np.int64)
    return DataLoader(TensorDataset(X, y), **kwargs)


# --------------------------------------------------------------------------- datasets
def test_tensor_dataset_items_and_length():
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    ds = TensorDataset(X, nnlearn.tensor(y))
    assert len(ds) == 6
    x0, y0 = ds[4]
    assert isinstance(x0, Tensor) and isinstance(y0, Tensor)
    np.testing.assert_array_equal(x0.numpy(), [8.0, 9.0])
    assert y0.item() == 4 and y0.dtype == np.int64 and x0.dtype == np.float32
    xs, ys = ds[1:3]
    assert xs.shape == (2, 2) and ys.shape == (2,)
    assert all(isinstance(t, Tensor) for t in ds.tensors)
    assert "6 samples" in repr(ds)


def test_tensor_dataset_lists_follow_the_tensor_dtype_rule():
    ds = TensorDataset([[0.5, 1.5], [2.5, 3.5]], [0, 1])
    assert ds.arrays[0].dtype == np.float32 and ds.arrays[1].dtype == np.int64


@pytest.mark.parametrize("args, match", [
    ((), "at least one array"),
    ((np.zeros((5, 2)), np.zeros(4)), r"tensors\[0\] has 5 rows but tensors\[1\] has 4"),
    ((np.zeros(3), np.float32(1.0)), r"tensors\[1\] must have at least one dimension"),
])
def test_tensor_dataset_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        TensorDataset(*args)


def test_dataset_base_class_asks_subclasses_for_len_and_getitem():
    class Empty(Dataset):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define __len__"):
        len(Empty())
    with pytest.raises(NotImplementedError, match="Empty must define __getitem__"):
        Empty()[0]


# --------------------------------------------------------------------------- batch counts
@pytest.mark.parametrize("n, batch_size, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (5, 5, True, [5]),
    (4, 10, False, [4]),
    (7, 1, False, [1] * 7),
])
def test_batch_count_and_sizes(n, batch_size, drop_last, sizes):
    loader = _id_loader(n, batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [len(xb) for xb, _ in loader] == sizes


def test_len_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")
    for n in (1, 7, 64, 65, 100):
        for batch_size in (1, 8, 32, 64):
            for drop_last in (False, True):
                if drop_last and n < batch_size:
                    continue  # nnlearn refuses this case (no batches at all); see test_errors
                ours = _id_loader(n, batch_size=batch_size, drop_last=drop_last)
                theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(n, 2)),
                                                     batch_size=batch_size, drop_last=drop_last)
                assert len(ours) == len(theirs), (n, batch_size, drop_last)


# --------------------------------------------------------------------------- order and shuffling
def test_unshuffled_batches_are_in_order_and_rows_stay_matched():
    loader = _id_loader(10, batch_size=4)
    ids = _epoch_ids(loader)
    np.testing.assert_array_equal(ids, np.arange(10))
    for xb, yb in loader:
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy())
        np.testing.assert_array_equal(xb.numpy()[:, 1], -yb.numpy())


@pytest.mark.parametrize("seed", [None, 0])
def test_shuffled_epoch_sees_every_sample_once_and_epochs_differ(seed):
    loader = _id_loader(50, batch_size=8, shuffle=True, seed=seed)
    first, second = _epoch_ids(loader), _epoch_ids(loader)
    np.testing.assert_array_equal(np.sort(first), np.arange(50))
    np.testing.assert_array_equal(np.sort(second), np.arange(50))
    assert not np.array_equal(first, np.arange(50))
    assert not np.array_equal(first, second)
    for xb, yb in loader:  # shuffling moves whole rows: X and y stay paired
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy())


def test_drop_last_sees_each_sample_at_most_once():
    loader = _id_loader(50, batch_size=8, shuffle=True, drop_last=True, seed=1)
    ids = _epoch_ids(loader)
    assert len(ids) == 48 and len(np.unique(ids)) == 48


def test_int_seed_repeats_the_sequence_of_epochs_whatever_the_global_state():
    a = _id_loader(30, batch_size=7, shuffle=True, seed=5)
    b = _id_loader(30, batch_size=7, shuffle=True, seed=5)
    epochs_a = [_epoch_ids(a) for _ in range(3)]
    nnlearn.manual_seed(123)
    epochs_b = [_epoch_ids(b) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b):
        np.testing.assert_array_equal(ea, eb)
    c = _id_loader(30, batch_size=7, shuffle=True, seed=6)
    assert not np.array_equal(_epoch_ids(c), epochs_a[0])


def test_seed_none_follows_manual_seed():
    nnlearn.manual_seed(7)
    loader = _id_loader(30, batch_size=4, shuffle=True)
    run1 = [_epoch_ids(loader) for _ in range(2)]
    nnlearn.manual_seed(7)
    run2 = [_epoch_ids(loader) for _ in range(2)]
    for e1, e2 in zip(run1, run2):
        np.testing.assert_array_equal(e1, e2)
    # the order is drawn from the library generator, so drawing from it in between changes the next epoch
    nnlearn.manual_seed(7)
    nnlearn.get_rng().random()
    assert not np.array_equal(_epoch_ids(loader), run1[0])


def test_order_is_drawn_when_the_epoch_starts():
    nnlearn.manual_seed(2)
    loader = _id_loader(20, batch_size=5, shuffle=True)
    epoch = iter(loader)  # draws the permutation now
    nnlearn.get_rng().random()  # later draws must not change this epoch
    ids = np.concatenate([xb.numpy()[:, 0] for xb, _ in epoch]).astype(int)
    nnlearn.manual_seed(2)
    np.testing.assert_array_equal(ids, _epoch_ids(loader))


# --------------------------------------------------------------------------- general datasets and collation
class _Squares(Dataset):
    """A map-style data set written the way a learner would: returns NumPy/Python values, not Tensors."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float64), i % 2


def test_general_dataset_is_collated_into_tensors():
    batches = list(DataLoader(_Squares(), batch_size=3))
    assert len(batches) == 3
    xb, yb = batches[0]
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    assert xb.shape == (3, 2) and xb.dtype == np.float64  # NumPy arrays keep their dtype
    assert yb.shape == (3,) and yb.dtype == np.int64
    np.testing.assert_array_equal(xb.numpy(), [[0, 0], [1, 1], [2, 4]])
    assert batches[2][0].shape == (1, 2)


def test_subclass_of_tensor_dataset_takes_the_general_path_and_agrees_with_the_fast_one():
    calls = []

    class Logged(TensorDataset):
        def __getitem__(self, index):
            calls.append(index)
            return super().__getitem__(index)

    X = np.random.default_rng(0).normal(size=(11, 3)).astype(np.float32)
    y = np.arange(11)
    fast = list(DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, seed=3))
    slow = list(DataLoader(Logged(X, y), batch_size=4, shuffle=True, seed=3))
    assert len(calls) == 11  # the override was honoured, one call per sample
    for (xf, yf), (xs, ys) in zip(fast, slow):
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())
        assert xf.dtype == xs.dtype and yf.dtype == ys.dtype


def test_default_collate_structures_and_python_numbers():
    batch = default_collate([{"x": 0.5, "n": 1}, {"x": 1.5, "n": 2}])
    assert batch["x"].dtype == nnlearn.get_default_dtype() and batch["n"].dtype == np.int64
    single = default_collate([np.zeros((2, 2)), np.ones((2, 2))])
    assert isinstance(single, Tensor) and single.shape == (2, 2, 2)
    assert default_collate([np.float64(1.0), np.float64(2.0)]).dtype == np.float64
    with pytest.raises(ValueError, match=r"same shape to be stacked, got \[\(2,\), \(3,\)\]"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="same number of fields"):
        default_collate([(1, 2), (1,)])


def test_bare_array_dataset_yields_single_tensors():
    batches = list(DataLoader(np.arange(10.0).reshape(5, 2), batch_size=2))
    assert [b.shape for b in batches] == [(2, 2), (2, 2), (1, 2)]
    assert isinstance(batches[0], Tensor)


def test_from_arrays_and_repr():
    X = np.zeros((10, 2), dtype=np.float32)
    y = np.zeros(10, dtype=np.int64)
    loader = DataLoader.from_arrays(X, y, batch_size=4, shuffle=True, seed=0)
    assert isinstance(loader.dataset, TensorDataset) and len(loader) == 3
    assert [t.shape for t in next(iter(loader))] == [(4, 2), (4,)]
    assert "3 batches" in repr(loader)


@pytest.mark.parametrize("make, error, match", [
    (lambda: _id_loader(10, batch_size=0), ValueError, "batch_size must be an int >= 1, got 0"),
    (lambda: _id_loader(10, batch_size=2.0), TypeError, r"batch_size must be an int >= 1, got 2.0 \(float\)"),
    (lambda: _id_loader(10, batch_size=True), TypeError, "batch_size must be an int"),
    (lambda: _id_loader(10, shuffle="yes"), TypeError, "shuffle must be True or False, got 'yes'"),
    (lambda: _id_loader(10, drop_last=1), TypeError, "drop_last must be True or False"),
    (lambda: _id_loader(10, shuffle=True, seed=-3), ValueError, "seed must be an int >= 0, got -3"),
    (lambda: _id_loader(10, batch_size=16, drop_last=True), ValueError,
     "drop_last=True with batch_size=16 larger than len\\(dataset\\)=10 would give no batches"),
    (lambda: DataLoader(TensorDataset(np.zeros((0, 2)))), ValueError, r"dataset is empty \(len\(dataset\) == 0\)"),
    (lambda: DataLoader([]), ValueError, "dataset is empty"),
    (lambda: DataLoader((np.zeros((4, 2)), np.zeros(4))), TypeError, r"wrap them as TensorDataset\(X, y\)"),
    (lambda: DataLoader(42), TypeError, "dataset must have __len__ and __getitem__.*got int"),
])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
