"""One module per method, each read top to bottom like a method section: the numpy DQN teacher
(:mod:`~neurorl.algos.dqn`, resume state in :mod:`~neurorl.algos.dqn_resume`), the spiking DQN
from scratch (:mod:`~neurorl.algos.spiking_dqn`), SDN distillation (:mod:`~neurorl.algos.distill`),
DQN -> SNN conversion (:mod:`~neurorl.algos.convert`), supervised training
(:mod:`~neurorl.algos.supervised`) and recurrent SAC-discrete with the temporal alignment paradigm
(:mod:`~neurorl.algos.sacd`). :mod:`~neurorl.algos.checkpoints` loads every kind of checkpoint
they write as a policy."""
