"""The HEALPix stencil operator (healpix.stencil): gathered product, turns, chunks, adjoint."""
import numpy as np
import pytest
import torch

import foscat_like.healpix.stencil as st
from foscat_like.healpix.geometry import full_sky_neighbourhood, neighbourhood
from foscat_like.healpix import kernels as hk
from foscat_like.healpix.grid import HealpixGrid

# both ways of running a stencil: the compiled kernels (numba, CPU) and torch's operations
LAYOUTS = [False, pytest.param(True, marks=pytest.mark.skipif(not hk.available(), reason="numba"))]


def _reference(index: np.ndarray, w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y[m, r, p] = sum_k w[p, r, k] x[m, index[p, k]]`` by plain numpy, weights per pixel."""
    return np.einsum("prk,mpk->mrp", w, x[:, index])


@pytest.mark.parametrize("kernels", LAYOUTS)
@pytest.mark.parametrize("R", [1, 8])
def test_turned_stencil_equals_the_plain_sum(R, kernels):
    """Weights stored for base pixels 0, 4, 8 and shared by their quarter turns give the
    per-pixel sum with each pixel's own (turned) weights; R = 1 takes the CSR pair."""
    nside, rng = 4, np.random.default_rng(0)
    index, _, _ = full_sky_neighbourhood(nside, 3)
    q, K = nside * nside, index.shape[1]
    vals = rng.standard_normal((3 * q, R, K))
    full = np.broadcast_to(vals.reshape(3, 1, q, R, K), (3, 4, q, R, K)).reshape(12 * q, R, K)
    x = rng.standard_normal((3, 12 * q))
    op = st.Stencil(index, vals, 4, torch.float64, kernels=kernels)
    assert op.kernels == kernels and (op.csr is not None) == (R == 1 and not kernels)
    y = op.forward(torch.from_numpy(x))
    assert y.shape == (3, R, 12 * q)
    np.testing.assert_allclose(y.numpy(), _reference(index, full, x), atol=1e-12)


@pytest.mark.parametrize("kernels", LAYOUTS)
@pytest.mark.parametrize("R,turns", [(8, 4), (8, 1), (1, 4), (1, 1)])
def test_adjoint_is_the_transpose(R, turns, kernels):
    """<A x, y> = <x, A^T y> for every layout, on many chunks (CHUNK_VALUES small)."""
    nside, rng = 8, np.random.default_rng(1)
    if turns == 4:
        index, _, _ = full_sky_neighbourhood(nside, 3)
        G = index.shape[0] // 4
    else:
        index, _, valid = neighbourhood(nside, 5, np.arange(100, 400))
        index = np.where(valid, np.searchsorted(np.arange(100, 400), index).clip(0, 299), np.arange(300)[:, None])
        G = index.shape[0]
    op = st.Stencil(index, rng.standard_normal((G, R, index.shape[1])), turns, torch.float64, kernels=kernels)
    x = torch.from_numpy(rng.standard_normal((5, op.n)))
    y = torch.from_numpy(rng.standard_normal((5, R, op.n)))
    lhs = (op.forward(x) * y).sum()
    rhs = (x * op.adjoint(y)).sum()
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)
    if kernels:
        return
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


@pytest.mark.parametrize("kernels", LAYOUTS)
def test_gradcheck_through_the_grid_wavelet_and_smoothing(kernels, monkeypatch):
    monkeypatch.setattr(hk, "available", lambda: kernels)      # the grid's stencils take this path
    g = HealpixGrid(4, 3)
    assert g.operators(12 * 4 ** 2, torch.zeros((), dtype=torch.float64))["psi"].kernels == kernels
    x = torch.randn(2, 12 * 4 ** 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: torch.view_as_real(g.wavelet(v)), (x,))
    assert torch.autograd.gradcheck(g.smooth, (x,))


def test_operators_are_small():
    """Full sky, float32, L = 4, K = 9: the wavelets' weights of a quarter of the sphere and one
    int32 index per slot (108 B per pixel), the smoothing's one CSR matrix and row sums (80 B,
    its column indices the wavelets' index, shared): ~150 B per pixel, where CSR pairs for both
    took 1.3 KB."""
    nside = 32
    n = 12 * nside ** 2
    ops = HealpixGrid(4, 3).operators(n, torch.zeros((), dtype=torch.float32))
    if ops["psi"].kernels:                     # blocked layout: one index for both, no CSR
        assert ops["psi"].index_blocks.data_ptr() == ops["smooth"].index_blocks.data_ptr()
        shared = ops["psi"].index_blocks.nbytes
    else:
        assert ops["psi"].index.data_ptr() == ops["smooth"].csr[0].col_indices().data_ptr()
        assert len(ops["smooth"].csr) == 1                       # no transposed copy
        shared = ops["psi"].index.nbytes
    per_pixel = (ops["psi"].nbytes + ops["smooth"].nbytes - shared) / n
    assert per_pixel < 160, per_pixel


