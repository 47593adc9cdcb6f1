"""Reading torch.save checkpoints without PyTorch, and refusing pickles that try to run code."""
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from swiftgan import safetensors
from swiftgan.torch_io import load_torch_state_dict

MODELS = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "models"


@pytest.mark.parametrize("name", ["dcgan32_G", "dcgan64_D", "cyclegan_resnet6_G", "cyclegan_patchgan_D"])
def test_pth_matches_safetensors(name):
    state = load_torch_state_dict(MODELS / f"{name}.pth")
    reference, _ = safetensors.load_file(MODELS / f"{name}.safetensors")
    weights = {k: v for k, v in reference.items() if not k.startswith("__")}
    assert set(weights) == {k for k in state if not k.endswith("num_batches_tracked")}
    for key, value in weights.items():
        assert state[key].dtype == np.float32 and state[key].flags.c_contiguous
        np.testing.assert_array_equal(state[key], value)
    if name.startswith("dcgan"):
        tracked = [k for k in state if k.endswith("num_batches_tracked")]
        assert tracked and all(state[k].dtype == np.int64 and state[k].shape == () for k in tracked)


def _archive_with_pickle(tmp_path: Path, payload: bytes, extra: dict | None = None) -> Path:
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", payload)
        for name, data in (extra or {}).items():
            z.writestr(f"evil/{name}", data)
    return path


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_that_calls_anything_else_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = _archive_with_pickle(tmp_path, pickle.dumps({"w": _RunsCode(marker)}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        load_torch_state_dict(path)
    assert not marker.exists()
    for module, name in [("os", "system"), ("builtins", "eval"), ("subprocess", "Popen"), ("torch", "load")]:
        evil = f"c{module}\n{name}\n(S'echo hi'\ntR.".encode()
        with pytest.raises(pickle.UnpicklingError, match=f"refusing to load global '{module}.{name}'"):
            load_torch_state_dict(_archive_with_pickle(tmp_path, evil))


def test_inconsistent_archives_raise_clear_errors(tmp_path):
    good = (MODELS / "dcgan32_G.pth").read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="not a zip-format"):
        load_torch_state_dict(truncated)
    with pytest.raises(OSError):
        load_torch_state_dict(tmp_path / "missing.pth")
    # A storage shorter than its declared element count.
    src = zipfile.ZipFile(MODELS / "dcgan32_G.pth")
    short = tmp_path / "short.pth"
    with zipfile.ZipFile(short, "w") as z:
        for info in src.infolist():
            data = src.read(info)
            z.writestr(info.filename, data[:-4] if info.filename.endswith("data/0") else data)
    with pytest.raises(pickle.UnpicklingError, match="storage '0' holds"):
        load_torch_state_dict(short)
    # A storage that is missing altogether.
    missing = tmp_path / "missing_storage.pth"
    with zipfile.ZipFile(missing, "w") as z:
        for info in src.infolist():
            if not info.filename.endswith("data/0"):
                z.writestr(info.filename, src.read(info))
    with pytest.raises(pickle.UnpicklingError, match="missing from the archive"):
        load_torch_state_dict(missing)
    no_pickle = tmp_path / "no_pickle.pth"
    with zipfile.ZipFile(no_pickle, "w") as z:
        z.writestr("readme.txt", "no pickle here")
    with pytest.raises(ValueError, match="expected one"):
        load_torch_state_dict(no_pickle)


def test_strided_views_are_bounds_checked(tmp_path):
    """A tensor whose size reads past its storage is refused rather than reading stray memory."""
    src = zipfile.ZipFile(MODELS / "dcgan32_G.pth")
    pkl_name = [n for n in src.namelist() if n.endswith("data.pkl")][0]
    data = src.read(pkl_name)
    # main.0.weight is [100, 64, 4, 4] (BININT1 opcodes); declare 200 rows instead of 100.
    patched = data.replace(b"K\x64K\x40K\x04K\x04t", b"K\xc8K\x40K\x04K\x04t", 1)
    assert patched != data
    bad = tmp_path / "overrun.pth"
    with zipfile.ZipFile(bad, "w") as z:
        for info in src.infolist():
            z.writestr(info.filename, patched if info.filename == pkl_name else src.read(info))
    with pytest.raises(pickle.UnpicklingError, match="reads past its storage"):
        load_torch_state_dict(bad)
