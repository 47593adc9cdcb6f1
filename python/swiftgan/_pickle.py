"""The allow-list unpickler behind swiftgan's readers of PyTorch checkpoints and NVlabs network pickles.

A pickle can name any Python callable, so loading an untrusted one with :mod:`pickle` runs arbitrary code. Here a
pickle may only name the globals of :data:`ALLOWED_GLOBALS` (those that rebuild tensors, ordered dicts, numpy
scalars, argparse namespaces and NVlabs' persistent networks), and each resolves to a stand-in written in this module
that builds nothing but lazy tensors and plain values. Any other global raises :class:`pickle.UnpicklingError` naming
it before anything runs; so do the opcodes that could reach code some other way (the extension registry,
out-of-band buffers) and any call or BUILD of an object that is not a stand-in. The source code an NVlabs pickle
carries (``module_src``) is kept as a string and never compiled.

:func:`open_checkpoint` reads three containers:

* ``zip``: ``torch.save``'s format since PyTorch 1.6, a ``<stem>/data.pkl`` plus one member per storage;
* ``legacy``: ``torch.save`` before PyTorch 1.6 (or with ``_use_new_zipfile_serialization=False``): five pickles
  (magic number, protocol version, system info, the object, the storage keys), then every storage as an int64
  element count followed by its raw little-endian bytes;
* ``pickle``: a plain pickle such as an NVlabs network snapshot, whose tensors carry their storages inline as
  legacy streams (``torch.storage._load_from_bytes``).

Nothing a file declares is allocated before it is checked against the bytes the file holds: storage sizes against
the members or the data that follow, every tensor view against its storage, and all arrays together against a
budget of twice the file's size plus 16 MiB. Tensors stay lazy (:class:`LazyTensor`) until a reader asks for them,
so a reader that wants one network of a snapshot copies out only that network.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import math
import mmap
import os
import pickle
import pickletools
import re
import reprlib
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16, "BFloat16Storage": np.uint16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
"""Storage classes PyTorch pickles by name, and the numpy dtype of their bytes (bfloat16 is widened on reading)."""
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_LEGACY_START = b"\x80\x02\x8a\x0a" + _LEGACY_MAGIC.to_bytes(10, "little")
"""How a legacy torch.save stream begins: protocol 2, then the magic number as a 10-byte LONG1."""
_ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")
_MAX_RATIO = 100
"""The largest compression ratio accepted for a zip member (torch.save stores them uncompressed): a forged archive
cannot inflate a few kilobytes into gigabytes."""
_MAX_BROADCAST = 1 << 20
"""Elements a tensor may have beyond its storage's (a stride-0, expanded view)."""
_BUDGET_SLACK = 16 << 20
"""Bytes of arrays a file may expand into beyond twice its own size (broadcast views, widened bfloat16)."""
_MAX_MEMO_INDEX = (1 << 31) - 1
"""The largest memo index accepted. The memo is a dict, so a large index costs nothing; the bound only keeps
indices in the range writers use."""
_MAX_DEPTH = 64
"""How deep containers may nest in what a checkpoint holds (a state dict nests two or three levels)."""
_MAX_NDIM = 32
_ZERO_COPY = 1 << 12
"""Reads this long or longer return a view of the file instead of a copy (tensor data, module sources)."""

_KEY_TYPES = frozenset({str, int, float, bool, bytes, type(None)})
"""What dict keys and set items may be: hashing anything else (a tuple nested 100,000 deep, a DAG of tuples shared
through the memo) could exhaust the C stack or take exponential time."""

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80


def describe(value: Any) -> str:
    """A short description of a value for an error message (reprlib keeps it bounded)."""
    try:
        return _REPR.repr(value)
    except ValueError:  # an int too long to print
        return f"a {type(value).__name__}"


class _Budget:
    """Bytes of arrays that reading one file may still allocate."""

    def __init__(self, limit: int) -> None:
        self.limit, self.left = limit, limit

    def charge(self, nbytes: int, what: str) -> None:
        if nbytes > self.left:
            raise ValueError(f"{what} would take the arrays read from this file past {self.limit} bytes (twice the "
                             "file's size plus 16 MiB): refusing a file that expands into more memory than it holds")
        self.left -= nbytes


class _Session:
    """What the unpicklers of one file share: the allocation budget, the globals seen, and whether a storage blob
    is being read (blobs may not nest)."""

    def __init__(self, file_size: int) -> None:
        self.budget = _Budget(2 * file_size + _BUDGET_SLACK)
        self.globals_seen: set[str] = set()
        self.in_blob = False


