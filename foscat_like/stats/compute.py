"""Scattering covariance, written once against the grid protocol.

With ``C_j = x_j * psi`` the oriented wavelet transform at level ``j`` (``x_j``
the field downsampled ``j`` times) and ``<.>`` the (masked) spatial mean:

    S0           = [<x1>, <x1 x2> - <x1><x2>]
    S1[j, l]     = <|C1_jl|>                      (cross: <sqrt(|C1_jl| |C2_jl|)>)
    S2[j, l]     = <|C1_jl|^2>                    (cross: <Re C1_jl conj C2_jl>)
    S3[j2<=j3, l2, l3]  = <C1_j3,l3 conj(|C2_j2,l2| * psi_j3,l3)>
    S3P[j2<=j3, l2, l3] = <C2_j3,l3 conj(|C1_j2,l2| * psi_j3,l3)>   (cross only)
    S4[j1<=j2<=j3, l1, l2, l3] = <(|C1_j1,l1| * psi_j3,l3) conj(|C2_j2,l2| * psi_j3,l3)>

Every term of scale ``j3`` is computed at level ``j3`` (per-scale
downsampling), and all sums over pixels of products are batched matrix
products, so no ``(L, L, L, pixels)`` tensor is ever formed. The products run on real
numbers: per orientation ``l3``, the rows ``[C_j3, |C_j2| * psi_j3 ...]`` as real parts then
imaginary parts (``grid.wavelet_parts``), one real Gram product giving S3 and S4 (S3P) together
(torch's complex matrix products ran 2x slower, 5x in float64).
"""
from __future__ import annotations

import torch

from .. import heap
from ..grid import Grid
from ..ops import modulus_parts, safe_sqrt
from . import gram_kernels


