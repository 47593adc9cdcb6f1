"""Files cannot hurt: truncated, bit-flipped, empty and forged checkpoints and malicious .pth pickles raise clear
errors; none crashes, hangs, allocates gigabytes or runs code (fuzzed in a child process for a bounded time)."""

from __future__ import annotations

import json
import pickle
import struct
import zipfile

import numpy as np
import pytest

import swiftgan as sg

from helpers import TINY_DCGAN, TINY_STYLEGAN, run_fuzzer

FUZZ_SECONDS = 20
"""The loader fuzzer's time budget."""


@pytest.mark.slow
def test_loaders_survive_fuzzed_files(tmp_path) -> None:
    report = run_fuzzer("fuzz_files.py", tmp_path, FUZZ_SECONDS, timeout=FUZZ_SECONDS + 120)
    assert not report["failures"], "\n".join(report["failures"])
    assert sum(report["cases"].values()) > 500
    print(f"\nhostile files: {report['cases']} in {report['seconds']} s (slowest load {report['slowest']} s); "
          f"exceptions raised: {report['errors']}")


def split(path) -> tuple[dict, bytes]:
    """A safetensors file's header and data section."""
    content = path.read_bytes()
    length = struct.unpack("<Q", content[:8])[0]
    return json.loads(content[8:8 + length]), content[8 + length:]


def write(path, header: dict, data: bytes, length: int | None = None) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)


def forge(header: dict, data: bytes, change: str) -> tuple[dict, bytes, int | None]:
    """The checkpoint with one forged part."""
    header = json.loads(json.dumps(header))
    first = next(name for name in header if name != "__metadata__")
    entry = header[first]
    meta = header["__metadata__"]
    length = None
    if change == "header length past the end":
        length = 1 << 40
    elif change == "offsets overlap":
        entry["data_offsets"] = [0, entry["data_offsets"][1] - entry["data_offsets"][0]]
        header[next(n for n in header if n not in ("__metadata__", first))]["data_offsets"][0] = 0
    elif change == "offsets outside the data":
        entry["data_offsets"] = [len(data), len(data) + 4 * int(np.prod(entry["shape"]))]
    elif change == "absurd shape":
        entry["shape"] = [2**62, 2**62]
    elif change == "integer weights":
        entry["dtype"] = "I32"
    elif change == "names of another model":
        header["G.mapping.fc0.weight"] = header.pop(first)
    elif change == "kind of another model":
        meta["kind"] = "stylegan"
    elif change == "config of a huge model":
        meta["config"] = json.dumps({**json.loads(meta["config"]), "image_size": 2**40})
    elif change == "config of a far bigger model":  # valid, but 10 GB of weights against the file's few KB
        meta["config"] = json.dumps({**json.loads(meta["config"]), "image_size": 128, "ngf": 1024, "ndf": 1024})
    elif change == "config nested 100,000 deep":
        meta["config"] = "[" * 100_000 + "]" * 100_000
    elif change == "counters out of range":
        meta["counters"] = json.dumps({**json.loads(meta["counters"]), "step": 2**70})
    return header, data, length


@pytest.mark.parametrize("change, error, message", [
    ("header length past the end", ValueError, r"header length \d+ exceeds the file"),
    ("offsets overlap", ValueError, r"gap or overlap|offsets"),
    ("offsets outside the data", ValueError, r"outside the \d+-byte data section"),
    ("absurd shape", ValueError, r"needs \d+ bytes"),
    ("integer weights", TypeError, r"must be a float array, got dtype int32"),
    ("names of another model", ValueError, r"missing \[.*unexpected \['G.mapping.fc0.weight'\]"),
    ("kind of another model", ValueError, r"StyleGAN.__init__\(\) got an unexpected keyword argument"),
    ("config of a huge model", ValueError, r"invalid config.*image_size"),
    ("config of a far bigger model", ValueError, r"config describes a model far larger than the \d+ floats of tensors"),
    ("config nested 100,000 deep", ValueError, r"invalid config or counters metadata"),
    ("counters out of range", (ValueError, OverflowError), r"step|counter"),
])
def test_forged_checkpoints_raise_clear_errors(tmp_path, change, error, message) -> None:
    sg.DCGAN(**TINY_DCGAN).save(tmp_path / "good.safetensors")
    header, data = split(tmp_path / "good.safetensors")
    write(tmp_path / "forged.safetensors", *forge(header, data, change))
    with pytest.raises(error, match=message):
        sg.load(tmp_path / "forged.safetensors")


