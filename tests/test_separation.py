"""Component separation against known truth: a real texture, and the WMAP W-band map, plus
Gaussian white noise at signal-to-noise 1."""
import numpy as np
import pytest
import torch

import foscat_like as fl
from foscat_like.datasets import load_texture, load_wmap
from foscat_like.metrics import histogram_ks, minkowski_error, power_spectrum_error, smooth_power, wiener_filter
from foscat_like.optim.separation import SeparationLoss

rms = lambda a, b: float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.fixture(scope="module")
def brick():
    truth = load_texture("brick", 128)                # std 1
    rng = np.random.default_rng(5)
    data = truth + rng.standard_normal(truth.shape)   # signal-to-noise 1
    draws = rng.standard_normal((16,) + truth.shape)
    return truth, data, draws


def test_separation_beats_wiener_statistics_at_wiener_like_rms(brick):
    truth, data, draws = brick
    s = fl.separate(data, draws, grid="2d", NUM_EPOCHS=40, n_iter=2, progress=False)
    wien = wiener_filter(data, smooth_power(truth), 1.0)
    assert rms(s, truth) < 0.45 * rms(data, truth)
    assert rms(s, truth) < 1.1 * rms(wien, truth)
    assert power_spectrum_error(s, truth) < 0.4 * power_spectrum_error(wien, truth)
    assert histogram_ks(s, truth) < histogram_ks(wien, truth)


def test_bias_correction_is_calibrated_at_the_truth(brick):
    """Frozen at the truth, the corrected targets are what the truth's statistics should be:
    each condition's normalised misfit at the truth is O(1) (a noise-dominated chi-square),
    while the data, or the truth without the correction, are far off."""
    truth, data, draws = brick
    op = fl.funct(grid="2d")
    t, d, n = (torch.as_tensor(v)[None] for v in (truth, data, draws))
    loss = SeparationLoss(op.grid, d, n[0], 4, t)
    parts = [float(p) for p in loss.parts(t)]
    assert max(parts) < 4.0, parts
    assert float(loss(0.999 * d)) > 10 * sum(parts)
    # without the bias correction the first target is Phi(d) itself: the truth misses it
    f, _, sig = loss.terms[0]
    uncorrected = float((((f(t)[0] - loss.phi(d)[0]) / sig) ** 2).mean())
    assert uncorrected > 5 * parts[0]


def test_separation_on_healpix_beats_wiener():
    """WMAP W band (the Galaxy as the non-Gaussian foreground), nside 16, SNR 1: better than
    the Wiener filter built from the true C_l in RMS and in the C_l."""
    import healpy as hp
    from foscat_like.healpix.spectra import cl_error, cl_nest, wiener_nest
    I, _ = load_wmap()
    truth = hp.ud_grade(I, 16, order_in="NEST", order_out="NEST")
    truth = (truth - truth.mean()) / truth.std()
    rng = np.random.default_rng(1)
    data = truth + rng.standard_normal(truth.shape)
    draws = rng.standard_normal((16,) + truth.shape)
    s = fl.separate(data, draws, grid="healpix", NUM_EPOCHS=40, n_iter=2, progress=False)
    wien = wiener_nest(data[None], draws, cl_nest(truth))[0]
    assert rms(wien, truth) < rms(data, truth)
    assert rms(s, truth) < rms(wien, truth)
    assert cl_error(s, truth) < 0.5 * cl_error(wien, truth)
    assert minkowski_error(s, truth) < minkowski_error(wien, truth)


def test_noise_callable_checkpoint_and_errors(brick, tmp_path):
    truth, data, draws = brick
    rng = np.random.default_rng(0)
    op = fl.funct(grid="2d")
    kw = dict(NUM_EPOCHS=3, n_iter=2, progress=False)
    s = op.separate(data[:32, :32], lambda k: rng.standard_normal((32, 32)), n_noise=3, **kw)
    assert s.shape == (32, 32) and len(op.history) > 0
    # resuming a checkpoint is tested where it can fail: test_seams.py (a run stopped mid-way)
    with pytest.raises(ValueError, match="noise must be realisations"):
        op.separate(data, draws[:, :32], progress=False)
    with pytest.raises(ValueError, match="noise contains NaN"):
        op.separate(data, np.full_like(draws, np.nan), progress=False)
    with pytest.raises(ValueError, match="n_iter must be >= 1"):
        op.separate(data, draws, n_iter=0, progress=False)
    with pytest.raises(ValueError, match="NUM_EPOCHS must be >= 1"):
        op.separate(data, draws, NUM_EPOCHS=0, progress=False)
    with pytest.raises(ValueError, match="precision must be"):
        op.separate(data, draws, precision="half", progress=False)


