"""The moments of ``compute.moments`` in a wavelet-diagonal basis (uniform weights).

On a grid whose wavelet is a multiplier ``psi_l(k)`` in an orthonormal basis (the planar
grids: ``X = fft(x) / P``, so that ``<a conj b> = sum_k A_k conj B_k`` and downsampling is
a crop of ``k``), every second-order moment of wavelet outputs is one weighted inner
product of spectra (Parseval):

    <(|C_j1| * psi_l3) conj(|C_j2| * psi_l3)> = sum_k psi_l3(k)^2 M_j1(k) conj M_j2(k)

with ``M_j = spec(|C_j|)``. So at each level ``j3`` one batched matrix product

    G[b, l3, r1, r2] = sum_k psi_l3(k)^2 Z1[b, r1, k] conj Z2[b, r2, k],
    Z = [X, M_0, ..., M_j3]   (rows: the field, then every orientation of every modulus)

holds S3, S3P and S4 of that level at once (and, on its diagonal, P1 or the cross S2), and
no ``|C_j2| * psi_j3`` field is ever formed in pixels (the pixel path computes
``(j3 + 1) L^2`` inverse transforms per level; this one needs ``L`` forward and ``L`` inverse
transforms). The grid gives the basis as real coefficients (``planar.spectral``: interleaved
half spectra, the mirrored modes folded into two weight sets ``w_re``, ``w_im``), so the
product is a real one. The moduli are brought down by cropping their spectra, exactly as
``grid.downsample`` does. Masks, edges and ``calc_var`` need pixel weights: they use
``compute.moments``. Equality of the two paths (float64, 1e-10) is tested.
"""
from __future__ import annotations

import functools

import torch

from ..grid import Grid
from ..ops import modulus_parts, safe_sqrt, take
from . import gram_kernels
from .compute import MOMENTS


def usable(grid: Grid, weights, edge: bool, calc_var: bool) -> bool:
    """Whether ``spectral_moments`` computes these statistics (uniform weights only)."""
    return grid.wavelet_diagonal and weights is None and not edge and not calc_var


def spectral_moments(grid: Grid, x1: torch.Tensor, x2: torch.Tensor | None, J: int) -> dict:
    """``compute.moments(grid, initial_state(x1, x2), range(J), J, [None] * J)[0]``.

    x1, x2 : ``(B, *S)`` real fields (``x2 = None``: auto statistics).
    Returns the moments dict ``compute.finalise`` takes (chunks ``(B, 1, n, ...)`` per level).
    """
    mom, Gs = level_grams(grid, x1, x2, J)
    _extract(mom, Gs, x2 is not None)
    mom.update({"v_" + k: [] for k in MOMENTS})
    return mom


def level_grams(grid: Grid, x1: torch.Tensor, x2: torch.Tensor | None, J: int) -> tuple[dict, list]:
    """The levels of ``spectral_moments``: the moments ``S0``, ``S1`` (cross: also ``P1``, ``P2``)
    as its chunks, and the Gram matrices ``[(B, 2, L, R, R)] * J`` the others come from
    (``_extract``)."""
    nd = grid.spatial_ndim
    cross = x2 is not None
    shape = grid.spatial_shape(x1)
    f1 = x1.flatten(-nd)
    f2 = x2.flatten(-nd) if cross else f1
    mom = {k: [] for k in MOMENTS}
    mom["S0"] = [f1.mean(-1)[:, None], f2.mean(-1)[:, None], (f1 * f2).mean(-1)[:, None]]
    mean = lambda a: a.flatten(-nd).mean(-1)[:, None, None]          # (B, L, *S) -> (B, 1, 1, L)
    Z1 = grid.spectral(x1)[:, None]                  # (B, R, K) rows: the field, then every
    Z2 = grid.spectral(x2)[:, None] if cross else Z1  # orientation of every modulus so far
    finest, Gs = Z1.shape[-1], []
    for j3 in range(J):
        F1 = grid.spectral_wavelet(Z1[:, 0], shape)                   # (B, 2L, *S): re, im
        A1 = modulus_parts(F1.unflatten(1, (2, -1)))
        N1 = grid.spectral(A1)                                        # (B, L, K); [..., 0]: mean
        if cross:
            A2 = modulus_parts(grid.spectral_wavelet(Z2[:, 0], shape).unflatten(1, (2, -1)))
            mom["P1"].append(mean(A1 * A1))
            mom["P2"].append(mean(A2 * A2))
            mom["S1"].append(mean(safe_sqrt(A1 * A2)))
        else:
            mom["S1"].append(N1[:, None, None, :, 0])
        Z1 = torch.cat([Z1, N1], 1)
        Z2 = torch.cat([Z2, grid.spectral(A2)], 1) if cross else Z1
        Gs.append(_gram(grid, Z1, Z2, shape, finest))                 # (B, 2, L3, R1, R2)
        if j3 < J - 1:
            Z1 = grid.spectral_down(Z1, shape)
            Z2 = grid.spectral_down(Z2, shape) if cross else Z1
            shape = grid.coarser(shape)
    return mom, Gs


