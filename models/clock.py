"""The clock of every phase-scheduled ProcessModel: where its time step falls in the run's
``cycle.EpochCycle``, and learning in the learning phase of a training period's last step
(like Loihi's learning epoch, ``t_epoch`` = the period)."""

from lava.magma.core.model.py.model import PyLoihiProcessModel

from dynaxx_neuro.cycle import TRAIN, Slot


class PeriodModel(PyLoihiProcessModel):
    """A ProcessModel that reads the ``cycle`` process parameter (an ``EpochCycle``).

    ``slot`` is the (epoch, split, batch, k) of the current step; ``lrn_guard`` opens the
    learning phase at the last step of every training period where ``learns_now()``
    (override it, e.g. EP learns only when its period was nudged).
    """

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.cycle = proc_params["cycle"]

    @property
    def slot(self) -> Slot:
        return self.cycle.slot(self.time_step)

    def lrn_guard(self) -> bool:
        slot = self.slot
        return (slot.split == TRAIN and slot.k == self.cycle.train_period - 1
                and self.learns_now())

    def learns_now(self) -> bool:
        return True
