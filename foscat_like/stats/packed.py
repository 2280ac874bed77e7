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
at 32², 1.07x at 64² and 128² (paired, 9 rounds). Equal to the general path, values and
gradients (``tests/test_loss.py``), second derivatives included
(``tests/test_second_derivative.py``). Tried and not kept: the row as one autograd node with the
levels' adjoints written out by hand, first measured 1.03-1.10x, re-measured 0.97-1.07x
(1.02-1.03x with its forward sharing ``level_grams``): not worth a second backward.
"""
from __future__ import annotations

import functools

import torch

from ..grid import Grid
from ..ops import take
from .spectral import _extract_index, level_grams


def packed_auto(grid: Grid, x: torch.Tensor, J: int, inv: torch.Tensor) -> torch.Tensor:
    """``x (B, *S)`` -> ``(B, M)``: the packed normalised auto statistics (module docstring).

    inv : ``(1 or B, 2 (n3 L² + n4 L³))`` the inverse divisors of S3 and S4 in the packed layout
    (``inverse_divisors``). The grid must take the spectral route (``spectral.usable``)."""
    mom, Gs = level_grams(grid, x, None, J)
    B = x.shape[0]
    m1, _, m11 = (v.reshape(B, 1) for v in mom["S0"])
    S1 = torch.cat(mom["S1"], 2).reshape(B, -1)
    flat = torch.cat([G.reshape(B, 2, -1) for G in Gs], -1).reshape(B, -1)   # re entries, then im
    index, n1 = _packed_index(J, grid.L)
    sel = take(flat, index)                                                   # (B, J L + 2 n34)
    return torch.cat([m1, m11 - m1 * m1, torch.log(torch.cat([S1, sel[:, :n1]], 1)),
                      sel[:, n1:] * inv], 1)


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
