"""Safe checkpoints: named numpy arrays + JSON metadata in one ``.npz``, never pickle.

``save(path, arrays, meta)`` writes a zip archive (readable by ``np.load(path,
allow_pickle=False)``) holding one ``<name>.npy`` per array and a ``__header__.json`` member::

    {"format": "neurorl-checkpoint", "version": 1, "meta": {...},
     "arrays": {name: {"dtype": "<f4", "shape": [...], "sha256": "..."}},
     "header_sha256": "..."}

The write is atomic (temporary file in the same folder, fsync, ``os.replace``), so a reader — or
a run killed mid-write — sees either the old file or the new one. ``load(path)`` checks the zip
CRCs, the header's own checksum, that the members match the header, and every array's dtype,
shape and sha256; any failure raises :class:`CheckpointError` naming the file and the problem.
The checksums detect corruption and accidental edits, not a deliberate forgery.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurorl import NeurorlError

FORMAT = "neurorl-checkpoint"
VERSION = 1
HEADER = "__header__.json"


class CheckpointError(NeurorlError, ValueError):
    """A checkpoint file that cannot be trusted (missing, truncated, corrupt or modified)."""


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for numpy scalars and arrays, tuples, sets and paths."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, default=json_default, separators=(",", ":")).encode()


def array_sha256(a: np.ndarray) -> str:
    """Hex sha256 of an array's bytes in C order (dtype and shape are checked separately)."""
    return hashlib.sha256(np.ascontiguousarray(a).data).hexdigest()


def save(
    path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> Path:
    """Write ``arrays`` (name → ndarray, no object dtype) and JSON-able ``meta`` atomically.

    Returns the path written. Names may contain ``/`` and ``.`` (e.g. ``"q/l0.W"``). Raises
    ``ValueError`` for an object array or a reserved name and ``TypeError`` for meta that JSON
    cannot hold.
    """
    path = Path(path)
    entries: dict[str, dict[str, Any]] = {}
    clean: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        a = np.asarray(value)
        if a.dtype.hasobject:
            raise ValueError(
                f"array {name!r} has object dtype; checkpoints hold numeric arrays only"
            )
        if not name or name + ".npy" == HEADER or name.startswith("__header__"):
            raise ValueError(f"array name {name!r} is reserved or empty")
        clean[name] = a
        entries[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": array_sha256(a)}
    body = {"format": FORMAT, "version": VERSION, "meta": dict(meta), "arrays": entries}
    body = json.loads(_canonical(body))  # normalises tuples/numpy scalars; TypeError if not JSON
    header = dict(body, header_sha256=hashlib.sha256(_canonical(body)).hexdigest())

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for name, a in clean.items():
                    with zf.open(name + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, a, allow_pickle=False)
                zf.writestr(HEADER, json.dumps(header, indent=1, sort_keys=True))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """The verified JSON header of a checkpoint (meta and array table) without reading arrays."""
    path = Path(path)
    with _open_zip(path) as zf:
        return _header(path, zf)


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify a checkpoint written by :func:`save`; returns ``(arrays, meta)``.

    Raises :class:`CheckpointError` (naming ``path`` and what is wrong) for a missing, truncated,
    corrupt or modified file.
    """
    path = Path(path)
    with _open_zip(path) as zf:
        header = _header(path, zf)
        table = header["arrays"]
        members = {n[:-4] for n in zf.namelist() if n != HEADER and n.endswith(".npy")}
        others = [n for n in zf.namelist() if n != HEADER and not n.endswith(".npy")]
        if members != set(table) or others:
            extra = sorted(members - set(table)) + others
            missing = sorted(set(table) - members)
            raise CheckpointError(
                f"{path}: archive members do not match its header "
                f"(missing {missing}, unexpected {extra})"
            )
        arrays: dict[str, np.ndarray] = {}
        for name, info in table.items():
            try:
                with zf.open(name + ".npy") as member:
                    a = np.lib.format.read_array(member, allow_pickle=False)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
                raise CheckpointError(f"{path}: array {name!r} is corrupt ({err})") from err
            if a.dtype.str != info["dtype"] or list(a.shape) != info["shape"]:
                raise CheckpointError(
                    f"{path}: array {name!r} is {a.dtype.str}{list(a.shape)}, "
                    f"the header says {info['dtype']}{info['shape']}"
                )
            if array_sha256(a) != info["sha256"]:
                raise CheckpointError(f"{path}: array {name!r} fails its sha256 check (modified)")
            arrays[name] = a
    return arrays, header["meta"]


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        return zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated or not a zip archive: {err})"
        ) from err


def _header(path: Path, zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        raw = zf.read(HEADER)
    except KeyError as err:
        raise CheckpointError(f"{path}: no {HEADER}; not a neurorl checkpoint") from err
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise CheckpointError(f"{path}: header is corrupt ({err})") from err
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: header is not valid JSON ({err})") from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: header does not describe a {FORMAT} file")
    if header.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: format version {header.get('version')!r}, this neurorl reads {VERSION}"
        )
    claimed = header.pop("header_sha256", None)
    if claimed != hashlib.sha256(_canonical(header)).hexdigest():
        raise CheckpointError(f"{path}: header checksum mismatch (the header was modified)")
    if not isinstance(header.get("arrays"), dict) or not isinstance(header.get("meta"), dict):
        raise CheckpointError(f"{path}: header lacks its 'arrays' or 'meta' table")
    return header
