"""Operations per decision of recurrent actors: the dense counts follow the layer shapes, the
spike-driven counts follow the spikes (all or none of the neurons firing), and `neurorl energy`
reports the count for every encoder (chips only for TAP spiking encoders)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurorl.algos.sacd import SACDPolicy
from neurorl.hardware.recurrent_ops import decision_ops, visited_inputs
from neurorl.rl.recurrent_ac import ArchConfig, RecurrentNet

OBS, ACTIONS, H = 2, 2, 16
ARCH = dict(hidden=H, head_hidden=(24, 24))


def actor(encoder: str) -> RecurrentNet:
    return RecurrentNet(OBS, ACTIONS, 1, ACTIONS, ArchConfig(encoder=encoder, **ARCH), seed=0)


def episodes(net: RecurrentNet, n: int = 60) -> list[np.ndarray]:
    return visited_inputs(SACDPolicy(net), "CartPole-V", n, seed=0)


EMBED = ACTIONS * 8 + 1 * 8 + OBS * 32 + OBS * 32  # a, r, o and the shortcut
I = 8 + 8 + 32


@pytest.mark.parametrize("encoder, macs", [("gru", 3 * (I * H + H * H)),
                                           ("lstm", 4 * (I * H + H * H)), ("mlp", I * H)])
def test_dense_encoders_count_their_products(encoder, macs):
    net = actor(encoder)
    eps = episodes(net)
    ops = decision_ops(net, eps)
    assert ops.decisions == sum(len(e) for e in eps) == 60
    assert ops.parts["embed"] == {"macs": EMBED, "sops": 0.0}
    assert ops.parts["encoder"] == {"macs": macs, "sops": 0.0}
    assert ops.parts["head"] == {"macs": (H + 32) * 24 + 24 * 24 + 24 * ACTIONS, "sops": 0.0}
    assert ops.spikes == 0.0
    e = ops.energy_pj()
    assert e["total"] == pytest.approx(4.6 * ops.macs)


def fire(net: RecurrentNet, always: bool) -> None:
    """Every encoder neuron fires at every simulation step (huge input bias) or never."""
    params = net.encoder.params
    for key, value in params.items():
        if key.endswith(".w"):
            value[...] = 0.0
    bias = "enc.b_i" if "enc.b_i" in params and "enc.b_in" not in params else "enc.b_in"
    params[bias][...] = 1e3 if always else -1e3


@pytest.mark.parametrize("encoder, substeps, recurrent, analog", [
    ("grsn", 1, 2, 1), ("lif", 1, 0, 1), ("grsn_input_gated", 1, 0, 2),
    ("grsn_notap", 4, 2, 1), ("lif_notap", 4, 0, 1)])
def test_spike_driven_counts_follow_the_spikes(encoder, substeps, recurrent, analog):
    net = actor(encoder)
    fire(net, always=True)
    eps = episodes(net)
    T = sum(len(e) for e in eps)
    ops = decision_ops(net, eps)
    assert ops.spikes == pytest.approx(H * substeps)
    assert ops.parts["encoder"]["macs"] == analog * I * H * substeps
    # delivered recurrent spikes: TAP, all but each episode's last step; no TAP, sub-steps 0..S-2
    delivered = (T - len(eps)) * H / T if substeps == 1 else (substeps - 1) * H
    assert ops.parts["encoder"]["sops"] == pytest.approx(delivered * recurrent * H)
    assert ops.parts["head"]["sops"] == pytest.approx(H * 24)
    assert ops.parts["head"]["macs"] == 32 * 24 + 24 * 24 + 24 * ACTIONS
    fire(net, always=False)
    silent = decision_ops(net, eps)
    assert silent.spikes == 0 and silent.sops == 0
    assert silent.macs == ops.macs


def test_energy_reports_the_count_for_every_encoder(tmp_path, capsys):
    from neurorl import cli
    from neurorl.algos import sacd

    for encoder in ("gru", "lif"):
        net = actor(encoder)
        agent = sacd.SACDAgent(OBS, ACTIONS, sacd.SACDConfig(encoder=encoder, hidden=H))
        agent.actor = net
        path = sacd.save_actor(agent, tmp_path / f"{encoder}.npz", {"env": "CartPole-V"})
        report = tmp_path / f"{encoder}.json"
        assert cli.main(["energy", str(path), "--samples", "30", "--json", str(report)]) == 0
        printed = capsys.readouterr().out
        data = json.loads(report.read_text())
        assert data["decision_ops"]["encoder"] == encoder
        assert data["decision_ops"]["decisions"] == 30
        assert f"{encoder} encoder, 30 decisions" in printed
        if encoder == "gru":
            assert data["chips"] == [] and "no chip report" in printed
        else:
            assert data["chips"][0]["decisions"] == 30
