"""GeNN through Brian2GeNN: where GeNN is, whether a GPU can run it, what its schedule allows.

The ``genn`` entry of :mod:`neurorl.sim.devices` calls :func:`prepare` before it selects
Brian2GeNN's device, so every batch path (:func:`~neurorl.sim.batch.run_batch`,
``neurorl convert --backend genn``, ``neurorl energy --backend genn --no-quantize``) finds GeNN
the same way:

* GeNN 4.x (>= 4.2.1; Brian2GeNN 1.7.0 does not know GeNN 5) at Brian2's preference
  ``devices.genn.path``, else ``$GENN_PATH``, else ``<venv>/genn`` (what ``make genn-env``
  unpacks). A user without it: ``git clone -b 4.9.0 https://github.com/genn-team/genn`` and
  ``GENN_PATH=<that folder>``, or ``make genn-env GENN_PATH=<that folder>``.
* The GPU (GeNN's CUDA backend) when a CUDA toolkit (``$CUDA_PATH``, ``/usr/local/cuda`` or
  ``nvcc`` on the ``PATH``) *and* an NVIDIA GPU (``nvidia-smi -L``) are found; GeNN's CPU-only
  backend otherwise. :func:`prepare` prints which one runs.

GeNN runs a time step in a fixed order, Brian2GeNN's: ``run_regularly`` operations (the input
feed) on the host, then GeNN's synapse update (the ``on_pre`` effects of the spikes of the
*previous* step, into a per-neuron input buffer, and every summed variable), then each neuron
group (the buffer added to its target variable, the state update, the threshold, the reset).
That is the network schedule ``"genn"`` (:class:`~neurorl.network.Network`), which the kernel
follows too; Brian2's default schedule and ``"aligned"`` cannot be expressed there
(:func:`check_network` says so). Brian2GeNN's other limits (one ``run`` per build, ``TimedArray``
only inside ``run_regularly``, one summed variable per ``Synapses``, no linked variables, one
clock, no custom ``when``/``order``, no heterogeneous delays) are met by
:meth:`~neurorl.network.Network.to_brian2` for every network neurorl builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from neurorl.optional import OptionalDependencyError

__all__ = ["INSTALL", "check_network", "cuda_available", "genn_path", "in_flight", "prepare"]

INSTALL = (
    "`make genn-env` (a .venv-genn with brian2genn==1.7.0, brian2<2.6, numpy<2 and GeNN 4.9.0 "
    "from ../shared/vendor, GENN_SRC=<tarball or folder> or GENN_PATH=<folder>); GeNN itself: "
    "git clone -b 4.9.0 https://github.com/genn-team/genn and set GENN_PATH to that folder"
)


def genn_path() -> Path | None:
    """The GeNN 4.x source folder Brian2GeNN will use, or None when none is found."""
    candidates = []
    try:
        import brian2

        candidates.append(brian2.prefs["devices.genn.path"])
    except (ImportError, KeyError):
        pass
    candidates += [os.environ.get("GENN_PATH"), Path(sys.prefix) / "genn"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "bin" / "genn-buildmodel.sh").exists():
            return Path(candidate).resolve()
    return None


def _version(path: Path) -> tuple[int, ...]:
    try:
        text = (path / "version.txt").read_text().strip()
        return tuple(int(part) for part in text.split(".")[:3])
    except (OSError, ValueError):
        return ()


def cuda_available() -> bool:
    """Whether GeNN's CUDA backend can run here: a CUDA toolkit and at least one NVIDIA GPU."""
    cuda = os.environ.get("CUDA_PATH") or "/usr/local/cuda"
    toolkit = (Path(cuda) / "bin" / "nvcc").exists() or shutil.which("nvcc") is not None
    smi = shutil.which("nvidia-smi")
    if not (toolkit and smi):
        return False
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return listed.returncode == 0 and "GPU" in listed.stdout


