"""Sizes and values that cannot work are refused before a run folder exists, in one sentence
naming what the user typed, and what the commands print is JSON (issue 14: "Sizes and values
that cannot work run anyway", "What the outputs say").

- a batch larger than the training split (it would train no batch and report accuracy 0);
- a run that needs more memory than the machine has (``memory``, each rule's MemoryModel);
- ``--random-sign`` with symmetric nudging, where the sign drawn changes nothing;
- ``--data-dir`` with digits, which are built into scikit-learn;
- NaN (a split's loss on a graph without one) in ``dynaxx eval`` and run.json.
"""

import json
import types

import pytest

from dynaxx_neuro import memory
from dynaxx_neuro import params as P
from dynaxx_neuro.datasets import load_dataset, prepare_splits
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.registry import all_graphs, bind_data, graphs
from dynaxx_neuro.rules.ep import EPConfig
from dynaxx_neuro.train import RunSettings, train

SPECS = all_graphs()
IDS = [f"{spec.name}-{spec.graph}" if spec.graph else spec.name for spec in SPECS]


def _batch_options():
    """(spec, leaf name, option) of every batch size of every graph."""
    return [pytest.param(spec, path[-1], P.option_name(field), id=f"{label}-{path[-1]}")
            for spec, label in zip(SPECS, IDS) for field, path in P.cli_fields(spec.config)
            if path[-1].endswith("batch_size")]


@pytest.fixture(scope="module")
def digits():
    return prepare_splits("digits", None, 0.1, 0)


def _small(spec, **changes):
    """The spec's seconds-long digits configuration with ``changes``."""
    values = {k: v for k, v in spec.small.items() if k != "epochs"}
    return spec.configure("digits", {**values, **changes})


def _refused_before_a_folder(config, settings, out) -> str:
    """The message ``train`` refuses with; no run folder may exist after it."""
    with pytest.raises(ValueError) as error:
        train(config, settings, out, show_progress=False)
    assert not out.exists(), sorted(p.name for p in out.iterdir())
    message = str(error.value)
    assert message.count(". ") == 0 and message.endswith("."), message
    return message


def _strict_json(text: str):
    """``text`` parsed as JSON, which has no NaN or Infinity (Python's json writes them)."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


# --- batch sizes ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec, name, option", _batch_options())
def test_a_batch_larger_than_the_training_split_is_refused_in_one_sentence(spec, name, option,
                                                                           digits):
    n = len(digits.x_train)
    config = bind_data(spec.configure("digits", {name: 100000}), digits)
    with pytest.raises(ValueError, match=f"^{option} 100000 is larger than the {n} training "
                                         f"samples of digits; use at most {n}\\.$"):
        memory.require_batches(config, digits)
    memory.require_batches(bind_data(spec.configure("digits", {name: n}), digits), digits)


@pytest.mark.parametrize("spec, name, option", _batch_options())
def test_train_refuses_a_batch_larger_than_the_training_split_before_a_folder(
        spec, name, option, digits, tmp_path):
    n = len(digits.x_train)
    config = _small(spec, **{name: n + 1})
    message = _refused_before_a_folder(config, RunSettings(backend=spec.fast_backend, epochs=1),
                                       tmp_path / "run")
    assert option in message and str(n + 1) in message, message
    assert f"{n} training samples" in message, message


# --- memory -----------------------------------------------------------------------------------


def _huge(spec) -> dict:
    """Values of the options that size ``spec``'s network far beyond any machine (layers at
    their widest and 10^4 of them where a layer's width is bounded)."""
    values = {}
    for field, path in P.cli_fields(spec.config):
        if path[-1] in spec.memory.options:
            check = field.metadata["check"]
            if isinstance(check, P.TupleOf):
                width = check.item.high
                values[path[-1]] = (10 ** 9,) if width is None else (width,) * 10 ** 4
            else:
                values[path[-1]] = check.high or 10 ** 9
    return values


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_graph_estimates_its_memory_and_a_digits_run_fits(spec, digits):
    assert spec.memory is not None, f"{spec.name} {spec.graph} has no MemoryModel"
    config = spec.configure("digits")
    data = spec.data(config, digits)
    assert 0 < memory.estimate_bytes(spec, bind_data(config, data), data) < 2 ** 30
    huge = _huge(spec)
    assert huge, spec.memory.options
    big = bind_data(spec.configure("digits", huge), digits)
    assert memory.estimate_bytes(spec, big, digits) > 2 ** 40
    assert memory.estimate_bytes(spec, big, digits, "fixed_pt") > memory.estimate_bytes(
        spec, big, digits)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_train_refuses_a_network_larger_than_the_memory_before_a_folder(spec, tmp_path):
    assert spec.memory is not None, f"{spec.name} {spec.graph} has no MemoryModel"
    huge = _huge(spec)
    message = _refused_before_a_folder(_small(spec, **huge),
                                       RunSettings(backend=spec.fast_backend, epochs=1),
                                       tmp_path / "run")
    options = [P.option_name(field) for field, path in P.cli_fields(spec.config)
               if path[-1] in huge]
    assert message.startswith(options[0]), message
    assert " GiB available; use a smaller " in message and message.endswith(
        f"{' or '.join(options)}."), message


