"""The normalised auto statistics of the spectral route as one real vector (the synthesis loss).

A synthesis evaluates ``normalize(scattering_covariance(x), norms)`` hundreds of times and
compares it with a target entry by entry (``optim.loss``: ``ScatCov``'s fields packed into one
real row, complex entries as their (re, im) parts). Through the dict of statistics that is
~45 small operations forward and as many backward after the levels' Gram matrices (``_extract``,
``finalise``, ``normalize``, the packing): 400-460 us of a 16²-64² loss eval+grad
(2.0-5.3 ms; measured 2026-12-07). Here the same row comes from the Gram matrices by one gather,
one log and one product with the constant inverse divisors:

    [S0 | log S1 | log P1 | S3 / n3 (re, im) | S4 / n4 (re, im)]

in ``ScatCov._fields``' order (auto statistics, ``S2 = P1``): loss eval+grad 1.18x at 16², 1.13x
at 32², 1.07x at 64² and 128² (paired, 9 rounds). The whole row is then one autograd node
(``_PackedAuto``) whose backward runs the levels' adjoints without autograd's small operations
and nodes: a further 1.09x at 16², 1.07x at 32², 1.10x at 64², 1.03x at 128² (paired, 9
rounds). Equal to the general path, values and gradients (``tests/test_loss.py``), second
derivatives included (``tests/test_second_derivative.py``).
"""
from __future__ import annotations

import functools

import torch

from ..grid import Grid
from ..ops import modulus_parts, modulus_parts_adjoint, put_add, take
from . import gram_kernels
from .spectral import _extract_index, auto_gram_adjoint, gram_forward, level_grams


def packed_auto(grid: Grid, x: torch.Tensor, J: int, inv: torch.Tensor) -> torch.Tensor:
    """``x (B, *S)`` -> ``(B, M)``: the packed normalised auto statistics (module docstring).

    inv : ``(1 or B, 2 (n3 L² + n4 L³))`` the inverse divisors of S3 and S4 in the packed layout
    (``inverse_divisors``). The grid must take the spectral route (``spectral.usable``). One
    autograd node with a written-out backward (``_PackedAuto``)."""
    return _PackedAuto.apply(x, grid, J, inv)


def _packed(grid: Grid, m1, m11, S1, Gs: list, J: int, inv: torch.Tensor) -> tuple:
    """The packed row from the moments ``m1, m11 (B, 1)``, ``S1 (B, J L)`` and the Gram matrices;
    also the values its log is taken of ``(B, 2 J L)``."""
    B = m1.shape[0]
    flat = torch.cat([G.reshape(B, 2, -1) for G in Gs], -1).reshape(B, -1)   # re entries, then im
    index, n1 = _packed_index(J, grid.L)
    sel = take(flat, index)                                                   # (B, J L + 2 n34)
    pos = torch.cat([S1, sel[:, :n1]], 1)
    return torch.cat([m1, m11 - m1 * m1, torch.log(pos), sel[:, n1:] * inv], 1), pos


def packed_by_autograd(grid: Grid, x: torch.Tensor, J: int, inv: torch.Tensor) -> torch.Tensor:
    """``packed_auto`` composed of the spectral route's differentiable steps (``level_grams``):
    the reference its backward is tested against, and what a differentiated gradient
    (``create_graph``) takes."""
    mom, Gs = level_grams(grid, x, None, J)
    B = x.shape[0]
    m1, _, m11 = (v.reshape(B, 1) for v in mom["S0"])
    return _packed(grid, m1, m11, torch.cat(mom["S1"], 2).reshape(B, -1), Gs, J, inv)[0]


