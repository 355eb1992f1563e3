"""Evolution strategies: the kernels against their definitions, the executor (the same
results in this process and in worker processes, no worker left after an interrupt), ES
solving a small problem with both strategies, the CMA-ES separable switch and its resume,
bad input, the memory refusal and the example. The rule-wide behaviour (resume of the
default strategy, eval, divergence, the baseline) is in ``test_conformance.py``."""

import multiprocessing
import os
import pickle
import runpy
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dynaxx_neuro import memory
from dynaxx_neuro.cli import main
from dynaxx_neuro.datasets import prepare_splits
from dynaxx_neuro.executor import InProcess, LocalProcesses, WorkerDied
from dynaxx_neuro.interrupt import Interrupted, terminate_as_interrupt
from dynaxx_neuro.kernels import es
from dynaxx_neuro.registry import rule
from dynaxx_neuro.rules.es import (CMA_FULL_MAX_PARAMETERS, ESConfig, FitnessData,
                                   candidate_fitness, load_cma, new_cma)
from dynaxx_neuro.train import RunSettings, resume, train

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SPEC = rule("es")


def _config(**values):
    small = {k: v for k, v in SPEC.small.items() if k != "epochs"}
    return SPEC.configure("digits", {**small, **values})


def _theta(run):
    return run.last_checkpoint()[1]


# --- kernels ---------------------------------------------------------------------------------


def test_centered_ranks_span_minus_to_plus_half_sum_to_zero_and_keep_only_the_order():
    values = np.array([3.0, -1.0, 10.0, 0.5, 2.0])
    ranks = es.centered_ranks(values)
    np.testing.assert_array_equal(ranks, [0.25, -0.5, 0.5, -0.25, 0.0])
    assert ranks.sum() == 0.0
    np.testing.assert_array_equal(es.centered_ranks(np.exp(values) - 7.0), ranks)


def test_the_antithetic_estimate_of_a_quadratic_is_its_gradient_in_expectation():
    """F = -1/2 (theta - c)^T A (theta - c): the mirrored difference is exactly
    2 sigma grad F . eps, so g = mean_j (grad F . eps_j) eps_j, whose mean is grad F and
    whose standard deviation per entry is about ||grad F|| / sqrt(P)."""
    rng = np.random.default_rng(0)
    n, pairs, sigma = 6, 40000, 0.3
    a, c, theta = np.diag(rng.uniform(0.5, 3.0, n)), rng.normal(size=n), rng.normal(size=n)

    def f(x):
        d = x - c
        return -0.5 * np.einsum("...i,ij,...j->...", d, a, d)

    eps = rng.standard_normal((pairs, n))
    estimate = es.antithetic_gradient(eps, f(theta + sigma * eps), f(theta - sigma * eps),
                                      sigma)
    gradient = -a @ (theta - c)
    tolerance = 5 * np.linalg.norm(gradient) / np.sqrt(pairs)
    assert np.abs(estimate - gradient).max() < tolerance
    assert np.abs(estimate - gradient).max() > 0  # an estimate, not the formula itself


def test_theta_holds_each_layers_weights_then_bias_and_a_linear_net_is_x_w_plus_b():
    sizes = (5, 3)
    theta = np.arange(es.n_parameters(sizes), dtype=float)
    assert es.n_parameters(sizes) == 18
    (w, b), = es.unflatten(theta, sizes)
    np.testing.assert_array_equal(w, np.arange(15.0).reshape(3, 5))
    np.testing.assert_array_equal(b, [15.0, 16.0, 17.0])
    x = np.random.default_rng(1).normal(size=(4, 5))
    np.testing.assert_array_equal(es.logits(theta, sizes, "tanh", x), x @ w.T + b)
    z = np.array([[0.0, 0.0, np.log(2.0)]])
    np.testing.assert_allclose(es.cross_entropy(z, np.array([2])), [np.log(2.0)])


# --- the executor ----------------------------------------------------------------------------


def _fitness_tasks(n_candidates=23):
    data = prepare_splits("digits", None, 0.1, 0)
    sizes = (64, 8, 10)
    shared = FitnessData(data.x_train, data.y_train, sizes, "tanh")
    rng = np.random.default_rng(2)
    rows = rng.choice(len(data.x_train), 100, replace=False)
    return shared, [(rows, rng.normal(size=es.n_parameters(sizes)))
                    for _ in range(n_candidates)]


