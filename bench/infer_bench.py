"""Inference benchmark: StyleGAN2 generation and CycleGAN translation, swiftgan against every CPU peer, side by side.

Peers, each in its own long-lived process with the same thread count:
- torch: PyTorch running the reference networks themselves: NVlabs' StyleGAN2 Generator from a checkout of
  NVlabs/stylegan2-ada-pytorch (`--nvlabs`, never part of this project; `force_fp32=True`, constant noise), and
  junyanz's CycleGAN ResnetGenerator (resnet_9blocks) as `../shared/bench/torch_ref.py` defines it;
- onnxruntime and openvino: the same PyTorch networks exported with `torch.onnx.export` (once per configuration,
  into `--work-dir`; StyleGAN2 with `fused_modconv=False`, the styles applied to the activations, since NVlabs'
  per-sample weights do not export), run in float32 (OpenVINO's precision hint is set to f32: on CPUs with bfloat16 it would
  otherwise compute in bfloat16).

The networks are the published configurations with random weights: StyleGAN2 with z = w = 512, 8 mapping layers,
channel_max 512, conv_clamp 256, channel_base 16384 at 256 px and 32768 at 512 and 1024 px (15.1, 60.3 and 75.5
GMAC per image, SPEC.md section 8); CycleGAN's ResnetGenerator with ngf 64 and 9 residual blocks on one image.
Calls are paired as in train_bench.py: the processes take single calls in turn, rotating which goes first, and each
ratio is the median over rounds of swiftgan's time divided by the peer's (or by the fastest peer's of that round).
GFLOP/s counts multiply-adds as two FLOPs; the OpenBLAS sgemm rate of a large product is printed for scale.

Then `translate(image, tile=...)` on images larger than a tile: time and peak RSS of swiftgan's tiled translation,
with its largest difference from the untiled result where that fits.

Usage: python bench/infer_bench.py --torch-python /path/to/venv/bin/python --nvlabs /path/to/stylegan2-ada-pytorch
       [--only stylegan2 cyclegan tiles] [--sizes 256 512 1024] [--batches 1 8] [--pairs 4] [--threads 2]
The torch Python needs torch, onnx, onnxscript (torch.onnx.export's exporter), onnxruntime and openvino
(pip install torch onnx onnxscript onnxruntime openvino).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_bench import PROTOCOL, TORCH_REF, Worker, swiftgan_build  # noqa: E402 (the paired-step protocol every worker speaks)

STYLEGAN_GMAC = {256: 15.1, 512: 60.3, 1024: 75.5}
"""Multiply-adds of one image of NVlabs' generator (SPEC.md section 8)."""

PEERS = ("torch", "onnxruntime", "openvino")


def channel_base(size: int) -> int:
    return 16384 if size <= 256 else 32768


