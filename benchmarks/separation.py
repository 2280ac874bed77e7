"""Component separation against known truth, and the Wiener filter, on a real texture.

    python benchmarks/separation.py [--size 64] [--epochs 100] [--draws 6]

Truth: scikit-image texture (std 1) plus Gaussian white noise at SNR 1 and 0.5.
Reports pixel RMS error, power-spectrum log error and Minkowski error of
foscat_like.separate, of the Wiener filter built from the true spectra, and of
the raw data. Writes benchmarks/results/separation.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, write_json  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--draws", type=int, default=6)
    ap.add_argument("--textures", nargs="+", default=["gravel", "brick"])
    a = ap.parse_args()
    import foscat_like as fl
    from foscat_like.datasets import load_texture
    from foscat_like.metrics import minkowski_error, power_spectrum_error, smooth_power, wiener_filter
    rows, results = [], {}
    for tex in a.textures:
        truth = load_texture(tex, a.size)
        for snr in (1.0, 0.5):
            rng = np.random.default_rng(0)
            sigma = 1.0 / snr
            data = truth + sigma * rng.standard_normal(truth.shape)
            draws = sigma * rng.standard_normal((a.draws,) + truth.shape)
            t = time.perf_counter()
            s = fl.separate(data, draws, grid="2d", NUM_EPOCHS=a.epochs, progress=False)
            dt = time.perf_counter() - t
            w = wiener_filter(data, smooth_power(truth), sigma ** 2)
            key = f"{tex}_{a.size}_snr{snr}"
            results[key] = {}
            for name, est in (("foscat_like", s), ("wiener", w), ("data", data)):
                r = {"rms": float(np.sqrt(np.mean((est - truth) ** 2))),
                     "ps_log10_rms": power_spectrum_error(est, truth),
                     "minkowski": minkowski_error(est, truth)}
                if name == "foscat_like":
                    r["time_s"] = dt
                results[key][name] = r
                rows.append({"case": key, "method": name, **r})
    print_table(rows, ["case", "method", "rms", "ps_log10_rms", "minkowski", "time_s"])
    print("wrote", write_json("separation", {"epochs": a.epochs, "draws": a.draws, "results": results}))


if __name__ == "__main__":
    main()
