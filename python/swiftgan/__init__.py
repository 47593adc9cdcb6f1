"""swiftgan: generative adversarial networks on the CPU, with a compute engine written in Swift.

Models (:class:`DCGAN`, :class:`CycleGAN`, :class:`StyleGAN`) train with ``fit`` or ``train_step`` and save and
:func:`load` checkpoints;
:mod:`swiftgan.datasets` ships data, :mod:`swiftgan.images` draws grids, :mod:`swiftgan.metrics` measures samples,
:mod:`swiftgan.distributed` trains on several processes or machines over MPI, :mod:`swiftgan.callbacks` shows
training in TensorBoard; :mod:`swiftgan.directions`, :mod:`swiftgan.editing`, :mod:`swiftgan.projection` and
:func:`blend` edit StyleGAN2 images (directions, edits, real photos projected into the latent space, layer-swapped
models).
Arrays go in and out as numpy float32. Every op in :mod:`swiftgan.functional` also accepts
:class:`Tensor` handles, in which case it returns a Tensor and records on the engine's autodiff tape, so a
graph built from Python can be differentiated with :func:`swiftgan.autograd.grad` or
:meth:`Tensor.backward`.
"""

# First: the engine build for this CPU, registered as swiftgan._native before any module imports it.
from swiftgan._cpu import cpu_features

# isort: split
from swiftgan import (
    autograd,
    callbacks,
    datasets,
    debug,
    directions,
    distributed,
    editing,
    functional,
    images,
    metrics,
    models,
    optim,
    projection,
    safetensors,
)
from swiftgan._native import (
    SwiftGANError,
    Tensor,
    cached_bytes,
    empty_cache,
    get_cache_limit,
    get_num_threads,
    op_names,
    random_normal,
    random_uniform,
    set_cache_limit,
    set_grad_enabled,
    set_num_threads,
    tensor,
)
from swiftgan.autograd import grad, no_grad
from swiftgan.blending import blend
from swiftgan.images import save_grid, show
from swiftgan.models import DCGAN, GAN, CycleGAN, NonFiniteLossError, NonFiniteLossWarning, StyleGAN, load
from swiftgan.torch_io import load_torch_state_dict

__version__ = "0.1.0"

__all__ = [
    "CycleGAN",
    "DCGAN",
    "GAN",
    "NonFiniteLossError",
    "NonFiniteLossWarning",
    "StyleGAN",
    "SwiftGANError",
    "Tensor",
    "autograd",
    "blend",
    "cached_bytes",
    "callbacks",
    "cpu_features",
    "datasets",
    "debug",
    "directions",
    "distributed",
    "editing",
    "empty_cache",
    "functional",
    "get_cache_limit",
    "get_num_threads",
    "grad",
    "images",
    "load",
    "load_torch_state_dict",
    "metrics",
    "models",
    "no_grad",
    "op_names",
    "optim",
    "projection",
    "random_normal",
    "random_uniform",
    "safetensors",
    "save_grid",
    "set_cache_limit",
    "set_grad_enabled",
    "set_num_threads",
    "show",
    "tensor",
]
