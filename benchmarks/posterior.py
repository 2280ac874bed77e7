"""Posterior samples of separated signals against the truth and the Wiener filter.

    python benchmarks/posterior.py [--cases brick:64:1 gravel:64:1 ...] [--samples 8] [--epochs 100]
                                   [--figure docs/posterior.png]

Each case ``name:size:snr`` is a scikit-image texture (std 1) at ``size``^2, ``lognormal`` (a
red-spectrum lognormal field, std 1), ``gaussian`` (a Gaussian field of spectrum ``|k|^-2``, std 1,
a new realisation for each ``--seed``: where the posterior should be exact), or ``wmap`` (the
WMAP W-band temperature, nside 32, std 1), plus Gaussian white noise of std ``1/snr``; or
``wmapfg`` (the foreground W - V under a Gaussian CMB sky of std ``1/snr``, CMB skies as the noise
model: needs ../shared/data).
``fl.separate(..., n_samples=K)`` draws the posterior; the Wiener filter is built from the
*true* spectrum (the best linear estimate). Printed against the truth: pixel RMS, power-spectrum
log error (C_l on the sphere), Minkowski-functional error, pixel-histogram KS and scattering
covariance distance of the Wiener estimate (and of the empirical one: spectra from the data and the
noise draws, what a user without the truth has), the separation alone, the posterior's combined
estimate, its mean, and one sample (the median over the samples); the coverage of the truth by
the per-pixel 68% and 95% intervals. ``--bands``: where the coverage comes from, band by band
(``band_diagnostics``). Writes benchmarks/results/posterior.json.
``--polarisation [NSIDE ...]``: the spin-2 (Q, U) posterior of a polarised lognormal sky plus
white noise of its own std instead (posterior_pol.json).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import print_table, write_json  # noqa: E402
from separation import scat_distance  # noqa: E402


LOGNORMAL_SEED = 20261207      # the lognormal truth's seed: apart from the noise seeds (--seed)


def case(name: str, size: int, sigma: float, draws: int, rng):
    """(grid, truth, data, noise draws, Wiener estimate, metrics)."""
    from foscat_like.metrics import histogram_ks, minkowski_error, power_spectrum_error, smooth_power, wiener_filter
    if name == "wmapfg":      # the Galactic foreground W - V under a Gaussian CMB sky (noise model: CMB skies)
        from separation import cmb_case
        shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
        got = cmb_case(sigma, draws, shared)
        if got is None:
            return None
        grid, truth, data, noise, linear, metrics = got
        metrics["ps"] = metrics.pop("ps_log10_rms")
        return grid, truth, data, noise, linear["wiener"], metrics
    if name == "wmap":
        from foscat_like.datasets import load_wmap
        from foscat_like.healpix.spectra import cl_error, cl_nest, wiener_nest
        I, _ = load_wmap()
        truth = (I - I.mean()) / I.std()
        data = truth + sigma * rng.standard_normal(truth.shape)
        noise = sigma * rng.standard_normal((draws,) + truth.shape)
        wiener = wiener_nest(data[None], noise, cl_nest(truth))[0]
        return "healpix", truth, data, noise, wiener, {"ps": cl_error, "minkowski": minkowski_error, "ks": histogram_ks}
    from foscat_like.datasets import load_texture, lognormal_field
    if name == "gaussian":     # spectrum |k|^-2, std 1; drawn before the noise: a new field per --seed
        k = np.hypot(*np.meshgrid(np.fft.fftfreq(size) * size, np.fft.fftfreq(size) * size, indexing="ij"))
        truth = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size))) * np.maximum(k, 1) ** -1.0))
        truth = truth / truth.std()
    else:   # the field's own stream must not be the noise's: lognormal_field(size, 1) draws from
        # default_rng(1), which --seed 1 gave the noise too (noise correlated with the signal: cov 0.55)
        truth = lognormal_field(size, LOGNORMAL_SEED) if name == "lognormal" else load_texture(name, size)
    data = truth + sigma * rng.standard_normal(truth.shape)
    noise = sigma * rng.standard_normal((draws,) + truth.shape)
    wiener = wiener_filter(data, smooth_power(truth), sigma ** 2)
    return "2d", truth, data, noise, wiener, {"ps": power_spectrum_error, "minkowski": minkowski_error,
                                              "ks": histogram_ks}


def band_diagnostics(grid: str, truth, data, noise, post, checkpoint: str) -> dict:
    """Per band (``grid.band_split``), where the calibration comes from: the truth's error power
    over the simulated errors' (``e_true / e_sim``: 1 when calibrated), the same for the Wiener
    estimate alone (``w_true / w_sim``) and the separation alone (``p_true / p_sim``), the truth's
    power over the separation's (``s / s_hat``) and over the prior draws' (``s / s_prior``), the
    prior draws' power over their own separations' (``s_prior / p_prior``: the loss the
    simulations see) and the signal-to-noise power ratio of the band. ``e_hat / e_sim``: the
    truth's error power as the data's residual tells it, without the truth (``P(d - m(d))`` minus
    the simulations' mean ``P(d' - m(d')) - P(e')``; the simulations' noise is ``noise[k % Kn]``,
    as ``sample_separation`` draws it). Coverages (68% / 95%) with the simulated errors rescaled
    band by band: ``oracle``, to the truth's power over the prior draws' (a prior with the truth's
    band powers, to first order); ``oracle_error``, to the truth's own error power
    (``e_true / e_sim``: the best a band-by-band calibration can do); ``residual``, to
    ``e_hat / e_sim`` (what the data say)."""
    import foscat_like as fl
    from foscat_like.optim.posterior import Posterior
    g = fl.funct(grid=grid).grid
    sims = torch.load(checkpoint, weights_only=False)["sims"]
    field = lambda f: torch.as_tensor(np.asarray(f, dtype=np.float64)).reshape((-1,) + truth.shape)
    each = lambda f: (g.band_split(field(f)) ** 2).flatten(2).mean(-1).numpy()     # (N, nb)
    power = lambda f: each(f).mean(0)
    s_prior, p_prior = (np.concatenate([x[i].numpy() for x in sims.values()]) for i in range(2))
    w_prior = np.concatenate([g.wiener(field(s + noise[k % len(noise)]), field(np.delete(noise, k % len(noise), 0)))
                              .numpy() for k, s in enumerate(s_prior)])
    w = g.wiener(field(data), field(noise))[0].numpy()
    e_sim = post.samples - post.estimate
    r_sim = e_sim + noise[np.arange(len(e_sim)) % len(noise)]
    e_hat = power(data - post.estimate) - (each(r_sim) - each(e_sim)).mean(0)
    out = {"e_true/e_sim": power(truth - post.estimate) / power(e_sim),
           "e_hat/e_sim": e_hat / power(e_sim),
           "w_true/w_sim": power(truth - w) / power(s_prior - w_prior),
           "p_true/p_sim": power(truth - post.separated) / power(s_prior - p_prior),
           "s/s_hat": power(truth) / power(post.separated), "s/s_prior": power(truth) / power(s_prior),
           "s_prior/p_prior": power(s_prior) / power(p_prior), "snr": power(truth) / power(noise)}

    def rescaled(ratio):
        f = np.sqrt(np.clip(ratio, 0.05, 20))
        f[0] = 1.0                                               # the mean
        e = (g.band_split(field(e_sim)).numpy() * f[None, :, None, None]).sum(1)
        p = Posterior(post.estimate + e, post.estimate)
        return [p.coverage(truth, 0.68), p.coverage(truth, 0.95)]
    bands = {k: [float(x) for x in v[1:]] for k, v in out.items()}     # band 0, the mean, left out
    return {**bands, "oracle": rescaled(out["s/s_prior"]), "oracle_error": rescaled(out["e_true/e_sim"]),
            "residual": rescaled(out["e_hat/e_sim"])}


def _show(axes, panels: list, limits, std_panel: int = 5) -> None:
    """``panels [(title, image)]`` on ``axes``: grey at the truth's ``limits``, the std map
    (panel ``std_panel``) in its own colour scale."""
    for i, (a, (title, img)) in enumerate(zip(axes, panels)):
        std = i == std_panel
        a.imshow(img, cmap="magma" if std else "gray", vmin=None if std else limits[0], vmax=None if std else limits[1])
        a.set_title(title, fontsize=10)


def figure(path: str, key: str, truth, data, wiener, post, cov: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [("truth", truth), ("data", data), ("Wiener (true spectrum)", wiener),
              ("posterior mean", post.mean), ("one sample", post.samples[0]), ("posterior std", post.std)]
    fig, ax = plt.subplots(1, 6, figsize=(18, 3.8))
    _show(ax, panels, np.percentile(truth, [1, 99]))
    for a in ax:
        a.axis("off")
    fig.suptitle(f"{key}: fl.separate(..., n_samples={post.samples.shape[0]}); the truth "
                 f"is inside the 68% / 95% intervals at {100 * cov['68']:.0f}% / {100 * cov['95']:.0f}% of pixels")
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(path, dpi=80)
    print("wrote", path)


def _lifts(post) -> list | None:
    """The prior draws' band-power factors (``optim.prior_power``), their mean over the draws per band."""
    return None if post.prior_power is None else [round(float(x), 3) for x in post.prior_power.mean(0)]


