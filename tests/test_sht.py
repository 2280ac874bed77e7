"""Differentiable HEALPix harmonic transforms (ducc0): equal to healpy, exact adjoints, and
what they enable: C_l band powers in the synthesis loss, E/B with autograd."""
import numpy as np
import pytest
import torch

import foscat_like as fl
from foscat_like.datasets import load_wmap
from foscat_like.healpix.sht import HealpixSHT

hp = pytest.importorskip("healpy")
pytest.importorskip("ducc0")


def _ring(m):
    return hp.reorder(m, n2r=True)


def test_transforms_equal_healpy_iter0_spin0_and_spin2():
    nside = 8
    s = HealpixSHT(nside)
    rng = np.random.default_rng(0)
    m = rng.standard_normal(12 * nside ** 2)
    a = s.map2alm(torch.tensor(m)[None])[0].numpy()
    ref = hp.map2alm(_ring(m), lmax=s.lmax, iter=0, use_weights=False)
    assert np.abs(a - ref).max() < 1e-8 * np.abs(ref).max()
    back = s.alm2map(torch.tensor(ref)[None])[0].numpy()
    assert np.abs(_ring(back) - hp.alm2map(ref, nside, lmax=s.lmax)).max() < 1e-8
    qu = rng.standard_normal((2, 12 * nside ** 2))
    ref = hp.map2alm([0 * qu[0], _ring(qu[0]), _ring(qu[1])], lmax=s.lmax, iter=0, pol=True, use_weights=False)
    eb = s.map2alm(torch.tensor(qu), 2).numpy()
    assert np.abs(eb - ref[1:]).max() < 1e-8 * np.abs(ref[1:]).max()
    q, u = hp.alm2map([0 * ref[0], ref[1], ref[2]], nside, lmax=s.lmax, pol=True)[1:]
    out = s.alm2map(torch.tensor(ref[1:]), 2).numpy()
    assert np.abs(out - np.stack([hp.reorder(q, r2n=True), hp.reorder(u, r2n=True)])).max() < 1e-8
    np.testing.assert_allclose(s.cl(torch.tensor(ref[:1])).numpy()[0], hp.alm2cl(ref[0]), rtol=1e-10)
    a32 = s.map2alm(torch.tensor(m, dtype=torch.float32)[None])
    assert a32.dtype == torch.complex64 and s.alm2map(a32).dtype == torch.float32


def test_power_spectra_and_harmonic_filters_equal_healpy_iter3():
    """cl_nest / filter_nest (the Wiener start) run on the ducc0 transforms: healpy's numbers."""
    from foscat_like.healpix.spectra import cl_nest, filter_nest
    m = np.random.default_rng(0).standard_normal((2, 12 * 16 ** 2))
    c0 = np.mean([hp.anafast(_ring(x), use_pixel_weights=False) for x in m], axis=0)
    assert np.abs(cl_nest(m) - c0).max() < 1e-10 * c0.max()
    g = np.exp(-np.arange(48) / 10.0)
    ref = [hp.reorder(hp.alm2map(hp.almxfl(hp.map2alm(_ring(x), lmax=47, use_pixel_weights=False), g), 16,
                                 lmax=47), r2n=True) for x in m]
    assert np.abs(filter_nest(m, g) - np.array(ref)).max() < 1e-10


@pytest.mark.parametrize("spin", [0, 2])
def test_backwards_are_exact_adjoints_gradcheck_float64(spin):
    s = HealpixSHT(2)
    nc = 1 if spin == 0 else 2
    x = torch.randn(nc, s.npix, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: s.map2alm(t, spin), (x,))
    a = torch.randn(nc, s.nalm, dtype=torch.complex128)
    a[:, s.m == 0] = a[:, s.m == 0].real.to(a.dtype)           # a real map has real a_l0
    a.requires_grad_()
    assert torch.autograd.gradcheck(lambda t: s.alm2map(t, spin), (a,))


