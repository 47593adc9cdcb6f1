"""Hostile and damaged files against swiftgan's allow-list readers (read_published, load_torch_state_dict).

Each must raise pickle.UnpicklingError or ValueError naming the file: none may run code (a canary file would
appear), crash, or allocate much (checked in a child process for the files that declare huge lengths)."""

from __future__ import annotations

import json
import os
import pickle
import random
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pickle_forge as forge
import pytest

from swiftgan.pretrained import read_published
from swiftgan.torch_io import load_torch_state_dict

from helpers import NVLABS_SNAPSHOT, PRETRAINED_FIXTURES

FIXTURES = PRETRAINED_FIXTURES
NVLABS = NVLABS_SNAPSHOT
FILES = [NVLABS, FIXTURES / "rosinality_64_train.pt", FIXTURES / "rosinality_64_convert_legacy.pt"]
Reader = Callable[[Path], object]

P2, P4 = b"\x80\x02", b"\x80\x04"
EMPTY_ORDERED_DICT = forge.glob("collections.OrderedDict") + b")R"


def refused(reader: Reader, path: Path, match: str = "") -> Exception:
    """Checks that reading ``path`` raises UnpicklingError or ValueError naming the file and matching ``match``."""
    with pytest.raises((pickle.UnpicklingError, ValueError)) as caught:
        reader(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert re.search(match, message), message
    return caught.value


def torch_zip(path: Path, payload: bytes) -> Path:
    """A torch.save zip at ``path`` whose data.pkl is ``payload`` (protocol 2) beside one 16-byte storage '0'."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", P2 + payload + b".")
        z.writestr("archive/data/0", b"\0" * 16)
    return path


def containers(tmp_path: Path, payload: bytes, stem: str = "case") -> dict[str, tuple[Path, Reader]]:
    """``payload`` (a pickle) as a plain pickle, as the data.pkl of a torch.save zip, as the object of a legacy
    torch.save stream, and as the object of an NVlabs storage blob; each with a reader of it."""
    plain = tmp_path / f"{stem}.pkl"
    plain.write_bytes(payload)
    archive = tmp_path / f"{stem}.pt"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("archive/data.pkl", payload)
    legacy_bytes = forge.legacy_header() + payload + P2 + b"]."
    legacy = tmp_path / f"{stem}_legacy.pt"
    legacy.write_bytes(legacy_bytes)
    blob = tmp_path / f"{stem}_blob.pkl"
    blob.write_bytes(b"\x80\x03}" + forge.fragment("G_ema") + forge.glob("torch.storage._load_from_bytes")
                     + b"B" + struct.pack("<I", len(legacy_bytes)) + legacy_bytes + b"\x85Rs.")
    return {"pickle": (plain, read_published), "zip": (archive, load_torch_state_dict),
            "legacy": (legacy, load_torch_state_dict), "blob": (blob, read_published)}


def unicode(text: str) -> bytes:
    """SHORT_BINUNICODE."""
    return b"\x8c" + bytes([len(text.encode())]) + text.encode()


CALLS = [("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"), ("subprocess", "Popen"),
         ("subprocess", "check_output"), ("builtins", "getattr"), ("__builtin__", "eval"), ("builtins", "__import__"),
         ("pathlib", "Path.touch"), ("shutil", "rmtree"), ("numpy", "load"), ("torch", "load"),
         ("torch_utils.persistence", "_src_to_module"), ("copyreg", "_reconstructor")]
"""Globals a malicious pickle would call to run a command (or to import code)."""


def evil_payloads(module: str, name: str, canary: Path) -> dict[str, bytes]:
    """Pickles that would create ``canary`` through ``module.name``, reached by each of the five ways a pickle
    names a callable."""
    command = f"touch {canary}"
    argument = forge.fragment(f"__import__('os').system('{command}')" if name in ("eval", "exec")
                              else ["touch", str(canary)] if module == "subprocess" else command)
    qualname = f"{module}.{name}"
    return {"GLOBAL+REDUCE": P2 + forge.glob(qualname) + b"(" + argument + b"tR.",
            "STACK_GLOBAL+REDUCE": P4 + unicode(module) + unicode(name) + b"\x93" + argument + b"\x85R.",
            "INST": P2 + b"(" + argument + f"i{module}\n{name}\n".encode() + b".",
            "OBJ": P2 + b"(" + forge.glob(qualname) + argument + b"o.",
            "NEWOBJ": P2 + forge.glob(qualname) + b"(" + argument + b"t\x81."}


@pytest.mark.parametrize("module, name", CALLS)
def test_globals_outside_the_allow_list_never_run(tmp_path: Path, module: str, name: str) -> None:
    canary = tmp_path / "canary"
    for how, payload in evil_payloads(module, name, canary).items():
        for container, (path, reader) in containers(tmp_path, payload, how.replace("+", "_")).items():
            error = refused(reader, path, rf"refusing to load global '{re.escape(module)}\.{re.escape(name)}'")
            assert isinstance(error, pickle.UnpicklingError), (how, container)
            assert not canary.exists(), (how, container)


def test_module_source_is_never_run(tmp_path: Path) -> None:
    """An NVlabs pickle whose networks' source code would write a file loads without running it."""
    marker = tmp_path / "pwned"
    data = NVLABS.read_bytes()
    start = data.index(b"# Copyright (c) 2021, NVIDIA CORPORATION")
    assert data[start - 5:start - 4] == b"X"  # BINUNICODE: the module source, stored once
    length = struct.unpack("<I", data[start - 4:start])[0]
    code = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('pwned')\n".encode()
    patched = tmp_path / "patched.pkl"
    patched.write_bytes(data[:start] + code + b"#" * (length - len(code)) + data[start + length:])
    published, original = read_published(patched, for_training=True), read_published(NVLABS)
    assert not marker.exists()
    assert published.info["module_src_sha256"]["G_ema"] != original.info["module_src_sha256"]["G_ema"]
    for name, array in original.g_ema.items():
        np.testing.assert_array_equal(published.g_ema[name], array)
    forged = tmp_path / "forged.pkl"
    forged.write_bytes(forge.dumps({"G_ema": forge.persistent("Generator", {}, code.decode())}, 4)[0])
    refused(read_published, forged, "G_ema: synthesis blocks at resolutions")
    assert not marker.exists()


@pytest.mark.parametrize("payload, match", [
    (P2 + forge.fragment("os.system") + forge.fragment(("echo",)) + b"R.", r"REDUCE of 'os\.system'"),
    (P2 + forge.glob("torch.FloatStorage") + forge.fragment((10,)) + b"R.", r"REDUCE of torch\.FloatStorage"),
    (P2 + b"}" + forge.fragment(()) + b"R.", r"REDUCE of \{\}: only allowed globals"),
    (P2 + b"]" + forge.fragment(()) + b"\x81.", r"NEWOBJ of \[\]"),
    (P2 + b"]" + forge.fragment({"append": 1}) + b"b.", r"BUILD of \[\]"),
    (P2 + forge.glob("torch_utils.persistence._reconstruct_persistent_obj") + forge.fragment(
        ({"type": "class", "version": 6, "module_src": "", "class_name": "G", "state": {}},)) + b"R}b.",
     r"BUILD of <persistent G>"),
    (P2 + b"}" + forge.fragment((1, 2)) + forge.fragment(1) + b"s.", r"dict key or set item must be a string"),
    (P2 + b"\x82\x01.", r"opcode EXT1 is not allowed"),
    (P2 + b"\x83\x01\x00.", r"opcode EXT2 is not allowed"),
    (b"\x80\x05\x96" + struct.pack("<Q", 1 << 62) + b".", r"opcode BYTEARRAY8 is not allowed"),
    (b"\x80\x05\x97.", r"opcode NEXT_BUFFER is not allowed"),
    (b"\x80\x05" + forge.fragment(b"x") + b"\x98.", r"opcode READONLY_BUFFER is not allowed"),
    (b"\x80\x02\xff.", r"unknown opcode 0xff is not allowed"),
    (P2 + b"P1\n.", r"unexpected persistent id '1'"),
])
def test_calls_builds_and_opcodes_outside_the_stand_ins_are_refused(tmp_path: Path, payload: bytes,
                                                                    match: str) -> None:
    path = tmp_path / "case.pkl"
    path.write_bytes(payload)
    assert isinstance(refused(read_published, path, match), pickle.UnpicklingError)


def call(qualname: str, *args: bytes) -> bytes:
    return forge.glob(qualname) + b"(" + b"".join(args) + b"tR"


DTYPE_F8 = call("numpy.dtype", forge.fragment("f8"), b"\x89\x88") + forge.fragment(
    (3, "<", None, None, None, -1, -1, 0)) + b"b"


def storage(numel: bytes = forge.fragment(4), key: str = "0", extra: bytes = b"") -> bytes:
    return (b"(" + forge.fragment("storage") + forge.glob("torch.FloatStorage") + forge.fragment(key)
            + forge.fragment("cpu") + numel + extra + b"tQ")


def tensor(size: object = (2, 2), stride: object = (2, 1), offset: object = 0, numel: bytes = forge.fragment(4),
           key: str = "0", extra: bytes = b"") -> bytes:
    return call("torch._utils._rebuild_tensor_v2", storage(numel, key, extra), forge.fragment(offset),
                forge.fragment(size), forge.fragment(stride), b"\x89", EMPTY_ORDERED_DICT)


@pytest.mark.parametrize("payload, match", [
    (call("torch._utils._rebuild_tensor_v2"), r"_rebuild_tensor_v2 called with wrong arguments \(\)"),
    (call("torch._utils._rebuild_tensor_v2", *map(forge.fragment, ("x", 0, (1,), (1,), False, {}))),
     r"a tensor needs a storage, got 'x'"),
    (call("torch._utils._rebuild_tensor_v2", storage(), *map(forge.fragment, (0, (1,), (1,), "yes", {}))),
     r"requires_grad must be a bool"),
    (call("torch._utils._rebuild_parameter", *map(forge.fragment, (5, False, {}))), r"expects a tensor, got 5"),
    (call("numpy.dtype", *map(forge.fragment, ("O", False, True))), r"numpy.dtype 'O' is not a plain number type"),
    (call("numpy.dtype", *map(forge.fragment, ("f8", "yes", True))), r"align must be a bool"),
    (call("numpy.dtype", forge.fragment("f8")) + forge.fragment(("|O",)) + b"b", r"not a plain number type's"),
    (call("numpy._core.multiarray.scalar", DTYPE_F8, forge.fragment(b"123")), r"does not match its dtype"),
    (call("numpy.core.multiarray.scalar", forge.fragment("f8"), forge.fragment(b"12345678")),
     r"does not match its dtype"),
    (call("collections.OrderedDict", forge.fragment([("a", 1)])), r"OrderedDict called with wrong arguments"),
    (call("builtins.set", forge.fragment(5)), r"builtins.set expects a list of items, got 5"),
    (call("builtins.set", forge.fragment([[1]])), r"set item must be a string or a number, not a list"),
    (call("torch_utils.persistence._reconstruct_persistent_obj", forge.fragment("x")), r"needs a dict of metadata"),
    (call("torch_utils.persistence._reconstruct_persistent_obj", forge.fragment(
        {"type": "class", "version": 5, "module_src": "", "class_name": "G", "state": {}})), r"only .* version 6"),
    (call("torch_utils.persistence._reconstruct_persistent_obj", forge.fragment(
        {"type": "class", "version": 6, "module_src": "", "class_name": 1, "state": {}})), r"needs a class_name"),
    (call("torch.storage._load_from_bytes", forge.fragment(123)), r"_load_from_bytes expects bytes, got 123"),
    (call("torch.storage._load_from_bytes", forge.fragment(b"\x80\x02K\x01.")), r"wrong magic number"),
    (call("torch.storage._load_from_bytes", forge.fragment(forge.legacy_header() + P2 + b"}." + P2 + b"].")),
     r"a storage blob holds \{\}, not a storage"),
    (call("torch.storage._load_from_bytes", forge.fragment(
        forge.legacy_header() + P2 + call("torch.storage._load_from_bytes", forge.fragment(b"x")) + b"." + P2 + b"].")),
     r"_load_from_bytes inside a storage blob"),
    (forge.glob("dnnlib.util.EasyDict") + forge.fragment((1,)) + b"\x81", r"EasyDict called with wrong arguments"),
    (forge.glob("argparse.Namespace") + b")\x81" + forge.fragment([1]) + b"b", r"Namespace expects a dict"),
    (call("_codecs.encode", *map(forge.fragment, ("x", "utf-8"))), r"only allowed on text, to latin1"),
    (forge.glob("argparse.Namespace") + b")" + forge.fragment({"a": 1}) + b"\x92", r"NEWOBJ_EX with keyword"),
])
def test_allowed_globals_called_with_wrong_arguments_are_refused(tmp_path: Path, payload: bytes, match: str) -> None:
    refused(load_torch_state_dict, torch_zip(tmp_path / "case.pt", payload), match)


@pytest.mark.parametrize("payload, match", [
    (tensor(numel=forge.fragment(1 << 40)), r"storage '0' holds 16 bytes, expected 4398046511104"),
    (tensor(numel=forge.fragment(-1)), r"unsupported storage reference"),
    (tensor(numel=forge.fragment(1 << 64)), r"storage '0' holds 16 bytes"),
    (tensor(numel=forge.fragment("4")), r"unsupported storage reference"),
    (tensor(extra=forge.fragment(("view", 0, 2))), r"unsupported storage reference"),
    (tensor(size=(1 << 62, 1 << 62), stride=(1, 1)), r"more elements than its storage of 4"),
    (tensor(size=(1 << 31,), stride=(0,)), r"more elements than its storage of 4"),
    (tensor(size=(-1,), stride=(1,)), r"invalid tensor geometry"),
    (tensor(size=(2,), stride=(-1,)), r"invalid tensor geometry"),
    (tensor(offset=-5), r"invalid tensor geometry"),
    (tensor(offset=1 << 63), r"reads past its storage"),
    (tensor(size=(3,), stride=(1 << 61,)), r"reads past its storage"),
    (tensor(size=(2, 3), stride=(3, 1)), r"reads past its storage of 4 values"),
    (tensor(size=(1,) * 33, stride=(1,) * 33), r"at most 32 ints"),
    (tensor(size="22", stride=(1, 1)), r"size must be a tuple"),
    (b"(" + tensor() + tensor(numel=forge.fragment(2)) + b"l", r"storage '0' is declared twice"),
    (call("torch._utils._rebuild_tensor_v2", b"(" + forge.fragment("storage") + forge.glob("torch.Storage") + b"t"),
     r"refusing to load global 'torch.Storage'"),
])
def test_storages_and_views_are_checked_against_the_file(tmp_path: Path, payload: bytes, match: str) -> None:
    refused(load_torch_state_dict, torch_zip(tmp_path / "case.pt", payload), match)


def legacy(obj_pickle: bytes, keys: list[object], data: bytes, header: bytes | None = None) -> bytes:
    return (forge.legacy_header() if header is None else header) + P2 + obj_pickle + b"." + forge.dumps(keys)[0] + data


@pytest.mark.parametrize("content, match", [
    (legacy(tensor(), ["0"], struct.pack("<q", 1 << 62) + b"\0" * 16), r"holds 4611686018427387904 elements"),
    (legacy(tensor(numel=forge.fragment(1 << 40)), ["0"], struct.pack("<q", 1 << 40)), r"holds 1099511627776 ele"),
    (legacy(tensor(), ["0"], struct.pack("<q", 4) + b"\0" * 15), r"storage '0' holds 4 elements with 15 bytes left"),
    (legacy(tensor(), ["0"], b"\0" * 4), r"storage '0' is cut off"),
    (legacy(tensor(), ["0", "1"], struct.pack("<q", 4) + b"\0" * 16), r"data for storage '1', which no tensor uses"),
    (legacy(tensor(), [], b""), r"no data for storages \['0'\]"),
    (legacy(tensor(), ["0", "0"], (struct.pack("<q", 4) + b"\0" * 16) * 2), r"storage '0' has data twice"),
    (legacy(tensor(), ["0"], b"", forge.legacy_header(little_endian=False)), r"big-endian"),
    (legacy(tensor(), ["0"], b"", forge.legacy_header(version=1000)), r"legacy torch.save protocol 1000"),
    (legacy(tensor(), [0], b""), r"expected a list of storage keys"),
    (forge.legacy_header()[:20], r"truncated file"),
])
def test_legacy_streams_are_checked_against_the_file(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "legacy.pt"
    path.write_bytes(content)
    refused(load_torch_state_dict, path, match)
    refused(read_published, path)


def test_an_nvlabs_storage_blob_cannot_declare_more_than_it_holds(tmp_path: Path) -> None:
    stream = forge.legacy_stream(forge.StorageRef("0", np.zeros(4, np.float32)), counts={"0": (1 << 63) - 1})
    path = tmp_path / "blob.pkl"
    path.write_bytes(forge.dumps({"G_ema": forge.Call(forge.LOAD_FROM_BYTES, stream)}, 4)[0])
    refused(read_published, path, r"storage '0' holds 9223372036854775807 elements with 16 bytes left")


def test_arrays_cannot_outgrow_the_file(tmp_path: Path) -> None:
    """Views of one storage, each copied out, may not take more memory than twice the file (plus 16 MiB)."""
    payload = P2 + b"(" + b"".join(tensor((1 << 16,), (1,), numel=forge.fragment(1 << 16)) for _ in range(300)) + b"l."
    path = tmp_path / "views.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/data/0", b"\0" * (4 << 16))
    refused(load_torch_state_dict, path, r"expands into more memory than it holds")


@pytest.mark.parametrize("payload, match", [
    (P2 + b"}r\xff\xff\xff\x7f.", r"neither an NVlabs network pickle"),  # LONG_BINPUT 2**31-1: a dict memo, no array
    (P2 + b"}r\xff\xff\xff\xff.", r"memo index 4294967295 is out of range"),
    (P2 + b"j\xff\xff\xff\x7f.", r"Memo value not found at index 2147483647"),
    (P2 + b"]" * 100_000 + b"a" * 99_999 + b".", r"expected a dict .* got a list"),
    (P2 + b"}" + forge.fragment("G_ema") + b"]" * 100_000 + b"a" * 99_999 + b"s.", r"expected an NVlabs Generator"),
    (P2 + b"}" + forge.fragment("g_ema") + b"}" + (forge.fragment("a") + b"}") * 100_000 + b"s" * 100_000 + b"s.",
     r"g_ema: expected a state dict"),
    (P2 + b"}" + b")" + b"\x85" * 100_000 + forge.fragment(1) + b"s.", r"dict key .* not a tuple"),
    (P2 + b"(" * 100_000 + b".", r"damaged file"),
])
def test_huge_memo_indices_and_deep_nesting(tmp_path: Path, payload: bytes, match: str) -> None:
    path = tmp_path / "case.pkl"
    path.write_bytes(payload)
    refused(read_published, path, match)


def test_deep_cyclic_and_shared_values_inside_a_valid_snapshot(tmp_path: Path) -> None:
    """Plain values the reader returns in ``info`` may not nest without bound; cycles and shared values are
    copied as they are, in linear time."""
    config = {"resolution": 8, "channels": 3, "z_dim": 8, "w_dim": 8, "c_dim": 0, "mapping_layers": 2,
              "channel_base": 64, "channel_max": 8, "channel_counts": [8, 8], "architecture": "skip",
              "conv_clamp": None}
    base = forge.dumps({"training_set_kwargs": "PLACEHOLDER", "G_ema": forge.nvlabs_generator(config)}, 2)[0]
    placeholder = forge.fragment("PLACEHOLDER")
    assert base.count(placeholder) == 1
    def put(index: int) -> bytes:  # LONG_BINPUT, at indices the pickler did not use
        return b"r" + struct.pack("<I", (1 << 28) + index)

    def get(index: int) -> bytes:
        return b"j" + struct.pack("<I", (1 << 28) + index)

    path = tmp_path / "deep.pkl"
    path.write_bytes(base.replace(placeholder, b"]" * 100_000 + b"a" * 99_999))
    refused(read_published, path, r"containers nested more than 64 deep")
    path = tmp_path / "cyclic.pkl"
    path.write_bytes(base.replace(placeholder, b"]" + put(0) + get(0) + b"a"))  # a list holding itself
    value = read_published(path).info["training_set_kwargs"]
    assert type(value) is list and len(value) == 1 and value[0] is value
    # 60 tuples, each holding the previous one twice: 2**60 paths to the innermost list, read in linear time
    shared = b"]" + put(0) + b"0" + b"".join(b"(" + get(i) + get(i) + b"t" + put(i + 1) + b"0" for i in range(60))
    path = tmp_path / "shared.pkl"
    path.write_bytes(base.replace(placeholder, shared + get(60)))
    value = read_published(path).info["training_set_kwargs"]
    for _ in range(60):
        assert type(value) is tuple and value[0] is value[1]
        value = value[0]
    assert value == []


def sample_cuts(size: int, rng: random.Random, count: int, dense: int = 8192) -> list[int]:
    """Truncation points, multiples of 64: all in the first ``dense`` bytes, the last few, and ``count`` more at
    random."""
    cuts = set(range(0, min(size, dense), 64)) | {(size - 1) // 64 * 64 - 64 * i for i in range(3)}
    return sorted(cuts | {64 * rng.randrange(size // 64) for _ in range(count)}, reverse=True)


@pytest.mark.parametrize("fixture", FILES, ids=lambda path: path.name)
def test_truncated_fixtures_raise_clear_errors(tmp_path: Path, fixture: Path) -> None:
    path = tmp_path / fixture.name
    shutil.copy(fixture, path)
    for cut in sample_cuts(fixture.stat().st_size, random.Random(64), 150):
        os.truncate(path, cut)
        refused(read_published, path)


def test_truncated_pickles_inside_an_intact_archive_raise_clear_errors(tmp_path: Path) -> None:
    source = zipfile.ZipFile(FILES[1])
    members = {info.filename: source.read(info) for info in source.infolist()}
    name = "rosinality_64_train/data.pkl"
    path = tmp_path / "torn.pt"
    for cut in sample_cuts(len(members[name]), random.Random(65), 40, dense=0):  # (each rewrites 10 MB)
        with zipfile.ZipFile(path, "w") as z:
            for member, data in members.items():
                z.writestr(member, data[:cut] if member == name else data)
        refused(read_published, path)


@pytest.mark.parametrize("fixture", FILES, ids=lambda path: path.name)
def test_bit_flipped_fixtures_load_or_raise_clear_errors(tmp_path: Path, fixture: Path) -> None:
    """A flipped bit in tensor data goes unnoticed (the file stays valid); elsewhere it must raise cleanly."""
    path = tmp_path / fixture.name
    shutil.copy(fixture, path)
    rng, size, outcomes = random.Random(7), fixture.stat().st_size, {"loaded": 0, "refused": 0}
    with open(path, "r+b") as file:
        for flip in range(80):
            # half the flips in the first 64 KiB, where the pickles' structure is
            position = rng.randrange(min(size, 1 << 16) if flip % 2 else size)
            file.seek(position)
            byte = file.read(1)[0]
            for value in (byte ^ (1 << rng.randrange(8)), byte):
                file.seek(position)
                file.write(bytes([value]))
                file.flush()
                if value != byte:
                    try:
                        read_published(path)
                        outcomes["loaded"] += 1
                    except (pickle.UnpicklingError, ValueError) as error:
                        assert str(error).startswith(f"{path}: "), error
                        outcomes["refused"] += 1
    assert outcomes["refused"] > 0, outcomes


HUGE_LENGTHS = {
    "BINBYTES of 4 GiB": P2 + b"B\xff\xff\xff\xff" + b"x" * 10 + b".",
    "BINBYTES8 of 8 EiB": b"\x80\x04\x8e" + struct.pack("<Q", (1 << 63) - 1) + b"x.",
    "BINUNICODE8 of 4 EiB": b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b"x.",
    "FRAME of 4 EiB": b"\x80\x04\x95" + struct.pack("<Q", 1 << 62) + b"}.",
    "LONG4 of 2 GiB": P2 + b"\x8b\xff\xff\xff\x7f" + b"\x01" * 10 + b".",
    "BYTEARRAY8 of 4 EiB": b"\x80\x05\x96" + struct.pack("<Q", 1 << 62) + b".",
    "memo index 2**31-1": P2 + b"}r\xff\xff\xff\x7f.",
}


def huge_files(tmp_path: Path) -> list[tuple[str, Path]]:
    """Files that declare gigabytes (or exabytes) they do not hold, in every container."""
    files = []
    for name, payload in HUGE_LENGTHS.items():
        path = tmp_path / f"{name.replace(' ', '_')}.pkl"
        path.write_bytes(payload)
        files.append(("read_published", path))
    for name, payload in {"storage of 2**40 floats": tensor(numel=forge.fragment(1 << 40)),
                          "view of 2**31 elements": tensor((1 << 31,), (0,)),
                          "view of 2**62 x 2**62": tensor((1 << 62, 1 << 62), (1, 1))}.items():
        files.append(("load_torch_state_dict", torch_zip(tmp_path / f"{name.replace(' ', '_')}.pt", payload)))
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", P2 + tensor(numel=forge.fragment(1 << 22)) + b".")
        z.writestr("archive/data/0", bytes(16 << 20))  # 16 MiB of zeros in 16 KiB
    files.append(("load_torch_state_dict", bomb))
    legacy_path = tmp_path / "legacy_2_40.pt"
    legacy_path.write_bytes(legacy(tensor(numel=forge.fragment(1 << 40)), ["0"], struct.pack("<q", 1 << 40)))
    files.append(("load_torch_state_dict", legacy_path))
    blob = tmp_path / "blob_2_62.pkl"
    stream = forge.legacy_stream(forge.StorageRef("0", np.zeros(4, np.float32), numel=1 << 62), {"0": 1 << 62})
    blob.write_bytes(forge.dumps({"G_ema": forge.Call(forge.LOAD_FROM_BYTES, stream)}, 4)[0])
    files.append(("read_published", blob))
    return files


CHILD = """
import json, pickle, resource, sys
from swiftgan.pretrained import read_published
from swiftgan.torch_io import load_torch_state_dict
readers = {"read_published": read_published, "load_torch_state_dict": load_torch_state_dict}
cases = json.loads(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcomes = []
for reader, path in cases:
    try:
        readers[reader](path)
        outcomes.append("loaded")
    except (pickle.UnpicklingError, ValueError) as error:
        outcomes.append(type(error).__name__ if str(error).startswith(path + ": ") else "unnamed: " + str(error))
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"outcomes": outcomes, "growth_kib": growth}))
"""


def test_declared_huge_lengths_allocate_nothing(tmp_path: Path) -> None:
    """In a child process (a crash fails the test, not pytest), every huge declaration is refused and the peak
    resident memory grows by less than 32 MiB."""
    cases = [(reader, str(path)) for reader, path in huge_files(tmp_path)]
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cases)], capture_output=True, text=True,
                           timeout=120)  # the swiftgan this interpreter imports, as the tests do
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout)
    outcomes = dict(zip((Path(path).name for _, path in cases), report["outcomes"], strict=True))
    assert all(outcome in ("UnpicklingError", "ValueError") for outcome in outcomes.values()), outcomes
    assert report["growth_kib"] < 32 * 1024, report