KEEP_VALUES = 1 << 25     # the forward keeps its weighted operands for the backward up to this
                          # many values (256 MB in float64); above, the backward recomputes them
CHUNK_VALUES = 1 << 19   # values of the left operand per chunk of k: cache-sized, and small
                         # enough that no temporary goes through mmap and page faults


class _Gram(torch.autograd.Function):
    """``G (B, 2, L, R1, R2)``: ``G[:, 0, l] = (Z1 * w_re[l]) Z2^T`` and
    ``G[:, 1, l] = (rot(Z1) * w_im[l]) Z2^T`` (``rot`` linear, ``rot(rot(y)) = -y``).

    The sums over ``k`` run in chunks so that the weighted operand ("left", ``(B, 2L, R, k)``)
    never exceeds ``CHUNK_VALUES`` (no temporary goes through mmap and its page faults).
    Backward: with ``T1[r1, (c, l, r2)] = s_c gG[c, l, r1, r2]`` (``s = (1, -1)``) and
    ``T2[r2, (c, l, r1)] = gG[c, l, r1, r2]``, ``dZ1 = T1 left(Z2)`` and ``dZ2 = T2 left(Z1)``:
    one product each, of the forward's cost (for ``Z1 is Z2`` one product with ``T1 + T2``, on
    the forward's own weighted operands when they are under ``KEEP_VALUES``).
    On the CPU with numba both run as compiled loops instead (``gram_kernels``: no weighted
    operand in memory; an auto Gram forms half its entries)."""

    @staticmethod
    def forward(ctx, Z1, Z2, w_re, w_im, rot, finest):
        rZ1 = rot(Z1)
        ctx.rot, ctx.same = rot, Z2 is Z1
        ctx.jit = gram_kernels.usable(Z1, finest)
        ctx.save_for_backward(Z1, Z2, w_re, w_im)
        ctx.rZ1, ctx.lefts = rZ1, []
        keep = (not ctx.jit and ctx.same and ctx.needs_input_grad[0]
                and 2 * w_re.shape[0] * Z1.numel() <= KEEP_VALUES)
        return gram_forward(Z1, rZ1, Z2, w_re, w_im, ctx.jit, ctx.lefts if keep else None)

    @staticmethod
    def backward(ctx, gG):
        # a gradient that is itself differentiated (``create_graph``) takes the torch formulas
        # below on the saved operands: neither the compiled loops nor the kept weighted operands
        # (computed without a graph) could carry it
        graph = torch.is_grad_enabled()
        Z1, Z2, w_re, w_im = ctx.saved_tensors
        if ctx.same and not graph:
            if ctx.lefts:                     # the forward's weighted operands, kept
                T, out = _auto_T(gG).flatten(2), Z1.new_empty(Z1.shape)
                for sl, left in ctx.lefts:
                    torch.bmm(T, left, out=out[..., sl])
                ctx.lefts = []
                return out, None, None, None, None, None
            return auto_gram_adjoint(gG, Z1, ctx.rZ1, w_re, w_im, ctx.jit), None, None, None, None, None
        B, _, L, R1, R2 = gG.shape
        sign = gG.new_tensor([1.0, -1.0]).reshape(1, 2, 1, 1, 1)
        T1 = (gG * sign).permute(0, 3, 1, 2, 4)                           # (B, R1, 2, L, R2)
        T2 = gG.permute(0, 4, 1, 2, 3)                                    # (B, R2, 2, L, R1)
        if ctx.jit and not graph:         # the compiled loops: dZ1 = T1 . (W, rot) Z2, dZ2 = T2 . (W, rot) Z1
            d1 = gram_kernels.apply(T1, Z2, ctx.rot(Z2), w_re, w_im) if ctx.needs_input_grad[0] else None
            d2 = gram_kernels.apply(T2, Z1, ctx.rZ1, w_re, w_im) if ctx.needs_input_grad[1] else None
            return d1, d2, None, None, None, None
        T1, T2 = T1.reshape(B, R1, 2 * L * R2), T2.reshape(B, R2, 2 * L * R1)
        apply = _apply_graph if graph else _apply
        if ctx.same:
            return apply(T1 + T2, Z1, ctx.rot(Z1), w_re, w_im), None, None, None, None, None
        return (apply(T1, Z2, ctx.rot(Z2), w_re, w_im), apply(T2, Z1, ctx.rot(Z1), w_re, w_im),
                None, None, None, None)