def test_bad_shapes_and_spins_fail_clearly():
    s = HealpixSHT(4)
    with pytest.raises(ValueError, match="maps must have shape \\(\\.\\.\\., 2, 192\\)"):
        s.map2alm(torch.zeros(1, 192, dtype=torch.float64), 2)
    with pytest.raises(ValueError, match="spin must be 0 or 2"):
        s.map2alm(torch.zeros(1, 192, dtype=torch.float64), 1)
    with pytest.raises(ValueError, match="lmax must be in"):
        HealpixSHT(4, lmax=100)
    with pytest.raises(ValueError, match="spin=2: image1 must be a \\(2, npix\\) \\(Q, U\\) map; got shape \\(1, 192\\)"):
        fl.funct().eval(np.ones(192), spin=2)
    with pytest.raises(ValueError, match="spin=2: image2 must be a \\(2, npix\\)"):
        fl.funct().eval(np.ones((2, 192)), image2=np.ones((3, 192)), spin=2)


def test_eb_maps_are_healpy_iter3_and_differentiable():
    nside = 8
    rng = np.random.default_rng(1)
    qu = rng.standard_normal((2, 12 * nside ** 2))
    alm = hp.map2alm([0 * qu[0], _ring(qu[0]), _ring(qu[1])], iter=3, pol=True, use_weights=False)
    ref = np.stack([hp.reorder(hp.alm2map(alm[k], nside), r2n=True) for k in (1, 2)])
    eb = fl.funct().grid.spin_to_scalars(torch.tensor(qu)).numpy()
    assert np.abs(eb - ref).max() < 1e-10 * np.abs(ref).max()
    t = torch.tensor(qu, requires_grad=True)
    fl.funct().eval(t, spin=2, norm="self").flatten().pow(2).sum().backward()
    assert t.grad is not None and torch.isfinite(t.grad).all() and float(t.grad.abs().max()) > 0


def test_band_powers_are_the_angular_spectrum_and_pin_the_synthesis_cl():
    I, _ = load_wmap()
    I16 = hp.ud_grade(I, 16, order_in="NEST", order_out="NEST")
    g = fl.funct().grid
    bp = g.band_powers(torch.tensor(I16)[None])[0].numpy()
    np.testing.assert_allclose(bp, hp.anafast(_ring(I16), iter=0, use_weights=False)[1:], rtol=1e-8)
    from foscat_like.healpix.spectra import cl_error
    kw = dict(nstep=2, NUM_EPOCHS=60, seed=0, progress=False)
    on = fl.funct().synthesis(I16, **kw)
    off = fl.funct().synthesis(I16, spectrum=False, **kw)
    assert cl_error(on, I16, lmin=4) < 0.5 * cl_error(off, I16, lmin=4)
    assert abs(np.corrcoef(on, I16)[0, 1]) < 0.5                 # a new sky, not the target


def test_cross_band_powers_are_healpy_cross_spectra_and_enter_the_loss():
    """The loss's band cross powers of every component pair (polarisation identity over the
    grid's auto band powers) equal healpy's cross spectra, and they see what the auto band
    powers cannot: (I, -Q, -U) keeps C_l^EE and C_l^BB but negates C_l^TE and C_l^TB."""
    from foscat_like.optim.loss import StatLoss
    from foscat_like.optim.plan import spin_components
    nside = 8
    rng = np.random.default_rng(4)
    I, _ = load_wmap()
    t = hp.ud_grade(I, nside, order_in="NEST", order_out="NEST")
    t = (t - t.mean()) / t.std()
    alm = hp.map2alm(_ring(t), iter=0)
    qm, um = hp.alm2map([alm * 0, alm, alm * 0], nside, pol=True)[1:]
    qu = np.stack([hp.reorder(qm, r2n=True), hp.reorder(um, r2n=True)])
    iqu = torch.tensor(np.concatenate([t[None], qu + 0.2 * rng.standard_normal(qu.shape)]))
    grid = fl.funct().grid
    C, transform = spin_components(grid, 2, iqu, "target")
    loss = StatLoss(grid, iqu, 3, components=C, transform=transform)
    fields = loss._analysed(iqu).numpy()                                   # (I, E, B)
    x = loss._cross_powers(loss._analysed(iqu))[0].numpy()                 # TE, TB, EB
    for k, (a, b) in enumerate(loss._pairs()):
        ref = hp.anafast(_ring(fields[a]), _ring(fields[b]), iter=0, use_weights=False)[1:]
        np.testing.assert_allclose(x[k], ref, atol=1e-10 * np.abs(ref).max())
    assert float(loss(iqu)) < 1e-20
    flipped = loss._analysed(iqu * torch.tensor([1.0, -1.0, -1.0])[:, None])
    autos = torch.log(grid.band_powers(flipped) + 1e-12) - loss.log_bands
    assert float(autos.abs().max()) < 1e-8
    target, scale = loss.cross_bands
    d = loss._cross_powers(flipped)[0] / scale - target
    assert float(d[0].abs().mean()) > 0.5          # T x E: r_l -> -r_l (the target's r ~ 0.9)


