"""The DQN's Q-network: architecture, parameters and observation scale, saved and loaded.

:class:`QNetwork` is what :mod:`neurorl.algos.dqn` trains and what conversion, distillation and
the chip reports take as the teacher (``layers``, ``forward(..., preactivations=True)``,
``q_values``, ``act``); :func:`build_q_network` picks the architecture for an observation space
(MLP, the MinAtar net, the Nature-DQN stack, or a dueling MLP); :func:`load_teacher` reads a
checkpoint of kind ``neurorl.dqn.QNetwork``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from neurorl import checkpoint
from neurorl.ann import nn
from neurorl.ann.dueling import Dueling, dueling_mlp

__all__ = ["KIND", "Layer", "QNetwork", "build_q_network", "load_teacher", "scale_obs"]

KIND = "neurorl.dqn.QNetwork"  # checkpoint kind (file format: unchanged since the first wave)


class Layer(NamedTuple):
    """One affine layer of a Q-network: its spec and its (live) weight and bias arrays."""

    spec: nn.LayerSpec
    W: np.ndarray
    b: np.ndarray


@dataclass
class QNetwork:
    """A Q-network: architecture (:class:`nn.Sequential`), parameters, observation scale.

    ``params`` maps ``"l<i>.W"``/``"l<i>.b"`` to float32 arrays (dense ``W`` is (n_in, n_out),
    conv ``W`` is (C_out, C_in, k, k)). Observations are multiplied by ``obs_scale`` (1/255 for
    Atari frames) before the first layer. ``meta`` holds what the checkpoint said (env, config).
    """

    net: nn.Sequential | Dueling
    params: dict[str, np.ndarray]
    obs_scale: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_actions(self) -> int:
        """Number of actions (outputs)."""
        return self.net.out_size

    def greedy_network(self) -> QNetwork:
        """The network whose argmax is the greedy action: this one, or a dueling network's
        advantage stream (parameters shared, not copied)."""
        if not isinstance(self.net, Dueling):
            return self
        params = Dueling.stream_params(self.params, "advantage")
        return QNetwork(self.net.advantage, params, self.obs_scale, self.meta)

    @property
    def layers(self) -> list[Layer]:
        """Per-layer specs with their ``W`` and ``b`` arrays, input to output (ReLU after all but
        the last); a dueling network has two streams: see :meth:`greedy_network`."""
        if isinstance(self.net, Dueling):
            raise TypeError("a dueling network has two streams; use greedy_network().layers")
        return [
            Layer(spec, self.params[f"l{i}.W"], self.params[f"l{i}.b"])
            for i, spec in enumerate(self.net.layers)
        ]

    def preprocess(self, obs: np.ndarray) -> np.ndarray:
        """Observations (N, *obs_shape) as the float32 network input (scaled by ``obs_scale``)."""
        return scale_obs(obs, self.obs_scale)

    def _batch(self, obs: np.ndarray) -> tuple[np.ndarray, bool]:
        obs = np.asarray(obs)
        single = obs.ndim == len(self.net.in_shape)
        return (obs[None] if single else obs), single

    def forward(
        self, obs: np.ndarray, preactivations: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Q-values (N, A) and, if asked, every layer's pre-activation (N, *out_shape) list."""
        x, _ = self._batch(obs)
        q, cache = self.net.forward(
            self.params, self.preprocess(x), keep_cache=False, preactivations=preactivations
        )
        return q, cache.get("pre", [])

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Q-values, float32: (N, A) for a batch (N, *obs_shape), (A,) for one observation."""
        x, single = self._batch(obs)
        q = self.net(self.params, self.preprocess(x))
        return q[0] if single else q

    def reset(self, done: np.ndarray | None = None) -> None:
        """The policy protocol's episode start (:mod:`neurorl.rl.policy`): a Q-network keeps no
        state between decisions, so nothing to clear."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy actions (N,) int64 for a batch of observations (dueling: argmax of A)."""
        x, _ = self._batch(obs)
        greedy = self.greedy_network()
        return np.argmax(greedy.net(greedy.params, self.preprocess(x)), axis=1)

    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
        """Write the network as a checkpoint (arrays ``q/l<i>.W`` …, architecture in the header)."""
        header = dict(self.meta)
        header.update(meta or {})
        header.update(
            kind=KIND, architecture=self.net.to_dict(), obs_scale=self.obs_scale
        )
        return checkpoint.save(path, {f"q/{k}": v for k, v in self.params.items()}, header)


