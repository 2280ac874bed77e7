"""The synthesis loss (``optim.loss.StatLoss``): its packed distance (the families in one
difference, square and weighted sum; for auto statistics of whole planar fields, the packed row
straight from the Gram matrices, ``stats.packed``) equals the families' mean squared distances
one by one, with their gradients, for auto, cross, angle-reduced, multi-component and
inpainting terms."""
import pytest
import torch

import foscat_like as fl
from foscat_like.optim.inpaint import focus
from foscat_like.optim.loss import INCREMENT_WEIGHT, StatLoss
from foscat_like.optim.plan import spin_components, tile_rows


def _families(loss: StatLoss, u: torch.Tensor) -> torch.Tensor:
    """The loss as the mean over families of ``mean |(a - b) / sigma|^2`` (plus the extra terms)."""
    g = loss._analysed(u)
    total = 0.0
    for i, (_, st_t, sig, _) in enumerate(loss.terms):
        st_u = loss._stats(g, i)
        rows = st_u.S1.shape[0]
        st_t, sig = (t.map(lambda v: tile_rows(v, rows)) for t in (st_t, sig))
        fams = [(a - b) / s for (_, a), (_, b), (_, s) in zip(st_u._fields(), st_t._fields(), sig._fields())]
        total = total + sum((d.abs() ** 2).mean() for d in fams) / len(fams)
    total = total / len(loss.terms)
    if loss.quantiles is not None:
        total = total + loss.hist_weight * loss.histogram_distance(u)
        if loss.focus is not None:
            inside = loss.focus.regions[0].flatten() > 0
            total = total + loss.hist_weight * loss.histogram_distance(u.flatten(1)[:, inside], loss.local_quantiles)
    if loss.increments is not None:
        d = loss.focus.increments(u.flatten(1))[:, :2] - loss.increments
        total = total + INCREMENT_WEIGHT * (d * d).mean()
    return total


def _cases():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 32, 32, generator=g, dtype=torch.float64)
    r = torch.randn(1, 32, 32, generator=g, dtype=torch.float64)
    grid = fl.funct(NORIENT=4, grid="2d").grid
    hole = torch.zeros(32, 32)
    hole[10:16, 12:20] = 1
    return grid, x, r, hole


@pytest.mark.parametrize("kind", ["auto", "no variance", "cross", "iso", "fft", "two rows", "focus"])
def test_packed_loss_equals_the_families_one_by_one(kind):
    grid, x, r, hole = _cases()
    kw = dict(histogram=kind != "no variance", spectrum=False)
    if kind == "focus":
        loss = StatLoss(grid, x, 3, focus=focus(grid, hole).to(torch.float64), **kw)
    else:
        loss = StatLoss(grid, x, 3, reference=r if kind == "cross" else None,
                        use_variance=kind != "no variance",
                        angular={"iso": "iso", "fft": ("fft", 2, True)}.get(kind, "full"), **kw)
    rows = 2 if kind == "two rows" else 1
    u = torch.randn(rows, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64,
                    requires_grad=True)
    for _ in range(2):              # the second call uses the packed target made by the first
        a, b = loss(u), _families(loss, u)
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
        ga, = torch.autograd.grad(a, u)
        gb, = torch.autograd.grad(b, u)
        torch.testing.assert_close(ga, gb, rtol=1e-10, atol=1e-14)
    assert float(a.detach()) > 0
    # the auto term of a whole planar field, full angles, takes stats.packed from the second call
    fast = kind in ("auto", "no variance", "cross", "two rows")
    assert loss._fast.get((0, rows, torch.float64)) is fast
    if kind == "cross":
        assert loss._fast.get((1, rows, torch.float64)) is False


