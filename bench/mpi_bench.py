"""Data-parallel throughput over MPI: DCGAN-32 (1 channel, the paper's widths) at a global batch of 64, in images per
second, for one process without MPI (2 threads and 1 thread) and for 1, 2 and 4 ranks under ``mpirun`` (each rank
with ``swiftgan.distributed.threads_per_rank()`` threads: the machine's cores divided among the ranks, at least 1).

Prints one line per configuration and the scaling efficiencies:
- ``eff vs 1 rank`` = throughput_n / (n * throughput_1), the usual definition (1 rank already uses every core here);
- ``vs 1 process`` = throughput_n / throughput of one process with 2 threads and no MPI;
- ``per core`` = throughput_n / (min(n, cores) * throughput of one process with 1 thread): how well the cores in use
  are kept busy.
On a machine with fewer cores than ranks (this project's has 2), 4 ranks oversubscribe the cores: they time-share.

Every configuration runs in a fresh process (``--worker`` mode): ``--warmup`` steps, then ``--steps`` timed steps of
``fit`` (random data; data and noise are drawn as in any run), ``--rounds`` times, the fastest round counting.

Usage: python bench/mpi_bench.py [--ranks 1 2 4] [--steps 20] [--warmup 3] [--rounds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

GLOBAL_BATCH = 64
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
"""mpirun refuses to run as root without these."""


def worker(args: argparse.Namespace) -> None:
    """One configuration: prints ``{"images_per_s": ..., "threads": ..., "world": ...}`` from rank 0."""
    import numpy as np

    import swiftgan

    if args.mpi:
        swiftgan.distributed.init()
    else:
        swiftgan.set_num_threads(args.threads)
    data = np.random.default_rng(0).uniform(-1, 1, size=(4096, 1, 32, 32)).astype(np.float32)
    gan = swiftgan.DCGAN(image_size=32, channels=1, seed=0)
    gan.fit(data, args.warmup, batch_size=GLOBAL_BATCH, progress=False)
    best = float("inf")
    for _ in range(args.rounds):
        swiftgan.distributed.barrier()
        start = time.perf_counter()
        gan.fit(data, args.steps, batch_size=GLOBAL_BATCH, progress=False)
        # Every rank ends a step together (the allreduce), so rank 0's clock is the job's.
        best = min(best, time.perf_counter() - start)
    if swiftgan.distributed.rank() == 0:
        print(json.dumps({"images_per_s": args.steps * GLOBAL_BATCH / best, "threads": swiftgan.get_num_threads(),
                          "world": swiftgan.distributed.world_size()}))


def run(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Runs a worker command and returns its JSON line."""
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; the fastest counts (default: %(default)s)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mpi", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if shutil.which("mpirun") is None:
        raise SystemExit("mpirun not found: install openmpi-bin libopenmpi-dev (scripts/setup.sh does)")
    cores = os.cpu_count() or 1
    common = ["--worker", "--steps", str(args.steps), "--warmup", str(args.warmup), "--rounds", str(args.rounds)]
    me = [sys.executable, os.path.abspath(__file__)]
    results = {"single_2_threads": run(me + common + ["--threads", "2"]),
               "single_1_thread": run(me + common + ["--threads", "1"])}
    for n in args.ranks:
        # --bind-to none: Open MPI would pin a lone rank to one core; the engine threads divide the cores instead.
        results[f"ranks_{n}"] = run(["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(n), *me, *common, "--mpi"],
                                    MPI_ENV)
    single2, single1 = results["single_2_threads"]["images_per_s"], results["single_1_thread"]["images_per_s"]
    base = results.get("ranks_1", {}).get("images_per_s")
    print(f"DCGAN-32, global batch {GLOBAL_BATCH}, {cores} cores; fastest of {args.rounds} rounds of {args.steps} steps")
    print(f"{'configuration':<26}{'threads/rank':>13}{'images/s':>10}{'eff vs 1 rank':>15}{'vs 1 process':>14}"
          f"{'per core':>10}")
    print(f"{'1 process, no MPI':<26}{2:>13}{single2:>10.1f}{'':>15}{1.0:>14.2f}{single2 / (min(2, cores) * single1):>10.2f}")
    print(f"{'1 process, no MPI':<26}{1:>13}{single1:>10.1f}{'':>15}{single1 / single2:>14.2f}{1.0:>10.2f}")
    for n in args.ranks:
        r = results[f"ranks_{n}"]
        eff = f"{r['images_per_s'] / (n * base):.2f}" if base else "-"
        over = " (oversubscribed)" if n > cores else ""
        print(f"{f'{n} rank(s){over}':<26}{r['threads']:>13}{r['images_per_s']:>10.1f}{eff:>15}"
              f"{r['images_per_s'] / single2:>14.2f}{r['images_per_s'] / (min(n * r['threads'], cores) * single1):>10.2f}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
