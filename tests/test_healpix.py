"""HEALPix grid on real WMAP 7-year maps: masks, cross, rotations, inpainting, synthesis, errors."""
import os
import warnings

import numpy as np
import pytest
import torch

import foscat_like as fl
from foscat_like.datasets import load_wmap
from foscat_like.healpix.geometry import neighbourhood

hp = pytest.importorskip("healpy")
warnings.filterwarnings("ignore", message="Sparse")
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


@pytest.fixture(scope="module")
def wmap():
    I, mask = load_wmap()
    return (I - I.mean()) / I.std(), mask


@pytest.fixture(scope="module")
def op():
    return fl.funct(NORIENT=4, KERNELSZ=3)       # HEALPix is the default grid


def test_stencils_zero_mean_and_corner_pixels():
    idx, xy, valid = neighbourhood(8, 3)
    nvalid = valid.sum(1)
    assert set(np.unique(nvalid)) == {8, 9}      # 7 neighbours at base-pixel corners
    assert (nvalid == 8).sum() == 8 * 3          # 8 corner points shared by 3 base pixels each
    g = fl.funct().grid
    for nside in (4, 16):
        c = g.wavelet(torch.ones(1, 12 * nside ** 2, dtype=torch.float64))
        assert c.abs().max() < 1e-12
    # neighbours lie about one pixel away in the tangent plane
    d = np.sqrt((xy ** 2).sum(-1))[valid]
    assert 0 < np.median(d[d > 0]) < 1.6


def test_read_fits_ring_to_nest_matches_package_copy():
    path = os.path.join(SHARED, "wmap_band_iqumap_r9_7yr_W_v4_udgraded32.fits")
    if not os.path.exists(path):
        pytest.skip("../shared/data not present")
    from foscat_like.healpix import read_map
    m = read_map(path)
    I, _ = load_wmap()
    assert np.allclose(m, I, atol=1e-6)
    ring = hp.read_map(path)
    assert not np.allclose(m, ring)              # it really was reordered


def test_masks_and_cross(op, wmap):
    I, mask = wmap
    st = op.eval(I)
    assert torch.allclose(op.eval(I, mask=np.ones_like(I)).flatten(), st.flatten(), atol=1e-12)
    stm = op.eval(I, mask=mask)
    rel = ((stm.S2 - st.S2).abs() / st.S2).max().item()
    assert rel > 0.2                             # the Galactic plane dominates the full sky
    vpath = os.path.join(SHARED, "wmap_band_iqumap_r9_7yr_V_v4_udgraded32.fits")
    if os.path.exists(vpath):                      # cross W x V: the same sky at two frequencies
        from foscat_like.healpix import read_map
        V = read_map(vpath)
        V = (V - V.mean()) / V.std()
        cross = op.eval(I, image2=V, mask=mask, norm="self")
        assert cross.S3P is not None and cross.S2.shape == st.S2.shape
        assert (cross.S2[0, 0, :2] > 0.5).all()      # strongly correlated at small j (CMB)
        noise_cross = op.eval(I, image2=np.random.default_rng(0).standard_normal(I.shape), mask=mask,
                              norm="self")
        assert (noise_cross.S2.abs() < 0.2).all()
    auto = op.eval(I, image2=I)
    assert torch.allclose(auto.S4, st.S4, atol=1e-12)


def test_rotation_invariance_after_iso_mean(op, wmap):
    I, mask = wmap
    ring = hp.reorder(I, n2r=True)
    rot = hp.Rotator(rot=[37.0, 21.0, 11.0])
    alm = hp.map2alm(ring, iter=3, use_pixel_weights=False)
    r = hp.reorder(hp.alm2map(rot.rotate_alm(alm.copy()), 32), r2n=True)
    same_band = hp.reorder(hp.alm2map(alm, 32), r2n=True)     # same harmonic band, not rotated
    a, b = op.eval(same_band, Jmax=3).iso_mean(), op.eval(r, Jmax=3).iso_mean()
    for f in ("S1", "S2"):
        x, y = getattr(a, f), getattr(b, f)
        assert ((x - y).abs() / x.abs()).max() < 0.1   # stated tolerance: 10%
    d = (a.S4.real - b.S4.real).abs().max() / a.S4.real.abs().max()
    assert d < 0.15


def test_inpainting_keeps_observed_pixels(op, wmap):
    I, mask = wmap
    grd = 1.0 - mask                              # fill the Galactic mask
    y = op.synthesis(I, grd_mask=grd, in_mask=mask, nstep=2, NUM_EPOCHS=30, progress=False)
    assert np.array_equal(y[mask > 0], I[mask > 0])
    assert y[mask == 0].std() > 0.05


def test_synthesis_reproduces_cl_and_histogram(op, wmap):
    from scipy.stats import ks_2samp
    I, _ = wmap
    y = op.synthesis(I, nstep=2, NUM_EPOCHS=80, progress=False, seed=2)
    cl = lambda m: hp.anafast(hp.reorder(m, n2r=True))[2:]
    cl_t = cl(I)
    g = hp.reorder(hp.synfast(np.concatenate([[0, 0], cl_t]), 32), r2n=True)
    err = np.sqrt(np.mean(np.log10(cl(y) / cl_t) ** 2))
    assert err < 0.3
    std = lambda m: (m - m.mean()) / m.std()
    ks_y, ks_g = ks_2samp(std(y), std(I)).statistic, ks_2samp(std(g), std(I)).statistic
    assert ks_y < 0.3 * ks_g


