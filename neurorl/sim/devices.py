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

from neurorl.optional import require

__all__ = ["DEVICES", "Device", "DeviceError", "get", "names", "use"]


class DeviceError(ValueError):
    """An unknown device name, or a device asked for what it cannot do."""


@dataclass(frozen=True)
class Device:
    """One entry of the registry.

    ``brian2_name``: the name Brian2's ``set_device`` knows (None for the kernel);
    ``standalone``: the run is built and executed as a whole (no Python during a run);
    ``module``: the package that registers the Brian2 device, imported at first use, with
    ``install`` the command that installs it.
    """

    name: str
    description: str
    brian2_name: str | None
    standalone: bool = False
    module: str | None = None
    install: str = ""

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
        Device("genn", "Brian2GeNN (GeNN 4.x; GPU or GeNN's CPU-only mode)", "genn",
               standalone=True, module="brian2genn",
               install="`make genn-env` (brian2genn==1.7.0 with brian2<2.6 and numpy<2 in "
               "their own venv, GeNN 4.x source at GENN_PATH)"),
        Device("cuda", "Brian2CUDA (cuda_standalone; needs nvcc and an NVIDIA GPU)",
               "cuda_standalone", standalone=True, module="brian2cuda",
               install="pip install brian2cuda (pins brian2==2.8.0; its own venv, on a machine "
               "with nvcc and a GPU)"),
    )
}


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
    old_target = brian2.prefs.codegen.target
    if target is not None:
        brian2.prefs.codegen.target = target
    switch = device.brian2_name != "runtime" or brian2.get_device() is not runtime_device
    tmp = None
    if device.standalone and directory is None:
        tmp = tempfile.TemporaryDirectory(prefix=f"neurorl_{name}_")
        directory = tmp.name
    try:
        if device.standalone:
            brian2.set_device(device.brian2_name, directory=directory, build_on_run=False,
                              **options)
        elif switch:
            brian2.set_device(device.brian2_name, **options)

        def build() -> None:
            if device.standalone:
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
        if tmp is not None:
            tmp.cleanup()
