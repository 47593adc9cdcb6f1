"""The safetensors reader and writer: round trips, and clear errors on truncated or forged files."""

from __future__ import annotations

import json
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from swiftgan.safetensors import load_file, save_file


def write_raw(path: Path, header: dict, data: bytes = b"", length: int | None = None) -> Path:
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded) if length is None else length) + encoded + data)
    return path


def test_round_trip(tmp_path) -> None:
    tensors = {
        "weight": np.arange(12, dtype=np.float32).reshape(3, 4),
        "scalar": np.array(2.5, np.float64),
        "steps": np.array([1, 2], np.int64),
        "empty": np.zeros((0, 3), np.float32),
        "mask": np.array([True, False]),
        "transposed": np.arange(6, dtype=np.float32).reshape(2, 3).T,
        "big_endian": np.arange(3, dtype=">f4"),
    }
    path = tmp_path / "model.safetensors"
    save_file(tensors, path, {"config": "{}"})
    loaded, metadata = load_file(path)
    assert metadata == {"config": "{}"}
    assert set(loaded) == set(tensors)
    for name, array in tensors.items():
        assert loaded[name].shape == array.shape and loaded[name].dtype == array.dtype.newbyteorder("=")
        np.testing.assert_array_equal(loaded[name], array)
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temporary file left behind
    header_length = struct.unpack("<Q", path.read_bytes()[:8])[0]
    assert header_length % 8 == 0
    offsets = json.loads(path.read_bytes()[8 : 8 + header_length])
    for name, array in tensors.items():  # every tensor starts at a multiple of its item size
        assert offsets[name]["data_offsets"][0] % array.dtype.itemsize == 0


def test_save_replaces_atomically_and_validates(tmp_path) -> None:
    path = tmp_path / "x.safetensors"
    save_file({"a": np.zeros(2, np.float32)}, path)
    save_file({"b": np.ones(3, np.float32)}, path)
    assert set(load_file(path)[0]) == {"b"}
    with pytest.raises(TypeError, match="unsupported dtype"):
        save_file({"c": np.zeros(2, np.complex64)}, path)
    with pytest.raises(TypeError, match="numpy array"):
        save_file({"c": [1.0]}, path)
    with pytest.raises(TypeError, match="metadata"):
        save_file({}, path, {"k": 1})
    assert set(load_file(path)[0]) == {"b"}  # failed saves leave the old file intact


F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize(
    "header, data, length, message",
    [
        ({"a": F32}, b"\0" * 4, None, "offsets"),  # truncated data
        ({"a": F32}, b"\0" * 8, 10**6, "header length"),  # header length beyond the file
        ({"a": F32}, b"\0" * 12, None, "cover 8 of 12"),  # trailing bytes
        ({"a": {**F32, "dtype": "X9"}}, b"\0" * 8, None, "unsupported dtype"),
        ({"a": {**F32, "shape": [3]}}, b"\0" * 8, None, "needs 12 bytes"),
        ({"a": {**F32, "shape": [-2]}}, b"\0" * 8, None, "shape"),
        ({"a": {**F32, "data_offsets": [8, 0]}}, b"\0" * 8, None, "offsets"),
        ({"a": F32, "b": F32}, b"\0" * 8, None, "gap or overlap"),
        ({"a": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, None, "keys"),
        ({"__metadata__": {"k": 1}}, b"", None, "__metadata__"),
        ([1, 2], b"", None, "JSON object"),
    ],
)
def test_load_rejects_corrupt_files(tmp_path, header, data, length, message) -> None:
    path = write_raw(tmp_path / "bad.safetensors", header, data, length)
    with pytest.raises(ValueError, match=message):
        load_file(path)


def test_load_rejects_short_and_non_json_files(tmp_path) -> None:
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\1\0")
    with pytest.raises(ValueError, match="shorter than"):
        load_file(short)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(struct.pack("<Q", 4) + b"\xff{x}")
    with pytest.raises(ValueError, match="not JSON"):
        load_file(garbage)
    duplicate = tmp_path / "duplicate.safetensors"
    entry = b'{"dtype":"F32","shape":[0],"data_offsets":[0,0]}'
    encoded = b'{"a":' + entry + b',"a":' + entry + b'}'
    duplicate.write_bytes(struct.pack("<Q", len(encoded)) + encoded)
    with pytest.raises(ValueError, match="duplicate"):
        load_file(duplicate)
    with pytest.raises(OSError):
        load_file(tmp_path / "missing.safetensors")


def test_load_reads_whole_files_into_writable_arrays_and_pipes_too(tmp_path) -> None:
    expected = {"a": np.arange(3, dtype=np.float32), "b": np.ones((2, 2), np.float64)}
    save_file(expected, tmp_path / "x.safetensors")
    loaded, _ = load_file(tmp_path / "x.safetensors")
    assert all(array.flags.writeable for array in loaded.values())  # arrays the caller may change in place
    fifo = tmp_path / "pipe"  # a file whose size is not known before it is read
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes((tmp_path / "x.safetensors").read_bytes()))
    writer.start()
    piped, _ = load_file(fifo)
    writer.join()
    for name, array in expected.items():
        np.testing.assert_array_equal(loaded[name], array)
        np.testing.assert_array_equal(piped[name], array)
