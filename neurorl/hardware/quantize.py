"""Fixed-point arithmetic of a chip profile: weights, parameters and neuron state.

The format (our reading of Loihi's weight mantissa + exponent and brian2-loihi's integer state):

* **state** (every differential state variable, e.g. ``v``): signed ``state_bits`` integers with
  ``state_frac_bits`` fractional bits, LSB = 2**-state_frac_bits in the model's units; the value
  1.0 of the float model (a typical threshold) is 2**state_frac_bits LSBs. A variable with a
  physical dimension (``v : volt``) sits on a grid in one unit per group and dimension, the
  one Brian2's unit registry shows its values and constants in
  (:func:`~neurorl.models.display_unit`: mV for a membrane near -65 mV, so 1 mV is
  2**state_frac_bits LSBs); weights onto it and per-neuron constants of that dimension use the
  same grid.
* **weights** of chip synapses: a signed ``weight_bits`` mantissa times a power of two 2**e
  chosen per connection (the smallest e whose range holds max|w|, but never below the state LSB,
  so that ``v += w`` stays on the state grid).
* **per-neuron constants** (biases, gate biases, learnable decays), dimensionless or of a state
  variable's dimension, sit on the state grid. Shared constants (decay, threshold) are chip
  configuration and are kept as they are.
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
    "weight_variable",
]


def weight_variable(syn) -> str | None:
    """Name of the weight variable of the Brian2 ``Synapses`` ``syn``, or None if it has none.

    ``w_syn`` in the synapses neurorl builds (:data:`neurorl.models.SYNAPSE_WEIGHT`), ``w`` in
    a user's Brian2 script; a ``w`` that belongs to the connected groups (a model's adaptation
    variable, which ``syn.variables`` also lists) is not a weight.
    """
    from neurorl.models import SYNAPSE_WEIGHT

    for name in (SYNAPSE_WEIGHT, "w"):
        var = syn.variables.get(name)
        if var is not None and getattr(var.owner, "name", None) == syn.name:
            return name
    return None


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


def state_rounding_code(
    variables: list[str] | tuple[str, ...],
    bits: int,
    frac: int,
    units: dict[str, tuple[float, str]] | None = None,
) -> str:
    """Brian2 statements rounding and saturating ``variables`` onto the state grid.

    ``units``: for a variable with a physical dimension, (SI value of its grid unit from
    :func:`~neurorl.models.display_unit`, Brian2 name of its SI unit), e.g.
    ``{"v": (0.001, "volt")}``: the LSB is then 2**-frac mV, written
    ``v = clip(floor(v / (3.90625e-06*volt) + 0.5), lo, hi) * (3.90625e-06*volt)``.
    """
    scale = float(2**frac)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    lines = []
    for v in variables:
        if v in (units or {}):
            si, si_unit = units[v]
            lsb = f"({si / scale!r}*{si_unit})"
            lines.append(f"{v} = clip(floor({v} / {lsb} + 0.5), {lo}, {hi}) * {lsb}")
        else:
            lines.append(f"{v} = clip(floor({v} * {scale!r} + 0.5), {lo}, {hi}) / {scale!r}")
    return "\n".join(lines)


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
    state_units: dict[str, str] = field(default_factory=dict)
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
            "state_units": dict(self.state_units),
        }


def quantize_brian2(groups: dict, synapses: dict, graph, profile: Profile) -> QuantizationInfo:
    """Quantise Brian2 objects in place to ``profile``'s fixed point; make state-rounding runners.

    ``groups``/``synapses`` are dicts by population/projection name as in ``graph``. Weights
    (:func:`weight_variable`) of chip synapses and per-neuron dimensionless constants are rounded
    now;
    the returned ``runners`` (Brian2 ``CodeRunner`` objects, not yet in any network) round every
    differential state variable after the state update (``after_groups``) and after synaptic
    input (``after_synapses``) each step. Add them to the network for the run.
    """
    from brian2.groups.group import CodeRunner
    from brian2.units.fundamentalunits import DIMENSIONLESS

    from neurorl.models import display_unit, unit_string

    wb = int(profile.weight_bits)
    sb = int(profile.state_bits)
    sf = int(profile.state_frac_bits)
    info = QuantizationInfo(wb, sb, sf)
    weights = {}  # projection -> (synapses, weight name, SI values, dimension)
    for proj in graph.projections:
        syn = synapses[proj.name]
        wname = weight_variable(syn)
        if proj.coupling == "analog" or wname is None:
            continue
        w = np.array(getattr(syn, f"{wname}_")[:], dtype=float)  # a copy: [:] may be a view
        weights[proj.name] = (syn, wname, w, syn.variables[wname].dim)
    grids = _grids(groups, graph, weights)
    for pname, (syn, wname, w, dim) in weights.items():
        si = grids.get((syn.target.name, dim)) or display_unit(dim, [w])
        e = weight_exponent(w / si[0], wb, -sf)
        q = quantize(w / si[0], wb, e)
        getattr(syn, f"{wname}_")[:] = q * si[0]
        info.exponents[pname] = e
        info.weight_error[pname] = float(np.max(np.abs(q - w / si[0]), initial=0.0))
    for pop in graph.neuron_populations:
        g = groups[pop.name]
        for name, var in g.variables.items():
            dim = getattr(var, "dim", None)
            if (
                getattr(var, "constant", False)
                and not getattr(var, "scalar", True)
                and (dim is DIMENSIONLESS or (g.name, dim) in grids)
                and not getattr(var, "read_only", False)
                and np.issubdtype(getattr(var, "dtype", np.int32), np.floating)
                and not name.startswith("_")
                and name not in ("i", "N", "t", "dt", "lastspike")
            ):
                unit = grids.get((g.name, dim), (1.0, "1"))[0]
                values = np.array(var.get_value(), dtype=float) / unit
                q = quantize(values, sb, -sf)
                var.set_value(q * unit)
                info.parameter_error[f"{pop.name}.{name}"] = float(
                    np.max(np.abs(q - values), initial=0.0)
                )
        state = sorted(_state_variables(g))
        if not state:
            continue
        info.state_variables[pop.name] = state
        units = {}
        for v in state:
            dim = g.variables[v].dim
            if dim is not DIMENSIONLESS:
                si, name = grids[(g.name, dim)]
                units[v] = (si, unit_string(dim))
                info.state_units[f"{pop.name}.{v}"] = name
        code = state_rounding_code(state, sb, sf, units)
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


def _state_variables(group) -> list[str]:
    """The differential state variables of a Brian2 group (what the chip rounds every step)."""
    return list(group.equations.diff_eq_names) if hasattr(group, "equations") else []


def _grids(groups: dict, graph, weights: dict) -> dict[tuple[str, object], tuple[float, str]]:
    """:func:`~neurorl.models.display_unit` per (Brian2 group name, dimension) of every
    differential state variable with a physical dimension: from the group's variables of that
    dimension (state, threshold and reset constants) and, all of them zero, the weights onto
    it."""
    from brian2.units.fundamentalunits import DIMENSIONLESS

    from neurorl.models import display_unit

    grids = {}
    for pop in graph.neuron_populations:
        g = groups[pop.name]
        for v in _state_variables(g):
            dim = g.variables[v].dim
            if dim is DIMENSIONLESS or (g.name, dim) in grids:
                continue
            values = [
                np.asarray(var.get_value(), dtype=float)
                for name, var in g.variables.items()
                if getattr(var, "dim", None) is dim
                and not name.startswith("_")
                and name not in ("t", "dt", "lastspike")
            ]
            if not any(np.any(x != 0) for x in values):
                values = [w for syn, _, w, wdim in weights.values()
                          if syn.target.name == g.name and wdim is dim]
            grids[(g.name, dim)] = display_unit(dim, values)
    return grids