def test_packed_loss_with_components():
    """Spin 2 on the sphere: (Q, U) analysed as (E, B), each component and their cross term."""
    grid = fl.funct().grid
    g = torch.Generator().manual_seed(2)
    qu = torch.randn(2, 12 * 8 * 8, generator=g, dtype=torch.float64)
    C, transform = spin_components(grid, 2, qu, "target")
    loss = StatLoss(grid, qu, 2, components=C, transform=transform, spectrum=False)
    u = torch.randn(4, qu.shape[1], generator=g, dtype=torch.float64, requires_grad=True)    # 2 samples
    a, b = loss(u), _families(loss, u)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
    torch.testing.assert_close(torch.autograd.grad(a, u)[0], torch.autograd.grad(b, u)[0], rtol=1e-10, atol=1e-14)
    assert float(loss(qu)) < 1e-20


@pytest.mark.parametrize("gridname,NORIENT,shape,J", [("2d", 4, (32, 32), 3), ("2d", 6, (24, 40), 2),
                                                        ("2d", 3, (16, 16), 1), ("1d", 4, (256,), 5)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_packed_statistics_equal_the_general_path(gridname, NORIENT, shape, J, dtype):
    """``stats.packed.packed_auto`` against ``normalize(scattering_covariance)`` packed by the loss,
    values and gradients, for several orientations, sizes and both grids with a spectral route."""
    from foscat_like.optim.loss import _pack
    from foscat_like.stats.compute import scattering_covariance
    from foscat_like.stats.normalize import normalisers, normalize
    from foscat_like.stats.packed import inverse_divisors, packed_auto
    from foscat_like.stats.scatcov import ScatCov
    grid = fl.funct(NORIENT=NORIENT, grid=gridname).grid
    g = torch.Generator().manual_seed(3)
    ref = torch.randn((1,) + shape, generator=g, dtype=dtype)
    x = torch.randn((2,) + shape, generator=g, dtype=dtype, requires_grad=True)
    norms = {k: v.detach() for k, v in normalisers(scattering_covariance(grid, ref, None, J)).items()}
    general = _pack([v for _, v in ScatCov.from_raw(normalize(scattering_covariance(grid, x, None, J),
                                                              norms=norms))._fields()], 2)
    fast = packed_auto(grid, x, J, inverse_divisors(norms, grid.L))
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(fast, general, rtol=tol, atol=tol)
    w = torch.randn(general.shape, generator=g, dtype=dtype)
    torch.testing.assert_close(torch.autograd.grad((fast * w).sum(), x)[0],
                               torch.autograd.grad((general * w).sum(), x)[0], rtol=tol * 10, atol=tol)


def test_separation_loss_on_packed_statistics_equals_the_general_path(monkeypatch):
    """``SeparationLoss``'s two auto terms on ``stats.packed`` (targets permuted by
    ``vectors_order``) against the general path: each condition's value and the gradient."""
    from foscat_like.optim.separation import SeparationLoss
    from foscat_like.stats.packed import vectors_order
    grid = fl.funct(NORIENT=4, grid="2d").grid
    g = torch.Generator().manual_seed(5)
    d = torch.randn(1, 32, 32, generator=g, dtype=torch.float64)
    n = 0.5 * torch.randn(4, 32, 32, generator=g, dtype=torch.float64)
    s0 = 0.8 * d
    fast = SeparationLoss(grid, d, n, 3, s0)
    monkeypatch.setattr(SeparationLoss, "_packed_terms", lambda self, raw: None)
    slow = SeparationLoss(grid, d, n, 3, s0)
    assert fast.terms[0][0] is not slow.terms[0][0] and len(fast.terms) == len(slow.terms) == 3
    s = (0.7 * d + 0.1 * torch.randn(1, 32, 32, generator=g, dtype=torch.float64)).requires_grad_()
    pa, pb = fast.parts(s), slow.parts(s)
    for a, b in zip(pa, pb):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=0)
    torch.testing.assert_close(torch.autograd.grad(sum(pa), s)[0], torch.autograd.grad(sum(pb), s)[0],
                               rtol=1e-9, atol=1e-13)
    perm = vectors_order(3, 4)
    assert sorted(perm.tolist()) == list(range(perm.numel()))          # a permutation