def coverages(post, truth, where=None) -> dict:
    """The truth's coverage by the 68% and 95% intervals (``"68"``, ``"95"``: the default,
    ``method="simulated"``; ``"68_student"``, ``"95_student"``: Gaussian errors' ``mean +- t std``)
    and the two methods' half widths in units of the std (``"q68"``, ``"q68_student"``, ...);
    the interval score of the default intervals (``"score68"``, ``"score95"``: width plus
    ``2 / alpha`` times the miss, per pixel; a proper score, lower is better: it rewards
    coverage and narrowness together, Gneiting & Raftery 2007) and ``"std_corr"``, the correlation
    of the std map with the truth's ``|error|`` (0: the error bars do not say where the errors are)."""
    out = {}
    sel = (lambda a: a) if where is None else (lambda a: a[np.asarray(where, dtype=bool)])
    for level in (0.68, 0.95):
        for method, tag in (("simulated", ""), ("student", "_student")):
            out[f"{round(100 * level)}{tag}"] = post.coverage(truth, level, where, method)
            out[f"q{round(100 * level)}{tag}"] = post.multiplier(level, method)
        lo, hi = (sel(a) for a in post.interval(level))
        y, alpha = sel(np.asarray(truth, dtype=np.float64)), 1 - level
        miss = np.maximum(lo - y, 0) + np.maximum(y - hi, 0)
        out[f"score{round(100 * level)}"] = float(np.mean(hi - lo + 2 / alpha * miss))
    out["std_corr"] = float(np.corrcoef(np.abs(sel(truth - post.mean)).ravel(), sel(post.std).ravel())[0, 1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="+", default=["brick:64:1", "gravel:64:1", "grass:64:1", "brick:64:0.5",
                                                    "brick:64:2", "wmap:32:1"])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0, help="seed of the noise (data and draws): other seeds "
                    "are held-out noise realisations of the same fields")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--n-iter", type=int, default=3)
    ap.add_argument("--draws", type=int, default=16)
    ap.add_argument("--figure", default=None, help="picture of the first case (a planar one); with "
                    "--inpainting, of the three textures' 32² holes at (48,48)")
    ap.add_argument("--json", default=None, help="results file name (benchmarks/results/NAME.json; default "
                    "posterior, posterior_inpainting or posterior_pol)")
    ap.add_argument("--keep", default=None, help="directory for the runs' checkpoints (a rerun reuses them)")
    ap.add_argument("--inpainting", action="store_true", help="the inpainting posterior instead "
                    "(benchmarks/inpainting.py's holes; writes posterior_inpainting.json)")
    ap.add_argument("--polarisation", type=int, nargs="*", metavar="NSIDE", default=None,
                    help="the spin-2 (Q, U) posterior of polarised lognormal skies at these nsides "
                         "instead (SNR 1; writes posterior_pol.json)")
    ap.add_argument("--no-local", action="store_true", help="ablation: the simulated errors as drawn, their "
                    "local amplitude not moved to the data's estimate (optim.local_errors)")
    ap.add_argument("--no-lift", action="store_true", help="ablation: prior draws at the separation's band powers")
    ap.add_argument("--bands", action="store_true", help="also the calibration band by band (planar cases): "
                    "the truth's error power against the simulated errors', and the powers behind it")
    a = ap.parse_args()
    import foscat_like as fl
    if a.no_local:
        from foscat_like.optim import local_errors
        local_errors.transplant = lambda grid, errors, *rest, **kw: (errors, 0.0)
    if a.no_lift:
        from foscat_like.optim import prior_power
        prior_power.amplitudes = lambda *args, **kw: None
    if a.inpainting:
        return inpainting(a)
    if a.polarisation is not None:
        return polarisation(a, a.polarisation or [16])
    rows, results = [], {}
    cols = ["case", "method", "rms", "ps", "minkowski", "ks", "scat", "cover68", "cover95", "student68", "student95",
            "score95", "std_corr", "time_s"]
    for spec in a.cases:
        name, size, snr = spec.split(":")
        got = case(name, int(size), 1 / float(snr), a.draws, np.random.default_rng(a.seed))
        if got is None:
            print(spec, "skipped: ../shared/data missing")
            continue
        grid, truth, data, noise, wiener, metrics = got
        key = f"{name}_{size}_snr{snr}"
        t = time.perf_counter()
        ck = None if a.keep is None else os.path.join(a.keep, key + ".pt")
        if a.bands and ck is None:
            ck = os.path.join(tempfile.mkdtemp(), key + ".pt")
        post = fl.separate(data, noise, grid=grid, n_samples=a.samples, NUM_EPOCHS=a.epochs, n_iter=a.n_iter,
                           progress=False, checkpoint=ck)
        dt = time.perf_counter() - t
        op = fl.funct(grid=grid)
        score = lambda est: {"rms": float(np.sqrt(np.mean((est - truth) ** 2))),
                             **{m: float(f(est, truth)) for m, f in metrics.items()},
                             "scat": scat_distance(op, est, truth)}
        cov = coverages(post, truth)
        per_sample = [score(s) for s in post.samples]
        g = op._grid_for(None, None)          # the empirical Wiener filter (spectra from the data and draws)
        emp = g.wiener(torch.as_tensor(data)[None], torch.as_tensor(noise))[0].numpy()
        results[key] = {"wiener": score(wiener), "wiener_empirical": score(emp), "separated": score(post.separated),
                        "estimate": score(post.estimate), "mean": score(post.mean),
                        "sample_median": {m: float(np.median([r[m] for r in per_sample])) for m in per_sample[0]},
                        "samples": per_sample, "coverage": cov, "time_s": dt, "std_mean": float(post.std.mean()),
                        "local": post.local, "prior_power": _lifts(post)}
        for method in ("wiener", "wiener_empirical", "separated", "estimate", "mean", "sample_median"):
            row = {"case": key, "method": method, **results[key][method]}
            if method == "mean":
                row.update(cover68=cov["68"], cover95=cov["95"], student68=cov["68_student"],
                           student95=cov["95_student"], score95=cov["score95"], std_corr=cov["std_corr"], time_s=dt)
            rows.append(row)
        print_table(rows[-6:], cols)
        if a.bands and grid == "2d":
            diag = results[key]["bands"] = band_diagnostics(grid, truth, data, noise, post, ck)
            per_band = [k for k in diag if k not in ("oracle", "oracle_error", "residual")]
            print_table([{"band": b + 1, **{k: f"{diag[k][b]:.2f}" for k in per_band}}
                         for b in range(len(diag["snr"]))], ["band", *per_band])
            for k in ("oracle", "oracle_error", "residual"):
                print("coverage 68%% / 95%% with the simulated errors rescaled (%s): %.3f / %.3f" % (k, *diag[k]))
        if a.figure and grid == "2d" and spec == a.cases[0]:
            figure(a.figure, key, truth, data, wiener, post, cov)
    print()
    print_table(rows, cols)
    print("wrote", write_json(a.json or "posterior", {"samples": a.samples, "epochs": a.epochs, "n_iter": a.n_iter, "seed": a.seed,
                                            "draws": a.draws, "results": results}))


