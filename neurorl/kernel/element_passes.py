"""How the compiled loops (:mod:`neurorl.kernel.compiled`) visit the neurons of a batch row so
that LLVM vectorises them.

A layer's step is a list of per-element statements (read the state, form the summed inputs,
``advance``, threshold, reset, record; or their VJPs backwards), each run for every neuron ``i``
of a row. As one loop over ``i`` holding every statement, the loop reads and writes a couple of
dozen arrays; LLVM cannot prove that so many do not overlap and leaves the loop scalar (about
25 ns per neuron and step for the forward of GRSN's gated-from-spikes cell here, 22 arrays,
against ~5 ns for the input-gated cell's 14-array loop, which it vectorises). Wide bodies
therefore run as *passes*: one loop per statement, the scalars that flow between statements
kept in row buffers, the outputs of one step function in the rows of one array (so that its
loop stores into one array). The GRSN forward then takes ~9 ns per neuron-step. A statement
that itself reads two dozen arrays (``retreat``, the update's VJP) stays scalar: the backward
of that cell is no faster as passes (and no slower); copying its operands into one staging
array did not make LLVM vectorise it either.

Elements do not interact within these statements, so running them statement by statement
gives every element the same sequence of operations. Buffers are float64: in float64 the
results equal the fused loop's; in float32 a value read from a float32 array and kept in a
buffer enters later arithmetic as float64 where the fused loop kept a float32 scalar, so results
agree with it (and with the Python loop) to float32 rounding.
"""

from __future__ import annotations

import ast

__all__ = ["FUSED_MAX_ARRAYS", "arrays", "element_passes", "vectorise"]

# Bodies that index at most this many arrays stay one fused loop: LLVM vectorises those here,
# and as passes they only add loop overhead.
FUSED_MAX_ARRAYS = 20


def arrays(body: list[str]) -> set[str]:
    """Names of the arrays that the per-element statements ``body`` index."""
    return {n.value.id for line in body for n in ast.walk(ast.parse(line))
            if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)}


def _element(ref: str, store: bool = False) -> ast.expr:
    node = ast.parse(ref + "i]", mode="eval").body
    if store:
        node.ctx = ast.Store()
    return node


def _stored_names(targets: list[ast.expr]) -> list[str]:
    return [n.id for t in targets for n in ast.walk(t)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


def element_passes(body: list[str], tag: str = "") -> tuple[list[str], list[str]]:
    """``body`` as one loop over the row per statement (see the module docstring); ``tag`` keeps
    the names of its output arrays apart from another body's.

    Returns ``(allocations, lines)``: the buffers' ``np.empty`` lines (once per call) and the
    loops, to be indented for the body of ``for b``.
    """
    stmts = [ast.parse(line).body[0] for line in body]
    loaded, assigned_in = set(), {}
    for k, st in enumerate(stmts):
        for node in ast.walk(st):
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Store):
                    assigned_in.setdefault(node.id, set()).add(k)
                else:
                    loaded.add(node.id)
    slot: dict[str, str] = {}  # scalar name -> its buffer element without the final "i]"
    allocs: list[str] = []
    for k, st in enumerate(stmts):
        targets = st.targets if isinstance(st, ast.Assign) else []
        names = [n for n in _stored_names(targets) if n in loaded]
        single = len(targets) == 1 and isinstance(targets[0], ast.Name)
        shared = [n for n in names if not single and assigned_in[n] == {k} and n not in slot]
        for m, name in enumerate(shared):
            slot[name] = f"_out{tag}_{k}[{m}, "
        if shared:
            allocs.append(f"    _out{tag}_{k} = np.empty(({len(shared)}, n))")
        for name in names:
            if name not in slot:
                slot[name] = f"_row_{name}["
                allocs.append(f"    _row_{name} = np.empty(n)")

    class _Rows(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name):
            if node.id in slot and isinstance(node.ctx, ast.Load):
                return _element(slot[node.id])
            return node

    lines: list[str] = []
    for st in stmts:
        st = _Rows().visit(st)
        targets = st.targets if isinstance(st, ast.Assign) else []
        keep: list[str] = []
        if len(targets) == 1 and isinstance(targets[0], ast.Name) and targets[0].id in slot:
            targets[0] = _element(slot[targets[0].id], store=True)
        else:
            keep = [n for n in _stored_names(targets) if n in slot]
        lines += ["for i in range(n):", "    " + ast.unparse(ast.fix_missing_locations(st))]
        lines += [f"    {slot[name]}i] = {name}" for name in keep]
    return allocs, lines


def vectorise(function: str) -> str:
    """The source of one generated loop function with each of its per-element loops (``for i in
    range(n)`` as the only statement of a ``for b`` over the batch rows, its body straight-line)
    that indexes more than :data:`FUSED_MAX_ARRAYS` arrays rewritten as :func:`element_passes`;
    the buffers are allocated after the function's ``n = ...``."""
    module = ast.parse(function)
    fn = next(node for node in module.body if isinstance(node, ast.FunctionDef))
    allocs: list[str] = []
    changed = False
    rows_loops = [node for node in ast.walk(fn) if isinstance(node, ast.For)
                  and isinstance(node.target, ast.Name) and node.target.id == "b"
                  and len(node.body) == 1 and isinstance(node.body[0], ast.For)
                  and isinstance(node.body[0].target, ast.Name) and node.body[0].target.id == "i"]
    for k, outer in enumerate(rows_loops):
        body = outer.body[0].body
        if not all(isinstance(st, ast.Assign | ast.AugAssign) for st in body):
            continue
        lines = [ast.unparse(st) for st in body]
        if len(arrays(lines)) <= FUSED_MAX_ARRAYS:
            continue
        new_allocs, loops = element_passes(lines, tag=str(k))
        allocs += [a for a in new_allocs if a not in allocs]
        outer.body = ast.parse("\n".join(loops)).body
        changed = True
    if not changed:
        return function
    at = next(j for j, st in enumerate(fn.body) if isinstance(st, ast.Assign)
              and isinstance(st.targets[0], ast.Name) and st.targets[0].id == "n")
    fn.body[at + 1:at + 1] = ast.parse("\n".join(a.strip() for a in allocs)).body
    return ast.unparse(ast.fix_missing_locations(module))
