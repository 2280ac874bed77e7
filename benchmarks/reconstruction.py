"""Reconstruction from classic scattering coefficients: relative error against J and order.

    python benchmarks/reconstruction.py [--epochs 400] [--out out]

1D: a linear chirp (N = 1024, Q = 8; J >= 4: with Q = 8 and J = 2 Kymatio keeps only low-frequency wavelets, 0.1% of the energy); 2D: a 64x64 crop of scikit-image's brick (L = 8).
For each J and max_order, ``foscat_like.classic.reconstruct`` starts from white noise and
matches the coefficients; reported: signal error ||x_hat - x|| / ||x|| (and after the best
circular shift, the transform being nearly translation invariant), for the chirp the error of
its spectrogram (the band phases are lost by the modulus), and the coefficient error
||S x_hat - S x|| / ||S x||. Writes benchmarks/results/reconstruction.json and, in --out,
reconstruction.png.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, write_json  # noqa: E402


def chirp(N: int = 1024) -> np.ndarray:
    t = np.arange(N) / N
    return np.cos(2 * np.pi * (5 * t + 150 * t ** 2)) * np.hanning(N)


def aligned_error(xh: np.ndarray, x: np.ndarray) -> float:
    """Relative error after the circular shift maximising the cross-correlation."""
    c = np.real(np.fft.ifftn(np.fft.fftn(x) * np.conj(np.fft.fftn(xh))))
    shift = np.unravel_index(np.argmax(c), c.shape)
    return float(np.linalg.norm(np.roll(xh, shift, axis=tuple(range(x.ndim))) - x) / np.linalg.norm(x))


def spectrogram_error(xh: np.ndarray, x: np.ndarray) -> float:
    """1D: relative error of the STFT magnitudes (64-sample windows): what is left of an
    oscillating signal once the phase of each band is lost; 2D: the aligned error."""
    if x.ndim != 1:
        return aligned_error(xh, x)
    from scipy.signal import stft
    mag = lambda v: np.abs(stft(v, nperseg=64)[2])
    return float(np.linalg.norm(mag(xh) - mag(x)) / np.linalg.norm(mag(x)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--out", default="out")
    ap.add_argument("--only", nargs="*", default=[])
    a = ap.parse_args()
    from foscat_like.datasets import load_texture
    from foscat_like.planar import Scattering1D, Scattering2D
    from foscat_like.classic.reconstruct import reconstruct
    x1 = chirp()
    x2 = load_texture("brick", 128)[:64, :64].copy()
    only = set(a.only)
    cases = [("chirp_1024", x1, lambda J, o: Scattering1D(J, 1024, Q=8, max_order=o), (4, 6, 8)),
             ("brick_64", x2, lambda J, o: Scattering2D(J, (64, 64), L=8, max_order=o), (1, 2, 3, 4))]
    rows, keep = [], {}
    for name, x, make, Js in [c for c in cases if not only or c[0] in only]:
        for J in Js:
            for order in (1, 2):
                S = make(J, order)
                Sx = S(x)
                t = time.perf_counter()
                xh = reconstruct(S, Sx, NUM_EPOCHS=a.epochs)
                dt = time.perf_counter() - t
                rows.append({"signal": name, "J": J, "max_order": order, "n_coeffs": int(Sx.size),
                             "signal_err": float(np.linalg.norm(xh - x) / np.linalg.norm(x)),
                             "aligned_err": aligned_error(xh, x),
                             "spectrogram_err": spectrogram_error(xh, x),
                             "coeff_err": float(np.linalg.norm(S(xh) - Sx) / np.linalg.norm(Sx)),
                             "time_s": dt})
                keep[(name, J, order)] = xh
                print_table(rows[-1:], list(rows[-1]))
    print()
    print_table(rows, list(rows[0]))
    print("wrote", write_json("reconstruction", {"epochs": a.epochs, "rows": rows}))
    if only:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(2, 4, figsize=(16, 6.5))
    for o, J in enumerate((4, 8)):
        ax[0, 2 * o].plot(x1, lw=0.8, label="chirp")
        ax[0, 2 * o].plot(keep[("chirp_1024", J, 2)], lw=0.8, label=f"J={J}, order 2")
        ax[0, 2 * o].legend(fontsize=8)
        ax[0, 2 * o + 1].plot(keep[("chirp_1024", J, 1)], lw=0.8, color="C2", label=f"J={J}, order 1")
        ax[0, 2 * o + 1].legend(fontsize=8)
    for i, (J, o) in enumerate(((None, None), (2, 2), (4, 1), (4, 2))):
        img = x2 if J is None else keep[("brick_64", J, o)]
        ax[1, i].imshow(img, cmap="gray")
        ax[1, i].set_title("brick 64x64" if J is None else f"J={J}, order {o}")
        ax[1, i].axis("off")
    fig.tight_layout()
    os.makedirs(a.out, exist_ok=True)
    fig.savefig(os.path.join(a.out, "reconstruction.png"), dpi=70)
    print("wrote", os.path.join(a.out, "reconstruction.png"))


if __name__ == "__main__":
    main()