def _polarised_sky(nside: int, seed: int) -> np.ndarray:
    """(Q, U) NEST of a lognormal intensity with a smooth, coherent polarisation angle."""
    np.random.seed(seed)
    ell = np.arange(3 * nside)
    cl = 1.0 / (ell + 5.0) ** 2
    g = hp.synfast(cl, nside)
    p = 0.2 * np.exp(g / g.std())
    psi = 2 * hp.synfast(0.5 * cl, nside)
    return np.stack([hp.reorder(p * np.cos(2 * psi), r2n=True), hp.reorder(p * np.sin(2 * psi), r2n=True)])


def test_polarisation_synthesis_matches_ee_and_bb_spectra_with_a_new_sky():
    from foscat_like.healpix.spectra import cl_error
    nside = 16
    qu = _polarised_sky(nside, 0)
    y = fl.funct().synthesis(qu, spin=2, nstep=2, NUM_EPOCHS=60, progress=False)
    assert y.shape == qu.shape
    g = fl.funct().grid
    eb = g.spin_to_scalars(torch.tensor(qu)).numpy()
    eby = g.spin_to_scalars(torch.tensor(y)).numpy()
    other = g.spin_to_scalars(torch.tensor(_polarised_sky(nside, 5))).numpy()   # the sample-variance floor
    for k in (0, 1):                                                             # EE, BB
        assert cl_error(eby[k], eb[k], lmin=4) < 0.5 * cl_error(other[k], eb[k], lmin=4)
    assert abs(np.corrcoef(y[0], qu[0])[0, 1]) < 0.5
    with pytest.raises(ValueError, match="spin=2: image_target must be a \\(2, npix\\) \\(Q, U\\) or \\(3, npix\\)"):
        fl.funct().synthesis(qu[0], spin=2, progress=False)
    with pytest.raises(ValueError, match="spin=2 synthesis is full-sky: no reference, grd_mask"):
        fl.funct().synthesis(qu, spin=2, grd_mask=np.ones(qu.shape[1]), progress=False)
    with pytest.raises(ValueError, match="spin=2 needs full-sky HEALPix"):
        fl.funct(grid="1d").synthesis(np.random.default_rng(0).standard_normal((2, 64)), spin=2, progress=False)
    with pytest.raises(ValueError, match="spin must be one of"):
        fl.funct().synthesis(qu, spin=1, progress=False)


def test_joint_iqu_synthesis_keeps_the_t_e_correlation_that_separate_syntheses_lose():
    nside = 16
    np.random.seed(3)
    ell = np.arange(3 * nside)
    g = hp.synfast(1.0 / (ell + 5.0) ** 2, nside)
    I = np.exp(g / g.std())
    # Q, U that follow the intensity: E correlates with T
    alm = hp.map2alm(I)
    qm, um = hp.alm2map([alm * 0, alm, alm * 0], nside, pol=True)[1:]
    qm, um = qm + 0.3 * qm.std() * np.random.standard_normal(qm.size), um
    iqu = np.stack([hp.reorder(m, r2n=True) for m in (I, qm, um)])
    grid = fl.funct().grid
    r = lambda m: np.corrcoef(m[0], grid.spin_to_scalars(torch.tensor(m[1:])).numpy()[0])[0, 1]
    kw = dict(spin=2, nstep=2, NUM_EPOCHS=60, progress=False)
    joint = fl.funct().synthesis(iqu, **kw)
    apart = np.concatenate([fl.funct().synthesis(iqu[0], nstep=2, NUM_EPOCHS=60, progress=False)[None],
                            fl.funct().synthesis(iqu[1:], seed=7, **kw)])
    assert joint.shape == iqu.shape
    assert r(iqu) > 0.5
    print(f"T-E correlation: target {r(iqu):.2f}, joint {r(joint):.2f}, apart {r(apart):.2f}")
    assert r(joint) > 0.45 and abs(r(apart)) < 0.2


