"""The compiled loops of ``stats.gram_kernels`` (numba; imported on first use).

Both run over chunks of ``k`` of ``chunk`` values (2 kB: the chunk's operands stay in L1), and
their inner loops run over contiguous values of ``k``, so the compiler vectorises them. Four rows
go together in each inner loop (one load of the shared operand for four multiply-adds)."""
import numba
import numpy as np


@numba.njit(inline="always", fastmath=True)
def _add_dot4(t, y0, y1, y2, y3, n, zero, g, j):  # pragma: no cover (compiled)
    """``g[j:j+4] += (t . y0, t . y1, t . y2, t . y3)`` over ``n`` values: one load of ``t`` for
    four multiply-adds (the loops' inner product)."""
    a0 = a1 = a2 = a3 = zero
    for i in range(n):
        ti = t[i]
        a0 += ti * y0[i]
        a1 += ti * y1[i]
        a2 += ti * y2[i]
        a3 += ti * y3[i]
    g[j] += a0
    g[j + 1] += a1
    g[j + 2] += a2
    g[j + 3] += a3


@numba.njit(inline="always", fastmath=True)
def _dot1(t, y, n, zero):  # pragma: no cover (compiled)
    """``t . y`` over ``n`` values (the rows left over after the groups of four)."""
    a = zero
    for i in range(n):
        a += t[i] * y[i]
    return a


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def _forward(Z1, rZ1, Z2, w_re, w_im, same, chunk, i0, i1, G):  # pragma: no cover (compiled)
    """``G[b, c, l, r1, r2] = sum_k W_c[l, k] X_c[b, r1, k] Z2[b, r2, k]`` (``X_0 = Z1``,
    ``X_1 = rZ1``, ``W_0 = w_re``, ``W_1 = w_im``) for the items ``c L + l`` in ``i0 .. i1-1``.
    ``same``: ``Z2`` is ``Z1``; only ``r2 >= r1`` (``c = 0``) and ``r2 > r1`` (``c = 1``) are
    formed (``_symmetrize`` completes ``G``). ``G`` is zeroed by the caller."""
    B, R1, K = Z1.shape
    R2, L = Z2.shape[1], w_re.shape[0]
    t = np.empty(chunk, Z1.dtype)
    zero = np.zeros(1, Z1.dtype)[0]           # the arrays' type (a float literal is float64)
    for b in range(B):
        for k0 in range(0, K, chunk):
            n = min(chunk, K - k0)
            ts = t[:n]
            for item in range(i0, i1):
                c, l = item // L, item % L
                w = (w_re if c == 0 else w_im)[l, k0:k0 + n]
                X = Z1 if c == 0 else rZ1
                for r1 in range(R1):
                    z = X[b, r1, k0:k0 + n]
                    for i in range(n):
                        ts[i] = w[i] * z[i]
                    r2 = (r1 + c) if same else 0
                    while r2 + 4 <= R2:
                        y0, y1 = Z2[b, r2, k0:k0 + n], Z2[b, r2 + 1, k0:k0 + n]
                        y2, y3 = Z2[b, r2 + 2, k0:k0 + n], Z2[b, r2 + 3, k0:k0 + n]
                        _add_dot4(ts, y0, y1, y2, y3, n, zero, G[b, c, l, r1], r2)
                        r2 += 4
                    while r2 < R2:
                        G[b, c, l, r1, r2] += _dot1(ts, Z2[b, r2, k0:k0 + n], n, zero)
                        r2 += 1


