"""Hardware profiles: every number a chip or processor model uses, with its source.

A profile is a TOML file (shipped ones live in ``neurorl/hardware/profiles/``)::

    name = "nc64c"
    kind = "neuromorphic"                   # or "ann" (CPU/GPU running the DNN)
    description = "..."
    routing = "unicast"                     # settings: plain strings
    [values]
    cores = { value = 64, source = "assumed" }
    e_sop_pj = { value = 10.0, unit = "pJ", source = "assumed (between Darwin3 and Loihi)" }

Every entry of ``[values]`` needs a ``source``: a citation, or a text starting with the word
``assumed``. Reports list which of their figures rest on assumed numbers (:meth:`Profile.assumed`).
Overrides (:func:`load_profile` keyword arguments) replace a value and mark it ``"override"``,
which counts as an assumption.

Keys of a ``neuromorphic`` profile (``*`` optional):

==========================  ====================================================================
cores, mesh_x, mesh_y       cores on the chip; routers on a mesh_x × mesh_y mesh
cores_per_router*           cores sharing one router (default 1; Loihi tiles hold 4)
neurons_per_core            neurons one core holds
fan_in_per_core             distinct presynaptic sources (input axons) one core accepts
synapses_per_core*          synaptic memory entries per core (0 or absent: unlimited)
weight_bits                 signed weight mantissa bits (a power-of-two exponent per connection)
state_bits, state_frac_bits signed state width and fractional bits (LSB = 2**-state_frac_bits)
e_sop_pj                    energy per synaptic operation (pJ)
e_update_pj                 energy per neuron update (pJ)
e_hop_pj                    energy per spike message per router hop (pJ)
e_message_pj*               energy per spike message delivered to a core, independent of distance
static_mw                   static power of the whole chip (mW)
ns_per_X or cycles_per_X    time of X in {sop, update, hop, barrier}; cycles need clock_mhz
clock_mhz*                  core clock (MHz) when times are given in cycles
tick_us*                    a fixed time step (synchronous chips such as TrueNorth): a step lasts
                            max(compute + routing + barrier, tick)
==========================  ====================================================================

Settings (strings) of a neuromorphic profile: ``routing`` (``"unicast"``: one message per
destination core, hops = Manhattan distance between routers; the only model implemented),
``host`` (the ANN profile pricing host-side MACs of analog inputs, default ``"cpu_45nm"``) and
``analog_input`` (``"host"``: W·x of an analog input is computed on the host whenever x changes
and injected as a current; ``"sop"``: each analog input value is a graded event costing one SOP
per synapse per step).

Keys of an ``ann`` profile: ``e_mac_pj``, ``e_add_pj`` (energy per multiply-accumulate and per
add), ``e_read_pj`` (per 32-bit word read for weights and activations); optional
``tdp_w`` and ``peak_flops`` (board power and peak rate: pJ per FLOP = tdp / peak, an upper-level
estimate), ``launch_us`` (fixed time per layer at batch 1), ``e_dram_read_pj``.
"""

from __future__ import annotations

import importlib.resources
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from neurorl import NeurorlError
from neurorl.optional import tomllib

__all__ = ["Profile", "ProfileError", "available_profiles", "load_profile", "profiles_dir"]

_TIMED = ("sop", "update", "hop", "barrier")

_KEYS: dict[str, dict[str, bool]] = {  # key -> required
    "neuromorphic": {
        "cores": True,
        "mesh_x": True,
        "mesh_y": True,
        "cores_per_router": False,
        "neurons_per_core": True,
        "fan_in_per_core": True,
        "synapses_per_core": False,
        "weight_bits": True,
        "state_bits": True,
        "state_frac_bits": True,
        "e_sop_pj": True,
        "e_update_pj": True,
        "e_hop_pj": True,
        "e_message_pj": False,
        "static_mw": True,
        "clock_mhz": False,
        "tick_us": False,
        **{f"ns_per_{op}": False for op in _TIMED},
        **{f"cycles_per_{op}": False for op in _TIMED},
    },
    "ann": {
        "e_mac_pj": True,
        "e_add_pj": True,
        "e_read_pj": True,
        "e_dram_read_pj": False,
        "tdp_w": False,
        "peak_flops": False,
        "launch_us": False,
    },
}
_INTEGER = {
    "cores",
    "mesh_x",
    "mesh_y",
    "cores_per_router",
    "neurons_per_core",
    "fan_in_per_core",
    "synapses_per_core",
    "weight_bits",
    "state_bits",
    "state_frac_bits",
}
_SETTINGS = {
    "neuromorphic": {"routing": ("unicast",), "host": None, "analog_input": ("host", "sop")},
    "ann": {},
}
_DEFAULT_SETTINGS = {
    "neuromorphic": {"routing": "unicast", "host": "cpu_45nm", "analog_input": "host"},
    "ann": {},
}