def test_polarisation_separation_denoises_and_keeps_the_eb_spectra():
    from foscat_like.healpix.spectra import cl_error, wiener_nest
    nside = 16
    qu = _polarised_sky(nside, 0)
    sig = qu.std()
    rng = np.random.default_rng(1)
    data = qu + sig * rng.standard_normal(qu.shape)
    draws = sig * rng.standard_normal((16,) + qu.shape)
    s = fl.funct().separate(data, draws, spin=2, NUM_EPOCHS=40, n_iter=2, progress=False)
    assert s.shape == qu.shape
    rms = lambda a: np.sqrt(np.mean((a - qu) ** 2))
    assert rms(s) < 0.85 * rms(data)
    g = fl.funct().grid
    eb = lambda m: g.spin_to_scalars(torch.tensor(m)).numpy()
    w = wiener_nest(data, draws.reshape(-1, qu.shape[1]))
    t, es, ew = eb(qu), eb(s), eb(w)
    for k in (0, 1):                                    # E and B spectra: far closer than Wiener's
        assert cl_error(es[k], t[k], lmin=4) < 0.5 * cl_error(ew[k], t[k], lmin=4)
    print(f"pol separation: rms data {rms(data):.3f} sep {rms(s):.3f} wiener {rms(w):.3f}; "
          f"C_l EE sep {cl_error(es[0], t[0], lmin=4):.3f} wiener {cl_error(ew[0], t[0], lmin=4):.3f}; "
          f"BB sep {cl_error(es[1], t[1], lmin=4):.3f} wiener {cl_error(ew[1], t[1], lmin=4):.3f}")
    with pytest.raises(ValueError, match="spin=2: data must be a \\(2, npix\\)"):
        fl.funct().separate(data[0], draws[:, 0], spin=2, progress=False)
    with pytest.raises(ValueError, match="noise must be realisations of shape"):
        fl.funct().separate(data, draws[:, 0], spin=2, progress=False)
    with pytest.raises(ValueError, match="spin=2 separation takes no reference"):
        fl.funct().separate(data, draws, spin=2, reference=data[0], progress=False)


def test_polarisation_posterior_samples_cover_the_truth():
    """``separate(..., spin=2, n_samples=K)``: samples ``(K, 2, npix)`` of (Q, U), drawn from
    spin-2 prior syntheses; the estimate beats the data, the samples carry the signal's power and
    the intervals cover the truth at roughly their rates (a small case: nside 8, K = 4)."""
    nside = 8
    qu = _polarised_sky(nside, 2)
    qu = qu / qu.std()
    rng = np.random.default_rng(3)
    data = qu + rng.standard_normal(qu.shape)
    draws = rng.standard_normal((6,) + qu.shape)
    post = fl.funct().separate(data, draws, spin=2, n_samples=4, NUM_EPOCHS=15, n_iter=1, progress=False)
    assert post.samples.shape == (4,) + qu.shape and post.estimate.shape == qu.shape
    assert post.separated.shape == qu.shape
    rms = lambda a: float(np.sqrt(np.mean((a - qu) ** 2)))
    assert rms(post.estimate) < 0.8 * rms(data)
    assert 0.6 < float(post.samples.std(axis=-1).mean()) / float(qu.std(axis=-1).mean()) < 1.4
    assert 0.5 < post.coverage(qu, 0.68) < 0.85 and 0.8 < post.coverage(qu, 0.95) <= 1.0
    with pytest.raises(ValueError, match="spin=2: data must be a \\(2, npix\\)"):
        fl.funct().separate(data[0], draws[:, 0], spin=2, n_samples=2, progress=False)


