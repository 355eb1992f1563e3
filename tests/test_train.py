"""The training loop: run folder contents, checkpoint/resume equality, divergence stop."""

import numpy as np
import pytest

from dynaxx_neuro import train
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.networks.ep_common import EPParameters, n_train_batches
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.train_ep import config_from_dict, train_ep
from dynaxx_neuro.records import RunDir

SMALL = dict(dataset="digits", hidden=(16,), backend="numpy", t_free=6, t_nudge=2,
             batch_size=20, show_progress=False)


def test_a_run_folder_holds_config_metrics_energies_and_checkpoints(tmp_path):
    run = train_ep(epochs=2, out=tmp_path / "run", **SMALL)
    info = run.info()
    assert info["config"]["sizes"] == [64, 16, 10]
    assert info["final_metrics"]["epoch"] == 1
    assert 0.2 < info["final_metrics"]["test_accuracy"] <= 1.0  # chance is 0.1
    metrics = run.read_table("metrics")
    assert list(metrics["split"][:3]) == ["train", "val", "test"]
    assert np.all(metrics["peak_rss_mb"] > 0)
    energy = run.read_table("energy")
    period = 1 + 6 + 2 + 1 + 2
    assert len(energy["F"]) == 2 * 2 * period * 20  # epochs x logged batches x steps x B
    assert set(energy["phase"]) == {"free", "nudged", "nudged_neg"}
    assert run.last_checkpoint()[0] == 1


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    whole = train_ep(epochs=3, out=tmp_path / "whole", **SMALL)
    part = train_ep(epochs=1, out=tmp_path / "part", **SMALL)
    train.resume(part.path, epochs=3, show_progress=False)
    epoch_whole, arrays_whole = whole.last_checkpoint()
    epoch_part, arrays_part = RunDir.open(part.path).last_checkpoint()
    assert epoch_whole == epoch_part == 2
    for name, value in arrays_whole.items():
        np.testing.assert_array_equal(arrays_part[name], value)
    np.testing.assert_array_equal(RunDir.open(part.path).read_table("metrics")["accuracy"],
                                  whole.read_table("metrics")["accuracy"])


class _DivergingRunner:
    """Trains normally for one epoch, then reports NaN weights."""

    def __init__(self, inner):
        self.inner = inner

    def run_epoch(self, epoch, progress=None):
        if epoch == 0:
            return self.inner.run_epoch(epoch, progress)
        return EpochResult.divergence(0.1)

    def parameters(self):
        return self.inner.parameters()


def test_divergence_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    from dynaxx_neuro.networks.ep_numpy import EPNumpyRunner
    run = train_ep(epochs=0, out=tmp_path / "run", **SMALL)
    info = run.info()
    config = config_from_dict(info["config"])
    data = prepare_splits("digits", None, 0.1, config.seed)
    params = EPParameters.initial(config.sizes, np.random.default_rng(0))
    runner = _DivergingRunner(EPNumpyRunner(config, data, params))
    with pytest.raises(train.TrainingDiverged, match="epoch 2"):
        train.fit(runner, run, data, 0, 3, n_train_batches(len(data.x_train), config.batch_size),
                  config.batch_size, False)
    assert run.last_checkpoint()[0] == 0
    assert set(run.read_table("metrics")["epoch"]) == {0}


def test_numpy_training_reports_divergence_on_nan_weights(tmp_path, monkeypatch):
    from dynaxx_neuro.kernels import ep
    monkeypatch.setattr(ep, "contrastive_dw",
                        lambda post_a, pre_a, *rest: np.full((post_a.shape[1], pre_a.shape[1]),
                                                             np.nan))
    with pytest.raises(train.TrainingDiverged, match="diverged in epoch 1"):
        train_ep(epochs=1, out=tmp_path / "run", **SMALL)
    assert RunDir.open(tmp_path / "run").last_checkpoint() is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(epochs=-1), "epochs"),
    (dict(hidden=(0,)), "hidden size"),
    (dict(validation=1.0), "validation"),
    (dict(backend="gpu"), "backend"),
    (dict(dataset="cifar"), "unknown dataset"),
    (dict(lrs=(0.1,)), "lrs"),
])
def test_bad_training_arguments_fail_with_one_sentence(tmp_path, kwargs, message):
    arguments = {**SMALL, "epochs": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        train_ep(out=tmp_path / "run", **arguments)


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a run folder"):
        train.resume(tmp_path)
    with pytest.raises(ValueError, match="not a run folder"):
        train.evaluate_run(tmp_path)


def test_a_run_whose_data_does_not_fit_its_network_is_refused():
    info = {"dataset": "digits", "validation": 0.1}
    assert train.run_splits(info, 0, 64, 10).x_train.shape[1] == 64
    with pytest.raises(ValueError, match="has 64 features and 10 classes but the network "
                                         "expects 784 features and 10 classes"):
        train.run_splits(info, 0, 784, 10)
    with pytest.raises(ValueError, match="expects 784 features.$"):
        train.run_splits(info, 0, 784, None)
