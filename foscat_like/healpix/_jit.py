"""The compiled loops of ``healpix.kernels`` (numba; imported on their first use, so that only a
process that runs HEALPix stencils pays numba's import, ~0.4-0.7 s, and its cache load)."""
import numba
import numpy as np


@numba.njit(inline="always", cache=True)
def _where(j, t, T, Q, bs):                                 # pragma: no cover (compiled)
    """Weight block ``j`` at turn ``t``: its pixel count, its index block and its first pixel."""
    nb = (Q + bs - 1) // bs
    a, ib = j // nb, j % nb
    return min(bs, Q - ib * bs), (a * T + t) * nb + ib, (a * T + t) * Q + ib * bs


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def _forward(x, indexB, valsB, r0, R, T, Q, j0, j1, out):  # pragma: no cover (compiled)
    """``out[m, r, p] = sum_k w[g(p), r0 + r, k] x[m, index[p, k]]`` for the pixels of weight
    blocks ``j0 .. j1-1`` and their turns: ``x (M, n)``, ``out (M, R, n)``, blocked ``indexB``,
    ``valsB`` (whose weight rows ``r0 .. r0 + R - 1`` are used)."""
    M, K, bs = x.shape[0], valsB.shape[2], valsB.shape[3]
    xg = np.empty((K, bs), dtype=x.dtype)
    for j in range(j0, j1):
        for t in range(T):
            n, pb, p0 = _where(j, t, T, Q, bs)
            for m in range(M):
                xm = x[m]
                if R == 1:          # one output: the gathered values are used once, not staged
                    o, w, ik = out[m, 0, p0:p0 + n], valsB[j, r0, 0], indexB[pb, 0]
                    for b in range(n):
                        o[b] = w[b] * xm[ik[b]]
                    for k in range(1, K):
                        w, ik = valsB[j, r0, k], indexB[pb, k]
                        for b in range(n):
                            o[b] += w[b] * xm[ik[b]]
                    continue
                for k in range(K):
                    ik, xk = indexB[pb, k], xg[k]
                    for b in range(n):
                        xk[b] = xm[ik[b]]
                for r in range(R):
                    o, w, xk = out[m, r, p0:p0 + n], valsB[j, r0 + r, 0], xg[0]
                    for b in range(n):
                        o[b] = w[b] * xk[b]
                    for k in range(1, K):
                        w, xk = valsB[j, r0 + r, k], xg[k]
                        for b in range(n):
                            o[b] += w[b] * xk[b]


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def _adjoint(y, indexB, valsB, r0, R, T, Q, j0, j1, out):  # pragma: no cover (compiled)
    """``out[m, index[p, k]] += sum_r w[g(p), r0 + r, k] y[m, r, p]`` over the same pixels:
    ``y (M, R, n)``, ``out (M, n)`` (zeroed by the caller; one thread per ``out`` row at a time)."""
    M, K, bs = y.shape[0], valsB.shape[2], valsB.shape[3]
    z = np.empty((K, bs), dtype=y.dtype)
    for j in range(j0, j1):
        for t in range(T):
            n, pb, p0 = _where(j, t, T, Q, bs)
            for m in range(M):
                yr = y[m, 0, p0:p0 + n]
                for k in range(K):
                    zk, w = z[k], valsB[j, r0, k]
                    for b in range(n):
                        zk[b] = w[b] * yr[b]
                for r in range(1, R):
                    yr = y[m, r, p0:p0 + n]
                    for k in range(K):
                        zk, w = z[k], valsB[j, r0 + r, k]
                        for b in range(n):
                            zk[b] += w[b] * yr[b]
                om = out[m]
                for k in range(K):
                    ik, zk = indexB[pb, k], z[k]
                    for b in range(n):
                        om[ik[b]] += zk[b]
