"""Split (patch-wise) statistics: equal to the whole-map ones, values and gradients, on every
kind of input; the memory budget; Dask workers (stats.split, healpix.blocks)."""
import numpy as np
import pytest
import torch

import foscat_like as fl
from foscat_like.stats.compute import finalise, scattering_covariance
from foscat_like.stats.cone import exact_pixels
from foscat_like.stats.split import Plan, parse_memory, split_moments

TOL = 1e-10


def _loss(raw):
    keys = [k for k, v in raw.items() if isinstance(v, torch.Tensor)]
    # a loss touching every coefficient with its own weight
    return sum(((raw[k].abs() ** 2) * (1 + torch.arange(raw[k].numel()).reshape(raw[k].shape) % 5)).sum()
               for k in keys), keys


def _whole_and_split(grid, x1, x2, J, w=None, edge=False, calc_var=False, js=1, m=2):
    """Statistics and gradients, whole, and through an explicit plan (js, m)."""
    out = []
    n0 = x1.shape[-1]
    for plan in (None, Plan(js, grid.split_blocks(n0, js, m), 0.0)):
        xs = [x.clone().requires_grad_() for x in (x1, x2) if x is not None]
        a, b = xs[0], xs[1] if len(xs) > 1 else None
        if plan is None:
            raw = scattering_covariance(grid, a, b, J, w, edge=edge, calc_var=calc_var)
        else:
            assert plan.blocks is not None and len(plan.blocks) > 1
            raw = finalise(split_moments(plan, grid, a, b, J, w, edge, calc_var), J, b is not None, calc_var)
        loss, keys = _loss(raw)
        out.append((raw, keys, torch.autograd.grad(loss, xs)))
    return out


def _rel(a, b):
    return ((a - b).abs().max() / a.abs().max()).item()


def _check(pair):
    (r0, keys, g0), (r1, _, g1) = pair
    for k in keys:
        if r0[k] is not None:
            assert _rel(r0[k], r1[k]) < TOL, k
    for a, b in zip(g0, g1):
        assert _rel(a, b) < TOL


@pytest.mark.parametrize("case,js", [("full", 1), ("full", 2), ("full", 4), ("masks", 2), ("cross", 1),
                                     ("calc_var", 2), ("kernel5", 1)])
def test_split_equals_whole_full_sky(case, js):
    """js=4: every level by blocks (no coarse part); 1, 2: blocks then the whole map."""
    torch.manual_seed(js)
    nside = 16
    op = fl.funct(NORIENT=4, KERNELSZ=5 if case == "kernel5" else 3)
    x1 = torch.randn(2, 12 * nside ** 2, dtype=torch.float64)
    x2 = torch.randn_like(x1) if case == "cross" else None
    w = (torch.rand(2, x1.shape[-1], dtype=torch.float64) > 0.3).double() if case == "masks" else None
    _check(_whole_and_split(op.grid, x1, x2, 4, w, calc_var=case == "calc_var", js=js, m=1 if js == 4 else 2))


@pytest.mark.parametrize("edge", [False, True])
def test_split_equals_whole_on_a_patch(edge):
    nside = 32
    ids = np.arange(2 * nside ** 2, 6 * nside ** 2 + 100)            # not a union of base pixels
    g = fl.funct(NORIENT=4).grid.restrict(ids, nside)
    x1 = torch.randn(1, ids.size, dtype=torch.float64)
    w = (torch.rand(1, ids.size, dtype=torch.float64) > 0.2).double()
    _check(_whole_and_split(g, x1, None, 3, w, edge=edge, js=2, m=2))


@pytest.mark.parametrize("KERNELSZ", [3, 5])
def test_halos_hold_the_dependency_cone(KERNELSZ):
    """Every core pixel of every block is exact in its block (stats.cone) at the split levels."""
    g = fl.funct(NORIENT=4, KERNELSZ=KERNELSZ).grid
    nside, js = 16, 2
    for b in g.split_blocks(12 * nside ** 2, js, 2):
        ok = exact_pixels(b.grid, len(b.core[0]), js)
        for j in range(js):
            assert ok[j][b.core[j]].all()


