"""How fast, and how cleanly, a signal stops ``dynaxx train`` on every Lava graph: for each
graph and each way a run is stopped (SIGINT to the process, Ctrl-C to the terminal's process
group, SIGTERM, a second SIGINT 0.2 s after the first, SIGTERM while Lava starts), several
runs are stopped at random points; per case the seconds from the signal to the exit, the
exit status, the lines on stderr, the processes of the run's session and the shared-memory
segments left. tests/test_interrupts.py checks the same measurements of single runs.

    python benchmarks/interrupt_latency.py --trials 3

Each run is the graph's small settings (``RuleSpec.small``) with 500 epochs, so it is still
training when the signal comes: after Lava's workers exist plus a random 0-2 s, or 0.5-1.5 s
after the command started for the early case.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dynaxx_neuro import params as P
from dynaxx_neuro.registry import all_graphs

DYNAXX = str(Path(sys.executable).with_name("dynaxx"))
KINDS = ("sigint", "group-sigint", "sigterm", "double-sigint", "early-sigterm")
# Seconds after which a signalled run that has not ended counts as hung (and is killed).
HUNG_AFTER_S = 30


def lava_graphs() -> list[tuple]:
    """(spec, its first Lava back end) of every graph that has one."""
    return [(spec, next(b.name for b in spec.backends if b.name.startswith("lava")))
            for spec in all_graphs() if any(b.name.startswith("lava") for b in spec.backends)]


def graph_id(spec) -> str:
    return f"{spec.name}-{spec.graph or 'network'}"


def command(spec, backend: str, out: Path) -> list[str]:
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


def left_in_session(sid: int) -> list[str]:
    """The processes of session ``sid`` that still run (zombies excluded: a container's
    init may never reap them)."""
    rows = subprocess.run(["ps", "-s", str(sid), "-o", "stat=,args="], capture_output=True,
                          text=True).stdout.splitlines()
    return [row.strip() for row in rows if row.strip() and not row.strip().startswith("Z")]


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


def interrupt(spec, backend: str, kind: str, out: Path, rng: random.Random) -> dict:
    """Start a long run of ``spec`` in its own session, stop it the ``kind`` way at a point
    drawn from ``rng``, and measure what happened (``hung``: it had to be killed, and its
    stderr holds the stacks of its threads)."""
    segments = set(glob.glob("/dev/shm/*"))
    process = subprocess.Popen(command(spec, backend, out), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    hung, ended_early, seconds, stderr = False, False, None, ""
    try:
        if kind.startswith("early"):
            time.sleep(rng.uniform(0.5, 1.5))  # before or while Lava starts its workers
        else:
            deadline = time.monotonic() + 120
            while len(_children(process.pid)) < 3 and time.monotonic() < deadline:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
            time.sleep(rng.uniform(0.0, 2.0))
        ended_early = process.poll() is not None
        if not ended_early:
            _send(process, kind)
            sent = time.monotonic()
            try:
                _, stderr = process.communicate(timeout=HUNG_AFTER_S)
            except subprocess.TimeoutExpired:  # make it print where it hangs, then kill it
                hung = True
                process.send_signal(signal.SIGABRT)
                time.sleep(2)
            seconds = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        more = process.communicate()[1]
        stderr = stderr or more or ""
    time.sleep(0.3)
    left = left_in_session(process.pid)
    if left:
        os.killpg(process.pid, signal.SIGKILL)
    return {"graph": graph_id(spec), "backend": backend, "kind": kind, "hung": hung,
            "ended_before_the_signal": ended_early, "seconds": seconds,
            "exit_status": process.returncode, "stderr": stderr.strip().splitlines(),
            "processes_left": left,
            "shared_memory_left": sorted(set(glob.glob("/dev/shm/*")) - segments)}


def main() -> None:
    from common import write_result
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3, help="Runs per graph and kind.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the signal times.")
    args = parser.parse_args()
    rng, cases = random.Random(args.seed), []
    with tempfile.TemporaryDirectory(prefix="dynaxx-interrupts-") as folder:
        for spec, backend in lava_graphs():
            for kind in KINDS:
                for trial in range(args.trials):
                    out = Path(folder) / f"{graph_id(spec)}-{kind}-{trial}"
                    case = interrupt(spec, backend, kind, out, rng)
                    cases.append(case)
                    print(f"{case['graph']:14s} {kind:14s} exit {case['exit_status']}  "
                          f"{case['seconds'] or 0:.2f} s  left {len(case['processes_left'])}"
                          f" processes, {len(case['shared_memory_left'])} segments",
                          file=sys.stderr)
    stopped = [c for c in cases if not c["ended_before_the_signal"]]
    seconds = sorted(c["seconds"] for c in stopped if not c["hung"])
    write_result("interrupt_latency", {
        "trials_per_case": args.trials, "runs": len(cases), "signalled": len(stopped),
        "hung": sum(c["hung"] for c in stopped),
        "exit_130": sum(c["exit_status"] == 130 for c in stopped),
        "one_line_on_stderr": sum(len(c["stderr"]) == 1 for c in stopped),
        "with_processes_left": sum(bool(c["processes_left"]) for c in stopped),
        "with_shared_memory_left": sum(bool(c["shared_memory_left"]) for c in stopped),
        "seconds_median": seconds[len(seconds) // 2] if seconds else None,
        "seconds_max": seconds[-1] if seconds else None, "cases": cases})


if __name__ == "__main__":
    main()
