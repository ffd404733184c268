"""The one device registry: every place that runs a :class:`~neurorl.network.Network` picks its
backend here, by name (after Brian2's ``all_devices`` / ``set_device`` / ``reset_device``).

==============  =============================================================  =====  ==========
name            what runs the network                                          batch  closed loop
==============  =============================================================  =====  ==========
kernel          neurorl's numpy kernel (derived from Brian2, no Brian2 at run)  yes    yes
runtime         Brian2 runtime code generation, ``target`` numpy or cython     yes    yes
cpp_standalone  Brian2 C++ standalone (one build and run per batch)             yes    no
nc64c           the chip model, a Brian2 device (:mod:`neurorl.hardware.device`) yes    yes
genn            Brian2GeNN (GeNN on a GPU, or its CPU-only mode)                yes    no
cuda            Brian2CUDA (``cuda_standalone``, needs nvcc and a GPU)          yes    no
==============  =============================================================  =====  ==========

:func:`use` selects a Brian2 device for the objects built and run inside it and restores the
previous device and code-generation target afterwards; standalone devices cannot call Python
during a run, so only batch work (:func:`~neurorl.sim.batch.run_batch`) runs there. A device
whose package is missing raises :class:`~neurorl.optional.OptionalDependencyError` with the
install command at first use; an unknown name lists the known ones.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from neurorl import NeurorlError
from neurorl.optional import require
from neurorl.sim.genn import INSTALL as GENN_INSTALL

__all__ = ["DEVICES", "Device", "DeviceError", "get", "names", "use"]


class DeviceError(NeurorlError, ValueError):
    """An unknown device name, or a device asked for what it cannot do."""


@dataclass(frozen=True)
class Device:
    """One entry of the registry.

    ``brian2_name``: the name Brian2's ``set_device`` knows (None for the kernel);
    ``standalone``: the run is built and executed as a whole (no Python during a run);
    ``module``: the package that registers the Brian2 device, imported at first use, with
    ``install`` the command that installs it; ``schedule``: the one network schedule the device
    can run (:attr:`Network.schedule <neurorl.network.Network>`; None: any).
    """

    name: str
    description: str
    brian2_name: str | None
    standalone: bool = False
    module: str | None = None
    install: str = ""
    schedule: str | None = None

    @property
    def closed_loop(self) -> bool:
        """Whether a closed loop (Python stepping the environment during the run) can run here."""
        return not self.standalone


DEVICES: dict[str, Device] = {
    d.name: d
    for d in (
        Device("kernel", "neurorl's numpy kernel (no Brian2 at run time)", None),
        Device("runtime", "Brian2 runtime code generation (target numpy or cython)", "runtime"),
        Device("cpp_standalone", "Brian2 C++ standalone", "cpp_standalone", standalone=True),
        Device("nc64c", "the nc64c chip model (counts events, prices latency and energy)",
               "nc64c", module="neurorl.hardware.device"),
        Device("genn", "Brian2GeNN (GeNN 4.x; the GPU when CUDA finds one, else CPU-only)",
               "genn", standalone=True, module="brian2genn", install=GENN_INSTALL,
               schedule="genn"),
        Device("cuda", "Brian2CUDA (cuda_standalone; needs nvcc and an NVIDIA GPU)",
               "cuda_standalone", standalone=True, module="brian2cuda",
               install="pip install brian2cuda (pins brian2==2.8.0; its own venv, on a machine "
               "with nvcc and a GPU)"),
    )
}


_GENN_PREFS = (
    "core.network.default_schedule",
    "codegen.loop_invariant_optimisations",
    "codegen.generators.cpp.restrict_keyword",
)


def names() -> list[str]:
    """The registered device names."""
    return list(DEVICES)


def get(name: str) -> Device:
    """The registry entry ``name``; an unknown name is a :class:`DeviceError` listing the known."""
    try:
        return DEVICES[name]
    except KeyError:
        raise DeviceError(f"unknown device {name!r}; known: {', '.join(DEVICES)}") from None


@contextlib.contextmanager
def use(
    name: str,
    *,
    target: str | None = None,
    directory: str | None = None,
    build_options: dict | None = None,
    **options,
) -> Iterator[Callable[[], None]]:
    """Select Brian2 device ``name`` for what is built and run inside the ``with`` block.

    Yields ``build()``: call it after ``run()`` (nothing to do on a runtime device; a standalone
    device compiles and runs its project there, in ``directory`` or a temporary folder, with
    ``build_options``). ``target`` is the runtime code-generation target (``numpy`` or
    ``cython``; None keeps the current one); ``options`` go to Brian2's ``set_device`` (e.g.
    ``profile="loihi"`` for ``nc64c``). The previous device and target are restored on exit,
    also after an error.
    """
    import brian2
    from brian2.devices.device import reset_device, runtime_device

    device = get(name)
    if device.brian2_name is None:
        raise DeviceError(f"{name!r} is not a Brian2 device; run_batch(device={name!r}) runs it")
    if device.module is not None:
        require(device.module, f"the {name!r} device", device.install or "see its docs")
    if name == "genn":  # GeNN's folder, GPU or CPU-only: checked before anything is built
        from neurorl.sim import genn

        build_options = {**genn.prepare(), **(build_options or {})}
    old_target = brian2.prefs.codegen.target
    # Brian2GeNN's activate() sets its own schedule and codegen prefs for the whole process
    kept = {k: brian2.prefs[k] for k in _GENN_PREFS} if name == "genn" else {}
    if target is not None:
        brian2.prefs.codegen.target = target
    switch = device.brian2_name != "runtime" or brian2.get_device() is not runtime_device
    tmp = None
    if device.standalone and directory is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"neurorl_{name}_")
        directory = tmp.name
    # Brian2GeNN builds inside run() (it refuses code objects queued before a finished run)
    on_run = name == "genn"
    try:
        if device.standalone:
            brian2.set_device(device.brian2_name, directory=directory, build_on_run=on_run,
                              **({**(build_options or {}), **options} if on_run else options))
        elif switch:
            brian2.set_device(device.brian2_name, **options)

        def build() -> None:
            if device.standalone and not on_run:
                brian2.device.build(directory=directory, compile=True, run=True,
                                    **(build_options or {}))

        yield build
    finally:
        if device.standalone:
            brian2.device.reinit()
            brian2.device.activate()
        if device.standalone or switch:
            reset_device()
        brian2.prefs.codegen.target = old_target
        for key, value in kept.items():
            brian2.prefs[key] = value
        if tmp is not None:
            tmp.cleanup()
