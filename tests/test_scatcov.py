"""Scattering covariance on planar grids: invariances, analytic identities, API and errors."""
import numpy as np
import pytest
import torch

import foscat_like as fl
from foscat_like.stats.scatcov import ScatCov


def gaussian_field(n=64, slope=-2.5, seed=0, batch=()):
    """Periodic Gaussian random field with power spectrum ~ k^slope."""
    rng = np.random.default_rng(seed)
    k = np.sqrt(np.fft.fftfreq(n)[:, None] ** 2 + np.fft.fftfreq(n)[None, :] ** 2)
    amp = np.where(k > 0, k, 1.0) ** (slope / 2)
    amp[0, 0] = 0
    w = rng.standard_normal(batch + (n, n))
    x = np.real(np.fft.ifft2(np.fft.fft2(w) * amp))
    return (x - x.mean()) / x.std()


@pytest.fixture(scope="module")
def op2():
    return fl.funct(NORIENT=4, grid="2d")


def test_translation_invariance_periodic(op2):
    x = gaussian_field(64, seed=1)
    st = op2.eval(x, Jmax=4)
    # shifts by multiples of 2^(J-1) keep every level's sampling: exact
    st_exact = op2.eval(np.roll(x, (8, -16), axis=(0, 1)), Jmax=4)
    assert (st_exact - st).flatten().abs().max() < 1e-10
    # any other shift: equal up to sub-pixel resampling of the coarse levels
    st_any = op2.eval(np.roll(x, (3, 5), axis=(0, 1)), Jmax=4)
    rel = ((st_any - st).flatten().norm() / st.flatten().norm()).item()
    assert rel < 0.05


