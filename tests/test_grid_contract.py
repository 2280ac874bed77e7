"""The grid contract, checked on every grid the statistics run on: 1D, 2D, full-sky HEALPix and a
``cell_ids`` patch. Each linear operator's backward is its exact adjoint (checked against the
dense matrix built column by column), shapes agree with ``coarser``, mask downsampling keeps
means, wavelets are zero-mean, and upsample-then-downsample is near the identity on smooth fields."""
import numpy as np
import pytest
import torch

from foscat_like.grid import make_grid

hp = pytest.importorskip("healpy")


def _patch_grid():
    full = make_grid("healpix", 4, 3)
    nside = 8
    ids = np.arange(12 * nside * nside)
    theta, phi = hp.pix2ang(nside, ids, nest=True)
    cells = ids[(theta < 1.2)]                     # a polar cap, 2 levels of parents and more
    return full.restrict(cells, nside), cells, nside


def _grids():
    yield "1d", make_grid("1d"), (64,)
    yield "2d", make_grid("2d", 4), (16, 16)
    yield "healpix", make_grid("healpix", 4, 3), (12 * 8 * 8,)
    g, cells, _ = _patch_grid()
    yield "patch", g, (cells.size,)


GRIDS = list(_grids())
IDS = [name for name, _, _ in GRIDS]


def _smooth_field(name, grid, shape):
    """A field with power only at the largest scales (cos theta on the sphere)."""
    if name in ("healpix", "patch"):
        nside = 8
        ids = np.arange(12 * nside * nside) if name == "healpix" else _patch_grid()[1]
        theta, phi = hp.pix2ang(nside, ids, nest=True)
        return torch.tensor(np.cos(theta) + 0.5 * np.sin(theta) * np.cos(phi))[None]
    axes = np.meshgrid(*[np.arange(n) / n for n in shape], indexing="ij")
    return torch.tensor(sum(np.cos(2 * np.pi * a) for a in axes))[None]


def _dense(op, n_in: int, shape_in, dtype=torch.float64):
    """The matrix of a linear ``op`` from its action on the basis vectors."""
    eye = torch.eye(n_in, dtype=dtype).reshape((n_in,) + tuple(shape_in))
    cols = op(eye)
    return cols.reshape(n_in, -1).T                                    # (n_out, n_in)


@pytest.mark.parametrize("name, grid, shape", GRIDS, ids=IDS)
def test_coarser_matches_downsample_and_masks_keep_means(name, grid, shape):
    x = torch.randn((2,) + shape, dtype=torch.float64)
    c = grid.coarser(shape)
    y = grid.downsample(x)
    assert c is not None and grid.spatial_shape(y) == c
    w = torch.rand((1,) + shape, dtype=torch.float64)
    wd = grid.downsample_mask(w)
    assert grid.spatial_shape(wd) == c
    ones = torch.ones((1,) + shape, dtype=torch.float64)
    torch.testing.assert_close(grid.downsample_mask(ones), torch.ones_like(wd))   # a local mean
    if name != "patch":   # full grids: every coarse pixel has all its children, the mean is exact
        torch.testing.assert_close(wd.mean(), w.mean())
    else:                 # a patch: the mean weighted by the children present
        cnt = torch.tensor(grid.patch.child_count(0), dtype=torch.float64)
        torch.testing.assert_close((wd[0] * cnt).sum() / cnt.sum(), w.mean())


@pytest.mark.parametrize("name, grid, shape", GRIDS, ids=IDS)
def test_wavelets_are_zero_mean(name, grid, shape):
    ones = torch.ones((1,) + shape, dtype=torch.float64)
    C = grid.wavelet(ones)
    assert C.shape == (1, grid.L) + shape and C.is_complex()
    assert float(C.abs().max()) < 1e-10
    x = torch.randn((1,) + shape, dtype=torch.float64)
    assert float(grid.wavelet(x).abs().mean()) > 0.05                    # and not zero