def test_full_sky_blocks_share_their_quarter_turns():
    """On the full sky the blocks of base pixels 4g+1..4g+3 reuse the grid of base pixel 4g and
    hold the same cells, core and halo, as blocks cut for themselves (a full-sky patch: no turns)."""
    nside, js, m = 16, 1, 2
    g = fl.funct(NORIENT=4).grid
    n0 = 12 * nside ** 2
    turned = g.split_blocks(n0, js, m)
    fresh = g.restrict(np.arange(n0), nside).split_blocks(n0, js, m)
    assert len({id(b.grid) for b in turned}) * 4 == len(turned) == len(fresh)
    by_core = {tuple(np.sort(b.core_global)): b for b in fresh}
    for b in turned:
        f = by_core[tuple(np.sort(b.core_global))]
        for j in range(js):
            cells = dict(zip(b.pos[j].tolist(), b.core[j].tolist()))
            assert cells == dict(zip(f.pos[j].tolist(), f.core[j].tolist()))


def test_split_keeping_some_operators_releases_the_rest():
    """``Plan.keep`` grids keep their operators between evaluations; the others are freed after
    their last (turned) block; the statistics are the whole map's either way."""
    nside, js, m = 16, 1, 2
    op = fl.funct(NORIENT=4)
    x = torch.randn(1, 12 * nside ** 2, dtype=torch.float64)
    whole = scattering_covariance(op.grid, x, None, 3)
    blocks = op.grid.split_blocks(x.shape[-1], js, m)
    grids = list({id(b.grid): b.grid for b in blocks}.values())
    raw = finalise(split_moments(Plan(js, blocks, 0.0, keep=2), op.grid, x, None, 3, None, False, False),
                   3, False, False)
    assert [bool(gr._ops) for gr in grids] == [True, True] + [False] * (len(grids) - 2)
    for k, v in whole.items():
        if isinstance(v, torch.Tensor):
            assert _rel(v, raw[k]) < TOL, k


def test_max_memory_drives_the_split_and_eval_matches():
    nside = 32
    x = torch.randn(12 * nside ** 2, dtype=torch.float64)
    whole = fl.funct(NORIENT=4).eval(x, norm="self")
    op = fl.funct(NORIENT=4, max_memory="20MB")
    import foscat_like.stats.split as split
    plan = split.split_plan(op.grid, x[None], None, op.scales(x), False)
    assert plan is not None and len(plan.blocks) > 1
    part = op.eval(x, norm="self")
    for (_, a), (_, b) in zip(whole._fields(), part._fields()):
        assert _rel(a, b) < TOL


def test_max_memory_errors():
    assert parse_memory("4GB") == 4 * 10 ** 9 and parse_memory("2 GiB") == 2 * 2 ** 30
    assert parse_memory(1e9) == 10 ** 9 and parse_memory(None) is None
    for bad in ("four GB", "4XB", "-1GB", 0, -5):
        with pytest.raises(ValueError, match="max_memory"):
            fl.funct(max_memory=bad)
    with pytest.raises(TypeError, match="max_memory"):
        fl.funct(max_memory=True)
    with pytest.raises(TypeError, match="client"):
        fl.funct(client="tcp://127.0.0.1:8786")
    op = fl.funct(NORIENT=4, max_memory="1MB")
    with pytest.raises(ValueError, match="at least .* bytes"):
        op.eval(np.random.randn(12 * 32 ** 2))


def test_synthesis_through_the_split_is_the_same_synthesis():
    nside = 16
    rng = np.random.default_rng(0)
    target = np.exp(rng.standard_normal(12 * nside ** 2))
    kw = dict(nstep=1, NUM_EPOCHS=15, progress=False, seed=3)
    a = fl.funct(NORIENT=4).synthesis(target, **kw)
    op = fl.funct(NORIENT=4, max_memory="9MB")
    import foscat_like.stats.split as split
    u = torch.zeros(1, target.size, dtype=torch.float64, requires_grad=True)
    assert split.split_plan(op.grid, u, None, op.scales(target), False) is not None
    b = op.synthesis(target, **kw)
    assert np.abs(a - b).max() / np.abs(a).max() < 1e-8


def _fg(op, x):
    xt = torch.tensor(x, requires_grad=True)
    if op.grid.client is not None:           # the budget must split this map into blocks
        import foscat_like.stats.split as split
        assert split.split_plan(op.grid, xt[None], None, op.scales(x), False) is not None
    s = op.eval(xt, norm="self")
    sum((v.abs() ** 2).sum() for _, v in s._fields()).backward()
    return s, xt.grad


