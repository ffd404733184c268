"""The checks behind :func:`neurorl.models.load`, and the quantities model files are written in.

:func:`validate` builds a model as a Brian2 group (:func:`brian2_group`) and checks its names,
units, threshold, reset and refractory period, raising :class:`ModelError` with the file and line
that :class:`Locator` (a model file) or :class:`ArgLocator` (the arguments of
:func:`neurorl.models.from_brian2`) finds. Quantities (``"5*ms"``, ``"-65*mV"``, ``"250*pF"``)
are read with Brian2's own unit registry and no ``eval``. ``model`` arguments are
:class:`neurorl.models.NeuronModel` objects.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import brian2
import numpy as np
from brian2.units.fundamentalunits import (
    DIMENSIONLESS,
    DimensionMismatchError,
    Quantity,
    get_dimensions,
    get_unit,
)

from neurorl import NeurorlError

#: Name of the weight variable in the Brian2 ``Synapses`` that neurorl builds
#: (:meth:`neurorl.network.Network.to_brian2`); a model may not use it (any other name is fine).
#: Brian2 refuses a synaptic variable named like a variable of the groups it connects, so the
#: weight is not called ``w`` (the usual name of an adaptation current). Parameter keys stay
#: ``"<connection>.w"``.
SYNAPSE_WEIGHT = "w_syn"

NOT_DIFFERENTIABLE = {"rand", "randn", "int", "floor", "ceil", "sign", "xi"}
# one abstract-code statement (``v = 0``, ``v -= v_th``) and one comparison (a threshold): the
# kernel (neurorl.kernel.codegen) reads Brian2's code with the same two patterns
STATEMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(=|\+=|-=|\*=|/=)\s*(.+?)\s*$")
COMPARISON = re.compile(r"^(.*?)(>=|<=|>|<)(.*)$")


class ModelError(NeurorlError, ValueError):
    """A model file that cannot be used; the message names the file and the line at fault."""


class Locator:
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


class ArgLocator(Locator):
    """:func:`from_brian2`'s counterpart of :class:`Locator`: names the argument at fault
    (``from_brian2(reset=...)``, ``from_brian2(parameters['tau'])``) and the equation line."""

    def __init__(self, data: dict) -> None:
        super().__init__(str(data["equations"]), "from_brian2")
        self.parameters = set(data["parameters"])
        self.initial = set(data["initial"])

    def key(self, key: str) -> str:
        if key in self.parameters:
            return f"from_brian2(parameters[{key!r}])"
        if key in self.initial:
            return f"from_brian2(initial[{key!r}])"
        return f"from_brian2({key}=...)"

    def equation(self, var: str) -> str:
        pattern = re.compile(rf"^\s*(d{re.escape(var)}/dt|{re.escape(var)})\s*[=:]")
        return self._line(lambda line: pattern.match(line))

    def text(self, key: str, snippet: str) -> str:
        if key != "equations":
            return self.key(key)
        word = re.compile(rf"(?<![\w.]){re.escape(snippet)}(?!\w)")
        return self._line(word.search)

    def _line(self, hit) -> str:
        for n, line in enumerate(self.lines, 1):
            if hit(line):
                return f"from_brian2(equations), line {n}"
        return "from_brian2(equations=...)"


def validate(model: Any, where: Locator) -> None:
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
    noise = sorted(eqs.stochastic_variables)
    if noise:
        raise ModelError(
            f"{where.text('equations', noise[0])}: the equations use the noise term "
            f"{noise[0]!r}; neurorl refuses stochastic equations, because Brian2 draws xi inside "
            "its generated code, where the kernel cannot draw the same numbers (see the "
            "neurorl.models docs). Declare a summed input instead (e.g. 'I_noise : amp') and "
            "feed it noise you draw, which both Brian2 and the kernel then see"
        )
    if SYNAPSE_WEIGHT in eqs.names:
        at = (
            where.key(SYNAPSE_WEIGHT)
            if SYNAPSE_WEIGHT in model.parameters
            else where.equation(SYNAPSE_WEIGHT)
        )
        raise ModelError(
            f"{at}: the name {SYNAPSE_WEIGHT!r} is reserved: the Brian2 Synapses neurorl builds "
            "hold their weights in a variable of that name (any other name Brian2 accepts, 'w' "
            "included, is fine); rename it"
        )
    if model.method not in brian2.StateUpdateMethod.stateupdaters:
        raise ModelError(
            f"{where.key('method')}: unknown integration method {model.method!r}; Brian2 knows "
            f"{', '.join(sorted(brian2.StateUpdateMethod.stateupdaters))}"
        )
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

    if model.refractory is not None and model.threshold is None:
        raise ModelError(f"{where.key('refractory')}: a refractory period without a threshold")
    if model.refractory is None and model.refractory_variables:
        var = model.refractory_variables[0]
        raise ModelError(
            f"{where.equation(var)}: {var} is flagged (unless refractory) but the model has no "
            'refractory period; add e.g. refractory = "2*ms" (or a condition)'
        )
    if model.refractory is not None:
        refractory_kind(model, group, where.key("refractory"))
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


def _validate_threshold(model: Any, group, state: list[str], where: Locator) -> None:
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


def _validate_reset(model: Any, group, state: list[str], where: Locator) -> None:
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
        blocked = names & NOT_DIFFERENTIABLE
        if blocked:
            raise ModelError(
                f"{at}: reset statement {raw.strip()!r} uses {', '.join(sorted(blocked))}, which "
                "the kernel cannot differentiate"
            )
        _check_identifiers(names, group, at, "reset")
        # units (``-65*mV``) resolve as Brian2 resolves them; group.variables alone lacks them
        resolved = {**group.variables, **group.resolve_all(names, run_namespace={})}
        try:
            check_units_statements(raw.strip(), resolved)
        except DimensionMismatchError as err:
            raise ModelError(
                f"{at}: unit mismatch in reset statement {raw.strip()!r}: {err}"
            ) from None


def _check_identifiers(names: set[str], group, at: str, what: str) -> None:
    for name in sorted(names):
        if name in brian2.DEFAULT_FUNCTIONS or name in brian2.DEFAULT_CONSTANTS:
            continue
        try:
            group.resolve_all([name], run_namespace={})
        except KeyError:
            raise ModelError(f"{at}: unknown identifier {name!r} in the {what}") from None


def refractory_kind(model: Any, group=None, at: str | None = None) -> str:
    """``"time"`` if ``model.refractory`` is a duration (``"2*ms"``, ``"tau_ref"``), ``"condition"``
    if it is one comparison that keeps the neuron refractory while true (``"v > -50*mV"``), as
    Brian2 reads the ``refractory`` keyword; anything else is a :class:`ModelError`."""
    from brian2.parsing.expressions import parse_expression_dimensions
    from brian2.utils.stringtools import get_identifiers

    code, at = model.refractory, at or model.source
    group = group if group is not None else brian2_group(model)
    names = get_identifiers(code) - {"t", "lastspike", "dt"}
    _check_identifiers(names, group, at, "refractory period")
    try:
        dim = parse_expression_dimensions(code, group.resolve_all(
            get_identifiers(code), run_namespace={}))
    except (DimensionMismatchError, SyntaxError, TypeError) as err:
        raise ModelError(f"{at}: cannot read refractory = {code!r}: {err}") from None
    if dim is brian2.second.dim:
        if names & set(model.state_variables):
            raise ModelError(
                f"{at}: refractory = {code!r} is a duration that depends on the state; give a "
                "duration of parameters or a condition"
            )
        return "time"
    if dim is DIMENSIONLESS and COMPARISON.match(code) and not any(
        tok in code for tok in (" and ", " or ", "not ")
    ):
        return "condition"
    raise ModelError(
        f"{at}: refractory = {code!r} must be a duration (\"2*ms\", a parameter with units of "
        "time) or one comparison that holds while the neuron stays refractory (\"v > -50*mV\")"
    )


def brian2_group(model: Any, n: int = 1, **kwargs) -> brian2.NeuronGroup:
    """A Brian2 group of ``model`` used only to read its code; never part of a network."""
    group = brian2.NeuronGroup(
        n,
        model.brian2_equations,
        threshold=model.threshold,
        reset=model.reset,
        refractory=False if model.refractory is None else model.refractory,
        method=model.method,
        namespace={},
        name="neurorl_model_check*",
        **kwargs,
    )
    group._network = "neurorl: inspected, never run"  # silences Brian2's unused-object warning
    return group


def quantity(value: object, at: str) -> Quantity:
    """A parameter or initial value as a quantity: a Brian2 quantity as it is, a number as a
    dimensionless one, a string through :func:`parse_quantity`."""
    if isinstance(value, Quantity):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Quantity(float(value))
    if isinstance(value, str):
        return parse_quantity(value, at)
    raise ModelError(
        f"{at}: cannot read the quantity {value!r} (give a number, a Brian2 quantity or a string "
        'such as "5*ms")'
    )


def parse_quantity(text: str, at: str) -> Quantity:
    """Parse ``"0.2"``, ``"5*ms"``, ``"-70*mV"``, ``"0.05*nA"`` into a Brian2 quantity (no eval).

    Units are looked up in Brian2's own registry (:data:`brian2.core.namespace.DEFAULT_UNITS`,
    the names Brian2 resolves in equations: ``nA``, ``pF``, ``nS``, ``Hz``, ``um``, ``mM``, ...).
    """
    from brian2.core.namespace import DEFAULT_UNITS

    def _eval(node: ast.AST) -> Quantity | float:
        if isinstance(node, ast.Expression):
            return _eval(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in DEFAULT_UNITS:
                raise ValueError(f"{node.id!r} is not a unit Brian2 knows")
            return DEFAULT_UNITS[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = _eval(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div | ast.Pow):
            a, b = _eval(node.left), _eval(node.right)
            if isinstance(node.op, ast.Mult):
                return a * b
            return a / b if isinstance(node.op, ast.Div) else a**b
        raise ValueError(f"{ast.unparse(node)!r} is not a number, a unit or a product of them")

    try:
        value = _eval(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, ValueError, TypeError, ArithmeticError, RecursionError,
            DimensionMismatchError) as err:
        why = f": {err}" if isinstance(err, ValueError | DimensionMismatchError) else ""
        raise ModelError(
            f"{at}: cannot read the quantity {text!r}{why} (write a number, optionally times a "
            'Brian2 unit, e.g. "5*ms" or "0.5*nA")'
        ) from None
    return value if isinstance(value, Quantity) else Quantity(value)


def quantity_code(value) -> str:
    """A quantity as exact Brian2 code in SI units (``"0.002 * second"``, ``"0.2"``)."""
    dim = get_dimensions(value)
    si = float(brian2.asarray(value))
    return repr(si) if dim is DIMENSIONLESS else f"{si!r} * {unit_string(dim)}"


def unit_string(dim) -> str:
    """Brian2 declaration unit (``"1"``, ``"second"``) of a dimension or quantity."""
    dim = get_dimensions(dim)
    return "1" if dim is DIMENSIONLESS else repr(get_unit(dim))


def display_unit(dim, values=()) -> tuple[float, str]:
    """The unit a quantity of dimension ``dim`` is shown in: (its value in SI units, its name).

    ``(1.0, "1")`` when dimensionless; otherwise Brian2's best unit (Brian2's own registry) for
    the largest finite magnitude among ``values`` (arrays of SI values), e.g. ``(0.001, "mV")``
    for a membrane potential near -65 mV, ``(1e-12, "pA")`` for 300 pA; the SI unit when every
    value is zero. Plot axes and the chip's fixed-point grid (:mod:`neurorl.hardware.quantize`)
    use it.
    """
    dim = get_dimensions(dim)
    if dim is DIMENSIONLESS:
        return 1.0, "1"
    finite = [np.abs(v[np.isfinite(v)]) for v in (np.asarray(x, dtype=float) for x in values)]
    largest = max((float(np.max(v, initial=0.0)) for v in finite), default=0.0)
    unit = Quantity(largest if largest > 0 else 1.0, dim=dim).get_best_unit()
    return float(unit), str(unit)
