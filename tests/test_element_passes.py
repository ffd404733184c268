"""Per-element statements as passes (neurorl.kernel.element_passes): the same numbers as the fused
loop, and applied where the compiled loops need it (GRSN's wide forward), not elsewhere."""

from __future__ import annotations

import numpy as np
from conftest import grsn_stack

from neurorl.kernel import compiled
from neurorl.kernel.element_passes import FUSED_MAX_ARRAYS, element_passes, vectorise

BODY = [
    "s = x[b, i]",
    "a = w[b, i] + 2.0 * s + p[i]",
    "(u, v), (unused,) = f(a, s)",
    "out[b, i] = u * v",
    "s = s + u",  # a scalar read and written again
    "acc[b, i] += s",
    "last[b, i] = v if a > 0 else -v",
]
ARGS = "B, x, w, p, out, acc, last"


def _f(a, s):
    return (np.tanh(a) * s, a - s * s), (None,)


def _run(source: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    arrays = {k: rng.normal(size=shape) for k, shape in
              {"x": (4, 9), "w": (4, 9), "p": (9,), "out": (4, 9), "acc": (4, 9),
               "last": (4, 9)}.items()}
    scope = {"np": np, "f": _f}
    exec(source, scope)
    scope["run"](4, *arrays.values())
    return arrays


def test_passes_equal_the_fused_loop():
    fused = "\n".join([f"def run({ARGS}):", "    n = x.shape[1]", "    for b in range(B):",
                       "        for i in range(n):", *("            " + s for s in BODY)])
    allocs, loops = element_passes(BODY)
    passes = "\n".join([f"def run({ARGS}):", "    n = x.shape[1]", *allocs,
                        "    for b in range(B):", *("        " + s for s in loops)])
    assert "_row_s" in passes and "_row_unused" not in passes  # a value nothing reads is dropped
    assert passes.count("for i in range(n)") == len(BODY)
    a, b = _run(fused, np.random.default_rng(1)), _run(passes, np.random.default_rng(1))
    for key in a:
        np.testing.assert_array_equal(b[key], a[key], err_msg=key)


def test_only_wide_bodies_become_passes():
    def function(width: int) -> str:
        names = [f"a{j}" for j in range(width)]
        body = [f"{name}[b, i] = {name}[b, i] + 1.0" for name in names]
        return "\n".join([f"def run(B, {', '.join(names)}):", "    n = a0.shape[1]",
                          "    for b in range(B):", "        for i in range(n):",
                          *("            " + s for s in body)])

    narrow = function(FUSED_MAX_ARRAYS)
    assert vectorise(narrow) == narrow
    wide = vectorise(function(FUSED_MAX_ARRAYS + 1))
    assert wide.count("for i in range(n)") == FUSED_MAX_ARRAYS + 1


def test_grsn_forward_runs_as_passes():
    net = grsn_stack()
    kernel = net.kernel(loops="compiled")
    layer = net.layers["grsn"]
    source = compiled._module_source(kernel._plan(layer, True),
                                     compiled.vector_params(kernel._param_args(layer)))
    forward = source[source.index("def forward("):source.index("def backward(")]
    assert "_row_" in forward
