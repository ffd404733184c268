"""What every RL algorithm shares: environments (:mod:`~neurorl.rl.envs`), replay
(:mod:`~neurorl.rl.replay`), the policy protocol (:mod:`~neurorl.rl.policy`), evaluation and
early stopping (:mod:`~neurorl.rl.evaluate`) and schedules (:mod:`~neurorl.rl.schedules`)."""
