"""The wavelet-diagonal (Fourier) path of the planar statistics equals the pixel path, values
and gradients (stats.spectral, planar.spectral)."""
import pytest
import torch

from foscat_like import fft, jit
from foscat_like.grid import make_grid
from foscat_like.planar import spectral as pspec
from foscat_like.stats import gram_kernels, spectral
from foscat_like.stats.compute import finalise, initial_state, moments, scattering_covariance

KEYS = ("S0", "S1", "S2", "P1", "P2", "S3", "S3P", "S4")


def _both(grid, x1, x2, J):
    """(pixel statistics, spectral statistics, their gradients w.r.t. x1 and x2)."""
    out = []
    for path in ("pixel", "spectral"):
        xs = [x.clone().requires_grad_() for x in (x1, x2) if x is not None]
        a, b = xs[0], xs[1] if len(xs) > 1 else None
        if path == "pixel":
            mom, _ = moments(grid, initial_state(a, b), range(J), J, [None] * J)
        else:
            mom = spectral.spectral_moments(grid, a, b, J)
        raw = finalise(mom, J, b is not None, False)
        g = torch.Generator().manual_seed(1)
        loss = sum((raw[k] * torch.randn(raw[k].shape, generator=g, dtype=raw[k].dtype)).real.sum()
                   for k in KEYS if raw[k] is not None)
        out.append((raw, torch.autograd.grad(loss, xs)))
    return out


@pytest.fixture(params=["ducc0", "torch r2c, ducc0 c2r", "torch.fft"])
def transforms(request, monkeypatch):
    """The spectral path's real FFTs on ducc0 at every size (the default does so from 64², on one
    torch thread; with MKL the forward transforms on torch), or on torch.fft (other devices,
    several threads)."""
    if request.param != "torch.fft":
        monkeypatch.setattr(fft, "DUCC_MIN_SIZE", 1)
        monkeypatch.setattr(fft, "_single_thread", lambda: True)
        monkeypatch.setattr(fft, "_torch_forward", lambda: request.param != "ducc0")
    else:
        monkeypatch.setattr(fft, "_single_thread", lambda: False)
    return request.param


@pytest.mark.parametrize("nd,shape,J", [(2, (32, 32), 3), (2, (24, 40), 4), (2, (48, 16), 2),
                                        (1, (256,), 5), (1, (96,), 6)])
@pytest.mark.parametrize("cross", [False, True])
def test_spectral_equals_pixel_path(nd, shape, J, cross, transforms):
    """Every statistic and both gradients to 1e-10 (float64), odd coarsest sizes included, with
    the FFTs on ducc0 and on torch.fft."""
    grid = make_grid(f"{nd}d")
    torch.manual_seed(0)
    x1 = torch.randn((2,) + shape, dtype=torch.float64)
    x2 = torch.randn((2,) + shape, dtype=torch.float64) if cross else None
    (ra, ga), (rb, gb) = _both(grid, x1, x2, J)
    for k in KEYS:
        if ra[k] is None:
            assert rb[k] is None
            continue
        assert ra[k].shape == rb[k].shape, k
        assert (ra[k] - rb[k]).abs().max() <= 1e-10 * ra[k].abs().max(), k
    for a, b in zip(ga, gb):
        assert (a - b).abs().max() <= 1e-10 * a.abs().max()


JIT = jit.available("foscat_like.stats._gram_jit")
gram_kernels_gram = gram_kernels.gram


@pytest.fixture(params=["torch", pytest.param("jit", marks=pytest.mark.skipif(not JIT, reason="numba"))])
def gram_path(request, monkeypatch, one_thread):
    """The Gram products on torch's matrix product, then on the compiled loops."""
    if request.param == "torch":
        monkeypatch.setattr(gram_kernels, "usable", lambda Z, finest=None: False)
    else:                                               # every size (small ones in the tests)
        monkeypatch.setattr(gram_kernels, "MIN_K", 0)
        monkeypatch.setattr(gram_kernels, "MIN_FIELD_K", 0)
        assert gram_kernels.usable(torch.zeros(4, dtype=torch.float64))
    return request.param


