"""Prior draws' band powers drawn from their posterior (``optim.prior_power``), and the grids'
``band_modes`` behind it."""
import numpy as np
import pytest
import torch

import foscat_like as fl
from foscat_like import bands
from foscat_like.optim import prior_power
from foscat_like.optim.prior_power import TAU, band_power_draws


@pytest.mark.parametrize("grid, shape", [("2d", (32, 32)), ("1d", (256,)), ("healpix", (12 * 8 ** 2,)),
                                         ("patch", (700,))])
def test_band_modes_are_the_white_noise_power_of_each_band(grid, shape):
    """Unit white noise has, in each ``band_split`` band, a power equal to its number of modes
    (a projector's trace); the counts sum to the number of pixels. ``patch``: 700 NEST cells at
    nside 16 (not whole parents: the Haar bands' means over the present children)."""
    g = fl.funct(grid=grid).grid if grid != "patch" else fl.funct()._grid_for(np.arange(100, 800), 16)
    modes = g.band_modes(shape)
    assert modes.shape[0] == g.band_split(torch.zeros((1,) + shape)).shape[1]
    assert float(modes.sum()) == float(np.prod(shape))
    x = torch.as_tensor(np.random.default_rng(0).standard_normal((400,) + shape))
    power = (g.band_split(x) ** 2).flatten(2).sum(-1).mean(0)
    tol = 5 * torch.sqrt(2 / (modes.clamp_min(1) * 400))         # 5 sigma of the 400 draws' mean
    assert torch.all((power / modes - 1).abs() < tol), power / modes


@pytest.mark.parametrize("N", [8, 400])
@pytest.mark.parametrize("snr", [0.05, 1.0, 10.0])
def test_band_power_draws_are_calibrated(N, snr):
    """When the model holds (the data's band power a ``chi^2_N`` draw about ``P_s + P_n``, the
    prior's centre off by a lognormal factor of spread TAU), the truth falls inside the draws'
    68% and 95% intervals at those rates, whatever the band's modes and SNR."""
    rng = np.random.default_rng(1)
    R, ps, pn = 1500, snr, 1.0
    pd = (ps + pn) * rng.chisquare(N, R) / N
    prior = ps * np.exp(TAU * rng.standard_normal(R))
    draws = band_power_draws(pd, np.full(R, pn), prior, np.full(R, N), 300, rng)
    assert draws.shape == (300, R) and np.all(draws > 0)
    for level, tol in ((0.68, 0.04), (0.95, 0.025)):
        lo, hi = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2], axis=0)
        assert abs(np.mean((lo <= ps) & (ps <= hi)) - level) < tol


def test_band_power_draws_follow_the_data_where_they_are_informative_and_the_prior_where_not():
    rng = np.random.default_rng(2)
    # a band with 10^6 modes at SNR 10: the data pin P_s = P_d - P_n, the prior (3x off) does not matter
    sharp = band_power_draws(np.array([11.0]), np.array([1.0]), np.array([30.0]), np.array([1e6]), 200, rng)
    assert np.all(np.abs(sharp / 10.0 - 1) < 0.01)
    # a band of 2 modes far below the noise: the prior itself
    vague = np.log(band_power_draws(np.array([1.0]), np.array([1.0]), np.array([1e-3]), np.array([2.0]), 4000, rng))
    assert abs(np.median(vague) - np.log(1e-3)) < 0.1 and abs(vague.std() - TAU) < 0.1


def test_prior_draws_are_lifted_to_the_data_s_band_powers():
    """A separation that kept a quarter of the power of a high-SNR field: each prior draw's
    bands are multiplied back by about 2 where the bands have enough modes to say so (each draw
    within the band power's posterior spread); ``lift`` then gives a draw about the data's band
    powers; ``None`` leaves the draw as it is."""
    g = fl.funct(grid="2d").grid
    rng = np.random.default_rng(3)
    s = torch.as_tensor(rng.standard_normal((1, 32, 32)))
    noise = 0.05 * torch.as_tensor(rng.standard_normal((8, 32, 32)))
    d = s + 0.05 * torch.as_tensor(rng.standard_normal((1, 32, 32)))
    amp = prior_power.amplitudes(g, d, noise, 0.5 * s, 4, seed=0)
    many = g.band_modes((32, 32)) >= 50
    assert amp.shape == (4, len(many)) and torch.all(amp[:, 0] == 1)
    assert abs(float((amp[:, many] ** 2).mean()) / 4 - 1) < 0.1, amp      # draws scatter by sqrt(2 / N)
    assert torch.all((amp[:, many] / 2 - 1).abs() < 0.3), amp
    lifted = prior_power.lift(g, 0.5 * s, amp[0])
    power = lambda x: bands.cross(*(g.band_split(x),) * 2)
    ratio = power(lifted)[many] / power(d)[many]
    assert torch.all((ratio - 1).abs() < 0.6) and abs(float(ratio.mean()) - 1) < 0.15, ratio
    assert prior_power.lift(g, s, None) is s


def test_prior_draws_see_only_the_observed_pixels():
    """With a mask, the powers and the modes count the observed pixels only: the data's zeros
    (or garbage) outside change nothing."""
    g = fl.funct(grid="2d").grid
    rng = np.random.default_rng(4)
    s = torch.as_tensor(rng.standard_normal((1, 32, 32)))
    noise = 0.3 * torch.as_tensor(rng.standard_normal((8, 32, 32)))
    seen = torch.ones(1, 32, 32, dtype=torch.float64)
    seen[:, :, 20:] = 0
    d = s + noise[:1]
    a = prior_power.amplitudes(g, d, noise[1:], 0.5 * s, 3, seed=5, seen=seen)
    b = prior_power.amplitudes(g, torch.where(seen > 0, d, 1e3), noise[1:], 0.5 * s, 3, seed=5, seen=seen)
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad, exc, name", [
    (dict(tau=0.0), ValueError, "tau"), (dict(tau=-1.0), ValueError, "tau"), (dict(tau="0.8"), TypeError, "tau"),
    (dict(n_draws=0), ValueError, "n_draws"), (dict(n_draws=2.5), TypeError, "n_draws"),
    (dict(p_prior=np.array([1.0, 0.0])), ValueError, "p_prior"),
    (dict(p_prior=np.array([1.0, np.nan])), ValueError, "p_prior"),
    (dict(p_n=np.ones(3)), ValueError, "p_n"), (dict(modes=np.ones((2, 1))), ValueError, "modes")])
def test_band_power_draws_name_a_bad_argument(bad, exc, name):
    kw = dict(p_d=np.ones(2), p_n=np.ones(2), p_prior=np.ones(2), modes=np.full(2, 10.0), n_draws=3,
              rng=np.random.default_rng(0))
    with pytest.raises(exc, match=name):
        band_power_draws(**{**kw, **bad})


def test_a_separation_with_no_power_leaves_the_draws_as_they_are():
    """``s_hat`` empty in every band: nothing to scale, factors 1 (not a failure)."""
    g = fl.funct(grid="2d").grid
    d = torch.as_tensor(np.random.default_rng(6).standard_normal((1, 16, 16)))
    amp = prior_power.amplitudes(g, d, d.repeat(4, 1, 1), torch.zeros_like(d), 2, seed=0)
    assert torch.equal(amp, torch.ones_like(amp))