def polarisation(a, nsides: list[int]) -> None:
    """``separate(qu + n, draws, spin=2, n_samples=K)`` against the truth: pixel RMS and the E and B
    spectra's errors (RMS log10 ratio, l >= 4) of the empirical Wiener filter (Q and U apart), the
    separation, the estimate and one sample (median over the samples); coverage of Q and U."""
    import foscat_like as fl
    from foscat_like.healpix.spectra import cl_error, wiener_nest
    from healpix_fidelity import polarised
    rows, results = [], {}
    pcols = ["case", "method", "rms", "cl_EE", "cl_BB", "cover68", "cover95", "student68", "student95", "time_s"]
    for nside in nsides:
        truth = polarised(nside, 0)
        rng = np.random.default_rng(1)
        data = truth + rng.standard_normal(truth.shape)
        draws = rng.standard_normal((a.draws,) + truth.shape)
        t = time.perf_counter()
        post = fl.funct().separate(data, draws, spin=2, n_samples=a.samples, NUM_EPOCHS=a.epochs,
                                   n_iter=a.n_iter, progress=False)
        dt = time.perf_counter() - t
        g = fl.funct().grid
        eb = lambda m: g.spin_to_scalars(torch.as_tensor(m)).numpy()
        t_eb = eb(truth)
        score = lambda est: (lambda e: {"rms": float(np.sqrt(np.mean((est - truth) ** 2))),
                                        "cl_EE": float(cl_error(e[0], t_eb[0], lmin=4)),
                                        "cl_BB": float(cl_error(e[1], t_eb[1], lmin=4))})(eb(est))
        per_sample = [score(x) for x in post.samples]
        key = f"pol_{nside}_snr1"
        r = {"wiener_empirical": score(wiener_nest(data, draws.reshape(-1, truth.shape[1]))),
             "separated": score(post.separated), "estimate": score(post.estimate),
             "sample_median": {m: float(np.median([x[m] for x in per_sample])) for m in per_sample[0]},
             "data": score(data), "coverage": coverages(post, truth),
             "time_s": dt, "local": post.local, "prior_power": _lifts(post)}
        results[key] = r
        for method in ("data", "wiener_empirical", "separated", "estimate", "sample_median"):
            rows.append({"case": key, "method": method, **r[method],
                         **({"cover68": r["coverage"]["68"], "cover95": r["coverage"]["95"],
                             "student68": r["coverage"]["68_student"], "student95": r["coverage"]["95_student"],
                             "time_s": dt}
                            if method == "estimate" else {})})
        print_table(rows[-5:], pcols)
    print()
    print_table(rows, pcols)
    print("wrote", write_json(a.json or "posterior_pol", {"samples": a.samples, "epochs": a.epochs, "n_iter": a.n_iter,
                                                 "draws": a.draws, "results": results}))