def gram_forward(Z1: torch.Tensor, rZ1: torch.Tensor, Z2: torch.Tensor, w_re: torch.Tensor,
                 w_im: torch.Tensor, jit: bool, lefts: list | None = None) -> torch.Tensor:
    """``_Gram``'s product (no autograd) ``G (B, 2, L, R1, R2)`` from ``Z1, rZ1 = rot(Z1) (B, R1, K)``
    and ``Z2 (B, R2, K)`` (``Z2 is Z1``: an auto Gram): on the compiled loops (``jit``) or as
    chunked matrix products, whose weighted operands go into ``lefts`` if one is given."""
    if jit:
        return gram_kernels.gram(Z1, rZ1, Z2, w_re, w_im, Z2 is Z1)
    B, R1, K = Z1.shape
    G = None
    for sl in _chunks(K, B * 2 * w_re.shape[0] * R1):
        left = _left(Z1[..., sl], rZ1[..., sl], w_re[:, sl], w_im[:, sl])
        g = _left_times(left, Z2[..., sl])
        G = g if G is None else G.add_(g)
        if lefts is not None:
            lefts.append((sl, left))
    return G.reshape(B, 2, w_re.shape[0], R1, Z2.shape[1])


def auto_gram_adjoint(gG: torch.Tensor, Z: torch.Tensor, rZ: torch.Tensor, w_re: torch.Tensor,
                      w_im: torch.Tensor, jit: bool) -> torch.Tensor:
    """The gradient ``(B, R, K)`` of an auto Gram ``gram_forward(Z, rZ, Z, ...)`` for ``gG (B, 2,
    L, R, R)`` (``_Gram``'s backward, no autograd): one product with ``T1 + T2``."""
    T = _auto_T(gG)                                                   # (B, R, 2, L, R)
    if jit:
        return gram_kernels.apply(T, Z, rZ, w_re, w_im)
    return _apply(T.flatten(2), Z, rZ, w_re, w_im)


def _auto_T(gG: torch.Tensor) -> torch.Tensor:
    """``T1 + T2 (B, R, 2, L, R)`` of an auto Gram's gradient ``gG (B, 2, L, R, R)``: the real part's
    rows as they are plus its transpose, the imaginary part's with the opposite sign."""
    sign = gG.new_tensor([1.0, -1.0]).reshape(1, 2, 1, 1, 1)
    return (gG * sign).permute(0, 3, 1, 2, 4) + gG.permute(0, 4, 1, 2, 3)