class ProfileError(NeurorlError, ValueError):
    """A profile file or override that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Profile:
    """A validated hardware profile: numbers with sources, and settings.

    ``values[key]`` is a float (int for counts and bit widths); ``sources[key]`` its citation or
    ``"assumed ..."``. Attribute access reads values (``profile.e_sop_pj``) and settings
    (``profile.routing``).
    """

    name: str
    kind: str
    values: Mapping[str, float]
    sources: Mapping[str, str]
    settings: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    path: str = "<string>"

    def __getattr__(self, key: str):
        values = object.__getattribute__(self, "values")
        if key in values:
            return values[key]
        settings = object.__getattribute__(self, "settings")
        if key in settings:
            return settings[key]
        raise AttributeError(f"profile has no value or setting {key!r}")

    def get(self, key: str, default: float = 0.0) -> float:
        """``values[key]`` or ``default`` when the profile does not give it."""
        return self.values.get(key, default)

    def is_assumed(self, key: str) -> bool:
        """True when ``key``'s source is an assumption or a user override."""
        src = self.sources.get(key, "")
        return src.lower().startswith(("assumed", "override"))

    def assumed(self, keys: list[str] | tuple[str, ...] | None = None) -> list[str]:
        """The keys (of ``keys``, default all) whose numbers are assumed or overridden."""
        keys = list(self.values) if keys is None else [k for k in keys if k in self.values]
        return list(dict.fromkeys(k for k in keys if self.is_assumed(k)))

    def seconds(self, op: str) -> float:
        """Time of one ``op`` (sop, update, hop, barrier) in seconds (0 when not given)."""
        if f"ns_per_{op}" in self.values:
            return self.values[f"ns_per_{op}"] * 1e-9
        if f"cycles_per_{op}" in self.values:
            return self.values[f"cycles_per_{op}"] / (self.values["clock_mhz"] * 1e6)
        return 0.0

    def time_keys(self, op: str) -> list[str]:
        """The profile keys the time of ``op`` is computed from."""
        if f"ns_per_{op}" in self.values:
            return [f"ns_per_{op}"]
        if f"cycles_per_{op}" in self.values:
            return [f"cycles_per_{op}", "clock_mhz"]
        return []

    @property
    def e_flop_pj(self) -> float:
        """pJ per FLOP = board power / peak FLOP/s (ANN profiles with tdp_w and peak_flops)."""
        return self.values["tdp_w"] / self.values["peak_flops"] * 1e12

    def with_values(self, **values: float) -> Profile:
        """A copy with numbers replaced; each replaced number's source becomes ``"override"``."""
        return _override(self, values)

    def to_dict(self) -> dict:
        """JSON-ready description: name, kind, settings, values with sources."""
        return {
            "name": self.name,
            "kind": self.kind,
            "settings": dict(self.settings),
            "values": {k: {"value": v, "source": self.sources[k]} for k, v in self.values.items()},
        }


def profiles_dir() -> Path:
    """The directory of the profiles shipped with neurorl."""
    return Path(str(importlib.resources.files("neurorl.hardware"))) / "profiles"


def available_profiles() -> list[str]:
    """Names of the shipped profiles."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def load_profile(name_or_path: str | os.PathLike | Profile, **overrides: float) -> Profile:
    """Load and validate a profile by name (``"nc64c"``) or path; ``overrides`` replace values.

    Raises :class:`ProfileError` naming the file, line and key for TOML errors, unknown or
    missing keys, values without a source, non-positive or non-integer numbers.
    """
    if isinstance(name_or_path, Profile):
        profile = name_or_path
    else:
        path = _resolve(name_or_path)
        profile = load_text(path.read_text(), str(path))
    if overrides:
        profile = _override(profile, overrides)
    return profile


def load_text(text: str, source: str = "<string>") -> Profile:
    """Load a profile from TOML text (``source`` names it in error messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"{source}: TOML syntax error: {err}") from None
    return _from_data(data, _Lines(text, source), source)


