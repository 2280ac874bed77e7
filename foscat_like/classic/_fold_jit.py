"""The compiled loops of ``fourier.fold_many`` (numba; imported on first use).

Spectra and filters are laid out as ``(rows, 2 * cols)``: complex values as interleaved reals
and the real filter duplicated on (re, im), so every inner loop runs over contiguous values.
A block ``(bi, bj)`` of the grid is rows ``bi sm ... (bi+1) sm - 1`` and interleaved columns
``bj w ... (bj+1) w - 1`` (``w = 2 sn``)."""
import numba


@numba.njit(inline="always", fastmath=True, boundscheck=False)
def _mul(a, b, out, n):  # pragma: no cover (compiled)
    for q in range(n):
        out[q] = a[q] * b[q]


@numba.njit(inline="always", fastmath=True, boundscheck=False)
def _addmul(a, b, out, n):  # pragma: no cover (compiled)
    for q in range(n):
        out[q] += a[q] * b[q]


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def fold(U, f, blocks, out):  # pragma: no cover (compiled)
    """``out[p, l] = sum_b U[p, block b] f[l, block b]`` (``U (P, M, 2N)``, ``f (L, M, 2N)``,
    ``blocks (nb, 2)``, ``out (P, L, sm, w)``): each output row is formed in place, in cache."""
    P, L, sm, w = out.shape
    for p in range(P):
        for l in range(L):
            for m in range(sm):
                o = out[p, l, m]
                r, c0 = blocks[0, 0] * sm + m, blocks[0, 1] * w
                _mul(U[p, r, c0:c0 + w], f[l, r, c0:c0 + w], o, w)
                for b in range(1, blocks.shape[0]):
                    r, c0 = blocks[b, 0] * sm + m, blocks[b, 1] * w
                    _addmul(U[p, r, c0:c0 + w], f[l, r, c0:c0 + w], o, w)


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def fold_adjoint(g, f, blocks, gU, add):  # pragma: no cover (compiled)
    """``gU[p, block b] (+)= sum_l g[p, l] f[l, block b]`` (``g (P, L, sm, w)``; ``add``: add to
    ``gU`` rather than overwrite it): each row of ``gU`` is summed over ``l`` in cache."""
    P, L, sm, w = g.shape
    for p in range(P):
        for b in range(blocks.shape[0]):
            for m in range(sm):
                r, c0 = blocks[b, 0] * sm + m, blocks[b, 1] * w
                row = gU[p, r, c0:c0 + w]
                if add:
                    _addmul(g[p, 0, m], f[0, r, c0:c0 + w], row, w)
                else:
                    _mul(g[p, 0, m], f[0, r, c0:c0 + w], row, w)
                for l in range(1, L):
                    _addmul(g[p, l, m], f[l, r, c0:c0 + w], row, w)
