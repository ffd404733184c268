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
    [parameters]
    decay = { value = "0.2" }                                       # shared constant
    bias = { value = "0", per_neuron = true, learnable = true }     # trained by the kernel

Parameter values are quantities written with Brian2 units (``"5*ms"``). A driven variable that is a
differential state variable receives event-driven input (``v_post += w``); one declared as a plain
variable (``I : 1``) receives a continuous summed input (``I_post = w*x_pre : 1 (summed)``).

:func:`load` takes a shipped model's name or a path to a user's file; every error it raises is a
:class:`ModelError` whose message names the file and line at fault.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.resources
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import brian2
import tomllib
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER
from brian2.units.fundamentalunits import (
    DIMENSIONLESS,
    DimensionMismatchError,
    Quantity,
    get_dimensions,
    get_unit,
)

__all__ = [
    "ModelError",
    "NeuronModel",
    "Parameter",
    "available",
    "load",
    "loads",
    "model_files_dir",
    "model_paths",
]

#: Directories searched for ``<name>.toml`` after the shipped models; extend it, or set the
#: environment variable ``NEURORL_MODEL_PATH`` (os.pathsep-separated).
model_paths: list[Path] = []

_NOT_DIFFERENTIABLE = {"rand", "randn", "int", "floor", "ceil", "sign", "xi"}
# one abstract-code statement (``v = 0``, ``v -= v_th``) and one comparison (a threshold): the
# kernel (neurorl.kernel.codegen) reads Brian2's code with the same two patterns
STATEMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(=|\+=|-=|\*=|/=)\s*(.+?)\s*$")
COMPARISON = re.compile(r"^(.*?)(>=|<=|>|<)(.*)$")


class ModelError(ValueError):
    """A model file that cannot be used; the message names the file and the line at fault."""


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
    initial: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    paper: str = ""
    source: str = "<string>"

    @property
    def spiking(self) -> bool:
        """True when the model has a threshold."""
        return self.threshold is not None

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

        def q(value) -> str:
            dim = brian2.get_dimensions(value)
            si = float(brian2.asarray(value))
            return repr(si) if dim is DIMENSIONLESS else f"{si!r} * {unit_string(dim)}"

        lines = [
            f"{key} = {json.dumps(getattr(self, key))}"
            for key in ("name", "paper", "description", "method", "equations")
        ]
        for key in ("threshold", "reset", "output"):
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
                new = _parse_quantity(value, f"{self.source}: parameter {name}")
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
    where = _Locator(text, source)

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
        if isinstance(spec, str | int | float):
            spec = {"value": spec}
        if not isinstance(spec, dict) or "value" not in spec:
            raise ModelError(f"{where.key(pname)}: parameter {pname} needs a value")
        params[pname] = Parameter(
            name=pname,
            value=_parse_quantity(str(spec["value"]), where.key(pname)),
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
        initial={
            k: _parse_quantity(str(v), where.key(k)) for k, v in data.get("initial", {}).items()
        },
        description=" ".join(str(data.get("description", "")).split()),
        paper=str(data.get("paper", "")),
        source=source,
    )
    _validate(model, where)
    return model


class _Locator:
    """Finds the file line of a key or of a piece of text, for error messages."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def key(self, key: str) -> str:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for n, line in enumerate(self.lines, 1):
            if pattern.match(line):
                return f"{self.source}:{n}"
        return self.source

    def equation(self, var: str) -> str:
        """Line of the equation that defines ``var`` (``dvar/dt = ...`` or ``var = ...``)."""
        start = self.key("equations")
        first = int(start.rsplit(":", 1)[1]) if start != self.source else 1
        pattern = re.compile(rf"^\s*(d{re.escape(var)}/dt|{re.escape(var)})\s*[=:]")
        for n in range(first, len(self.lines) + 1):
            if pattern.match(self.lines[n - 1].split('"""')[-1]):
                return f"{self.source}:{n}"
        return start

    def text(self, key: str, snippet: str) -> str:
        """Line of the first occurrence of ``snippet`` at or after ``key``'s line."""
        start = self.key(key)
        first = int(start.rsplit(":", 1)[1]) if ":" in start and start != self.source else 1
        word = re.compile(rf"(?<![\w.]){re.escape(snippet)}(?!\w)")
        for n in range(first, len(self.lines) + 1):
            if word.search(self.lines[n - 1]):
                return f"{self.source}:{n}"
        return start