def test_in_process_and_local_processes_give_the_same_results_bit_for_bit():
    shared, tasks = _fitness_tasks()
    expected = InProcess(shared).map(candidate_fitness, tasks)
    with LocalProcesses(2, shared) as executor:
        assert executor.map(candidate_fitness, tasks) == expected  # 23 tasks: chunks 12, 11
        assert executor.map(candidate_fitness, tasks[:1]) == expected[:1]
    assert multiprocessing.active_children() == []


def _slow(shared, task):
    time.sleep(task)
    return task


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_local_processes_leave_no_worker_after_a_signal_mid_map(signum):
    """SIGINT (KeyboardInterrupt) or SIGTERM (Interrupted, as in every dynaxx command)
    while the workers run their tasks: the map raises it and every worker has ended."""
    workers = []

    def interrupt():
        workers.extend(p.pid for p in multiprocessing.active_children())
        os.kill(os.getpid(), signum)

    executor = LocalProcesses(2, None)
    executor.map(_slow, [0.0, 0.0])  # the workers are up
    timer = threading.Timer(0.5, interrupt)
    with terminate_as_interrupt(), pytest.raises(KeyboardInterrupt) as raised:
        timer.start()
        executor.map(_slow, [30.0] * 4)
    assert isinstance(raised.value, Interrupted) == (signum == signal.SIGTERM)
    assert len(workers) == 2
    assert multiprocessing.active_children() == []
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_task_that_raises_ends_the_workers_and_the_error_goes_on():
    executor = LocalProcesses(2, None)
    with pytest.raises(TypeError):
        executor.map(_slow, [0.0, "not a number"])
    assert multiprocessing.active_children() == []


def _die(shared, task):
    os._exit(3)


def test_a_worker_that_dies_is_an_error_of_the_map_not_a_wait_for_ever():
    executor = LocalProcesses(2, None)
    with pytest.raises(WorkerDied, match=r"exit code 3"):
        executor.map(_die, [0, 1])
    assert multiprocessing.active_children() == []


def test_a_run_on_two_workers_and_resumed_in_process_equals_one_in_process(tmp_path):
    """The executor changes nothing: two epochs with --workers 2 (the second resumed with
    --workers 0) end bit for bit where two epochs in this process end."""
    whole = train(_config(), RunSettings(epochs=2), tmp_path / "whole", show_progress=False)
    part = train(_config(workers=2), RunSettings(epochs=1), tmp_path / "part",
                 show_progress=False)
    resume(part.path, {"epochs": 2, "workers": 0}, show_progress=False)
    for name, array in _theta(whole).items():
        np.testing.assert_array_equal(array, _theta(part)[name], err_msg=name)
    assert part.info()["resumes"][0]["changed"]["--workers"] == [2, 0]
    assert whole.info()["final_metrics"] == part.info()["final_metrics"]


# --- ES on a small problem -------------------------------------------------------------------


@pytest.mark.parametrize("strategy, covariance", [("openai", "auto"), ("cma", "separable")])
def test_es_learns_a_linear_digits_classifier(strategy, covariance, tmp_path):
    """120 generations of 30 candidates take a linear classifier from chance (10 %) to
    about 85 % on the validation split."""
    config = _config(strategy=strategy, covariance=covariance, hidden=(), population=30,
                     generations=40, batch_size=200)
    run = train(config, RunSettings(epochs=3), tmp_path / "run", show_progress=False)
    final = run.info()["final_metrics"]
    assert final["val_accuracy"] > 0.75, final
    assert final["fitness_evaluations"] == 3 * 40 * 30 and final["generations"] == 120
    table = run.read_table("evolution")
    np.testing.assert_array_equal(table["generation"], np.arange(1, 121))
    np.testing.assert_array_equal(table["evaluations"], 30 * np.arange(1, 121))
    np.testing.assert_array_equal(np.unique(table["epoch"]), [1, 2, 3])
    assert table["fitness_mean"][-10:].mean() > table["fitness_mean"][:10].mean()
    assert (table["fitness_best"] >= table["fitness_mean"]).all()
    assert (table["sigma"] > 0).all() and (table["update_norm"] > 0).all()


def test_cma_runs_separable_above_the_threshold_and_full_up_to_it():
    def config(hidden, covariance="auto"):
        return ESConfig(strategy="cma", hidden=hidden, covariance=covariance, n_inputs=64,
                        n_classes=10, population=8)

    small, large = config(()), config((40,))
    assert small.n_parameters <= CMA_FULL_MAX_PARAMETERS < large.n_parameters
    assert not small.separable and large.separable
    assert config((40,), "full").separable is False and config((), "separable").separable
    for cfg, sampler in ((small, "GaussFullSampler"), (large, "GaussStandardConstant")):
        strategy = new_cma(cfg, np.zeros(cfg.n_parameters))
        assert type(strategy.sm).__name__ == sampler


