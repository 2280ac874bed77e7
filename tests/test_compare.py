"""Statistic comparison: chi-square distance and Monte-Carlo p-value."""
import numpy as np
import pytest

import foscat_like as fl
from foscat_like.compare import chi2_distance, chi2_test
from foscat_like.datasets import load_texture
from foscat_like.metrics import phase_randomized


def test_scattering_chi2_separates_texture_from_gaussian_with_same_spectrum():
    op = fl.funct(NORIENT=4, grid="2d")
    full = load_texture("brick", 128)
    b, a = full[:64, :64], full[64:, 64:]                    # two crops of the same texture
    assert chi2_distance(op, b, b) == 0
    res = chi2_test(op, a, b, lambda k: phase_randomized(b, seed=k), n_sims=6)
    # Gaussian fields with b's power spectrum are much further from b than another brick crop
    assert res["chi2"] < 0.5 * np.median(res["null"])
    assert res["p_value"] == 1.0
    g = chi2_test(op, phase_randomized(b, seed=99), b, lambda k: phase_randomized(b, seed=k), n_sims=6)
    assert g["p_value"] > 0.1                                 # a null realisation is not rejected
    with pytest.raises(ValueError, match="n_sims"):
        chi2_test(op, a, b, lambda k: b, n_sims=0)


def test_minkowski_on_healpix_faces_counts_a_blob_and_sees_non_gaussianity():
    """One compact blob inside a base face: Euler characteristic 1 (faces are analysed apart:
    a set crossing a face edge counts once per face); the WMAP W map (Galaxy)
    differs from a Gaussian sky with its C_l far more than from itself smoothed a little."""
    import healpy as hp
    from foscat_like.datasets import load_wmap
    from foscat_like.metrics import minkowski_error, minkowski_functionals
    nside = 16
    v = np.array(hp.pix2vec(nside, np.arange(12 * nside ** 2), nest=True)).T
    centre = hp.pix2vec(1, 4, nest=True)             # the middle of base face 4
    blob = np.exp(-((v - np.array(centre)) ** 2).sum(1) / 0.02)
    f = minkowski_functionals(blob, thresholds=np.array([2.0]))
    assert round(f[2, 0] * blob.size) == 1 and f[0, 0] > 0
    I, _ = load_wmap()
    np.random.seed(0)
    g = hp.reorder(hp.synfast(hp.anafast(hp.reorder(I, n2r=True)), 32), r2n=True)
    sm = hp.reorder(hp.smoothing(hp.reorder(I, n2r=True), fwhm=0.02), r2n=True)
    assert minkowski_error(g, I) > 1.5 * minkowski_error(sm, I)


def test_novelty_sees_copies_through_shifts_and_the_dihedral_group():
    from foscat_like.metrics import max_crosscorrelation, novelty
    b = load_texture("gravel", 64)
    moved = np.roll(np.rot90(b, 1)[:, ::-1], (5, -9), axis=(0, 1))
    assert max_crosscorrelation(moved, b) > 0.999
    noise = np.random.default_rng(0).standard_normal(b.shape)
    assert max_crosscorrelation(noise, b) < 0.1
    y = fl.funct(grid="2d").synthesis(b, nstep=2, NUM_EPOCHS=60, progress=False)
    nov = novelty(y, b)
    assert nov["max_xcorr"] < 0.5 and nov["max_xcorr_twin"] < 0.5       # nothing copied
    with pytest.raises(ValueError, match="square images of one shape"):
        max_crosscorrelation(b[:, :32], b[:, :32])