class Storage:
    """A torch storage: ``numel`` elements of one dtype, whose bytes are bound (or located) once the file is read."""

    def __init__(self, key: str, type_name: str, numel: int, budget: _Budget) -> None:
        self.key, self.type_name, self.numel, self.budget = key, type_name, numel, budget
        self.dtype = np.dtype(_STORAGE_DTYPES[type_name]).newbyteorder("<")
        self._array: np.ndarray | None = None
        self._fetch: Callable[[], bytes] | None = None

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    @property
    def bound(self) -> bool:
        return self._array is not None or self._fetch is not None

    def bind(self, data: bytes | memoryview) -> None:
        """Gives the storage its bytes (a view of the file, not copied)."""
        if self.bound:
            raise ValueError(f"storage {self.key!r} has data twice")
        if len(data) != self.nbytes:
            raise ValueError(f"storage {self.key!r} has {len(data)} bytes, expected {self.nbytes}")
        self._array = self._decode(data)

    def fetch_with(self, fetch: Callable[[], bytes]) -> None:
        """Tells the storage how to read its bytes when a tensor needs them."""
        if self.bound:
            raise ValueError(f"storage {self.key!r} has data twice")
        self._fetch = fetch

    def array(self) -> np.ndarray:
        """The storage's elements as a flat array (bfloat16 widened to float32)."""
        if self._array is None:
            if self._fetch is None:
                raise ValueError(f"storage {self.key!r} has no data in the file")
            self.budget.charge(self.nbytes, f"storage {self.key!r}")
            self._array = self._decode(self._fetch())
        return self._array

    def _decode(self, data: bytes | memoryview) -> np.ndarray:
        array = np.frombuffer(data, dtype=self.dtype)
        if self.type_name == "BFloat16Storage":
            self.budget.charge(2 * self.nbytes, f"bfloat16 storage {self.key!r}")
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return array


