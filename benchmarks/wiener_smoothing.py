"""The empirical Wiener filter with its band powers smoothed (``grid.wiener(d, n, smooth=w)``)
against the Wiener filter of the true spectrum.

    python benchmarks/wiener_smoothing.py [--widths 0 0.125 0.25 0.5] [--seeds 0 1 2]

Fields: brick, gravel and grass at 64² and 128² (std 1), the red-spectrum lognormal field at 32²
and 64², and the WMAP W-band temperature (nside 32, std 1); white noise of std ``1/snr`` at SNR
0.5, 1 and 2, 16 noise draws, noise seeds ``--seeds``. Printed: the pixel RMS of each width over
the true-spectrum filter's (1 = as good as knowing the spectrum), per field and SNR (mean over the
seeds), and the mean and worst over all. Writes benchmarks/results/wiener_smoothing.json. The
posterior (``optim.posterior``) combines the 0.25-octave filter with the separation.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, write_json  # noqa: E402


def fields() -> list[tuple[str, str, np.ndarray]]:
    """``(key, grid, truth)`` of std 1."""
    from foscat_like.datasets import load_texture, load_wmap, lognormal_field
    out = [(f"{n}_{s}", "2d", load_texture(n, s)) for n in ("brick", "gravel", "grass") for s in (64, 128)]
    out += [(f"lognormal_{s}", "2d", lognormal_field(s, 20261207)) for s in (32, 64)]
    I, _ = load_wmap()
    return out + [("wmap_32", "healpix", (I - I.mean()) / I.std())]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", type=float, nargs="+", default=[0.0, 0.125, 0.25, 0.5])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a = ap.parse_args()
    import foscat_like as fl
    from foscat_like.healpix.spectra import cl_nest, wiener_nest
    from foscat_like.metrics import smooth_power, wiener_filter
    rows, ratios = [], {w: [] for w in a.widths}
    for key, grid, truth in fields():
        g = fl.funct(grid=grid).grid
        for snr in (0.5, 1.0, 2.0):
            sigma, per = 1 / snr, {w: [] for w in a.widths}
            for seed in a.seeds:
                rng = np.random.default_rng(seed)
                data = truth + sigma * rng.standard_normal(truth.shape)
                noise = sigma * rng.standard_normal((16,) + truth.shape)
                true = (wiener_nest(data[None], noise, cl_nest(truth))[0] if grid == "healpix"
                        else wiener_filter(data, smooth_power(truth), sigma ** 2))
                rms = lambda x: float(np.sqrt(np.mean((x - truth) ** 2)))
                d, n = torch.as_tensor(data)[None], torch.as_tensor(noise)
                for w in a.widths:
                    per[w].append(rms(g.wiener(d, n, smooth=w)[0].numpy()) / rms(true))
            rows.append({"field": key, "snr": snr, **{f"w{w}": float(np.mean(per[w])) for w in a.widths}})
            for w in a.widths:
                ratios[w] += per[w]
    summary = [{"field": stat, "snr": "", **{f"w{w}": float(f(ratios[w])) for w in a.widths}}
               for stat, f in (("mean", np.mean), ("worst", np.max))]
    cols = ["field", "snr", *[f"w{w}" for w in a.widths]]
    print("pixel RMS over the true-spectrum Wiener filter's, by smoothing width (octaves)")
    print_table(rows + summary, cols)
    print("wrote", write_json("wiener_smoothing", {"seeds": a.seeds, "widths": a.widths, "rows": rows,
                                                    "summary": summary}))


if __name__ == "__main__":
    main()