def scale_obs(obs: np.ndarray, obs_scale: float) -> np.ndarray:
    """Observations (N, *obs_shape) as float32 network input: ``obs`` × ``obs_scale``."""
    x = np.asarray(obs, dtype=np.float32)
    return x * np.float32(obs_scale) if obs_scale != 1.0 else x


def build_q_network(
    obs_shape: Sequence[int],
    obs_dtype: str,
    n_actions: int,
    net: str = "auto",
    hidden: Sequence[int] = (256, 256),
    dueling: bool = False,
) -> tuple[nn.Sequential | Dueling, float]:
    """Choose the architecture for these observations: ``(net, obs_scale)``.

    ``net = "auto"``: 1-D → MLP(``hidden``); (C, 10, 10) → MinAtar net; (4, 84, 84) →
    Nature DQN. uint8 observations are scaled by 1/255. ``dueling``: two MLP streams
    (:func:`neurorl.ann.dueling.dueling_mlp`).
    """
    kind = net
    shape = tuple(obs_shape)
    if kind == "auto":
        if len(shape) == 1:
            kind = "mlp"
        elif len(shape) == 3 and shape[1:] == (10, 10):
            kind = "minatar"
        elif len(shape) == 3 and shape[1:] == (84, 84):
            kind = "nature"
        else:
            raise ValueError(
                f"no default Q-network for observations of shape {shape}; "
                "set net to 'mlp', 'minatar' or 'nature'"
            )
    scale = 1.0 / 255.0 if obs_dtype == "uint8" else 1.0
    if dueling and kind != "mlp":
        raise ValueError(f"dueling is implemented for MLP Q-networks only, not {kind!r}")
    if kind == "mlp":
        build = dueling_mlp if dueling else nn.mlp
        return build(int(np.prod(shape)), tuple(hidden), n_actions), scale
    if kind == "minatar":
        return nn.minatar_cnn(shape[0], n_actions, size=shape[1]), scale
    if kind == "nature":
        return nn.nature_cnn(n_actions, in_shape=shape), scale
    raise ValueError(f"unknown Q-network {net!r}; choose auto, mlp, minatar or nature")


def load_teacher(path: str | Path) -> QNetwork:
    """Load a trained Q-network from a ``teacher.npz`` written by :func:`neurorl.algos.dqn.train`.

    Raises :class:`neurorl.checkpoint.CheckpointError` for a corrupt file and ``ValueError`` for
    a checkpoint that holds no Q-network.
    """
    arrays, meta = checkpoint.load(path)
    if "architecture" not in meta:
        raise ValueError(f"{path}: checkpoint holds no Q-network (no 'architecture' in its header)")
    arch = meta["architecture"]
    net = Dueling.from_dict(arch) if "dueling" in arch else nn.Sequential.from_dict(arch)
    params = {k[2:]: v for k, v in arrays.items() if k.startswith("q/")}
    missing = set(net.param_shapes()) - set(params)
    if missing:
        raise ValueError(f"{path}: Q-network arrays missing: {sorted(missing)}")
    for k, shape in net.param_shapes().items():
        if params[k].shape != shape:
            raise ValueError(
                f"{path}: q/{k} has shape {params[k].shape}, architecture says {shape}"
            )
    params = {k: params[k] for k in net.param_shapes()}
    return QNetwork(net, params, float(meta.get("obs_scale", 1.0)), meta)


