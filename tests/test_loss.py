"""The synthesis loss (``optim.loss.StatLoss``): its packed distance (the families in one
difference, square and weighted sum) equals the families' mean squared distances one by one,
with their gradients, for auto, cross, angle-reduced, multi-component and inpainting terms."""
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
