"""Image data sets for the learning rules of dynaxx_neuro.

The local, backprop-free learning rules are benchmarked on small image
classification sets.  This module turns each of them into one `Dataset`:
flattened float64 images in [0, 1] and int64 labels 0..n_classes-1, with the
image shape kept for plotting receptive fields.

* ``digits``: scikit-learn's 8x8 digits, a fixed stratified 80/20 split.
* ``fashion-mnist``: 28x28 IDX files, by default from Debian's package
  dataset-fashion-mnist (``/usr/share/datasets/fashion-mnist``).
* ``mnist``: 28x28 IDX files from a folder the user names (``--data-dir``).

It also provides `read_idx` (plain or gzipped IDX files), `check_arrays` for
user-supplied arrays, a stratified, seeded `validation_split`, and `Splits` /
`prepare_splits`: the train/validation/test arrays a training run streams.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASET_NAMES = ("digits", "fashion-mnist", "mnist")
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_HOW_TO_GET = {
    "fashion-mnist": "install Debian's package dataset-fashion-mnist "
                     "(apt-get install dataset-fashion-mnist) or pass "
                     "--data-dir DIR holding the IDX files",
    "mnist": "download the four IDX files of MNIST into DIR and pass "
             "--data-dir DIR",
}
# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4",
               0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test image classification set (x: (N, n_features) float64 in
    [0, 1]; y: (N,) int64 in 0..n_classes-1; image_shape: (rows, cols))."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, int]

    def __post_init__(self):
        n_features = math.prod(self.image_shape)
        for part in ("train", "test"):
            x, y = check_arrays(getattr(self, "x_" + part),
                                getattr(self, "y_" + part), n_features,
                                name="x_" + part, y_name="y_" + part)
            if y.size and y.max() >= self.n_classes:
                raise ValueError(f"y_{part} holds label {y.max()}, but "
                                 f"n_classes={self.n_classes} allows only "
                                 f"0..{self.n_classes - 1}.")
            object.__setattr__(self, "x_" + part, x)
            object.__setattr__(self, "y_" + part, y)

    @property
    def n_features(self) -> int:
        """Number of pixels per flattened image."""
        return self.x_train.shape[1]


def check_arrays(x, y, n_features=None, name="x", y_name="y"):
    """Validate samples `x` and labels `y`; return them as float64 and int64.

    x must be 2-D (samples x features), float-convertible and finite; y must
    be 1-D integer labels >= 0 with len(y) == len(x); if `n_features` is given
    x must have that many columns.  Errors are ValueErrors naming the argument.
    """
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be convertible to a float array, but "
                         f"conversion failed ({exc}).") from None
    if x.ndim != 2:
        raise ValueError(f"{name} has shape {x.shape}, but must be 2-D "
                         f"(samples x features).")
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(f"{name} has shape {x.shape}, but must have "
                         f"{n_features} features per sample.")
    if not np.all(np.isfinite(x)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        raise ValueError(f"{name}[{bad[0]}, {bad[1]}] is {x[bad]}, but all "
                         f"entries must be finite.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{y_name} has shape {y.shape}, but must be 1-D "
                         f"(one label per sample).")
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise ValueError(f"{y_name} has dtype {y.dtype}, but must hold "
                         f"integer labels.")
    if y.size and y.min() < 0:
        i = int(np.argmin(y))
        raise ValueError(f"{y_name}[{i}] is {y[i]}, but labels must be >= 0.")
    if len(y) != len(x):
        raise ValueError(f"{y_name} has {len(y)} labels, but {name} has "
                         f"{len(x)} samples; the counts must be equal.")
    return x, y.astype(np.int64)


def validation_split(x, y, fraction, seed):
    """Split (x, y) into (x_tr, y_tr, x_val, y_val), stratified by label.

    About `fraction` of each class goes to validation (at least one sample of
    every class with two or more, never all of a class); both parts are
    shuffled with numpy.random.default_rng(seed), so the split is
    deterministic given the seed.  fraction must lie strictly in (0, 1).
    """
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.number))
            or not 0.0 < fraction < 1.0):
        raise ValueError(f"fraction is {fraction!r}, but must be a number "
                         f"strictly between 0 and 1.")
    x, y = check_arrays(x, y)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_val = min(max(int(round(fraction * len(idx))), 1), len(idx) - 1)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    train = rng.permutation(np.concatenate(train))
    val = rng.permutation(np.concatenate(val))
    if val.size == 0:
        raise ValueError(f"y holds {len(y)} labels with no class of two or "
                         f"more samples, so no stratified validation part can "
                         f"be split off.")
    return x[train], y[train], x[val], y[val]


def read_idx(path) -> np.ndarray:
    """Read an IDX file, plain or gzip-compressed (e.g. *.gz), into an array.

    Checks the magic number (two zero bytes, a type code such as 0x08 for
    uint8, the number of dimensions) and that the payload size matches the
    shape in the header; a bad file raises ValueError naming it.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        if data[:2] == b"\x1f\x8b":  # gzip magic; an IDX file starts with 00 00
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"IDX file {path} is not a valid gzip file ({exc}).") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"IDX file {path} has bad magic number "
                         f"0x{data[:4].hex()}; expected 0x0000TTDD with a "
                         f"known type code TT (e.g. 08 for uint8).")
    ndim, offset = data[3], 4 + 4 * data[3]
    if ndim == 0 or len(data) < offset:
        raise ValueError(f"IDX file {path} has a header for {ndim} dimensions "
                         f"but only {len(data)} bytes in all.")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - offset != expected:
        raise ValueError(f"IDX file {path} has {len(data) - offset} payload "
                         f"bytes, but its header shape {shape} needs {expected}.")
    return np.frombuffer(data, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(name: str, folder: Path, stem: str) -> Path:
    """Return the existing file for `stem` in `folder` (plain, .gz, dotted)."""
    dotted = stem.replace("-idx", ".idx", 1)
    for candidate in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    raise FileNotFoundError(f"{name} file {stem} (or {stem}.gz) is missing in "
                            f"{folder}; {_HOW_TO_GET[name]}.")


def _load_idx_split(name: str, folder: Path, images_stem: str, labels_stem: str):
    images_path = _find_idx(name, folder, images_stem)
    labels_path = _find_idx(name, folder, labels_stem)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"IDX file {images_path} holds {images.dtype} images of "
                         f"shape {images.shape}, but must hold uint8 28x28 images.")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"IDX file {labels_path} holds {labels.dtype} labels of "
                         f"shape {labels.shape}, but must hold 1-D uint8 labels.")
    if len(images) != len(labels):
        raise ValueError(f"IDX file {images_path} holds {len(images)} images, but "
                         f"{labels_path} holds {len(labels)} labels.")
    if labels.size and labels.max() > 9:
        raise ValueError(f"IDX file {labels_path} holds label {labels.max()}, but "
                         f"labels must be in 0..9.")
    return images.reshape(len(images), -1) / 255.0, labels.astype(np.int64)


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load the data set `name` (one of DATASET_NAMES) as a `Dataset`.

    digits is built into scikit-learn and refuses a `data_dir` (which it would
    otherwise ignore); fashion-mnist reads IDX files from `data_dir` (default
    /usr/share/datasets/fashion-mnist); mnist needs `data_dir`. Missing folders
    or files raise FileNotFoundError, bad files ValueError.
    """
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r}; choose one of: "
                         f"{', '.join(DATASET_NAMES)}.")
    if name == "digits" and data_dir is not None:
        raise ValueError(f"--data-dir {str(data_dir)!r} applies to fashion-mnist and mnist "
                         "only; digits are built into scikit-learn, so leave it out.")
    if name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        x, y = digits.data.astype(np.float64) / 16.0, digits.target.astype(np.int64)
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y,
                                                  random_state=0)
        return Dataset(name, x_tr, y_tr, x_te, y_te, 10, (8, 8))
    if data_dir is None:
        if name == "mnist":
            raise ValueError(f"mnist has no default data folder; "
                             f"{_HOW_TO_GET['mnist']}.")
        data_dir = FASHION_MNIST_DIR
    folder = Path(data_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{name} data folder {folder} does not exist; "
                                f"{_HOW_TO_GET[name]}.")
    x_tr, y_tr = _load_idx_split(name, folder, IDX_STEMS[0], IDX_STEMS[1])
    x_te, y_te = _load_idx_split(name, folder, IDX_STEMS[2], IDX_STEMS[3])
    return Dataset(name, x_tr, y_tr, x_te, y_te, 10, (28, 28))


@dataclass(frozen=True, eq=False)
class Splits:
    """The arrays of a training run: a validation part held out of the training
    split for tuning, and the test split, which is only reported. `seed` is the
    run seed that chose the validation part (rules draw their data subsets from
    it too); `name` is the data set's (what messages about the data call it)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, int]
    seed: int = 0
    name: str = ""

    def targets(self, y: np.ndarray) -> np.ndarray:
        """One-hot targets (N, n_classes) of labels y."""
        return np.eye(self.n_classes)[y]

    def first_train(self, n: int | None) -> "Splits":
        """These splits with only the first ``n`` training samples (all when None)."""
        if n is None:
            return self
        return dataclasses.replace(self, x_train=self.x_train[:n], y_train=self.y_train[:n])


def prepare_splits(name: str, data_dir=None, validation: float = 0.1,
                   seed: int = 0) -> Splits:
    """Load a dataset and hold out a stratified `validation` fraction of its
    training split (none when 0), chosen by `seed`."""
    data = load_dataset(name, data_dir)
    x_train, y_train = data.x_train, data.y_train
    if validation == 0:
        x_val, y_val = x_train[:0], y_train[:0]
    else:
        x_train, y_train, x_val, y_val = validation_split(x_train, y_train,
                                                          validation, seed)
    return Splits(x_train, y_train, x_val, y_val, data.x_test, data.y_test,
                  data.n_classes, data.image_shape, seed, name)