def test_dask_blocks_equal_local(dask_client):
    """Blocks grouped by grid (a base pixel's block and its quarter turns: 12 blocks, 3 grids,
    run as 6 tasks of 2 on the 2 workers)."""
    x = np.random.default_rng(1).standard_normal(12 * 16 ** 2)
    import foscat_like.stats.split as split
    plan = split.split_plan(fl.funct(NORIENT=4, max_memory="9MB").grid, torch.tensor(x, requires_grad=True)[None], None, 4, False)
    assert len(plan.blocks) == 4 * len(split.by_grid(plan.blocks)) == 12
    s0, g0 = _fg(fl.funct(NORIENT=4), x)
    op = fl.funct(NORIENT=4, max_memory="9MB", client=dask_client)
    sizes, submit = [], dask_client.submit

    def counting(fn, spec, args, **kw):        # the tasks of the forward and backward passes
        sizes.append(len(args))
        return submit(fn, spec, args, **kw)
    dask_client.submit = counting
    try:
        s1, g1 = _fg(op, x)
    finally:
        del dask_client.submit                  # the class's method again
    assert sizes == [2] * 12
    for (_, a), (_, b) in zip(s0._fields(), s1._fields()):
        assert _rel(a, b) < TOL
    assert _rel(g0, g1) < TOL


def test_dask_worker_lost_mid_evaluation(dask_client):
    """A worker killed while blocks are running: Dask recomputes them elsewhere, same numbers."""
    import os
    import signal
    import threading
    import time
    x = np.random.default_rng(2).standard_normal(12 * 16 ** 2)
    s0, g0 = _fg(fl.funct(NORIENT=4), x)
    pids = dask_client.run(os.getpid)
    victim = sorted(pids)[0]

    killed = []

    def kill():
        while not any(dask_client.processing().values()):
            time.sleep(0.005)
        os.kill(pids[victim], signal.SIGKILL)
        killed.append(victim)
    op = fl.funct(NORIENT=4, max_memory="9MB", client=dask_client)   # its worker check first
    t = threading.Thread(target=kill, daemon=True)
    t.start()
    s1, g1 = _fg(op, x)
    t.join(timeout=60)
    assert killed, "the worker was not killed while the blocks ran"
    for (_, a), (_, b) in zip(s0._fields(), s1._fields()):
        assert _rel(a, b) < TOL
    assert _rel(g0, g1) < TOL
    dask_client.wait_for_workers(2, timeout=120)      # the nanny restarts it


def test_dask_client_without_workers():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(ValueError, match="no workers"):
            fl.funct(client=client)


def test_cli_max_memory(tmp_path):
    """`foscat-like stats --max-memory` splits; a too small budget is a clean exit 2."""
    from foscat_like.cli import main
    x = np.random.default_rng(3).standard_normal(12 * 32 ** 2)
    np.save(tmp_path / "m.npy", x)
    assert main(["stats", str(tmp_path / "m.npy"), "-o", str(tmp_path / "a.npz"), "--quiet"]) == 0
    assert main(["stats", str(tmp_path / "m.npy"), "-o", str(tmp_path / "b.npz"), "--quiet",
                 "--max-memory", "30MB"]) == 0
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    for k in a.files:
        if a[k].dtype.kind in "fc":
            assert np.abs(a[k] - b[k]).max() <= 1e-10 * max(1.0, np.abs(a[k]).max())
    assert main(["stats", str(tmp_path / "m.npy"), "-o", str(tmp_path / "c.npz"), "--quiet",
                 "--max-memory", "1MB"]) == 2


def test_dask_workers_that_do_not_answer(dask_client):
    """A worker check that times out is a ValueError saying so, not a hang."""
    from foscat_like.stats.dask_blocks import check_workers
    with pytest.raises(ValueError, match="did not answer"):
        check_workers(dask_client, timeout=1e-4)


def test_dask_synthesis_equals_local(dask_client):
    """A whole synthesis whose every loss and gradient runs its blocks on the workers."""
    nside = 16
    target = np.exp(np.random.default_rng(4).standard_normal(12 * nside ** 2))
    kw = dict(nstep=1, NUM_EPOCHS=8, progress=False, seed=3)
    a = fl.funct(NORIENT=4).synthesis(target, **kw)
    b = fl.funct(NORIENT=4, max_memory="9MB", client=dask_client).synthesis(target, **kw)
    assert np.abs(a - b).max() / np.abs(a).max() < 1e-8


def test_edge_on_the_full_sphere_is_the_whole_sphere():
    """The full sphere has no edge: edge=True keeps every pixel (it raised a TypeError)."""
    x = np.random.default_rng(5).standard_normal(12 * 16 ** 2)
    op = fl.funct(NORIENT=4)
    a, b = op.eval(x, norm="self"), op.eval(x, norm="self", edge=True)
    for (_, u), (_, v) in zip(a._fields(), b._fields()):
        assert _rel(u, v) < TOL