def _validate(model: NeuronModel, where: _Locator) -> None:
    """Build the model as a Brian2 group and check names, units, threshold and reset."""
    try:
        eqs = brian2.Equations(model.brian2_equations)
    except Exception as err:  # Brian2 raises several types for malformed equations
        line = str(err).splitlines()[0]
        bad = re.search(r"'([^']+)'", line)
        at = where.text("equations", bad.group(1)) if bad else where.key("equations")
        raise ModelError(f"{at}: cannot parse the equations: {line}") from None

    state = list(eqs.diff_eq_names)
    if not state:
        raise ModelError(f"{where.key('equations')}: the model has no differential equation")
    group = brian2_group(model)

    # Unknown identifiers and unit consistency of the equations.
    for name in sorted(eqs.identifiers - set(eqs.names) - {"dt", "t", "i", "N"}):
        if name not in brian2.DEFAULT_FUNCTIONS and name not in brian2.DEFAULT_CONSTANTS:
            try:
                group.resolve_all([name], run_namespace={})
            except KeyError:
                raise ModelError(
                    f"{where.text('equations', name)}: unknown identifier {name!r} in the "
                    "equations "
                    "(declare it under [parameters] or as a variable)"
                ) from None
    try:
        group.equations.check_units(group, run_namespace={})
    except DimensionMismatchError as err:
        var = re.search(r"variable '?(\w+)", str(err))
        at = where.equation(var.group(1)) if var else where.key("equations")
        raise ModelError(f"{at}: unit mismatch in the equations: {err}") from None

    for key in ("inputs", "recurrent"):
        for var in getattr(model, key):
            if var not in state and var not in model.summed_variables:
                raise ModelError(
                    f"{where.key(key)}: {key} names {var!r}, which is neither a state variable "
                    f"({', '.join(state)}) nor a plain variable of the equations"
                )
    if model.output is not None and model.output not in eqs.names:
        raise ModelError(f"{where.key('output')}: output names unknown variable {model.output!r}")
    if model.recurrent and model.output is None:
        raise ModelError(f"{where.key('recurrent')}: recurrent inputs need an 'output' variable")
    for var in model.initial:
        if var not in state:
            raise ModelError(f"{where.key(var)}: initial value for {var!r}, not a state variable")
    if model.reset is not None and model.threshold is None:
        raise ModelError(f"{where.key('reset')}: a reset without a threshold never runs")

    if model.threshold is not None:
        _validate_threshold(model, group, state, where)
    if model.reset is not None:
        _validate_reset(model, group, state, where)
    try:
        group.state_updater.update_abstract_code(run_namespace={})
    except Exception as err:
        raise ModelError(
            f"{where.key('method')}: Brian2 cannot integrate the equations with method "
            f"{model.method!r}: {str(err).splitlines()[0]}"
        ) from None


def _validate_threshold(model: NeuronModel, group, state: list[str], where: _Locator) -> None:
    from brian2.parsing.expressions import parse_expression_dimensions
    from brian2.utils.stringtools import get_identifiers

    code = model.threshold
    at = where.key("threshold")
    match = COMPARISON.match(code)
    if match is None or any(tok in code for tok in (" and ", " or ", "not ")):
        raise ModelError(
            f"{at}: threshold {code!r} must be one comparison (a > b, a >= b, a < b, a <= b) "
            "so that its Heaviside step can take a surrogate derivative"
        )
    names = get_identifiers(code)
    if not names & set(state):
        raise ModelError(
            f"{at}: threshold {code!r} names no state variable "
            f"(state variables: {', '.join(state)})"
        )
    _check_identifiers(names, group, at, "threshold")
    try:
        parse_expression_dimensions(code, group.resolve_all(names, run_namespace={}))
    except DimensionMismatchError as err:
        raise ModelError(f"{at}: unit mismatch in threshold {code!r}: {err}") from None