def test_single_precision_gives_the_double_precision_answer(brick):
    truth, data, draws = (v[..., :64, :64] for v in brick)
    kw = dict(grid="2d", NUM_EPOCHS=20, n_iter=1, progress=False)
    a = fl.separate(data, draws, **kw)
    b = fl.separate(data, draws, precision="single", **kw)
    # L-BFGS paths part slightly (a non-convex loss); the answers agree far below their error
    assert rms(a, b) < 0.2 * rms(a, truth)
    assert abs(rms(b, truth) - rms(a, truth)) < 0.05 * rms(a, truth)


def test_reference_template_helps(brick):
    """A second, independent noisy observation of the signal as cross-statistics template."""
    truth, data, draws = brick
    template = truth + 0.7 * np.random.default_rng(9).standard_normal(truth.shape)
    kw = dict(grid="2d", NUM_EPOCHS=40, n_iter=2, progress=False)
    plain = fl.separate(data, draws, **kw)
    with_ref = fl.separate(data, draws, reference=template, **kw)
    assert rms(with_ref, truth) < 0.95 * rms(plain, truth)


def test_masked_pixels_do_not_matter(brick):
    """Garbage in the masked pixels (a bright 'Galaxy') changes nothing outside them."""
    truth, data, draws = brick
    truth, data, draws = truth[:64, :64], data[:64, :64], draws[:, :64, :64]
    mask = np.ones_like(truth)
    mask[20:40, 10:50] = 0
    spoiled = np.where(mask > 0, data, 50.0)
    kw = dict(grid="2d", mask=mask, NUM_EPOCHS=30, n_iter=1, progress=False)
    a, b = fl.separate(data, draws, **kw), fl.separate(spoiled, draws, **kw)
    inside = mask > 0
    assert rms(a[inside], truth[inside]) < 0.6 * rms(data[inside], truth[inside])
    assert rms(b[inside], truth[inside]) < 1.1 * rms(a[inside], truth[inside])


def test_separation_on_a_healpix_patch_and_on_1d_signals():
    rng = np.random.default_rng(2)
    I, _ = load_wmap()
    ids = np.arange(4 * 32 * 32)                         # base pixels 0-3 at nside 32, no full sky
    truth = ((I - I.mean()) / I.std())[ids]
    data = truth + 0.5 * rng.standard_normal(truth.shape)
    s = fl.funct().separate(data, 0.5 * rng.standard_normal((16, ids.size)), cell_ids=ids, nside=32,
                            NUM_EPOCHS=30, n_iter=2, progress=False)
    assert s.shape == ids.shape and rms(s, truth) < 0.7 * rms(data, truth)
    x = np.cumsum(rng.standard_normal(1024))
    x = (x - x.mean()) / x.std()
    d1 = x + 0.5 * rng.standard_normal(1024)
    s1 = fl.separate(d1, 0.5 * rng.standard_normal((16, 1024)), grid="1d", NUM_EPOCHS=30, n_iter=2,
                     progress=False)
    assert rms(s1, x) < 0.6 * rms(d1, x)


def test_separation_from_correlated_gaussian_noise_on_the_sphere():
    """Noise that is a red Gaussian sky (a CMB-like C_l ~ 1/l^2), not white: the W band map
    (nside 16) is still recovered better than by the Wiener filter with the true C_l."""
    import healpy as hp
    from foscat_like.healpix.spectra import cl_nest, wiener_nest
    I, _ = load_wmap()
    truth = hp.ud_grade(I, 16, order_in="NEST", order_out="NEST")
    truth = (truth - truth.mean()) / truth.std()
    ell = np.arange(48)
    cl = np.where(ell > 1, 1.0 / np.maximum(ell, 1) ** 2, 0.0)

    def sky(k):
        np.random.seed(k)
        m = hp.reorder(hp.synfast(cl, 16), r2n=True)
        return m / m.std()
    data = truth + sky(0)
    draws = np.stack([sky(k) for k in range(1, 17)])
    s = fl.separate(data, draws, grid="healpix", NUM_EPOCHS=40, n_iter=2, progress=False)
    wien = wiener_nest(data[None], draws, cl_nest(truth))[0]
    assert rms(s, truth) < rms(wien, truth) < rms(data, truth)
