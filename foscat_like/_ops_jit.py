"""The compiled loops of ``ops`` (numba; imported on first use): the complex modulus and its
adjoint, one pass over memory each, on flat arrays of interleaved (re, im) values."""
import numba
import numpy as np


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def modulus(r, m):  # pragma: no cover (compiled)
    """``m[i] = |r[2i] + i r[2i+1]|``."""
    for i in range(m.shape[0]):
        a = r[2 * i]
        b = r[2 * i + 1]
        m[i] = np.sqrt(a * a + b * b)


@numba.njit(nogil=True, fastmath=True, boundscheck=False, cache=True)
def modulus_adjoint(r, m, g, out):  # pragma: no cover (compiled)
    """``out[2i:2i+2] = r[2i:2i+2] g[i] / m[i]`` (0 where ``m[i] == 0``)."""
    for i in range(m.shape[0]):
        mi = m[i]
        s = g[i] / mi if mi > 0 else g[i] * 0
        out[2 * i] = r[2 * i] * s
        out[2 * i + 1] = r[2 * i + 1] * s