class _PackedAuto(torch.autograd.Function):
    """``packed_auto`` as one node. The forward runs ``level_grams``' steps without a graph and
    keeps each level's rows ``Z``, wavelet parts and moduli; the backward runs their adjoints level
    by level, finest last (the grid's ``spectral*_adjoint``, ``ops.modulus_parts_adjoint``,
    ``spectral.auto_gram_adjoint``): the same transforms and products as autograd's, without its
    ~100 small operations and nodes (measured: see the module docstring)."""

    @staticmethod
    def forward(ctx, x, grid, J, inv):
        B = x.shape[0]
        shape = grid.spatial_shape(x)
        f = x.reshape(B, -1)
        m1, m11 = f.mean(-1, keepdim=True), (f * f).mean(-1, keepdim=True)
        Z = grid.spectral(x)[:, None]                                     # (B, 1, K)
        finest, levels, S1, Gs = Z.shape[-1], [], [], []
        for j in range(J):
            F = grid.spectral_wavelet(Z[:, 0], shape).unflatten(1, (2, -1))   # (B, 2, L, *S)
            A = modulus_parts(F)                                           # (B, L, *S)
            N = grid.spectral(A)                                           # (B, L, K)
            S1.append(N[..., 0])
            Z = torch.cat([Z, N], 1)                                       # (B, R, K)
            w_re, w_im = grid.spectral_gram(shape, Z)
            rZ, jit = grid.spectral_rot(Z), gram_kernels.usable(Z, finest)
            Gs.append(gram_forward(Z, rZ, Z, w_re, w_im, jit))
            levels.append((shape, Z, rZ, F, A, jit, w_re, w_im))
            if j < J - 1:
                Z = grid.spectral_down(Z, shape)
                shape = grid.coarser(shape)
        out, pos = _packed(grid, m1, m11, torch.cat(S1, 1), Gs, J, inv)
        ctx.save_for_backward(x, m1, pos, inv)
        ctx.grid, ctx.J, ctx.levels = grid, J, levels
        return out

    @staticmethod
    def backward(ctx, g):
        x, m1, pos, inv = ctx.saved_tensors
        grid, J, levels = ctx.grid, ctx.J, ctx.levels
        if torch.is_grad_enabled():    # a differentiated gradient: autograd's composition
            with torch.enable_grad():
                out = packed_by_autograd(grid, x, J, inv)
            return torch.autograd.grad(out, x, g, create_graph=True)[0], None, None, None
        B, L = x.shape[0], grid.L
        nL = J * L
        g_log = g[:, 2:2 + 2 * nL] / pos                                  # d log v = dv / v
        index, n1 = _packed_index(J, L)
        sizes = [_gram_entries(lv[1].shape[1], L) for lv in levels]
        gsel = torch.cat([g_log[:, nL:], g[:, 2 + 2 * nL:] * inv], 1)
        gflat = put_add(g.new_zeros((B, 2 * sum(sizes))), index, gsel).reshape(B, 2, -1)
        gGs = gflat.split(sizes, -1)
        gS1 = g_log[:, :nL].reshape(B, J, L)
        gZ_next = None
        for j in reversed(range(J)):
            shape, Z, rZ, F, A, jit, w_re, w_im = levels[j]
            R = Z.shape[1]
            gZ = auto_gram_adjoint(gGs[j].reshape(B, 2, L, R, R), Z, rZ, w_re, w_im, jit)
            if gZ_next is not None:
                gZ = gZ + gZ_next
            gN = gZ[:, R - L:].clone()
            gN[..., 0] += gS1[:, j]
            gF = modulus_parts_adjoint(F, A, grid.spectral_adjoint(gN, shape))   # (B, 2, L, *S)
            gprev = gZ[:, :R - L]
            gprev[:, 0] += grid.spectral_wavelet_adjoint(gF.flatten(1, 2), shape)
            gZ_next = grid.spectral_down_adjoint(gprev, levels[j - 1][0]) if j else gprev
        gx = grid.spectral_adjoint(gZ_next[:, 0], levels[0][0])
        P = x[0].numel()
        s0 = (g[:, :1] + 2 * g[:, 1:2] * (x.reshape(B, -1) - m1)) / P         # mean and variance
        return gx + s0.reshape(x.shape), None, None, None


@functools.lru_cache(maxsize=64)
def vectors_order(J: int, L: int) -> torch.Tensor:
    """``perm (M,)``: ``ScatCov.vectors()[:, perm]`` of the auto statistics is the packed row
    (``vectors`` lays S3's and S4's real parts, then their imaginary parts; the row interleaves
    them)."""
    n_3, n_4 = J * (J + 1) // 2 * L * L, J * (J + 1) * (J + 2) // 6 * L ** 3
    head = torch.arange(2 + 2 * J * L)
    blocks, start = [head], head.numel()
    for n in (n_3, n_4):
        i = torch.arange(n) + start
        blocks.append(torch.stack([i, i + n], -1).flatten())
        start += 2 * n
    return torch.cat(blocks)


def _gram_entries(R: int, L: int) -> int:
    """Entries of one real or imaginary part of a level's Gram ``(L, R, R)``."""
    return L * R * R


@functools.lru_cache(maxsize=64)
def _packed_index(J: int, L: int) -> tuple[torch.Tensor, int]:
    """Positions in the levels' flattened Gram matrices ``(2 T,)`` (real parts, then imaginary):
    P1's real entries, then S3's and S4's as (re, im) pairs; and P1's count."""
    idx, (n1, _, _) = _extract_index(J, L, False)
    T = sum(L * (1 + (j + 1) * L) ** 2 for j in range(J))
    s34 = idx[n1:]
    return torch.cat([idx[:n1], torch.stack([s34, s34 + T], -1).flatten()]), n1


def inverse_divisors(norms: dict, L: int) -> torch.Tensor:
    """``1 / n3`` and ``1 / n4`` of ``normalize``'s divisors (``normalisers``: ``n3 (R, 1, n3, L, L)``,
    ``n4 (R, 1, n4, L, L, 1)``) expanded to S3's and S4's entries, each twice (re, im):
    ``(R, 2 (n3 L² + n4 L³))``."""
    n3, n4 = norms["n3"], norms["n4"]
    R = n3.shape[0]
    i3 = (1.0 / n3).unsqueeze(-1).expand(n3.shape + (2,)).reshape(R, -1)
    i4 = (1.0 / n4).expand(n4.shape[:-1] + (L,)).unsqueeze(-1).expand(n4.shape[:-1] + (L, 2)).reshape(R, -1)
    return torch.cat([i3, i4], 1)
