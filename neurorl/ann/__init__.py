"""Numpy ANNs: layers and networks (:mod:`~neurorl.ann.nn`), dueling heads
(:mod:`~neurorl.ann.dueling`), the DQN's Q-network (:mod:`~neurorl.ann.qnetwork`), optimisers
(:mod:`~neurorl.ann.optim`) and the fused numba loops they run on (:mod:`~neurorl.ann.fused`)."""
