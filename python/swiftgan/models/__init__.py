"""swiftgan's models, each a :class:`GAN` with ``train_step``, ``fit``, ``save``, ``nets`` and friends."""

from swiftgan.models.base import GAN, Net, batch_indices, load
from swiftgan.models.dcgan import DCGAN

__all__ = ["GAN", "Net", "DCGAN", "load", "batch_indices"]
