"""The package's shape: no import cycles, no private names across modules, no deep-learning
framework, nothing imports the command line, no module over 600 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "neurorl"
# the one cycle kept: Network.kernel() is a factory for the kernel, which reads the Network
ALLOWED_CYCLES = [{"neurorl.network", "neurorl.kernel.bptt"}]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts).removesuffix(".__init__")
        out[name] = path
    return out


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names imported from it, line) for every import, function-level ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, [a.name for a in node.names], node.lineno))
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for module, names, _ in imports(path):
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in mods] or [module]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(group)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_import_cycles():
    found = [c for c in cycles(graph()) if c not in ALLOWED_CYCLES]
    assert not found, f"import cycles in neurorl/: {found}"


def test_no_private_names_across_modules():
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module}.{n}"
        for path in PACKAGE.rglob("*.py")
        for module, names, line in imports(path)
        if module.startswith("neurorl")
        for n in names
        if n.startswith("_") and n != "__version__"
    ]
    assert not bad, f"private names imported across modules: {bad}"


def test_nothing_imports_the_command_line_or_a_framework():
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
        for path in PACKAGE.rglob("*.py")
        if path.name not in ("cli.py", "__main__.py")
        for module, _, line in imports(path)
        if module == "neurorl.cli" or module.split(".")[0] in ("torch", "jax", "tensorflow")
    ]
    assert not bad, bad


def test_modules_are_short():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 600}
    assert not long, f"modules over 600 lines: {long}"