def _left_times(left: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
    """``left (B, M, k) @ Z (B, R, k)^T`` ``(B, M, R)``. On the CPU the same product as
    ``(Z left^T)^T`` runs faster (BLAS kernels for a short ``R`` side; measured at every level's
    shapes, 1 thread: float32 1.0-2.0x, float64 0.97-2.2x, e.g. the 128² level-0 product
    ``(40, 16640) x (16640, 5)`` in float64 382 -> 249 us; an older machine measured float64
    1.1-1.2x slower)."""
    if Z.device.type == "cpu":
        return torch.bmm(Z, left.transpose(-1, -2)).transpose(-1, -2)
    return torch.bmm(left, Z.transpose(-1, -2))


def _apply(T: torch.Tensor, Z: torch.Tensor, rZ: torch.Tensor, w_re, w_im) -> torch.Tensor:
    """``T (B, R', 2LR) @ left(Z) (B, 2LR, K) -> (B, R', K)``, chunk by chunk."""
    B, R, K = Z.shape
    out = Z.new_empty((B, T.shape[1], K))
    for sl in _chunks(K, B * T.shape[2]):
        torch.bmm(T, _left(Z[..., sl], rZ[..., sl], w_re[:, sl], w_im[:, sl]), out=out[..., sl])
    return out


def _apply_graph(T: torch.Tensor, Z: torch.Tensor, rZ: torch.Tensor, w_re, w_im) -> torch.Tensor:
    """``_apply`` in differentiable operations (no ``out=``, one piece): for a gradient that is
    itself differentiated."""
    B, R, K = Z.shape
    left = torch.stack([Z[:, None] * w_re[:, None], rZ[:, None] * w_im[:, None]], 1)
    return torch.bmm(T, left.reshape(B, -1, K))


def _chunks(K: int, rows: int) -> list:
    """Slices of ``range(K)`` of even length (whole (re, im) pairs), ``rows x length`` about
    ``CHUNK_VALUES``."""
    c = max(2048, CHUNK_VALUES // max(rows, 1)) // 2 * 2
    return [slice(a, min(a + c, K)) for a in range(0, K, c)]


def _left(Z, rZ, w_re, w_im):
    """``[Z * w_re[l]]_l`` then ``[rot(Z) * w_im[l]]_l`` as rows: ``(B, 2 L R, k)``."""
    B, R, k = Z.shape
    L = w_re.shape[0]
    out = Z.new_empty((B, 2, L, R, k))
    torch.mul(Z[:, None], w_re[:, None], out=out[:, 0])
    torch.mul(rZ[:, None], w_im[:, None], out=out[:, 1])
    return out.reshape(B, 2 * L * R, k)


def _gram(grid: Grid, Z1: torch.Tensor, Z2: torch.Tensor, shape: tuple, finest: int) -> torch.Tensor:
    """``G[b, c, l, r1, r2]``: the real (``c = 0``) and imaginary (``c = 1``) parts of
    ``mean((z1_r1 * psi_l) conj(z2_r2 * psi_l))`` ``(B, 2, L, R1, R2)`` from coefficients
    ``Z (B, R, K)``: one real matrix product for both parts."""
    w_re, w_im = grid.spectral_gram(shape, Z1)                        # (L, K)
    return _Gram.apply(Z1, Z2, w_re, w_im, grid.spectral_rot, finest)


def _extract(mom: dict, Gs: list, cross: bool) -> None:
    """Set the P1 (cross: S2), S3 (and S3P) and S4 moments of all levels from the Gram matrices
    ``Gs [(B, 2, L3, R, R)]`` of levels ``j3 = 0 .. J-1`` (rows ``r``: the field, then moduli
    ``1 + j L + l``), each as one chunk laid out as the pixel route's (``compute``):

        P1[j3, l]             = G[0, l, 0, 0]
        S3[(j2, j3), l2, l3]  = G[l3, 0, 1 + j2 L + l2]
        S3P[(j2, j3), l2, l3] = conj G[l3, 1 + j2 L + l2, 0]
        S4[(j1, j2, j3), l1, l2, l3] = G[l3, 1 + j1 L + l1, 1 + j2 L + l2]

    One gather over the levels' concatenated entries (and one scatter in the backward),
    instead of slicing, permuting and picking each level (~25 small operations a level)."""
    B, _, L = Gs[0].shape[:3]
    J = len(Gs)
    flat = torch.cat([G.reshape(B, 2, -1) for G in Gs], -1)           # (B, 2, T)
    idx, sizes = _extract_index(J, L, cross)
    sel = take(flat, idx)                                             # (B, 2, M)
    re, im = sel.unbind(1)
    if cross:                                                          # S3P: the conjugate
        im = torch.cat([im[:, :sizes[0] + sizes[1]], -im[:, sum(sizes[:2]):sum(sizes[:3])],
                        im[:, sum(sizes[:3]):]], -1)
    parts = torch.complex(re, im).split(sizes, -1)
    n3, n4 = J * (J + 1) // 2, J * (J + 1) * (J + 2) // 6
    mom["S2" if cross else "P1"] = [re[:, :sizes[0]].reshape(B, 1, J, L)]
    mom["S3"] = [parts[1].reshape(B, 1, n3, L, L)]
    if cross:
        mom["S3P"] = [parts[2].reshape(B, 1, n3, L, L)]
    mom["S4"] = [parts[-1].reshape(B, 1, n4, L, L, L)]


@functools.lru_cache(maxsize=64)
def _extract_index(J: int, L: int, cross: bool) -> tuple:
    """Positions ``(M,)`` int64 (CPU; never written to) in ``_extract``'s concatenated entries
    of P1, S3, (S3P,) S4, and their counts."""
    P1, S3, S3P, S4 = [], [], [], []
    base = 0
    for j3 in range(J):
        R = 1 + (j3 + 1) * L
        pos = lambda l3, r1, r2: base + (l3 * R + r1) * R + r2
        P1 += [pos(l, 0, 0) for l in range(L)]
        for j2 in range(j3 + 1):
            S3 += [pos(l3, 0, 1 + j2 * L + l2) for l2 in range(L) for l3 in range(L)]
            S3P += [pos(l3, 1 + j2 * L + l2, 0) for l2 in range(L) for l3 in range(L)]
            S4 += [pos(l3, 1 + j1 * L + l1, 1 + j2 * L + l2)
                   for j1 in range(j2 + 1) for l1 in range(L) for l2 in range(L) for l3 in range(L)]
        base += L * R * R
    lists = (P1, S3, S3P, S4) if cross else (P1, S3, S4)
    return torch.tensor([i for part in lists for i in part]), tuple(len(p) for p in lists)
