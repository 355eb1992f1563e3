"""Lava Processes of forward-forward learning: interfaces only (ports and Vars).

The maths is in ``dynaxx_neuro.kernels.ff``; the ProcessModels in ``dynaxx_neuro.models.ff``
call it through the rule's composition (``dynaxx_neuro.rules.ff``). Every process derives
from its own time step where it stands in the run's ``cycle.EpochCycle`` (training periods,
then evaluation periods) and in the period (``rules.ff.PeriodPlan``: the step at which each
pass leaves the source). A graph for L layers is

    FFSource --x--> FFLayer_0 --h--> FFLayer_1 ... FFLayer_{L-1}
       ^   \\--labels--> FFReadout <--report-- every layer (summed on one port)
       +--------- label goodness ----/

Each layer sends on ``h_out``/``report_out`` what it computed in the previous step (the
one-step delay of Lava's Dense), computes its own goodness and learns from its own loss in
the learning phase of the period's last step. Rate messages carry a batch axis (B, n).
"""

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from dynaxx_neuro.processes.tensor import tensor_vars
from dynaxx_neuro.rules.ff import MONITOR_FIELDS


class FFSource(AbstractProcess):
    """Streams the passes of every period: the batch with its label, the neutral label,
    each label in turn, or a negative (made with ``negative_batch``, from the label goodness
    on ``goodness_in`` when mining hard negatives); zeros between passes. Sends the one-hot
    labels of the batch on ``label_out`` every step. ``events`` counts the graded spikes
    (non-zero inputs) of the current epoch's training passes. ``seed`` keys the run's random
    streams (epoch order, negatives)."""

    def __init__(self, *, config, cycle, data, seed, **kwargs):
        super().__init__(config=config, cycle=cycle, data=data, seed=seed, **kwargs)
        batch = config.batch_size
        self.x_out = OutPort(shape=(batch, config.input_width))
        self.label_out = OutPort(shape=(batch, config.n_classes))
        self.goodness_in = InPort(shape=(batch, config.n_classes))
        self.events = Var(shape=(1,), init=0)


class FFLayer(AbstractProcess):
    """A forward-forward layer: h = relu(normalize(x) W^T + b) and its goodness.

    Sends h on ``h_out`` and, on ``report_out`` (B, sum(hidden) + L), normalize(h) in its
    own columns and G in column sum(hidden) + index (the readout's port sums all layers).
    Learns W and b in the learning phase of a training period's last step from its positive
    and negative passes (dropout masks from the run's streams, keyed by ``seed``).
    ``monitor`` / ``ever_active`` / ``goodness_sample`` hold the epoch's ``LayerMonitor``.
    It sends only in the steps of a pass (zeros between passes) and counts in ``events`` the
    graded spikes (non-zero activities) of the current epoch's training passes.
    """

    def __init__(self, *, config, cycle, index, state, seed, **kwargs):
        super().__init__(config=config, cycle=cycle, index=index, seed=seed, **kwargs)
        batch, n_pre, n = config.batch_size, config.sizes[index], config.sizes[index + 1]
        report = sum(config.hidden) + config.n_layers
        self.x_in = InPort(shape=(batch, n_pre))
        self.h_out = OutPort(shape=(batch, n))
        self.report_out = OutPort(shape=(batch, report))
        tensor_vars(self, state)
        self.h_buff = Var(shape=(batch, n), init=0.0)
        self.report_buff = Var(shape=(batch, report), init=0.0)
        self.monitor = Var(shape=(len(MONITOR_FIELDS) + 1,), init=0.0)
        self.ever_active = Var(shape=(n,), init=0.0)
        self.goodness_sample = Var(shape=(2, batch), init=0.0)
        self.events = Var(shape=(1,), init=0)


class FFReadout(AbstractProcess):
    """The softmax readout on the layers' normalised activities of the neutral pass, and
    the goodness of every label pass summed over layers (sent back on ``goodness_out``).

    Learns its weights by cross-entropy in a training period's learning phase; counts
    training accuracy and loss (reset each epoch); writes each evaluated sample's
    probabilities and label goodness into ``eval_probs`` / ``eval_goodness`` (validation
    samples first, then test samples).
    """

    def __init__(self, *, config, cycle, state, **kwargs):
        super().__init__(config=config, cycle=cycle, **kwargs)
        batch, n_classes = config.batch_size, config.n_classes
        n_eval = max(cycle.n_val + cycle.n_test, 1)
        self.report_in = InPort(shape=(batch, sum(config.hidden) + config.n_layers))
        self.label_in = InPort(shape=(batch, n_classes))
        self.goodness_out = OutPort(shape=(batch, n_classes))
        tensor_vars(self, state)
        self.train_correct = Var(shape=(1,), init=0)
        self.train_loss = Var(shape=(1,), init=0.0)
        self.train_seen = Var(shape=(1,), init=0)
        self.eval_probs = Var(shape=(n_eval, n_classes), init=0.0)
        self.eval_goodness = Var(shape=(n_eval, n_classes), init=0.0)
