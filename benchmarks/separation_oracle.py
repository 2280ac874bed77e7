"""What limits a separation's morphology: its estimated targets, or the optimiser?

    python benchmarks/separation_oracle.py [--cases brick:64:1 ...]

For each case (a scikit-image texture, std 1, plus white noise of std ``1/snr``; 16 draws, the
default ``fl.separate`` settings) the separation is run as it is, then with the first condition's
target ``Phi(s) ~ Phi(d) - B`` replaced by the truth's own statistics (an oracle no user has), with
and without the two other conditions. Printed against the truth: pixel RMS, power-spectrum log
error and Minkowski-functional error (``foscat_like.metrics``), and each condition's normalised
misfit at the truth, where a calibrated target gives O(1). Writes
benchmarks/results/separation_oracle.json.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, write_json  # noqa: E402


def run(name: str, size: int, snr: float) -> list[dict]:
    import foscat_like as fl
    from foscat_like.datasets import load_texture
    from foscat_like.metrics import minkowski_error, power_spectrum_error
    from foscat_like.optim import separation as sep
    truth = load_texture(name, size)
    rng = np.random.default_rng(0)
    data = truth + rng.standard_normal(truth.shape) / snr
    noise = rng.standard_normal((16,) + truth.shape) / snr
    T = torch.as_tensor(truth)[None] / float(np.std(data))          # the truth in the loss' units
    rows, misfit = [], {}
    original = sep.SeparationLoss._packed_terms
    for mode in ("as is", "oracle target", "oracle target alone"):
        def patched(self, raw_d, mode=mode):
            if mode != "as is":
                f, _, sig = self.terms[0]
                with torch.no_grad():
                    self.terms[0] = (f, self.phi(T.to(self.d.dtype))[0], sig)
                if mode == "oracle target alone":
                    self.terms = self.terms[:1]
            else:
                misfit["parts"] = lambda: [float(p) for p in self.parts(T.to(self.d.dtype))]
            return original(self, raw_d)
        sep.SeparationLoss._packed_terms = patched
        try:
            s = np.asarray(fl.separate(data, noise, grid="2d", progress=False)).reshape(truth.shape)
            if mode == "as is":
                parts = misfit["parts"]()       # the last (full-resolution) iteration's loss
        finally:
            sep.SeparationLoss._packed_terms = original
        rows.append({"case": f"{name}_{size}_snr{snr:g}", "target": mode,
                     "rms": float(np.sqrt(np.mean((s - truth) ** 2))),
                     "ps": power_spectrum_error(s, truth), "minkowski": minkowski_error(s, truth)})
    rows[0]["misfit_at_truth"] = parts
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="+", default=["brick:64:1", "gravel:64:1"])
    a = ap.parse_args()
    rows = []
    for spec in a.cases:
        name, size, snr = spec.split(":")
        rows += run(name, int(size), float(snr))
        print_table(rows[-3:], ["case", "target", "rms", "ps", "minkowski"])
        print("each condition's misfit at the truth (as is):", [f"{p:.3g}" for p in rows[-3]["misfit_at_truth"]])
    print("wrote", write_json("separation_oracle", {"rows": rows}))


if __name__ == "__main__":
    main()
