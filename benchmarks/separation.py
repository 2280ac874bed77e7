"""Component separation against known truth, with the Wiener filter as the linear reference.

    python benchmarks/separation.py [--size 128] [--epochs 100] [--n-iter 3] [--draws 16]

Cases: a scikit-image texture (gravel, brick; std 1) and the WMAP W-band temperature map
(nside 32, NEST, std 1: the Galaxy is the non-Gaussian "foreground") plus Gaussian white
noise at signal-to-noise 1 and 0.5 (std ratio); and the WMAP foreground W - V (the CMB
cancels in the difference) plus a Gaussian CMB sky at the same ratios, with CMB
realisations as the noise model (needs ../shared/data, --shared). Methods: foscat_like.separate; the Wiener
filter built from the *true* spectra (the best linear estimate); the power-preserving linear
filter sqrt(W) (the best linear estimate whose output keeps the signal's spectrum: the bar
a statistics-matching method must pass to have used non-Gaussian information); the data.
Metrics against the truth: pixel RMS, power-spectrum log error (C_l on the sphere),
Minkowski-functional error (on the sphere: on the 12 HEALPix base faces), pixel-histogram KS distance and the RMS difference of the
normalised scattering covariances (log S1, log S2, S3, S4 in units of the truth's powers). Writes benchmarks/results/separation.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, write_json  # noqa: E402


def planar_case(tex: str, size: int, sigma: float, draws: int, rng):
    from foscat_like.datasets import load_texture
    from foscat_like.metrics import (histogram_ks, minkowski_error, power_spectrum_error, smooth_power,
                                     wiener_filter)
    truth = load_texture(tex, size)
    data = truth + sigma * rng.standard_normal(truth.shape)
    noise = sigma * rng.standard_normal((draws,) + truth.shape)
    linear = {"wiener": wiener_filter(data, smooth_power(truth), sigma ** 2),
              "sqrt_wiener": wiener_filter(data, smooth_power(truth), sigma ** 2, exponent=0.5)}
    metrics = {"ps_log10_rms": power_spectrum_error, "minkowski": minkowski_error, "ks": histogram_ks}
    return "2d", truth, data, noise, linear, metrics


def sphere_case(sigma: float, draws: int, rng):
    from foscat_like.datasets import load_wmap
    from foscat_like.healpix.spectra import cl_error, cl_nest, wiener_nest
    from foscat_like.metrics import histogram_ks, minkowski_error
    I, _ = load_wmap()
    truth = (I - I.mean()) / I.std()
    data = truth + sigma * rng.standard_normal(truth.shape)
    noise = sigma * rng.standard_normal((draws,) + truth.shape)
    linear = {"wiener": wiener_nest(data[None], noise, cl_nest(truth))[0],
              "sqrt_wiener": wiener_nest(data[None], noise, cl_nest(truth), exponent=0.5)[0]}
    return "healpix", truth, data, noise, linear, {"ps_log10_rms": cl_error, "minkowski": minkowski_error,
                                                   "ks": histogram_ks}


def scat_distance(op, a, b) -> float:
    """RMS difference of the scattering covariances of ``a`` and ``b``, normalised by ``b``'s powers."""
    powers = op.eval(b)
    sb, sa = op.eval(b, norm=powers), op.eval(a, norm=powers)
    return float(sa.reduce_distance(sb)) ** 0.5


def cmb_case(sigma: float, draws: int, shared: str):
    """Foreground W - V (the CMB cancels) plus a Gaussian CMB sky (W's high-latitude C_l) of
    ``sigma`` times the foreground's std; the CMB realisations are the noise model."""
    import healpy as hp
    from foscat_like.datasets import load_wmap
    from foscat_like.healpix import read_map
    from foscat_like.healpix.spectra import cl_error, cl_nest, wiener_nest
    from foscat_like.metrics import histogram_ks, minkowski_error
    vpath = os.path.join(shared, "wmap_band_iqumap_r9_7yr_V_v4_udgraded32.fits")
    if not os.path.exists(vpath):
        print(f"{vpath} missing: CMB case skipped")
        return None
    W, mask = load_wmap()
    fg = W - read_map(vpath)
    truth = (fg - fg.mean()) / fg.std()
    cl = hp.anafast(hp.reorder(W * mask, n2r=True), use_pixel_weights=False) / mask.mean()

    def sky(k):
        np.random.seed(1000 + k)
        m = hp.reorder(hp.synfast(cl, 32), r2n=True)
        return sigma * m / m.std()
    data = truth + sky(0)
    noise = np.stack([sky(k) for k in range(1, draws + 1)])
    linear = {"wiener": wiener_nest(data[None], noise, cl_nest(truth))[0],
              "sqrt_wiener": wiener_nest(data[None], noise, cl_nest(truth), exponent=0.5)[0]}
    return "healpix", truth, data, noise, linear, {"ps_log10_rms": cl_error, "minkowski": minkowski_error,
                                                   "ks": histogram_ks}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--n-iter", type=int, default=3)
    ap.add_argument("--draws", type=int, default=16)
    ap.add_argument("--cases", nargs="+", default=["gravel", "brick", "wmap_w", "wmap_fg_cmb"])
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                     "shared", "data"))
    ap.add_argument("--snr", nargs="+", type=float, default=[1.0, 0.5])
    a = ap.parse_args()
    import foscat_like as fl
    rows, results = [], {}
    for case in a.cases:
        for snr in a.snr:
            rng = np.random.default_rng(0)
            if case == "wmap_w":
                grid, truth, data, noise, linear, metrics = sphere_case(1 / snr, a.draws, rng)
                key = f"wmap_w_nside32_snr{snr}"
            elif case == "wmap_fg_cmb":
                got = cmb_case(1 / snr, a.draws, a.shared)
                if got is None:
                    continue
                grid, truth, data, noise, linear, metrics = got
                key = f"wmap_fg_vs_cmb_nside32_snr{snr}"
            else:
                grid, truth, data, noise, linear, metrics = planar_case(case, a.size, 1 / snr, a.draws, rng)
                key = f"{case}_{a.size}_snr{snr}"
            t = time.perf_counter()
            s = fl.separate(data, noise, grid=grid, NUM_EPOCHS=a.epochs, n_iter=a.n_iter, progress=False)
            dt = time.perf_counter() - t
            op = fl.funct(grid=grid)
            results[key] = {}
            for name, est in (("foscat_like", s), *linear.items(), ("data", data)):
                r = {"rms": float(np.sqrt(np.mean((est - truth) ** 2)))}
                r.update({m: float(f(est, truth)) for m, f in metrics.items()})
                r["scat_rms"] = scat_distance(op, est, truth)
                if name == "foscat_like":
                    r["time_s"] = dt
                results[key][name] = r
                rows.append({"case": key, "method": name, **r})
            print_table(rows[-4:], ["case", "method", "rms", "ps_log10_rms", "minkowski", "ks", "scat_rms",
                                    "time_s"])
    print()
    print_table(rows, ["case", "method", "rms", "ps_log10_rms", "minkowski", "ks", "scat_rms", "time_s"])
    print("wrote", write_json("separation", {"epochs": a.epochs, "n_iter": a.n_iter, "draws": a.draws,
                                             "results": results}))


if __name__ == "__main__":
    main()
