"""Hostile-file fuzzer, run as a child process by test_hostile_files.py (a crash kills this process, not pytest).

Feeds swiftgan's loaders (``safetensors.load_file``, ``swiftgan.load``, ``load_torch_state_dict``) with truncated,
bit-flipped, empty and forged files, derived by hypothesis from a real checkpoint and a real ``.pth`` for a bounded
time. Each load must return or raise an ``Exception`` quickly, and must not run code: the pickles tried include
ones that call ``os.system``, ``eval``, ``posix.system`` and friends to create a canary file, which must never
appear. The address space is capped, so a load that tried to allocate gigabytes fails the run.

Usage: ``python fuzz_files.py REPORT.json SECONDS``. Writes ``{"cases": {area: n}, "errors": {type: n},
"failures": [...], "seconds": s, "slowest": s}``; the case in progress goes to ``REPORT.json.last`` first.
"""

from __future__ import annotations

import collections
import faulthandler
import io
import json
import os
import resource
import struct
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

ADDRESS_SPACE = 3 << 30
"""The child's address-space cap: loading a small file needs far less; a loader that tried to allocate gigabytes
fails with MemoryError, which this fuzzer counts as a failure."""
SLOW = 2.0
"""Seconds one load may take before it counts as a hang."""

resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
faulthandler.enable()

import swiftgan as sg  # noqa: E402

sg.set_num_threads(1)  # no engine thread pool under the address-space cap

FIXTURE_PTH = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "models" / "dcgan32_D.pth"


def evil_pickles(canary: Path) -> list[bytes]:
    """Pickles that would run code (each creates ``canary``) if the unpickler let them."""
    command = f"touch {canary}"
    calls = [("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"),
             ("subprocess", "getoutput"), ("pathlib", "Path.touch"), ("builtins", "getattr"), ("__builtin__", "eval")]
    payloads = []
    for module, name in calls:
        argument = f"__import__('os').system('{command}')" if name in ("eval", "exec") else command
        payloads.append(f"c{module}\n{name}\n(V{argument}\ntR.".encode())  # GLOBAL + REDUCE
        payloads.append(f"(c{module}\n{name}\nV{argument}\no.".encode())  # OBJ
        payloads.append(f"(V{argument}\ni{module}\n{name}\n.".encode())  # INST
        payloads.append(b"\x80\x04\x8c" + bytes([len(module)]) + module.encode() + b"\x94\x8c" + bytes([len(name)])
                        + name.encode() + b"\x94\x93\x94\x8c" + bytes([len(argument)]) + argument.encode()
                        + b"\x94\x85\x94R\x94.")  # STACK_GLOBAL + TUPLE1 + REDUCE
    # a tensor-rebuilding global that is allowed, called with a forged storage and geometry
    payloads.append(b"ctorch._utils\n_rebuild_tensor_v2\n(ctorch\nFloatStorage\n(I0\nI1\ntI0\n(I1\nt(I1\ntI00\n"
                    b"ctorch\nFloatStorage\ntR.")
    payloads.append(b"ccollections\nOrderedDict\n)R(Vk\nccopyreg\n_reconstructor\n(cos\n_wrap_close\n"
                    b"cbuiltins\nobject\nNtRu.")
    return payloads


