"""The conformance suite: what every registered rule must do, parametrised over the registry,
so a new rule gets these tests by registering (docs/architecture.md, "The registry").

Each rule runs on digits with its spec's ``small`` settings (seconds per run) on the
``numpy`` back end, and on ``lava`` where the rule has it (marked ``lava``).
"""

import dataclasses
import re

import numpy as np
import pytest
from click.testing import CliRunner

from dynaxx_neuro import params as P
from dynaxx_neuro.backends import lava_available
from dynaxx_neuro.cli import main
from dynaxx_neuro.registry import all_graphs, graphs
from dynaxx_neuro.train import RunSettings, TrainingDiverged, evaluate_run, resume, train

SPECS = all_graphs()
IDS = [f"{spec.name}-{spec.graph}" if spec.graph else spec.name for spec in SPECS]


def _small(spec, backend=None, epochs=None, **changes):
    values = {k: v for k, v in {**spec.small, **changes}.items() if k != "epochs"}
    config = spec.configure("digits", values)
    epochs = spec.small.get("epochs", 1) if epochs is None else epochs
    return config, RunSettings(dataset="digits", backend=backend or spec.fast_backend,
                               epochs=epochs)


def _checkpoint(run):
    return run.last_checkpoint()



@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_option_names_are_unique_and_every_field_declares_help_and_a_check(spec):
    leaves = list(P.cli_fields(spec.config))
    names = [P.option_name(field) for field, _ in leaves]
    names += [P.option_name(field) for field, _ in P.cli_fields(RunSettings)]
    assert len(names) == len(set(names)), names
    for field, path in leaves:
        assert field.metadata["help"], path
        assert field.metadata["check"] is not None, path


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_help_lists_exactly_the_rules_back_ends_and_every_default(spec):
    result = CliRunner().invoke(main, ["train", spec.name, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    names = dict.fromkeys(n for graph in graphs(spec.name) for n in graph.backend_names)
    assert f"--backend [{'|'.join(names)}]" in result.output
    for field, path in P.cli_fields(spec.config):
        name = P.option_name(field).split("/")[0]
        line = next(line for line in result.output.splitlines() if line.strip().startswith(name))
        default = P.get_path(spec.config(), path)
        if default is not None:
            assert "default:" in result.output[result.output.index(line):], name


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_bad_value_is_refused_with_one_sentence_naming_the_option(spec):
    for field, path in P.cli_fields(spec.config):
        check = field.metadata["check"]
        inner = check.inner if isinstance(check, P.Optional) else check
        bad = {P.Int: True, P.Real: float("nan"), P.Bool: 1, P.OneOf: "no-such-choice",
               P.TupleOf: (True,)}[type(inner)]
        with pytest.raises(ValueError) as error:
            P.build(spec.config, {path[-1]: bad})
        message = str(error.value)
        assert message.startswith(P.option_name(field)), message
        assert message.count(". ") == 0 and message.endswith("."), message


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_bad_options_are_refused_before_a_run_folder_is_made(spec, tmp_path):
    out = tmp_path / "run"
    for argv in (["--backend", "gpu"], ["--validation", "1.5"], ["--seed", "-1"]):
        result = CliRunner().invoke(main, ["train", spec.name, "--out", str(out), *argv])
        assert result.exit_code == 2, (argv, result.output)
        assert "Traceback" not in result.output
        assert not out.exists(), argv


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_resume_equals_an_uninterrupted_run_bit_for_bit(spec, tmp_path):
    """A run cut after the first epoch of its last stage and resumed to that stage's full
    length (what ``--resume RUN --<epochs option> N`` does) ends where the whole run ends."""
    config, settings = _small(spec)
    whole = train(config, settings, tmp_path / "whole", show_progress=False)
    option = spec.stages[-1].epochs_option
    full = spec.stages[-1].epochs(config, settings.epochs)
    assert full >= 2, "the small settings must give the last stage two epochs or more"
    if option == "epochs":
        part = train(config, dataclasses.replace(settings, epochs=1), tmp_path / "part",
                     show_progress=False)
    else:
        part = train(P.replace_leaf(config, option, 1), settings, tmp_path / "part",
                     show_progress=False)
    resume(part.path, {option: full}, show_progress=False)
    (epoch_a, a), (epoch_b, b) = _checkpoint(whole), _checkpoint(part)
    assert epoch_a == epoch_b
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert whole.info()["final_metrics"] == part.info()["final_metrics"]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_epochs_are_numbered_from_one_and_a_damaged_checkpoint_falls_back(spec, tmp_path,
                                                                         capsys):
    """Final metrics, eval, checkpoint files and the metrics table number the epochs of a
    run from 1; a truncated newest checkpoint is named in a warning and eval uses the one
    before it; a folder that is not empty takes no new run; a resume refuses a change of
    the network's widths, naming the option."""
    config, settings = _small(spec)
    run = train(config, settings, tmp_path / "run", show_progress=False)
    total = sum(stage.epochs(config, settings.epochs) for stage in spec.stages)
    assert run.info()["final_metrics"]["epoch"] == total
    assert evaluate_run(run.path)["epoch"] == total
    assert max(run.read_table("metrics")["epoch"]) == total
    newest = run.path / "checkpoints" / f"epoch-{total:05d}.npz"
    assert sorted(p.name for p in newest.parent.iterdir())[-1] == newest.name
    newest.write_bytes(newest.read_bytes()[:100])
    capsys.readouterr()
    assert evaluate_run(run.path)["epoch"] == total - 1
    warning = capsys.readouterr().err
    assert newest.name in warning and f"epoch-{total - 1:05d}.npz" in warning, warning
    with pytest.raises(ValueError, match="not empty"):
        train(config, settings, run.path / "checkpoints", show_progress=False)
    hidden, key = next((P.option_name(f), path[-1]) for f, path in P.cli_fields(spec.config)
                       if path[-1] in ("hidden", "n_neurons"))
    width = P.get_leaf(config, key)
    wider = tuple(w + 1 for w in width) if isinstance(width, tuple) else width + 1
    with pytest.raises(ValueError, match=f"{hidden} cannot change when resuming"):
        resume(run.path, {key: wider}, show_progress=False)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_eval_reproduces_the_final_metrics(spec, tmp_path):
    config, settings = _small(spec)
    run = train(config, settings, tmp_path / "run", show_progress=False)
    final, again = run.info()["final_metrics"], evaluate_run(run.path)
    for split in ("val", "test"):
        assert again[f"{split}_accuracy"] == final[f"{split}_accuracy"]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_divergence_stops_and_keeps_the_last_good_checkpoint(spec, tmp_path, monkeypatch):
    """The chosen back end's runner reports divergence in the run's second epoch (as it does
    on NaN or infinite weights): training stops with the message, the first epoch's
    checkpoint stays the last one, and nothing of the diverged epoch is written."""
    from dynaxx_neuro.networks.result import EpochResult
    from dynaxx_neuro.registry import Backend
    load = Backend.load

    def diverging_runner(backend):
        runner_class = load(backend)

        class Diverging(runner_class):
            def run_epoch(self, epoch, progress=None):
                if epoch >= 1:
                    return EpochResult.divergence(0.0)
                return super().run_epoch(epoch, progress)
        return Diverging

    monkeypatch.setattr(Backend, "load", diverging_runner)
    config, settings = _small(spec, epochs=3)
    with pytest.raises(TrainingDiverged, match="epoch 2 .*the checkpoint of epoch 1 .* kept"):
        train(config, settings, tmp_path / "run", show_progress=False)
    from dynaxx_neuro.records import RunDir
    run = RunDir.open(tmp_path / "run")
    assert run.last_checkpoint()[0] == 0
    assert "final_metrics" not in run.info()
    assert run.info()["diverged"]["epoch"] == 2


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_divergence_is_detected_on_magnitude_not_only_nan(spec, tmp_path, monkeypatch):
    """Finite but huge float parameters (EP at --lrs 1e300 reaches 1e299) stop the run as
    diverged in the first epoch that holds float parameters (a Hebbian Loihi graph's
    readout stage); graphs whose parameters are all integers (fixed point saturates) are
    skipped."""
    from dynaxx_neuro.registry import Backend
    load = Backend.load

    class Huge:
        def __init__(self, params):
            self.params = params

        def to_arrays(self):
            return {k: v * 1e12 if np.issubdtype(v.dtype, np.floating) else v
                    for k, v in self.params.to_arrays().items()}

    def huge_runner(backend):
        runner_class = load(backend)

        class Growing(runner_class):
            def parameters(self):
                return Huge(super().parameters())
        return Growing

    monkeypatch.setattr(Backend, "load", huge_runner)
    config, settings = _small(spec, epochs=1)
    try:
        run = train(config, settings, tmp_path / "run", show_progress=False)
    except TrainingDiverged as error:
        assert re.search(r"diverged in epoch \d+ \(.* beyond 1e\+06\); (no epoch had finished"
                         r"|the checkpoint of epoch \d+ .* is kept)", str(error)), str(error)
        return
    arrays = _checkpoint(run)[1]
    assert not any(np.issubdtype(v.dtype, np.floating) for v in arrays.values()), \
        "float parameters 1e12 times too large passed for a healthy run"
    pytest.skip("every parameter of this graph is an integer")


PAIRS = [(spec, pair) for spec in SPECS for pair in spec.equal_backends
         if set(pair) <= set(spec.backend_names)]


@pytest.mark.lava
@pytest.mark.skipif(not lava_available(), reason="lava-nc installs only on Python 3.10")
@pytest.mark.parametrize("spec, pair", PAIRS, ids=[f"{s.name}-{a}-{b}" for s, (a, b) in PAIRS])
def test_the_equal_backends_train_bit_for_bit_alike(spec, pair, tmp_path):
    config, settings = _small(spec, epochs=1)
    runs = {backend: train(config, dataclasses.replace(settings, backend=backend),
                           tmp_path / backend, show_progress=False)
            for backend in pair}
    (_, a), (_, b) = (_checkpoint(run) for run in runs.values())
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    metrics = [run.info()["final_metrics"] for run in runs.values()]
    assert metrics[0] == metrics[1]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_the_backprop_baseline_trains_beside_the_rule_and_compare_shows_the_ratio(spec,
                                                                                  tmp_path):
    from dynaxx_neuro.analysis.compare import compare_runs
    config, settings = _small(spec)
    run = train(config, dataclasses.replace(settings, baseline="backprop"), tmp_path / "run",
                show_progress=False)
    final = run.info()["final_metrics"]
    assert 0.0 < final["backprop_test_accuracy"] <= 1.0
    assert final["test_accuracy_vs_backprop"] == pytest.approx(
        final["test_accuracy"] / final["backprop_test_accuracy"])
    table = run.read_table("baseline")
    assert set(table["split"]) == {"val", "test"}
    assert set(table["epoch"]) == set(range(1, settings.epochs + 1))  # numbered from 1
    _, rows = compare_runs([run.path], tmp_path / "comparison.png", "test")
    assert rows[0]["vs_backprop"] == pytest.approx(final["test_accuracy_vs_backprop"])


CHIP_SPECS = [spec for spec in SPECS if spec.chip is not None]


# FF's Loihi graph takes two minutes to deploy and run here (one graph per epoch, one
# process per layer and goodness neuron); it runs with the slow checks (`make test-slow`),
# its bit-for-bit equality with numpy-fixed stays in the default suite.
SLOW_CHIP_IDS = ("ff-loihi",)
CHIP_PARAMS = [pytest.param(spec, id=IDS[SPECS.index(spec)],
                            marks=[pytest.mark.slow] if IDS[SPECS.index(spec)] in SLOW_CHIP_IDS
                            else [])
               for spec in CHIP_SPECS]


@pytest.mark.lava
@pytest.mark.parametrize("spec", CHIP_PARAMS)
def test_a_graph_of_loihi_parts_deploys_and_its_report_covers_every_process(spec, tmp_path):
    """Every graph with a ``chip`` deploys (on Loihi2SimCfg here): every process is placed
    somewhere known, its widths fit the chip's, the placed graph fits one chip, and the
    predictions equal the bit-accurate simulation's where that is another back end."""
    from dynaxx_neuro.deploy.placement import UNKNOWN
    from dynaxx_neuro.deploy.run import deploy
    config, settings = _small(spec, epochs=1)
    run = train(config, dataclasses.replace(settings, validation=0.02), tmp_path / "run",
                show_progress=False)
    path, report = deploy(run.path)
    assert path == run.path / "deploy-loihi2" / "report.json" and path.is_file()
    rows = report["processes"]
    assert len({row["name"] for row in rows}) == len(rows)
    assert all(row["maps_to"] != UNKNOWN and not row["problems"] for row in rows), rows
    assert all(used <= chip for row in rows for used, chip in row["widths"].values())
    assert report["totals"]["fits"] and report["totals"]["chips"] == 1
    assert sum(row["cores"] for row in rows) == report["totals"]["cores"] >= 1
    inference = report["per_sample"]["inference"]
    assert inference["energy_j"] == pytest.approx(inference["dynamic_j"] + inference["static_j"])
    if spec.chip.reference != spec.chip.backend:
        assert report["predictions"]["agreement"] == 1.0