def test_chunked_gram_equals_one_chunk(monkeypatch):
    """The sums over k split into many chunks give the same values and gradients (torch path)."""
    monkeypatch.setattr(gram_kernels, "usable", lambda Z, finest=None: False)
    grid = make_grid("2d")
    x = torch.randn(1, 64, 64, dtype=torch.float64)
    (_, _), (r1, g1) = _both(grid, x, None, 3)
    monkeypatch.setattr(spectral, "CHUNK_VALUES", 64)
    assert len(spectral._chunks(2 * 64 * 33, 40)) > 1
    (_, _), (r2, g2) = _both(grid, x, None, 3)
    monkeypatch.setattr(spectral, "KEEP_VALUES", 0)          # the backward recomputes them
    (_, _), (r3, g3) = _both(grid, x, None, 3)
    for k in ("S3", "S4"):
        assert torch.allclose(r1[k], r2[k], rtol=1e-12, atol=1e-15)
    assert torch.allclose(g1[0], g2[0], rtol=1e-12, atol=1e-15)
    assert torch.allclose(g1[0], g3[0], rtol=1e-12, atol=1e-15)


@pytest.mark.skipif(not JIT, reason="numba")
def test_compiled_gram_only_for_large_levels_on_one_thread():
    """Below ``MIN_K`` coefficients a row, for a field below ``MIN_FIELD_K`` coefficients at its
    finest level, or with torch on two threads, the Gram stays on torch."""
    K, big = gram_kernels.MIN_K, gram_kernels.MIN_FIELD_K
    saved = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert gram_kernels.usable(torch.zeros(1, 3, K, dtype=torch.float64), big)
        assert not gram_kernels.usable(torch.zeros(1, 3, K, dtype=torch.float64), big - 2)
        assert gram_kernels.usable(torch.zeros(1, 3, big, dtype=torch.float64))
        assert not gram_kernels.usable(torch.zeros(1, 3, K - 2, dtype=torch.float64), big)
        assert not gram_kernels.usable(torch.zeros(1, 3, K, dtype=torch.float16), big)
        torch.set_num_threads(2)
        assert not gram_kernels.usable(torch.zeros(1, 3, K, dtype=torch.float64), big)
    finally:
        torch.set_num_threads(saved)


def test_gram_gradcheck(gram_path):
    """The hand-written backward of the Gram products (separate and shared operands)."""
    grid = make_grid("2d")
    shape = (8, 8)
    w_re, w_im = grid.spectral_gram(shape, torch.zeros(1, dtype=torch.float64))
    K = w_re.shape[1]
    Z1 = torch.randn(1, 3, K, dtype=torch.float64, requires_grad=True)
    Z2 = torch.randn(1, 2, K, dtype=torch.float64, requires_grad=True)
    f = lambda a, b: spectral._Gram.apply(a, b, w_re, w_im, pspec.rot, K)
    assert torch.autograd.gradcheck(f, (Z1, Z2))
    assert torch.autograd.gradcheck(lambda a: spectral._Gram.apply(a, a, w_re, w_im, pspec.rot, K), (Z1,))
    # second derivatives (a differentiated gradient) on either route: the torch formulas
    assert torch.autograd.gradgradcheck(f, (Z1, Z2))
    assert torch.autograd.gradgradcheck(lambda a: spectral._Gram.apply(a, a, w_re, w_im, pspec.rot, K), (Z1,))



