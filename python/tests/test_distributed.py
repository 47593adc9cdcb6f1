"""Data-parallel training over MPI: ``mpirun -np 2`` on localhost runs distributed_worker.py once (module fixture),
and the tests compare what its ranks recorded with each other and with one process.

Skipped, with the reason, only when MPI cannot start here (no ``mpirun``, or ``mpirun -np 2 true`` fails);
``scripts/setup.sh`` installs Open MPI. As root, mpirun needs OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM); two ranks on a
machine with fewer cores need --oversubscribe.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import swiftgan

sys.path.insert(0, str(Path(__file__).parent))
import distributed_worker as worker  # noqa: E402

WORKER = Path(__file__).parent / "distributed_worker.py"
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
"""mpirun refuses to run as root (as tests and CI do here) without these."""


def mpirun(np_: int, *command: str, timeout: float) -> subprocess.CompletedProcess:
    """Runs ``command`` on ``np_`` local ranks (oversubscribing the cores if need be)."""
    return subprocess.run([shutil.which("mpirun") or "mpirun", "--oversubscribe", "-np", str(np_), *command],
                          env={**os.environ, **MPI_ENV}, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the 2-rank worker run wrote (skipping the module if MPI cannot start here)."""
    if shutil.which("mpirun") is None:
        pytest.skip("MPI cannot start: no mpirun on PATH (scripts/setup.sh installs openmpi-bin libopenmpi-dev)")
    try:
        probe = mpirun(2, "true", timeout=60)
    except subprocess.TimeoutExpired:
        pytest.skip("MPI cannot start: `mpirun -np 2 true` did not finish within 60 s")
    if probe.returncode != 0:
        pytest.skip(f"MPI cannot start in this environment: `mpirun -np 2 true` failed: {probe.stderr[-800:]}")
    out = tmp_path_factory.mktemp("mpi")
    result = mpirun(2, sys.executable, str(WORKER), str(out), timeout=300)
    assert result.returncode == 0, f"the 2-rank run failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return out


def recorded(runs: Path, scenario: str) -> list[dict[str, np.ndarray]]:
    """What each rank recorded for ``scenario``: ``values`` (steps x trained values) and ``losses``."""
    return [dict(np.load(runs / f"{scenario}_rank{rank}.npz")) for rank in range(2)]


@pytest.mark.parametrize("scenario", ["sync", "local", "stylegan", "cyclegan"])
def test_every_rank_holds_the_same_weights_after_every_step(runs: Path, scenario: str) -> None:
    rank0, rank1 = recorded(runs, scenario)
    steps = {"sync": 4, "local": 3, "stylegan": 3, "cyclegan": 2}[scenario]
    assert rank0["values"].shape[0] == steps
    for step in range(steps):
        np.testing.assert_array_equal(rank0["values"][step], rank1["values"][step], err_msg=f"after step {step + 1}")
    assert not np.array_equal(rank0["values"][0], rank0["values"][-1]), "training changed nothing"
    np.testing.assert_array_equal(rank0["losses"], rank1["losses"])  # averaged over the ranks


def single_process_dcgan(steps: int) -> tuple[swiftgan.DCGAN, list[np.ndarray]]:
    """The worker's DCGAN trained in this process with the global batch of 64, values after every step."""
    recorder = worker.Recorder(buffers=True)
    gan = swiftgan.DCGAN(**worker.DCGAN_CONFIG)
    gan.fit(worker.dcgan_data(), steps, batch_size=64, progress=False, callbacks=[recorder])
    return gan, recorder.values


def test_two_ranks_of_32_equal_one_process_of_64_with_sync_batchnorm(runs: Path) -> None:
    rank0, _ = recorded(runs, "sync")
    _, single = single_process_dcgan(4)
    for step, expected in enumerate(single):
        # Equal up to the order of float sums (allreduce, per-rank BatchNorm sums): measured ~1e-8.
        np.testing.assert_allclose(rank0["values"][step], expected, rtol=0, atol=2e-6, err_msg=f"step {step + 1}")


def test_per_rank_batchnorm_differs_from_one_process(runs: Path) -> None:
    """Without sync_batchnorm each rank normalizes its 32 images with their own statistics, as the references
    do, so the run is a different (equally valid) computation than one process of 64."""
    rank0, _ = recorded(runs, "local")
    gan = swiftgan.DCGAN(**worker.DCGAN_CONFIG)
    gan.fit(worker.dcgan_data(), 1, batch_size=64, progress=False)
    assert np.abs(rank0["values"][0] - worker.trained_values(gan, buffers=True)).max() > 1e-5


def test_rank_0_alone_writes_the_run_folder(runs: Path) -> None:
    log = (runs / "local" / "log.jsonl").read_text().splitlines()
    assert [line.count('"step"') for line in log] == [1, 1, 1], log  # one line per step: one writer
    assert sorted(p.name for p in (runs / "local" / "samples").iterdir()) == ["step_0000003.png"]
    checkpoint = swiftgan.load(runs / "local" / "checkpoint.safetensors")
    assert checkpoint._training == {"world_size": 2, "batch_size": 64, "sync_batchnorm": False}