def cyclegan_gmac(size: int, blocks: int = 9, ngf: int = 64) -> float:
    """Multiply-adds of junyanz's ResnetGenerator on one size x size image."""
    s, c = size, ngf
    macs = 49 * 3 * c * s * s  # 7x7 in
    macs += 9 * c * 2 * c * (s // 2) ** 2 + 9 * 2 * c * 4 * c * (s // 4) ** 2  # downsampling
    macs += blocks * 2 * 9 * (4 * c) ** 2 * (s // 4) ** 2  # residual blocks
    macs += 9 * 4 * c * 2 * c * (s // 4) ** 2 + 9 * 2 * c * c * (s // 2) ** 2  # conv-transposes (per input pixel)
    macs += 49 * c * 3 * s * s  # 7x7 out
    return macs / 1e9


# --- workers: `step` runs one call; PROTOCOL serves the paired rounds ----------------------------------------------

SWIFTGAN_WORKER = """
import sys, numpy as np, swiftgan
kind, size, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
swiftgan.set_num_threads(threads)
if kind == "stylegan2":
    gan = swiftgan.StyleGAN(resolution=size, channels=3, z_dim=512, w_dim=512, mapping_layers=8,
                            channel_base=16384 if size <= 256 else 32768, channel_max=512, conv_clamp=256.0,
                            trainable=False, seed=0)
    z = np.random.RandomState(0).randn(batch, 512).astype(np.float32)
    step = lambda: gan.synthesis(gan.mapping(z), "const")
else:
    net = swiftgan.CycleGAN(image_size=256, n_blocks=9, seed=0).nets["G_A"]
    x = np.random.default_rng(0).uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)
    step = lambda: net(x)
""" + PROTOCOL

#: Builds the reference PyTorch network of a configuration as `model` with its input `example` (shared by the torch
#: worker and the ONNX export).
TORCH_MODEL = """
import importlib.util, sys, types, torch
kind, size, batch, threads, nvlabs, torch_ref = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                                                 sys.argv[5], sys.argv[6])
torch.set_num_threads(threads); torch.manual_seed(0)
if kind == "stylegan2":
    sys.modules.setdefault("requests", types.ModuleType("requests"))  # dnnlib imports it; nothing here downloads
    sys.path.insert(0, nvlabs)
    from training.networks import Generator
    G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=size, img_channels=3, mapping_kwargs={"num_layers": 8},
                  synthesis_kwargs={"channel_base": 16384 if size <= 256 else 32768, "channel_max": 512,
                                    "num_fp16_res": 4, "conv_clamp": 256}).eval().requires_grad_(False)
    class Generate(torch.nn.Module):
        options = {}  # the export folds the styles into the activations (fused_modconv=False)
        def __init__(self, G):
            super().__init__(); self.G = G
        def forward(self, z):
            return self.G(z, None, noise_mode="const", force_fp32=True, **self.options)
    model, example = Generate(G), torch.randn(batch, 512)
else:
    spec = importlib.util.spec_from_file_location("torch_ref", torch_ref)
    ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
    model, example = ref.cyc_G(9).eval().requires_grad_(False), torch.rand(batch, 3, size, size) * 2 - 1
"""

TORCH_WORKER = TORCH_MODEL + """
def step():
    with torch.no_grad():
        model(example)
""" + PROTOCOL

EXPORT = TORCH_MODEL + """
import warnings
warnings.filterwarnings("ignore")
if kind == "stylegan2":  # per-sample weights (NVlabs' grouped convolution) do not export; styles on activations do
    model.options = {"fused_modconv": False}
with torch.no_grad():
    torch.onnx.export(model, (example,), sys.argv[7], input_names=["x"], output_names=["y"], opset_version=18,
                      dynamo=True, verbose=False)
    expected = model(example).numpy()
import onnxruntime  # the export computes what the network computes
got = onnxruntime.InferenceSession(sys.argv[7]).run(None, {"x": example.numpy()})[0]
error = abs(got - expected).max() / abs(expected).max()
assert error < 1e-4, f"the ONNX export differs from the network by {error:.1e} (relative)"
"""

ONNXRUNTIME_WORKER = """
import sys, numpy as np, onnxruntime as ort
path, threads = sys.argv[1], int(sys.argv[2])
options = ort.SessionOptions()
options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
spec = session.get_inputs()[0]
x = np.random.default_rng(0).uniform(-1, 1, spec.shape).astype(np.float32)
step = lambda: session.run(None, {spec.name: x})
""" + PROTOCOL

OPENVINO_WORKER = """
import sys, numpy as np, openvino as ov
path, threads = sys.argv[1], int(sys.argv[2])
compiled = ov.Core().compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
                                                 "PERFORMANCE_HINT": "LATENCY"})
request = compiled.create_infer_request()
x = np.random.default_rng(0).uniform(-1, 1, tuple(compiled.input(0).shape)).astype(np.float32)
step = lambda: request.infer({0: x})
""" + PROTOCOL

SGEMM = """
import sys, time, numpy as np, swiftgan
swiftgan.set_num_threads(int(sys.argv[1]))
a = swiftgan.tensor(np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32))
best = min((lambda t: (swiftgan.functional.matmul(a, a), time.perf_counter() - t)[1])(time.perf_counter())
           for _ in range(5))
print(2 * 2048 ** 3 / best / 1e9)
"""

TILES = """
import resource, sys, time, numpy as np, swiftgan
size, tile, threads, compare = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
swiftgan.set_num_threads(threads)
gan = swiftgan.CycleGAN(image_size=256, n_blocks=9, seed=0)
image = np.random.default_rng(0).uniform(-1, 1, (3, size, size)).astype(np.float32)
started = time.perf_counter()
tiled = gan.translate(image, tile=tile)
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
error = float(np.abs(tiled - gan.translate(image)).max()) if compare else float("nan")
print(seconds, rss, error)
"""


def export(kind: str, size: int, batch: int, args: argparse.Namespace) -> Path:
    """The ONNX file of a configuration, exported by the torch Python once and kept in the work directory."""
    path = Path(args.work_dir) / f"{kind}_{size}_b{batch}.onnx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([args.torch_python, "-c", EXPORT, kind, str(size), str(batch), str(args.threads), args.nvlabs,
                        str(TORCH_REF), str(path)], check=True)
    return path


def workers(kind: str, size: int, batch: int, args: argparse.Namespace) -> dict[str, Worker]:
    common = [kind, str(size), str(batch), str(args.threads)]
    result = {"swiftgan": Worker([sys.executable, "-c", SWIFTGAN_WORKER, *common]),
              "torch": Worker([args.torch_python, "-c", TORCH_WORKER, *common, args.nvlabs, str(TORCH_REF)])}
    onnx = str(export(kind, size, batch, args))
    result["onnxruntime"] = Worker([args.torch_python, "-c", ONNXRUNTIME_WORKER, onnx, str(args.threads)])
    result["openvino"] = Worker([args.torch_python, "-c", OPENVINO_WORKER, onnx, str(args.threads)])
    return result


def measure(kind: str, size: int, batch: int, args: argparse.Namespace) -> dict:
    """Paired rounds of one configuration: median and fastest ms, peak RSS per library, and swiftgan's ratios."""
    running = workers(kind, size, batch, args)
    names = list(running)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(args.pairs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            time.sleep(args.pause)
            times[name].append(running[name].step())
    result: dict = {"kind": kind, "size": size, "batch": batch}
    for name, worker in running.items():
        result[name] = (statistics.median(times[name]) * 1e3, min(times[name]) * 1e3, worker.finish())
    ours = times["swiftgan"]
    for peer in PEERS:
        result[f"vs {peer}"] = statistics.median(a / b for a, b in zip(ours, times[peer], strict=True))
    fastest = [min(times[peer][i] for peer in PEERS) for i in range(args.pairs)]
    result["vs fastest"] = statistics.median(a / b for a, b in zip(ours, fastest, strict=True))
    return result


def report(result: dict, gmac: float) -> None:
    cells = []
    for name in ("swiftgan", *PEERS):
        median, fastest, rss = result[name]
        cells.append(f"{median:>8.0f} ({fastest:>6.0f}) {2 * gmac * result['batch'] / median * 1e3:>5.0f} {rss:>5.0f}")
    ratios = "".join(f"{result[f'vs {peer}']:>7.2f}" for peer in (*PEERS, "fastest"))
    print(f"{result['kind']:>10}{result['size']:>5}{result['batch']:>3} " + " ".join(cells) + ratios, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-python", required=True, help="a Python with torch, onnx, onnxruntime and openvino")
    parser.add_argument("--nvlabs", required=True, help="a checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--only", nargs="+", default=["stylegan2", "cyclegan", "tiles"],
                        choices=["stylegan2", "cyclegan", "tiles"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], choices=sorted(STYLEGAN_GMAC))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8], help="StyleGAN2 batch sizes")
    parser.add_argument("--tile-sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--pairs", type=int, default=4, help="rounds in which every library takes one call")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds of idle before each call")
    parser.add_argument("--work-dir", default="/tmp/swiftgan-infer-bench", help="where the ONNX exports are kept")
    args = parser.parse_args()
    sgemm = float(subprocess.run([sys.executable, "-c", SGEMM, str(args.threads)], capture_output=True, text=True,
                                 check=True).stdout)
    cpu = "AVX-512" if "avx512f" in Path("/proc/cpuinfo").read_text() else "AVX2 or older"
    print(f"{swiftgan_build()}; threads={args.threads}, CPU with {cpu}; OpenBLAS sgemm 2048^3 through swiftgan:"
          f" {sgemm:.0f} GFLOP/s")
    print("each library: median ms (fastest) GFLOP/s peak-RSS-MB; ratios: swiftgan time / peer time")
    print(f"{'workload':>10}{'px':>5}{'n':>3} {'swiftgan':^27} {'torch':^27} {'onnxruntime':^27} {'openvino':^27}"
          f"{'torch':>7}{'ort':>7}{'ov':>7}{'best':>7}")
    if "stylegan2" in args.only:
        for size in args.sizes:
            for batch in args.batches:
                report(measure("stylegan2", size, batch, args), STYLEGAN_GMAC[size])
    if "cyclegan" in args.only:
        for size in args.sizes:
            report(measure("cyclegan", size, 1, args), cyclegan_gmac(size))
    if "tiles" in args.only:
        for size in args.tile_sizes:
            compare = size <= 2048
            out = subprocess.run([sys.executable, "-c", TILES, str(size), str(args.tile), str(args.threads),
                                  str(int(compare))], capture_output=True, text=True, check=True).stdout.split()
            seconds, rss, error = float(out[0]), float(out[1]), float(out[2])
            print(f"translate {size}x{size} in tiles of {args.tile}: {seconds:.1f} s, peak RSS {rss:.0f} MB"
                  + (f", max |tiled - untiled| {error:.1e}" if compare else ""), flush=True)


if __name__ == "__main__":
    main()
