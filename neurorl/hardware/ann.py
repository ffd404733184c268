"""The DNN side: multiply-accumulates of a Q-network and their price on a CPU or GPU profile.

Counted from layer shapes (:class:`neurorl.ann.nn.LayerSpec`): a dense layer (n_in -> n_out) does
n_in·n_out MACs and n_out bias adds; a conv2d layer C_in -> C_out with a k×k kernel and an
H×W output does C_out·H·W·C_in·k·k MACs and C_out·H·W adds. ReLUs and the argmax are not
counted (comparisons, negligible next to MACs). Memory: every weight and bias is read once per
decision and every input activation once per layer (32-bit words, ``e_read_pj`` each): weights
stay in the profile's memory, activations are not re-read per MAC (register reuse — our choice).

Energy per decision = MACs·e_mac + adds·e_add + reads·e_read. A GPU profile with ``tdp_w`` and
``peak_flops`` adds two latencies: at peak rate (FLOPs / peak) and at batch 1 (one kernel launch
of ``launch_us`` per layer, plus the peak-rate time), and the batch-1 energy = TDP × batch-1
latency (an upper bound: the board is charged its full power for the whole launch-bound time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from neurorl.hardware.profiles import Profile, load_profile

__all__ = ["DNNCost", "dnn_cost", "layer_ops"]


def layer_ops(layers) -> list[dict]:
    """MACs, adds, weights and inputs per layer of ``layers``.

    ``layers``: a :class:`neurorl.ann.qnetwork.QNetwork`, a :class:`neurorl.ann.nn.Sequential`,
    a list of
    :class:`neurorl.ann.nn.LayerSpec`, or a list of MLP widths ``[n_in, h1, ..., n_out]``.
    """
    if hasattr(layers, "net") and hasattr(layers, "params"):  # QNetwork
        layers = layers.net
    if hasattr(layers, "layers") and not isinstance(layers, Sequence):
        layers = layers.layers
    layers = list(layers)
    out = []
    if layers and all(isinstance(v, int | np.integer) for v in layers):
        for n_in, n_out in zip(layers[:-1], layers[1:], strict=False):
            out.append(
                {"kind": "dense", "macs": n_in * n_out, "adds": n_out, "weights": n_in * n_out,
                 "biases": n_out, "inputs": n_in}
            )
        return out
    for spec in layers:
        n_out = int(np.prod(spec.out_shape))
        n_in = int(np.prod(spec.in_shape))
        weights = int(np.prod(spec.weight_shape))
        out.append(
            {"kind": spec.kind, "macs": n_out * spec.fan_in, "adds": n_out, "weights": weights,
             "biases": int(spec.out_shape[0]), "inputs": n_in}
        )
    return out


@dataclass
class DNNCost:
    """Operations and price of one decision (one forward pass at batch 1) on one profile.

    Energies in pJ, latencies in seconds (``None`` where the profile gives no timing).
    """

    profile: str
    macs: int
    adds: int
    reads: int
    energy_pj: dict[str, float]
    latency_peak_s: float | None = None
    latency_batch1_s: float | None = None
    energy_batch1_pj: float | None = None
    assumed: tuple[str, ...] = ()

    @property
    def total_pj(self) -> float:
        """Operation energy per decision (MAC + add + memory)."""
        return float(sum(self.energy_pj.values()))

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {
            "profile": self.profile,
            "macs": self.macs,
            "adds": self.adds,
            "reads": self.reads,
            "energy_pj": dict(self.energy_pj, total=self.total_pj),
            "latency_peak_s": self.latency_peak_s,
            "latency_batch1_s": self.latency_batch1_s,
            "energy_batch1_pj": self.energy_batch1_pj,
            "assumed": list(self.assumed),
        }


def dnn_cost(layers, profile: Profile | str = "cpu_45nm", **overrides: float) -> DNNCost:
    """MACs and energy per decision of a DNN (see :func:`layer_ops` for ``layers``)."""
    profile = load_profile(profile, **overrides)
    if profile.kind != "ann":
        raise ValueError(f"profile {profile.name!r} is a {profile.kind} profile, not a CPU/GPU")
    ops = layer_ops(layers)
    macs = sum(o["macs"] for o in ops)
    adds = sum(o["adds"] for o in ops)
    reads = sum(o["weights"] + o["biases"] + o["inputs"] for o in ops)
    energy = {
        "mac": macs * profile.e_mac_pj,
        "add": adds * profile.e_add_pj,
        "memory": reads * profile.e_read_pj,
    }
    keys = ["e_mac_pj", "e_add_pj", "e_read_pj"]
    cost = DNNCost(profile.name, macs, adds, reads, energy)
    if "peak_flops" in profile.values:
        flops = 2 * macs + adds
        cost.latency_peak_s = flops / profile.peak_flops
        cost.latency_batch1_s = len(ops) * profile.get("launch_us") * 1e-6 + cost.latency_peak_s
        cost.energy_batch1_pj = profile.tdp_w * cost.latency_batch1_s * 1e12
        keys += ["tdp_w", "peak_flops", "launch_us"]
    cost.assumed = tuple(profile.assumed(keys))
    return cost