def test_resume_on_one_process_continues_a_two_rank_sync_batchnorm_run(runs: Path) -> None:
    gan = swiftgan.load(runs / "sync" / "step2.safetensors")
    assert gan.step == 2
    recorder = worker.Recorder(buffers=True)
    gan.fit(worker.dcgan_data(), 2, batch_size=64, progress=False, callbacks=[recorder])
    rank0, _ = recorded(runs, "sync")
    np.testing.assert_allclose(recorder.values[-1], rank0["values"][-1], rtol=0, atol=2e-6)


def test_resume_on_another_world_size_is_refused_where_the_math_changes(runs: Path) -> None:
    gan = swiftgan.load(runs / "local" / "checkpoint.safetensors")
    with pytest.raises(ValueError, match=r"2 rank\(s\) with a global batch of 64 \(32 per rank\).*BatchNorm"):
        gan.fit(worker.dcgan_data(), 1, batch_size=64, progress=False)
    with pytest.raises(ValueError, match="another global batch.*pass batch_size=64"):
        swiftgan.load(runs / "sync" / "step2.safetensors").fit(worker.dcgan_data(), 1, batch_size=32, progress=False)


def test_cyclegan_refuses_another_world_size(tmp_path: Path) -> None:
    gan = swiftgan.CycleGAN(**worker.CYCLEGAN_CONFIG)
    gan._training = {"world_size": 2, "batch_size": 2, "sync_batchnorm": False}
    domains = [np.zeros((4, 1, 8, 8), np.float32)] * 2
    with pytest.raises(ValueError, match="image pools"):
        gan.fit(domains, 1, batch_size=2, progress=False)


def test_single_process_needs_no_mpi() -> None:
    """Importing swiftgan and training alone never load MPI: the library is opened by distributed.init only."""
    code = ("import swiftgan, numpy as np\n"
            "g = swiftgan.DCGAN(image_size=16, channels=1, ngf=4, ndf=4)\n"
            "g.fit(np.zeros((8, 1, 16, 16), np.float32), 1, batch_size=8, progress=False)\n"
            "assert swiftgan.distributed.world_size() == 1 and not swiftgan.distributed.is_initialized()\n"
            "maps = open('/proc/self/maps').read()\n"
            "assert 'libmpi' not in maps, 'libmpi was loaded'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_init_reports_a_missing_library_clearly() -> None:
    code = ("import swiftgan\n"
            "try:\n"
            "    swiftgan.distributed.init(library='libmpi-does-not-exist.so')\n"
            "except ValueError as error:\n"
            "    assert 'cannot load the MPI library' in str(error), error\n"
            "else:\n"
            "    raise SystemExit('init succeeded')\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cli_trains_with_distributed(runs: Path, tmp_path: Path) -> None:
    """``mpirun -np 2 python -m swiftgan train dcgan ... --distributed``: one run folder, written by rank 0."""
    out = tmp_path / "run"
    result = mpirun(2, sys.executable, "-m", "swiftgan", "train", "dcgan", "--data", "digits", "--image-size", "16",
                    "--ngf", "4", "--ndf", "4", "--nz", "8", "--steps", "2", "--batch-size", "16", "--out", str(out),
                    "--distributed", "--sync-batchnorm", "--quiet", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("step 2 on 2 ranks: checkpoint") == 1, result.stdout
    gan = swiftgan.load(out / "checkpoint.safetensors")
    assert gan.step == 2 and gan._training == {"world_size": 2, "batch_size": 16, "sync_batchnorm": True}


def test_a_rank_failing_alone_ends_the_job(runs: Path) -> None:
    """An exception on rank 0 only aborts every rank (MPI_Abort) instead of leaving rank 1 waiting forever."""
    code = ("import numpy as np, swiftgan\n"
            "rank, _ = swiftgan.distributed.init()\n"
            "def fail(gan, step, losses):\n"
            "    if rank == 0 and step == 2:\n"
            "        raise OSError('disk full on rank 0')\n"
            "gan = swiftgan.DCGAN(image_size=16, channels=1, ngf=4, ndf=4)\n"
            "gan.fit(np.zeros((32, 1, 16, 16), np.float32), 5, batch_size=16, progress=False, callbacks=[fail])\n")
    result = mpirun(2, sys.executable, "-c", code, timeout=120)
    assert result.returncode != 0
    # Open MPI's own "MPI_ABORT was invoked" help text is sometimes lost (ORTE_ERROR_LOG "Data unpack would read past
    # end of buffer" in show_help.c), so only the rank's own message is required; the timeout catches a hang.
    assert "disk full on rank 0" in result.stderr
