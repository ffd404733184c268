"""Operations and energy per decision of a recurrent actor, counted alike for every encoder.

One decision is one environment step of the actor of :mod:`neurorl.rl.recurrent_ac`
(embedders → encoder → one MLP head). Counted per decision, from the layer shapes and, for
spiking encoders, from the spikes the actor emits on the steps its greedy policy visits:

* **embedders** (previous action, previous reward, observation, observation shortcut): dense
  MACs, n_in·n_out each (analog inputs);
* **encoder**:
  - ``gru`` / ``lstm``: 3 / 4 · (I·H + H·H) MACs (the gate products of PyTorch's cells);
  - ``mlp``: I·H MACs;
  - spiking (``grsn``, ``grsn_input_gated``, ``lif`` and the ``*_notap`` variants): every
    connection from the (analog) embedded input costs I·H MACs per simulation step (two for
    ``grsn_input_gated``, whose gates read the input); every recurrent connection (the layer's
    own spikes: ``grsn``'s two gates) one synaptic operation (SOP) per delivered spike and
    target, i.e. spikes·H. Without TAP an environment step is 4 simulation steps from a fresh
    state, so 4× the input MACs, and the spikes of the last sub-step reach the head only;
* **head** (the actor's one): its first layer reads [encoder output, shortcut]: the encoder part
  costs spikes·n_out SOPs when the encoder spikes (binary input: an accumulate per spike and
  target) and H·n_out MACs otherwise; the shortcut part and the other layers are dense MACs.

Energy per decision E = e_mac · MACs + e_add · SOPs with the ``cpu_45nm`` profile's
``e_mac_pj`` = 4.6 and ``e_add_pj`` = 0.9 (Horowitz, ISSCC 2014; an SOP is one fp32 accumulate),
the count of the SNN-vs-ANN energy literature. Not counted, for any encoder: biases,
nonlinearities, the element-wise gate arithmetic (F·c, r ⊙ n, ...), neuron state updates and
memory traffic. The chip models (``neurorl energy --profile nc64c --profile loihi``) price the
deployed Brian2 network of a TAP actor instead, from its Brian2 run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurorl.hardware.profiles import Profile, load_profile

__all__ = ["DecisionOps", "decision_ops", "marl_decision_ops", "visited_inputs"]

PARTS = ("embed", "encoder", "head")


@dataclass
class DecisionOps:
    """MACs and SOPs per decision of one actor, per part (``embed``, ``encoder``, ``head``),
    measured over ``decisions`` visited steps; ``spikes``: encoder spikes per decision (every
    simulation step; 0 for non-spiking encoders)."""

    encoder: str
    decisions: int
    spikes: float
    hidden: int
    parts: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def macs(self) -> float:
        """MACs per decision, all parts."""
        return sum(p["macs"] for p in self.parts.values())

    @property
    def sops(self) -> float:
        """Synaptic operations (accumulates) per decision, all parts."""
        return sum(p["sops"] for p in self.parts.values())

    def energy_pj(self, profile: Profile | str = "cpu_45nm") -> dict[str, float]:
        """Energy per decision in pJ per part and ``total``: e_mac·MACs + e_add·SOPs."""
        p = load_profile(profile)
        e_mac, e_add = p.values["e_mac_pj"], p.values["e_add_pj"]
        out = {k: e_mac * v["macs"] + e_add * v["sops"] for k, v in self.parts.items()}
        out["total"] = sum(out.values())
        return out

    def to_dict(self, profile: Profile | str = "cpu_45nm") -> dict[str, Any]:
        """A JSON-ready summary with the energy under ``profile``."""
        return {"encoder": self.encoder, "decisions": self.decisions, "hidden": self.hidden,
                "spikes_per_decision": self.spikes,
                "spike_rate": self.spikes / self.hidden if self.hidden else 0.0,
                "macs": self.macs, "sops": self.sops, "parts": self.parts,
                "energy_pj": self.energy_pj(profile), "profile": load_profile(profile).name}

    def table(self, profile: Profile | str = "cpu_45nm") -> str:
        """A short text table of the count and its energy."""
        e = self.energy_pj(profile)
        lines = [f"{self.encoder} encoder, {self.decisions} decisions: {self.spikes:.1f} encoder "
                 f"spikes per decision ({self.spikes / max(self.hidden, 1):.3f} per neuron)",
                 f"  {'part':<8} {'MACs':>10} {'SOPs':>10} {'energy':>12}"]
        for k in PARTS:
            v = self.parts[k]
            lines.append(f"  {k:<8} {v['macs']:>10.0f} {v['sops']:>10.1f} {e[k] / 1e3:>9.2f} nJ")
        lines.append(f"  {'total':<8} {self.macs:>10.0f} {self.sops:>10.1f} "
                     f"{e['total'] / 1e3:>9.2f} nJ  ({load_profile(profile).name}: "
                     f"{load_profile(profile).values['e_mac_pj']} pJ/MAC, "
                     f"{load_profile(profile).values['e_add_pj']} pJ/SOP)")
        return "\n".join(lines)


def visited_inputs(policy: Any, env_id: str, decisions: int, seed: int = 0
                   ) -> list[np.ndarray]:
    """Play ``policy`` (a recurrent actor's policy: ``act``, ``observe``, ``reset`` and a
    ``state`` with ``prev_action`` and ``prev_reward``) greedily until ``decisions`` steps, and
    return the actor's inputs per episode: arrays (T, act_dim + 1 + obs_dim) of [previous
    action, previous reward, observation], as :func:`neurorl.rl.recurrent_ac.network_inputs`."""
    from neurorl.rl.envs import make_env
    from neurorl.rl.recurrent_ac import network_inputs

    env = make_env(env_id)
    discrete = hasattr(env.action_space, "n")
    episodes: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    taken = 0
    obs, _ = env.reset(seed=seed)
    policy.reset(np.ones(1, bool))
    while taken < decisions:
        steps.append(network_inputs(policy.state["prev_action"], policy.state["prev_reward"],
                                    np.asarray(obs)[None])[0])
        action = policy.act(np.asarray(obs)[None])[0]
        obs, reward, terminated, truncated, _ = env.step(int(action) if discrete else action)
        policy.observe(np.asarray([action]), np.array([reward]))
        taken += 1
        if terminated or truncated or taken == decisions:
            episodes.append(np.stack(steps))
            steps = []
            obs, _ = env.reset(seed=seed + len(episodes))
            policy.reset(np.ones(1, bool))
    env.close()
    return episodes


def _encoder_counts(encoder: Any, kind: str, x: np.ndarray) -> tuple[float, float, float, float]:
    """(MACs, SOPs, encoder spikes, spikes reaching the head) summed over the steps of x
    (T, 1, n_in), one episode from the zero state."""
    T = len(x)
    H, n_in = encoder.hidden, encoder.n_in
    if kind in ("gru", "lstm"):
        return float(encoder.cell.macs_per_step() * T), 0.0, 0.0, 0.0
    if kind == "mlp":
        return float(n_in * H * T), 0.0, 0.0, 0.0
    raster = encoder.simulation_spikes(x)[:, 0]  # (T, S, H)
    S = raster.shape[1]
    analog = [c for c in encoder.net.connections if c.pre.model is None]
    recurrent = [c for c in encoder.net.connections if c.pre.model is not None]
    macs = float(sum(c.pre.size * c.post.size for c in analog) * S * T)
    # TAP: a step's spikes drive the recurrent products of the next step (the episode's last
    # ones are never delivered); no TAP: sub-steps 1..S-1 read sub-steps 0..S-2
    delivered = raster[:-1].sum() if S == 1 else raster[:, :-1].sum()
    sops = float(delivered * sum(c.post.size for c in recurrent))
    return macs, sops, float(raster.sum()), float(raster[:, -1].sum())


def decision_ops(actor: Any, episodes: list[np.ndarray]) -> DecisionOps:
    """Count the operations of ``actor`` (a one-head :class:`~neurorl.rl.recurrent_ac
    .RecurrentNet`) per decision over ``episodes`` (from :func:`visited_inputs`), as the module
    doc says."""
    if actor.heads != 1:
        raise ValueError(f"decision_ops counts an actor (one head); this network has "
                         f"{actor.heads}")
    kind = actor.arch.encoder
    A, O = actor.act_dim, actor.obs_dim
    embed_macs = sum(actor.params[f"embed.{k}.W"].size for k in "aros")
    head = actor.head_params(0)
    H = actor.arch.hidden
    W0 = head["l0.W"]
    rest = sum(v.size for k, v in head.items() if k.endswith(".W") and k != "l0.W")
    spiking = hasattr(actor.encoder, "net")
    T_total = sum(len(e) for e in episodes)
    if T_total == 0:
        raise ValueError("no decisions to count")
    enc_macs = enc_sops = spikes = head_spikes = 0.0
    for ep in episodes:
        x = actor.encoder_inputs(ep[:, None, :A], ep[:, None, A], ep[:, None, A + 1:A + 1 + O])
        m, s, n, h = _encoder_counts(actor.encoder, kind, x)
        enc_macs, enc_sops, spikes, head_spikes = (enc_macs + m, enc_sops + s, spikes + n,
                                                   head_spikes + h)
    if spiking:
        head_macs = (W0.shape[0] - H) * W0.shape[1] + rest
        head_sops = head_spikes / T_total * W0.shape[1]
    else:
        head_macs, head_sops = W0.size + rest, 0.0
    parts = {"embed": {"macs": float(embed_macs), "sops": 0.0},
             "encoder": {"macs": enc_macs / T_total, "sops": enc_sops / T_total},
             "head": {"macs": float(head_macs), "sops": float(head_sops)}}
    return DecisionOps(kind, T_total, spikes / T_total, H, parts)


def marl_decision_ops(agent: Any, episodes: list[np.ndarray]) -> DecisionOps:
    """The same count per decision of one agent of a shared multi-agent network
    (:class:`~neurorl.rl.marl_agent.AgentNet`: embedding → encoder → Q head) over
    ``episodes``, each (T, N, in_dim) of the inputs its agents saw (one decision = one agent's
    step). The embedding's input is dense (MACs); the Q head reads the encoder as the actor's
    head does (SOPs for spikes)."""
    kind = agent.encoder_name
    W_e, W_q = agent.params["embed.W"], agent.params["q.W"]
    spiking = hasattr(agent.encoder, "net")
    decisions = enc_macs = enc_sops = spikes = head_spikes = 0.0
    for ep in episodes:
        T, N = ep.shape[:2]
        e = np.maximum(ep.reshape(T * N, -1) @ W_e + agent.params["embed.b"], 0)
        e = e.reshape(T, N, -1)
        for i in range(N):  # each agent's own episode, from the zero state
            m, s, n, h = _encoder_counts(agent.encoder, kind, e[:, i:i + 1])
            enc_macs, enc_sops, spikes, head_spikes = (enc_macs + m, enc_sops + s,
                                                       spikes + n, head_spikes + h)
        decisions += T * N
    if decisions == 0:
        raise ValueError("no decisions to count")
    head = ({"macs": 0.0, "sops": head_spikes / decisions * W_q.shape[1]} if spiking
            else {"macs": float(W_q.size), "sops": 0.0})
    parts = {"embed": {"macs": float(W_e.size), "sops": 0.0},
             "encoder": {"macs": enc_macs / decisions, "sops": enc_sops / decisions},
             "head": head}
    return DecisionOps(kind, int(decisions), spikes / decisions, agent.hidden, parts)