def prepare(use_gpu: bool | None = None, quiet: bool = False) -> dict:
    """Check that Brian2GeNN and GeNN are there, point Brian2 at GeNN, choose GPU or CPU.

    ``use_gpu``: None picks the GPU when :func:`cuda_available` (``NEURORL_GENN_GPU=0`` or
    ``1`` decides instead), else GeNN's CPU-only mode.
    Returns the build options for ``brian2.device.build`` (``use_GPU``, ``with_output``).
    Missing Brian2GeNN or GeNN is one :class:`~neurorl.optional.OptionalDependencyError` that
    says how to install them, raised before anything is built.
    """
    try:
        import brian2genn  # noqa: F401  (registers the 'genn' device)
    except ImportError as err:
        raise OptionalDependencyError(
            "the 'genn' device needs the optional package 'brian2genn', which is not installed "
            f"here; install it with: {INSTALL}"
        ) from err
    import brian2

    path = genn_path()
    if path is None:
        raise OptionalDependencyError(
            "the 'genn' device needs GeNN 4.x, and none was found (devices.genn.path, "
            f"$GENN_PATH, {Path(sys.prefix) / 'genn'}); install it with: {INSTALL}"
        )
    version = _version(path)
    if not (4, 2, 1) <= version < (5,):
        found = ".".join(map(str, version)) or "unknown"
        raise OptionalDependencyError(
            f"the 'genn' device needs GeNN >= 4.2.1 and < 5 (Brian2GeNN 1.7.0); {path} holds "
            f"version {found}; install it with: {INSTALL}"
        )
    brian2.prefs["devices.genn.path"] = str(path)
    _double_clip()
    if use_gpu is None and os.environ.get("NEURORL_GENN_GPU") in ("0", "1"):
        use_gpu = os.environ["NEURORL_GENN_GPU"] == "1"
    gpu = cuda_available() if use_gpu is None else bool(use_gpu)
    if gpu and "CUDA_PATH" not in os.environ:
        os.environ["CUDA_PATH"] = "/usr/local/cuda"
    if not quiet:
        where = "CUDA (GPU)" if gpu else "CPU-only (no CUDA GPU found)" if use_gpu is None \
            else "CPU-only"
        print(f"genn: GeNN {'.'.join(map(str, version))} at {path}, {where}", flush=True)
    return {"use_GPU": gpu, "with_output": False}


_CLIP = """
SUPPORT_CODE_FUNC double _clip(const double value, const double a_min, const double a_max)
{
    if (value < a_min)
        return a_min;
    if (value > a_max)
        return a_max;
    return value;
}
"""


def _double_clip() -> None:
    """Brian2GeNN 1.7.0 declares ``clip`` with ``float`` arguments, which rounds every clipped
    value (GRSN's gates, ReLU units) to single precision; give GeNN the double one Brian2's
    C++ targets use, so that float64 runs equal the kernel."""
    from brian2.core.functions import DEFAULT_FUNCTIONS
    from brian2genn.genn_generator import GeNNCodeGenerator

    DEFAULT_FUNCTIONS["clip"].implementations.add_implementation(
        GeNNCodeGenerator, code=_CLIP, name="_clip"
    )


def check_network(net) -> None:
    """Refuse, with one clear message, a network GeNN's fixed schedule cannot run exactly.

    ``net`` is a :class:`~neurorl.network.Network`; it must have ``schedule="genn"``.
    """
    from neurorl.network import NetworkError

    if net.schedule == "genn":
        return
    if net.schedule == "aligned":
        raise NetworkError(
            "GeNN cannot run schedule 'aligned' (layer after layer within one step needs an "
            "explicit when/order per object, and Brian2GeNN's schedule is fixed: a spike or a "
            "summed value crosses one layer per step there); run it on runtime or "
            "cpp_standalone"
        )
    raise NetworkError(
        f"GeNN runs schedule 'genn' only (its fixed order delivers a spike's on_pre effect at "
        f"the start of the next step, before the state update and reset), and this network has "
        f"schedule {net.schedule!r}; run net.with_schedule('genn') (its kernel gives the same "
        "spikes as GeNN)"
    )


def in_flight(net, result, layer: str, variable: str) -> np.ndarray:
    """What the spikes of the last step still carry to ``variable`` of ``layer`` (B, n).

    Under schedule "genn" the ``on_pre`` effects of a step's spikes arrive in the next step,
    so at the end of a run those of the last step are in flight; adding this to the final
    state gives what Brian2's default schedule holds there. ``net``: the
    :class:`~neurorl.network.Network` run; ``result``: its
    :class:`~neurorl.sim.batch.BatchResult` with ``record="all"``.
    """
    total = np.zeros_like(result.final[layer][variable])
    for conn in net.connections:  # from spiking layers (what a converted readout receives)
        if conn.post.name == layer and conn.target == variable and conn.coupling == "event" \
                and not conn.pre.is_input:
            total += result.spikes[conn.pre.name][-1] @ conn.dense(net.params[conn.key])
    return total
