"""A Lava run never outlives its command (issue "Reliability"): signals at random points of
real Lava runs of every graph, and a model that raises inside a run.

Each case (``benchmarks/interrupt_latency.py``, which measures the same over many runs)
starts ``dynaxx train`` in its own session with the graph's small settings and many epochs,
waits until Lava's workers exist (or not, for the early cases) plus a random delay, sends
the signal, and checks: the command ends within a few seconds with status 130
and one line saying how to resume; no process of its session is left (zombies aside: the
container's init may not reap them) and no shared-memory segment; every checkpoint loads.
The default suite sends one kind of signal per graph (the kinds rotate over the graphs); the
whole matrix of graphs and kinds is marked slow.
"""

import glob
import multiprocessing
import random
import sys
import time
from pathlib import Path

import pytest

from dynaxx_neuro.backends import lava_available
from dynaxx_neuro.records import load_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import interrupt_latency  # noqa: E402 - the measurement the benchmark repeats

pytestmark = [pytest.mark.lava,
              pytest.mark.skipif(not lava_available(), reason="lava-nc installs only on "
                                                              "Python 3.10")]

# Seconds a signalled run may take to end (its runtime is killed, not stopped politely).
STOP_WITHIN_S = 10
GRAPHS = interrupt_latency.lava_graphs()
GRAPH_IDS = [interrupt_latency.graph_id(spec) for spec, _ in GRAPHS]
KINDS = interrupt_latency.KINDS


def _interrupt(spec, backend: str, kind: str, out: Path, rng: random.Random) -> None:
    case = interrupt_latency.interrupt(spec, backend, kind, out, rng)
    assert not case["ended_before_the_signal"], case
    assert not case["hung"], case
    assert not case["processes_left"], case
    assert not case["shared_memory_left"], case
    assert case["exit_status"] == 130, case
    assert case["seconds"] < STOP_WITHIN_S, case
    lines = case["stderr"]
    assert len(lines) == 1, lines
    name = "SIGTERM" if kind.endswith("sigterm") else "SIGINT"
    if kind.startswith("early") and not (out / "run.json").exists():
        # The signal came before the run folder was made (data loading, imports).
        assert lines[0] == f"interrupted: {name} stopped the command.", lines[0]
        return
    assert lines[0].startswith(f"interrupted: {name} stopped the run in {out}"), lines[0]
    assert lines[0].endswith(f"resume it with: dynaxx train {spec.name} --resume {out}")
    for checkpoint in (out / "checkpoints").glob("*.npz"):
        load_checkpoint(checkpoint)
    assert not list((out / "checkpoints").glob(".*.tmp")), "a half-written checkpoint"


@pytest.mark.parametrize("index", range(len(GRAPHS)), ids=GRAPH_IDS)
def test_a_signal_stops_every_lava_graph_leaving_nothing_behind(index, tmp_path):
    spec, backend = GRAPHS[index]
    rng = random.Random(index)
    _interrupt(spec, backend, KINDS[index % len(KINDS)], tmp_path / "run", rng)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("index", range(len(GRAPHS)), ids=GRAPH_IDS)
def test_every_signal_at_random_points_of_every_lava_graph(index, kind, tmp_path):
    spec, backend = GRAPHS[index]
    rng = random.Random(f"{index}-{kind}")
    for attempt in range(3):
        _interrupt(spec, backend, kind, tmp_path / f"run-{attempt}", rng)


def test_a_model_that_raises_ends_the_run_with_one_sentence(tmp_path, monkeypatch):
    """A ProcessModel raising in its 300th step: Lava would wait for the other workers
    forever; the run ends within seconds, naming the error, with no worker left."""
    from dynaxx_neuro.models.ep import PyEPLayerModelFloat
    from dynaxx_neuro.networks.lava_teardown import LavaProcessFailed
    from dynaxx_neuro.registry import rule
    from dynaxx_neuro.train import RunSettings, train
    original = PyEPLayerModelFloat.run_spk

    def failing(self):
        if self.time_step == 300:
            raise ValueError("injected failure")
        return original(self)

    monkeypatch.setattr(PyEPLayerModelFloat, "run_spk", failing)  # the workers are forked
    spec = rule("ep")
    config = spec.configure("digits", {k: v for k, v in spec.small.items() if k != "epochs"})
    segments = set(glob.glob("/dev/shm/*"))
    start = time.monotonic()
    with pytest.raises(LavaProcessFailed, match="ValueError: injected failure"):
        train(config, RunSettings(backend="lava", epochs=3), tmp_path / "run",
              show_progress=False)
    assert time.monotonic() - start < 60
    assert not multiprocessing.active_children()
    assert set(glob.glob("/dev/shm/*")) <= segments
