"""Per-layer time loops, generated as straight-line Python for one layer's wiring.

The kernel runs each layer over T steps; the work per step is a handful of numpy operations on
(B, n) arrays, so generic bookkeeping (dictionaries, loops over variables, ``zip``) would cost as
much as the arithmetic. :func:`layer_loops` therefore writes, once per model and wiring
(:class:`LayerPlan`), a forward and a backward loop in which every variable is a local name and
every connection a fixed line, around the model's compiled ``advance``/``reset``/``retreat``
functions (:mod:`neurorl.kernel.codegen`).

Within a step the forward loop follows the network's schedule (:attr:`Network.schedule`):

* ``"brian2"`` (Brian2's default): summed variables, state update, threshold, synaptic effects
  of this step's spikes (``on_pre``), reset. An event reaches the next layer's threshold one
  step later, and a summed variable reads the presynaptic state of the previous step.
* ``"aligned"`` (the temporal alignment paradigm, one simulation step per environment step):
  layer by layer in topological order, summed variables (reading the presynaptic layers' state
  at the end of *this* step, the layer's own at the end of the previous one), state update,
  synaptic effects of the presynaptic layers' spikes of this step, threshold, reset. An input
  crosses every layer within the step it arrives in; input spikes are added before the
  threshold test, as in STBP. Recurrent event connections are not allowed there (a layer's own
  spikes of the previous step reach it through a summed connection, as GRSN's gates do).
* ``"genn"`` (GeNN's fixed order, :mod:`neurorl.sim.genn`): synaptic effects of the spikes of the
  *previous* step (the kernel shifts the drive by one step; recurrent ones here), summed
  variables, state update, threshold, reset. The state at the end of a step is the reset's; this
  step's spikes are still in flight, so an input in the step a neuron fires survives a hard reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from neurorl.kernel.codegen import CompiledModel

__all__ = ["LayerPlan", "layer_loops", "spike_vjp_lines", "threshold_reset_lines"]


@dataclass(frozen=True)
class LayerPlan:
    """How one layer is wired, which decides the code of its loops.

    ``ext_summed``/``ext_event``: summed/event targets driven from other layers (arrays (T,B,n));
    ``rec_summed``/``rec_event``: targets of self-connections, one entry per connection, in order;
    ``kept``: state variables whose trajectory is recorded; ``g_ends``: variables that receive
    gradients from outside (downstream summed connections, the loss).
    """

    model: CompiledModel
    ext_summed: tuple[str, ...]
    rec_summed: tuple[str, ...]
    event_vars: tuple[str, ...]
    ext_event: tuple[str, ...]
    rec_event: tuple[str, ...]
    out_var: str | None
    kept: tuple[str, ...]
    for_backward: bool
    smooth: bool
    detach_reset: bool = False
    g_ends: tuple[str, ...] = ()
    g_spike_ext: bool = False
    aligned: bool = False
    genn: bool = False


def layer_loops(plan: LayerPlan):
    """(forward, backward) functions for ``plan`` (backward is None unless ``for_backward``)."""
    return _compile(plan)


@lru_cache(maxsize=256)
def _compile(plan: LayerPlan):
    cm = plan.model
    if plan.genn and getattr(cm, "refractory", None):
        raise ValueError(
            "schedule 'genn' does not model refractoriness yet (Brian2GeNN's conditional write "
            "of on_pre effects); use schedule 'brian2' for refractory models"
        )
    source = _forward_source(plan)
    if plan.for_backward:
        source += "\n\n" + _backward_source(plan)
    namespace = {
        "np": np,
        "advance": cm.advance,
        "reset": cm.reset,
        "reset_vjp": cm.reset_vjp,
        "retreat": cm.retreat,
        "threshold": cm.threshold,
        "threshold_vjp": cm.threshold_vjp,
        "refractory_condition": cm.refractory_condition,
    }
    exec(compile(source, "<neurorl layer loop>", "exec"), namespace)  # noqa: S102
    return namespace["forward"], namespace.get("backward")


def _tuple(names) -> str:
    names = list(names)
    return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


def _forward_source(plan: LayerPlan) -> str:
    cm = plan.model
    P = [f"p{i}" for i in range(len(cm.params))]
    const_summed = [v for v in cm.summed if v not in plan.ext_summed]
    lines = [
        "def forward(T, S, EXT_S, CONST_S, EXT_E, WRS, WRE, P, dt, t0, tt, dtype, shape, prim,"
        " REF):",
        f"    {_tuple(f's_{v}' for v in cm.state)} = S",
    ]
    ref = cm.refractory
    if ref:  # Brian2's lastspike (float64 seconds) and not_refractory, and the period in steps
        lines += ["    s_lastspike, s_nr, ref_steps, dt64 = REF", "    nrs = []", "    nr2s = []"]
    if plan.ext_summed:
        lines.append(f"    {_tuple(f'xs_{v}' for v in plan.ext_summed)} = EXT_S")
    if const_summed:
        lines.append(f"    {_tuple(f'cs_{v}' for v in const_summed)} = CONST_S")
    if plan.ext_event:
        lines.append(f"    {_tuple(f'xe_{v}' for v in plan.ext_event)} = EXT_E")
    if plan.rec_summed:
        lines.append(f"    {_tuple(f'wrs{i}' for i in range(len(plan.rec_summed)))} = WRS")
    if plan.rec_event:
        lines.append(f"    {_tuple(f'wre{i}' for i in range(len(plan.rec_event)))} = WRE")
    if P:
        lines.append(f"    {_tuple(P)} = P")
    for v in plan.kept:
        lines.append(f"    ends_{v} = [s_{v}]")
    if plan.for_backward:
        lines += [f"    upd_{v} = []" for v in cm.state]
        lines += [f"    pre_{v} = []" for v in plan.event_vars]
        lines += [f"    sum_{v} = []" for v in cm.summed]
    if cm.spiking:
        lines += ["    spikes = []", "    hs = []"]
    lines.append("    for k in range(T):")
    body = ["t = tt(t0 + k * dt)"]
    if ref:  # not_refractory at the start of the state update, as Brian2 computes it
        body.append("t64 = t0 + k * dt64")
        if ref == "time":
            body.append("nr = np.floor((t64 - s_lastspike + 1e-3 * dt64) / dt64) >= ref_steps")
        else:
            cond_args = ", ".join([*(f"s_{v}" for v in cm.state), *P, "s_lastspike", "t64"])
            body.append(f"nr = s_nr | ~refractory_condition({cond_args})[0]")
        body += ["nrf = nr.astype(dtype)", "nrs.append(nrf)"]
    for v in cm.summed:
        terms = [f"xs_{v}[k]" if v in plan.ext_summed else f"cs_{v}"]
        terms += [f"s_{plan.out_var} @ wrs{i}" for i, tv in enumerate(plan.rec_summed) if tv == v]
        body.append(f"a_{v} = {' + '.join(terms)}")
        if plan.for_backward:
            body.append(f"sum_{v}.append(a_{v})")
    if plan.genn:  # the previous step's spikes arrive, after the summed reads (drive shifted)
        if plan.rec_event:
            lines.insert(-1, "    spike = np.zeros(shape, dtype)")
        for v in plan.event_vars:
            drive = [f"xe_{v}[k]"] if v in plan.ext_event else []
            drive += [f"spike @ wre{i}" for i, tv in enumerate(plan.rec_event) if tv == v]
            body.append(f"s_{v} = {' + '.join([f's_{v}', *drive])}")
            if plan.for_backward:
                body.append(f"pre_{v}.append(s_{v})")
    args = ", ".join([*(f"s_{v}" for v in cm.state), *(f"a_{v}" for v in cm.summed), *P,
                      *(["nrf"] if ref else []), "dt", "t"])
    outs = [f"u_{v}" for v in cm.state] + (["fired", "h"] if cm.spiking else [])
    body.append(f"{_tuple(outs)} = advance({args})")
    for v, constant in zip(cm.state, cm.constant_updates, strict=True):
        if constant:
            body.append(f"u_{v} = np.full(shape, u_{v}, dtype)")
    # Brian2's conditional write: (unless refractory) variables keep their value while refractory
    body += [f"u_{v} = np.where(nr, u_{v}, s_{v})" for v in cm.refractory_vars]
    if plan.for_backward:
        body += [f"upd_{v}.append(u_{v})" for v in cm.state]
    after = {v: f"u_{v}" for v in cm.state}  # state after the synaptic effects
    spike_lines = []
    if ref:  # no spike while refractory; a spike starts a refractory period
        spike_lines += ["fired = fired & nr", "h = np.where(nr, h, -np.inf)"]
    spike_lines.append("spike = prim(h)" if plan.smooth else "spike = fired.astype(dtype)")
    spike_lines += ["spikes.append(spike)", "hs.append(h)"]
    if ref:
        spike_lines += ["s_lastspike = np.where(fired, t64, s_lastspike)", "nr = nr & ~fired",
                        "nr2s.append(nr.astype(dtype))"]
    if cm.spiking and not plan.aligned:
        body += spike_lines
    for v in () if plan.genn else plan.event_vars:
        drive = []
        if v in plan.ext_event:
            drive.append(f"xe_{v}[k]")
        drive += [f"spike @ wre{i}" for i, tv in enumerate(plan.rec_event) if tv == v]
        if v in cm.refractory_vars:  # synaptic effects skip refractory neurons (conditional write)
            gate = "nrf" if plan.aligned else "nr2s[-1]"
            drive = [f"{gate} * ({' + '.join(drive)})"]
        body.append(f"w_{v} = {' + '.join([f'u_{v}', *drive])}")
        after[v] = f"w_{v}"
        if plan.for_backward:
            body.append(f"pre_{v}.append(w_{v})")
    end, final = threshold_reset_lines(plan, after, P, spike_lines, "1")
    body += end
    body += [f"s_{v} = {final[v]}" for v in cm.state]
    if ref:
        body.append("s_nr = nr")
    body += [f"ends_{v}.append(s_{v})" for v in plan.kept]
    lines += [f"        {line}" for line in body]
    result = {
        "ends": "{" + ", ".join(f"{v!r}: ends_{v}" for v in plan.kept) + "}",
        "final": "{" + ", ".join(f"{v!r}: s_{v}" for v in cm.state) + "}",
        "updated": "{" + ", ".join(f"{v!r}: upd_{v}" for v in cm.state) + "}"
        if plan.for_backward
        else "{}",
        "pre_reset": "{" + ", ".join(f"{v!r}: pre_{v}" for v in plan.event_vars) + "}"
        if plan.for_backward
        else "{}",
        "summed": "{" + ", ".join(f"{v!r}: sum_{v}" for v in cm.summed) + "}"
        if plan.for_backward
        else "{}",
        "spikes": "spikes" if cm.spiking else "None",
        "hs": "hs" if cm.spiking else "None",
        "refractory": "(nrs, nr2s, s_lastspike, s_nr)" if ref else "None",
    }
    lines.append("    return {" + ", ".join(f"{k!r}: {v}" for k, v in result.items()) + "}")
    return "\n".join(lines)


def _backward_source(plan: LayerPlan) -> str:
    cm = plan.model
    P = [f"p{i}" for i in range(len(cm.params))]
    rt_state, rt_summed, rt_learn = cm.retreat_nonzero
    lines = [
        "def backward(T, ENDS, UPD, PRE, SUM, spikes, sg, G_ENDS, G_SPIKE, P, dt, t0, tt, zeros,"
        " WRE_T, WRS_T, G_WRE, G_WRS, G_LEARN, REF):",
    ]
    ref = cm.refractory
    if ref:  # per step: not_refractory at the update, and after the threshold
        lines.append("    nrs, nr2s = REF")
    if P:
        lines.append(f"    {_tuple(P)} = P")
    for v in cm.state:
        lines.append(f"    ends_{v} = ENDS[{v!r}]")
        lines.append(f"    upd_{v} = UPD[{v!r}]")
        lines.append(f"    g_{v} = zeros")
    lines += [f"    pre_{v} = PRE[{v!r}]" for v in plan.event_vars]
    lines += [f"    sum_{v} = SUM[{v!r}]" for v in cm.summed]
    lines += [f"    gx_{v} = G_ENDS[{v!r}]" for v in plan.g_ends]
    if plan.rec_event:
        lines.append(f"    {_tuple(f'wret{i}' for i in range(len(plan.rec_event)))} = WRE_T")
        lines.append(f"    {_tuple(f'gwre{i}' for i in range(len(plan.rec_event)))} = G_WRE")
    if plan.rec_summed:
        lines.append(f"    {_tuple(f'wrst{i}' for i in range(len(plan.rec_summed)))} = WRS_T")
        lines.append(f"    {_tuple(f'gwrs{i}' for i in range(len(plan.rec_summed)))} = G_WRS")
    if cm.learnable:
        lines.append(f"    {_tuple(f'gl{i}' for i in range(len(cm.learnable)))} = G_LEARN")
    lines += [f"    gev_{v} = [None] * T" for v in plan.event_vars]
    lines += [f"    gsm_{v} = [None] * T" for v in cm.summed]
    if plan.genn and plan.rec_event:
        lines.append("    g_spike_next = zeros")
    lines.append("    for k in range(T - 1, -1, -1):")
    body = ["t = tt(t0 + k * dt)"]
    body += [f"g_{v} = g_{v} + gx_{v}[k + 1]" for v in plan.g_ends]
    gw = {v: f"g_{v}" for v in cm.state}  # gradient on the state after the synaptic effects
    # the state the update started from (genn: after the previous step's spikes arrived)
    seen = {
        v: f"{'pre' if plan.genn and v in plan.event_vars else 'ends'}_{v}[k]" for v in cm.state
    }
    if cm.spiking:
        body.append("spike = spikes[k]")
        body.append("g_spike = G_SPIKE[k]" if plan.g_spike_ext else "g_spike = zeros")
        if plan.genn and plan.rec_event:  # this step's spikes arrive in the next step
            body.append("g_spike = g_spike + g_spike_next")
        after = [
            f"pre_{v}[k]" if v in plan.event_vars and not plan.genn else f"upd_{v}[k]"
            for v in cm.state
        ]
        body += spike_vjp_lines(plan, gw, after, P, "sg[k]", "gl{i}", "zeros")
        gd = dict(gw)  # gradient on the synaptic drive: none reaches a refractory neuron
        for v in () if plan.genn else plan.event_vars:
            if v in cm.refractory_vars:
                body.append(f"gd_{v} = {gw[v]} * {'nrs[k]' if plan.aligned else 'nr2s[k]'}")
                gd[v] = f"gd_{v}"
            body.append(f"gev_{v}[k] = {gd[v]}")
        for i, v in enumerate(() if plan.genn else plan.rec_event):
            body.append(f"g_spike = g_spike + {gd[v]} @ wret{i}")
            body.append(f"gwre{i} += spike.T @ {gd[v]}")
        held = {}  # (unless refractory): the update's cotangent, and the identity part
        for v in cm.refractory_vars:
            body.append(f"gh_{v} = {gw[v]}")
            body.append(f"gr_{v} = gh_{v} * nrs[k]")
            held[v] = f"gh_{v} * (1 - nrs[k])"
            gw[v] = f"gr_{v}"
        args = ", ".join(
            [
                *(gw[v] for v in cm.state),
                "zeros" if plan.aligned else "g_spike",
                "sg[k]",
                *(f"upd_{v}[k]" for v in cm.state),
                *(seen[v] for v in cm.state),
                *(f"sum_{v}[k]" for v in cm.summed),
                *P,
                *(["nrs[k]"] if ref else []),
                "dt",
                "t",
            ]
        )
    else:
        held = {}
        for v in () if plan.genn else plan.event_vars:
            body.append(f"gev_{v}[k] = g_{v}")
        args = ", ".join(
            [
                *(f"g_{v}" for v in cm.state),
                *(seen[v] for v in cm.state),
                *(f"sum_{v}[k]" for v in cm.summed),
                *P,
                "dt",
                "t",
            ]
        )
    outs = [
        _tuple(f"gp_{v}" for v in cm.state),
        _tuple(f"ga_{v}" for v in cm.summed),
        _tuple(f"gu{i}" for i in range(len(cm.learnable))),
    ]
    body.append(f"{', '.join(outs)} = retreat({args})")
    for i, nonzero in enumerate(rt_learn):
        if nonzero:
            body.append(f"gl{i} += gu{i}")
    for v, nonzero in zip(cm.state, rt_state, strict=True):
        g = ([f"gp_{v}"] if nonzero else []) + ([held[v]] if v in held else [])
        body.append(f"g_{v} = {' + '.join(g) or 'zeros'}")
    if plan.genn:  # the drive that arrived before the update: previous step's spikes
        body += [f"gev_{v}[k] = g_{v}" for v in plan.event_vars]
        if plan.rec_event:
            terms = [f"g_{v} @ wret{i}" for i, v in enumerate(plan.rec_event)]
            body.append(f"g_spike_next = {' + '.join(terms)}")
            body.append("if k > 0:")
            body += [
                f"    gwre{i} += spikes[k - 1].T @ g_{v}" for i, v in enumerate(plan.rec_event)
            ]
    for v, nonzero in zip(cm.summed, rt_summed, strict=True):
        if not nonzero:
            continue
        body.append(f"gsm_{v}[k] = ga_{v}")
        for i, tv in enumerate(plan.rec_summed):
            if tv == v:
                body.append(f"gwrs{i} += ends_{plan.out_var}[k].T @ ga_{v}")
                body.append(f"g_{plan.out_var} = g_{plan.out_var} + ga_{v} @ wrst{i}")
    lines += [f"        {line}" for line in body]
    events = "{" + ", ".join(f"{v!r}: gev_{v}" for v in plan.event_vars) + "}"
    summed = "{" + ", ".join(f"{v!r}: gsm_{v}" for v in cm.summed) + "}"
    lines.append(f"    return {events}, {summed}")
    return "\n".join(lines)


def threshold_reset_lines(plan: LayerPlan, after: dict, P: list[str], spike_lines: list[str],
                          one: str) -> tuple[list[str], dict]:
    """The end of a forward step, shared by the Python and the compiled loop: under the aligned
    schedule the threshold on the state after the synaptic effects (``after``: variable -> name)
    and ``spike_lines``, then the reset. Returns the statements and each variable's final name;
    ``one`` is the literal 1 of the target."""
    cm = plan.model
    lines = []
    if cm.spiking and plan.aligned:  # the threshold sees this step's synaptic effects
        lines.append(f"fired, h = threshold({', '.join([*(after[v] for v in cm.state), *P])})")
        lines += spike_lines
    final = dict(after)
    if cm.spiking and cm.reset_vars:
        lines.append(f"keep = {one} - spike")
        reset_args = ", ".join(["spike", "keep", *(after[v] for v in cm.state), *P])
        lines.append(f"{_tuple(f'r_{v}' for v in cm.reset_vars)} = reset({reset_args})")
        final.update({v: f"r_{v}" for v in cm.reset_vars})
    return lines, final


def spike_vjp_lines(plan: LayerPlan, gw: dict, after: list[str], P: list[str], sg: str,
                    learn: str, zero: str) -> list[str]:
    """Statements of one backward step from the reset back to the state after the synaptic
    effects: the reset's VJP and, under the aligned schedule, the threshold's. Shared by the
    Python loop and the compiled one (:mod:`neurorl.kernel.compiled`), which differ only in
    their names: ``gw`` maps each state variable to the name of its gradient (updated in place),
    ``after`` names the state the reset saw, ``sg`` the surrogate derivative, ``learn`` a
    learnable parameter's accumulator (``"gl{i}"`` formatted with i) and ``zero`` a zero."""
    cm = plan.model
    lines = []
    rv = dict(zip(("state", "spike", "learn"), cm.reset_vjp_nonzero, strict=False))
    if cm.reset_vars:
        d_state = [f"rd_{v}" for v in cm.state]
        d_learn = [f"rl{i}" for i in range(len(cm.learnable))]
        args = ", ".join([*(gw[v] for v in cm.reset_vars), "spike", *after, *P])
        lines.append(f"{_tuple(d_state)}, (g_spike_reset,), {_tuple(d_learn)} = reset_vjp({args})")
        for v, nonzero in zip(cm.state, rv["state"], strict=True):
            if v in cm.reset_vars:  # the blend's VJP holds the identity part too
                gw[v] = f"rd_{v}" if nonzero else zero
            elif nonzero:
                lines.append(f"gw_{v} = {gw[v]} + rd_{v}")
                gw[v] = f"gw_{v}"
        if rv["spike"][0] and not plan.detach_reset:
            lines.append("g_spike = g_spike + g_spike_reset")
        lines += [f"{learn.format(i=i)} += rl{i}" for i, nz in enumerate(rv["learn"]) if nz]
    if plan.aligned:  # the threshold on the state after the synaptic effects
        t_state, t_learn = cm.threshold_vjp_nonzero
        lines.append(
            f"{_tuple(f'gt_{v}' for v in cm.state)}, "
            f"{_tuple(f'gtl{i}' for i in range(len(cm.learnable)))} = "
            f"threshold_vjp(g_spike, {sg}, {', '.join([*after, *P])})"
        )
        for v, nonzero in zip(cm.state, t_state, strict=True):
            if nonzero:
                lines.append(f"gt2_{v} = {gw[v]} + gt_{v}")
                gw[v] = f"gt2_{v}"
        lines += [f"{learn.format(i=i)} += gtl{i}" for i, nz in enumerate(t_learn) if nz]
    return lines