def inpainting_figure(path: str, rows: list) -> None:
    """One row per planar hole ``(case, truth, hole, post)``: the data with the hole, kriging (the
    posterior mean), two samples, the std map and the truth, zoomed on the hole's surroundings."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(len(rows), 6, figsize=(16, 2.9 * len(rows)), squeeze=False)
    for r, (key, truth, h, post) in enumerate(rows):
        ys, xs = np.nonzero(h)
        m = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
        win = (slice(max(0, ys.min() - m), ys.max() + m + 1), slice(max(0, xs.min() - m), xs.max() + m + 1))
        data = np.where(h, np.nan, truth)
        panels = [("data (hole blank)", data), ("kriging = posterior mean", post.mean), ("sample 1", post.samples[0]),
                  ("sample 2", post.samples[1]), ("posterior std", post.std), ("truth", truth)]
        _show(ax[r], [(title if r == 0 else "", img[win]) for title, img in panels],
              np.percentile(truth, [1, 99]), std_panel=4)
        for a in ax[r]:
            a.set_xticks([]); a.set_yticks([])
        ax[r][0].set_ylabel(f"{key}\n68% / 95%: {100 * post.coverage(truth, 0.68, h):.0f}% / "
                            f"{100 * post.coverage(truth, 0.95, h):.0f}%", fontsize=9)
    fig.suptitle(f"fl.funct().inpaint(x, hole, n_samples={rows[0][3].samples.shape[0]}): each sample is kriging plus "
                 "a simulated kriging error; the truth's coverage inside the hole at left")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=80)
    print("wrote", path)


def calibrated_spread(post, where) -> dict:
    """How far one hole's coverage strays when the intervals are exactly calibrated: each draw
    in turn taken as the truth (it is the estimate plus one error drawn as the others are) and
    covered by the posterior of the ``K - 1`` others. The pixels of a hole share their draws and
    their errors are correlated, so this spread is wide for small ``K`` and small holes."""
    from foscat_like.optim.posterior import Posterior
    K = post.samples.shape[0]
    out = {}
    for level in (0.68, 0.95):
        c = [Posterior(np.delete(post.samples, j, 0), post.estimate).coverage(post.samples[j], level, where)
             for j in range(K)]
        out[f"loo{round(level * 100)}"] = [float(v) for v in c]
    return out


def inpainting(a) -> None:
    """``fl.funct().inpaint(truth, hole, n_samples=K)`` on the holes of benchmarks/inpainting.py:
    coverage of the truth in the hole, RMS of kriging, of the mean and of one sample, and how
    many of one sample's five hole figures are inside their floor (``foscat_like.holes``)."""
    import foscat_like as fl
    from foscat_like import holes
    from inpainting import cases
    rows, results, shown = [], {}, []
    for c in cases():
        if "cells" in c:
            continue
        t = time.perf_counter()
        ck = None if a.keep is None else os.path.join(a.keep, "inpaint_%d.pt" % len(rows))
        post = fl.funct(grid=c["grid"]).inpaint(c["truth"], c["hole"].astype(float), n_samples=a.samples,
                                                nstep=c["nstep"], NUM_EPOCHS=a.epochs, progress=False, checkpoint=ck)
        dt = time.perf_counter() - t
        h, x = c["hole"], c["truth"]
        rms = lambda est: float(np.sqrt(np.mean((est - x)[h] ** 2)))
        floor = holes.region_floor(x, h, c["regions"])
        inside = [sum(holes.indistinguishable(holes.hole_report(s, x, h), floor).values()) for s in post.samples]
        cov = coverages(post, x, h)
        r = {"cover68": cov["68"], "cover95": cov["95"], "student68": cov["68_student"], "student95": cov["95_student"],
             "rms_kriging": rms(post.estimate), "rms_mean": rms(post.mean),
             "rms_sample": float(np.median([rms(s) for s in post.samples])), "truth_std": float(x[h].std()),
             "figures_inside": float(np.median(inside)), "time_s": dt, **calibrated_spread(post, h)}
        results[c["case"]] = r
        if a.figure and "32² hole at (48,48)" in c["case"]:
            shown.append((c["case"].split(" ")[0] + ", 32² hole", x, h, post))
        rows.append({"case": c["case"], **{k: v for k, v in r.items() if not k.startswith("loo")},
                     "loo68 (range)": "%.2f-%.2f" % (min(r["loo68"]), max(r["loo68"]))})
        print_table(rows[-1:], list(rows[-1]))
    print()
    print_table(rows, list(rows[0]))
    for level in (68, 95):
        real = [r[f"cover{level}"] for r in results.values()]
        loo = np.concatenate([r[f"loo{level}"] for r in results.values()])
        print(f"coverage {level}% over the holes: mean {np.mean(real):.3f}, per hole {min(real):.2f}-{max(real):.2f} "
              f"(sd {np.std(real):.3f}, {np.mean(np.abs(np.array(real) - level / 100) <= 0.05):.0%} within 5 points); "
              f"if calibrated (each draw as the truth): sd {np.std(loo):.3f}, "
              f"{np.mean(np.abs(loo - level / 100) <= 0.05):.0%} within 5 points")
    if shown:
        inpainting_figure(a.figure, shown)
    print("wrote", write_json(a.json or "posterior_inpainting", {"samples": a.samples, "epochs": a.epochs, "results": results}))


if __name__ == "__main__":
    main()
