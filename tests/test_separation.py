"""Component separation against known truth: a real texture plus Gaussian white noise."""
import numpy as np
import pytest

import foscat_like as fl
from foscat_like.datasets import load_texture
from foscat_like.metrics import minkowski_error, power_spectrum_error, smooth_power, wiener_filter


@pytest.fixture(scope="module")
def case():
    truth = load_texture("gravel", 64)                # std 1
    rng = np.random.default_rng(5)
    sigma = 1.0                                       # signal-to-noise 1
    data = truth + sigma * rng.standard_normal(truth.shape)
    draws = sigma * rng.standard_normal((6,) + truth.shape)
    return truth, data, draws, sigma


def test_separation_denoises_and_keeps_the_spectrum(case):
    """What holds today on this small case (see the module docstring of optim/separation.py):
    the estimate is closer to the truth than the data and keeps the signal's power spectrum far
    better than the Wiener filter; it does not yet beat Wiener in pixel RMS."""
    truth, data, draws, sigma = case
    s = fl.separate(data, draws, grid="2d", nstep=2, NUM_EPOCHS=40, progress=False)
    wien = wiener_filter(data, smooth_power(truth), sigma ** 2)
    rms = lambda a: np.sqrt(np.mean((a - truth) ** 2))
    assert rms(s) < 0.85 * rms(data)
    assert minkowski_error(s, truth) < 0.7 * minkowski_error(data, truth)
    assert power_spectrum_error(s, truth) < 0.8 * power_spectrum_error(wien, truth)


def test_noise_callable_and_errors(case):
    truth, data, draws, sigma = case
    rng = np.random.default_rng(0)
    op = fl.funct(grid="2d")
    s = op.separate(data[:32, :32], lambda k: rng.standard_normal((32, 32)), n_noise=3, nstep=1,
                    NUM_EPOCHS=3, progress=False)
    assert s.shape == (32, 32) and len(op.history) > 0
    with pytest.raises(ValueError, match="noise must be realisations"):
        op.separate(data, draws[:, :32], progress=False)
    with pytest.raises(ValueError, match="noise contains NaN"):
        op.separate(data, np.full_like(draws, np.nan), progress=False)
