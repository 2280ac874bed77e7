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
products, so no ``(L, L, L, pixels)`` tensor is ever formed.
"""
from __future__ import annotations

import torch

from ..grid import Grid
from ..ops import modulus, safe_sqrt


def wmean_prod(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """``out[n,k,x,y,z] = sum_p w[k,p] a[n,z,x,p] conj(b[n,z,y,p])``.

    a ``(N, Z, X, P)``, b ``(N, Z, Y, P)`` (contiguous), w ``(K, P)`` or ``None``
    (uniform, K = 1) -> ``(N, K, X, Y, Z)``. One batched matrix product.
    """
    bt = (b.conj() if b.is_complex() else b).transpose(-1, -2)          # (N, Z, P, Y)
    if w is None:
        out = torch.matmul(a, bt).unsqueeze(1) / a.shape[-1]          # (N, 1, Z, X, Y)
    else:
        wa = a.unsqueeze(1) * w.to(a.dtype)[None, :, None, None, :]   # (N, K, Z, X, P)
        out = torch.matmul(wa, bt.unsqueeze(1))                        # (N, K, Z, X, Y)
    return out.permute(0, 1, 3, 4, 2)


def _zx(grid: Grid, m: torch.Tensor) -> torch.Tensor:
    """``|C_j2| * psi_j3``: ``m (B, L2, *S)`` -> ``(B, L3, L2, P)``."""
    return grid.wavelet(m, lead=True).flatten(-grid.spatial_ndim)


def _stat(a, b, w, calc_var):
    """Mean of ``a conj(b)`` (and the spatial std of the integrand)."""
    m = wmean_prod(a, b, w)
    if not calc_var:
        return m, None
    m2 = wmean_prod(a.abs() ** 2, b.abs() ** 2, w)
    return m, safe_sqrt(m2 - m.abs() ** 2)


def _mean_var(grid: Grid, x, w, calc_var):
    m = grid.mean(x, w)
    if not calc_var:
        return m, None
    return m, safe_sqrt(grid.mean(x * x, w) - m * m)


def scattering_covariance(grid: Grid, x1: torch.Tensor, x2: torch.Tensor | None, J: int,
                          weights: torch.Tensor | None = None, edge: bool = False,
                          calc_var: bool = False) -> dict:
    """Raw statistics of fields ``x1`` (and ``x2``) of shape ``(B, *S)``.

    weights : ``(K, *S)`` non-negative masks (``None``: whole field, K = 1).
    Returns a dict with ``S0 (B,K,2)``, ``S1, S2 (B,K,J,L)``, ``S3[, S3P] (B,K,n3,L,L)``,
    ``S4 (B,K,n4,L,L,L)``, ``P1, P2 (B,K,J,L)`` (auto powers used to normalise),
    ``idx3 [(j2, j3)]``, ``idx4 [(j1, j2, j3)]`` and, with ``calc_var``, ``var_*``
    entries holding the spatial standard deviation of each integrand.
    """
    cross = x2 is not None
    nd = grid.spatial_ndim
    out = {k: [] for k in ("S1", "S2", "S3", "S3P", "S4", "P1", "P2")}
    var = {k: [] for k in ("S1", "S2", "S3", "S3P", "S4")}
    idx3, idx4 = [], []
    mods1, mods2 = [], []
    w = weights
    for j3 in range(J):
        S = grid.spatial_shape(x1)
        wl = w
        if edge:
            e = grid.edge_weights(S, x1)
            wl = e[None] if w is None else w * e
        wf = grid.pixel_weights(wl, x1)
        if j3 == 0:
            f1, f2 = x1.flatten(-nd), (x2 if cross else x1).flatten(-nd)
            m1, m2 = grid.mean(f1, wf), grid.mean(f2, wf)
            s0 = torch.stack([m1, grid.mean(f1 * f2, wf) - m1 * m2], dim=-1)
            if calc_var:
                v_mean = safe_sqrt(grid.mean(f1 * f1, wf) - m1 * m1)
                v_cov = safe_sqrt(grid.mean((f1 * f2) ** 2, wf) - grid.mean(f1 * f2, wf) ** 2)
                var_s0 = torch.stack([v_mean, v_cov], dim=-1)
        C1 = grid.wavelet(x1)                                   # (B, L, *S)
        C2 = grid.wavelet(x2) if cross else C1
        A1 = modulus(C1)
        A2 = modulus(C2) if cross else A1
        c1, c2, a1, a2 = (t.flatten(-nd) for t in (C1, C2, A1, A2))
        P1, v2 = _mean_var(grid, a1 * a1, wf, calc_var)
        out["P1"].append(P1)
        if cross:
            P2 = grid.mean(a2 * a2, wf)
            s1, v1 = _mean_var(grid, safe_sqrt(a1 * a2), wf, calc_var)
            s2, v2 = _mean_var(grid, (c1 * c2.conj()).real, wf, calc_var)
        else:
            P2, s2 = P1, P1
            s1, v1 = _mean_var(grid, a1, wf, calc_var)
        out["P2"].append(P2); out["S1"].append(s1); out["S2"].append(s2)
        var["S1"].append(v1); var["S2"].append(v2)
        mods1.append(A1)
        if cross:
            mods2.append(A2)
        # |C_j2| * psi_j3 in (B, L3, L2, P) layout: one matmul per statistic below
        W1 = [_zx(grid, m) for m in mods1]
        W2 = [_zx(grid, m) for m in mods2] if cross else W1
        c1z, c2z = c1.unsqueeze(2), c2.unsqueeze(2)                  # (B, L3, 1, P)
        for j2 in range(j3 + 1):
            s3, v3 = _stat(c1z, W2[j2], wf, calc_var)                 # (B, K, 1, L2, L3)
            out["S3"].append(s3[:, :, 0]); var["S3"].append(None if v3 is None else v3[:, :, 0])
            if cross:
                s3p, v3p = _stat(c2z, W1[j2], wf, calc_var)
                out["S3P"].append(s3p[:, :, 0]); var["S3P"].append(None if v3p is None else v3p[:, :, 0])
            idx3.append((j2, j3))
            for j1 in range(j2 + 1):
                s4, v4 = _stat(W1[j1], W2[j2], wf, calc_var)           # (B, K, L1, L2, L3)
                out["S4"].append(s4); var["S4"].append(v4)
                idx4.append((j1, j2, j3))
        if j3 < J - 1:
            x1 = grid.downsample(x1)
            x2 = grid.downsample(x2) if cross else None
            mods1 = [grid.downsample(m) for m in mods1]
            mods2 = [grid.downsample(m) for m in mods2] if cross else []
            w = None if w is None else grid.downsample_mask(w)
    res = {"S0": s0, "idx3": idx3, "idx4": idx4, "cross": cross}
    for k in ("S1", "S2", "P1", "P2"):
        res[k] = torch.stack(out[k], dim=2)
    for k in ("S3", "S3P", "S4"):
        res[k] = torch.stack(out[k], dim=2) if out[k] else None
    if calc_var:
        res["var_S0"] = var_s0
        for k in ("S1", "S2"):
            res["var_" + k] = torch.stack(var[k], dim=2)
        for k in ("S3", "S3P", "S4"):
            res["var_" + k] = torch.stack(var[k], dim=2) if var[k] else None
    return res
