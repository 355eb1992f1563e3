"""Lava Processes of target propagation: interfaces only (ports and Vars).

The maths is in ``dynaxx_neuro.kernels.tp``; the ProcessModels in ``dynaxx_neuro.models.tp``
call it through the rule's composition (``dynaxx_neuro.rules.tp``), which also gives the
period's steps. A graph for L weight layers (forward layer l: h_l -> h_{l+1}; feedback layer
l >= 1: the difference at h_{l+1} (DTP) or at the output (DDTP-linear) -> the one at h_l)::

    TPSource --x--> TPForward_0 --h--> TPForward_1 ... TPForward_{L-1} --logits--> TPReadout
       \\--labels----------------------------------------------------------------^      |
    DTP:  TPFeedback_l <--h, probe-- TPForward_l; delta_{l+1} from TPFeedback_{l+1}     |
          (TPReadout for l = L-1); delta_l --> TPForward_{l-1} and TPFeedback_{l-1}      |
    DDTP: TPFeedback_l <--probe-- TPForward_l, <--logits-- TPForward_{L-1},             |
          <--delta_L-- TPReadout; delta_l --> TPForward_{l-1}                            |
    TPForward_{L-1} <--delta_L------------------------------------------------------------+

Each forward and feedback layer holds its plastic synapses (weights, bias, Adam moments) as
Vars and learns them in the learning phase of the period's last step from what it received
(its local loss). Messages carry ``rules.tp.blocks`` stacked copies of the batch, (rows, n).
"""

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from dynaxx_neuro.processes.tensor import tensor_vars
from dynaxx_neuro.rules.tp import blocks


class TPSource(AbstractProcess):
    """Streams the batch of every period (x on ``x_out``, its one-hot labels on
    ``label_out``): the epoch's shuffled training batches, then the padded validation and
    test batches. ``seed`` keys the epoch order."""

    def __init__(self, *, config, cycle, data, seed, **kwargs):
        super().__init__(config=config, cycle=cycle, data=data, seed=seed, **kwargs)
        self.x_out = OutPort(shape=(config.batch_size, config.n_inputs))
        self.label_out = OutPort(shape=(config.batch_size, config.n_classes))


class TPForward(AbstractProcess):
    """Forward layer ``index``: h_{l+1} = f(h_l W^T + b) of every block on ``h_out``, the
    probe [h_l; h~_l] of its noisy block on ``probe_out`` (l >= 1), and the difference at
    its output on ``delta_in``, from which it learns W and b."""

    def __init__(self, *, config, cycle, index, state, seed, **kwargs):
        super().__init__(config=config, cycle=cycle, index=index, seed=seed, **kwargs)
        rows, sizes = blocks(config) * config.batch_size, config.sizes
        n_in, n_out = sizes[index], sizes[index + 1]
        self.x_in = InPort(shape=(config.batch_size if index == 0 else rows, n_in))
        self.h_out = OutPort(shape=(rows, n_out))
        self.probe_out = OutPort(shape=(2 * config.batch_size, n_in))
        self.delta_in = InPort(shape=(config.batch_size, n_out))
        tensor_vars(self, state)


class TPFeedback(AbstractProcess):
    """Feedback layer ``index`` (>= 1): receives on ``h_in`` forward layer l's output (DTP)
    or the logits (DDTP-linear), the probe of forward layer l on ``probe_in`` and the
    difference above on ``delta_in``; sends delta_l on ``delta_out``; learns its inverse
    (DTP) or feedback matrix (DDTP-linear) from the noisy block."""

    def __init__(self, *, config, cycle, index, state, **kwargs):
        super().__init__(config=config, cycle=cycle, index=index, **kwargs)
        rows, sizes, batch = blocks(config) * config.batch_size, config.sizes, config.batch_size
        seen = sizes[-1] if config.direct else sizes[index + 1]
        self.h_in = InPort(shape=(rows, seen))
        self.probe_in = InPort(shape=(2 * batch, sizes[index]))
        self.delta_in = InPort(shape=(batch, seen))
        self.delta_out = OutPort(shape=(batch, sizes[index]))
        tensor_vars(self, state)


class TPReadout(AbstractProcess):
    """Takes the logits (``logits_in``) and labels (``label_in``); sends delta_L on
    ``delta_out``; counts training accuracy and loss (reset each epoch); writes each
    evaluated sample's prediction and loss into ``eval_pred`` / ``eval_loss`` (validation
    samples first, then test samples)."""

    def __init__(self, *, config, cycle, **kwargs):
        super().__init__(config=config, cycle=cycle, **kwargs)
        batch, n_eval = config.batch_size, max(cycle.n_val + cycle.n_test, 1)
        self.logits_in = InPort(shape=(blocks(config) * batch, config.n_classes))
        self.label_in = InPort(shape=(batch, config.n_classes))
        self.delta_out = OutPort(shape=(batch, config.n_classes))
        self.train_correct = Var(shape=(1,), init=0)
        self.train_loss = Var(shape=(1,), init=0.0)
        self.train_seen = Var(shape=(1,), init=0)
        self.eval_pred = Var(shape=(n_eval,), init=0)
        self.eval_loss = Var(shape=(n_eval,), init=0.0)
