"""swiftgan's models, each a :class:`GAN` with ``train_step``, ``fit``, ``save``, ``nets`` and friends."""

from swiftgan.models.base import GAN, Net, NonFiniteLossError, NonFiniteLossWarning, batch_indices, load
from swiftgan.models.cyclegan import CycleGAN
from swiftgan.models.dcgan import DCGAN
from swiftgan.models.stylegan import StyleGAN

__all__ = ["GAN", "Net", "DCGAN", "CycleGAN", "StyleGAN", "load", "batch_indices", "NonFiniteLossError",
           "NonFiniteLossWarning"]
