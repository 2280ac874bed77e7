"""Regenerate tests/data/kymatio_ref.npz with Kymatio 0.3.0 (development only).

    pip install kymatio==0.3.0 && python tests/data/make_kymatio_reference.py [3d]

(``3d``: only tests/data/kymatio_ref_3d.npz, the solid-harmonic 3D cases.)

Inputs are random (seeded) signals with large- and small-scale structure;
every case draws
its own signal. Shapes include odd, non-square and non-power-of-two sizes.
"""
import os

import numpy as np
import scipy.special

if not hasattr(scipy.special, "sph_harm"):  # Kymatio 0.3 on SciPy >= 1.17: the old signature
    scipy.special.sph_harm = lambda m, n, theta, phi: scipy.special.sph_harm_y(n, m, phi, theta)
import sys  # noqa: E402

import kymatio  # noqa: E402
import torch  # noqa: E402
from kymatio.torch import HarmonicScattering3D, Scattering1D, Scattering2D  # noqa: E402

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

CASES_3D = [  # J, (M, N, O), L, max_order, rotation_covariant, integral_powers, batch
    (2, (16, 16, 16), 2, 2, True, (0.5, 1.0, 2.0), (2,)),
    (1, (12, 14, 10), 3, 1, True, (0.5, 1.0, 2.0), ()),
    (2, (17, 16, 15), 1, 2, True, (1.0, 2.0), (1,)),
    (1, (16, 16, 16), 2, 2, False, (0.5, 1.0, 2.0), (2,)),
]


def main_3d() -> None:
    rng = np.random.default_rng(3)
    out = {}
    for i, (J, shape, L, order, rot, powers, batch) in enumerate(CASES_3D):
        x = rng.standard_normal(batch + shape).astype(np.float32)
        x = np.cumsum(x, axis=-1) * 0.1 + x
        S = HarmonicScattering3D(J=J, shape=shape, L=L, max_order=order, rotation_covariant=rot,
                                 integral_powers=powers)(torch.from_numpy(x)).numpy()
        out[f"3d_{i}_x"], out[f"3d_{i}_S"] = x, S
        out[f"3d_{i}_params"] = np.array([J, *shape, L, order, int(rot)])
        out[f"3d_{i}_powers"] = np.array(powers)
    path = os.path.join(os.path.dirname(__file__), "kymatio_ref_3d.npz")
    np.savez_compressed(path, **out)
    print("wrote", path, os.path.getsize(path), "bytes")


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
    if sys.argv[1:] != ["3d"]:
        main()
    main_3d()