def test_cma_resume_equals_an_uninterrupted_run_bit_for_bit(tmp_path):
    """The pickled CMA-ES state in the checkpoint continues as the live object would."""
    config = _config(strategy="cma")
    whole = train(config, RunSettings(epochs=2), tmp_path / "whole", show_progress=False)
    part = train(config, RunSettings(epochs=1), tmp_path / "part", show_progress=False)
    resume(part.path, {"epochs": 2}, show_progress=False)
    a, b = _theta(whole), _theta(part)
    assert a["cma_state"].dtype == np.uint8
    np.testing.assert_array_equal(a["theta"], b["theta"])
    np.testing.assert_array_equal(load_cma(a["cma_state"].tobytes()).mean, a["theta"])
    assert whole.info()["final_metrics"] == part.info()["final_metrics"]


def test_a_cma_state_naming_anything_but_cma_and_numpy_is_refused():
    with pytest.raises(ValueError, match=r"cma_state names posix\.system"):
        load_cma(pickle.dumps(os.system))


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("values, message", [
    ({"population": 11}, "--population must be even with --strategy openai (antithetic pairs "
                         "theta +- sigma eps), got 11."),
    ({"covariance": "full"}, "--covariance full applies only to --strategy cma."),
    ({"strategy": "cma", "lr": 0.1, "weight_decay": 0.01},
     "--lr, --weight-decay apply only to --strategy openai, not to --strategy cma."),
    ({"strategy": "cma", "method": "sgd"},
     "--optimizer applies only to --strategy openai, not to --strategy cma."),
    ({"workers": -1}, "--workers must be an integer >= 0, got -1."),
    ({"hidden": (0,)}, "--hidden must be a comma-separated list of 0 or more items, each an "
                       "integer >= 1, got '0'."),
])
def test_bad_input_is_one_sentence_naming_the_option(values, message):
    with pytest.raises(ValueError) as error:
        SPEC.configure("digits", values)
    assert str(error.value) == message


def test_the_command_line_refuses_bad_input_and_trains_a_linear_classifier(tmp_path):
    refused = CliRunner().invoke(main, ["train", "es", "--population", "11", "--out",
                                        str(tmp_path / "refused")])
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        "error: --population must be even with --strategy openai (antithetic pairs theta +- "
        "sigma eps), got 11."]
    assert not (tmp_path / "refused").exists()
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "train", "es", "--hidden", "", "--population", "10", "--generations", "3",
        "--epochs", "1", "--out", str(out), "--no-plots", "--no-progress"])
    assert result.exit_code == 0, result.output
    from dynaxx_neuro.records import RunDir
    assert _theta(RunDir.open(out))["theta"].shape == (64 * 10 + 10,)


def test_a_population_too_large_for_memory_is_refused_naming_the_options(monkeypatch, tmp_path):
    monkeypatch.setattr(memory, "available_bytes", lambda: 2 ** 30)
    config = SPEC.configure("digits", {"population": 100000})
    with pytest.raises(ValueError) as error:
        train(config, RunSettings(epochs=1), tmp_path / "run", show_progress=False)
    assert str(error.value).startswith("--hidden 32, --population 100000 on digits needs "
                                       "about ")
    assert str(error.value).endswith("GiB available; use a smaller --hidden or --population.")
    assert not (tmp_path / "run").exists()


def test_full_cma_counts_its_covariance_and_separable_cma_does_not():
    data = prepare_splits("digits", None, 0.1, 0)

    def numbers(covariance):
        config = ESConfig(strategy="cma", hidden=(20,), covariance=covariance, n_inputs=64,
                          n_classes=10)
        return SPEC.memory.numbers(config, data), config.n_parameters

    (full, n), (separable, _) = numbers("full"), numbers("separable")
    assert full - separable == 6 * n * n - 10 * n


# --- the example -----------------------------------------------------------------------------


def test_example_es_digits_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["es_digits.py", "--epochs", "1", "--hidden", "8",
                                      "--population", "10", "--generations", "3",
                                      "--out", str(tmp_path / "run")])
    runpy.run_path(str(EXAMPLES / "es_digits.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "final metrics" in out and "generation 3: 30 fitness evaluations" in out
    for name in ("learning_curves", "evolution"):
        assert (tmp_path / "run" / "plots" / f"{name}.png").exists(), name
