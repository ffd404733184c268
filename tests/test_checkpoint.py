"""neurorl.checkpoint: round trip, atomic writes, and refusal of corrupt or modified files."""

import json
import zipfile

import numpy as np
import pytest

from neurorl import checkpoint as ckpt


def sample_arrays():
    rng = np.random.default_rng(0)
    return {
        "q/l0.W": rng.normal(size=(4, 8)).astype(np.float32),
        "q/l0.b": np.zeros(8, np.float32),
        "rb/actions": np.arange(10, dtype=np.int64),
        "flags": np.array([True, False]),
        "scalar": np.array(3.5),
    }


def test_round_trip_preserves_arrays_dtypes_and_meta(tmp_path):
    arrays = sample_arrays()
    meta = {"env": "CartPole-v1", "seed": np.int64(3), "hidden": (64, 64), "big": 2**100}
    path = ckpt.save(tmp_path / "run" / "c.npz", arrays, meta)
    got, got_meta = ckpt.load(path)
    assert set(got) == set(arrays)
    for k, a in arrays.items():
        assert got[k].dtype == a.dtype and got[k].shape == a.shape
        np.testing.assert_array_equal(got[k], a)
    assert got_meta == {"env": "CartPole-v1", "seed": 3, "hidden": [64, 64], "big": 2**100}
    # plain numpy reads it without pickle
    with np.load(path, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["q/l0.W"], arrays["q/l0.W"])
    assert ckpt.read_header(path)["arrays"]["q/l0.W"]["shape"] == [4, 8]
    # no temporary files are left behind
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["c.npz"]


def test_overwrite_is_atomic_replacement(tmp_path):
    path = tmp_path / "c.npz"
    ckpt.save(path, {"a": np.zeros(3)}, {"step": 1})
    ckpt.save(path, {"a": np.ones(3)}, {"step": 2})
    arrays, meta = ckpt.load(path)
    assert meta["step"] == 2 and arrays["a"].sum() == 3


def test_object_arrays_and_bad_meta_are_refused(tmp_path):
    with pytest.raises(ValueError, match="object dtype"):
        ckpt.save(tmp_path / "c.npz", {"a": np.array([{}, 1], dtype=object)}, {})
    with pytest.raises(TypeError, match="not JSON serialisable"):
        ckpt.save(tmp_path / "c.npz", {"a": np.zeros(1)}, {"f": object()})
    assert not list(tmp_path.iterdir())


def test_missing_file(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="no such checkpoint"):
        ckpt.load(tmp_path / "nope.npz")


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated_file_is_refused(tmp_path, keep):
    path = ckpt.save(tmp_path / "c.npz", sample_arrays(), {"step": 1})
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ckpt.CheckpointError, match=str(path.name)):
        ckpt.load(path)


def test_flipped_byte_in_array_data_is_refused(tmp_path):
    arrays = {"w": np.arange(1000, dtype=np.float32)}
    path = ckpt.save(tmp_path / "c.npz", arrays, {})
    data = bytearray(path.read_bytes())
    i = data.find(np.arange(1000, dtype=np.float32)[500:502].tobytes())
    assert i > 0
    data[i] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match=r"c\.npz.*'w'"):
        ckpt.load(path)


def rewrite_member(path, member, transform):
    """Rewrite one member of the zip (with correct CRCs): what an editor or a bad tool would do."""
    with zipfile.ZipFile(path) as zf:
        items = [(n, zf.read(n)) for n in zf.namelist()]
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in items:
            zf.writestr(n, transform(data) if n == member else data)


def test_tampered_header_is_refused(tmp_path):
    path = ckpt.save(tmp_path / "c.npz", sample_arrays(), {"step": 100})

    def edit(data):
        header = json.loads(data)
        header["meta"]["step"] = 5
        return json.dumps(header).encode()

    rewrite_member(path, ckpt.HEADER, edit)
    with pytest.raises(ckpt.CheckpointError, match="header checksum mismatch"):
        ckpt.load(path)


def test_replaced_array_is_refused(tmp_path):
    path = ckpt.save(tmp_path / "c.npz", {"w": np.zeros(4, np.float32)}, {})

    def swap(_):
        import io

        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.ones(4, np.float32))
        return buf.getvalue()

    rewrite_member(path, "w.npy", swap)
    with pytest.raises(ckpt.CheckpointError, match="sha256"):
        ckpt.load(path)


def test_plain_npz_without_header_is_refused(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.zeros(2))
    with pytest.raises(ckpt.CheckpointError, match="not a neurorl checkpoint"):
        ckpt.load(path)