def _from_data(data: dict, where: _Lines, source: str) -> Profile:
    for key in data:
        if key not in {"name", "kind", "description", "values", *_all_settings()}:
            raise ProfileError(f"{where(key)}: unknown key {key!r}")
    kind = data.get("kind")
    if kind not in _KEYS:
        raise ProfileError(f"{where('kind')}: kind must be one of {', '.join(_KEYS)}, got {kind!r}")
    settings = dict(_DEFAULT_SETTINGS[kind])
    for key, allowed in _SETTINGS[kind].items():
        if key in data:
            value = str(data[key])
            if allowed is not None and value not in allowed:
                raise ProfileError(
                    f"{where(key)}: {key} = {value!r} is not supported "
                    f"(choose {', '.join(allowed)})"
                )
            settings[key] = value
    for key in data:
        if key in _all_settings() and key not in _SETTINGS[kind]:
            raise ProfileError(f"{where(key)}: setting {key!r} does not apply to a {kind} profile")
    raw = data.get("values", {})
    if not isinstance(raw, dict):
        raise ProfileError(f"{where('values')}: [values] must be a table")
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for key, entry in raw.items():
        if key not in _KEYS[kind]:
            raise ProfileError(
                f"{where(key)}: unknown key values.{key} for a {kind} profile "
                f"(known: {', '.join(_KEYS[kind])})"
            )
        if not isinstance(entry, dict) or "value" not in entry:
            raise ProfileError(f"{where(key)}: values.{key} needs {{ value = ..., source = ... }}")
        src = str(entry.get("source", "")).strip()
        if not src:
            raise ProfileError(
                f"{where(key)}: values.{key} has no source (cite one, or write \"assumed\")"
            )
        value = entry["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProfileError(f"{where(key)}: values.{key} = {value!r} is not a number")
        if value < 0:
            raise ProfileError(f"{where(key)}: values.{key} = {value} must not be negative")
        if key in _INTEGER:
            if int(value) != value or value < 1:
                raise ProfileError(f"{where(key)}: values.{key} = {value} must be an integer >= 1")
            value = int(value)
        values[key] = value if key in _INTEGER else float(value)
        sources[key] = src
    for key, required in _KEYS[kind].items():
        if required and key not in values:
            raise ProfileError(f"{source}: missing values.{key} (a {kind} profile needs it)")
    if kind == "neuromorphic":
        _check_neuromorphic(values, where)
    elif ("tdp_w" in values) != ("peak_flops" in values):
        raise ProfileError(f"{source}: give both values.tdp_w and values.peak_flops, or neither")
    return Profile(
        name=str(data.get("name", Path(source).stem)),
        kind=kind,
        values=values,
        sources=sources,
        settings=settings,
        description=" ".join(str(data.get("description", "")).split()),
        path=source,
    )


def _check_neuromorphic(values: dict[str, float], where: _Lines) -> None:
    routers = values["mesh_x"] * values["mesh_y"]
    per_router = values.get("cores_per_router", 1)
    if values["cores"] > routers * per_router:
        raise ProfileError(
            f"{where('cores')}: {values['cores']} cores do not fit on a "
            f"{values['mesh_x']}x{values['mesh_y']} mesh with {per_router} cores per router"
        )
    if values["state_frac_bits"] >= values["state_bits"]:
        raise ProfileError(
            f"{where('state_frac_bits')}: state_frac_bits ({values['state_frac_bits']}) must be "
            f"below state_bits ({values['state_bits']})"
        )
    for op in _TIMED:
        ns, cyc = f"ns_per_{op}", f"cycles_per_{op}"
        if ns in values and cyc in values:
            raise ProfileError(f"{where(cyc)}: give {ns} or {cyc}, not both")
        if ns not in values and cyc not in values:
            raise ProfileError(f"{where('values')}: missing values.{ns} or values.{cyc}")
        if cyc in values and "clock_mhz" not in values:
            raise ProfileError(f"{where(cyc)}: {cyc} needs values.clock_mhz")


def _override(profile: Profile, overrides: Mapping[str, float]) -> Profile:
    known = _KEYS[profile.kind]
    values = dict(profile.values)
    sources = dict(profile.sources)
    for key, value in overrides.items():
        if key not in known:
            raise ProfileError(
                f"override {key}={value!r}: unknown key for a {profile.kind} profile "
                f"(known: {', '.join(known)})"
            )
        if key.startswith("cycles_per_"):
            values.pop("ns_per_" + key[len("cycles_per_") :], None)
        if key.startswith("ns_per_"):
            values.pop("cycles_per_" + key[len("ns_per_") :], None)
        values[key] = value
        sources[key] = f"override (was {profile.values.get(key, 'unset')})"
    data = {"name": profile.name, "kind": profile.kind, **profile.settings}
    data["values"] = {k: {"value": v, "source": sources[k]} for k, v in values.items()}
    try:
        new = _from_data(data, _Lines("", profile.path), f"{profile.path} (with overrides)")
    except ProfileError as err:
        raise ProfileError(f"override of {profile.name}: {err}") from None
    return Profile(
        name=profile.name,
        kind=profile.kind,
        values=new.values,
        sources=new.sources,
        settings=new.settings,
        description=profile.description,
        path=profile.path,
    )


def _all_settings() -> set[str]:
    return {k for kind in _SETTINGS.values() for k in kind}


def _resolve(name_or_path: str | os.PathLike) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise ProfileError(f"{candidate}: no such profile file")
        return candidate
    p = profiles_dir() / f"{name_or_path}.toml"
    if p.is_file():
        return p
    raise ProfileError(
        f"unknown profile {str(name_or_path)!r}; available: {', '.join(available_profiles())} "
        "(or give a path to a .toml file)"
    )


class _Lines:
    """``where(key)`` -> ``"file:line"`` of the first line assigning ``key``."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def __call__(self, key: str) -> str:
        pattern = re.compile(rf"^\s*(\[\s*)?{re.escape(key)}\s*(=|\])")
        for n, line in enumerate(self.lines, 1):
            if pattern.match(line):
                return f"{self.source}:{n}"
        return self.source
