"""Chip reports: latency and energy per decision from counts, next to the DNN; table and JSON.

Pricing (:func:`price`), for counts of B copies × T steps with ``steps_per_decision`` steps per
decision (T for a rate-coded policy, 1 for a temporally aligned one such as GRSN/TAP):

* latency of a step = max over cores (SOPs·t_sop + updates·t_update) + (farthest message's hops)
  · t_hop + t_barrier; a chip with a fixed tick takes max(that, tick). Host-side W·x time is not
  included. Latency per decision = the sum over its steps (mean over decisions);
* energy per decision = SOPs·e_sop (synaptic) + updates·e_update (neuron) + messages·e_message +
  hops·e_hop (routing) + static power × latency (static; the whole chip, not power-gated) + host
  MACs·e_mac of the host profile (host input).

Each figure lists the profile numbers it rests on that are assumed (:attr:`ChipReport.assumptions`);
the modelling choices that hold for every profile are in :attr:`ChipReport.notes`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurorl.checkpoint import json_default

__all__ = ["ChipReport", "price"]

CHOICES = [
    "routing: unicast, one message per destination core, Manhattan hops between routers "
    "(neurorl's choice)",
    "placement: greedy, one population per core, cores row-major on the mesh, host at router "
    "(0, 0) (neurorl's choice)",
    "summed (continuous) couplings: one MAC-equivalent SOP per synapse per step; those reading "
    "only the step's spikes (GRSN's o) one SOP per spike and synapse, like events",
    "static power: the whole chip for the whole latency, no power gating",
]


@dataclass
class ChipReport:
    """Latency and energy of a network on a chip profile, per decision, with its assumptions.

    Energies in pJ, times in seconds; ``counts`` per decision (means over decisions).
    """

    profile: dict
    mapping: dict
    copies: int
    steps: int
    steps_per_decision: int
    counts: dict
    latency_step_s: dict
    latency_decision_s: float
    energy_pj: dict
    assumptions: dict
    notes: list = field(default_factory=list)
    quantization: dict | None = None
    agreement: float | None = None
    agreement_n: int = 0
    network: dict = field(default_factory=dict)
    dnn: list = field(default_factory=list)
    label: str = ""

    @property
    def decisions(self) -> float:
        """Decisions counted (copies × steps / steps_per_decision)."""
        return self.copies * self.steps / self.steps_per_decision

    @property
    def total_pj(self) -> float:
        """Energy per decision, everything included."""
        return float(sum(self.energy_pj.values()))

    @property
    def dynamic_pj(self) -> float:
        """Energy per decision without static power."""
        return self.total_pj - self.energy_pj.get("static", 0.0)

    @property
    def power_w(self) -> float:
        """Mean power while deciding: energy / latency per decision."""
        return self.total_pj * 1e-12 / self.latency_decision_s if self.latency_decision_s else 0.0

    def add_dnn(self, costs) -> ChipReport:
        """Attach :class:`~neurorl.hardware.ann.DNNCost` results (the network's DNN counterpart)."""
        self.dnn.extend(costs)
        return self

    def ratios(self) -> dict:
        """DNN / SNN energy per decision for each attached DNN profile (total and dynamic)."""
        out = {}
        for c in self.dnn:
            r = {
                "dnn_over_snn_total": c.total_pj / self.total_pj if self.total_pj else None,
                "dnn_over_snn_dynamic": c.total_pj / self.dynamic_pj if self.dynamic_pj else None,
            }
            if c.energy_batch1_pj is not None:
                r["dnn_batch1_over_snn_total"] = c.energy_batch1_pj / self.total_pj
                r["dnn_power_over_snn_power"] = (
                    c.energy_batch1_pj / c.latency_batch1_s * 1e-12 / self.power_w
                    if self.power_w
                    else None
                )
            out[c.profile] = r
        return out

    def to_dict(self) -> dict:
        """JSON-ready report."""
        return {
            "label": self.label,
            "profile": self.profile,
            "network": self.network,
            "mapping": self.mapping,
            "copies": self.copies,
            "steps": self.steps,
            "steps_per_decision": self.steps_per_decision,
            "decisions": self.decisions,
            "counts_per_decision": self.counts,
            "latency_step_s": self.latency_step_s,
            "latency_decision_s": self.latency_decision_s,
            "energy_per_decision_pj": dict(self.energy_pj, total=self.total_pj),
            "power_w": self.power_w,
            "quantization": self.quantization,
            "action_agreement_with_float": self.agreement,
            "action_agreement_sequences": self.agreement_n,
            "dnn": [c.to_dict() for c in self.dnn],
            "ratios": self.ratios(),
            "assumptions": self.assumptions,
            "notes": self.notes,
        }

    def save_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, default=json_default))
        return path

    def table(self) -> str:
        """The report as a text table."""
        p = self.profile
        n_assumed = sum(
            1 for v in p["values"].values() if v["source"].lower().startswith(("assumed", "over"))
        )
        rows = [
            f"chip estimate{' — ' + self.label if self.label else ''}: profile {p['name']} "
            f"({n_assumed} of {len(p['values'])} numbers assumed)",
        ]
        if self.network:
            rows.append("network: " + ", ".join(f"{k} {v}" for k, v in self.network.items()))
        m = self.mapping
        rows.append(
            f"cores used: {m['cores_used']} of {m['cores_available']} ("
            + ", ".join(
                f"{k}: {v['neurons']} neurons on {v['cores']}" for k, v in m["layers"].items()
            )
            + ")"
        )
        rows.append(
            f"{self.copies} copies x {self.steps} steps, {self.steps_per_decision} steps per "
            f"decision: {self.decisions:g} decisions"
        )
        rows.append("per decision:")
        c = self.counts
        spikes = ", ".join(f"{k} {v:.1f}" for k, v in c["spikes"].items())
        rows.append(f"  spikes            {c['spikes_total']:12.1f}   ({spikes})")
        for key, label in (
            ("sops", "synaptic ops"),
            ("updates", "neuron updates"),
            ("messages", "spike messages"),
            ("hops", "router hops"),
            ("host_macs", "host MACs"),
        ):
            rows.append(f"  {label:<17} {c[key]:12.1f}")
        lat = self.latency_step_s
        rows.append(
            f"latency per step    {_si(lat['mean'], 's'):>10}   (max {_si(lat['max'], 's')})"
            + _assumed_tag(self.assumptions.get("latency"))
        )
        rows.append(f"latency per decision{_si(self.latency_decision_s, 's'):>10}")
        rows.append("energy per decision:")
        total = self.total_pj
        for key, value in self.energy_pj.items():
            share = value / total if total else 0.0
            rows.append(
                f"  {key:<17} {_si(value * 1e-12, 'J'):>10} {share:7.1%}"
                + _assumed_tag(self.assumptions.get(f"energy.{key}"))
            )
        rows.append(f"  {'total':<17} {_si(total * 1e-12, 'J'):>10}   (mean power "
                    f"{_si(self.power_w, 'W')})")
        if self.quantization is not None:
            q = self.quantization
            agree = (
                "not measured"
                if self.agreement is None
                else f"{self.agreement:.1%} of {self.agreement_n} input sequences"
            )
            rows.append(
                f"fixed point: {q['weight_bits']}-bit weights, {q['state_bits']}-bit state "
                f"({q['state_frac_bits']} fractional); actions equal to the float network: {agree}"
                + _assumed_tag(self.assumptions.get("quantization"))
            )
            if q.get("state_units"):  # variables with units: 1 unit = 2**frac LSBs
                grid = ", ".join(f"{v} in {u}" for v, u in q["state_units"].items())
                rows.append(f"fixed-point grid of state with units: {grid}")
        for d in self.dnn:
            e = d.energy_pj
            line = (
                f"DNN on {d.profile}: {d.macs:,} MACs, {_si(d.total_pj * 1e-12, 'J')} per decision "
                f"(MAC {_si(e['mac'] * 1e-12, 'J')}, memory {_si(e['memory'] * 1e-12, 'J')})"
            )
            if d.energy_batch1_pj is not None:
                line += (
                    f"; batch 1: {_si(d.latency_batch1_s, 's')}, "
                    f"{_si(d.energy_batch1_pj * 1e-12, 'J')}"
                )
            rows.append(line + _assumed_tag(list(d.assumed)))
        for name, r in self.ratios().items():
            line = (
                f"DNN/SNN energy per decision on {name}: {_fmt_ratio(r['dnn_over_snn_total'])} "
                f"(without static: {_fmt_ratio(r['dnn_over_snn_dynamic'])})"
            )
            if "dnn_batch1_over_snn_total" in r:
                line += (
                    f"; batch 1: {_fmt_ratio(r['dnn_batch1_over_snn_total'])}, power "
                    f"{_fmt_ratio(r['dnn_power_over_snn_power'])}"
                )
            rows.append(line)
        resting = sorted({k for v in self.assumptions.values() for k in v})
        if resting:
            rows.append("figures rest on assumed numbers: " + ", ".join(resting))
        rows += [f"note: {n}" for n in self.notes]
        return "\n".join(rows)