def test_a_checkpoint_of_another_model_is_refused(tmp_path) -> None:
    sg.StyleGAN(**TINY_STYLEGAN).save(tmp_path / "stylegan.safetensors")
    with pytest.raises(ValueError, match=r"a checkpoint of a StyleGAN \('stylegan'\), not a DCGAN"):
        sg.DCGAN.load(tmp_path / "stylegan.safetensors")
    for length in (0, 7, 100, 5000):  # truncated, down to empty
        torn = tmp_path / f"torn{length}.safetensors"
        torn.write_bytes((tmp_path / "stylegan.safetensors").read_bytes()[:length])
        with pytest.raises(ValueError, match="not a valid safetensors file"):
            sg.load(torn)


def test_pickle_bombs_and_forged_views_are_refused(tmp_path) -> None:
    """A storage that would inflate to 256 MiB, a memo index of two billion, and a stride-0 view of 2**31
    elements are refused before anything large is allocated."""
    source = zipfile.ZipFile(helpers_fixture())
    members = {info.filename: source.read(info) for info in source.infolist()}
    pkl = next(name for name in members if name.endswith("data.pkl"))
    storage = pkl.replace("data.pkl", "data/0")

    def archive(name: str, replaced: dict, compression: int = zipfile.ZIP_STORED):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w", compression) as z:
            for member, data in {**members, **replaced}.items():
                z.writestr(member, data)
        return path

    with pytest.raises(pickle.UnpicklingError, match="holds|zip bomb"):
        sg.load_torch_state_dict(archive("bomb.pth", {storage: bytes(1 << 28)}, zipfile.ZIP_DEFLATED))
    memo = b"\x80\x02}r\xff\xff\xff\x7f."  # EMPTY_DICT, LONG_BINPUT 2**31-1
    assert sg.load_torch_state_dict(archive("memo.pth", {pkl: memo})) == {}
    view = (b"ctorch._utils\n_rebuild_tensor_v2\n(ctorch\nFloatStorage\n(Vstorage\nctorch\nFloatStorage\nV0\nVcpu\n"
            b"I1\ntPI0\n(I2147483648\nt(I0\ntI00\nNtR.")
    with pytest.raises(pickle.UnpicklingError, match="more elements than its storage|persistent id|storage"):
        sg.load_torch_state_dict(archive("view.pth", {pkl: view}))


def helpers_fixture():
    from helpers import MODEL_FIXTURES

    return MODEL_FIXTURES / "dcgan32_D.pth"


class _WritesCanary:
    """An object whose unpickling would create a file (it must never be unpickled)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_hostile_direction_files_raise_clear_errors(tmp_path) -> None:
    """InterFaceGAN .npy directions: truncated, bit-flipped, forged shapes and code-running pickles; every case
    is a ValueError naming the file, nothing is allocated beyond the file or unpickled."""
    good = tmp_path / "good.npy"
    sg.directions.save_direction(good, np.random.default_rng(0).standard_normal(512))
    content = good.read_bytes()
    header_end = content.index(b"\n") + 1
    cases = {f"truncated at {n}": content[:n] for n in (0, 5, 10, header_end - 1, header_end, len(content) - 1)}
    cases["forged shape"] = content.replace(b"(1, 512)", b"(1, 99999999999)")
    cases["negative shape"] = content.replace(b"(1, 512)", b"(1, -512)")
    cases["forged dtype"] = content.replace(b"'<f4'", b"'<f8'")
    cases["header length past the end"] = content[:8] + struct.pack("<H", 65535) + content[10:]
    rng = np.random.default_rng(1)
    for index in range(40):
        flipped = bytearray(content)
        flipped[rng.integers(0, header_end)] ^= 1 << int(rng.integers(0, 8))
        cases[f"bit flip {index}"] = bytes(flipped)
    canary = tmp_path / "canary"
    evil = tmp_path / "evil.npy"
    np.save(evil, np.array([_WritesCanary(str(canary))], dtype=object), allow_pickle=True)
    cases["code-running pickle"] = evil.read_bytes()
    for what, data in cases.items():
        path = tmp_path / "case.npy"
        path.write_bytes(data)
        try:
            vector = sg.directions.load_direction(path)
        except ValueError as error:
            assert "load_direction" in str(error) and "case.npy" in str(error), (what, error)
        else:  # a flip that leaves a valid header (e.g. in its padding) must still give the stored direction
            assert vector.shape == (1, 512), what
        assert not canary.exists(), f"{what}: ran code"
