"""The ``numpy`` back end of EP: the Lava graph's schedule as one plain loop.

Every period step does what the Lava processes do in that step (docs/architecture.md, "Time, phases
and batches"): each layer reads the drives its synapses computed from the states of the
previous step, so the update is synchronous, and learning happens at the period's last
step from the rates recorded at the ends of the phases.

Like the Lava graph, the loop keeps the backward synapses' own copies of W_l^T
(``rules.ep.BackwardCopies``) and updates them with the same rule: mathematically they stay
the transposes of W_l, but a product with a contiguous W^T rounds differently from one with
the view W.T, and thousands of batches amplify round-off. Holding the same arrays as the
graph makes the two back ends agree bit for bit (``tests/test_ep_backends.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynaxx_neuro.activity import sent_events
from dynaxx_neuro.cycle import Launch, n_eval_batches, n_train_batches, padded_batch
from dynaxx_neuro.datasets import Splits
from dynaxx_neuro.kernels import ep
from dynaxx_neuro.networks.result import EpochResult
from dynaxx_neuro.rules.ep import (BackwardCopies, EPConfig, EPParameters, PhaseRates,
                                   bias_update, energy_table, ep_activity, epoch_plan,
                                   free_phase, layer_drives, layer_step, synapse_update)


@dataclass
class PeriodTrace:
    """Rates of every layer at the ends of the phases of one period, the graded spikes every
    layer sent (``rules.ep.ep_activity``: input first), and energies by period step."""

    phases: PhaseRates
    events: np.ndarray
    energy: np.ndarray | None = None  # (period, B) E
    cost: np.ndarray | None = None    # (period, B) C
    total: np.ndarray | None = None   # (period, B) F


def settle_period(params: EPParameters, x: np.ndarray, target: np.ndarray, beta: float,
                  config: EPConfig, record: bool = False,
                  backward: BackwardCopies | None = None) -> PeriodTrace:
    """Run one period (reset, free, +beta, and with symmetric nudging restore and -beta);
    ``backward`` defaults to fresh copies of the transposes of ``params``."""
    schedule, eps = config.schedule, config.dynamics.eps
    backward = backward or BackwardCopies.of(params)
    states = [np.zeros((x.shape[0], n)) for n in config.sizes[1:]]
    rates = [ep.rho(s) for s in states]  # what every layer sends; rho(s) of the last step
    phases = PhaseRates(schedule)
    s_free = None
    input_drive = ep.drive(params.weights[0], x)
    energies = np.zeros((3, schedule.period, x.shape[0])) if record else None
    events = np.zeros(len(config.sizes), dtype=np.int64)
    events[0] = sent_events(x) * schedule.period  # the clamped input is sent every step
    last = len(states) - 1
    for k in range(schedule.period):
        settles = schedule.phase(k) not in (ep.RESET, ep.RESTORE)
        drives = (layer_drives(params, backward, input_drive, rates) if settles
                  else [None] * len(states))
        beta_k = schedule.phase_beta(k, beta)
        states = [layer_step(schedule, k, s, None if s_free is None else s_free[l], d, b, eps,
                             beta_k if l == last else 0.0, target)
                  for l, (s, d, b) in enumerate(zip(states, drives, params.biases))]
        if k == schedule.free_end:
            s_free = states
        rates = [ep.rho(s) for s in states]
        events[1:] += [sent_events(r) for r in rates]
        phases.record(k, *rates)
        if record:
            e = ep.network_energy(states, x, params.weights, params.biases)
            c = ep.cost(states[-1], target)
            energies[:, k] = e, c, e + beta_k * c
    trace = PeriodTrace(phases, events)
    if record:
        trace.energy, trace.cost, trace.total = energies
    return trace


def apply_update(params: EPParameters, backward: BackwardCopies, x: np.ndarray,
                 trace: PeriodTrace, beta: float, config: EPConfig,
                 epoch: int) -> tuple[EPParameters, BackwardCopies]:
    """The local contrastive update of every synapse (forward W_l and the backward copy of
    W_l^T, each from its own post and pre rates) and bias, with momentum."""
    a, b, scale = trace.phases.contrast(beta)
    below_a, below_b = (x, *a[:-1]), (x, *b[:-1])
    new, new_backward = EPParameters([], [], [], []), BackwardCopies([], [])
    mu = config.learning.momentum
    for l, base_lr in enumerate(config.lrs):
        lr = ep.epoch_lr(base_lr, epoch, config.learning.lr_decay)
        w, vw = synapse_update(params.weights[l], params.weight_velocities[l],
                               ((a[l], below_a[l]), (b[l], below_b[l]), scale), lr, mu)
        bias, vb = bias_update(params.biases[l], params.bias_velocities[l],
                               ((a[l],), (b[l],), scale), lr, mu)
        new.weights.append(w)
        new.weight_velocities.append(vw)
        new.biases.append(bias)
        new.bias_velocities.append(vb)
        if l >= 1:  # the backward copy: post is layer l-1, pre is layer l
            wt, vwt = synapse_update(backward.weights[l - 1], backward.velocities[l - 1],
                                     ((below_a[l], a[l]), (below_b[l], b[l]), scale), lr, mu)
            new_backward.weights.append(wt)
            new_backward.velocities.append(vwt)
    return new, new_backward


def evaluate(params: EPParameters, x: np.ndarray, y: np.ndarray, config: EPConfig,
             n_classes: int, backward: BackwardCopies | None = None) -> tuple[np.ndarray, float]:
    """Predicted labels and mean cost of a split, batch by batch (``backward`` defaults to
    fresh copies of the transposes of ``params``)."""
    backward = backward or BackwardCopies.of(params)
    predictions, costs = [], []
    targets = np.eye(n_classes)[y]
    for i in range(n_eval_batches(len(x), config.batch_size)):
        start = i * config.batch_size
        out = free_phase(params, backward, padded_batch(x, start, config.batch_size),
                         config)[-1]
        n = min(config.batch_size, len(x) - start)
        predictions.append(out[:n].argmax(axis=1))
        costs.append(ep.cost(out[:n], targets[start:start + n]))
    if not predictions:
        return np.zeros(0, dtype=int), float("nan")
    return np.concatenate(predictions), float(np.concatenate(costs).mean())


class EPNumpyRunner:
    """Trains and evaluates an EP network epoch by epoch in this process."""

    def __init__(self, config: EPConfig, data: Splits, params: EPParameters, launch: Launch):
        self.config, self.data, self.params, self.seed = config, data, params, launch.seed
        self.backward = BackwardCopies.of(params)
        self.batch_size = config.batch_size
        self.batches_per_epoch = n_train_batches(len(data.x_train), config.batch_size)

    def run_epoch(self, epoch: int, progress=None) -> EpochResult:
        """One epoch: the planned training batches, then validation and test."""
        config, data = self.config, self.data
        index, betas = epoch_plan(config, self.seed, len(data.x_train), epoch)
        targets = data.targets(data.y_train)
        logged = min(config.log_batches, len(index))
        energy = np.zeros((3, logged, config.schedule.period, config.batch_size))
        correct, loss, seen = 0, 0.0, 0
        events = np.zeros(len(config.sizes), dtype=np.int64)
        for i, (rows, beta) in enumerate(zip(index, betas)):
            x, d = data.x_train[rows], targets[rows]
            trace = settle_period(self.params, x, d, beta, config, i < logged, self.backward)
            if i < logged:
                energy[:, i] = trace.energy, trace.cost, trace.total
            out = trace.phases.rates[config.schedule.free_end][-1]
            correct += int((out.argmax(axis=1) == data.y_train[rows]).sum())
            loss += float(ep.cost(out, d).sum())
            seen += len(rows)
            events += trace.events
            self.params, self.backward = apply_update(self.params, self.backward, x, trace,
                                                      beta, config, epoch)
            if not self.params.is_finite():
                return EpochResult.divergence(correct / seen)
            if progress is not None:
                progress(1, correct / seen)
        result = self.evaluate(epoch)
        result.train_accuracy, result.train_loss = correct / max(seen, 1), loss / max(seen, 1)
        result.tables = ep_activity(config.sizes, events, config.schedule.period,
                                    seen).tables(epoch)
        if logged:
            result.tables["energy"] = energy_table(epoch, energy, config.schedule)
        return result

    def evaluate(self, epoch: int) -> EpochResult:
        """Predictions and mean cost on the validation and test splits."""
        data = self.data
        val_pred, val_loss = evaluate(self.params, data.x_val, data.y_val, self.config,
                                      data.n_classes, self.backward)
        test_pred, test_loss = evaluate(self.params, data.x_test, data.y_test, self.config,
                                        data.n_classes, self.backward)
        return EpochResult(float("nan"), float("nan"), val_pred, val_loss, test_pred,
                           test_loss)

    def parameters(self) -> EPParameters:
        return self.params

    def close(self) -> None:
        """Nothing to release; present so both back ends share one interface."""
