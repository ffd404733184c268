"""What every RL algorithm shares: environments (:mod:`~neurorl.rl.envs`, partially observed
tasks in :mod:`~neurorl.rl.pomdp`), replay of transitions (:mod:`~neurorl.rl.replay`) and of
sequences (:mod:`~neurorl.rl.sequence_replay`), the policy protocol (:mod:`~neurorl.rl.policy`),
evaluation and early stopping (:mod:`~neurorl.rl.evaluate`), schedules
(:mod:`~neurorl.rl.schedules`), and the recurrent encoders and actor-critic networks of the GRSN
study (:mod:`~neurorl.rl.encoders`, :mod:`~neurorl.rl.recurrent_ac`)."""
