"""Nothing is lost: SIGKILL while a checkpoint is written leaves the previous one intact, and Ctrl-C during fit
stops at a step boundary within a second, leaving a model (and checkpoint) that trains on bit-identically."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import swiftgan as sg
from swiftgan.models.base import INTERRUPTIBLE_STEP_SECONDS

from helpers import TINY_DCGAN

KILLS = 12
"""SIGKILLs sent to a process saving checkpoints in a loop."""

SAVER = textwrap.dedent("""
    import sys, swiftgan as sg
    gan = sg.DCGAN(image_size=32, channels=1, ngf=32, ndf=32, seed=0)   # 12 MB checkpoints
    path = sys.argv[1]
    print("ready", flush=True)
    for step in range(1, 10**6):
        gan._model.set_counter("step", step)
        gan.save(path)
""")


@pytest.mark.slow
def test_sigkill_while_saving_leaves_a_loadable_checkpoint(tmp_path) -> None:
    path = tmp_path / "checkpoint.safetensors"
    sg.DCGAN(image_size=32, channels=1, ngf=32, ndf=32, seed=0).save(path)  # the checkpoint before any kill
    delays = np.random.default_rng(6).uniform(0.0, 0.4, KILLS)
    torn_writes, steps = 0, []
    for index, delay in enumerate(delays):
        child = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        if index % 2:  # every other kill waits for a write in progress (its temporary file) and lands in it
            deadline = time.perf_counter() + 10
            while not list(tmp_path.glob(".checkpoint.safetensors.*.tmp")) and time.perf_counter() < deadline:
                time.sleep(0.0005)
        child.send_signal(signal.SIGKILL)
        child.wait()
        leftovers = list(tmp_path.glob(".checkpoint.safetensors.*.tmp"))
        torn_writes += bool(leftovers)  # killed mid-write: the temporary file is left, the checkpoint untouched
        for leftover in leftovers:
            leftover.unlink()
        gan = sg.load(path)
        steps.append(gan.step)
        assert gan.nets["G"].state_dict().keys()
    assert torn_writes >= 1, f"none of {KILLS} kills landed during a write"
    print(f"\n{KILLS} SIGKILLs, {torn_writes} during a write; checkpoints loaded at steps {steps}")


def interrupt_after(seconds: float) -> list[float]:
    """Sends SIGINT to this process after ``seconds``; returns a list that receives the time it was sent."""
    sent: list[float] = []

    def fire() -> None:
        time.sleep(seconds)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=fire, daemon=True).start()
    return sent


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_fit_at_a_step_boundary(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN, seed=0)
    sent = interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        gan.fit(digits16, steps=10**6, batch_size=8, out_dir=tmp_path, progress=False)
    latency = time.perf_counter() - sent[0]
    assert latency < 1.0, f"fit stopped {latency:.2f} s after Ctrl-C"
    assert 0 < gan.step < 10**6
    saved = sg.load(tmp_path / "checkpoint.safetensors")
    assert saved.step == gan.step
    for net in ("G", "D"):
        for name, value in gan.nets[net].state_dict().items():
            np.testing.assert_array_equal(saved.nets[net].state_dict()[name], value)
    log_steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log_steps[-1] == gan.step

    # training on after the interrupt is training straight through
    gan.fit(digits16, steps=3, batch_size=8, progress=False)
    straight = sg.DCGAN(**TINY_DCGAN, seed=0)
    straight.fit(digits16, steps=gan.step, batch_size=8, progress=False)
    np.testing.assert_array_equal(gan.nets["G"].state_dict()["main.0.weight"],
                                  straight.nets["G"].state_dict()["main.0.weight"])
    gan.save(tmp_path / "after.safetensors")
    assert sg.load(tmp_path / "after.safetensors").step == gan.step
    print(f"\nCtrl-C honoured {latency * 1000:.0f} ms after it was sent, at step {saved.step}")


def test_a_second_ctrl_c_interrupts_at_once(digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN, seed=0)

    def interrupt_twice(gan: sg.GAN, step: int, losses: dict) -> None:
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)  # deferred to the end of this step...
            os.kill(os.getpid(), signal.SIGINT)  # ...but a second one raises here

    with pytest.raises(KeyboardInterrupt):
        gan.fit(digits16, steps=10, batch_size=8, progress=False, callbacks=[interrupt_twice])
    assert gan.step == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def checkpoint_tensors(gan: sg.GAN, path) -> tuple[dict[str, np.ndarray], dict]:
    """Everything a checkpoint holds: every net, both optimizers, pools, counters (tensors and metadata)."""
    gan.save(path)
    return sg.safetensors.load_file(path)


def assert_same_state(a: tuple[dict[str, np.ndarray], dict], b: tuple[dict[str, np.ndarray], dict]) -> None:
    assert a[0].keys() == b[0].keys()
    for name in a[0]:
        np.testing.assert_array_equal(a[0][name], b[0][name], err_msg=name)
    assert a[1] == b[1]


LONG_STEP_CYCLEGAN = {"image_size": 16, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2, "pool_size": 4, "seed": 0}
"""The smallest CycleGAN (that of the command-line tests); its steps are made long by a large batch."""


def long_step_batch(config: dict, seconds: float = 0.5) -> int:
    """The batch size at which a training step of ``CycleGAN(**config)`` takes about ``seconds`` on this machine,
    so that a step is longer than INTERRUPTIBLE_STEP_SECONDS on any machine."""
    probe, batch = sg.CycleGAN(**config), 128
    data = [np.zeros((batch, 3, config["image_size"], config["image_size"]), np.float32)] * 2
    probe.train_step(*data)  # the first step allocates
    took = []
    for _ in range(2):
        started = time.perf_counter()
        probe.train_step(*data)
        took.append(time.perf_counter() - started)
    return max(batch, math.ceil(batch * seconds / min(took)))


@pytest.mark.slow
@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_a_long_step_part_way(tmp_path) -> None:
    """A CycleGAN step (both generators through both discriminators, then both discriminators) that follows a long
    step is interruptible: Ctrl-C while it computes stops it part-way and rolls it back, fit writes the checkpoint of
    the step before, and training on is training straight through."""
    batch = long_step_batch(LONG_STEP_CYCLEGAN)
    rng = np.random.default_rng(0)
    data = [rng.uniform(-1, 1, (batch, 3, 16, 16)).astype(np.float32) for _ in range(2)]
    gan = sg.CycleGAN(**LONG_STEP_CYCLEGAN)
    real_train_step = gan.train_step
    steps: list[dict] = []  # per call of train_step: its should_stop, seconds taken, polls, whether it raised

    def train_step(*batches: np.ndarray, should_stop=None) -> dict[str, float]:
        step = {"should_stop": should_stop, "polls": 0, "interrupted": False}
        steps.append(step)

        def poll() -> bool:  # the engine's check, about every 50 ms while the step computes
            step["polls"] += 1
            if len(steps) == 2 and step["polls"] == 1:  # Ctrl-C while the second step computes
                interrupt_after(0.02)
            return should_stop()

        started = time.perf_counter()
        try:
            return real_train_step(*batches, should_stop=poll if should_stop is not None else None)
        except KeyboardInterrupt:
            step["interrupted"] = True
            raise
        finally:
            step["seconds"] = time.perf_counter() - started

    gan.train_step = train_step
    with pytest.raises(KeyboardInterrupt):
        gan.fit(data, steps=10, batch_size=batch, out_dir=tmp_path, progress=False)
    del gan.train_step
    assert len(steps) == 2
    assert steps[0]["seconds"] >= INTERRUPTIBLE_STEP_SECONDS, "the first step was too short to test a long one"
    assert steps[1]["should_stop"] is not None, "a step after a long one should be interruptible"
    assert steps[1]["interrupted"], "the second step should have been stopped part-way"
    assert gan.step == 1, "the second step should have been rolled back"
    interrupted = checkpoint_tensors(gan, tmp_path / "interrupted.safetensors")
    assert_same_state(interrupted, checkpoint_tensors(sg.load(tmp_path / "checkpoint.safetensors"),
                                                      tmp_path / "reloaded.safetensors"))

    straight = sg.CycleGAN(**LONG_STEP_CYCLEGAN)
    straight.fit(data, steps=1, batch_size=batch, progress=False)
    assert_same_state(interrupted, checkpoint_tensors(straight, tmp_path / "straight1.safetensors"))
    gan.fit(data, steps=1, batch_size=batch, progress=False)
    straight.fit(data, steps=1, batch_size=batch, progress=False)
    assert_same_state(checkpoint_tensors(gan, tmp_path / "a.safetensors"),
                      checkpoint_tensors(straight, tmp_path / "b.safetensors"))
    print(f"\nbatch {batch}: a {steps[0]['seconds']:.2f} s step, then one stopped after {steps[1]['seconds']:.2f} s "
          f"at its check {steps[1]['polls']} (Ctrl-C after check 1)")


def test_should_stop_rolls_a_step_back() -> None:
    rng = np.random.default_rng(1)
    batch = rng.uniform(-1, 1, (32, 3, 64, 64)).astype(np.float32)
    gan = sg.DCGAN(image_size=64, channels=3, seed=0)
    before = {net: gan.nets[net].state_dict() for net in ("G", "D")}
    calls = []

    def stop_on_third_call() -> bool:
        calls.append(time.perf_counter())
        return len(calls) == 3

    with pytest.raises(KeyboardInterrupt):
        gan.train_step(batch, should_stop=stop_on_third_call)
    assert len(calls) == 3 and gan.step == 0
    for net, state in before.items():
        for name, value in gan.nets[net].state_dict().items():
            np.testing.assert_array_equal(value, state[name], err_msg=f"{net}.{name}")

    def raises() -> bool:
        raise ValueError("from should_stop")

    with pytest.raises(ValueError, match="from should_stop"):
        gan.train_step(batch, should_stop=raises)

    def uses_the_model() -> bool:  # as a signal handler might: refused instead of waiting for itself forever
        gan.generate(1)
        return False

    with pytest.raises(RuntimeError, match="middle of a training step"):
        gan.train_step(batch, should_stop=uses_the_model)
    with pytest.raises(TypeError, match="should_stop"):
        gan.train_step(batch, should_stop=3)
    assert gan.step == 0
    gan.train_step(batch, should_stop=lambda: False)
    straight = sg.DCGAN(image_size=64, channels=3, seed=0)
    straight.train_step(batch)
    for net in ("G", "D"):
        for name, value in gan.nets[net].state_dict().items():
            np.testing.assert_array_equal(value, straight.nets[net].state_dict()[name], err_msg=f"{net}.{name}")
