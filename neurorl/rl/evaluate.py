"""The one evaluation loop: returns of a policy, states it visits, and early stopping on them.

* :func:`evaluate`: episodes of ε-greedy play (greedy for ε = 0; ε-random actions for discrete
  action spaces only, a Box's actions are stepped as the policy gives them) with ``batch``
  environments side by side; episode ``i`` is reset with seed ``seed + i``, every episode runs
  to its end (the mean is unbiased), and the policy is reset (:mod:`neurorl.rl.policy`) at the
  start of every episode, so a recurrent policy carries state within an episode and never
  across two.
* :func:`collect_states`: the observations a policy visits (conversion's normalisation states,
  the chip reports' inputs).
* :func:`selected_evaluation`: which of a run's evaluations picks the model (the best, the
  latest of equals), as rl-zoo keeps its best model.
* :class:`EarlyStop`: the schedule every trainer shares: evaluate after each epoch, and once the
  mean reaches the target confirm it on more episodes and stop if it holds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from neurorl.rl.envs import make_env
from neurorl.rl.policy import Policy

__all__ = ["EarlyStop", "collect_states", "evaluate", "selected_evaluation"]


def evaluate(
    policy: Policy,
    env_id: str,
    episodes: int = 100,
    seed: int = 10_000,
    epsilon: float = 0.0,
    batch: int = 16,
    env_options: dict[str, Any] | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Returns (``episodes``,) of ``policy`` playing ``env_id`` ε-greedily.

    ``batch`` environments run side by side with one ``policy.act`` per step; when one's episode
    ends it starts the next episode not yet begun (reset with seed ``seed + i`` for episode
    ``i``) and ``policy.reset`` is told which environment that is. A policy with an
    ``observe(actions, rewards)`` method is told after every step what was done and received
    (recurrent actor-critics condition on the previous action and reward). ε-random actions are
    drawn from a Generator seeded with ``seed``. For a Box action space the policy's actions
    (N, *action_shape) go to the environments as they are, and ε must be 0.
    """
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    returns = np.zeros(episodes, np.float64)
    n = min(batch, episodes)
    if n < 1:
        return returns
    envs = [make_env(env_id, **(env_options or {})) for _ in range(n)]
    continuous = isinstance(envs[0].action_space, spaces.Box)
    if continuous and epsilon > 0:
        for env in envs:
            env.close()
        raise ValueError(f"ε-random actions (ε = {epsilon}) need a discrete action space; "
                         f"{env_id} has {envs[0].action_space}: evaluate with ε = 0")
    episode = np.arange(n)  # the episode each environment plays; -1 when it is done
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    policy.reset(np.ones(n, bool))
    next_episode = n
    bar = tqdm(total=episodes, unit="ep", disable=not progress, desc=f"eval {env_id}")
    try:
        while (episode >= 0).any():
            act = policy.act(obs)
            if epsilon > 0:
                rand = rng.random(n) < epsilon
                act = np.where(rand, rng.integers(0, policy.n_actions, size=n), act)
            started = np.zeros(n, bool)
            rewards = np.zeros(n)
            for j in np.flatnonzero(episode >= 0):
                o, r, terminated, truncated, _ = envs[j].step(
                    np.asarray(act[j]) if continuous else int(act[j]))
                returns[episode[j]] += r
                rewards[j] = r
                obs[j] = o
                if terminated or truncated:
                    bar.update(1)
                    if next_episode < episodes:
                        episode[j], started[j] = next_episode, True
                        obs[j] = envs[j].reset(seed=seed + next_episode)[0]
                        next_episode += 1
                    else:
                        episode[j] = -1
            if hasattr(policy, "observe"):
                policy.observe(act, rewards)
            if started.any():
                policy.reset(started)
    finally:
        for env in envs:
            env.close()
        bar.close()
    return returns


def collect_states(
    policy: Policy | None, env_id: str, n: int, epsilon: float = 0.0, seed: int = 0
) -> np.ndarray:
    """Observations (n, *obs_shape) visited by ``policy`` playing ε-greedy on ``env_id``.

    ``policy=None`` plays uniformly random actions. Episode ``i`` is reset with ``seed + i``
    (and the policy reset with it); the same seed gives the same states.
    """
    rng = np.random.default_rng(seed)
    env = make_env(env_id)
    states: list[np.ndarray] = []
    episode = 0
    obs, _ = env.reset(seed=seed)
    if policy is not None:
        policy.reset(np.ones(1, bool))
    while len(states) < n:
        states.append(np.asarray(obs))
        if policy is None or rng.random() < epsilon:
            action = int(rng.integers(env.action_space.n))
        else:
            action = int(policy.act(np.asarray(obs)[None])[0])
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
            if policy is not None:
                policy.reset(np.ones(1, bool))
    env.close()
    return np.stack(states)


def selected_evaluation(evals: Sequence[Sequence[float]]) -> int:
    """Index of the evaluation that picks the model in ``evals`` ((step, mean return) rows):
    the best mean return, the latest of equals."""
    return max(range(len(evals)), key=lambda k: (evals[k][1], k))


@dataclass
class EarlyStop:
    """Greedy evaluation after each epoch of a trainer, and its early stop.

    :meth:`check` plays ``episodes`` greedy episodes (seeds ``seed + i``); the first epoch whose
    mean reaches ``target`` is recorded (``epochs_to_target``, ``steps_to_target``), and with
    ``enabled`` the result is confirmed on ``final_episodes`` episodes: training stops if the
    confirmation holds too. :meth:`final_returns` gives the confirmed returns, or evaluates the
    final policy on ``final_episodes`` episodes. ``seconds`` is the wall time spent evaluating
    (trainers report their time without it).
    """

    env_id: str
    episodes: int = 10
    final_episodes: int = 100
    seed: int = 10_000
    target: float = 475.0
    enabled: bool = True
    epochs_to_target: int | None = None
    steps_to_target: int | None = None
    seconds: float = 0.0
    confirmed: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def check(self, policy: Policy, epoch: int, env_steps: int) -> tuple[float, bool]:
        """Evaluate ``policy`` after ``epoch``: ``(mean return, stop)``."""
        start = time.perf_counter()
        mean = float(evaluate(policy, self.env_id, self.episodes, self.seed).mean())
        stop = False
        if mean >= self.target:
            if self.epochs_to_target is None:
                self.epochs_to_target, self.steps_to_target = epoch, env_steps
            if self.enabled:
                final = evaluate(policy, self.env_id, self.final_episodes, self.seed)
                stop = bool(final.mean() >= self.target)
                self.confirmed = final if stop else np.zeros(0)
        self.seconds += time.perf_counter() - start
        return mean, stop

    def final_returns(self, policy: Policy) -> np.ndarray:
        """The confirming evaluation if training stopped early, else ``final_episodes`` of
        ``policy`` (none when ``final_episodes`` is 0)."""
        if len(self.confirmed) or self.final_episodes <= 0:
            return self.confirmed
        return evaluate(policy, self.env_id, self.final_episodes, self.seed)