def test_gradcheck_float64_small_nside():
    torch.manual_seed(0)
    op = fl.funct(NORIENT=2, KERNELSZ=3)
    x = torch.randn(12 * 4 ** 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: op.eval(t, Jmax=2, norm="self").flatten(), (x,),
                                    eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("call, match", [
    (lambda op: op.eval(np.zeros(1000)), "npix = 12\\*nside\\*\\*2"),
    (lambda op: op.eval(np.zeros(12 * 3 ** 2)), "power of 2"),
    (lambda op: op.eval(np.zeros(12 * 16 ** 2), mask=np.ones(12 * 8 ** 2)), "mask must have shape"),
    (lambda op: op.synthesis(np.random.randn(12 * 16 ** 2), n_up=1, progress=False), "n_up=1 is not available"),
])
def test_bad_input(op, call, match):
    with pytest.raises(ValueError, match=match):
        call(op)


def test_patch_statistics_equal_full_sky_restricted_to_the_patch(op, wmap):
    """cell_ids: a disc processed alone equals the full-sky computation on its interior."""
    import torch
    from foscat_like.healpix.grid import HealpixGrid
    from foscat_like.stats.compute import scattering_covariance
    I, _ = wmap
    cells = hp.query_disc(32, hp.ang2vec(60, 30, lonlat=True), np.radians(40), nest=True)
    st = op.eval(I[cells], cell_ids=cells, nside=32, edge=True, Jmax=3)
    patch = op._grid_for(cells, 32)

    class Restricted(HealpixGrid):       # full sky, statistics weighted by the patch interior
        def edge_weights(self, shape, like):
            j = patch.patch.nsides.index(int(np.sqrt(shape[-1] // 12)))
            w = torch.zeros(shape[-1], dtype=like.dtype)
            w[torch.as_tensor(patch.patch.cells[j])] = patch.edge_weights((patch.patch.cells[j].size,), like)
            return w
    full = fl.ScatCov.from_raw(scattering_covariance(Restricted(4, 3), torch.tensor(I)[None], None, 3,
                                                     None, edge=True))
    for f in ("S0", "S1", "S2", "S3", "S4"):
        a, b = getattr(st, f), getattr(full, f)
        assert (a - b).abs().max() <= 1e-10 * b.abs().max()
    # without edge=True the boundary pixels (truncated stencils) count too: close, not equal
    loose = op.eval(I[cells], cell_ids=cells, nside=32, Jmax=3)
    assert not torch.allclose(loose.S1, st.S1)
    # a synthesis on the patch alone
    y = op.synthesis(I[cells], cell_ids=cells, nside=32, nstep=2, NUM_EPOCHS=10, progress=False)
    assert y.shape == cells.shape
    with pytest.raises(ValueError, match="one value per cell_ids"):
        op.eval(I[cells[:-1]], cell_ids=cells, nside=32)
    with pytest.raises(ValueError, match="only meaningful on the healpix grid"):
        fl.funct(grid="2d").eval(np.zeros((32, 32)), cell_ids=cells)


def test_spin2_polarisation_E_and_B(op):
    """(Q, U) -> E, B statistics: a pure-E sky has no B power; real WMAP Q/U maps run."""
    _, _, qu = load_wmap(polarization=True)
    st = op.eval(qu, spin=2, Jmax=3)
    assert st.S1.shape[0] == 2                         # [E, B]
    nside = 32
    cl = 1.0 / (1.0 + np.arange(3 * nside)) ** 2
    cl[:2] = 0
    cl[2 * nside:] = 0                                 # band-limited: little pixel E/B leakage
    np.random.seed(4)
    t, q, u = hp.synfast([0 * cl, cl, 0 * cl, 0 * cl], nside, new=True)   # TT, EE, BB, TE
    pure_e = np.stack([hp.reorder(q, r2n=True), hp.reorder(u, r2n=True)])
    s = op.eval(pure_e, spin=2, Jmax=3)
    assert (s.S2[1] < 1e-2 * s.S2[0]).all()            # B << E at every scale and angle
    with pytest.raises(ValueError, match="spin=2: image1 must be a \\(2, npix\\) \\(Q, U\\) map; got shape \\(3, 12288\\)"):
        op.eval(qu[:1].repeat(3, 0), spin=2)
    with pytest.raises(ValueError, match="spin must be 0 or 2"):
        op.eval(qu[0], spin=1)


@pytest.mark.parametrize("KERNELSZ", [3, 5])
def test_full_sky_operators_from_a_quarter_equal_the_direct_ones(KERNELSZ):
    """The full-sky build computes base pixels 0, 4, 8 and turns them (healpix.geometry.
    rotate_faces); a patch made of every pixel computes each pixel's stencil itself."""
    from foscat_like.healpix.grid import HealpixGrid
    nside = 8
    n = 12 * nside ** 2
    like = torch.zeros((), dtype=torch.float64)
    full = HealpixGrid(4, KERNELSZ).operators(n, like)
    direct = HealpixGrid(4, KERNELSZ, cell_ids=np.arange(n), nside=nside).operators(n, like)
    for key in ("psi", "smooth"):
        assert full[key].T == 4 and direct[key].T == 1
        assert (full[key].dense() - direct[key].dense()).abs().max() < 1e-12
