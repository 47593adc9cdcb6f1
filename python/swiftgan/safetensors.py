"""A pure-numpy reader and writer of the safetensors format.

A file is an 8-byte little-endian header length ``n``, ``n`` bytes of JSON header, then the raw
little-endian tensor data. The header maps each tensor name to ``{"dtype", "shape", "data_offsets": [begin,
end]}`` (offsets relative to the data section) and may hold ``"__metadata__"``, a str -> str dict. Loading
checks every length, offset and dtype, so a truncated or forged file raises ``ValueError`` rather than
returning garbage; writing goes through a temporary file, fsync and rename, so a crash never leaves a torn
file behind.

Why not the ``safetensors`` package: measured on a 411 MB checkpoint, its numpy reader was about 0.1 s faster but
held twice the memory at its peak (785 MB against 392), and its errors are less precise (no file name, one message
for truncated and overlong files, an exception that is not a ValueError); it also loads a header with duplicate
tensor names, which this reader refuses. Keeping this validation in front of it would leave it only the copy.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["load_file", "save_file"]

_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {(dtype.kind, dtype.itemsize): name for name, dtype in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024
"""The largest header accepted (as the reference implementation)."""

Metadata = dict[str, str]


def _corrupt(path: str | os.PathLike, message: str) -> ValueError:
    """The ValueError for a malformed file, naming the file."""
    return ValueError(f"{os.fspath(path)}: not a valid safetensors file: {message}")


def _parse_entry(path: str | os.PathLike, name: str, entry: object, data_size: int) -> tuple[np.dtype, tuple, int, int]:
    """Checks one header entry; returns (dtype, shape, begin, end)."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _corrupt(path, f"tensor {name!r} must have exactly the keys dtype, shape, data_offsets")
    dtype_name, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype_name not in _DTYPES:
        raise _corrupt(path, f"tensor {name!r} has unsupported dtype {dtype_name!r}")
    if not isinstance(shape, list) or not all(type(dim) is int and dim >= 0 for dim in shape):
        raise _corrupt(path, f"tensor {name!r} has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(offset) is int for offset in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise _corrupt(path, f"tensor {name!r} has data offsets {offsets!r} outside the {data_size}-byte data section")
    dtype = _DTYPES[dtype_name]
    expected = math.prod(shape) * dtype.itemsize
    if offsets[1] - offsets[0] != expected:
        raise _corrupt(
            path, f"tensor {name!r} of shape {shape} and dtype {dtype_name} needs {expected} bytes, "
            f"its offsets span {offsets[1] - offsets[0]}"
        )
    return dtype, tuple(shape), offsets[0], offsets[1]


def _read(path: str | os.PathLike) -> bytearray:
    """The whole file in one writable buffer, read straight into it: ``bytearray(file.read())`` would hold the file
    twice at its peak (the bytes read, then their copy)."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        content = bytearray(size)
        del content[file.readinto(content):]  # a file that shrank since fstat
        rest = file.read()  # a file that grew, or one whose size fstat does not give (a pipe)
    if rest:
        content += rest
    return content


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object hook that rejects duplicate keys (a forged header could hide a tensor behind one)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate keys in a JSON object")
    return result


def load_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], Metadata]:
    """Reads a safetensors file: returns ``(tensors, metadata)``, the arrays in native byte order.

    Raises ``OSError`` if the file cannot be read and ``ValueError`` if it is truncated, has a malformed
    header, overlapping or out-of-range offsets, or a dtype other than F64, F32, F16, I64, I32, I16, I8,
    U64, U32, U16, U8 and BOOL.
    """
    content = _read(path)
    if len(content) < 8:
        raise _corrupt(path, f"{len(content)} bytes is shorter than the 8-byte header length")
    header_size = int.from_bytes(content[:8], "little")
    if header_size > _MAX_HEADER or 8 + header_size > len(content):
        raise _corrupt(path, f"header length {header_size} exceeds the file ({len(content)} bytes)")
    try:
        header = json.loads(content[8 : 8 + header_size].decode("utf-8"), object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as error:  # also UnicodeDecodeError and json.JSONDecodeError
        raise _corrupt(path, f"header is not JSON ({type(error).__name__}: {error})") from None
    if not isinstance(header, dict):
        raise _corrupt(path, "header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _corrupt(path, "__metadata__ must map str to str")
    data = memoryview(content)[8 + header_size :]
    entries = {name: _parse_entry(path, name, entry, len(data)) for name, entry in header.items()}
    position = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda item: item[1][2:]):
        if begin != position:
            raise _corrupt(path, f"tensor {name!r} starts at byte {begin}, expected {position} (gap or overlap)")
        position = end
    if position != len(data):
        raise _corrupt(path, f"the tensors cover {position} of {len(data)} data bytes")
    tensors = {
        name: np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=False)
        for name, (dtype, shape, begin, end) in entries.items()
    }
    return tensors, metadata


def save_file(
    tensors: Mapping[str, np.ndarray], path: str | os.PathLike, metadata: Mapping[str, str] | None = None
) -> None:
    """Writes ``tensors`` (name -> numpy array) and optional str -> str ``metadata`` to ``path`` atomically.

    The data goes to a temporary file in the same directory, which is fsynced and renamed over ``path``;
    the directory is fsynced too.
    """
    if not isinstance(tensors, Mapping):
        raise TypeError(f"save_file: argument 'tensors' must map names to numpy arrays, got {type(tensors).__name__}")
    metadata = dict(metadata or {})
    if not all(isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()):
        raise TypeError("save_file: argument 'metadata' must map str to str")
    header: dict[str, object] = {"__metadata__": metadata} if metadata else {}
    arrays: dict[str, tuple[str, np.ndarray]] = {}
    for name, array in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"save_file: invalid tensor name {name!r}")
        if not isinstance(array, np.ndarray):
            raise TypeError(f"save_file: tensor {name!r} must be a numpy array, got {type(array).__name__}")
        dtype_name = _NAMES.get((array.dtype.kind, array.dtype.itemsize))
        if dtype_name is None:
            raise TypeError(f"save_file: tensor {name!r} has unsupported dtype {array.dtype}")
        arrays[name] = dtype_name, array.astype(_DTYPES[dtype_name], order="C", copy=False)
    # widest dtypes first, so every tensor starts at a multiple of its item size (as the reference writer)
    order = sorted(arrays, key=lambda name: (-arrays[name][1].itemsize, name))
    offset = 0
    for name in order:
        dtype_name, array = arrays[name]
        offsets = [offset, offset + array.nbytes]
        header[name] = {"dtype": dtype_name, "shape": list(array.shape), "data_offsets": offsets}
        offset += array.nbytes
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(len(header_bytes).to_bytes(8, "little"))
            file.write(header_bytes)
            for name in order:
                file.write(arrays[name][1].reshape(-1).view(np.uint8).data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
