"""One module per method, each read top to bottom like a method section: the numpy DQN teacher
(:mod:`~neurorl.algos.dqn`, resume state in :mod:`~neurorl.algos.dqn_resume`), the spiking DQN
from scratch (:mod:`~neurorl.algos.spiking_dqn`), SDN distillation (:mod:`~neurorl.algos.distill`),
DQN -> SNN conversion (:mod:`~neurorl.algos.convert`), supervised training
(:mod:`~neurorl.algos.supervised`) and recurrent SAC-discrete with the temporal alignment paradigm
(:mod:`~neurorl.algos.sacd`). :mod:`~neurorl.algos.checkpoints` loads every kind of checkpoint
they write as a policy."""

from __future__ import annotations

from types import ModuleType

RECURRENT_ALGOS = ("sacd", "td3", "sac")


def recurrent_algorithm(name: str) -> tuple[ModuleType, type]:
    """The module and config class of a recurrent actor-critic by name: ``sacd`` (SAC-discrete),
    ``td3`` or ``sac``; each module has ``train(cfg, out_dir, progress, resume)``."""
    if name not in RECURRENT_ALGOS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(RECURRENT_ALGOS)}")
    from neurorl.algos import sac, sacd, td3

    module = {"sacd": sacd, "td3": td3, "sac": sac}[name]
    config = {"sacd": sacd.SACDConfig, "td3": td3.TD3Config, "sac": sac.SACConfig}[name]
    return module, config