def _validate_reset(model: NeuronModel, group, state: list[str], where: _Locator) -> None:
    from brian2.equations.unitcheck import check_units_statements
    from brian2.utils.stringtools import get_identifiers

    for raw in re.split(r"[\n;]", model.reset):
        if not raw.strip():
            continue
        at = where.text("reset", raw.strip())
        match = STATEMENT.match(raw)
        if match is None:
            raise ModelError(
                f"{at}: reset statement {raw.strip()!r} is not of the form 'var = expr' "
                "(or +=, -=, *=, /=) that the kernel can differentiate"
            )
        target, _, expr = match.groups()
        if target not in state:
            raise ModelError(
                f"{at}: reset statement {raw.strip()!r} assigns {target!r}, which is not a state "
                f"variable ({', '.join(state)})"
            )
        names = get_identifiers(expr)
        blocked = names & _NOT_DIFFERENTIABLE
        if blocked:
            raise ModelError(
                f"{at}: reset statement {raw.strip()!r} uses {', '.join(sorted(blocked))}, which "
                "the kernel cannot differentiate"
            )
        _check_identifiers(names, group, at, "reset")
    try:
        check_units_statements(model.reset.replace(";", "\n"), group.variables)
    except DimensionMismatchError as err:
        raise ModelError(f"{where.key('reset')}: unit mismatch in reset: {err}") from None


def _check_identifiers(names: set[str], group, at: str, what: str) -> None:
    for name in sorted(names):
        if name in brian2.DEFAULT_FUNCTIONS or name in brian2.DEFAULT_CONSTANTS:
            continue
        try:
            group.resolve_all([name], run_namespace={})
        except KeyError:
            raise ModelError(f"{at}: unknown identifier {name!r} in the {what}") from None


def brian2_group(model: NeuronModel, n: int = 1, **kwargs) -> brian2.NeuronGroup:
    """A Brian2 group of ``model`` used only to read its code; never part of a network."""
    group = brian2.NeuronGroup(
        n,
        model.brian2_equations,
        threshold=model.threshold,
        reset=model.reset,
        method=model.method,
        namespace={},
        name="neurorl_model_check*",
        **kwargs,
    )
    group._network = "neurorl: inspected, never run"  # silences Brian2's unused-object warning
    return group


def _parse_quantity(text: str, at: str) -> Quantity:
    """Parse ``"0.2"``, ``"5*ms"``, ``"-70*mV"`` into a Brian2 quantity (no eval)."""
    units = vars(brian2.units.allunits) | {"ms": brian2.ms, "mV": brian2.mV}

    def _eval(node: ast.AST) -> Quantity | float:
        if isinstance(node, ast.Expression):
            return _eval(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name) and isinstance(units.get(node.id), Quantity):
            return units[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = _eval(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div | ast.Pow):
            a, b = _eval(node.left), _eval(node.right)
            if isinstance(node.op, ast.Mult):
                return a * b
            return a / b if isinstance(node.op, ast.Div) else a**b
        raise ValueError(ast.dump(node))

    try:
        value = _eval(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, ValueError):
        raise ModelError(
            f"{at}: cannot read the quantity {text!r} (write a number, optionally times a Brian2 "
            'unit, e.g. "5*ms")'
        ) from None
    return value if isinstance(value, Quantity) else Quantity(value)


def unit_string(dim) -> str:
    """Brian2 declaration unit (``"1"``, ``"second"``) of a dimension or quantity."""
    dim = get_dimensions(dim)
    return "1" if dim is DIMENSIONLESS else repr(get_unit(dim))
