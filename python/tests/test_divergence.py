"""A NaN or infinite loss stops fit (or warns, by option) with the step and the losses, and never saves garbage."""

from __future__ import annotations

import numpy as np
import pytest

import swiftgan as sg

from helpers import TINY_DCGAN


def diverging_gan() -> sg.DCGAN:
    """A tiny DCGAN whose discriminator's first weight is NaN: every loss of every step is NaN."""
    gan = sg.DCGAN(**TINY_DCGAN, seed=0)
    state = gan.nets["D"].state_dict()
    state["main.0.weight"][0, 0, 0, 0] = np.nan
    gan.nets["D"].load_state_dict(state)
    return gan


def test_fit_stops_at_the_first_non_finite_loss(tmp_path, digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN, seed=0)
    gan.fit(digits16, steps=2, batch_size=8, out_dir=tmp_path, progress=False)
    saved = (tmp_path / "checkpoint.safetensors").read_bytes()
    gan.nets["D"].load_state_dict({**gan.nets["D"].state_dict(),
                                   "main.0.weight": np.full_like(gan.nets["D"].state_dict()["main.0.weight"], np.inf)})
    with pytest.raises(sg.NonFiniteLossError, match=r"training diverged at step 3: loss_d=nan") as caught:
        gan.fit(digits16, steps=5, batch_size=8, out_dir=tmp_path, checkpoint_every=1, progress=False)
    assert caught.value.step == 3 == gan.step
    assert set(caught.value.losses) == set(gan.loss_names) and np.isnan(caught.value.losses["loss_d"])
    assert caught.value.history["step"] == [3]
    assert isinstance(caught.value, FloatingPointError)
    assert (tmp_path / "checkpoint.safetensors").read_bytes() == saved  # the diverged model was not saved
    assert sg.load(tmp_path / "checkpoint.safetensors").step == 2


def test_warn_mode_trains_on_and_warns_once(digits16) -> None:
    gan = diverging_gan()
    with pytest.warns(sg.NonFiniteLossWarning, match=r"non-finite loss at step 1") as warned:
        history = gan.fit(digits16, steps=3, batch_size=8, progress=False, on_nonfinite="warn")
    assert len(warned) == 1
    assert warned[0].filename == __file__  # the warning points at the call of fit
    assert history["step"] == [1, 2, 3] and all(np.isnan(history["loss_d"]))


def test_finite_training_is_untouched_and_bad_option_refused(digits16) -> None:
    gan = sg.DCGAN(**TINY_DCGAN, seed=0)
    history = gan.fit(digits16, steps=3, batch_size=8, progress=False)
    assert np.isfinite(history["loss_d"]).all() and gan.step == 3
    with pytest.raises(ValueError, match=r"on_nonfinite must be 'stop' or 'warn', got 'ignore'"):
        gan.fit(digits16, steps=1, batch_size=8, progress=False, on_nonfinite="ignore")


def test_the_command_line_reports_divergence_without_a_traceback(tmp_path) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "swiftgan", "train", "dcgan", "--data", "digits", "--image-size",
                             "16", "--ngf", "8", "--ndf", "8", "--batch-size", "8", "--lr", "1e30", "--steps", "5",
                             "--quiet", "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "error: training diverged at step 1: loss_d=" in result.stderr and "Traceback" not in result.stderr