@numba.njit(nogil=True, cache=True)
def _symmetrize(G):  # pragma: no cover (compiled)
    """Complete ``_forward``'s ``same`` Gram: the real part symmetric, the imaginary part
    antisymmetric (zero diagonal)."""
    B, _, L, R, _ = G.shape
    for b in range(B):
        for l in range(L):
            for r1 in range(R):
                G[b, 1, l, r1, r1] = 0
                for r2 in range(r1 + 1, R):
                    G[b, 0, l, r2, r1] = G[b, 0, l, r1, r2]
                    G[b, 1, l, r2, r1] = -G[b, 1, l, r1, r2]


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def _apply(T, Y, rY, w_re, w_im, chunk, r0, r1, out):  # pragma: no cover (compiled)
    """``out[b, r, k] = sum_{c, l, q} T[b, r, c, l, q] W_c[l, k] Y_c[b, q, k]`` (``Y_0 = Y``,
    ``Y_1 = rY``) for the rows ``r0 .. r1-1``."""
    B, _, K = out.shape
    Q, L = Y.shape[1], w_re.shape[0]
    v = np.empty(chunk, Y.dtype)
    for b in range(B):
        for k0 in range(0, K, chunk):
            n = min(chunk, K - k0)
            vs = v[:n]
            for r in range(r0, r1):
                o = out[b, r, k0:k0 + n]
                o[:] = 0
                for c in range(2):
                    Yc = Y if c == 0 else rY
                    for l in range(L):
                        vs[:] = 0
                        q = 0
                        while q + 4 <= Q:
                            s0, s1 = T[b, r, c, l, q], T[b, r, c, l, q + 1]
                            s2, s3 = T[b, r, c, l, q + 2], T[b, r, c, l, q + 3]
                            y0, y1 = Yc[b, q, k0:k0 + n], Yc[b, q + 1, k0:k0 + n]
                            y2, y3 = Yc[b, q + 2, k0:k0 + n], Yc[b, q + 3, k0:k0 + n]
                            for i in range(n):
                                vs[i] += s0 * y0[i] + s1 * y1[i] + s2 * y2[i] + s3 * y3[i]
                            q += 4
                        while q < Q:
                            s0, y0 = T[b, r, c, l, q], Yc[b, q, k0:k0 + n]
                            for i in range(n):
                                vs[i] += s0 * y0[i]
                            q += 1
                        w = (w_re if c == 0 else w_im)[l, k0:k0 + n]
                        for i in range(n):
                            o[i] += w[i] * vs[i]


# ---- the pixel route's level products (``compute.moments``): rows read in place --------------
# ``F (B, 2, L3, P)`` and ``W (B, n, 2, L3, P)`` come as flat storages and the offsets of their
# rows (``Fo (B, 2, L3)``, ``Wo (B, n, 2, L3)``): the rows are contiguous but not evenly spaced
# (views of the stencils' outputs), and slices of a non-contiguous numba array are not
# vectorised (measured 4-7x slower).
@numba.njit(inline="always")
def _row(Fb, Fo, Wb, Wo, b, l3, x, n1, p0, p1):  # pragma: no cover (compiled)
    """Row ``x`` of ``product_rows(F, W)[b, l3]`` (``[Re C, Re W_1 .. W_n, Im C, Im W_1 ..]``),
    pixels ``p0 .. p1-1``."""
    c, m = x // n1, x % n1
    o = Fo[b, c, l3] if m == 0 else Wo[b, m - 1, c, l3]
    return (Fb if m == 0 else Wb)[o + p0:o + p1]


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def _rows_gram(Fb, Fo, Wb, Wo, P, w, uniform, chunk, i0, i1, G):  # pragma: no cover (compiled)
    """``G[b, k, l3, x, y] = sum_p w[k, p] row_x[p] row_y[p]`` (``uniform``: ``w = 1``, one
    ``k``) for the items ``b L3 + l3`` in ``i0 .. i1-1``; ``G`` (float64, zeroed by the caller)
    gets ``y >= x``, then the rest by symmetry."""
    L3 = Fo.shape[2]
    n1 = 1 + Wo.shape[1]
    X, K = 2 * n1, G.shape[1]
    t = np.empty(chunk, Fb.dtype)
    zero = np.zeros(1, Fb.dtype)[0]
    for item in range(i0, i1):
        b, l3 = item // L3, item % L3
        for p0 in range(0, P, chunk):
            p1 = min(P, p0 + chunk)
            n = p1 - p0
            ts = t[:n]
            for k in range(K):
                for x in range(X):
                    z = _row(Fb, Fo, Wb, Wo, b, l3, x, n1, p0, p1)
                    if uniform:
                        ts[:] = z
                    else:
                        wk = w[k, p0:p1]
                        for i in range(n):
                            ts[i] = wk[i] * z[i]
                    y = x
                    while y + 4 <= X:
                        y0, y1 = _row(Fb, Fo, Wb, Wo, b, l3, y, n1, p0, p1), _row(Fb, Fo, Wb, Wo, b, l3, y + 1, n1, p0, p1)
                        y2, y3 = _row(Fb, Fo, Wb, Wo, b, l3, y + 2, n1, p0, p1), _row(Fb, Fo, Wb, Wo, b, l3, y + 3, n1, p0, p1)
                        _add_dot4(ts, y0, y1, y2, y3, n, zero, G[b, k, l3, x], y)
                        y += 4
                    while y < X:
                        G[b, k, l3, x, y] += _dot1(ts, _row(Fb, Fo, Wb, Wo, b, l3, y, n1, p0, p1), n, zero)
                        y += 1
        for k in range(K):
            for x in range(X):
                for y in range(x + 1, X):
                    G[b, k, l3, y, x] = G[b, k, l3, x, y]
