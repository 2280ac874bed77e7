"""Regenerate tests/data/kymatio_ref.npz with Kymatio 0.3.0 (development only).

    pip install kymatio==0.3.0 && python tests/data/make_kymatio_reference.py [3d | frontend]

(``3d``: only tests/data/kymatio_ref_3d.npz, the solid-harmonic 3D cases; ``frontend``: only
tests/data/kymatio_ref_frontend.npz, the frontend options: ``T=0`` / ``average=False``,
``out_type='list'``, ``oversampling``, a custom ``T``, 2D ``pre_pad``, numpy dtypes.)

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


CASES_FRONTEND_1D = [  # name, J, N, Q, kwargs
    ("T0", 5, 300, 4, dict(T=0, out_type="list")),
    ("T0_os1", 4, 256, (2, 2), dict(T=0, oversampling=1, out_type="list")),
    ("avgfalse_order1", 4, 200, 2, dict(average=False, max_order=1, out_type="list")),
    ("os2", 5, 512, 4, dict(oversampling=2)),
    ("T8", 6, 400, 2, dict(T=8)),
    ("T_os_big", 4, 128, 1, dict(T=4, oversampling=5)),
]
CASES_FRONTEND_2D = [  # name, J, (M, N), L, kwargs
    ("list", 2, (20, 28), 4, dict(out_type="list")),
    ("prepad", 2, (30, 30), 3, dict(pre_pad=True)),
    ("prepad_list", 3, (24, 40), 2, dict(pre_pad=True, out_type="list", max_order=1)),
]


def main_frontend() -> None:
    """Each case stores its input, the coefficients path by path (``_c{k}``) and their
    Kymatio meta (``_j``, ``_n`` as NaN-padded rows), numpy frontend (float64 in)."""
    import warnings

    from kymatio.numpy import Scattering1D as NP1D, Scattering2D as NP2D
    rng = np.random.default_rng(20261201)
    out = {}

    def store(prefix, x, S):
        out[prefix + "_x"] = x
        if isinstance(S, list):
            out[prefix + "_npaths"] = np.array(len(S))
            for k, p in enumerate(S):
                out[f"{prefix}_c{k}"] = p["coef"]
            width = max(len(p["n"]) for p in S)
            for key in ("j", "n"):
                out[f"{prefix}_{key}"] = np.array([list(p[key]) + [np.nan] * (width - len(p[key])) for p in S])
        else:
            out[prefix + "_S"] = S
    for name, J, N, Q, kw in CASES_FRONTEND_1D:
        x = rng.standard_normal((2, N))
        x = np.cumsum(x, axis=-1) * 0.1 + x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            store(f"1d_{name}", x, NP1D(J, N, Q, **kw)(x))
    for name, J, shape, L, kw in CASES_FRONTEND_2D:
        S = NP2D(J, shape, L, **kw)
        size = (S._M_padded, S._N_padded) if kw.get("pre_pad") else shape
        x = rng.standard_normal((2,) + size)
        x = np.cumsum(x, axis=-1) * 0.1 + x
        store(f"2d_{name}", x, S(x))
    import json
    out["cases"] = np.array(json.dumps({"1d": CASES_FRONTEND_1D, "2d": CASES_FRONTEND_2D}))
    path = os.path.join(os.path.dirname(__file__), "kymatio_ref_frontend.npz")
    np.savez_compressed(path, **out)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    if sys.argv[1:] == ["frontend"]:
        main_frontend()
        sys.exit()
    if sys.argv[1:] != ["3d"]:
        main()
    main_3d()
