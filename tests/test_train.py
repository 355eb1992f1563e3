"""The training loop on EP: run folder contents, checkpoint/resume equality, checkpoint
evaluation, divergence stop, bad input."""

import dataclasses
import re

import numpy as np
import pytest

from dynaxx_neuro import params as P
from dynaxx_neuro import train
from dynaxx_neuro.cycle import INIT, Launch, stream
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.records import RunDir
from dynaxx_neuro.rules.ep import EPConfig, EPParameters
from dynaxx_neuro.train import RunSettings

SMALL = EPConfig(hidden=(16,), schedule=ep.EPSchedule(t_free=6, t_nudge=2), batch_size=20)


def _settings(**changes) -> RunSettings:
    return RunSettings(**{"dataset": "digits", "backend": "numpy", **changes})


def _train(path, epochs: int, config: EPConfig = SMALL) -> RunDir:
    return train.train(config, _settings(epochs=epochs), out=path, show_progress=False)


def _one_sentence(message: str, error: Exception) -> bool:
    """Whether ``error`` says exactly ``message`` ("item*" stands for "item" or "items")."""
    return re.fullmatch(re.escape(message).replace("item\\*", "items?"), str(error)) is not None


def test_a_run_folder_holds_config_metrics_energies_and_checkpoints(tmp_path):
    run = _train(tmp_path / "run", 2)
    info = run.info()
    config = P.from_dict(info["config"])
    assert config == dataclasses.replace(SMALL, n_inputs=64, n_classes=10)  # from the data
    assert config.sizes == (64, 16, 10)
    assert P.from_dict(info["settings"]) == _settings(epochs=2)
    assert (info["rule"], info["backend"], info["tag"], info["seed"]) == ("ep", "numpy",
                                                                         "numpy", 0)
    assert info["final_metrics"]["epoch"] == 2  # epochs are numbered from 1
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
    whole = _train(tmp_path / "whole", 3)
    part = _train(tmp_path / "part", 1)
    train.resume(part.path, {"epochs": 3}, show_progress=False)
    epoch_whole, arrays_whole = whole.last_checkpoint()
    epoch_part, arrays_part = RunDir.open(part.path).last_checkpoint()
    assert epoch_whole == epoch_part == 2
    assert arrays_part.keys() == arrays_whole.keys()
    for name, value in arrays_whole.items():
        np.testing.assert_array_equal(arrays_part[name], value)
    np.testing.assert_array_equal(RunDir.open(part.path).read_table("metrics")["accuracy"],
                                  whole.read_table("metrics")["accuracy"])
    resumed = RunDir.open(part.path).info()
    assert resumed["epochs"] == 3 and P.from_dict(resumed["settings"]).epochs == 3
    assert resumed["final_metrics"] == whole.info()["final_metrics"]


def test_evaluating_a_checkpoint_gives_the_metrics_of_its_epoch(tmp_path):
    run = _train(tmp_path / "run", 2)
    metrics = train.evaluate_run(run.path)
    assert metrics["epoch"] == 2 and metrics["backend"] == "numpy"
    final = run.info()["final_metrics"]
    assert metrics["val_accuracy"] == final["val_accuracy"]
    assert metrics["test_accuracy"] == final["test_accuracy"]
    rows = run.read_table("metrics")
    last_test = (rows["epoch"] == 2) & (rows["split"] == "test")
    assert metrics["test_loss"] == pytest.approx(rows["loss"][last_test][0], abs=1e-9)
    with pytest.raises(ValueError, match="no checkpoint yet"):
        train.evaluate_run(_train(tmp_path / "untrained", 0).path)


class _DivergingRunner:
    """Trains normally for one epoch, then reports NaN weights."""

    def __init__(self, inner):
        self.inner = inner
        self.batches_per_epoch, self.batch_size = inner.batches_per_epoch, inner.batch_size

    def run_epoch(self, epoch, progress=None):
        if epoch == 0:
            return self.inner.run_epoch(epoch, progress)
        return EpochResult.divergence(0.1)

    def parameters(self):
        return self.inner.parameters()


def test_divergence_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    from dynaxx_neuro.networks.ep_numpy import EPNumpyRunner
    run = _train(tmp_path / "run", 0)
    info = run.info()
    config, settings = P.from_dict(info["config"]), P.from_dict(info["settings"])
    data = prepare_splits(settings.dataset, settings.data_dir, settings.validation,
                          settings.seed)
    params = EPParameters.initial(config, stream(settings.seed, INIT))
    runner = _DivergingRunner(EPNumpyRunner(config, data, params, Launch(settings.seed)))
    with pytest.raises(train.TrainingDiverged, match="diverged in epoch 2"):
        train.fit(runner, run, data, "train", 0, 3, show_progress=False)
    assert run.last_checkpoint()[0] == 0
    assert set(run.read_table("metrics")["epoch"]) == {1}


def test_numpy_training_reports_divergence_on_nan_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(ep, "contrastive_dw",
                        lambda post_a, pre_a, *rest: np.full((post_a.shape[1], pre_a.shape[1]),
                                                             np.nan))
    with pytest.raises(train.TrainingDiverged, match="diverged in epoch 1"):
        _train(tmp_path / "run", 1)
    assert RunDir.open(tmp_path / "run").last_checkpoint() is None


@pytest.mark.parametrize("config, settings, message", [
    (lambda: SMALL, dict(epochs=-1), "--epochs must be an integer >= 0 (or unset), got -1."),
    (lambda: EPConfig(hidden=(0,)), {}, "--hidden must be a comma-separated list of 1 or "
     "more item*, each an integer >= 1, got '0'."),
    (lambda: SMALL, dict(validation=1.0), "--validation must be a finite number in [0, 1), "
     "got 1.0."),
    (lambda: SMALL, dict(backend="gpu"), "--backend must be one of lava, numpy for ep, "
     "got 'gpu'."),
    (lambda: SMALL, dict(dataset="cifar"), "--data must be one of digits, fashion-mnist, "
     "mnist, got 'cifar'."),
    (lambda: dataclasses.replace(SMALL, learning=ep.EPLearning(lrs=(0.1,))), {},
     "--lrs must hold 2 rates (one per weight layer), got 1."),
])
def test_bad_training_arguments_fail_with_one_sentence(tmp_path, config, settings, message):
    with pytest.raises(ValueError) as error:
        train.train(config(), _settings(**{"epochs": 1, **settings}), out=tmp_path / "run",
                    show_progress=False)
    assert _one_sentence(message, error.value), str(error.value)
    assert not (tmp_path / "run").exists()


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a run folder"):
        train.resume(tmp_path)
    with pytest.raises(ValueError, match="not a run folder"):
        train.evaluate_run(tmp_path)


def test_a_run_whose_data_does_not_fit_its_network_is_refused(tmp_path):
    run = _train(tmp_path / "run", 1)
    info = run.info()
    info["config"]["n_inputs"] = 784
    run.write_info(info)
    expected = ("the data has n_inputs = 64 but the network was built for 784; use the data "
                "set the run was trained on.")
    for act in (lambda: train.resume(run.path, {"epochs": 2}, show_progress=False),
                lambda: train.evaluate_run(run.path)):
        with pytest.raises(ValueError) as error:
            act()
        assert str(error.value) == expected
    assert run.last_checkpoint()[0] == 0  # nothing was trained on the wrong data
