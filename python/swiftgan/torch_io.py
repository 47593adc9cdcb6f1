"""Reading PyTorch checkpoints without PyTorch, and without running code from them.

``torch.save`` writes a zip archive holding a pickle (``data.pkl``) and one raw buffer per storage (``data/<key>``);
before PyTorch 1.6 it wrote one stream of pickles followed by the raw storages. A pickle can name any Python
callable, so loading an untrusted one with :mod:`pickle` runs arbitrary code. :func:`load_torch_state_dict` instead
unpickles with the allow-list of :mod:`swiftgan._pickle`: only the handful of globals that rebuild tensors and plain
values resolve, to numpy stand-ins. Anything else raises :class:`pickle.UnpicklingError` before it can run.
"""

from __future__ import annotations

import os
from typing import Any

from swiftgan import _pickle


def load_torch_state_dict(path: str | os.PathLike[str]) -> Any:
    """Reads a checkpoint written by ``torch.save`` (either format) into numpy arrays.

    No PyTorch is needed and no code from the file runs: the pickle may only rebuild tensors and plain values.

    Args:
        path: a ``.pth`` / ``.pt`` file, e.g. a state dict published with a reference implementation.

    Returns:
        The unpickled object (for a state dict, ``{name: np.ndarray}`` in file order), with every tensor as a
        C-contiguous numpy array of its dtype (bfloat16 becomes float32) and an ``argparse.Namespace`` as a dict.

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is not a PyTorch checkpoint, or is truncated or inconsistent (the message names it).
        pickle.UnpicklingError: the pickle names anything but tensor-rebuilding globals.
    """
    with _pickle.open_checkpoint(path, ("zip", "legacy")) as checkpoint:
        return _pickle.materialize(checkpoint.root)