class LazyTensor:
    """A checked strided view of a storage; :meth:`numpy` copies it out."""

    __slots__ = ("storage", "offset", "shape", "strides")

    def __init__(self, storage: Storage, offset: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> None:
        self.storage, self.offset, self.shape, self.strides = storage, offset, shape, strides

    def __repr__(self) -> str:
        return f"<tensor {list(self.shape)}>"

    @property
    def dtype(self) -> np.dtype:
        """The dtype :meth:`numpy` returns (native byte order; bfloat16 becomes float32)."""
        if self.storage.type_name == "BFloat16Storage":
            return np.dtype(np.float32)
        return self.storage.dtype.newbyteorder("=")

    def numpy(self) -> np.ndarray:
        """A C-contiguous copy of the tensor's elements."""
        data = self.storage.array()
        dtype = self.dtype
        self.storage.budget.charge(math.prod(self.shape) * dtype.itemsize, f"a tensor of shape {list(self.shape)}")
        if 0 in self.shape:
            return np.zeros(self.shape, dtype)
        if not self.shape:
            return np.array(data[self.offset], dtype=dtype)
        view = np.lib.stride_tricks.as_strided(data[self.offset:], shape=self.shape, writeable=False,
                                               strides=tuple(s * data.itemsize for s in self.strides))
        return np.array(view, dtype=dtype, order="C")


@dataclass(eq=False, repr=False)
class PersistentObject:
    """An object of an NVlabs ``@persistence.persistent_class`` (a network or one of its layers): its class name and
    its ``__dict__``. ``module_src``, the source of the module that defined the class, only identifies the code
    version: it is never compiled or run."""

    class_name: str
    state: dict[str, Any]
    module_src: str

    def __repr__(self) -> str:
        return f"<persistent {self.class_name}>"


class _Buildable:
    """A stand-in that accepts the state a BUILD opcode gives it."""

    def build(self, state: Any) -> None:
        raise NotImplementedError


class Namespace(_Buildable):
    """Stand-in for ``argparse.Namespace``: its attributes, as a dict."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}

    def build(self, state: Any) -> None:
        if not isinstance(state, dict) or any(type(key) is not str for key in state):
            raise pickle.UnpicklingError(f"argparse.Namespace expects a dict of attributes, got {describe(state)}")
        self.fields.update(state)


_NUMPY_CODES = re.compile(r"[<>|=]?(?:[fiuc](?:1|2|4|8|16)|b1|\?)")


class _NumpyDType(_Buildable):
    """Stand-in for ``numpy.dtype`` of a plain number type (what numpy scalars are pickled with)."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def build(self, state: Any) -> None:
        if not (type(state) is tuple and len(state) in (8, 9) and state[0] in (3, 4)
                and state[1] in ("<", ">", "|", "=") and state[2:5] == (None, None, None)):
            raise pickle.UnpicklingError(f"numpy.dtype state {describe(state)} is not a plain number type's")
        self.dtype = self.dtype.newbyteorder(state[1])


class _StorageType:
    """Stand-in for a ``torch.<X>Storage`` class named in a persistent id (never called)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"


def _key(value: Any) -> Any:
    """``value``, if it may be a dict key or set item."""
    if type(value) not in _KEY_TYPES:
        raise pickle.UnpicklingError(f"a dict key or set item must be a string or a number, not a "
                                     f"{type(value).__name__}")
    return value


def _flag(value: Any, what: str) -> bool:
    if type(value) is not bool and not (type(value) is int and value in (0, 1)):
        raise pickle.UnpicklingError(f"{what} must be a bool, got {describe(value)}")
    return bool(value)


def _ints(value: Any, what: str) -> tuple[int, ...]:
    if type(value) not in (tuple, list) or len(value) > _MAX_NDIM or any(type(v) is not int for v in value):
        raise pickle.UnpicklingError(f"{what} must be a tuple of at most {_MAX_NDIM} ints, got {describe(value)}")
    return tuple(value)


# The stand-ins: each checks its arguments, then builds a lazy tensor or a plain value.

def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any) -> LazyTensor:
    """``torch._utils._rebuild_tensor``: a view of ``storage``, checked to lie inside it."""
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError(f"a tensor needs a storage, got {describe(storage)}")
    shape, strides = _ints(size, "a tensor's size"), _ints(stride, "a tensor's stride")
    if type(storage_offset) is not int or len(shape) != len(strides) or min((*shape, *strides, storage_offset)) < 0:
        raise pickle.UnpicklingError(f"invalid tensor geometry: size {describe(size)}, stride {describe(stride)}, "
                                     f"offset {describe(storage_offset)}")
    limit = max(storage.numel, _MAX_BROADCAST)
    if any(n > limit for n in shape) or math.prod(shape) > limit:
        raise pickle.UnpicklingError(f"tensor of size {list(shape)} has more elements than its storage of "
                                     f"{storage.numel}")
    dims = list(zip(shape, strides, strict=True))
    if 0 not in shape and storage_offset + sum((n - 1) * s for n, s in dims) >= storage.numel:
        raise pickle.UnpicklingError(f"tensor of size {list(shape)} and stride {list(strides)} at offset "
                                     f"{storage_offset} reads past its storage of {storage.numel} values")
    return LazyTensor(storage, storage_offset, shape, tuple(s if n > 1 else 0 for n, s in dims))


def _rebuild_tensor_v2(storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any,
                       backward_hooks: Any, metadata: Any = None) -> LazyTensor:
    """``torch._utils._rebuild_tensor_v2``: the flags and hooks are checked and dropped."""
    _flag(requires_grad, "requires_grad")
    if not isinstance(backward_hooks, dict) or not (metadata is None or isinstance(metadata, dict)):
        raise pickle.UnpicklingError("_rebuild_tensor_v2 expects dicts of backward hooks and metadata")
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any) -> LazyTensor:
    """``torch._utils._rebuild_parameter``: a parameter is its data."""
    if not isinstance(data, LazyTensor) or not isinstance(backward_hooks, dict):
        raise pickle.UnpicklingError(f"_rebuild_parameter expects a tensor, got {describe(data)}")
    _flag(requires_grad, "requires_grad")
    return data


def _rebuild_parameter_with_state(data: Any, requires_grad: Any, backward_hooks: Any, state: Any) -> LazyTensor:
    """``torch._utils._rebuild_parameter_with_state`` (PyTorch >= 2): the extra Python attributes are dropped."""
    if not isinstance(state, (dict, tuple)):
        raise pickle.UnpicklingError(f"_rebuild_parameter_with_state expects a state dict, got {describe(state)}")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _ordered_dict() -> collections.OrderedDict:
    """``collections.OrderedDict``, always pickled empty (its items follow)."""
    return collections.OrderedDict()


def _easy_dict() -> dict:
    """``dnnlib.util.EasyDict``: a dict."""
    return {}


def _set(items: Any = ()) -> set:
    """``builtins.set`` (protocols <= 3 pickle a set as a call with a list of its items)."""
    if type(items) not in (list, tuple):
        raise pickle.UnpicklingError(f"builtins.set expects a list of items, got {describe(items)}")
    return {_key(item) for item in items}


def _numpy_dtype(spec: Any, align: Any = False, copy: Any = False) -> _NumpyDType:
    """``numpy.dtype`` of a plain number type, e.g. ``('f8', False, True)``."""
    if type(spec) is not str or not _NUMPY_CODES.fullmatch(spec):
        raise pickle.UnpicklingError(f"numpy.dtype {describe(spec)} is not a plain number type")
    _flag(align, "numpy.dtype's align")
    _flag(copy, "numpy.dtype's copy")
    return _NumpyDType(np.dtype(spec))


def _numpy_scalar(dtype: Any, data: Any) -> int | float | complex | bool:
    """``numpy.core.multiarray.scalar``: the value of a numpy scalar, as a Python number."""
    if not isinstance(dtype, _NumpyDType) or not isinstance(data, (bytes, memoryview)) \
            or len(data) != dtype.dtype.itemsize:
        raise pickle.UnpicklingError(f"numpy scalar of {describe(data)} does not match its dtype")
    return cast(Any, np.frombuffer(data, dtype.dtype)[0]).item()


def _latin1(text: Any, encoding: Any) -> bytes:
    """``_codecs.encode``, as protocol 2 pickles bytes: ``encode(text, 'latin1')``."""
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed on text, to latin1 (protocol 2's bytes)")
    return text.encode("latin-1")


def _namespace() -> Namespace:
    """``argparse.Namespace``: its attributes follow in a BUILD."""
    return Namespace()


def _persistent_object(meta: Any) -> PersistentObject:
    """``torch_utils.persistence._reconstruct_persistent_obj``: records the class name and state, and keeps the
    module source as text."""
    if not isinstance(meta, dict):
        raise pickle.UnpicklingError(f"a persistent object needs a dict of metadata, got {describe(meta)}")
    version, kind = meta.get("version"), meta.get("type")
    if type(version) is not int or version != 6 or kind != "class":
        raise pickle.UnpicklingError(f"persistent object of type {describe(kind)}, version {describe(version)}: "
                                     "only the 'class' objects of torch_utils.persistence version 6 are known")
    class_name, state, source = meta.get("class_name"), meta.get("state"), meta.get("module_src")
    if type(class_name) is not str or not isinstance(state, dict) or type(source) is not str:
        raise pickle.UnpicklingError("a persistent object needs a class_name, a state dict and a module_src")
    return PersistentObject(class_name, state, source)


def _storage_from_bytes(unpickler: _Unpickler, data: Any) -> Storage:
    """``torch.storage._load_from_bytes``: a legacy torch.save stream of one storage, read in place."""
    if not isinstance(data, (bytes, memoryview)):
        raise pickle.UnpicklingError(f"_load_from_bytes expects bytes, got {describe(data)}")
    session = unpickler.session
    if session.in_blob:
        raise pickle.UnpicklingError("_load_from_bytes inside a storage blob")
    session.in_blob = True
    try:
        storage = _load_legacy(memoryview(data), session)
    finally:
        session.in_blob = False
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError(f"a storage blob holds {describe(storage)}, not a storage")
    return storage


class _Callable:
    """What an allowed global resolves to: a stand-in, called only with arguments that fit its signature."""

    def __init__(self, name: str, function: Callable[..., Any], takes_unpickler: bool = False) -> None:
        self.name, self.function, self.takes_unpickler = name, function, takes_unpickler
        self.signature = inspect.signature(function)

    def __repr__(self) -> str:
        return self.name

    def call(self, unpickler: _Unpickler, args: tuple) -> Any:
        full = (unpickler, *args) if self.takes_unpickler else args
        try:
            self.signature.bind(*full)
        except TypeError:
            raise pickle.UnpicklingError(f"{self.name} called with wrong arguments {describe(args)}") from None
        return self.function(*full)


_STAND_INS: dict[str, Callable[..., Any]] = {
    "collections.OrderedDict": _ordered_dict,
    "torch._utils._rebuild_tensor": _rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
    "torch.storage._load_from_bytes": _storage_from_bytes,
    "torch_utils.persistence._reconstruct_persistent_obj": _persistent_object,
    "dnnlib.util.EasyDict": _easy_dict,
    "numpy.dtype": _numpy_dtype,
    "numpy.core.multiarray.scalar": _numpy_scalar,
    "numpy._core.multiarray.scalar": _numpy_scalar,
    "builtins.set": _set,
    "__builtin__.set": _set,
    "argparse.Namespace": _namespace,
    "_codecs.encode": _latin1,
}
ALLOWED_GLOBALS: dict[str, _Callable | _StorageType] = {
    **{name: _Callable(name, function, function is _storage_from_bytes) for name, function in _STAND_INS.items()},
    **{f"torch.{name}": _StorageType(name) for name in _STORAGE_DTYPES},
}
"""Every global a checkpoint may name (SPEC 1.3 and 4.2, plus ``_codecs.encode``, which protocol 2 needs for bytes),
and its stand-in."""


class _Storages:
    """The storages one pickle refers to by persistent id ``('storage', torch.<X>Storage, key, location, numel)``
    (legacy streams add a sixth field, a view description, which must be None)."""

    def __init__(self, budget: _Budget, locate: Callable[[Storage], None] | None = None) -> None:
        self.budget, self.locate = budget, locate
        self.by_key: dict[str, Storage] = {}

    def resolve(self, pid: Any) -> Storage:
        if not (type(pid) is tuple and len(pid) in (5, 6) and type(pid[0]) is str and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {describe(pid)}")
        _, storage_type, key, location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType) or type(key) is not str or type(location) is not str \
                or type(numel) is not int or numel < 0 or (len(pid) == 6 and pid[5] is not None):
            raise pickle.UnpicklingError(f"unsupported storage reference {describe(pid)}")
        storage = self.by_key.get(key)
        if storage is None:
            storage = self.by_key[key] = Storage(key, storage_type.name, numel, self.budget)
            if self.locate is not None:
                self.locate(storage)
        elif (storage.type_name, storage.numel) != (storage_type.name, numel):
            raise pickle.UnpicklingError(f"storage {key!r} is declared twice with different types or sizes")
        return storage


class _Reader:
    """A file-like view of a buffer for the unpickler. Reads of :data:`_ZERO_COPY` bytes or more return memoryview
    slices, so tensor data and module sources are not copied."""

    def __init__(self, data: memoryview) -> None:
        self.data, self.pos = data, 0

    def read(self, n: int) -> Any:
        start = self.pos
        self.pos = min(start + max(n, 0), len(self.data))
        chunk = self.data[start:self.pos]
        return chunk if n >= _ZERO_COPY else chunk.tobytes()

    def readline(self) -> bytes:
        start = self.pos
        while self.pos < len(self.data):
            chunk = self.data[self.pos:self.pos + 256].tobytes()
            newline = chunk.find(b"\n")
            self.pos += len(chunk) if newline < 0 else newline + 1
            if newline >= 0:
                break
        return self.data[start:self.pos].tobytes()


class _OpcodeTable(dict):
    """The opcodes the unpickler runs; any other raises."""

    def __missing__(self, code: int) -> Any:
        name = _OPCODE_NAMES.get(code)
        what = f"unknown opcode {code:#04x}" if name is None else f"opcode {name}"
        raise pickle.UnpicklingError(f"{what} is not allowed in a checkpoint")


_OPCODE_NAMES = {op.code.encode("latin-1")[0]: op.name for op in pickletools.opcodes}
_FORBIDDEN_OPCODES = {pickle.EXT1, pickle.EXT2, pickle.EXT4, pickle.NEXT_BUFFER, pickle.READONLY_BUFFER,
                      pickle.BYTEARRAY8}
"""The extension registry can resolve globals behind find_class's back; out-of-band buffers and bytearrays (which
the pure-Python unpickler allocates at their declared length) never occur in checkpoints."""


class _Unpickler(pickle._Unpickler):
    """pickle's pure-Python unpickler, restricted to :data:`ALLOWED_GLOBALS`.

    The pure-Python unpickler, not the C one: the C unpickler's memo is an array indexed by the pickle's PUT opcodes,
    so a forged ``LONG_BINPUT 2000000000`` makes it allocate (and zero) gigabytes; this one keeps a dict. Its opcode
    table is replaced (:func:`_opcode_table`): calls and BUILDs accept only stand-ins, containers only plain keys."""

    stack: list[Any]
    metastack: list[list[Any]]
    memo: dict[int, Any]
    append: Callable[[Any], None]
    read: Callable[[int], Any]
    readline: Callable[[], bytes]
    pop_mark: Callable[[], list[Any]]

    def __init__(self, reader: _Reader, session: _Session, storages: _Storages | None = None) -> None:
        super().__init__(reader, encoding="utf-8")
        self.session, self.storages = session, storages

    def _decode_string(self, value: Any) -> str:  # STRING, BINSTRING, SHORT_BINSTRING (Python 2's str)
        return bytes(value).decode("utf-8")

    def find_class(self, module: str, name: str) -> Any:
        qualname = f"{module}.{name}"
        target = ALLOWED_GLOBALS.get(qualname)
        if target is None:
            raise pickle.UnpicklingError(f"refusing to load global '{qualname}': only tensors and plain values may be "
                                         "built from a checkpoint (the pickle tried to reach something else)")
        self.session.globals_seen.add(qualname)
        return target

    def persistent_load(self, pid: Any) -> Any:
        if self.storages is None:
            raise pickle.UnpicklingError(f"unexpected persistent id {describe(pid)}")
        return self.storages.resolve(pid)

    def _call(self, function: Any, args: Any, opcode: str) -> Any:
        if not isinstance(function, _Callable):
            raise pickle.UnpicklingError(f"{opcode} of {describe(function)}: only allowed globals may be called")
        if type(args) is not tuple:
            raise pickle.UnpicklingError(f"{opcode} of {function.name}: the arguments are not a tuple")
        return function.call(self, args)

    def _load_reduce(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self._call(self.stack[-1], args, "REDUCE")

    def _load_newobj(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self._call(self.stack[-1], args, "NEWOBJ")

    def _load_newobj_ex(self) -> None:
        kwargs, args = self.stack.pop(), self.stack.pop()
        if type(kwargs) is not dict or kwargs:
            raise pickle.UnpicklingError("NEWOBJ_EX with keyword arguments")
        self.stack[-1] = self._call(self.stack[-1], args, "NEWOBJ_EX")

    def _instantiate(self, klass: Any, args: list[Any]) -> None:  # INST and OBJ
        self.append(self._call(klass, tuple(args), "INST/OBJ"))

    def _load_build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        if isinstance(target, _Buildable):
            target.build(state)
        elif not isinstance(target, dict) or not (state is None or isinstance(state, dict)):
            # (a BUILD of a dict is ignored: it carries a state dict's `_metadata`, PyTorch's per-module versions)
            raise pickle.UnpicklingError(f"BUILD of {describe(target)} with {describe(state)} is not allowed")

    def _load_append(self) -> None:
        value = self.stack.pop()
        self._target(list, "APPEND").append(value)

    def _load_appends(self) -> None:
        items = self.pop_mark()
        self._target(list, "APPENDS").extend(items)

    def _load_dict(self) -> None:
        items = self.pop_mark()
        self.append(self._fill({}, items, "DICT"))

    def _load_setitem(self) -> None:
        value, key = self.stack.pop(), self.stack.pop()
        self._target(dict, "SETITEM")[_key(key)] = value

    def _load_setitems(self) -> None:
        items = self.pop_mark()
        self._fill(self._target(dict, "SETITEMS"), items, "SETITEMS")

    def _load_additems(self) -> None:
        items = self.pop_mark()
        self._target(set, "ADDITEMS").update(_key(item) for item in items)

    def _load_frozenset(self) -> None:
        items = self.pop_mark()
        self.append(frozenset(_key(item) for item in items))

    def _load_put(self) -> None:
        self._memo_put(int(self.readline()[:-1]))

    def _load_binput(self) -> None:
        self._memo_put(self.read(1)[0])

    def _load_long_binput(self) -> None:
        self._memo_put(struct.unpack("<I", self.read(4))[0])

    def _load_memoize(self) -> None:
        self._memo_put(len(self.memo))

    def _memo_put(self, index: int) -> None:
        if not 0 <= index <= _MAX_MEMO_INDEX:
            raise pickle.UnpicklingError(f"memo index {index} is out of range")
        self.memo[index] = self.stack[-1]

    def _target(self, kind: type, opcode: str) -> Any:
        target = self.stack[-1]
        if not isinstance(target, kind) or (kind is not dict and type(target) is not kind):
            raise pickle.UnpicklingError(f"{opcode} on {describe(target)}")
        return target

    @staticmethod
    def _fill(target: dict, items: list[Any], opcode: str) -> dict:
        if len(items) % 2:
            raise pickle.UnpicklingError(f"{opcode} with an odd number of items")
        for index in range(0, len(items), 2):
            target[_key(items[index])] = items[index + 1]
        return target


def _opcode_table() -> _OpcodeTable:
    """pickle's opcode table without :data:`_FORBIDDEN_OPCODES`, with the restricted versions of the opcodes that
    call, build or fill objects or write the memo."""
    table = _OpcodeTable({code: run for code, run in pickle._Unpickler.dispatch.items()
                          if bytes([code]) not in _FORBIDDEN_OPCODES})
    table.update({
        pickle.REDUCE[0]: _Unpickler._load_reduce, pickle.NEWOBJ[0]: _Unpickler._load_newobj,
        pickle.NEWOBJ_EX[0]: _Unpickler._load_newobj_ex, pickle.BUILD[0]: _Unpickler._load_build,
        pickle.APPEND[0]: _Unpickler._load_append, pickle.APPENDS[0]: _Unpickler._load_appends,
        pickle.DICT[0]: _Unpickler._load_dict, pickle.SETITEM[0]: _Unpickler._load_setitem,
        pickle.SETITEMS[0]: _Unpickler._load_setitems, pickle.ADDITEMS[0]: _Unpickler._load_additems,
        pickle.FROZENSET[0]: _Unpickler._load_frozenset, pickle.PUT[0]: _Unpickler._load_put,
        pickle.BINPUT[0]: _Unpickler._load_binput, pickle.LONG_BINPUT[0]: _Unpickler._load_long_binput,
        pickle.MEMOIZE[0]: _Unpickler._load_memoize,
    })
    return table


_Unpickler.dispatch = cast(Any, _opcode_table())


def _load_legacy(data: memoryview, session: _Session) -> Any:
    """The object of a legacy torch.save stream, its storages bound to views of the data that follows it."""
    reader = _Reader(data)
    if _Unpickler(reader, session).load() != _LEGACY_MAGIC:
        raise ValueError("not a legacy torch.save stream (wrong magic number)")
    version = _Unpickler(reader, session).load()
    if type(version) is not int or version != _LEGACY_PROTOCOL:
        raise ValueError(f"legacy torch.save protocol {describe(version)}, expected {_LEGACY_PROTOCOL}")
    system = _Unpickler(reader, session).load()
    if not isinstance(system, dict) or system.get("little_endian") is not True:
        raise ValueError("big-endian (or unmarked) legacy torch.save streams are not supported")
    storages = _Storages(session.budget)
    root = _Unpickler(reader, session, storages).load()
    keys = _Unpickler(reader, session).load()
    if type(keys) is not list or any(type(key) is not str for key in keys):
        raise ValueError(f"legacy torch.save stream: expected a list of storage keys, got {describe(keys)}")
    offset = reader.pos
    for key in keys:
        storage = storages.by_key.get(key)
        if storage is None:
            raise ValueError(f"legacy torch.save stream: data for storage {key!r}, which no tensor uses")
        if offset + 8 > len(data):
            raise ValueError(f"legacy torch.save stream: storage {key!r} is cut off (truncated file)")
        count = struct.unpack_from("<q", data, offset)[0]
        end = offset + 8 + storage.nbytes
        if count != storage.numel or end > len(data):
            raise ValueError(f"legacy torch.save stream: storage {key!r} holds {count} elements with "
                             f"{len(data) - offset - 8} bytes left in the file, expected {storage.numel} x "
                             f"{storage.type_name}")
        storage.bind(data[offset + 8:end])
        offset = end
    unbound = [key for key, storage in storages.by_key.items() if not storage.bound]
    if unbound:
        raise ValueError(f"legacy torch.save stream: no data for storages {unbound[:5]}")
    return root


def _member(archive: zipfile.ZipFile, name: str, budget: _Budget) -> bytes:
    """A zip member's bytes, after checking what reading it would allocate."""
    info = archive.getinfo(name)
    budget.charge(info.file_size, f"archive member {name!r}")
    _check_ratio(info)
    return archive.read(info)