def archive(members: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> bytes:
    """A zip archive holding ``members``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """Truncates, bit-flips, overwrites, duplicates or empties ``data``."""
    kind = draw(st.sampled_from(["truncate", "flip", "flip", "overwrite", "splice", "empty"]))
    if kind == "empty" or not data:
        return b""
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data) - 1))]
    out = bytearray(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            bit = draw(st.integers(0, len(out) * 8 - 1))
            out[bit // 8] ^= 1 << (bit % 8)
    elif kind == "overwrite":
        at = draw(st.integers(0, len(out) - 1))
        patch = draw(st.sampled_from([b"\xff" * 8, b"\x00" * 8, struct.pack("<Q", 2**63), struct.pack("<q", -1),
                                      b"9" * 20, b"-1", b'"', b"{", b"]"]))
        out[at:at + len(patch)] = patch
    else:
        start = draw(st.integers(0, len(out) - 1))
        out[start:start] = out[start:start + draw(st.integers(1, 4096))]
    return bytes(out)


def forge_header(header: dict, draw: st.DrawFn) -> dict:
    """One forged field of a safetensors header: offsets, shape, dtype, name, metadata."""
    header = json.loads(json.dumps(header))
    names = [name for name in header if name != "__metadata__"]
    name = draw(st.sampled_from(names))
    entry = header[name]
    field = draw(st.sampled_from(["offsets", "shape", "dtype", "rename", "drop", "metadata", "config", "counters",
                                  "kind", "extra"]))
    huge = st.sampled_from([-1, 0, 1, 2**31, 2**32, 2**63 - 1, 2**64, 10**30, 1.5, "8", None])
    if field == "offsets":
        entry["data_offsets"] = [draw(st.one_of(huge, st.integers(0, 1 << 20))) for _ in range(2)]
    elif field == "shape":
        entry["shape"] = draw(st.lists(st.one_of(huge, st.integers(0, 64)), max_size=9))
    elif field == "dtype":
        entry["dtype"] = draw(st.sampled_from(["F64", "F16", "I64", "I8", "BOOL", "U8", "BF16", "X9", "", 4]))
    elif field == "rename":
        header[draw(st.sampled_from(["G.main.0.weight", "D.main.0.weight", "mapping.fc0.weight",
                                     "__metadata__", "", "\udcff"]))] = header.pop(name)
    elif field == "drop":
        del header[name]
    elif field == "extra":
        header["x" * draw(st.integers(1, 300))] = dict(entry)
    else:
        metadata = header.setdefault("__metadata__", {})
        if field == "kind":
            metadata["kind"] = draw(st.sampled_from(["stylegan", "cyclegan", "nope", "", "dcgan"]))
        elif field == "config":
            metadata["config"] = draw(st.sampled_from([
                '{"image_size": 1099511627776}', '{"image_size": 16, "ngf": -1}', '{"seed": -1}', "[]", "null",
                '{"unknown": 1}', "[" * 100000 + "]" * 100000, '{"image_size": 16.5}', "{", '{"channels": "3"}']))
        elif field == "counters":
            metadata["counters"] = draw(st.sampled_from([
                '{"step": -1}', '{"step": 18446744073709551616}', '{"step": 1.5}', "{}", '{"rng_seed": "x"}',
                "[" * 100000 + "]" * 100000]))
        else:
            metadata[draw(st.sampled_from(["format", "format_version"]))] = draw(st.sampled_from(["2", "", "pytorch"]))
    return header


def encode(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(raw)) + raw + data


class Fuzzer:
    """Loads hostile files, counting them and their outcomes."""

    def __init__(self, workdir: Path, last_call_path: str) -> None:
        self.workdir = workdir
        self.canary = workdir / "canary"
        self.cases: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.failures: list[str] = []
        self.slowest = 0.0
        self.last_call = os.open(last_call_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    def keep(self, path: Path) -> str:
        """Keeps a failing case's file for reproduction; returns its path."""
        kept = path.with_name(f"failure{len(self.failures)}{path.suffix}")
        path.replace(kept)
        return str(kept)

    def load(self, area: str, loader, content: bytes, suffix: str, what: str) -> None:
        path = self.workdir / f"case{suffix}"
        path.write_bytes(content)
        os.pwrite(self.last_call, f"{area}: {what} ({len(content)} bytes)".encode().ljust(512), 0)
        self.cases[area] += 1
        start = time.perf_counter()
        try:
            loader(path)
        except MemoryError as error:
            self.failures.append(f"{area}: {what}: tried to allocate too much ({error!r}), kept as {self.keep(path)}")
        except Exception as error:
            kind = type(error)
            module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
            self.errors[f"{module}{kind.__qualname__}"] += 1
        elapsed = time.perf_counter() - start
        self.slowest = max(self.slowest, elapsed)
        if elapsed > SLOW:
            self.failures.append(f"{area}: {what}: took {elapsed:.1f} s, kept as {self.keep(path)}")
        if self.canary.exists():
            self.failures.append(f"{area}: {what}: RAN CODE (the canary file was created)")
            self.canary.unlink()


def main() -> None:
    report_path, budget = sys.argv[1], float(sys.argv[2])
    workdir = Path(tempfile.mkdtemp(prefix="swiftgan-fuzz-files-"))
    fuzzer = Fuzzer(workdir, report_path + ".last")
    start = time.perf_counter()

    gan = sg.DCGAN(image_size=16, channels=1, ngf=4, ndf=4, nz=4, seed=0)
    gan.save(workdir / "good.safetensors")
    checkpoint = (workdir / "good.safetensors").read_bytes()
    header_length = struct.unpack("<Q", checkpoint[:8])[0]
    header, data = json.loads(checkpoint[8:8 + header_length]), checkpoint[8 + header_length:]
    pth = FIXTURE_PTH.read_bytes()
    with zipfile.ZipFile(io.BytesIO(pth)) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    pickle_name = next(name for name in members if name.endswith("data.pkl"))
    prefix = pickle_name[:-len("data.pkl")]

    # fixed cases first: every evil pickle, zip bombs, forged geometry, empty files
    for index, payload in enumerate(evil_pickles(fuzzer.canary)):
        fuzzer.load("malicious pickles", sg.load_torch_state_dict, archive({**members, pickle_name: payload}), ".pth",
                    f"evil pickle {index}")
    bomb = archive({**members, f"{prefix}data/0": bytes(1 << 28)}, zipfile.ZIP_DEFLATED)  # 256 MiB of zeros, ~250 kB
    fuzzer.load("malicious pickles", sg.load_torch_state_dict, bomb, ".pth", "zip bomb storage")
    for content, what in [(b"", "empty"), (b"\0" * 8, "zero header"), (struct.pack("<Q", 2**63), "2**63 header"),
                          (struct.pack("<Q", 100 << 20) + b"{}", "100 MB header in a 10-byte file")]:
        fuzzer.load("forged safetensors", sg.load, content, ".safetensors", what)
        fuzzer.load("malicious pickles", sg.load_torch_state_dict, content, ".pth", what)

    def timed(area: str, strategy, loader, suffix: str, share: float) -> None:
        """Batches of 25 cases, each batch from a fixed seed (0, 1, 2...), until ``share`` seconds have passed."""
        deadline = time.perf_counter() + share
        batch = 0
        while time.perf_counter() < deadline:
            @seed(batch)
            @settings(max_examples=25, database=None, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(strategy)
            def fuzz(case: tuple[bytes, str]) -> None:
                fuzzer.load(area, loader, case[0], suffix, case[1])

            fuzz()
            batch += 1

    remaining = max(budget - (time.perf_counter() - start), 1.0)
    torn = st.composite(lambda draw: (mutate(checkpoint, draw), "mutated checkpoint"))()
    forged = st.composite(lambda draw: (encode(forge_header(header, draw), data), "forged header"))()
    torn_pth = st.composite(lambda draw: (mutate(pth, draw), "mutated .pth"))()
    forged_pickle = st.composite(lambda draw: (archive({**members, pickle_name: mutate(members[pickle_name], draw)}),
                                               "mutated pickle"))()
    timed("torn and bit-flipped checkpoints", torn, sg.load, ".safetensors", remaining * 0.3)
    timed("forged safetensors", forged, sg.load, ".safetensors", remaining * 0.3)
    timed("torn .pth archives", torn_pth, sg.load_torch_state_dict, ".pth", remaining * 0.15)
    timed("malicious pickles", forged_pickle, sg.load_torch_state_dict, ".pth", remaining * 0.25)

    report = {"cases": dict(fuzzer.cases), "errors": dict(fuzzer.errors), "failures": fuzzer.failures,
              "seconds": round(time.perf_counter() - start, 1), "slowest": round(fuzzer.slowest, 3)}
    with open(report_path, "w") as file:
        json.dump(report, file, indent=1)


if __name__ == "__main__":
    main()
