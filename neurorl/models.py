"""Neuron models as files: load, validate and describe Brian2 neuron models.

A model file is TOML holding Brian2 strings (see ``models/lif.toml``)::

    name = "lif"
    method = "euler"                       # Brian2 integration method
    equations = "dv/dt = ((decay - 1)*v + bias)/dt : 1"
    threshold = "v > v_th"                 # optional: no threshold = non-spiking
    reset = "v = 0"                        # statements run after a spike
    inputs = ["v"]                         # variables a plain connection drives
    output = "v"                           # optional: variable others read through summed coupling
    recurrent = []                         # optional: summed inputs fed by the layer's own output
    refractory = "2*ms"                    # optional: Brian2's refractory keyword (a duration,
                                           # or a condition such as "v > -50*mV")
    [parameters]
    decay = { value = "0.2" }                                       # shared constant
    bias = { value = "0", per_neuron = true, learnable = true }     # trained by the kernel

Parameter values are quantities written with any unit Brian2 knows (``"5*ms"``, ``"0.05*nA"``,
``"200*pF"``: Brian2's own registry, ``brian2.core.namespace.DEFAULT_UNITS``), and so are unit
literals inside equations, thresholds and resets (``140*mV``, ``v > 30*mV``, ``/ms``). Like
Brian2's generated code, the kernel computes in SI base units: a literal becomes its SI value
(:func:`neurorl.kernel.codegen.si_units`), a parameter its SI float (``Parameter.si``). A driven
variable that is a differential state variable receives event-driven input (``v_post += w``); one
declared as a plain variable (``I : 1``) receives a continuous summed input
(``I_post = w*x_pre : 1 (summed)``). Any variable name Brian2 accepts may be used (``w`` for an
adaptation current included) except :data:`SYNAPSE_WEIGHT`, the name of the weight in the Brian2
``Synapses`` neurorl builds.

Noise (``xi`` in the equations) is refused at load, with the file and line. Brian2 draws ``xi``
inside its generated code, from a generator per code target (numpy, cython and cpp_standalone
draw different numbers), scaled by the stochastic integrator (``sqrt(dt)`` for Euler-Maruyama);
the kernel cannot draw the same numbers, and feeding both one pre-drawn noise would mean
rewriting the user's stochastic equation into a different, deterministic one behind their back.
A refusal keeps "the kernel runs exactly what Brian2 runs" true. Noise that both should see goes
in as an input instead: declare a summed variable (``I_noise : amp``), connect an input layer to
it and feed that layer noise drawn with a seeded generator; Brian2 and the kernel then get the
same numbers and stay equal (and the gradient through the noise's weights is exact).

:func:`from_brian2` turns a Brian2 script's neuron (a ``brian2.Equations`` object or its string,
threshold, reset, refractory and a dict of parameter quantities) into a model through the same
validation as :func:`load`.

Refractoriness is Brian2's: after a spike, variables flagged ``(unless refractory)`` keep their
value and ignore synaptic effects, and no spike can occur, until ``refractory`` has elapsed
(``timestep(t - lastspike, dt) >= timestep(refractory, dt)``) or, for a condition, until it is
false. The kernel carries Brian2's ``lastspike`` and ``not_refractory`` as state.

:func:`load` takes a shipped model's name or a path to a user's file; every error it raises is a
:class:`ModelError` whose message names the file and line at fault.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import brian2
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER
from brian2.units.fundamentalunits import (
    Quantity,
    get_dimensions,
)

from neurorl import quiet_brian2_banner
from neurorl.model_check import (  # noqa: F401  (ModelError, unit_string: part of this API)
    COMPARISON,
    STATEMENT,
    SYNAPSE_WEIGHT,
    ArgLocator,
    Locator,
    ModelError,
    brian2_group,
    display_unit,
    parse_quantity,
    quantity,
    quantity_code,
    refractory_kind,
    unit_string,
    validate,
)
from neurorl.optional import tomllib

ModelError.__module__ = __name__  # defined with the checks, raised and documented as models'

quiet_brian2_banner()  # importing brian2 (above) replaced sys.excepthook

__all__ = [
    "ModelError",
    "NeuronModel",
    "Parameter",
    "SYNAPSE_WEIGHT",
    "available",
    "from_brian2",
    "load",
    "loads",
    "model_files_dir",
    "model_paths",
]

#: Directories searched for ``<name>.toml`` after the shipped models; extend it, or set the
#: environment variable ``NEURORL_MODEL_PATH`` (os.pathsep-separated).
model_paths: list[Path] = []

@dataclass(frozen=True)
class Parameter:
    """A model parameter: ``value`` in Brian2 units; per neuron or shared; learnable or fixed."""

    name: str
    value: Quantity
    per_neuron: bool = False
    learnable: bool = False
    doc: str = ""

    @property
    def unit(self) -> str:
        """Brian2 unit string for a declaration (``"1"``, ``"second"``)."""
        return unit_string(self.value)

    @property
    def si(self) -> float:
        """The value in SI base units as a float (what kernels and Brian2 arrays store)."""
        return float(brian2.asarray(self.value))


@dataclass(frozen=True)
class NeuronModel:
    """A validated neuron model: Brian2 equations, threshold, reset, method and parameters.

    Use :func:`load` to make one. ``with_parameters(name=value)`` returns a copy with new
    parameter values (a quantity, a number in the parameter's unit, or a Brian2 string).
    """

    name: str
    equations: str
    method: str
    parameters: Mapping[str, Parameter]
    threshold: str | None = None
    reset: str | None = None
    inputs: tuple[str, ...] = ()
    output: str | None = None
    recurrent: tuple[str, ...] = ()
    refractory: str | None = None
    initial: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    paper: str = ""
    source: str = "<string>"

    @property
    def spiking(self) -> bool:
        """True when the model has a threshold."""
        return self.threshold is not None

    @cached_property
    def refractory_variables(self) -> tuple[str, ...]:
        """State variables flagged ``(unless refractory)``: held while the neuron is refractory
        (their update is skipped, and so are synaptic effects on them)."""
        eqs = brian2.Equations(self.brian2_equations)
        return tuple(
            eq.varname
            for eq in eqs.ordered
            if eq.type == DIFFERENTIAL_EQUATION and "unless refractory" in eq.flags
        )

    @property
    def brian2_equations(self) -> str:
        """The equations with one declaration line per parameter appended, as Brian2 reads them."""
        lines = [self.equations.strip()]
        for p in self.parameters.values():
            flags = "constant" if p.per_neuron else "shared, constant"
            lines.append(f"{p.name} : {p.unit} ({flags})")
        return "\n".join(lines)

    @cached_property
    def state_variables(self) -> tuple[str, ...]:
        """Differential state variables, in the order the equations declare them."""
        eqs = brian2.Equations(self.brian2_equations)
        return tuple(eq.varname for eq in eqs.ordered if eq.type == DIFFERENTIAL_EQUATION)

    @cached_property
    def summed_variables(self) -> tuple[str, ...]:
        """Plain (non-parameter) variables: the targets of continuous summed coupling."""
        eqs = brian2.Equations(self.brian2_equations)
        return tuple(
            eq.varname
            for eq in eqs.ordered
            if eq.type == PARAMETER and eq.varname not in self.parameters
        )

    def coupling(self, variable: str) -> str:
        """``"event"`` if ``variable`` is a state variable (``+= w``), ``"summed"`` if plain."""
        if variable in self.state_variables:
            return "event"
        if variable in self.summed_variables:
            return "summed"
        raise ModelError(
            f"{self.source}: model {self.name!r} has no input variable {variable!r} "
            f"(state variables: {', '.join(self.state_variables)}; "
            f"summed inputs: {', '.join(self.summed_variables) or 'none'})"
        )

    def to_toml(self) -> str:
        """The model as model-file text; ``loads(model.to_toml())`` gives an equal model."""
        import json

        q = quantity_code
        lines = [
            f"{key} = {json.dumps(getattr(self, key))}"
            for key in ("name", "paper", "description", "method", "equations")
        ]
        for key in ("threshold", "reset", "refractory", "output"):
            if getattr(self, key) is not None:
                lines.append(f"{key} = {json.dumps(getattr(self, key))}")
        for key in ("inputs", "recurrent"):
            lines.append(f"{key} = {json.dumps(list(getattr(self, key)))}")
        lines.append("[parameters]")
        for p in self.parameters.values():
            lines.append(
                f"{p.name} = {{ value = {json.dumps(q(p.value))}, per_neuron = "
                f"{str(p.per_neuron).lower()}, learnable = {str(p.learnable).lower()}, "
                f"doc = {json.dumps(p.doc)} }}"
            )
        if self.initial:
            lines.append("[initial]")
            lines += [f"{k} = {json.dumps(q(v))}" for k, v in self.initial.items()]
        return "\n".join(lines) + "\n"

    def with_parameters(self, **values: object) -> NeuronModel:
        """A copy with parameters replaced; units are checked against the original values."""
        params = dict(self.parameters)
        for name, value in values.items():
            if name not in params:
                raise ModelError(
                    f"{self.source}: model {self.name!r} has no parameter {name!r} "
                    f"(parameters: {', '.join(params)})"
                )
            old = params[name]
            if isinstance(value, str):
                new = parse_quantity(value, f"{self.source}: parameter {name}")
            elif isinstance(value, Quantity):
                new = value
            else:
                new = Quantity(float(value), dim=get_dimensions(old.value))
            if get_dimensions(new) != get_dimensions(old.value):
                raise ModelError(
                    f"{self.source}: parameter {name} = {value!r} has units "
                    f"{get_dimensions(new)}, expected {get_dimensions(old.value)} like {old.value}"
                )
            params[name] = dataclasses.replace(old, value=new)
        return dataclasses.replace(self, parameters=params)


def available() -> list[str]:
    """Names of the shipped models and of models found on :data:`model_paths`."""
    names = {p.stem for p in _search_dirs()[0].iterdir() if p.suffix == ".toml"}
    for d in _search_dirs()[1:]:
        if d.is_dir():
            names |= {p.stem for p in d.glob("*.toml")}
    return sorted(names)


def load(name_or_path: str | os.PathLike) -> NeuronModel:
    """Load and validate a model by name (``"lif"``) or by path to a ``.toml`` file.

    Raises :class:`ModelError` naming the file and the offending line for TOML syntax errors,
    missing keys, unknown identifiers, unit mismatches, a threshold without a state variable, and
    reset statements the kernel cannot differentiate.
    """
    path = _resolve(name_or_path)
    text = path.read_text()
    return _load_text(text, str(path))


def loads(text: str, source: str = "<string>") -> NeuronModel:
    """Load a model from TOML text (``source`` names it in error messages)."""
    return _load_text(text, source)


def from_brian2(
    equations: str | brian2.Equations,
    threshold: str | None = None,
    reset: str | None = None,
    parameters: Mapping[str, object] | None = None,
    *,
    method: str = "euler",
    inputs: str | Sequence[str] = (),
    output: str | None = None,
    recurrent: str | Sequence[str] = (),
    refractory: str | Quantity | None = None,
    initial: Mapping[str, object] | None = None,
    name: str = "brian2_model",
    description: str = "",
    paper: str = "",
) -> NeuronModel:
    """A neuron of a Brian2 script as a neurorl model, validated exactly as :func:`load` does.

    The arguments are those of ``brian2.NeuronGroup`` plus the keys of a model file::

        eqs = brian2.Equations("dv/dt = (EL - v + R*I)/tau : volt (unless refractory)\nI : amp")
        model = models.from_brian2(
            eqs, threshold="v > -50*mV", reset="v = EL", refractory=2 * brian2.ms,
            parameters={"EL": -70 * mV, "R": 50 * Mohm, "tau": 10 * ms}, inputs="v",
        )

    Args:
        equations: a ``brian2.Equations`` object or its string.
        threshold, reset, method: as for ``brian2.NeuronGroup``.
        parameters: name -> value (a Brian2 quantity, a number or a string such as ``"5*ms"``)
            or name -> ``{"value": ..., "per_neuron": bool, "learnable": bool, "doc": str}``, as
            under ``[parameters]`` in a model file. A parameter the equations also declare
            (``tau : second (constant)``) takes the declared units, and is per neuron unless
            declared ``shared``; the declaration is dropped (neurorl declares parameters itself).
        inputs, output, recurrent: the model-file keys (see :mod:`neurorl.models`).
        refractory: a duration (``2*ms`` or ``"2*ms"``) or a condition string, as for Brian2.
        initial: state variable -> initial value.

    Raises :class:`ModelError` naming the argument (and the line of the equations) at fault.
    """
    parameters = dict(parameters or {})
    if isinstance(equations, brian2.Equations):
        eqs, text = equations, _equations_code(equations)
    elif isinstance(equations, str):
        text = equations
        try:
            eqs = brian2.Equations(equations)
        except Exception:  # reported with its line by the common validation below
            eqs = None
    else:
        raise ModelError(
            f"from_brian2(equations=...): expected a brian2.Equations object or a string, got "
            f"{type(equations).__name__}"
        )
    declared = {}
    if eqs is not None:
        declared = {
            n: eqs[n] for n in parameters if n in eqs.names and eqs[n].type == PARAMETER
        }
    for pname, eq in declared.items():
        spec = parameters[pname]
        spec = dict(spec) if isinstance(spec, Mapping) else {"value": spec}
        spec.setdefault("per_neuron", "shared" not in eq.flags)
        value = quantity(spec.get("value"), f"from_brian2(parameters[{pname!r}])")
        if get_dimensions(value) != eq.dim:
            raise ModelError(
                f"from_brian2(parameters[{pname!r}]): value {value} does not have the units the "
                f"equations declare ({pname} : {unit_string(eq.dim)})"
            )
        parameters[pname] = spec
    if declared:  # neurorl appends one declaration per parameter (NeuronModel.brian2_equations)
        text = _equations_code(eqs, drop=set(declared))

    if isinstance(refractory, Quantity):
        refractory = quantity_code(refractory)
    data: dict = {
        "name": name,
        "description": description,
        "paper": paper,
        "method": method,
        "equations": text,
        "inputs": [inputs] if isinstance(inputs, str) else list(inputs),
        "recurrent": [recurrent] if isinstance(recurrent, str) else list(recurrent),
        "parameters": parameters,
        "initial": dict(initial or {}),
    }
    for key, value in (
        ("threshold", threshold),
        ("reset", reset),
        ("output", output),
        ("refractory", refractory),
    ):
        if value is not None:
            data[key] = value
    return _from_data(data, ArgLocator(data), "from_brian2")


def _equations_code(eqs: brian2.Equations, drop: set[str] = frozenset()) -> str:
    """Equations as Brian2 code, one line each, leaving out the declarations of ``drop``."""
    from brian2.equations.equations import BOOLEAN, INTEGER, SUBEXPRESSION

    lines = []
    for eq in eqs.ordered:
        if eq.varname in drop:
            continue
        unit = {BOOLEAN: "boolean", INTEGER: "integer"}.get(eq.var_type, unit_string(eq.dim))
        flags = f" ({', '.join(eq.flags)})" if eq.flags else ""
        if eq.type == DIFFERENTIAL_EQUATION:
            lines.append(f"d{eq.varname}/dt = {eq.expr.code} : {unit}{flags}")
        elif eq.type == SUBEXPRESSION:
            lines.append(f"{eq.varname} = {eq.expr.code} : {unit}{flags}")
        else:
            lines.append(f"{eq.varname} : {unit}{flags}")
    return "\n".join(lines)


def model_files_dir() -> Path:
    """The directory of the model files shipped with neurorl."""
    return Path(str(importlib.resources.files("neurorl.model_files")))


def _search_dirs() -> list[Path]:
    shipped = model_files_dir()
    extra = [Path(p) for p in os.environ.get("NEURORL_MODEL_PATH", "").split(os.pathsep) if p]
    return [shipped, *model_paths, *extra]


def _resolve(name_or_path: str | os.PathLike) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise ModelError(f"{candidate}: no such model file")
        return candidate
    for d in _search_dirs():
        p = d / f"{name_or_path}.toml"
        if p.is_file():
            return p
    raise ModelError(
        f"unknown model {str(name_or_path)!r}; available: {', '.join(available())} "
        "(or give a path to a .toml file)"
    )


@lru_cache(maxsize=256)
def _load_text(text: str, source: str) -> NeuronModel:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ModelError(f"{source}: TOML syntax error: {err}") from None
    return _from_data(data, Locator(text, source), source)


def _from_data(data: dict, where: Locator, source: str) -> NeuronModel:
    """The one path from a model's keys (a parsed file, or :func:`from_brian2`'s arguments) to a
    validated :class:`NeuronModel`; ``where`` turns a key into the file line (or argument) of
    error messages."""
    known = {
        "name",
        "paper",
        "description",
        "method",
        "equations",
        "threshold",
        "reset",
        "inputs",
        "output",
        "recurrent",
        "refractory",
        "parameters",
        "initial",
    }
    for key in data:
        if key not in known:
            raise ModelError(
                f"{where.key(key)}: unknown key {key!r} (known: {', '.join(sorted(known))})"
            )
    if "equations" not in data:
        raise ModelError(f"{source}: missing key 'equations'")

    params: dict[str, Parameter] = {}
    for pname, spec in data.get("parameters", {}).items():
        if isinstance(spec, str | int | float | Quantity):
            spec = {"value": spec}
        if not isinstance(spec, Mapping) or "value" not in spec:
            raise ModelError(f"{where.key(pname)}: parameter {pname} needs a value")
        params[pname] = Parameter(
            name=pname,
            value=quantity(spec["value"], where.key(pname)),
            per_neuron=bool(spec.get("per_neuron", False)),
            learnable=bool(spec.get("learnable", False)),
            doc=str(spec.get("doc", "")),
        )

    def _names(key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        return (value,) if isinstance(value, str) else tuple(value)

    model = NeuronModel(
        name=str(data.get("name", Path(source).stem)),
        equations=str(data["equations"]),
        method=str(data.get("method", "euler")),
        parameters=params,
        threshold=data.get("threshold"),
        reset=data.get("reset"),
        inputs=_names("inputs"),
        output=data.get("output"),
        recurrent=_names("recurrent"),
        refractory=None if data.get("refractory") is None else str(data["refractory"]),
        initial={
            k: quantity(v, where.key(k)) for k, v in data.get("initial", {}).items()
        },
        description=" ".join(str(data.get("description", "")).split()),
        paper=str(data.get("paper", "")),
        source=source,
    )
    validate(model, where)
    return model