@pytest.mark.parametrize("name, grid, shape", GRIDS, ids=IDS)
def test_wavelet_parts_are_the_wavelets_real_and_imaginary_parts(name, grid, shape):
    """``wavelet_parts`` (the layout of the statistics' real products) against ``wavelet``, with
    channel axes, and its gradient (HEALPix: the stencil's own output, a separate code path)."""
    x = torch.randn((2, 3) + shape, dtype=torch.float64, requires_grad=True)
    F, C = grid.wavelet_parts(x), grid.wavelet(x)
    assert F.shape == (2, 3, 2, grid.L) + shape
    torch.testing.assert_close(F, torch.stack([C.real, C.imag], 2), rtol=1e-12, atol=1e-12)
    g = torch.randn_like(F)
    ga, = torch.autograd.grad((F * g).sum(), x)
    gb, = torch.autograd.grad((torch.view_as_real(C) * g.movedim(2, -1)).sum(), x)
    torch.testing.assert_close(ga, gb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, grid, shape", GRIDS, ids=IDS)
def test_upsample_then_downsample_is_near_identity_on_smooth_fields(name, grid, shape):
    x0 = _smooth_field(name, grid, shape)
    x = grid.downsample(x0)                   # a smooth field at the coarser level
    back = grid.downsample(grid.upsample(x))
    assert grid.spatial_shape(grid.upsample(x)) == shape
    keep = slice(None)
    if name == "patch":   # away from the border: coarse cells whose neighbours have all 4 children
        cells1, full = grid.patch.cells[1], grid.patch.child_count(0) == 4
        nb = hp.get_all_neighbours(grid.patch.nsides[1], cells1, nest=True).T        # (n, 8)
        pos = np.searchsorted(cells1, nb).clip(0, cells1.size - 1)
        inside = (cells1[pos] == nb) & full[pos]
        keep = torch.as_tensor(full & inside.all(1))
        assert int(keep.sum()) > 10
    err = (back - x)[..., keep].abs().max() / x[..., keep].abs().max()
    assert float(err) < (1e-10 if name in ("1d", "2d") else 0.1)


@pytest.mark.parametrize("name, grid, shape", GRIDS, ids=IDS)
def test_every_linear_operator_has_its_exact_adjoint_as_backward(name, grid, shape):
    """<A x, y> = <x, A^T y> with A^T y from autograd (hand-written backwards included),
    against the dense matrix of A."""
    n = int(np.prod(shape))
    c = grid.coarser(shape)
    ops = {
        "wavelet.real": (lambda t: grid.wavelet(t).real, shape),
        "wavelet.imag": (lambda t: grid.wavelet(t).imag, shape),
        "downsample": (grid.downsample, shape),
        "downsample_mask": (grid.downsample_mask, shape),
        "upsample": (grid.upsample, c),
    }
    for opname, (op, s_in) in ops.items():
        n_in = int(np.prod(s_in))
        A = _dense(op, n_in, s_in)
        x = torch.randn((1,) + tuple(s_in), dtype=torch.float64, requires_grad=True)
        Ax = op(x)
        torch.testing.assert_close(Ax.reshape(-1), A @ x.detach().reshape(-1), msg=f"{opname} is not linear")
        y = torch.randn_like(Ax)
        (g,) = torch.autograd.grad((Ax * y).sum(), x)
        torch.testing.assert_close(g.reshape(-1), A.T @ y.reshape(-1), msg=f"{opname}: backward is not A^T")
        lhs = float((Ax.detach() * y).sum())
        rhs = float((x.detach() * g).sum())
        assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs)), opname
    assert n > 0


def test_grid_keys_identify_their_operators():
    a, b = make_grid("healpix", 4, 3), make_grid("healpix", 4, 5)
    assert a.key() != b.key() and a.key() == make_grid("healpix", 4, 3).key()
    assert make_grid("2d", 4).key() != make_grid("2d", 8).key()
    g, cells, nside = _patch_grid()
    assert g.key() != a.key() and g.key() == a.restrict(cells[::-1].copy(), nside).key()
    with pytest.raises(ValueError, match="only meaningful on the healpix grid"):
        make_grid("2d").restrict(cells, nside)
    with pytest.raises(ValueError, match="grid must be one of"):
        make_grid("3d")
    with pytest.raises(TypeError, match="grid must be one of"):
        make_grid(2)


