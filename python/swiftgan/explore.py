"""Live exploration of a StyleGAN2 in Jupyter: ipywidgets sliders for the seed, the truncation and the strengths of
several directions (each with its own range of layers) that re-render the image on the CPU as they move.

ipywidgets is imported only here, when :class:`Explorer` is built (``pip install ipywidgets``, or swiftgan's
``notebook`` extra); ``import swiftgan`` does not need it.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from swiftgan._checks import _check_float, _check_int
from swiftgan.directions import Directions, ganspace
from swiftgan.editing import check_direction, edit
from swiftgan.images import to_pil

if TYPE_CHECKING:
    from swiftgan.models.stylegan import StyleGAN

__all__ = ["Explorer"]


def _widgets() -> Any:
    """The ipywidgets module, or an ImportError saying how to install it."""
    try:
        import ipywidgets
    except ImportError:
        raise ImportError("StyleGAN.explore needs ipywidgets: pip install ipywidgets (or swiftgan[notebook])"
                          ) from None
    return ipywidgets


class Explorer:
    """The widgets of :meth:`StyleGAN.explore` and what they render.

    Moving a widget calls :meth:`render`: the seed's ws at the chosen truncation, each direction added at its strength
    to the ws of its layer range, then G_ema's image, shown as a PNG with the time it took. The widgets are attributes
    (``seed``, ``truncation``, ``strengths`` and ``layer_ranges``, one of each per direction) and ``widget`` holds them
    all; in a notebook the Explorer displays itself. :meth:`close` closes the widgets, which ipywidgets otherwise keeps
    (with the model) until the kernel ends.
    """

    def __init__(self, gan: StyleGAN, directions: Directions | Sequence[np.ndarray] | None = None, n: int = 4,
                 seed: int = 0, truncation_psi: float = 0.7, layers: Sequence[int] | None = None,
                 max_strength: float = 5.0, samples: int = 20_000, noise_mode: str = "const",
                 class_idx: int | None = None) -> None:
        caller = "StyleGAN.explore"
        widgets = _widgets()
        self.gan, self.noise_mode, self.class_idx = gan, noise_mode, class_idx
        count = _check_int(caller, "n", n)
        if directions is None:
            directions = ganspace(gan, n=count, samples=samples, class_idx=class_idx)
        if isinstance(directions, Directions):
            vectors = [directions[i] for i in range(min(count, len(directions)))]
        else:
            vectors = [check_direction(caller, vector, gan.config["w_dim"]) for vector in directions]
        self.directions: list[np.ndarray] = vectors
        limit = _check_float(caller, "max_strength", max_strength)
        if not (np.isfinite(limit) and limit > 0):
            raise ValueError(f"{caller}: argument 'max_strength' must be a finite number > 0, got {limit}")
        last = gan.num_ws - 1
        first_layer, last_layer = (0, last) if layers is None else (min(layers), max(layers))
        if not 0 <= first_layer <= last_layer <= last:
            raise ValueError(f"{caller}: layers must be w indices in [0, {last}], got {layers}")
        layout = widgets.Layout(width="420px")
        self.seed = widgets.BoundedIntText(value=_check_int(caller, "seed", seed), min=0, max=2**32 - 1,
                                           description="seed", layout=layout)
        self.truncation = widgets.FloatSlider(value=_check_float(caller, "truncation_psi", truncation_psi), min=0.0,
                                              max=1.5, step=0.05, description="truncation", layout=layout)
        self.strengths = [widgets.FloatSlider(value=0.0, min=-limit, max=limit, step=0.1, description=f"dir {i}",
                                              layout=layout) for i in range(len(vectors))]
        self.layer_ranges = [widgets.IntRangeSlider(value=(first_layer, last_layer), min=0, max=last,
                                                    description="layers", layout=layout) for _ in vectors]
        self.image = widgets.Image(format="png")
        self.status = widgets.Label()
        rows = [widgets.HBox([strength, layer_range])
                for strength, layer_range in zip(self.strengths, self.layer_ranges, strict=True)]
        self.widget = widgets.HBox([self.image, widgets.VBox([self.seed, self.truncation, *rows, self.status])])
        self.last_seconds = 0.0
        """How long the last :meth:`render` took (ws, edits, synthesis and PNG)."""
        self._controls = [self.seed, self.truncation, *self.strengths, *self.layer_ranges]
        for control in self._controls:
            control.observe(self._changed, names="value")
        self.render()

    def _changed(self, change: object) -> None:
        self.render()

    def ws(self) -> np.ndarray:
        """The ws (1, num_ws, w_dim) the widgets describe."""
        ws = self.gan.seed_ws([self.seed.value], self.truncation.value, None, self.class_idx)
        for vector, strength, layer_range in zip(self.directions, self.strengths, self.layer_ranges, strict=True):
            if strength.value:
                first, last = layer_range.value
                ws = edit(self.gan, ws, vector, strength.value, range(first, last + 1))
        return ws

    def render(self) -> np.ndarray:
        """Renders the widgets' image into the image widget and returns it (1, C, R, R)."""
        started = time.perf_counter()
        image = self.gan._render(self.ws(), [self.seed.value], self.noise_mode, 1)
        buffer = io.BytesIO()
        to_pil(image[0]).save(buffer, format="png")
        self.image.value = buffer.getvalue()
        self.last_seconds = time.perf_counter() - started
        self.status.value = f"rendered in {self.last_seconds * 1000:.0f} ms"
        return image

    def close(self) -> None:
        """Closes the widgets (ipywidgets keeps every open widget, and so this explorer and its model, alive)."""
        for control in self._controls:
            control.unobserve(self._changed, names="value")
        for widget in [*self._controls, self.image, self.status, *self.widget.children[1].children[2:-1],
                       self.widget.children[1], self.widget]:
            widget.close()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