def _check_ratio(info: zipfile.ZipInfo) -> None:
    if info.file_size > _MAX_RATIO * max(info.compress_size, 1 << 16):
        raise pickle.UnpicklingError(f"archive member {info.filename!r} inflates {info.compress_size} bytes to "
                                     f"{info.file_size}: refusing a likely zip bomb")


def _load_zip(archive: zipfile.ZipFile, session: _Session) -> tuple[Any, bytes]:
    """The object of a zip-format torch.save archive, its storages located in the archive; and its pickle."""
    names = archive.namelist()
    pickles = [name for name in names if name.endswith("data.pkl") and name.count("/") == 1]
    if len(pickles) != 1:
        raise ValueError(f"expected one <name>/data.pkl in the archive, found {len(pickles)}")
    prefix = pickles[0][: -len("data.pkl")]
    if f"{prefix}byteorder" in names:
        info = archive.getinfo(f"{prefix}byteorder")
        if info.file_size > 16 or archive.read(info).strip() not in (b"little", b""):
            raise ValueError("big-endian checkpoints are not supported")

    def locate(storage: Storage) -> None:
        member = f"{prefix}data/{storage.key}"
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise pickle.UnpicklingError(f"storage '{storage.key}' is missing from the archive") from None
        if info.file_size != storage.nbytes:
            raise pickle.UnpicklingError(f"storage '{storage.key}' holds {info.file_size} bytes, expected "
                                         f"{storage.nbytes} ({storage.numel} x {storage.type_name})")
        _check_ratio(info)
        storage.fetch_with(lambda: archive.read(info))

    payload = _member(archive, pickles[0], session.budget)
    return _Unpickler(_Reader(memoryview(payload)), session, _Storages(session.budget, locate)).load(), payload


