"""Fixed-point arithmetic of a chip profile: weights, parameters and neuron state.

The format (our reading of Loihi's weight mantissa + exponent and brian2-loihi's integer state):

* **state** (every differential state variable, e.g. ``v``): signed ``state_bits`` integers with
  ``state_frac_bits`` fractional bits, LSB = 2**-state_frac_bits in the model's units; the value
  1.0 of the float model (a typical threshold) is 2**state_frac_bits LSBs.
* **weights** of chip synapses: a signed ``weight_bits`` mantissa times a power of two 2**e
  chosen per connection (the smallest e whose range holds max|w|, but never below the state LSB,
  so that ``v += w`` stays on the state grid).
* **per-neuron dimensionless constants** (biases, gate biases, learnable decays) sit on the state
  grid. Shared constants (decay, threshold) are chip configuration and are kept as they are.
* Weights of analog host inputs are not quantised (the host computes W·x in fp32); the injected
  current is rounded onto the state grid with the state.

Rounding is round-to-nearest with ties upward (``floor(x / lsb + 0.5)``: add half an LSB and
truncate, as fixed-point hardware does), then saturation to the signed range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurorl.hardware.profiles import Profile

__all__ = [
    "QuantizationInfo",
    "quantize",
    "quantize_brian2",
    "state_rounding_code",
    "weight_exponent",
]


def quantize(x: np.ndarray, bits: int, exponent: int) -> np.ndarray:
    """``x`` rounded to the grid 2**exponent with a signed ``bits``-bit range, saturating.

    Values: ``clip(floor(x / 2**e + 0.5), -2**(bits-1), 2**(bits-1) - 1) * 2**e``.
    """
    step = 2.0**exponent
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return np.clip(np.floor(np.asarray(x, dtype=float) / step + 0.5), lo, hi) * step


def weight_exponent(w: np.ndarray, bits: int, min_exponent: int) -> int:
    """Smallest power-of-two exponent e >= ``min_exponent`` with max|w| <= (2**(bits-1)-1)·2**e."""
    wmax = float(np.max(np.abs(w))) if np.size(w) else 0.0
    if wmax == 0.0:
        return int(min_exponent)
    e = int(np.ceil(np.log2(wmax / (2 ** (bits - 1) - 1))))
    return max(e, int(min_exponent))


def state_rounding_code(variables: list[str] | tuple[str, ...], bits: int, frac: int) -> str:
    """Brian2 statements rounding and saturating ``variables`` onto the state grid."""
    scale = float(2**frac)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return "\n".join(
        f"{v} = clip(floor({v} * {scale!r} + 0.5), {lo}, {hi}) / {scale!r}" for v in variables
    )


@dataclass
class QuantizationInfo:
    """What :func:`quantize_brian2` did: per connection exponent and max |error|, per group the
    rounded variables; ``runners`` are the Brian2 objects that round the state each step."""

    weight_bits: int
    state_bits: int
    state_frac_bits: int
    exponents: dict[str, int] = field(default_factory=dict)
    weight_error: dict[str, float] = field(default_factory=dict)
    parameter_error: dict[str, float] = field(default_factory=dict)
    state_variables: dict[str, list[str]] = field(default_factory=dict)
    runners: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready summary (no Brian2 objects)."""
        return {
            "weight_bits": self.weight_bits,
            "state_bits": self.state_bits,
            "state_frac_bits": self.state_frac_bits,
            "weight_exponents": dict(self.exponents),
            "max_weight_error": dict(self.weight_error),
            "max_parameter_error": dict(self.parameter_error),
            "rounded_state": dict(self.state_variables),
        }


def quantize_brian2(groups: dict, synapses: dict, graph, profile: Profile) -> QuantizationInfo:
    """Quantise Brian2 objects in place to ``profile``'s fixed point; make state-rounding runners.

    ``groups``/``synapses`` are dicts by population/projection name as in ``graph``. Weights
    (variable ``w``) of chip synapses and per-neuron dimensionless constants are rounded now;
    the returned ``runners`` (Brian2 ``CodeRunner`` objects, not yet in any network) round every
    differential state variable after the state update (``after_groups``) and after synaptic
    input (``after_synapses``) each step. Add them to the network for the run.
    """
    from brian2.groups.group import CodeRunner
    from brian2.units.fundamentalunits import DIMENSIONLESS

    wb = int(profile.weight_bits)
    sb = int(profile.state_bits)
    sf = int(profile.state_frac_bits)
    info = QuantizationInfo(wb, sb, sf)
    for proj in graph.projections:
        syn = synapses[proj.name]
        if proj.coupling == "analog" or "w" not in syn.variables:
            continue
        w = np.array(syn.w_[:], dtype=float)  # a copy: w_[:] may be a view
        e = weight_exponent(w, wb, -sf)
        q = quantize(w, wb, e)
        syn.w_[:] = q
        info.exponents[proj.name] = e
        info.weight_error[proj.name] = float(np.max(np.abs(q - w), initial=0.0))
    for pop in graph.neuron_populations:
        g = groups[pop.name]
        for name, var in g.variables.items():
            if (
                getattr(var, "constant", False)
                and not getattr(var, "scalar", True)
                and getattr(var, "dim", None) is DIMENSIONLESS
                and not getattr(var, "read_only", False)
                and np.issubdtype(getattr(var, "dtype", np.int32), np.floating)
                and not name.startswith("_")
                and name not in ("i", "N", "t", "dt", "lastspike")
            ):
                values = np.array(var.get_value(), dtype=float)
                q = quantize(values, sb, -sf)
                var.set_value(q)
                info.parameter_error[f"{pop.name}.{name}"] = float(
                    np.max(np.abs(q - values), initial=0.0)
                )
        state = list(g.equations.diff_eq_names) if hasattr(g, "equations") else []
        state = sorted(state)
        if not state:
            continue
        info.state_variables[pop.name] = state
        code = state_rounding_code(state, sb, sf)
        for when in ("after_groups", "after_synapses"):
            info.runners.append(
                CodeRunner(
                    g,
                    "stateupdate",
                    code=code,
                    when=when,
                    clock=g.clock,
                    name=f"{g.name}_fixedpoint_{when}*",
                )
            )
    return info