def wmean_prod(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """``out[n,k,z,x,y] = sum_p w[k,p] a[n,z,x,p] conj(b[n,z,y,p])``.

    a ``(N, Z, X, P)``, b ``(N, Z, Y, P)``, w ``(K, P)`` or ``None`` (uniform, K = 1)
    -> ``(N, K, Z, X, Y)``. One batched matrix product.
    """
    if b is a:                               # a Gram matrix: one product in the backward too
        return _HermGram.apply(a, w)
    bt = (b.conj() if b.is_complex() else b).transpose(-1, -2)          # (N, Z, P, Y)
    if w is None:
        out = torch.matmul(a, bt).unsqueeze(1) / a.shape[-1]          # (N, 1, Z, X, Y)
    else:
        out = torch.matmul(_weighted(a, w), bt.unsqueeze(1))           # (N, K, Z, X, Y)
    return out


class _HermGram(torch.autograd.Function):
    """``G[n, k] = (a[n] * w[k]) a[n]^H`` ``(N, K, Z, X, X)`` for ``a (N, Z, X, P)`` and weights
    ``w (K, P)`` (``None``: ``1 / P``, K = 1). As ``matmul(a, a^H)`` the backward makes two
    products of ``a``'s size and adds them; here it is one: ``da = (g + g^H) (a * w)``
    (summed over ``k``), since ``G`` is Hermitian in its last two axes. With one weight map
    the forward's ``a * w`` is what the backward keeps (``a`` itself is not needed)."""

    @staticmethod
    def forward(ctx, a, w):
        if w is None:
            ctx.save_for_backward(a, None)
            return (torch.matmul(a, a.mH) / a.shape[-1]).unsqueeze(1)
        aw = _weighted(a, w)                                           # (N, K, Z, X, P)
        ctx.save_for_backward(aw[:, 0] if w.shape[0] == 1 else a, w)
        ctx.weighted = w.shape[0] == 1
        return torch.matmul(aw, a.unsqueeze(1).mH)

    @staticmethod
    def backward(ctx, g):
        a, w = ctx.saved_tensors
        h = g + g.mH                                                   # (N, K, Z, X, X)
        if torch.is_grad_enabled():     # a differentiated gradient (create_graph): recorded ops
            if w is None:
                return torch.matmul(h[:, 0] / a.shape[-1], a), None
            if ctx.weighted:       # only a * w is kept (memory): its dependence on a is lost
                raise RuntimeError("a gradient of a gradient (create_graph) of statistics with one "
                                   "weight map (a mask) on the pixel route is not supported")
            return (torch.matmul(h, a.unsqueeze(1)) * w.to(a.dtype)[None, :, None, None, :]).sum(1), None
        da = heap.empty(tuple(a.shape), a.dtype, a.device)            # a's size: numpy memory if large
        if w is None:
            return torch.matmul(h[:, 0] / a.shape[-1], a, out=da), None
        if ctx.weighted:                                               # a is a * w
            return torch.matmul(h[:, 0], a, out=da), None
        # sum_k (h_k a) w_k: the weights applied to the products in place (no weighted copy
        # of ``a`` K times and no sum over a K axis)
        w = w.to(a.dtype)
        torch.matmul(h[:, 0], a, out=da).mul_(w[0])
        for k in range(1, h.shape[1]):
            da.addcmul_(torch.matmul(h[:, k], a), w[k])
        return da, None


def _weighted(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``a (N, Z, X, P)`` times the weights ``w (K, P)`` -> ``(N, K, Z, X, P)``."""
    return a.unsqueeze(1) * w.to(a.dtype)[None, :, None, None, :]


def product_rows(F: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """The rows of the level's products, real: ``F (B, 2, L3, P)`` (``C_j3``'s real and imaginary
    parts) and ``W (B, n L2, 2, L3, P)`` (``|C_j2| * psi_j3``'s) -> ``(B, L3, 2 (1 + n L2), P)``:
    per orientation ``l3``, the real parts of ``[C, W_1 .. W_nL2]``, then their imaginary parts."""
    return _Rows.apply(F, W)


class _Rows(torch.autograd.Function):
    """``product_rows`` as ``torch.cat``, written into ``heap.empty`` (the level's largest array);
    the backward gives each input its slice of the gradient (views, as ``cat``'s does)."""

    @staticmethod
    def forward(ctx, F, W):
        B, _, L3, P = F.shape
        n = W.shape[1]
        out = heap.empty((B, L3, 2, 1 + n, P), F.dtype, F.device)
        out[:, :, :, 0] = F.transpose(1, 2)
        out[:, :, :, 1:] = W.permute(0, 3, 2, 1, 4)
        ctx.n = n
        return out.flatten(2, 3)

    @staticmethod
    def backward(ctx, g):
        g = g.unflatten(2, (2, 1 + ctx.n))                  # (B, L3, 2, 1 + n, P)
        return g[:, :, :, 0].transpose(1, 2), g[:, :, :, 1:].permute(0, 3, 2, 1, 4)


def _zlast(m: torch.Tensor) -> torch.Tensor:
    """``(B, K, Z, X, Y)`` -> ``(B, K, X, Y, Z)`` (a view): the layout ``pick_s3`` / ``pick_s4`` read."""
    return m.permute(0, 1, 3, 4, 2)


def complex_products(R: torch.Tensor) -> torch.Tensor:
    """``R (B, K, Z, 2X, 2Y)`` (``wmean_prod`` of real rows ``[re; im]``: the ``X`` real parts,
    then the ``X`` imaginary ones) -> the complex means ``<r_x conj(r_y)>`` ``(B, K, Z, X, Y)``."""
    R = R.unflatten(-1, (2, -1)).unflatten(-3, (2, -1))    # (B, K, Z, 2, X, 2, Y)
    re = R[..., 0, :, 0, :] + R[..., 1, :, 1, :]
    im = R[..., 1, :, 0, :] - R[..., 0, :, 1, :]
    return torch.complex(re, im)


MOMENTS = ("S1", "S2", "P1", "P2", "S3", "S3P", "S4")


def level_weights(grid: Grid, shape: tuple, J: int, weights: torch.Tensor | None, edge: bool,
                  like: torch.Tensor, normalise: bool = True) -> list:
    """Pixel weights of every level ``[(K, P_j) | None] * J``: the masks brought down ``j``
    times, times the edge weights; normalised to unit sum (``grid.pixel_weights``) or not."""
    out, w = [], weights
    for j in range(J):
        wl = w
        e = grid.edge_weights(shape, like) if edge else None
        if e is not None:                       # None: a grid without edges (the full sphere)
            wl = e[None] if w is None else w * e
        out.append(grid.pixel_weights(wl, like) if normalise else
                   None if wl is None else wl.flatten(-grid.spatial_ndim).to(like.dtype))
        if j < J - 1:
            shape = grid.coarser(shape)
            w = None if w is None else grid.downsample_mask(w)
    return out


def initial_state(x1: torch.Tensor, x2: torch.Tensor | None) -> dict:
    """What level 0 starts from: the fields, and no stored moduli yet."""
    return {"x1": x1, "x2": x2, "mods1": [], "mods2": []}


def moments(grid: Grid, state: dict, levels: range, J: int, wfs: list, calc_var: bool = False) -> tuple[dict, dict | None]:
    """Weighted means of every integrand at the levels ``levels`` (of ``J``), from ``state``
    (``initial_state`` at level 0, or the ``state`` a previous call returned).

    wfs : ``[(K, P_j) | None] * J`` weights (``level_weights``; ``None``: uniform). Every
    entry of the result (a list of chunks ``(B, K, n, ...)``, ``n`` indices each) is a sum
    over pixels of ``weight x integrand``, so the moments of
    disjoint sets of pixels add up (``stats.split``); ``finalise`` makes the statistics.
    Returns ``(mom, state)`` with the state at level ``levels.stop`` (``None`` when it is ``J``).
    """
    nd = grid.spatial_ndim
    x1, x2 = state["x1"], state["x2"]
    cross = x2 is not None
    # the moduli |C_j2| of the levels so far, side by side: (B, n L, *S) (None before level 0)
    mods1 = _rows(state["mods1"], 1) if state["mods1"] else None
    mods2 = _rows(state["mods2"], 1) if state["mods2"] else None
    mom = {k: [] for k in MOMENTS}
    var = {k: [] for k in MOMENTS}
    for j3 in levels:
        wf = wfs[j3]
        if j3 == 0:
            f1, f2 = x1.flatten(-nd), (x2 if cross else x1).flatten(-nd)
            f12 = f1 * f2
            mom["S0"] = [grid.mean(f1, wf), grid.mean(f2, wf), grid.mean(f12, wf)]
            if calc_var:
                var["S0"] = [grid.mean(f1 * f1, wf), grid.mean(f12 * f12, wf)]
        last = j3 == J - 1            # else each field's downsampling comes with its transform
        parts = grid.wavelet_parts if last else grid.wavelet_parts_and_downsample
        F1, x1_next = _with_next(parts(x1), last)               # (B, 2, L, *S): re, im
        F2, x2_next = _with_next(parts(x2), last) if cross else (F1, None)
        A1 = modulus_parts(F1)                                  # (B, L, *S)
        A2 = modulus_parts(F2) if cross else A1
        f1, f2, a1, a2 = (t.flatten(-nd) for t in (F1, F2, A1, A2))
        p1 = a1 * a1
        mom["P1"].append(grid.mean(p1, wf).unsqueeze(2))
        if cross:
            mom["P2"].append(grid.mean(a2 * a2, wf).unsqueeze(2))
            s1, s2 = safe_sqrt(a1 * a2), (f1 * f2).sum(1)        # Re(C1 conj C2)
            mom["S1"].append(grid.mean(s1, wf).unsqueeze(2)); mom["S2"].append(grid.mean(s2, wf).unsqueeze(2))
            if calc_var:
                var["S1"].append(grid.mean(s1 * s1, wf).unsqueeze(2)); var["S2"].append(grid.mean(s2 * s2, wf).unsqueeze(2))
        else:
            mom["S1"].append(grid.mean(a1, wf).unsqueeze(2))
            if calc_var:
                var["S1"].append(mom["P1"][-1]); var["S2"].append(grid.mean(p1 * p1, wf).unsqueeze(2))
        mods1 = A1 if mods1 is None else torch.cat([mods1, A1], 1)
        if cross:
            mods2 = A2 if mods2 is None else torch.cat([mods2, A2], 1)
        # |C_j2| * psi_j3 of every j2 <= j3, all j2 in one wavelet transform of the moduli side
        # by side, as real rows beside C_j3's: S3 (S3P) and S4 from one real matrix product
        n = j3 + 1
        W1, mods1_next = _with_next(parts(mods1), last)          # (B, n L2, 2, L3, *S)
        W2, mods2_next = _with_next(parts(mods2), last) if cross else (W1, None)
        W1, W2 = W1.flatten(-nd), W2.flatten(-nd)
        if not cross and gram_kernels.usable_pixels(f1, W1):       # the rows read in place
            G = complex_products(gram_kernels.level_gram(f1, W1, wf))
        else:
            r1 = product_rows(f1, W1)
            G = complex_products(wmean_prod(r1, product_rows(f2, W2) if cross else r1, wf))
        mom["S3"].append(pick_s3(_zlast(G[..., :1, 1:]), n))
        if cross:
            mom["S3P"].append(pick_s3(_zlast(G[..., 1:, :1].transpose(-1, -2).conj()), n))
        mom["S4"].append(pick_s4(_zlast(G[..., 1:, 1:]), n))
        if calc_var:        # the same means of the squared moduli
            q1 = (W1 * W1).sum(2).transpose(1, 2)               # (B, L3, n L2, P)
            q2 = (W2 * W2).sum(2).transpose(1, 2) if cross else q1
            var["S3"].append(pick_s3(_zlast(wmean_prod(p1.unsqueeze(2), q2, wf)), n))
            if cross:
                var["S3P"].append(pick_s3(_zlast(wmean_prod((a2 * a2).unsqueeze(2), q1, wf)), n))
            var["S4"].append(pick_s4(_zlast(wmean_prod(q1, q2, wf)), n))
        if not last:
            x1, x2, mods1, mods2 = x1_next, x2_next, mods1_next, mods2_next
    mom.update({"v_" + k: v for k, v in var.items()})
    done = levels.stop >= J
    if done:
        return mom, None
    L = grid.L
    return mom, {"x1": x1, "x2": x2, "mods1": list(mods1.split(L, 1)),
                 "mods2": list(mods2.split(L, 1)) if cross else []}


def _with_next(out, last: bool) -> tuple:
    """``(parts, downsampled)`` from ``wavelet_parts_and_downsample``, or ``(parts, None)``."""
    return (out, None) if last else out


def _rows(W: list, dim: int) -> torch.Tensor:
    """``W`` concatenated along ``dim`` (no copy for one): the moduli ``[(B, L, *S)] * n`` ->
    ``(B, n L, *S)``."""
    return W[0] if len(W) == 1 else torch.cat(W, dim)


def pick_s3(m: torch.Tensor, n: int) -> torch.Tensor:
    """``(B, K, 1, n L2, L3)`` -> the S3 chunk ``(B, K, n, L2, L3)`` of ``j2 = 0 .. n-1``."""
    B, K, _, nL, L3 = m.shape
    return m.reshape(B, K, n, nL // n, L3)


def pick_s4(m: torch.Tensor, n: int) -> torch.Tensor:
    """``(B, K, n L1, n L2, L3)`` -> the S4 chunk ``(B, K, n(n+1)/2, L1, L2, L3)`` of the pairs
    ``j1 <= j2 < n`` in ``indices``' order (j2 outer, j1 inner)."""
    B, K, nL, _, L3 = m.shape
    L = nL // n
    g = m.reshape(B, K, n, L, n, L, L3).permute(0, 1, 2, 4, 3, 5, 6)     # (B, K, j1, j2, L1, L2, L3)
    j1 = torch.tensor([a for b in range(n) for a in range(b + 1)], device=m.device)
    j2 = torch.tensor([b for b in range(n) for _ in range(b + 1)], device=m.device)
    return g[:, :, j1, j2]


def indices(J: int) -> tuple[list, list]:
    """``idx3 [(j2, j3)]`` and ``idx4 [(j1, j2, j3)]`` in the order the moments are made."""
    idx3 = [(j2, j3) for j3 in range(J) for j2 in range(j3 + 1)]
    idx4 = [(j1, j2, j3) for j3 in range(J) for j2 in range(j3 + 1) for j1 in range(j2 + 1)]
    return idx3, idx4


def finalise(mom: dict, J: int, cross: bool, calc_var: bool) -> dict:
    """The statistics (``scattering_covariance``'s dict) from the moments of all ``J`` levels."""
    m1, m2, m12 = mom["S0"]
    idx3, idx4 = indices(J)
    res = {"S0": torch.stack([m1, m12 - m1 * m2], dim=-1), "idx3": idx3, "idx4": idx4, "cross": cross}
    stack = lambda v: torch.cat(v, dim=2) if v else None     # chunks (B, K, n, ...) per level
    for k in MOMENTS:
        res[k] = stack(mom[k])
    if not cross:
        res["P2"], res["S2"] = res["P1"], res["P1"]
    if calc_var:
        q1, q12 = mom["v_S0"]
        res["var_S0"] = torch.stack([safe_sqrt(q1 - m1 * m1), safe_sqrt(q12 - m12 * m12)], dim=-1)
        for k in ("S1", "S2", "S3", "S3P", "S4"):
            v = stack(mom["v_" + k])
            res["var_" + k] = None if v is None else safe_sqrt(v - res[k].abs() ** 2)
    return res


def scattering_covariance(grid: Grid, x1: torch.Tensor, x2: torch.Tensor | None, J: int,
                          weights: torch.Tensor | None = None, edge: bool = False,
                          calc_var: bool = False) -> dict:
    """Raw statistics of fields ``x1`` (and ``x2``) of shape ``(B, *S)``.

    weights : ``(K, *S)`` non-negative masks (``None``: whole field, K = 1).
    Returns a dict with ``S0 (B,K,2)``, ``S1, S2 (B,K,J,L)``, ``S3[, S3P] (B,K,n3,L,L)``,
    ``S4 (B,K,n4,L,L,L)``, ``P1, P2 (B,K,J,L)`` (auto powers used to normalise),
    ``idx3 [(j2, j3)]``, ``idx4 [(j1, j2, j3)]`` and, with ``calc_var``, ``var_*``
    entries holding the spatial standard deviation of each integrand.
    A field too large for ``grid.max_memory`` is evaluated by patches (``stats.split``):
    same numbers, bounded memory.
    """
    from .spectral import spectral_moments, usable
    from .split import split_plan, split_moments
    plan = split_plan(grid, x1, x2, J, calc_var)
    if plan is None and usable(grid, weights, edge, calc_var):
        mom = spectral_moments(grid, x1, x2, J)
    elif plan is not None:
        mom = split_moments(plan, grid, x1, x2, J, weights, edge, calc_var)
    else:
        wfs = level_weights(grid, grid.spatial_shape(x1), J, weights, edge, x1)
        mom, _ = moments(grid, initial_state(x1, x2), range(J), J, wfs, calc_var)
    return finalise(mom, J, x2 is not None, calc_var)