@dataclass
class Checkpoint:
    """What :func:`open_checkpoint` read: the unpickled object (tensors as :class:`LazyTensor`), the container
    (``"zip"``, ``"legacy"`` or ``"pickle"``), the outer pickle's protocol (None for protocols 0 and 1) and every
    allowed global it named, as ``module.name``."""

    root: Any
    container: str
    protocol: int | None
    globals_seen: set[str]


_CONTAINERS = {"zip": "a zip-format PyTorch checkpoint", "legacy": "a legacy (PyTorch < 1.6) torch.save file",
               "pickle": "a pickle"}
_DAMAGE = (ValueError, EOFError, struct.error, IndexError, KeyError, TypeError, AttributeError, OverflowError,
           RecursionError, zipfile.BadZipFile, zlib.error, NotImplementedError)
"""What a damaged or hostile file can make reading raise; each becomes a ValueError naming the file."""


@contextlib.contextmanager
def open_checkpoint(path: str | os.PathLike[str], containers: tuple[str, ...]) -> Iterator[Checkpoint]:
    """Reads a checkpoint whose container is one of ``containers`` (see the module docstring).

    Tensors stay lazy: read them inside the ``with`` block (a zip archive stays open until then). Every error the
    file causes, here or in the block, is raised as :class:`pickle.UnpicklingError` (a forbidden global or opcode,
    or inconsistent pickled values) or :class:`ValueError` (anything else), with the file's name in front.

    Raises:
        OSError: the file cannot be read.
    """
    name = os.fspath(path)
    with open(name, "rb") as file, contextlib.ExitStack() as resources:
        try:
            yield _open(file, containers, resources)
        except pickle.UnpicklingError as error:
            raise pickle.UnpicklingError(f"{name}: {error}") from None
        except _DAMAGE as error:
            reason = (str(error) if type(error) is ValueError else "truncated file (the data ends early)"
                      if isinstance(error, EOFError) else f"damaged file ({type(error).__name__}: {error})")
            raise ValueError(f"{name}: {reason}") from None


