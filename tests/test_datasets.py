"""Tests for dynaxx_neuro.datasets."""

import gzip
import os

import numpy as np
import pytest

from dynaxx_neuro.datasets import (
    DATASET_NAMES,
    Dataset,
    check_arrays,
    load_dataset,
    read_idx,
    validation_split,
)

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def idx_bytes(array, type_code=0x08):
    """Build the bytes of an IDX file holding `array` (big-endian payload)."""
    array = np.asarray(array)
    header = bytes([0, 0, type_code, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gz=False, type_code=0x08):
    data = idx_bytes(array, type_code)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def synthetic_mnist(folder, n_train=12, n_test=5, gz=False, seed=0, dotted=False):
    """Write the four MNIST IDX files into `folder`; return the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        name = stem.replace("-idx", ".idx", 1) if dotted else stem
        write_idx(folder / (name + (".gz" if gz else "")), array, gz=gz)
    return arrays


# -- digits -----------------------------------------------------------------

def test_digits_shapes_range_and_fixed_stratified_split():
    ds = load_dataset("digits")
    assert isinstance(ds, Dataset) and ds.name == "digits"
    assert ds.x_train.shape == (1437, 64) and ds.x_test.shape == (360, 64)
    assert ds.y_train.shape == (1437,) and ds.y_test.shape == (360,)
    assert ds.x_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    assert ds.image_shape == (8, 8) and ds.n_classes == 10 and ds.n_features == 64
    for x in (ds.x_train, ds.x_test):
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert ds.x_train.max() == 1.0
    # Stratified: class proportions of test match train within one sample.
    train_frac = np.bincount(ds.y_train, minlength=10) / len(ds.y_train)
    test_counts = np.bincount(ds.y_test, minlength=10)
    assert np.all(np.abs(test_counts - train_frac * len(ds.y_test)) <= 1.0)
    again = load_dataset("digits")
    assert np.array_equal(ds.x_train, again.x_train)
    assert np.array_equal(ds.y_test, again.y_test)


def test_dataset_is_frozen():
    ds = load_dataset("digits")
    with pytest.raises(AttributeError):
        ds.name = "other"


# -- IDX files ----------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_mnist_round_trip(tmp_path, gz):
    arrays = synthetic_mnist(tmp_path, gz=gz)
    ds = load_dataset("mnist", data_dir=tmp_path)
    assert ds.name == "mnist" and ds.image_shape == (28, 28) and ds.n_classes == 10
    assert ds.x_train.shape == (12, 784) and ds.x_test.shape == (5, 784)
    assert ds.x_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    np.testing.assert_allclose(
        ds.x_train, arrays["train-images-idx3-ubyte"].reshape(12, -1) / 255.0)
    np.testing.assert_allclose(
        ds.x_test, arrays["t10k-images-idx3-ubyte"].reshape(5, -1) / 255.0)
    np.testing.assert_array_equal(ds.y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_mnist_dotted_file_names(tmp_path):
    arrays = synthetic_mnist(tmp_path, dotted=True, gz=True)
    ds = load_dataset("mnist", str(tmp_path))
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_read_idx_other_types_and_gzip(tmp_path):
    values = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    out = read_idx(write_idx(tmp_path / "a.idx", values, type_code=0x0C))
    np.testing.assert_array_equal(out, values)
    floats = np.linspace(0, 1, 5)
    out = read_idx(write_idx(tmp_path / "b.idx.gz", floats, gz=True, type_code=0x0E))
    np.testing.assert_array_equal(out, floats)


def test_bad_magic_number(tmp_path):
    synthetic_mnist(tmp_path)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x07\x03" + bad.read_bytes()[4:])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*magic"):
        load_dataset("mnist", tmp_path)


def test_truncated_payload(tmp_path):
    synthetic_mnist(tmp_path, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-10]))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz.*payload"):
        load_dataset("mnist", tmp_path)


def test_truncated_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="short"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(5, np.uint8)))[:-12])
    with pytest.raises(ValueError, match="x.gz"):
        read_idx(path)


def test_labels_out_of_range(tmp_path):
    synthetic_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(12, 10, np.uint8))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*0..9"):
        load_dataset("mnist", tmp_path)


def test_count_mismatch(tmp_path):
    synthetic_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.*5 images"):
        load_dataset("mnist", tmp_path)


def test_wrong_image_size(tmp_path):
    synthetic_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((12, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*28x28"):
        load_dataset("mnist", tmp_path)


def test_missing_file(tmp_path):
    synthetic_mnist(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.*--data-dir DIR"):
        load_dataset("mnist", tmp_path)


def test_missing_file_fashion_hint(tmp_path):
    with pytest.raises(OSError, match="train-images-idx3-ubyte.*apt-get install "
                                      "dataset-fashion-mnist"):
        load_dataset("fashion-mnist", tmp_path)


def test_missing_folder(tmp_path):
    folder = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere.*does not exist"):
        load_dataset("mnist", folder)
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_dataset("fashion-mnist", folder)


def test_unknown_name():
    with pytest.raises(ValueError) as info:
        load_dataset("foo")
    assert str(info.value) == "unknown dataset 'foo'; choose one of: digits, fashion-mnist, mnist."
    assert DATASET_NAMES == ("digits", "fashion-mnist", "mnist")


def test_mnist_needs_data_dir():
    with pytest.raises(ValueError, match="--data-dir"):
        load_dataset("mnist")


@pytest.mark.skipif(not os.path.isdir(FASHION_DIR),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_real_files():
    ds = load_dataset("fashion-mnist")
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert ds.image_shape == (28, 28)
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert set(np.unique(ds.y_test)) == set(range(10))
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0


# -- validation_split -----------------------------------------------------------

def test_validation_split_stratified_deterministic_disjoint():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), [10, 20, 30, 40])
    x = np.column_stack([np.arange(100.0), rng.random(100)])  # column 0 = sample id
    x_tr, y_tr, x_val, y_val = validation_split(x, y, 0.2, seed=3)
    np.testing.assert_array_equal(np.bincount(y_val), [2, 4, 6, 8])
    np.testing.assert_array_equal(np.bincount(y_tr), [8, 16, 24, 32])
    ids_tr, ids_val = x_tr[:, 0].astype(int), x_val[:, 0].astype(int)
    assert not set(ids_tr) & set(ids_val)
    assert sorted(np.concatenate([ids_tr, ids_val])) == list(range(100))
    np.testing.assert_array_equal(y[ids_tr], y_tr)  # rows stay paired with labels
    again = validation_split(x, y, 0.2, seed=3)
    for a, b in zip((x_tr, y_tr, x_val, y_val), again):
        np.testing.assert_array_equal(a, b)
    other = validation_split(x, y, 0.2, seed=4)
    assert not np.array_equal(x_val, other[2])


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, float("nan"), "0.2", True])
def test_validation_split_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        validation_split(np.zeros((10, 2)), np.arange(10) % 2, fraction, seed=0)


# -- check_arrays ---------------------------------------------------------------

def test_check_arrays_accepts_and_converts():
    x, y = check_arrays([[0, 1], [2, 3]], np.array([1.0, 0.0]), n_features=2)
    assert x.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(y, [1, 0])


@pytest.mark.parametrize("x, y, kwargs, pattern", [
    ([[0.0, np.nan]], [0], {}, r"x\[0, 1\] is nan.*finite"),
    ([[0.0, np.inf]], [0], {"name": "x_train"}, r"x_train\[0, 1\] is inf"),
    ([0.0, 1.0], [0, 1], {}, r"x has shape \(2,\).*2-D"),
    (np.zeros((2, 2, 2)), [0, 1], {}, r"x has shape \(2, 2, 2\)"),
    (np.zeros((3, 2)), [0, 1], {}, r"y has 2 labels.*3 samples"),
    (np.zeros((2, 2)), [0, -1], {}, r"y\[1\] is -1.*>= 0"),
    (np.zeros((2, 2)), [[0, 1]], {}, r"y has shape \(1, 2\).*1-D"),
    (np.zeros((2, 2)), [0.5, 1.0], {}, r"y has dtype float64.*integer"),
    (np.zeros((2, 3)), [0, 1], {"n_features": 4}, r"x has shape \(2, 3\).*4 features"),
    ([["a", "b"]], [0], {}, r"x must be convertible"),
])
def test_check_arrays_errors(x, y, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_arrays(x, y, **kwargs)


def test_dataset_rejects_label_beyond_n_classes():
    with pytest.raises(ValueError, match="n_classes=2"):
        Dataset("toy", np.zeros((2, 4)), [0, 2], np.zeros((1, 4)), [0], 2, (2, 2))