@pytest.mark.skipif(not JIT, reason="numba")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("same", [True, False])
def test_gram_kernels_equal_the_torch_products(dtype, same, monkeypatch, one_thread):
    """The compiled Gram and its adjoint against the torch route: rows not a multiple of the
    loops' 4, ``k`` not a multiple of the chunk, two fields."""
    monkeypatch.setattr(gram_kernels, "MIN_K", 0)
    grid = make_grid("2d")
    w_re, w_im = grid.spectral_gram((40, 24), torch.zeros(1, dtype=dtype))
    K = w_re.shape[1]
    g = torch.Generator().manual_seed(1)
    Z1 = torch.randn(2, 7, K, generator=g, dtype=dtype, requires_grad=True)
    Z2 = Z1 if same else torch.randn(2, 6, K, generator=g, dtype=dtype, requires_grad=True)
    gG = torch.randn(2, 2, w_re.shape[0], 7, Z2.shape[1], generator=g, dtype=dtype)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    ins = (Z1,) if same else (Z1, Z2)

    def run():
        G = spectral._Gram.apply(Z1, Z2, w_re, w_im, pspec.rot, gram_kernels.MIN_FIELD_K)
        return (G.detach(),) + torch.autograd.grad(G, ins, gG)
    with monkeypatch.context() as m:
        m.setattr(gram_kernels, "usable", lambda Z, finest=None: False)
        ref = run()
    assert K % (gram_kernels.CHUNK_BYTES // Z1.element_size()) != 0
    with monkeypatch.context() as m:                     # the compiled route, counted
        calls = []
        m.setattr(gram_kernels, "gram", lambda *a: calls.append(1) or gram_kernels_gram(*a))
        got = run()
        assert calls
    for a, b in zip(got, ref):
        assert (a - b).abs().max() <= tol * b.abs().max()
    if same:                                   # the imaginary part's zero diagonal, exactly
        G = spectral._Gram.apply(Z1, Z1, w_re, w_im, pspec.rot, gram_kernels.MIN_FIELD_K)
        assert torch.all(G[:, 1].diagonal(dim1=-2, dim2=-1) == 0)


def test_basis_is_parseval_and_down_matches_downsample():
    """mean(a b) = Y_a . Y_b (the interleaved half spectrum), and spectral_down is downsample."""
    for nd, shape in ((2, (16, 12)), (2, (14, 10)), (2, (12, 14)), (2, (10, 12)), (1, (20,)), (1, (18,))):
        grid = make_grid(f"{nd}d")                    # new sizes even and odd on each axis
        a, b = torch.randn((2,) + shape, dtype=torch.float64)
        Ya, Yb = grid.spectral(a), grid.spectral(b)
        w = torch.ones(Ya.shape[-1], dtype=torch.float64)
        H = pspec.half(shape)
        col = torch.arange(H[-1])
        c = ((col > 0) & (2 * col != shape[-1])).to(torch.float64) + 1      # unstored mirrors
        w = c.expand(H).unsqueeze(-1).expand(H + (2,)).flatten()
        assert torch.allclose((Ya * Yb * w).sum(), (a * b).mean())
        down = grid.spectral(grid.downsample(a))
        assert torch.allclose(grid.spectral_down(Ya, shape), down, atol=1e-14)


def test_dispatch_uses_pixel_path_with_weights_edges_and_var():
    """Masks, edges and calc_var keep the pixel path (the spectral one needs uniform weights)."""
    grid = make_grid("2d")
    assert spectral.usable(grid, None, False, False)
    assert not spectral.usable(grid, torch.ones(1, 8, 8), False, False)
    assert not spectral.usable(grid, None, True, False)
    assert not spectral.usable(grid, None, False, True)
    assert not spectral.usable(make_grid("healpix"), None, False, False)
    x = torch.randn(1, 32, 32, dtype=torch.float64)
    whole = scattering_covariance(grid, x, None, 3)
    masked = scattering_covariance(grid, x, None, 3, weights=torch.ones(1, 32, 32, dtype=torch.float64))
    assert torch.allclose(whole["S4"], masked["S4"], rtol=1e-10, atol=1e-14)


def test_float32_close_to_float64():
    grid = make_grid("2d")
    x = torch.randn(1, 64, 64, dtype=torch.float64)
    r64 = scattering_covariance(grid, x, None, 4)
    r32 = scattering_covariance(grid, x.float(), None, 4)
    for k in ("S1", "S3", "S4"):
        assert (r32[k].to(r64[k].dtype) - r64[k]).abs().max() <= 1e-4 * r64[k].abs().max(), k


def test_band_powers_are_ring_means_of_the_periodogram():
    """band_powers (index_add over the half spectrum's rings) equals the mean of |fft|^2 / P over
    each ring of the full spectrum, with its gradient; even and odd sizes."""
    import math
    for nd, shape in ((2, (32, 24)), (2, (15, 18)), (2, (16, 9)), (1, (64,)), (1, (45,))):
        grid = make_grid(f"{nd}d")
        x = torch.randn((3,) + shape, dtype=torch.float64, requires_grad=True)
        P = (torch.fft.fftn(x, dim=grid._axes()).abs() ** 2 / math.prod(shape)).flatten(1)
        ring = grid._ring_index(shape)
        want = torch.stack([P[:, ring == b].mean(1) for b in range(int(ring.max()) + 1)], 1)
        got = grid.band_powers(x)
        torch.testing.assert_close(got, want, rtol=1e-12, atol=0)
        w = torch.randn(want.shape, dtype=torch.float64)
        torch.testing.assert_close(torch.autograd.grad((got * w).sum(), x)[0],
                                   torch.autograd.grad((want * w).sum(), x)[0], rtol=1e-10, atol=1e-14)


def test_modulus_parts_gradcheck_and_zero():
    from foscat_like.ops import modulus_parts
    F = torch.randn(2, 2, 3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(modulus_parts, (F,))
    C = torch.randn(2, 3, 5, dtype=torch.complex128, requires_grad=True)    # a strided view
    assert torch.autograd.gradcheck(lambda c: modulus_parts(torch.view_as_real(c).movedim(-1, 1)), (C,))
    z = torch.zeros(1, 2, 3, dtype=torch.float64, requires_grad=True)
    modulus_parts(z).sum().backward()
    assert torch.isfinite(z.grad).all() and (z.grad == 0).all()


def test_modulus_gradient_is_zero_at_zero_and_keeps_a_nan_elsewhere():
    """|z|'s backward: 0 where z = 0 (not NaN), but a NaN coming from above where z != 0 must
    reach the optimiser (a zero there would look like convergence)."""
    from foscat_like.ops import modulus, modulus_parts
    z = torch.randn(3, 4, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(modulus, (z,))
    z = torch.tensor([1 + 1j, 0j, 2j], dtype=torch.complex128, requires_grad=True)
    modulus(z).backward(torch.tensor([float("nan"), 1.0, 1.0], dtype=torch.float64))
    assert torch.isnan(z.grad[0]).all() and z.grad[1] == 0 and z.grad[2] == 1j
    F = torch.tensor([[[3.0, 0.0]], [[4.0, 0.0]]], dtype=torch.float64).reshape(1, 2, 2).requires_grad_(True)
    modulus_parts(F).backward(torch.tensor([[float("nan"), 1.0]], dtype=torch.float64))
    assert torch.isnan(F.grad[0, :, 0]).all() and (F.grad[0, :, 1] == 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_wavelet_weights_hold_no_subnormal_numbers(dtype):
    """Weights under eps^2 of their row's peak are zero (a Gaussian multiplier reaches 1e-39:
    subnormal in float32, and its products with spectra run 10-100x slower on the CPU)."""
    grid = make_grid("2d")
    fi = torch.finfo(dtype)
    for shape in ((64, 64), (32, 32), (16, 12)):
        for name, w in grid._spectral_weights(shape, torch.zeros(1, dtype=dtype)).items():
            top = w.abs().amax(1, keepdim=True)
            small = (w != 0) & (w.abs() < top * fi.eps ** 2)
            assert not small.any(), (name, shape)
            assert not ((w != 0) & (w.abs() < fi.tiny)).any(), (name, shape)
            assert (w != 0).float().mean() > 0.5          # the band itself is kept


@pytest.mark.parametrize("dim", [-1, -2, 0])
def test_take_and_put_add_equal_index_select_and_index_add(dim):
    """ops.take / ops.put_add (gather / scatter_add) against torch's index_select / index_add,
    values and gradients (float64), with repeated indices."""
    from foscat_like.ops import put_add, take
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 7, dtype=torch.float64, generator=g, requires_grad=True)
    idx = torch.tensor([6, 0, 2, 2, 5]) % x.shape[dim]
    ref = x.index_select(dim, idx)
    out = take(x, idx, dim)
    assert torch.equal(out, ref)
    w = torch.randn(ref.shape, dtype=torch.float64, generator=g)
    gr, = torch.autograd.grad((ref * w).sum(), x)
    go, = torch.autograd.grad((out * w).sum(), x)
    assert torch.allclose(go, gr, rtol=0, atol=1e-14)
    base = torch.randn(x.shape, dtype=torch.float64, generator=g)
    assert torch.allclose(put_add(base, idx, ref.detach(), dim), base.index_add(dim, idx, ref.detach()),
                          rtol=0, atol=1e-14)


@pytest.mark.skipif(not JIT, reason="numba")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("weights", [0, 1, 2])
def test_level_gram_equals_rows_and_product(dtype, weights):
    """The pixel route's level products read in place (``gram_kernels.level_gram``) against
    ``wmean_prod(product_rows(F, W))``: values and both gradients, no / one / two weight maps,
    ``W`` a strided view (as the stencils' outputs are), two fields, pixels not a multiple of the
    loops' chunk or of the backward's stage."""
    from foscat_like.stats.compute import product_rows, wmean_prod
    g = torch.Generator().manual_seed(2)
    B, L3, n, P = 2, 4, 3, 1000
    F = torch.randn(B, 2, L3, P, generator=g, dtype=dtype, requires_grad=True)
    big = torch.randn(B, n, 2 * L3 + 1, P, generator=g, dtype=dtype)
    W = big[:, :, :2 * L3].unflatten(2, (2, L3)).requires_grad_()
    w = None if weights == 0 else torch.rand(weights, P, generator=g, dtype=dtype)
    r = product_rows(F, W)
    ref = wmean_prod(r, r, w)
    out = gram_kernels.level_gram(F, W, w)
    gG = torch.randn(ref.shape, generator=g, dtype=dtype)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert out.shape == ref.shape and out.dtype == dtype
    assert (out - ref).abs().max() <= tol * ref.abs().max()
    old = gram_kernels.STAGE_VALUES
    try:
        gram_kernels.STAGE_VALUES = 5000                 # several stages
        for a, b in zip(torch.autograd.grad(out, (F, W), gG), torch.autograd.grad(ref, (F, W), gG)):
            assert (a - b).abs().max() <= tol * b.abs().max()
    finally:
        gram_kernels.STAGE_VALUES = old
    if dtype == torch.float64:
        Fs, Ws = F[..., :40].detach().requires_grad_(), W[..., :40].detach().requires_grad_()
        ws = None if w is None else w[:, :40]
        assert torch.autograd.gradcheck(lambda a, b: gram_kernels.level_gram(a, b, ws), (Fs, Ws))
        # second derivatives (a differentiated gradient): differentiable torch formulas
        assert torch.autograd.gradgradcheck(lambda a, b: gram_kernels.level_gram(a, b, ws), (Fs, Ws))


@pytest.mark.skipif(not JIT, reason="numba")
def test_healpix_statistics_with_the_in_place_level_products(monkeypatch):
    """The whole HEALPix eval (values and gradient, a mask) with the compiled level products (at
    every level here: ``MIN_PIXELS`` 0) equals the torch rows-and-product route."""
    import foscat_like as fl
    op = fl.funct(NORIENT=4, grid="healpix")
    x = torch.randn(12 * 16 ** 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    mask = torch.rand(12 * 16 ** 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4))

    def run():
        xt = x.clone().requires_grad_()
        s = op.eval(xt, mask=mask)
        loss = sum((getattr(s, f).abs() ** 2).sum() for f in ("S1", "S2", "S3", "S4"))
        loss.backward()
        return [getattr(s, f).detach() for f in ("S3", "S4")], xt.grad
    P = gram_kernels.MIN_PIXELS                 # small levels, and many rows: torch
    assert gram_kernels.usable_pixels(torch.zeros(1, 2, 4, P), torch.zeros(1, 4, 2, 4, P))
    assert not gram_kernels.usable_pixels(torch.zeros(1, 2, 4, P - 1), torch.zeros(1, 4, 2, 4, P - 1))
    assert not gram_kernels.usable_pixels(torch.zeros(1, 2, 4, P), torch.zeros(1, 8, 2, 4, P))
    monkeypatch.setattr(gram_kernels, "MAX_ROWS", 1000)
    monkeypatch.setattr(gram_kernels, "MIN_PIXELS", 0)
    calls = []
    monkeypatch.setattr(gram_kernels, "level_gram", lambda *a: calls.append(1) or level_gram(*a))
    (s3, s4), gx = run()
    assert calls
    monkeypatch.setattr(gram_kernels, "usable_pixels", lambda F, W: False)
    (t3, t4), gy = run()
    for a, b in ((s3, t3), (s4, t4), (gx, gy)):
        assert (a - b).abs().max() <= 1e-11 * b.abs().max()


level_gram = gram_kernels.level_gram