@pytest.mark.parametrize("KERNELSZ", [3, 5])
@pytest.mark.parametrize("patch", [False, True])
def test_smoothing_adjoint_without_a_transpose_is_the_transpose(KERNELSZ, patch):
    """The smoothing's adjoint ``Z A (y / Z)`` (a symmetric Gaussian normalised per row) is the
    dense transpose: full sky and patches, at nside 1 (repeated slots) to 8."""
    for nside in (1, 2, 8):
        n = 12 * nside ** 2
        cells = np.arange(n // 6, n - 3) if patch else None
        g = HealpixGrid(4, KERNELSZ, cell_ids=cells, nside=nside) if patch else HealpixGrid(4, KERNELSZ)
        m = n if cells is None else cells.size
        op = g.operators(m, torch.zeros((), dtype=torch.float64), need="smooth")["smooth"]
        if op.kernels:                 # the torch path's layout, from the kernels' one
            op = st.Stencil(*op.rows(), op.T, torch.float64, row_sums=op.row_sums, kernels=False)
        assert op.z is not None
        A = op.dense()
        adj = op.adjoint(torch.eye(m, dtype=torch.float64).reshape(m, 1, m))   # row k = A^T e_k
        assert torch.allclose(adj, A, atol=1e-14), (nside, float((adj - A).abs().max()))


def test_row_sums_are_for_one_output_stencils():
    index, _, _ = full_sky_neighbourhood(2, 3)
    G = index.shape[0] // 4
    with pytest.raises(ValueError, match="row_sums must have shape"):
        st.Stencil(index, np.ones((G, 8, 9)), 4, row_sums=np.ones(G))
    with pytest.raises(ValueError, match="row_sums must have shape"):
        st.Stencil(index, np.ones((G, 1, 9)), 4, row_sums=np.ones(G + 1))


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


@pytest.mark.parametrize("kernels", LAYOUTS)
@pytest.mark.parametrize("M", [1, 4, 8, 16])
def test_forward_and_adjoint_for_every_layout_branch(M, kernels):
    """The pixel-major copies (``_pixels_first`` / ``_pixels_last``) take one permute for small
    ``M`` and a 2D transpose otherwise: both give the plain sum and the exact transpose."""
    nside, rng = 4, np.random.default_rng(M)
    index, _, _ = full_sky_neighbourhood(nside, 3)
    q, K = nside * nside, index.shape[1]
    vals = rng.standard_normal((3 * q, 8, K))
    full = np.broadcast_to(vals.reshape(3, 1, q, 8, K), (3, 4, q, 8, K)).reshape(12 * q, 8, K)
    op = st.Stencil(index, vals, 4, torch.float64, kernels=kernels)
    x = rng.standard_normal((M, 12 * q))
    y = torch.from_numpy(rng.standard_normal((M, 8, 12 * q)))
    np.testing.assert_allclose(op.forward(torch.from_numpy(x)).numpy(), _reference(index, full, x), atol=1e-12)
    ref_adj = np.einsum("prk,mrp->mpk", full, y.numpy())
    expect = np.zeros((M, 12 * q))
    for k in range(K):
        np.add.at(expect.T, index[:, k], ref_adj[:, :, k].T)
    np.testing.assert_allclose(op.adjoint(y).numpy(), expect, atol=1e-12)


@pytest.mark.skipif(not hk.available(), reason="numba")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("patch", [False, True])
def test_kernels_equal_the_torch_path_on_grid_operators(dtype, patch, monkeypatch):
    """The grid's own wavelet and smoothing stencils, kernels against torch: full sky at nside 16
    (base rows of 256 pixels: one block each) and a patch of 1000 pixels (a partial last block),
    on one thread and split over two (threads' adjoint buffers added)."""
    nside = 16
    cells = np.arange(500, 1500) if patch else None
    g = HealpixGrid(4, 3, cell_ids=cells, nside=nside) if patch else HealpixGrid(4, 3)
    n = 12 * nside ** 2 if cells is None else cells.size
    ops = g.operators(n, torch.zeros((), dtype=dtype))
    rng = np.random.default_rng(3)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for key in ("psi", "smooth"):
        op = ops[key]
        assert op.kernels
        ref = st.Stencil(*op.rows(), op.T, dtype, row_sums=op.row_sums, kernels=False)
        x = torch.from_numpy(rng.standard_normal((3, n))).to(dtype)
        y = torch.from_numpy(rng.standard_normal((3, op.R, n))).to(dtype)
        for threads, min_values in ((1, hk.MIN_THREAD_VALUES), (2, 1)):
            monkeypatch.setattr(hk, "MIN_THREAD_VALUES", min_values)
            with torch.inference_mode(False):
                saved = torch.get_num_threads()
                torch.set_num_threads(threads)
                try:
                    assert hk._threads(3 * op.R * n, op.vals_blocks.shape[0]) == threads
                    f, a = op.forward(x), op.adjoint(y)
                finally:
                    torch.set_num_threads(saved)
            assert (f - ref.forward(x)).abs().max() <= tol * ref.forward(x).abs().max(), (key, threads)
            assert (a - ref.adjoint(y)).abs().max() <= tol * ref.adjoint(y).abs().max(), (key, threads)


@pytest.mark.skipif(not hk.available(), reason="numba")
def test_blocked_layout_round_trips():
    """``rows()`` of a kernels stencil gives back the index and weights it was built from."""
    nside, rng = 8, np.random.default_rng(4)
    index, _, _ = full_sky_neighbourhood(nside, 3)
    vals = rng.standard_normal((index.shape[0] // 4, 8, index.shape[1]))
    op = st.Stencil(index, vals, 4, torch.float64, kernels=True)
    idx, w = op.rows()
    np.testing.assert_array_equal(idx, index)
    np.testing.assert_array_equal(w, vals)


def test_kernels_need_numba_and_numba_is_imported_only_when_used(monkeypatch):
    import subprocess
    import sys
    code = "import sys, foscat_like; foscat_like.funct(grid='2d'); print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    monkeypatch.setattr(hk, "available", lambda: False)
    index, _, _ = full_sky_neighbourhood(2, 3)
    with pytest.raises(ValueError, match="kernels=True needs numba"):
        st.Stencil(index, np.zeros((index.shape[0] // 4, 8, 9)), 4, kernels=True)


@pytest.mark.skipif(not hk.available(), reason="numba")
def test_weights_written_block_by_block_equal_the_blocked_rows():
    """``put_rows`` in chunks whose edges fall anywhere (across blocks and base-pixel rows) gives
    ``blocked_vals`` of the whole array: A = 3 rows of Q = 300 pixels (one partial block each)."""
    rng = np.random.default_rng(5)
    A, Q = 3, 300
    vals = rng.standard_normal((A * Q, 8, 9))
    dst = hk.blocked_zeros(A, Q, (8, 9), vals.dtype)
    for s0, s1 in ((0, 7), (7, 299), (299, 301), (301, 900)):
        hk.put_rows(dst, vals[s0:s1], s0, Q)
    np.testing.assert_array_equal(dst, hk.blocked_vals(vals, A, Q))


@pytest.mark.skipif(not hk.available(), reason="numba")
@pytest.mark.parametrize("nside,KERNELSZ", [(1, 3), (2, 3), (8, 3), (8, 5)])
@pytest.mark.parametrize("patch", [False, True])
def test_grid_operators_built_blocked_equal_those_built_for_torch(patch, nside, KERNELSZ, monkeypatch):
    """The grid writes the kernels' weights chunk by chunk into the blocked layout: the same
    operators (dense) as the torch path's, built independently; full sky (nside 1: no turns) and
    a patch, 3x3 and 5x5 stencils."""
    monkeypatch.setattr("foscat_like.healpix.geometry.CHUNK", 100)     # many chunks
    monkeypatch.setattr("foscat_like.healpix.grid.CHUNK", 100)
    dense = {}
    n_all = 12 * nside ** 2
    cells = np.arange(n_all // 6, n_all - 3) if patch else None
    for kernels in (True, False):
        monkeypatch.setattr(hk, "available", lambda k=kernels: k)
        g = (HealpixGrid(4, KERNELSZ, cell_ids=cells, nside=nside) if patch else HealpixGrid(4, KERNELSZ))
        n = 12 * nside ** 2 if cells is None else cells.size
        ops = g.operators(n, torch.zeros((), dtype=torch.float64))
        assert ops["psi"].kernels == kernels
        dense[kernels] = [ops[k].dense() for k in ("psi", "smooth")]
    for a, b in zip(dense[True], dense[False]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)


@pytest.mark.parametrize("kernels", LAYOUTS)
@pytest.mark.parametrize("patch", [False, True])
def test_wavelet_parts_and_downsample_in_one_pass(kernels, patch, monkeypatch):
    """``wavelet_parts_and_downsample`` (on the kernels' path one stencil of 2L + 1 outputs, cut
    in two) equals ``(wavelet_parts, downsample)``, values and gradients (gradcheck, float64),
    including a gradient reaching only one of the two outputs."""
    monkeypatch.setattr(hk, "available", lambda: kernels)
    nside = 4
    cells = np.arange(40, 160) if patch else None
    g = HealpixGrid(4, 3, cell_ids=cells, nside=nside) if patch else HealpixGrid(4, 3)
    n = 12 * nside ** 2 if cells is None else cells.size
    assert ("both" in g.operators(n, torch.zeros((), dtype=torch.float64))) == kernels
    x = torch.randn(2, 3, n, dtype=torch.float64, requires_grad=True)
    parts, down = g.wavelet_parts_and_downsample(x)
    torch.testing.assert_close(parts, g.wavelet_parts(x), rtol=0, atol=1e-14)
    torch.testing.assert_close(down, g.downsample(x), rtol=0, atol=1e-14)
    assert torch.autograd.gradcheck(lambda v: g.wavelet_parts_and_downsample(v), (x,))
    assert torch.autograd.gradcheck(lambda v: g.wavelet_parts_and_downsample(v)[1], (x,))
    assert torch.autograd.gradcheck(lambda v: g.wavelet_parts_and_downsample(v)[0], (x,))


@pytest.mark.parametrize("kernels", LAYOUTS)
@pytest.mark.parametrize("R", [1, 8])
def test_differentiated_gradients(kernels, R, monkeypatch):
    """A gradient that is itself differentiated (``create_graph``) goes through the stencils'
    adjoints as recorded operations on every layout (the compiled kernels and the CSR products
    are not recorded by autograd: the second derivative was silently lost there). The
    Hessian-vector product of ``|A x|^2`` is ``2 A^T A v``; gradgradcheck through the grid."""
    index, _, _ = full_sky_neighbourhood(4, 3)
    vals = np.random.default_rng(8).standard_normal((index.shape[0] // 4, R, index.shape[1]))
    op = st.Stencil(index, vals, 4, torch.float64, kernels=kernels)
    x = torch.randn(2, op.n, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, op.n, dtype=torch.float64)
    for f in (lambda u: op.apply(u), lambda u: torch.cat(op.apply_split(u, (2, 1, op.n), 1), 1)
              if R > 1 else op.apply(u)):
        gx, = torch.autograd.grad((f(x) ** 2).sum(), x, create_graph=True)
        hv, = torch.autograd.grad(gx, x, v)
        torch.testing.assert_close(hv, 2 * op.adjoint(op.forward(v)), rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(hk, "available", lambda: kernels)
    g = HealpixGrid(4, 3)
    xs = torch.randn(1, 2, 12 * 16, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda u: g.wavelet_parts_and_downsample(u)[0], (xs,))
    assert torch.autograd.gradgradcheck(lambda u: g.wavelet_parts_and_downsample(u)[1], (xs,))


@pytest.mark.skipif(not hk.available(), reason="numba")
def test_outputs_of_a_stencil_are_checked():
    index, _, _ = full_sky_neighbourhood(2, 3)
    vals = np.random.default_rng(6).standard_normal((index.shape[0] // 4, 9, index.shape[1]))
    op = st.Stencil(index, vals, 4, torch.float64, kernels=True)
    part = op.outputs(2, 3)
    x = torch.randn(2, op.n, dtype=torch.float64)
    torch.testing.assert_close(part.forward(x), op.forward(x)[:, 2:5], rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="outputs"):
        op.outputs(7, 3)
    with pytest.raises(ValueError, match="kernels only"):
        st.Stencil(index, vals, 4, torch.float64, kernels=False).outputs(0, 1)


@pytest.mark.skipif(not hk.available(), reason="numba")
def test_blocked_inputs_of_the_wrong_shape_or_path_are_refused():
    """Blocked weights or a shared blocked index that do not fit the index, and blocked weights
    asked for the torch path, are ``ValueError``s (not a silent wrong operator)."""
    index, _, _ = full_sky_neighbourhood(16, 3)             # Q = 256: one block per base row
    G, K = index.shape[0] // 4, index.shape[1]
    good = hk.blocked_zeros(3, G // 3, (8, K), np.float64)
    op = st.Stencil(index, good, 4, torch.float64)
    assert op.kernels and op.R == 8
    with pytest.raises(ValueError, match="blocked vals must have shape"):
        st.Stencil(index, good[:2], 4, torch.float64)
    with pytest.raises(ValueError, match="blocked weights are for the kernels"):
        st.Stencil(index, good, 4, torch.float64, kernels=False)
    with pytest.raises(ValueError, match="index_blocks must have shape"):
        st.Stencil(index, good, 4, torch.float64, index_blocks=op.index_blocks[:3])
