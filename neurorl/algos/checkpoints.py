"""Every kind of checkpoint neurorl writes, loaded as a policy: what ``neurorl evaluate`` reads.

* ``teacher``, ``dueling teacher``: ``neurorl train-teacher`` (a
  :class:`~neurorl.ann.qnetwork.QNetwork`, kind ``neurorl.dqn.QNetwork``);
* ``SDN student``: ``neurorl distill`` (:class:`~neurorl.algos.distill.StudentPolicy`);
* ``spiking DQN``: :func:`~neurorl.algos.spiking_dqn.train_spiking_dqn` with ``out_dir`` (a
  :class:`~neurorl.algos.distill.StudentPolicy`);
* ``converted SNN``: ``neurorl convert --out`` (:class:`~neurorl.algos.convert.SNNPolicy`);
* ``TAP actor``: ``neurorl train-tap`` (a recurrent actor, :class:`~neurorl.algos.sacd.SACDPolicy`,
  whose state carries across environment steps);
* ``TD3 actor``, ``SAC actor``: ``neurorl train-tap --algo td3`` / ``--algo sac`` (recurrent
  actors of continuous actions, :class:`~neurorl.algos.td3.TD3Policy` and
  :class:`~neurorl.algos.sac.SACPolicy`, acting in the environment's Box).

The kind is read from the checkpoint's header (``kind``, and ``kind_detail`` for spiking
networks), as written by every version of neurorl since the first wave.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurorl import checkpoint
from neurorl.ann import qnetwork
from neurorl.rl.policy import Policy

__all__ = ["KINDS", "LoadedPolicy", "load_policy"]

KINDS = ("teacher", "dueling teacher", "SDN student", "spiking DQN", "converted SNN",
         "TAP actor", "TD3 actor", "SAC actor")
NETWORK_KIND = "neurorl.Network"  # Network.save's kind


@dataclass
class LoadedPolicy:
    """A checkpoint as a policy: ``kind`` (one of :data:`KINDS`), the policy, the environment
    stored in it (None if none) and the whole header."""

    kind: str
    policy: Policy
    env_id: str | None
    meta: dict[str, Any]


def load_policy(path: str | Path) -> LoadedPolicy:
    """Load any checkpoint neurorl writes as a policy; an unknown kind names the known ones."""
    from neurorl.algos import convert, distill, sac, sacd, spiking_dqn, td3

    header = checkpoint.read_header(path)["meta"]
    kind, detail = header.get("kind"), header.get("kind_detail")
    if kind == qnetwork.KIND:
        q = qnetwork.load_teacher(path)
        name = "dueling teacher" if "dueling" in q.meta.get("architecture", {}) else "teacher"
        return LoadedPolicy(name, q, q.meta.get("env"), q.meta)
    if kind == sacd.KIND:
        policy, meta = sacd.load_actor(path)
        return LoadedPolicy("TAP actor", policy, meta.get("env"), meta)
    for name, module in (("TD3 actor", td3), ("SAC actor", sac)):
        if kind == module.KIND:
            policy, meta = module.load_actor(path)
            return LoadedPolicy(name, policy, meta.get("env"), meta)
    if kind == NETWORK_KIND and detail == convert.KIND:
        policy, meta = convert.load_converted(path)
        return LoadedPolicy("converted SNN", policy, meta.get("env"), meta)
    if kind == NETWORK_KIND and detail in (distill.KIND, spiking_dqn.KIND):
        policy, meta = distill.load_student(path)
        name = "spiking DQN" if detail == spiking_dqn.KIND else "SDN student"
        return LoadedPolicy(name, policy, meta.get("env"), meta)
    what = f"kind {kind!r}" + (f", kind_detail {detail!r}" if detail else "")
    raise ValueError(
        f"{path}: a checkpoint of {what} is not a policy neurorl can evaluate; "
        f"known: {', '.join(KINDS)}"
    )
