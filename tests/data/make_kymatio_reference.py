"""Regenerate tests/data/kymatio_ref.npz with Kymatio 0.3.0 (development only).

    pip install kymatio==0.3.0 && python tests/data/make_kymatio_reference.py

Inputs are random (seeded) signals with large- and small-scale structure;
every case draws
its own signal. Shapes include odd, non-square and non-power-of-two sizes.
"""
import os

import numpy as np
import scipy.special

scipy.special.sph_harm = getattr(scipy.special, "sph_harm", None)  # Kymatio 0.3 on new SciPy
import kymatio  # noqa: E402
import torch  # noqa: E402
from kymatio.torch import Scattering1D, Scattering2D  # noqa: E402

assert kymatio.__version__ == "0.3.0", kymatio.__version__

CASES_2D = [  # J, (M, N), L, max_order, batch
    (2, (32, 32), 8, 2, (2,)),
    (3, (37, 50), 6, 2, (2, 3)),
    (3, (64, 48), 4, 1, ()),
    (2, (4, 4), 4, 2, (1,)),
    (4, (80, 72), 8, 2, (1,)),
    (1, (9, 7), 3, 2, (2,)),
]
CASES_1D = [  # J, N, Q, max_order, batch
    (6, 1024, 1, 2, (2,)),
    (5, 1000, (3, 2), 2, (2, 3)),
    (8, 4096, 8, 2, (1,)),
    (4, 100, 2, 1, ()),
    (3, 37, 1, 2, (1,)),
]


def main() -> None:
    rng = np.random.default_rng(20261122)
    out = {}
    for i, (J, shape, L, order, batch) in enumerate(CASES_2D):
        x = rng.standard_normal(batch + shape).astype(np.float32)
        x = np.cumsum(x, axis=-1) * 0.1 + x  # some large-scale structure too
        S = Scattering2D(J=J, shape=shape, L=L, max_order=order)(torch.from_numpy(x)).numpy()
        out[f"2d_{i}_x"], out[f"2d_{i}_S"] = x, S
        out[f"2d_{i}_params"] = np.array([J, shape[0], shape[1], L, order])
    for i, (J, N, Q, order, batch) in enumerate(CASES_1D):
        x = rng.standard_normal(batch + (N,)).astype(np.float32)
        S = Scattering1D(J=J, shape=N, Q=Q, max_order=order)(torch.from_numpy(x)).numpy()
        Q = (Q, 1) if isinstance(Q, int) else Q
        out[f"1d_{i}_x"], out[f"1d_{i}_S"] = x, S
        out[f"1d_{i}_params"] = np.array([J, N, Q[0], Q[1], order])
    path = os.path.join(os.path.dirname(__file__), "kymatio_ref.npz")
    np.savez_compressed(path, **out)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