def price(counts, mapping, steps_per_decision: int | None = None, host=None) -> dict:
    """Latency and energy from :class:`~neurorl.hardware.counting.Counts` of a mapped network.

    Returns the keyword arguments of :class:`ChipReport` that depend on the counts.
    """
    from neurorl.hardware.profiles import load_profile

    profile = mapping.profile
    host = load_profile(host or profile.host)
    B, T = counts.copies, counts.steps
    spd = int(steps_per_decision or T)
    decisions = B * T / spd
    busy = counts.sops * profile.seconds("sop") + counts.updates * profile.seconds("update")
    step_time = (
        busy.max(-1, initial=0.0)
        + counts.max_hops * profile.seconds("hop")
        + profile.seconds("barrier")
    )
    if profile.get("tick_us"):
        step_time = np.maximum(step_time, profile.tick_us * 1e-6)
    n_updates = float(counts.updates.sum()) * B * T
    energy = {
        "synaptic": float(counts.sops.sum()) * profile.e_sop_pj / decisions,
        "neuron": n_updates * profile.e_update_pj / decisions,
        "routing": (
            float(counts.messages.sum()) * profile.get("e_message_pj")
            + float(counts.hops.sum()) * profile.e_hop_pj
        )
        / decisions,
        "static": profile.static_mw * 1e-3 * float(step_time.sum()) * 1e12 / decisions,
        "host_input": float(counts.host_macs.sum()) * host.e_mac_pj / decisions,
    }
    spikes = {k: float(v.sum()) / decisions for k, v in counts.spikes.items()}
    per_decision = {
        "spikes": spikes,
        "spikes_total": float(sum(spikes.values())),
        "sops": float(counts.sops.sum()) / decisions,
        "updates": n_updates / decisions,
        "messages": float(counts.messages.sum()) / decisions,
        "hops": float(counts.hops.sum()) / decisions,
        "host_macs": float(counts.host_macs.sum()) / decisions,
    }
    time_keys = [k for op in ("sop", "update", "hop", "barrier") for k in profile.time_keys(op)]
    time_keys += ["tick_us"] if profile.get("tick_us") else []
    place_keys = ["neurons_per_core", "fan_in_per_core", "synapses_per_core", "mesh_x", "mesh_y",
                  "cores_per_router"]
    assumptions = {
        "mapping": profile.assumed(place_keys),
        "latency": profile.assumed(time_keys + place_keys),
        "energy.synaptic": profile.assumed(["e_sop_pj"]),
        "energy.neuron": profile.assumed(["e_update_pj"]),
        "energy.routing": profile.assumed(["e_hop_pj", "e_message_pj", *place_keys]),
        "energy.static": profile.assumed(["static_mw", *time_keys]),
        "energy.host_input": [f"{host.name}.{k}" for k in host.assumed(["e_mac_pj"])],
        "quantization": profile.assumed(["weight_bits", "state_bits", "state_frac_bits"]),
    }
    notes = list(CHOICES)
    if profile.analog_input == "host":
        notes.append(
            f"analog input: the host computes W·x on {host.name} when the input changes and "
            "injects it as a current held on chip (not counted as SOPs)"
        )
    else:
        notes.append("analog input: one SOP per input synapse per step (graded events)")
    return {
        "profile": profile.to_dict(),
        "mapping": mapping.summary(),
        "copies": B,
        "steps": T,
        "steps_per_decision": spd,
        "counts": per_decision,
        "latency_step_s": {"mean": float(step_time.mean()), "max": float(step_time.max())},
        "latency_decision_s": float(step_time.sum()) / decisions,
        "energy_pj": energy,
        "assumptions": {k: v for k, v in assumptions.items() if v},
        "notes": notes,
    }


def _si(value: float, unit: str) -> str:
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in ((1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"),
                           (1e-15, "f")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _fmt_ratio(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.3g}x"


def _assumed_tag(keys) -> str:
    return f"   [assumed: {', '.join(keys)}]" if keys else ""