def test_masked_polarisation_posterior_ignores_what_the_mask_hides_and_covers_the_truth():
    """``separate(qu, noise, spin=2, mask=w, n_samples=K)``: the pixels outside the mask hold 30x
    the sky's amplitude; the Wiener estimate and the gains see only the observed pixels (in the
    simulations as in the data), so inside the mask the estimate beats the data and the
    intervals cover the truth at roughly their rates (nside 8, K = 4)."""
    nside = 8
    qu = _polarised_sky(nside, 2)
    qu = qu / qu.std()
    rng = np.random.default_rng(5)
    z = hp.pix2vec(nside, np.arange(12 * nside ** 2), nest=True)[2]
    v = np.abs(z) > 0.35
    data = np.where(v, qu + rng.standard_normal(qu.shape), 30 * rng.standard_normal(qu.shape))
    draws = rng.standard_normal((6,) + qu.shape)
    post = fl.funct().separate(data, draws, spin=2, mask=v * 1.0, n_samples=4, NUM_EPOCHS=15, n_iter=1,
                               progress=False)
    assert post.samples.shape == (4,) + qu.shape and np.isfinite(post.samples).all()
    rms = lambda a: float(np.sqrt(np.mean((a - qu)[:, v] ** 2)))
    assert rms(post.estimate) < 0.8 * rms(data), (rms(post.estimate), rms(data))
    where = np.broadcast_to(v, qu.shape)
    c68, c95 = post.coverage(qu, 0.68, where), post.coverage(qu, 0.95, where)
    assert 0.5 < c68 < 0.85 and 0.8 < c95 <= 1.0, (c68, c95)


def _masked_polarised_sky(rng):
    """(Q, U) of std 1 at nside 16, the mask keeping |z| > 0.35 (weights, bool) and, where it is
    0, 30x the sky's amplitude (a bright Galactic plane), zero elsewhere."""
    nside = 16
    qu = _polarised_sky(nside, 0)
    qu = qu / qu.std()
    z = hp.pix2vec(nside, np.arange(12 * nside ** 2), nest=True)[2]
    v = np.abs(z) > 0.35
    bright = np.where(v, 0.0, 30 * rng.standard_normal(qu.shape))
    return qu, v.astype(float), v, bright


def test_masked_polarisation_synthesis_ignores_what_the_mask_hides():
    """``synthesis(qu, spin=2, in_mask=w)``: the E and B statistics are weighted by ``w``; pixels
    outside it (here 30x the sky's amplitude, as a bright Galactic plane) do not leak into the
    synthesis: inside the mask its Q, U and E, B keep the clean sky's amplitude."""
    qu, mask, v, bright = _masked_polarised_sky(np.random.default_rng(0))
    y = fl.funct().synthesis(qu * v + bright, spin=2, in_mask=mask, nstep=2, NUM_EPOCHS=60, progress=False)
    assert y.shape == qu.shape and np.isfinite(y).all()
    ratio = y[:, v].std(1) / qu[:, v].std(1)
    assert np.all((0.6 < ratio) & (ratio < 1.4)), ratio
    g = fl.funct().grid
    eb = lambda m: g.spin_to_scalars(torch.tensor(m)).numpy()
    r_eb = eb(y)[:, v].std(1) / eb(qu)[:, v].std(1)
    assert np.all((0.7 < r_eb) & (r_eb < 1.3)), r_eb


def test_masked_polarisation_separation_denoises_inside_the_mask():
    """``separate(qu, noise, spin=2, mask=w)``: what the mask hides (30x the sky's amplitude) is
    ignored; inside it the noise is cut and E and B keep the sky's amplitude."""
    rng = np.random.default_rng(1)
    qu, mask, v, bright = _masked_polarised_sky(rng)
    data = np.where(v, qu + rng.standard_normal(qu.shape), bright)
    draws = rng.standard_normal((16,) + qu.shape)
    s = fl.funct().separate(data, draws, spin=2, mask=mask, NUM_EPOCHS=40, n_iter=2, progress=False)
    rms = lambda a: float(np.sqrt(np.mean((a - qu)[:, v] ** 2)))
    assert rms(s) < 0.88 * rms(data)
    g = fl.funct().grid
    eb = lambda m: g.spin_to_scalars(torch.tensor(m)).numpy()
    r_eb = eb(s)[:, v].std(1) / eb(qu)[:, v].std(1)
    assert np.all((0.8 < r_eb) & (r_eb < 1.2)), r_eb