def test_rot90_permutes_orientations(op2):
    x = gaussian_field(64, seed=2)
    x = x + 0.8 * np.roll(x, 1, axis=1)   # anisotropic
    # rotation by 90 degrees about pixel (0, 0): y[i, j] = x[j, -i]
    a, b = op2.eval(x), op2.eval(np.roll(np.rot90(x), 1, axis=0).copy())
    L = 4
    shifts = [s for s in range(L) if torch.allclose(torch.roll(a.S1, s, -1), b.S1, rtol=1e-6)]
    assert shifts == [L // 2]
    assert not torch.allclose(a.S1, b.S1, rtol=1e-3)      # the field is anisotropic
    for f in ("S1", "S2"):
        assert torch.allclose(getattr(a.iso_mean(), f), getattr(b.iso_mean(), f), rtol=1e-8)
    for f in ("S3", "S4"):   # wrapped orientations conjugate: real parts are invariant
        assert torch.allclose(getattr(a.iso_mean(), f).real, getattr(b.iso_mean(), f).real, atol=1e-9)
    fa, fb = a.fft_ang(1, imaginary=True), b.fft_ang(1, imaginary=True)
    amp = lambda s: torch.sqrt(s.S2[..., 1] ** 2 + s.S2[..., 2] ** 2)
    assert torch.allclose(amp(fa), amp(fb), rtol=1e-8)


def test_cross_with_itself_equals_auto(op2):
    x = gaussian_field(32, seed=3)
    a, c = op2.eval(x), op2.eval(x, image2=x)
    for f in ("S0", "S1", "S2", "S3", "S4"):
        assert torch.allclose(getattr(a, f), getattr(c, f), atol=1e-12)
    assert torch.allclose(c.S3P, a.S3, atol=1e-12)


def test_mask_of_ones_equals_no_mask_and_masks_change_stats(op2):
    x = gaussian_field(32, seed=4)
    ones = np.ones((32, 32))
    half = ones.copy(); half[:, 16:] = 0
    a, m = op2.eval(x), op2.eval(x, mask=np.stack([ones, half]))
    assert m.S1.shape[1] == 2
    assert torch.allclose(m.S2[:, :1], a.S2, rtol=1e-10)
    assert not torch.allclose(m.S2[:, 1], a.S2[:, 0], rtol=1e-3)


def test_gaussian_vs_lognormal_S3(op2):
    g = gaussian_field(64, seed=5, batch=(4,))
    ln = np.exp(1.2 * g)
    ln = (ln - ln.mean()) / ln.std()
    s3 = lambda x: op2.eval(x, norm="self").S3
    sg, sl = s3(g), s3(ln)
    off = torch.tensor([j2 < j3 for j2, j3 in op2.eval(g[0]).idx3])
    # Gaussian: odd moment of a symmetric field -> ~0; lognormal: clearly not
    assert sg[:, :, off].abs().mean() < 0.3 * sl[:, :, off].abs().mean()


def test_S2_parseval_against_fft(op2):
    """S2 at every level equals the filtered power computed directly from the FFT."""
    n0 = 32
    f = np.fft.fftfreq(n0) * n0
    nyquists = np.isin(np.abs(f), [16, 8, 4, 2])       # Nyquist bins of every level
    X = np.fft.fft2(gaussian_field(n0, seed=6))
    X[nyquists, :] = 0
    X[:, nyquists] = 0
    x = np.real(np.fft.ifft2(X))
    st = op2.eval(x)
    for j in range(st.S2.shape[2]):
        n = n0 // 2 ** j
        keep = np.abs(f) < n / 2
        fn = np.fft.fftfreq(n) * n
        inner = np.abs(fn) < n / 2
        Xj = np.zeros((n, n), complex)
        Xj[np.ix_(inner, inner)] = X[np.ix_(keep, keep)] / 4 ** j   # the field sampled at level j
        psi = op2.grid.filters((n, n), torch.zeros(1, dtype=torch.float64)).numpy()
        expected = (np.abs(Xj[None]) ** 2 * psi ** 2).sum((-2, -1)) / n ** 4   # Parseval
        np.testing.assert_allclose(st.S2[0, 0, j].numpy(), expected, rtol=1e-8)


def test_S2_sum_of_white_noise_against_littlewood_paley(op2):
    """E[sum_jl S2] = variance * sum_j 4^-j mean_k sum_l |psi(k)|^2 for white noise."""
    x = np.random.default_rng(3).standard_normal((8, 64, 64)) * 2.0
    st = op2.eval(x)
    lp = sum(4.0 ** -j * (op2.grid.filters((64 >> j, 64 >> j), torch.zeros(1, dtype=torch.float64)) ** 2)
             .sum(0).mean().item() for j in range(st.S2.shape[2]))
    got = st.S2.sum((2, 3)).mean().item()
    assert abs(got / (4.0 * lp) - 1) < 0.03


def test_fft_ang_k0_is_iso_mean_and_sigma_monte_carlo(op2):
    x = gaussian_field(32, seed=7)
    st, sig = op2.eval(x, calc_var=True)
    iso, ff = st.iso_mean(), st.fft_ang(2, imaginary=True)
    assert ff.S4.shape[-1] == 5 and ff.S3.shape[-2:] == (4, 5)
    for f in ("S1", "S2", "S3", "S4"):
        assert torch.allclose(getattr(ff, f)[..., 0], getattr(iso, f), atol=1e-12)
    # sigma propagation against Monte-Carlo draws of independent coefficients
    rng = np.random.default_rng(0)
    n = 4000
    base = sig.S4[0, 0].real.numpy()
    eps = rng.standard_normal((n,) + base.shape) * base
    mc = ScatCov(None, st.S1, st.S2, st.S3, torch.from_numpy(eps)[:, None], idx3=st.idx3, idx4=st.idx4)
    mc_std = mc.fft_ang(1, imaginary=True).S4.std(0)[0].numpy()
    pred = sig.fft_ang_sigma(1, imaginary=True).S4[0, 0].numpy()
    np.testing.assert_allclose(mc_std, pred, rtol=0.1)


def test_calc_var_and_norm_auto_cache(op2):
    x, y = gaussian_field(32, seed=8), 3.0 * gaussian_field(32, seed=9)
    op = fl.funct(NORIENT=4, grid="2d")
    st, sig = op.eval(x, calc_var=True, norm="auto")
    assert (sig.S2 > 0).all() and (sig.S4 > 0).all()
    # 'auto' keeps the first field's powers: y = 3 x' has S3 scaled by 3^2 relative to 'self'
    sy_auto, sy_self = op.eval(y, norm="auto"), op.eval(y, norm="self")
    ratio = (sy_auto.S4.abs() / sy_self.S4.abs()).mean().item()
    assert 5 < ratio < 15
    # backward through 'auto' with a fresh cache works (FOSCAT fails here)
    op.clean_norm()
    t = torch.tensor(x, requires_grad=True)
    op.eval(t, norm="auto").flatten().pow(2).sum().backward()
    assert torch.isfinite(t.grad).all()


def test_gradcheck_float64():
    torch.manual_seed(0)
    op = fl.funct(NORIENT=2, grid="2d")
    x = torch.tensor(gaussian_field(16, seed=10), requires_grad=True)
    f = lambda t: op.eval(t, Jmax=2, norm="self").flatten()
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5)
    op1 = fl.funct(grid="1d")
    t = torch.randn(32, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u: op1.eval(u, image2=u.flip(0), Jmax=2).flatten(), (t,), eps=1e-6, atol=1e-5)


