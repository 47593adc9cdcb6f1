"""Reading PyTorch checkpoints without PyTorch, and without running code from them.

``torch.save`` writes a zip archive holding a pickle (``data.pkl``) and one raw buffer per storage
(``data/<key>``). A pickle can name any Python callable, so loading an untrusted one with :mod:`pickle` runs
arbitrary code. :func:`load_torch_state_dict` instead unpickles with an allow-list: only the handful of globals
that rebuild tensors and ordered dicts resolve, and they resolve to numpy stand-ins written here. Anything else
raises :class:`pickle.UnpicklingError` before it can run.
"""
from __future__ import annotations

import collections
import math
import os
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

#: Storage classes PyTorch pickles by name, and the numpy dtype of their bytes.
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16, "BFloat16Storage": np.uint16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_MAX_BYTES = 1 << 31
"""The largest storage accepted: no checkpoint this library reads holds a tensor near 2 GiB."""
_MAX_RATIO = 100
"""The largest compression ratio accepted for a storage member (torch.save stores them uncompressed): a forged
archive cannot inflate a few kilobytes into gigabytes."""
_MAX_BROADCAST = 1 << 20
"""Elements a tensor may have beyond its storage's (a stride-0, expanded view), so a forged view cannot turn a few
bytes of storage into gigabytes."""


class _StorageType:
    """Stand-in for a ``torch.<X>Storage`` class named in the pickle."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name]).newbyteorder("<")


def _rebuild_tensor(storage: np.ndarray, storage_offset: int, size, stride, *_ignored) -> np.ndarray:
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: a contiguous copy of the strided view, bounds-checked."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride) or storage_offset < 0:
        raise pickle.UnpicklingError(f"invalid tensor geometry: size {size}, stride {stride}, offset {storage_offset}")
    if math.prod(size) > max(storage.size, _MAX_BROADCAST):
        raise pickle.UnpicklingError(f"tensor of size {size} has more elements than its storage of {storage.size}")
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    if not size:  # a 0-d tensor (as_strided would not keep the empty shape)
        if storage_offset >= storage.size:
            raise pickle.UnpicklingError(f"scalar at offset {storage_offset} is past its storage of {storage.size} "
                                         "values")
        return np.array(storage[storage_offset])
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= storage.size:
        raise pickle.UnpicklingError(f"tensor of size {size} and stride {stride} reads past its storage of "
                                     f"{storage.size} values")
    view = np.lib.stride_tricks.as_strided(storage[storage_offset:], shape=size,
                                           strides=tuple(s * storage.itemsize for s in stride), writeable=False)
    return np.ascontiguousarray(view)


def _rebuild_parameter(data: np.ndarray, *_ignored) -> np.ndarray:
    """Stand-in for ``torch._utils._rebuild_parameter``: a parameter is its data."""
    return data


class _RestrictedUnpickler(pickle._Unpickler):
    """Resolves only tensor-rebuilding globals; storages are read from the archive by key.

    The pure-Python unpickler, not the C one: the C unpickler's memo is an array indexed by the pickle's PUT
    opcodes, so a forged ``LONG_BINPUT 2000000000`` makes it allocate (and zero) gigabytes; the Python one keeps a
    dict. The pickle of a state dict is a few kilobytes (the tensor data lives in the archive's other members), so
    the speed difference does not matter."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self.archive, self.prefix = archive, prefix
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load global '{module}.{name}': only tensor data is allowed "
                                     "in a checkpoint (the pickle tried to call something else)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if key not in self.storages:
            member = f"{self.prefix}data/{key}"
            try:
                info = self.archive.getinfo(member)
            except KeyError:
                raise pickle.UnpicklingError(f"storage '{key}' is missing from the archive") from None
            nbytes = int(numel) * storage_type.dtype.itemsize
            if not 0 <= nbytes <= _MAX_BYTES or info.file_size != nbytes:
                raise pickle.UnpicklingError(f"storage '{key}' holds {info.file_size} bytes, expected {nbytes} "
                                             f"({numel} x {storage_type.name}, at most {_MAX_BYTES})")
            if nbytes > _MAX_RATIO * max(info.compress_size, 1 << 16):
                raise pickle.UnpicklingError(f"storage '{key}' inflates {info.compress_size} bytes to {nbytes}: "
                                             "refusing a likely zip bomb")
            array = np.frombuffer(self.archive.read(member), dtype=storage_type.dtype)
            if storage_type.name == "BFloat16Storage":
                array = (array.astype(np.uint32) << 16).view(np.float32)
            self.storages[key] = array
        return self.storages[key]


def load_torch_state_dict(path: str | os.PathLike) -> dict:
    """Reads a checkpoint written by ``torch.save`` (the zip format of PyTorch >= 1.6) into numpy arrays.

    No PyTorch is needed and no code from the file runs: the pickle may only rebuild tensors and dicts.

    Args:
        path: a ``.pth`` / ``.pt`` file, e.g. a state dict published with a reference implementation.

    Returns:
        The unpickled object (for a state dict, ``{name: np.ndarray}`` in file order), with every tensor as a
        C-contiguous numpy array of its dtype (bfloat16 becomes float32).

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is not a zip-format PyTorch checkpoint, or is truncated or inconsistent.
        pickle.UnpicklingError: the pickle names anything but tensor-rebuilding globals.
    """
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, struct.error, EOFError):
        raise ValueError(f"{path}: not a zip-format PyTorch checkpoint (legacy torch.save files from PyTorch < 1.6 "
                         "are not supported; re-save with a newer PyTorch)") from None
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ValueError(f"{path}: expected one <name>/data.pkl in the archive, found {len(pickles)}")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = f"{prefix}byteorder"
        try:
            if byteorder in archive.namelist() and archive.read(byteorder).strip() not in (b"little", b""):
                raise ValueError(f"{path}: big-endian checkpoints are not supported")
            with archive.open(pickles[0]) as f:
                return _RestrictedUnpickler(f, archive, prefix).load()
        except pickle.UnpicklingError:
            raise
        except (EOFError, zipfile.BadZipFile, ValueError, TypeError, IndexError, KeyError, AttributeError,
                OverflowError, RecursionError, NotImplementedError, struct.error, zlib.error) as e:
            raise ValueError(f"{path}: corrupt checkpoint ({type(e).__name__}: {e})") from None