def _open(file: IO[bytes], containers: tuple[str, ...], resources: contextlib.ExitStack) -> Checkpoint:
    size = os.fstat(file.fileno()).st_size
    head = file.read(len(_LEGACY_START))
    file.seek(0)
    kind = ("zip" if head.startswith(_ZIP_STARTS) else "legacy" if head == _LEGACY_START
            else "pickle" if head[:1] == pickle.PROTO else None)
    if kind not in containers:
        wanted = " or ".join(_CONTAINERS[c] for c in containers)
        raise ValueError(f"not {wanted}" + (f" (it is {_CONTAINERS[kind]})" if kind else
                                             f" (it starts with {head[:8]!r})"))
    session = _Session(size)
    if kind == "zip":
        try:
            archive = resources.enter_context(zipfile.ZipFile(file))
        except (zipfile.BadZipFile, struct.error, EOFError, ValueError) as error:
            raise ValueError(f"not a zip-format PyTorch checkpoint, or a damaged one ({error})") from None
        root, payload = _load_zip(archive, session)
        protocol = payload[1] if payload[:1] == pickle.PROTO and len(payload) > 1 else None
    else:
        try:
            data = memoryview(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
        except (OSError, ValueError):  # not mappable (a pipe...): read it
            data = memoryview(file.read())
        root = _load_legacy(data, session) if kind == "legacy" else _Unpickler(_Reader(data), session).load()
        protocol = data[1]
    return Checkpoint(root, kind, protocol, session.globals_seen)


def convert(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """A copy of ``value``'s dicts, lists and tuples (and namespaces, as dicts) with ``leaf`` applied to everything
    else. Shared objects are converted once; nesting deeper than :data:`_MAX_DEPTH` raises ValueError."""
    done: dict[int, Any] = {}

    def walk(item: Any, depth: int) -> Any:
        if id(item) in done:
            return done[id(item)]
        if depth > _MAX_DEPTH:
            raise ValueError(f"containers nested more than {_MAX_DEPTH} deep")
        if isinstance(item, Namespace):
            out: Any = walk(item.fields, depth)
        elif isinstance(item, dict):
            out = done[id(item)] = collections.OrderedDict() if isinstance(item, collections.OrderedDict) else {}
            for key, entry in item.items():
                out[key] = walk(entry, depth + 1)
        elif isinstance(item, list):
            out = done[id(item)] = []
            out.extend(walk(entry, depth + 1) for entry in item)
        elif isinstance(item, tuple):
            out = tuple(walk(entry, depth + 1) for entry in item)
        else:
            out = leaf(item)
        done[id(item)] = out
        return out

    return walk(value, 0)


def materialize(value: Any) -> Any:
    """``value`` with every :class:`LazyTensor` read into a numpy array."""
    return convert(value, lambda item: item.numpy() if isinstance(item, LazyTensor) else item)
