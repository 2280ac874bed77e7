"""The HEALPix stencil operator (healpix.stencil): gathered product, turns, chunks, adjoint."""
import numpy as np
import pytest
import torch

import foscat_like.healpix.stencil as st
from foscat_like.healpix.geometry import full_sky_neighbourhood, neighbourhood
from foscat_like.healpix.grid import HealpixGrid


def _reference(index: np.ndarray, w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y[m, r, p] = sum_k w[p, r, k] x[m, index[p, k]]`` by plain numpy, weights per pixel."""
    return np.einsum("prk,mpk->mrp", w, x[:, index])


@pytest.mark.parametrize("R", [1, 8])
def test_turned_stencil_equals_the_plain_sum(R):
    """Weights stored for base pixels 0, 4, 8 and shared by their quarter turns give the
    per-pixel sum with each pixel's own (turned) weights; R = 1 takes the CSR pair."""
    nside, rng = 4, np.random.default_rng(0)
    index, _, _ = full_sky_neighbourhood(nside, 3)
    q, K = nside * nside, index.shape[1]
    vals = rng.standard_normal((3 * q, R, K))
    full = np.broadcast_to(vals.reshape(3, 1, q, R, K), (3, 4, q, R, K)).reshape(12 * q, R, K)
    x = rng.standard_normal((3, 12 * q))
    op = st.Stencil(index, vals, 4, torch.float64)
    assert (op.csr is not None) == (R == 1)
    y = op.forward(torch.from_numpy(x))
    assert y.shape == (3, R, 12 * q)
    np.testing.assert_allclose(y.numpy(), _reference(index, full, x), atol=1e-12)


@pytest.mark.parametrize("R,turns", [(8, 4), (8, 1), (1, 4), (1, 1)])
def test_adjoint_is_the_transpose(R, turns):
    """<A x, y> = <x, A^T y> for every layout, on many chunks (CHUNK_VALUES small)."""
    nside, rng = 8, np.random.default_rng(1)
    if turns == 4:
        index, _, _ = full_sky_neighbourhood(nside, 3)
        G = index.shape[0] // 4
    else:
        index, _, valid = neighbourhood(nside, 5, np.arange(100, 400))
        index = np.where(valid, np.searchsorted(np.arange(100, 400), index).clip(0, 299), np.arange(300)[:, None])
        G = index.shape[0]
    op = st.Stencil(index, rng.standard_normal((G, R, index.shape[1])), turns, torch.float64)
    x = torch.from_numpy(rng.standard_normal((5, op.n)))
    y = torch.from_numpy(rng.standard_normal((5, R, op.n)))
    lhs = (op.forward(x) * y).sum()
    rhs = (x * op.adjoint(y)).sum()
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)
    saved = st.CHUNK_VALUES
    try:
        st.CHUNK_VALUES = 64
        if op.csr is None:                    # the CSR pair has no chunks
            assert len(list(op._chunks(5))) > 8
        chunked_f, chunked_a = op.forward(x), op.adjoint(y)
    finally:
        st.CHUNK_VALUES = saved
    assert torch.allclose(chunked_f, op.forward(x), atol=1e-12)
    assert torch.allclose(chunked_a, op.adjoint(y), atol=1e-12)


def test_small_products_padded_to_the_blocked_path_are_exact():
    rng = np.random.default_rng(2)
    for m, k, n in [(8, 9, 1), (8, 9, 4), (9, 8, 5), (1, 9, 4), (9, 1, 4), (16, 9, 2), (8, 25, 8)]:
        a = torch.from_numpy(rng.standard_normal((7, m, k)))
        b = torch.from_numpy(rng.standard_normal((7, k, n)))
        out = st._bmm(a, b)
        assert out.shape == (7, m, n)
        assert torch.allclose(out, a @ b, atol=1e-12)


def test_gradcheck_through_the_grid_wavelet_and_smoothing():
    g = HealpixGrid(4, 3)
    x = torch.randn(2, 12 * 4 ** 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: torch.view_as_real(g.wavelet(v)), (x,))
    assert torch.autograd.gradcheck(g.smooth, (x,))


def test_operators_are_small():
    """Full sky, float32, L = 4, K = 9: the wavelets' weights of a quarter of the sphere and
    one index per slot (144 B per pixel), and the smoothing's CSR pair (152 B): ~300 B per pixel,
    where CSR pairs for both took 1.3 KB."""
    nside = 32
    n = 12 * nside ** 2
    ops = HealpixGrid(4, 3).operators(n, torch.zeros((), dtype=torch.float32))
    per_pixel = (ops["psi"].nbytes + ops["smooth"].nbytes) / n
    assert per_pixel < 320, per_pixel


def test_float32_operators_are_the_float64_ones_rounded():
    """Weights are computed in the operators' dtype (no silent float64 detour) and agree."""
    n = 12 * 4 ** 2
    g = HealpixGrid(4, 3)
    o32 = g.operators(n, torch.zeros((), dtype=torch.float32))
    o64 = g.operators(n, torch.zeros((), dtype=torch.float64))
    for key in ("psi", "smooth"):
        d32, d64 = o32[key].dense(), o64[key].dense()
        assert d32.dtype == torch.float32 and d64.dtype == torch.float64
        assert (d32.double() - d64).abs().max() < 1e-5 * d64.abs().max()


def test_mismatched_stencil_shapes_are_refused():
    index, _, _ = full_sky_neighbourhood(2, 3)
    with pytest.raises(ValueError, match="stencil shapes do not match"):
        st.Stencil(index, np.zeros((index.shape[0] // 4, 8, 5)), 4)          # K differs
    with pytest.raises(ValueError, match="stencil shapes do not match"):
        st.Stencil(index, np.zeros((index.shape[0], 8, 9)), 4)               # rows are not n / turns
