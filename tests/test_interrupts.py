"""A Lava run never outlives its command (issue "Reliability"): signals at random points of
real Lava runs of every graph, and a model that raises inside a run.

Each case starts ``dynaxx train`` in its own session with the graph's small settings and
many epochs, waits until Lava's workers exist (or not, for the early cases) plus a random
delay, sends the signal, and checks: the command ends within a few seconds with status 130
and one line saying how to resume; no process of its session is left (zombies aside: the
container's init may not reap them) and no shared-memory segment; every checkpoint loads.
The default suite sends one kind of signal per graph (the kinds rotate over the graphs); the
whole matrix of graphs and kinds is marked slow.
"""

import glob
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dynaxx_neuro import params as P
from dynaxx_neuro.backends import lava_available
from dynaxx_neuro.records import load_checkpoint
from dynaxx_neuro.registry import all_graphs

pytestmark = [pytest.mark.lava,
              pytest.mark.skipif(not lava_available(), reason="lava-nc installs only on "
                                                              "Python 3.10")]

DYNAXX = str(Path(sys.executable).with_name("dynaxx"))
# Seconds a signalled run may take to end (its runtime is killed, not stopped politely).
STOP_WITHIN_S = 10
KINDS = ("sigint", "group-sigint", "sigterm", "double-sigint", "early-sigterm")
GRAPHS = [(spec, next(b.name for b in spec.backends if b.name.startswith("lava")))
          for spec in all_graphs()]
GRAPH_IDS = [f"{spec.name}-{spec.graph or 'network'}" for spec, _ in GRAPHS]


def _argv(spec, backend: str, out: Path) -> list[str]:
    """The command line of a long run of ``spec``'s small settings on ``backend``."""
    argv = [DYNAXX, "train", spec.name, "--data", "digits", "--backend", backend,
            "--epochs", "500", "--out", str(out), "--no-plots", "--no-progress"]
    if spec.graph:
        argv += ["--graph", spec.graph]
    for field, path in P.cli_fields(spec.config):
        if path[-1] in spec.small:
            value = spec.small[path[-1]]
            argv += [P.option_name(field), ",".join(map(str, value))
                     if isinstance(value, tuple) else str(value)]
    return argv


def _children(pid: int) -> list[str]:
    return subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True,
                          text=True).stdout.split()


def _left_in_session(sid: int) -> list[str]:
    """The processes of session ``sid`` that still run (zombies excluded)."""
    rows = subprocess.run(["ps", "-s", str(sid), "-o", "stat=,args="], capture_output=True,
                          text=True).stdout.splitlines()
    return [row for row in rows if row.strip() and not row.strip().startswith("Z")]


def _send(process, kind: str) -> None:
    if kind == "group-sigint":  # what a terminal's Ctrl-C does
        os.killpg(process.pid, signal.SIGINT)
    elif kind.endswith("sigterm"):
        process.send_signal(signal.SIGTERM)
    else:
        process.send_signal(signal.SIGINT)
        if kind == "double-sigint":
            time.sleep(0.2)
            process.send_signal(signal.SIGINT)


def _interrupt(spec, backend: str, kind: str, out: Path, rng: random.Random) -> None:
    segments = set(glob.glob("/dev/shm/*"))
    process = subprocess.Popen(_argv(spec, backend, out), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        if kind.startswith("early"):
            time.sleep(rng.uniform(0.5, 1.5))  # before or while Lava starts its workers
        else:
            deadline = time.monotonic() + 120
            while len(_children(process.pid)) < 3 and time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()
                time.sleep(0.1)
            time.sleep(rng.uniform(0.0, 2.0))
        assert process.poll() is None, "the run ended before the signal"
        _send(process, kind)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=STOP_WITHIN_S + 20)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    time.sleep(0.3)
    left = _left_in_session(process.pid)
    if left:
        os.killpg(process.pid, signal.SIGKILL)
    assert not left, left
    assert set(glob.glob("/dev/shm/*")) <= segments, "shared memory left behind"
    assert process.returncode == 130, stderr
    assert took < STOP_WITHIN_S, f"took {took:.1f} s to stop"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    name = "SIGTERM" if kind.endswith("sigterm") else "SIGINT"
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
    import multiprocessing
    assert not multiprocessing.active_children()
    assert set(glob.glob("/dev/shm/*")) <= segments