def test_the_memory_refusal_names_the_option_the_need_and_what_is_available(digits,
                                                                            monkeypatch):
    config = bind_data(EPConfig(), digits)
    model = memory.MemoryModel(lambda config, data: 2 ** 27, ("hidden",))  # 1.5 GiB
    spec = types.SimpleNamespace(memory=model)
    monkeypatch.setattr(memory, "available_bytes", lambda: 2 ** 30)
    with pytest.raises(ValueError, match="^--hidden 512 on digits needs about 1\\.5 GiB of "
                                         "memory, but this machine has 1\\.0 GiB available; "
                                         "use a smaller --hidden\\.$"):
        memory.require_memory(spec, config, digits)
    monkeypatch.setattr(memory, "available_bytes", lambda: 2 ** 31)
    memory.require_sizes(spec, config, digits)
    monkeypatch.setattr(memory, "available_bytes", lambda: None)  # unknown: not checked
    memory.require_memory(spec, config, digits, "fixed_pt")


def test_available_memory_is_read_from_meminfo(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       4096 kB\nMemFree:  1024 kB\nMemAvailable:   2048 kB\n")
    monkeypatch.setattr(memory, "MEMINFO", meminfo)
    assert memory.available_bytes() == 2048 * 1024
    monkeypatch.setattr(memory, "MEMINFO", tmp_path / "missing")
    assert memory.available_bytes() > 0  # os.sysconf's free physical pages


# --- values that change nothing ---------------------------------------------------------------


def test_random_sign_with_symmetric_nudging_is_refused_in_one_sentence():
    with pytest.raises(ValueError, match="^--random-sign has no effect with symmetric "
                                         "nudging .*; add --one-sided or leave it out\\.$"):
        EPConfig(learning=ep.EPLearning(random_sign=True))
    with pytest.raises(ValueError, match="^--random-sign"):
        P.build(EPConfig, {"random_sign": True, "symmetric": True})
    one_sided = P.build(EPConfig, {"random_sign": True, "symmetric": False})
    assert one_sided.learning.random_sign and not one_sided.schedule.symmetric
    assert all("random_sign" not in path for spec in graphs("ep")[1:]
               for _, path in P.cli_fields(spec.config))  # the Loihi graph has no such option


def test_a_data_dir_with_digits_is_refused_in_one_sentence(tmp_path):
    with pytest.raises(ValueError, match=f"^--data-dir '{tmp_path}' applies to fashion-mnist "
                                         "and mnist only; digits are built into scikit-learn, "
                                         "so leave it out\\.$"):
        load_dataset("digits", tmp_path)
    spec = graphs("ep")[0]
    settings = RunSettings(data_dir=str(tmp_path), backend="numpy", epochs=1)
    message = _refused_before_a_folder(_small(spec), settings, tmp_path / "run")
    assert message.startswith("--data-dir"), message


# --- JSON -------------------------------------------------------------------------------------


def test_json_safe_replaces_nan_and_infinities_with_null():
    import numpy as np

    from dynaxx_neuro.records import json_safe
    value = {"loss": float("nan"), "rates": [1.0, float("inf"), np.float32("-inf")],
             "nested": {"x": (np.float64("nan"), 2)}, "array": np.array([0.5, np.nan]),
             "name": "ep", "epoch": np.int64(3)}
    assert _strict_json(json.dumps(json_safe(value))) == {
        "loss": None, "rates": [1.0, None, None], "nested": {"x": [None, 2]},
        "array": [0.5, None], "name": "ep", "epoch": 3}


def test_run_json_holds_no_nan(tmp_path):
    from dynaxx_neuro.records import RunDir
    run = RunDir.create(tmp_path / "run", "x", {"final_metrics": {"val_loss": float("nan")}})
    run.update_info(final_metrics={"test_loss": float("inf")})
    assert _strict_json((run.path / "run.json").read_text())["final_metrics"] == {
        "test_loss": None}


def test_eval_prints_json_for_a_graph_without_a_loss(tmp_path):
    from click.testing import CliRunner

    from dynaxx_neuro.cli import main
    spec = graphs("ep")[1]  # the Loihi graph reports no validation or test loss
    run = train(_small(spec), RunSettings(backend=spec.fast_backend, epochs=1),
                tmp_path / "run", show_progress=False)
    result = CliRunner().invoke(main, ["eval", str(run.path)])
    assert result.exit_code == 0, result.output
    metrics = _strict_json(result.output)
    assert metrics["val_loss"] is None and 0 <= metrics["val_accuracy"] <= 1
    _strict_json((run.path / "run.json").read_text())
