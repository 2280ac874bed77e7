"""The compiled loops of ``ops`` (numba; imported on first use): the complex modulus, over one
axis or none, and its adjoint, one pass over memory each. ``r (A, M, 2P)``: ``A`` outer
entries, ``M`` values along the reduced axis (1 for a plain modulus), ``P`` inner entries as
interleaved (re, im)."""
import numba
import numpy as np


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def modulus(r, m):  # pragma: no cover (compiled)
    """``m[a, q] = sqrt(sum_k |r[a, k, 2q] + i r[a, k, 2q+1]|^2)`` (``m (A, P)``)."""
    A, M = r.shape[0], r.shape[1]
    for a in range(A):
        ma = m[a]
        r0 = r[a, 0]
        if M == 1:                        # a plain modulus: one pass
            for q in range(ma.shape[0]):
                ma[q] = np.sqrt(r0[2 * q] * r0[2 * q] + r0[2 * q + 1] * r0[2 * q + 1])
            continue
        for q in range(ma.shape[0]):
            ma[q] = r0[2 * q] * r0[2 * q] + r0[2 * q + 1] * r0[2 * q + 1]
        for k in range(1, M):
            rk = r[a, k]
            for q in range(ma.shape[0]):
                ma[q] += rk[2 * q] * rk[2 * q] + rk[2 * q + 1] * rk[2 * q + 1]
        for q in range(ma.shape[0]):
            ma[q] = np.sqrt(ma[q])


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def modulus_adjoint(r, m, g, out):  # pragma: no cover (compiled)
    """``out[a, k, 2q:2q+2] = r[a, k, 2q:2q+2] g[a, q] / m[a, q]`` (0 where ``m[a, q] == 0``)."""
    A, M = r.shape[0], r.shape[1]
    for a in range(A):
        ma, ga = m[a], g[a]
        for k in range(M):
            rk, ok = r[a, k], out[a, k]
            for q in range(ma.shape[0]):
                mq = ma[q]
                s = ga[q] / mq if mq > 0 else ga[q] * 0
                ok[2 * q] = rk[2 * q] * s
                ok[2 * q + 1] = rk[2 * q + 1] * s