@pytest.mark.parametrize("name, grid, shape", GRIDS, ids=IDS)
def test_dilate_grows_by_the_neighbourhood_symmetrically(name, grid, shape):
    """``dilate`` (inpainting's hole windows): 0/1, keeps the mask, and j is in the dilation of
    pixel i exactly when i is in that of j; on the sphere: the pixel and its NEST neighbours."""
    n = int(np.prod(shape))
    eye = torch.eye(n, dtype=torch.float64).reshape((n,) + tuple(shape))
    D = grid.dilate(eye).reshape(n, n)
    assert set(torch.unique(D).tolist()) <= {0.0, 1.0}
    assert bool((torch.diagonal(D) == 1).all()) and torch.equal(D, D.T)
    if name == "healpix":
        nb = hp.get_all_neighbours(8, np.arange(n), nest=True)
        want = np.eye(n)
        for p in range(n):
            want[p, nb[:, p][nb[:, p] >= 0]] = 1
        assert np.array_equal(D.numpy(), want)
    if name == "2d":
        assert int(D[0].sum()) == 9 and int(D.sum()) == 9 * n


@pytest.mark.parametrize("name, grid, shape", GRIDS, ids=IDS)
def test_neighbour_pairs_are_each_adjacency_once(name, grid, shape):
    """``neighbour_pairs`` (inpainting's increments): distinct unordered pairs of distinct pixels,
    every pixel in some; on the sphere exactly healpy's NEST adjacency (inside a patch: the pairs
    of its cells); on the periodic planar grids the next pixel along each axis."""
    n = int(np.prod(shape))
    a, b = grid.neighbour_pairs(shape)
    assert a.dtype == torch.int64 and bool((a != b).all())
    pairs = {(min(i, j), max(i, j)) for i, j in zip(a.tolist(), b.tolist())}
    assert len(pairs) == a.numel()
    assert set(a.tolist()) | set(b.tolist()) == set(range(n))
    if name in ("healpix", "patch"):
        ids = np.arange(n) if name == "healpix" else _patch_grid()[1]
        local = {int(c): k for k, c in enumerate(ids)}
        nb = hp.get_all_neighbours(8, ids, nest=True)
        want = {(min(k, local[int(q)]), max(k, local[int(q)])) for k in range(ids.size) for q in nb[:, k]
                if q >= 0 and int(q) in local}
        assert pairs == want
    else:
        assert a.numel() == len(shape) * n
        d = torch.stack(torch.unravel_index(b, shape)) - torch.stack(torch.unravel_index(a, shape))
        size = torch.tensor(shape)[:, None]
        assert bool(((d % size == 1).sum(0) == 1).all()) and bool(((d % size == 0).sum(0) == len(shape) - 1).all())
        if name == "2d":                   # an axis of two pixels: its wrapped pair is not repeated
            a2, b2 = grid.neighbour_pairs((2, 5))
            assert a2.numel() == 5 + 10 and len({(min(i, j), max(i, j)) for i, j in zip(a2.tolist(), b2.tolist())}) == 15


@pytest.mark.parametrize("name, grid, shape", GRIDS, ids=IDS)
def test_band_split_is_an_orthogonal_partition(name, grid, shape):
    """``band_split`` (the posterior's band-wise combination): the bands sum to the field, each
    is a projection (splitting a band gives it back, alone), and distinct bands are orthogonal
    (exactly on the planar grids and on a patch's Haar bands, to the HEALPix quadrature's accuracy
    on the full sky)."""
    x = torch.randn((2,) + tuple(shape), dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    b = grid.band_split(x)
    assert b.shape[:2] == (2, b.shape[1]) and tuple(b.shape[2:]) == tuple(shape)
    assert torch.allclose(b.sum(1), x, atol=1e-12)
    G = torch.einsum("bip,bjp->ij", b.flatten(2), b.flatten(2))
    off = (G - torch.diag(torch.diag(G))).abs().max() / G.diagonal().max()
    assert float(off) < (1e-12 if name in ("1d", "2d", "patch") else 1e-2)
    assert b.shape[1] >= (4 if name == "patch" else 8)         # patch: the mean and the NEST levels (Haar)
    k = b.shape[1] // 2
    again = grid.band_split(b[:, k])
    tol = 1e-10 if name in ("1d", "2d", "patch") else 1e-3     # HEALPix: map2alm_iter quadrature
    assert torch.allclose(again[:, k], b[:, k], atol=tol * float(b[:, k].abs().max()))
