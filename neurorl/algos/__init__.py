"""One module per method, each read top to bottom like a method section: the numpy DQN teacher
(:mod:`~neurorl.algos.dqn`), the spiking DQN from scratch (:mod:`~neurorl.algos.spiking_dqn`),
SDN distillation (:mod:`~neurorl.algos.distill`), DQN -> SNN conversion
(:mod:`~neurorl.algos.convert`) and supervised training (:mod:`~neurorl.algos.supervised`)."""