def test_1d_batches_and_edge():
    op = fl.funct(grid="1d")
    x = np.random.default_rng(0).standard_normal((3, 512))
    st = op.eval(x)
    assert st.S1.shape == (3, 1, op.scales(x), 1)
    one = op.eval(x[1])
    assert torch.allclose(st.S4[1:2], one.S4)
    st_e = op.eval(x, edge=True)
    assert op.scales(x, edge=True) <= op.scales(x)
    assert st_e.S1.shape[2] == op.scales(x, edge=True)


def test_scatcov_arithmetic_distance_and_files(tmp_path, op2):
    a = op2.eval(gaussian_field(32, seed=11))
    b = op2.eval(gaussian_field(32, seed=12))
    assert a.reduce_distance(a).item() == 0
    assert b.reduce_distance(a).item() > 0
    c = (a + b) / 2 - a * 0.5
    assert torch.allclose(c.S4, b.S4 / 2, atol=1e-12)
    assert torch.allclose((2 * a).flatten(), a.flatten() * 2)
    a.save(tmp_path / "a.npz")
    back = ScatCov.load(tmp_path / "a.npz")
    assert torch.equal(back.flatten(), a.flatten()) and back.idx4.shape == a.idx4.shape
    fig = a.plot(b, path=tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000 and fig is not None


@pytest.mark.parametrize("call, match", [
    (lambda op: op.eval(np.full((32, 32), np.nan)), "image1 contains NaN"),
    (lambda op: op.eval(np.zeros((2, 2, 32, 32))), "image1 must have shape"),
    (lambda op: op.eval(np.zeros((4, 4))), "image1 must have spatial sizes"),
    (lambda op: op.eval(np.zeros((32, 32)), mask=np.ones((16, 16))), "mask must have shape"),
    (lambda op: op.eval(np.zeros((32, 32)), mask=np.zeros((32, 32))), "all zero"),
    (lambda op: op.eval(np.zeros((32, 32)), Jmax=9), "Jmax=9 is too large"),
    (lambda op: op.eval(np.zeros((32, 32)), norm="P00"), "norm must be"),
    (lambda op: op.eval(np.zeros((32, 32)), image2=np.zeros((16, 16))), "image2"),
])
def test_bad_input(op2, call, match):
    with pytest.raises(ValueError, match=match):
        call(op2)


def test_bad_constructor():
    with pytest.raises(ValueError, match="grid must be one of"):
        fl.funct(grid="3d")
    with pytest.raises(ValueError, match="KERNELSZ"):
        fl.funct(KERNELSZ=4, grid="2d")
    assert fl.funct(use_2D=True).grid.name == "2d"
    assert fl.funct(use_1D=True).grid.name == "1d"


def test_check_finite_one_test_for_all_fields_and_no_false_alarm_on_overflowing_sums():
    """``check_finite`` tests all fields with one sum: a NaN or an infinity in any field (real or
    complex) is a ValueError naming it; finite values whose sum overflows are not."""
    op = fl.funct(grid="2d")
    st = op.eval(np.random.default_rng(0).standard_normal((32, 32)))
    assert st.check_finite() is st
    for field, bad in (("S1", float("nan")), ("S4", complex(0, float("inf"))), ("S3", complex(float("inf"), 0))):
        v = getattr(st, field).clone()
        v.view(-1)[3] = bad
        broken = st.map(lambda t, v=v, f=field: v if t is getattr(st, f) else t)
        with pytest.raises(ValueError, match=f"not finite \\({field}\\)"):
            broken.check_finite()
    big = st.map(lambda t: torch.full_like(t, 1e308))          # every value finite, the sum is not
    assert big.check_finite() is big


@pytest.mark.parametrize("numpy_memory", [False, True])
def test_gram_product_has_a_one_product_backward_equal_to_autograd(numpy_memory, monkeypatch):
    """``wmean_prod(a, a, w)`` (the S4 of an auto statistic) runs as ``_HermGram``: same values
    as the product of ``a`` with a copy of itself, and gradients checked in float64, real and
    complex, without pixel weights, with one weight map (the backward keeps ``a * w``) and two;
    also with the gradient in numpy memory (``heap.empty``, for arrays above 32 MB)."""
    from foscat_like import heap
    from foscat_like.stats.compute import _HermGram, wmean_prod
    if numpy_memory:
        monkeypatch.setattr(heap, "MMAP_BYTES", 0)
    g = torch.Generator().manual_seed(0)
    for dt in (torch.float64, torch.complex128):
        a = torch.randn(2, 3, 4, 7, dtype=dt, generator=g, requires_grad=True)
        for w in (None, torch.rand(1, 7, dtype=torch.float64, generator=g),
                  torch.rand(2, 7, dtype=torch.float64, generator=g)):
            torch.testing.assert_close(wmean_prod(a, a, w), wmean_prod(a, a.detach().clone(), w), rtol=1e-12, atol=1e-12)
            assert torch.autograd.gradcheck(lambda x, w=w: _HermGram.apply(x, w), (a,))


def test_complex_parts_gradient():
    from foscat_like.ops import complex_parts
    y = torch.randn(3, 8, 5, dtype=torch.float64, requires_grad=True)
    z = complex_parts(y)
    torch.testing.assert_close(z, torch.complex(y[:, :4], y[:, 4:]))
    assert torch.autograd.gradcheck(lambda t: torch.view_as_real(complex_parts(t)), (y,))


def test_real_rows_products_equal_the_complex_means():
    """S3, S3P and S4 come from one real product of the rows ``[C, W]`` (real parts, then
    imaginary parts): against the complex means ``<a conj(b)>`` summed directly, with and
    without pixel weights, auto (one Gram) and cross."""
    from foscat_like.stats.compute import complex_products, product_rows, wmean_prod
    g = torch.Generator().manual_seed(3)
    B, L3, nL, P = 2, 3, 4, 11
    F1, F2 = (torch.randn(B, 2, L3, P, dtype=torch.float64, generator=g) for _ in range(2))
    W1, W2 = (torch.randn(B, nL, 2, L3, P, dtype=torch.float64, generator=g) for _ in range(2))
    cplx = lambda F, W: torch.cat([torch.complex(F[:, 0], F[:, 1]).unsqueeze(2),
                                   torch.complex(W[:, :, 0], W[:, :, 1]).transpose(1, 2)], 2)  # (B, L3, 1+nL, P)
    for w in (None, torch.rand(2, P, dtype=torch.float64, generator=g)):
        ww = torch.full((1, P), 1.0 / P, dtype=torch.float64) if w is None else w
        r1, r2 = product_rows(F1, W1), product_rows(F2, W2)
        for rb, cb in ((r1, cplx(F1, W1)), (r2, cplx(F2, W2))):
            want = torch.einsum("kp,nzxp,nzyp->nkzxy", ww.to(torch.complex128), cplx(F1, W1), cb.conj())
            got = complex_products(wmean_prod(r1, r1 if rb is r1 else rb, w))
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("numpy_memory", [False, True])
def test_product_rows_is_the_concatenation_and_its_gradient(numpy_memory, monkeypatch):
    """``product_rows`` (a custom node writing into ``heap.empty``) equals ``torch.cat`` of the
    transposed parts, and its gradient passes gradcheck, in torch and in numpy memory."""
    from foscat_like import heap
    from foscat_like.stats.compute import product_rows
    if numpy_memory:
        monkeypatch.setattr(heap, "MMAP_BYTES", 0)
    g = torch.Generator().manual_seed(4)
    F = torch.randn(2, 2, 3, 5, dtype=torch.float64, generator=g, requires_grad=True)
    W = torch.randn(2, 4, 2, 3, 5, dtype=torch.float64, generator=g, requires_grad=True)
    want = torch.cat([F.transpose(1, 2).unsqueeze(3), W.permute(0, 3, 2, 1, 4)], 3).flatten(2, 3)
    torch.testing.assert_close(product_rows(F, W), want, rtol=0, atol=0)
    assert torch.autograd.gradcheck(product_rows, (F, W))
