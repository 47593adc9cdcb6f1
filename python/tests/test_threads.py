"""Threads: two models trained at once in two Python threads give exactly the results of training them one after
the other (and really run at once: the GIL is released during compute); one model used from two threads at once is
safe: engine calls on it take turns."""

from __future__ import annotations

import threading
import time

import numpy as np

import swiftgan as sg

from helpers import TINY_DCGAN

STEPS = 40


def train(gan: sg.DCGAN, data: np.ndarray, spans: list[tuple[float, float]]) -> None:
    """STEPS training steps, recording each step's start and end time."""
    for step in range(STEPS):
        start = time.perf_counter()
        gan.train_step(data[(step * 16) % 1600:][:16])
        spans.append((start, time.perf_counter()))


def test_two_models_in_two_threads_match_sequential_training(digits16) -> None:
    config = {**TINY_DCGAN, "ngf": 16, "ndf": 16}
    sequential = [sg.DCGAN(**config, seed=seed) for seed in (1, 2)]
    for gan in sequential:
        train(gan, digits16, [])
    concurrent = [sg.DCGAN(**config, seed=seed) for seed in (1, 2)]
    spans: list[list[tuple[float, float]]] = [[], []]
    threads = [threading.Thread(target=train, args=(gan, digits16, span))
               for gan, span in zip(concurrent, spans, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for alone, together in zip(sequential, concurrent, strict=True):
        for net in ("G", "D"):
            for name, value in alone.nets[net].state_dict().items():
                np.testing.assert_array_equal(together.nets[net].state_dict()[name], value, err_msg=f"{net}.{name}")
    # steps of the two threads overlapped in time: neither held the GIL while computing
    overlaps = sum(a0 < b1 and b0 < a1 for a0, a1 in spans[0] for b0, b1 in spans[1])
    assert overlaps > 0, "the two threads never computed at the same time"


def test_one_model_from_two_threads_takes_turns(digits16) -> None:
    config = {**TINY_DCGAN, "ngf": 32, "ndf": 32}
    gan, reference = sg.DCGAN(**config, seed=0), sg.DCGAN(**config, seed=0)
    samples = reference.generate(2, seed=5)
    done = threading.Event()
    trainer = threading.Thread(target=lambda: (train(gan, digits16, []), done.set()))
    calls = 0
    trainer.start()
    while not done.is_set():  # generate, read the weights and run D while the other thread trains
        assert gan.generate(2, seed=5).shape == samples.shape
        assert gan.nets["G"].state_dict()["main.0.weight"].shape == (100, 64, 4, 4)
        assert gan.nets["D"](digits16[:2]).shape == (2, 1, 1, 1)
        assert 0 <= gan.step <= STEPS
        calls += 4
    trainer.join()
    train(reference, digits16, [])  # the same steps with no other thread: the same weights
    for net in ("G", "D"):
        for name, value in reference.nets[net].state_dict().items():
            np.testing.assert_array_equal(gan.nets[net].state_dict()[name], value, err_msg=f"{net}.{name}")
    print(f"\n{calls} calls from a second thread while the model trained")


def test_backward_into_shared_parameters_from_threads(rng) -> None:
    """Threads differentiating their own graphs into the same parameters take turns on .grad: the gradients add
    up as in one thread."""
    from concurrent.futures import ThreadPoolExecutor

    from swiftgan import functional as F

    weight = sg.tensor(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), requires_grad=True)
    optimizer = sg.optim.SGD([weight], lr=0.0)
    xs = [rng.standard_normal((2, 3, 16, 16)).astype(np.float32) for _ in range(24)]
    backward = lambda x: F.mean(F.square(F.conv2d(sg.tensor(x), weight, padding=1))).backward()  # noqa: E731
    for x in xs:
        backward(x)
    serial = weight.grad.numpy()
    optimizer.zero_grad()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(backward, xs))
        list(pool.map(lambda _: optimizer.step(), range(8)))  # lr 0: a concurrent no-op update
    np.testing.assert_allclose(weight.grad.numpy(), serial, rtol=1e-5, atol=1e-6)


def test_a_child_forked_after_training_trains_alike(digits16) -> None:
    """A fork copies only the forking thread, not the engine's worker threads: the child starts workers of its own, and
    its training matches the parent's, which trains on as well."""
    import os

    config = {**TINY_DCGAN, "image_size": 32, "ngf": 32, "ndf": 32}
    data = np.repeat(np.repeat(digits16[:64], 2, axis=2), 2, axis=3)  # large enough for parallel loops
    warm, parent, child = (sg.DCGAN(**config, seed=seed) for seed in (9, 1, 1))
    warm.train_step(data)  # the parent's workers are running before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: train, send the weights, leave without running the test session's teardown
        try:
            child.train_step(data)
            os.write(write, child.nets["D"].state_dict()["main.2.weight"].tobytes())
        finally:
            os._exit(0)
    os.close(write)
    received = b""
    while chunk := os.read(read, 1 << 20):
        received += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    parent.train_step(data)
    expected = parent.nets["D"].state_dict()["main.2.weight"]
    np.testing.assert_array_equal(np.frombuffer(received, dtype=np.float32).reshape(expected.shape), expected)
