"""The shared training loop: outputs, callbacks, the log across resumes, deterministic batches, and resume
bit-identity across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg
from swiftgan.models import batch_indices
from swiftgan.safetensors import load_file

from helpers import TINY_DCGAN


def read_log(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_fit_writes_samples_log_and_checkpoints(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    history = gan.fit(digits16, steps=7, batch_size=8, out_dir=tmp_path, sample_every=3, checkpoint_every=5,
                      log_every=2, progress=False)
    assert history["step"] == list(range(1, 8)) and gan.step == 7
    assert set(history) == {"step", *gan.loss_names} and all(len(v) == 7 for v in history.values())
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "step_0000003.png", "step_0000006.png", "step_0000007.png"]
    grid = Image.open(tmp_path / "samples" / "step_0000007.png")
    assert grid.mode == "L" and grid.size == (2 + 8 * 18, 2 + 8 * 18)  # 64 samples of 16x16, padding 2
    log = read_log(tmp_path / "log.jsonl")
    assert [line["step"] for line in log] == [2, 4, 6, 7]
    assert log[0]["loss_d"] == pytest.approx(np.mean(history["loss_d"][:2]))
    assert log[-1]["d_fake"] == pytest.approx(history["d_fake"][-1])
    restored = sg.load(tmp_path / "checkpoint.safetensors")
    assert restored.step == 7  # written at step 5, then after the last step


def test_callbacks_see_every_step_and_can_stop(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    seen = []

    def record(model, step, losses):
        assert model is gan and set(losses) == set(gan.loss_names)
        seen.append(step)

    history = gan.fit(digits16, steps=10, batch_size=8, out_dir=tmp_path, checkpoint_every=100,
                      callbacks=[record, lambda model, step, losses: "stop" if step == 4 else None], progress=False)
    assert seen == [1, 2, 3, 4] and history["step"] == [1, 2, 3, 4]
    assert sg.load(tmp_path / "checkpoint.safetensors").step == 4


def test_log_lines_past_the_checkpoint_are_dropped_on_resume(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    gan.fit(digits16, steps=4, batch_size=8, out_dir=tmp_path, log_every=1, checkpoint_every=2, progress=False)
    gan.save(tmp_path / "at4.safetensors")
    gan.fit(digits16, steps=3, batch_size=8, out_dir=tmp_path, log_every=1, checkpoint_every=100, progress=False)
    with (tmp_path / "log.jsonl").open("a") as log:
        log.write('{"step": 8, "loss_d"')  # torn by a crash
    resumed = sg.load(tmp_path / "at4.safetensors")
    resumed.fit(digits16, steps=2, batch_size=8, out_dir=tmp_path, log_every=1, progress=False)
    assert [line["step"] for line in read_log(tmp_path / "log.jsonl")] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    "data, kwargs, error, message",
    [
        (np.zeros((16, 1, 16, 16)), {}, TypeError, r"fit: data\[0\] must be a float32 numpy array .*got float64"),
        (np.zeros((4, 1, 16, 16), np.float32), {}, ValueError, r"data\[0\] has 4 examples, fewer than batch_size 8"),
        (np.zeros((16, 16, 16), np.float32), {}, ValueError, r"must be images shaped \(N, C, H, W\)"),
        (np.zeros((16, 1, 16, 16), np.float32), {"steps": -1}, ValueError, r"fit: steps must be an int >= 0"),
        (np.zeros((16, 1, 16, 16), np.float32), {"sample_every": 0}, ValueError, r"fit: sample_every must be"),
        (np.zeros((16, 1, 16, 16), np.float32), {"batch_size": 0}, ValueError, r"fit: batch_size must be"),
        (np.zeros((16, 3, 16, 16), np.float32), {}, ValueError, r"expected images \[N, 1, 16, 16\]"),
    ],
)
def test_fit_rejects_bad_data_and_arguments(tmp_path, data, kwargs, error, message) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    with pytest.raises(error, match=message):
        gan.fit(data, **{"steps": 2, "batch_size": 8, "progress": False, **kwargs})
    assert gan.step == 0


def test_batch_indices_walk_seeded_permutations() -> None:
    epoch = np.concatenate([batch_indices(7, 0, step, 50, 12) for step in range(4)])
    assert len(set(epoch.tolist())) == 48  # 4 batches of 12 distinct examples, 2 left over
    next_epoch = np.concatenate([batch_indices(7, 0, step, 50, 12) for step in range(4, 8)])
    assert not np.array_equal(epoch, next_epoch)
    np.testing.assert_array_equal(batch_indices(7, 0, 5, 50, 12), next_epoch[12:24])
    assert not np.array_equal(batch_indices(8, 0, 0, 50, 12), epoch[:12])
    assert not np.array_equal(batch_indices(7, 1, 0, 50, 12), epoch[:12])
    with pytest.raises(ValueError, match=r"batch_size must be between 1 and the number of examples \(50\)"):
        batch_indices(7, 0, 0, 50, 51)


RESUME_SCRIPT = textwrap.dedent("""
    import sys
    import swiftgan as sg
    gan = sg.load(sys.argv[1])
    gan.fit(sg.datasets.digits(size=16), steps=int(sys.argv[3]), batch_size=8, progress=False)
    gan.save(sys.argv[2])
""")


def test_resume_in_a_new_process_is_bit_identical(tmp_path, digits16) -> None:
    n = 3
    straight = sg.DCGAN(**TINY_DCGAN, seed=5)
    straight.fit(digits16, steps=2 * n, batch_size=8, progress=False)
    straight.save(tmp_path / "straight.safetensors")

    first = sg.DCGAN(**TINY_DCGAN, seed=5)
    first.fit(digits16, steps=n, batch_size=8, progress=False)
    first.save(tmp_path / "half.safetensors")
    subprocess.run([sys.executable, "-c", RESUME_SCRIPT, str(tmp_path / "half.safetensors"),
                    str(tmp_path / "resumed.safetensors"), str(n)], check=True)

    expected, expected_metadata = load_file(tmp_path / "straight.safetensors")
    resumed, resumed_metadata = load_file(tmp_path / "resumed.safetensors")
    assert resumed_metadata == expected_metadata  # config and counters: step, RNG position, optimizer steps
    assert set(resumed) == set(expected)
    different = [name for name in expected if not np.array_equal(resumed[name], expected[name])]
    assert not different, f"state tensors differ after resuming: {different}"
