"""Brian2 abstract code -> vectorised numpy step functions and their sympy-derived VJPs.

For one :class:`~neurorl.models.NeuronModel` this module asks Brian2 for the code it would run
(``state_updater.abstract_code``, the threshold condition and the reset statements), parses it
with Brian2's sympy tools, and emits Python source for:

* ``advance(*state, *summed, *params, [not_refractory], dt, t) -> (*updated, fired, h)``
  (``not_refractory`` only for a refractory model, a 0/1 array): Brian2's state update
  (slot ``groups``) and, for a spiking model, its threshold (slot ``thresholds``) on the updated
  state, with ``h`` the signed distance to threshold (non-spiking: ``(*updated,)``);
* ``retreat(*g_updated, g_spike, sg, *updated, *state, *summed, *params, dt, t)
  -> (g_state, g_summed, g_learnable)``: the VJP of ``advance`` given the gradient on the updated
  state and on the spike, whose surrogate derivative ``sg = dspike/dh`` the caller provides
  (non-spiking: ``retreat(*g_updated, *state, *summed, *params, dt, t)``);
* ``reset(spike, keep, *state, *params) -> new values of the reset variables``, computed as
  ``s*keep + r(s)*spike`` with ``keep = 1 - spike``: for a binary spike this is exactly Brian2's
  reset (``r(s)`` where it fired, ``s`` elsewhere, no rounding) and cheaper than ``np.where``;
  for a smooth spike it is the blend that ``reset_vjp`` differentiates;
* ``reset_vjp(*g_e, spike, *state, *params) -> (g_state, g_spike, g_learnable)``, the VJP of the
  blend ``e = s + spike*(r(s) - s)``;
* ``threshold(*state, *params) -> (fired, h)`` and ``threshold_vjp(g_spike, sg, *state,
  *params) -> (g_state, g_learnable)``: the threshold alone, on any state (the aligned schedule
  tests it after this step's synaptic effects, see :mod:`neurorl.kernel.loops`);
* for a refractory model, ``refractory_period(*params) -> (seconds,)`` or
  ``refractory_condition(*state, *params, lastspike, t) -> (holds, _)``.

Jacobians come from ``sympy.diff``; structurally zero terms are ``None`` so callers skip them.
Compilation is cached per model, so building a kernel for a known model costs microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy
from brian2.equations.equations import SUBEXPRESSION
from brian2.parsing.sympytools import str_to_sympy
from sympy.printing.str import StrPrinter

from neurorl import NeurorlError
from neurorl.model_check import COMPARISON, STATEMENT, brian2_group
from neurorl.model_check import refractory_kind as models_refractory_kind
from neurorl.models import NeuronModel

__all__ = ["CompiledModel", "KernelCompileError", "compile_model"]

_NUMPY_FUNCS = {
    "exp": "np.exp",
    "log": "np.log",
    "log10": "np.log10",
    "sqrt": "np.sqrt",
    "sin": "np.sin",
    "cos": "np.cos",
    "tan": "np.tan",
    "sinh": "np.sinh",
    "cosh": "np.cosh",
    "tanh": "np.tanh",
    "arcsin": "np.arcsin",
    "arccos": "np.arccos",
    "arctan": "np.arctan",
    "asin": "np.arcsin",
    "acos": "np.arccos",
    "atan": "np.arctan",
    "Abs": "np.abs",
}


class KernelCompileError(NeurorlError, ValueError):
    """A model whose Brian2 code the kernel cannot turn into a differentiable step."""


@dataclass(frozen=True)
class CompiledModel:
    """Numpy step functions of one model; argument orders are given by the name tuples."""

    state: tuple[str, ...]
    summed: tuple[str, ...]
    params: tuple[str, ...]
    learnable: tuple[str, ...]
    spiking: bool
    advance: object
    retreat: object
    constant_updates: tuple[bool, ...]
    retreat_nonzero: tuple[tuple[bool, ...], ...]
    reset_vars: tuple[str, ...]
    reset: object | None
    reset_vjp: object | None
    reset_vjp_nonzero: tuple[tuple[bool, ...], ...]
    source: str
    threshold: object | None = None
    threshold_vjp: object | None = None
    threshold_vjp_nonzero: tuple[tuple[bool, ...], ...] = ()
    refractory: str | None = None
    refractory_vars: tuple[str, ...] = ()
    refractory_period: object | None = None
    refractory_condition: object | None = None


def compile_model(model: NeuronModel) -> CompiledModel:
    """Compile ``model`` into numpy step functions and VJPs (cached per model definition)."""
    learnable = tuple(p.name for p in model.parameters.values() if p.learnable)
    return _compile(
        model.brian2_equations,
        model.method,
        model.threshold,
        model.reset,
        tuple(model.parameters),
        learnable,
        model.name,
        model.refractory,
    )


@lru_cache(maxsize=128)
def _compile(equations, method, threshold, reset, params, learnable, name,
             refractory=None) -> CompiledModel:
    model = NeuronModel(
        name=name,
        equations=equations,
        method=method,
        parameters={},
        threshold=threshold,
        reset=reset,
        refractory=refractory,
    )
    group = brian2_group(model)
    group.state_updater.update_abstract_code(run_namespace={})
    eqs = group.equations
    state = tuple(model.state_variables)
    summed = tuple(v for v in model.summed_variables if v not in params)
    subexpressions = {
        eq.varname: str_to_sympy(str(eq.expr)) for eq in eqs.ordered if eq.type == SUBEXPRESSION
    }

    def symbols_of(names):
        return [sympy.Symbol(n, real=True) for n in names]

    s_state, s_summed = symbols_of(state), symbols_of(summed)
    s_learn = symbols_of(learnable)
    known = {*state, *summed, *params, "dt", "t"}
    update_code = group.state_updater.abstract_code
    refractory_args: list[str] = []
    if refractory is not None:  # Brian2's not_refractory is computed by the loop (kernel.loops)
        update_code = "\n".join(
            line.replace("int(not_refractory)", "not_refractory")
            for line in update_code.splitlines()
            if not line.strip().startswith("not_refractory =")
        )
        refractory_args = ["not_refractory"]
        known.add("not_refractory")

    new_state = _run_statements(update_code, state, {}, name, "state update")
    new_exprs = [new_state[v] for v in state]
    _check_symbols(new_exprs, known, name, "state update")

    out = _Emitter()
    reset_vars: tuple[str, ...] = ()
    args = [*state, *summed, *params, *refractory_args, "dt", "t"]
    s_updated = symbols_of([f"_u_{v}" for v in state])
    as_updated = dict(zip(s_state, s_updated, strict=True))
    g_updated = symbols_of([f"_g_{v}" for v in state])
    if threshold is None:
        out.function("advance", args, new_exprs)
        out.vjp(
            "retreat",
            [str(g) for g in g_updated] + args,
            g_updated,
            new_exprs,
            [s_state, s_summed, s_learn],
        )
    else:
        lhs, op, rhs = _split_comparison(threshold, name)
        lhs = si_units(_substitute(str_to_sympy(lhs), subexpressions), known)
        rhs = si_units(_substitute(str_to_sympy(rhs), subexpressions), known)
        _check_symbols([lhs, rhs], known - {"t"}, name, "threshold")
        h = lhs - rhs if op in (">", ">=") else rhs - lhs
        g_spike, sg = sympy.Symbol("_g_spike", real=True), sympy.Symbol("_sg", real=True)
        targs = [*state, *params]
        out.threshold("threshold", targs, lhs, rhs, op, h)
        out.vjp("threshold_vjp", ["_g_spike", "_sg", *targs], [g_spike * sg], [h],
                [s_state, s_learn])
        lhs, rhs, h = (e.xreplace(as_updated) for e in (lhs, rhs, h))
        out.advance("advance", args, s_updated, new_exprs, lhs, rhs, op, h)
        # d loss / d updated = given gradient + (g_spike * sg) * dh/d updated
        g_u = [
            g + g_spike * sg * sympy.diff(h, u) for g, u in zip(g_updated, s_updated, strict=True)
        ]
        extra = {p: g_spike * sg * sympy.diff(h, p) for p in s_learn}
        out.vjp(
            "retreat",
            [str(g) for g in g_updated] + ["_g_spike", "_sg"] + [str(u) for u in s_updated] + args,
            g_u,
            new_exprs,
            [s_state, s_summed, s_learn],
            extra=extra,
        )
    if reset is not None:
        values = _run_statements(reset.replace(";", "\n"), state, subexpressions, name, "reset")
        reset_vars = tuple(v for v in state if v in values)
        r_exprs = [values[v] for v in reset_vars]
        _check_symbols(r_exprs, known - {"t"}, name, "reset")
        rargs = [*state, *params]
        out.reset("reset", ["_spike", "_keep", *rargs], reset_vars, r_exprs)
        spike = sympy.Symbol("_spike", real=True)
        blend = [
            sympy.Symbol(v, real=True) + spike * (r - sympy.Symbol(v, real=True))
            for v, r in zip(reset_vars, r_exprs, strict=True)
        ]
        g_e = symbols_of([f"_g_{v}" for v in reset_vars])
        out.vjp(
            "reset_vjp",
            [str(g) for g in g_e] + ["_spike", *rargs],
            g_e,
            blend,
            [s_state, [spike], s_learn],
        )

    refractory_kind = None
    if refractory is not None:
        refractory_kind = models_refractory_kind(model, group)
        ref = si_units(_substitute(str_to_sympy(refractory), subexpressions), known)
        if refractory_kind == "time":
            _check_symbols([ref], set(params), name, "refractory period")
            out.function("refractory_period", list(params), [ref])
        else:
            lhs, op, rhs = (
                si_units(_substitute(str_to_sympy(part), subexpressions), known)
                if k != 1 else part
                for k, part in enumerate(_split_comparison(refractory, name))
            )
            _check_symbols([lhs, rhs], {*state, *params, "lastspike", "t"}, name,
                           "refractory condition")
            out.threshold("refractory_condition", [*state, *params, "lastspike", "t"],
                          lhs, rhs, op, lhs - rhs)

    namespace = out.compile(name)
    return CompiledModel(
        state=state,
        summed=summed,
        params=params,
        learnable=learnable,
        spiking=threshold is not None,
        advance=namespace["advance"],
        retreat=namespace["retreat"],
        constant_updates=tuple(bool(e.is_number) for e in new_exprs),
        retreat_nonzero=out.nonzero["retreat"],
        reset_vars=reset_vars,
        reset=namespace.get("reset"),
        reset_vjp=namespace.get("reset_vjp"),
        reset_vjp_nonzero=out.nonzero.get("reset_vjp", ()),
        source=out.source,
        threshold=namespace.get("threshold"),
        threshold_vjp=namespace.get("threshold_vjp"),
        threshold_vjp_nonzero=out.nonzero.get("threshold_vjp", ()),
        refractory=refractory_kind,
        refractory_vars=model.refractory_variables if refractory is not None else (),
        refractory_period=namespace.get("refractory_period"),
        refractory_condition=namespace.get("refractory_condition"),
    )


def _run_statements(code: str, state, subexpressions, name: str, what: str) -> dict:
    """Execute abstract-code statements symbolically; return the final value of assigned names."""
    env: dict[sympy.Symbol, sympy.Expr] = {}
    assigned: dict[str, sympy.Expr] = {}
    for line in code.splitlines():
        if not line.strip():
            continue
        match = STATEMENT.match(line)
        if match is None:
            raise KernelCompileError(f"model {name}: cannot read {what} statement {line.strip()!r}")
        target, op, expr = match.groups()
        rhs = si_units(_substitute(str_to_sympy(expr), subexpressions), set(state))
        rhs = rhs.xreplace(env)
        sym = sympy.Symbol(target, real=True)
        old = env.get(sym, sym)
        value = {"=": rhs, "+=": old + rhs, "-=": old - rhs, "*=": old * rhs, "/=": old / rhs}[op]
        env[sym] = value
        assigned[target] = value
    return {v: assigned[v] for v in state if v in assigned}


def _substitute(expr: sympy.Expr, subexpressions: dict) -> sympy.Expr:
    for _ in range(len(subexpressions) + 1):
        names = {s.name for s in expr.free_symbols}
        hits = {sympy.Symbol(k, real=True): v for k, v in subexpressions.items() if k in names}
        if not hits:
            return expr
        expr = expr.xreplace(hits)
    return expr


def si_units(expr: sympy.Expr, names: set[str]) -> sympy.Expr:
    """``expr`` with Brian2 unit names (``mV``, ``ms``, ``nA``: Brian2's own registry) that are
    not among ``names`` (the model's variables) replaced by their values in SI base units, the
    units Brian2's generated code and the kernel compute in."""
    from brian2.core.namespace import DEFAULT_UNITS

    hits = {
        s: sympy.Float(float(np.asarray(DEFAULT_UNITS[s.name])))
        for s in expr.free_symbols
        if s.name in DEFAULT_UNITS and s.name not in names
    }
    return expr.xreplace(hits) if hits else expr


def _split_comparison(code: str, name: str) -> tuple[str, str, str]:
    match = COMPARISON.match(code)
    if match is None:
        raise KernelCompileError(f"model {name}: threshold {code!r} is not a comparison")
    return match.group(1), match.group(2), match.group(3)


def _check_symbols(exprs, known: set[str], name: str, what: str) -> None:
    unknown = {s.name for e in exprs for s in e.free_symbols} - known
    if unknown:
        raise KernelCompileError(
            f"model {name}: the {what} uses {', '.join(sorted(unknown))}, which the kernel does "
            "not provide (it supports state, summed and parameter variables, dt and t)"
        )


def _differentiable(expr: sympy.Expr) -> sympy.Expr:
    """Rewrite Brian2 functions sympy cannot differentiate (clip) into ones it can."""

    def clip(x, lo, hi):
        return sympy.Min(sympy.Max(x, lo), hi)

    replacements = {
        f: clip(*f.args) for f in expr.atoms(sympy.Function) if f.func.__name__ == "clip"
    }
    return expr.xreplace(replacements) if replacements else expr


class _Printer(StrPrinter):
    def _print_Symbol(self, expr):
        return expr.name

    def _print_Function(self, expr):
        fname = expr.func.__name__
        args = ", ".join(self._print(a) for a in expr.args)
        if fname in _NUMPY_FUNCS:
            return f"{_NUMPY_FUNCS[fname]}({args})"
        if fname == "clip":
            return self._print(_differentiable(expr))
        raise KernelCompileError(f"the kernel has no numpy form of the function {fname!r}")

    def _print_exp(self, expr):
        return f"np.exp({self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"np.abs({self._print(expr.args[0])})"

    def _pairwise(self, numpy_name, args):
        head = self._print(args[0])
        for arg in args[1:]:
            head = f"{numpy_name}({head}, {self._print(arg)})"
        return head

    def _print_Max(self, expr):
        return self._pairwise("np.maximum", expr.args)

    def _print_Min(self, expr):
        return self._pairwise("np.minimum", expr.args)

    def _print_Heaviside(self, expr):
        return f"np.heaviside({self._print(expr.args[0])}, 0.0)"

    def _print_Infinity(self, expr):
        return "np.inf"

    def _print_NegativeInfinity(self, expr):
        return "-np.inf"

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp == sympy.Rational(1, 2):
            return f"np.sqrt({self._print(base)})"
        if exp == -1:
            return f"1.0/({self._print(base)})"
        return super()._print_Pow(expr, rational)

    def _print_Rational(self, expr):
        return f"({expr.p}/{expr.q})"

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Derivative(self, expr):
        raise KernelCompileError(f"cannot differentiate {expr.expr}")

    def _print_Subs(self, expr):
        raise KernelCompileError(f"cannot differentiate {expr}")


class _Emitter:
    """Collects generated Python functions, then compiles them in one namespace."""

    def __init__(self) -> None:
        self.printer = _Printer()
        self.chunks: list[str] = []
        self.nonzero: dict[str, tuple[tuple[bool, ...], ...]] = {}

    def _body(self, exprs, names, prefix: str = "_x") -> list[str]:
        replacements, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols(prefix))
        lines = [f"    {s} = {self.printer.doprint(e)}" for s, e in replacements]
        for var, e in zip(names, reduced, strict=True):
            lines.append(f"    {var} = {self.printer.doprint(e)}")
        return lines

    def function(self, fname, args, exprs) -> None:
        outs = [f"_out{k}" for k in range(len(exprs))]
        lines = [f"def {fname}({', '.join(args)}):", *self._body(exprs, outs)]
        lines.append(f"    return ({', '.join(outs)},)")
        self.chunks.append("\n".join(lines))

    def reset(self, fname, args, variables, values) -> None:
        """``var*_keep + value*_spike`` per reset variable, printed without simplification."""
        outs = [f"_out{k}" for k in range(len(values))]
        lines = [
            f"def {fname}({', '.join(args)}):",
            *self._body(values, [f"_r{k}" for k in range(len(values))]),
        ]
        for k, (var, value) in enumerate(zip(variables, values, strict=True)):
            keep = f"{var}*_keep"
            lines.append(
                f"    {outs[k]} = {keep}"
                if value == 0
                else f"    {outs[k]} = {keep} + _r{k}*_spike"
            )
        lines.append(f"    return ({', '.join(outs)},)")
        self.chunks.append("\n".join(lines))

    def advance(self, fname, args, updated, new_exprs, lhs, rhs, op, h) -> None:
        """Update, then the threshold on the updated values (named ``updated``)."""
        lines = [f"def {fname}({', '.join(args)}):"]
        lines += self._body(new_exprs, [str(u) for u in updated], prefix="_x")
        lines += self._body([lhs, rhs, h], ["_l", "_r", "_h"], prefix="_y")
        lines.append(f"    return ({', '.join(str(u) for u in updated)}, (_l {op} _r), _h)")
        self.chunks.append("\n".join(lines))

    def threshold(self, fname, args, lhs, rhs, op, h) -> None:
        """The threshold condition and ``h`` on the given state."""
        lines = [f"def {fname}({', '.join(args)}):"]
        lines += self._body([lhs, rhs, h], ["_l", "_r", "_h"], prefix="_y")
        lines.append(f"    return ((_l {op} _r), _h)")
        self.chunks.append("\n".join(lines))

    def vjp(self, fname, args, cotangents, outputs, groups, extra=None) -> None:
        """Emit ``sum_i cotangent_i * d output_i / d x`` (+ ``extra[x]``) for every x of each
        group of symbols."""
        outputs = [_differentiable(o) for o in outputs]
        exprs, names, layout = [], [], []
        for group in groups:
            entry = []
            for x in group:
                total = sum(
                    (c * sympy.diff(o, x) for c, o in zip(cotangents, outputs, strict=True)),
                    (extra or {}).get(x, sympy.Integer(0)),
                )
                if total == 0:
                    entry.append("None")
                else:
                    names.append(f"_d{len(names)}")
                    exprs.append(total)
                    entry.append(names[-1])
            layout.append(entry)
        self.nonzero[fname] = tuple(tuple(e != "None" for e in entry) for entry in layout)
        lines = [f"def {fname}({', '.join(args)}):"]
        if exprs:
            lines += self._body(exprs, names)
        groups_src = ", ".join(f"({', '.join(e)}{',' if len(e) == 1 else ''})" for e in layout)
        lines.append(f"    return ({groups_src})")
        self.chunks.append("\n".join(lines))

    @property
    def source(self) -> str:
        return "\n\n".join(self.chunks) + "\n"

    def compile(self, name: str) -> dict:
        namespace: dict = {"np": np}
        exec(compile(self.source, f"<neurorl kernel: {name}>", "exec"), namespace)  # noqa: S102
        return namespace
