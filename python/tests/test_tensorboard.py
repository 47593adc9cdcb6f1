"""swiftgan.callbacks.TensorBoard: the event files it writes, read back with a reader of the TFRecord framing and
tensorboardX's protobuf classes (so the test needs neither TensorBoard nor TensorFlow)."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import swiftgan as sg

from helpers import TINY_DCGAN
from test_cli import TINY, run

event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")

GRID_16 = 2 + 8 * 18
"""The side of the grid of 64 16x16 samples (padding 2)."""


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C = _crc32c_table()


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C, rotated right by 15 bits plus 0xa282ead8."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path: Path) -> list[bytes]:
    """The records of a TFRecord file (length u64, its masked CRC u32, the data, its masked CRC u32), checked."""
    data, records, at = path.read_bytes(), [], 0
    while at < len(data):
        header = data[at:at + 8]
        (length,), (header_crc,) = struct.unpack("<Q", header), struct.unpack("<I", data[at + 8:at + 12])
        assert header_crc == masked_crc32c(header), f"{path}: bad length checksum at byte {at}"
        record = data[at + 12:at + 12 + length]
        (record_crc,) = struct.unpack("<I", data[at + 12 + length:at + 16 + length])
        assert len(record) == length and record_crc == masked_crc32c(record), f"{path}: bad record at byte {at}"
        records.append(record)
        at += 16 + length
    return records


@dataclass
class Run:
    """What TensorBoard would show of a log folder: tag -> [(step, value)], in the order written."""

    scalars: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    images: dict[str, list[tuple[int, np.ndarray]]] = field(default_factory=dict)
    files: int = 0

    def steps(self, tag: str) -> list[int]:
        return [step for step, _ in self.scalars[tag]]

    def values(self, tag: str) -> list[float]:
        return [value for _, value in self.scalars[tag]]


def read_run(log_dir: Path) -> Run:
    """Every event file of ``log_dir`` in name order (TensorBoard's), applying its restarts: a ``SessionLog.START``
    at step s (tensorboardX's ``purge_step``) drops the events read so far at steps s and later."""
    run = Run()
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        run.files += 1
        for record in read_records(path):
            event = event_pb2.Event.FromString(record)
            if event.HasField("session_log") and event.session_log.status == event_pb2.SessionLog.START:
                for series in (*run.scalars.values(), *run.images.values()):
                    series[:] = [point for point in series if point[0] < event.step]
            for value in event.summary.value:
                if value.HasField("image"):
                    picture = np.asarray(Image.open(io.BytesIO(value.image.encoded_image_string)))
                    assert picture.shape == (value.image.height, value.image.width, value.image.colorspace)
                    run.images.setdefault(value.tag, []).append((event.step, picture))
                else:
                    run.scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return run


def as_float32(values: list[float]) -> list[float]:
    """What an event's float32 ``simple_value`` holds of each value."""
    return [float(np.float32(value)) for value in values]


def test_losses_and_grids_are_written_at_every_step_and_sample(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    board = sg.callbacks.TensorBoard(tmp_path / "board")
    history = gan.fit(digits16, steps=7, batch_size=8, out_dir=tmp_path / "out", sample_every=3,
                      callbacks=[board], progress=False)
    events = read_run(tmp_path / "board")
    assert set(events.scalars) == {f"loss/{name}" for name in gan.loss_names} == {
        "loss/loss_d", "loss/loss_g", "loss/d_real", "loss/d_fake"}
    for name in gan.loss_names:
        assert events.steps(f"loss/{name}") == history["step"] == list(range(1, 8))
        assert events.values(f"loss/{name}") == as_float32(history[name])
    # the grids of fit's sample_every, and of the last step: the pictures fit saves in out_dir, as RGB
    assert [step for step, _ in events.images["samples"]] == [3, 6, 7]
    for step, picture in events.images["samples"]:
        assert picture.shape == (GRID_16, GRID_16, 3) and picture.dtype == np.uint8
        saved = np.asarray(Image.open(tmp_path / "out" / "samples" / f"step_{step:07d}.png"))
        np.testing.assert_array_equal(picture, np.repeat(saved[..., None], 3, axis=2))
    np.testing.assert_array_equal(events.images["samples"][-1][1][..., 0], gan.preview_grid([digits16]))
    assert board._writer is None and board._data is None  # closed, and the data let go


def test_log_every_writes_means_and_a_later_fit_continues(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    board = sg.callbacks.TensorBoard(tmp_path, log_every=3, sample_every=4)
    first = gan.fit(digits16, steps=7, batch_size=8, callbacks=[board], progress=False)
    second = gan.fit(digits16, steps=3, batch_size=8, callbacks=[board], progress=False)
    events = read_run(tmp_path)
    assert events.files == 2  # one per fit call, in the same second without overwriting each other
    windows = [(3, slice(0, 3)), (6, slice(3, 6)), (7, slice(6, 7)), (9, slice(7, 9)), (10, slice(9, 10))]
    for name in gan.loss_names:
        values = first[name] + second[name]
        assert events.scalars[f"loss/{name}"] == [(step, float(np.float32(np.mean(values[window]))))
                                                  for step, window in windows]
    assert [step for step, _ in events.images["samples"]] == [4, 7, 8, 10]


def test_a_resumed_run_hides_the_steps_past_its_checkpoint(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    gan.fit(digits16, steps=3, batch_size=8, callbacks=[sg.callbacks.TensorBoard(tmp_path, images=False)],
            progress=False)
    gan.save(tmp_path / "at3.safetensors")
    gan.fit(digits16, steps=4, batch_size=8, callbacks=[sg.callbacks.TensorBoard(tmp_path, images=False)],
            progress=False)
    resumed = sg.load(tmp_path / "at3.safetensors")
    history = resumed.fit(digits16, steps=2, batch_size=8, callbacks=[sg.callbacks.TensorBoard(tmp_path)],
                          progress=False)
    events = read_run(tmp_path)
    assert events.files == 3 and events.steps("loss/loss_d") == [1, 2, 3, 4, 5]
    assert events.values("loss/loss_g")[3:] == as_float32(history["loss_g"])
    assert [step for step, _ in events.images["samples"]] == [5]


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_the_file_is_complete_when_fit_is_interrupted(tmp_path, digits16, error) -> None:
    def interrupt(gan, step, losses) -> None:
        if step == 3:
            raise error

    gan = sg.DCGAN(**TINY_DCGAN)
    board = sg.callbacks.TensorBoard(tmp_path, log_every=2, sample_every=2, flush_secs=1000)
    with pytest.raises(error):
        gan.fit(digits16, steps=10, batch_size=8, callbacks=[board, interrupt], progress=False)
    events = read_run(tmp_path)  # closed by on_fit_end: everything is on disk although flush_secs has not passed
    assert events.steps("loss/loss_d") == [2, 3]  # the mean of steps 1-2, then step 3's value, left in the window
    assert [step for step, _ in events.images["samples"]] == [2]  # no grid of the end when fit raises


def test_a_stop_ends_with_the_grid_of_the_last_step(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    board = sg.callbacks.TensorBoard(tmp_path, sample_every=100)
    gan.fit(digits16, steps=10, batch_size=8, progress=False,
            callbacks=[board, lambda gan, step, losses: "stop" if step == 2 else None])
    events = read_run(tmp_path)
    assert events.steps("loss/loss_g") == [1, 2] and [step for step, _ in events.images["samples"]] == [2]


def test_outside_fit_it_writes_scalars_until_closed(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    with sg.callbacks.TensorBoard(tmp_path, log_every=2) as board:
        for index in range(3):
            losses = gan.train_step(digits16[8 * index:8 * index + 8])
            board(gan, gan.step, losses)
        board.writer.add_text("note", "written by the user", gan.step)
    events = read_run(tmp_path)
    assert events.steps("loss/d_fake") == [2, 3] and not events.images


def test_only_rank_0_writes(tmp_path, digits16, monkeypatch) -> None:
    gan = sg.DCGAN(**TINY_DCGAN)
    board = sg.callbacks.TensorBoard(tmp_path / "board", sample_every=1)
    monkeypatch.setattr(sg.distributed, "rank", lambda: 1)
    board.on_fit_start(gan, sg.models.base.FitInfo((digits16,), 1, 8, 1, 1))
    board(gan, 1, gan.train_step(digits16[:8]))
    board.on_fit_end(gan, 1, None)
    board.close()
    assert not (tmp_path / "board").exists()


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="log_every must be an int >= 1, got 0"):
        sg.callbacks.TensorBoard("runs/x", log_every=0)
    with pytest.raises(ValueError, match="sample_every must be an int >= 1 or None, got 2.5"):
        sg.callbacks.TensorBoard("runs/x", sample_every=2.5)
    with pytest.raises(ValueError, match="flush_secs must be a number > 0"):
        sg.callbacks.TensorBoard("runs/x", flush_secs=0)


def test_import_swiftgan_needs_no_tensorboardx_and_the_callback_says_what_to_install(tmp_path) -> None:
    code = ("import sys\n"
            "import swiftgan\n"
            "print('tensorboardX' in sys.modules)\n"
            "sys.modules['tensorboardX'] = None\n"
            f"try:\n    swiftgan.callbacks.TensorBoard({str(tmp_path / 'x')!r})\n"
            "except ImportError as e:\n    print(e)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    imported, message = result.stdout.splitlines()
    assert imported == "False" and 'needs tensorboardX: pip install "swiftgan[tensorboard]"' in message
    assert not (tmp_path / "x").exists()


def test_cli_tensorboard_option(tmp_path) -> None:
    out, board = tmp_path / "run", tmp_path / "board"
    result = run("train", "dcgan", *TINY, "--steps", "3", "--out", str(out), "--sample-every", "2",
                 "--tensorboard", str(board))
    assert result.returncode == 0, result.stderr
    assert f"TensorBoard events in {board}" in result.stdout
    events = read_run(board)
    assert events.steps("loss/loss_d") == [1, 2, 3] and [step for step, _ in events.images["samples"]] == [2, 3]
    assert events.images["samples"][0][1].shape == (GRID_16, GRID_16, 3)
    (logged,) = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]  # --log-every 10
    assert logged["loss_d"] == pytest.approx(np.mean(events.values("loss/loss_d")), rel=1e-6)


def test_cyclegan_grids_show_the_training_data(tmp_path, digits16) -> None:
    gan = sg.CycleGAN(image_size=16, in_channels=1, out_channels=1, ngf=4, ndf=4, n_blocks=1, n_layers_d=2)
    domains = [digits16[:12], digits16[12:24]]
    history = gan.fit(domains, steps=2, batch_size=1, out_dir=tmp_path / "out", sample_every=2,
                      callbacks=[sg.callbacks.TensorBoard(tmp_path / "board")], progress=False)
    events = read_run(tmp_path / "board")
    assert set(events.scalars) == {f"loss/{name}" for name in gan.loss_names}
    assert events.values("loss/cycle_A") == as_float32(history["cycle_A"])
    ((step, picture),) = events.images["samples"]  # six rows of eight: real A, G_A(A), ..., from the data
    assert step == 2 and picture.shape == (2 + 6 * 18, 2 + 8 * 18, 3)
    saved = np.asarray(Image.open(tmp_path / "out" / "samples" / "step_0000002.png"))
    np.testing.assert_array_equal(picture[..., 0], saved)
    np.testing.assert_array_equal(picture[2:18, 2:18, 0], sg.images.make_grid(digits16[0], padding=0))
