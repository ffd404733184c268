"""Multi-agent closed loop in Brian2: the shared agent network, one copy per agent, plays whole
episodes of a :class:`~neurorl.rl.marl_envs.MultiAgentEnv`.

One Brian2 network holds N copies of :func:`neurorl.rl.marl_agent.to_network` (copy i is agent
i) and runs once for all episodes: a ``network_operation`` at the start of every step reads the
Q values of the step before, takes each agent's greedy action among its available ones, steps
the environment and writes the next inputs (observation, one-hot id, one-hot last action).
Under the aligned schedule an input reaches the Q values within its own step, so the action of
step t depends on the observation of step t, as in the kernel. The neuron state carries from
step to step and returns to its initial values at every episode start. Episode k is reset with
``seed + k``, as :func:`neurorl.algos.marl.evaluate` does, so both see the same episodes.
"""

from __future__ import annotations

import brian2
import numpy as np

from neurorl.rl.marl_agent import AgentNet, agent_inputs, to_network
from neurorl.sim import devices

__all__ = ["play_brian2"]


def play_brian2(agent: AgentNet, env, episodes: int = 1, seed: int = 10_000,
                target: str = "numpy", device: str = "runtime") -> list[dict]:
    """Greedy episodes of ``env`` (a :class:`~neurorl.rl.marl_envs.MultiAgentEnv`) played by
    ``agent`` as a Brian2 network; per episode a dict with ``actions`` (T, N) and ``return``."""
    net = to_network(agent)
    N, A = env.n_agents, env.n_actions
    results: list[dict] = []
    with devices.use(device, target=target):
        objs = net.to_brian2(copies=N)
        inputs, out = objs.groups["x"], objs.groups["out"]
        current: dict = {"step": None, "last": None, "actions": [], "return": 0.0}

        def begin() -> None:
            current["step"] = env.reset(seed=seed + len(results))
            current["last"], current["actions"], current["return"] = np.full(N, -1), [], 0.0
            for layer in net.neuron_layers:
                group = objs.groups[layer.name]
                for var, value in net.initial_state(layer).items():
                    setattr(group, f"{var}_", value)

        @brian2.network_operation(dt=net.dt * brian2.ms, when="start", order=-100)
        def decide():
            if current["step"] is None:
                begin()
            else:
                q = np.asarray(out.y_).reshape(N, A)
                step = current["step"]
                actions = np.where(step.avail > 0, q, -np.inf).argmax(-1)
                current["step"] = env.step(actions)
                current["actions"].append(actions)
                current["last"] = actions
                current["return"] += current["step"].reward
                if current["step"].done:
                    results.append({"actions": np.stack(current["actions"]),
                                    "return": current["return"]})
                    if len(results) == episodes:
                        brian2.stop()
                        return
                    begin()
            inputs.x_ = agent_inputs(current["step"].obs, current["last"], A).ravel()

        objs.network.add(decide)
        objs.network.run(episodes * (env.episode_limit + 2) * net.dt * brian2.ms)
        objs.network.remove(decide)
    return results
