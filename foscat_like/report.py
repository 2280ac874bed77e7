"""Comparison pictures: two fields side by side with spectra, histograms, Minkowski curves.

Used by the examples and by ``foscat-like compare`` / ``synth --report``.
Planar 2D fields get images, radially averaged power spectra and Minkowski
functionals; HEALPix maps get Mollweide views and angular power spectra C_l.
"""
from __future__ import annotations

import numpy as np

from . import metrics
from .healpix.geometry import is_healpix_npix
from .healpix.spectra import cl_error, cl_nest


def _is_healpix(x: np.ndarray) -> bool:
    return x.ndim == 1 and is_healpix_npix(x.size)


def compare_numbers(a: np.ndarray, b: np.ndarray) -> dict:
    """Metrics of ``a`` against reference ``b`` (a dict of floats)."""
    std = lambda v: (v - v.mean()) / v.std()
    out = {"hist_ks": metrics.histogram_ks(std(a), std(b))}
    if a.ndim == 2:
        out.update(ps_log10_rms=metrics.power_spectrum_error(a, b), minkowski=metrics.minkowski_error(a, b))
        if a.shape[0] == a.shape[1]:
            out.update(metrics.novelty(a, b))
    elif _is_healpix(a):
        out.update(cl_log10_rms=cl_error(a, b), minkowski=metrics.minkowski_error(a, b))
    return out


def comparison_figure(a: np.ndarray, b: np.ndarray, labels=("synthesis", "target"), path: str | None = None,
                      title: str | None = None):
    """Figure comparing field ``a`` with reference ``b``; numbers in the title. Returns the figure."""
    import matplotlib.pyplot as plt

    a, b = np.asarray(a, float), np.asarray(b, float)
    nums = compare_numbers(a, b)
    healpix = _is_healpix(a)
    ncol = 4 if a.ndim == 2 else 3
    fig = plt.figure(figsize=(4.2 * ncol, 4))
    if healpix:
        import healpy as hp
        for i, (m, lab) in enumerate(((b, labels[1]), (a, labels[0]))):
            hp.mollview(m, nest=True, fig=fig.number, sub=(1, ncol + 1, i + 1), title=lab, cbar=False)
        ax = fig.add_subplot(1, ncol + 1, 3)
        for m, lab in ((b, labels[1]), (a, labels[0])):
            cl = cl_nest(m)
            ax.loglog(np.arange(2, len(cl)), cl[2:], label=lab)
        ax.set_xlabel("l"); ax.set_title("C_l"); ax.legend()
        axh = fig.add_subplot(1, ncol + 1, 4)
    elif a.ndim == 2:
        for i, (m, lab) in enumerate(((b, labels[1]), (a, labels[0]))):
            ax = fig.add_subplot(1, ncol, i + 1)
            ax.imshow(m, cmap="gray"); ax.set_title(lab); ax.axis("off")
        ax = fig.add_subplot(1, ncol, 3)
        for m, lab in ((b, labels[1]), (a, labels[0])):
            k, p = metrics.power_spectrum(m)
            ax.loglog(k, p, label=lab)
        ax.set_xlabel("|k|"); ax.set_title("power spectrum"); ax.legend()
        axh = fig.add_subplot(1, ncol, 4)
        mf_a, mf_b = metrics.minkowski_functionals(a), metrics.minkowski_functionals(b)
        for i, name in enumerate(("area", "perimeter", "Euler")):
            sc = np.abs(mf_b[i]).max() or 1.0
            axh.plot(metrics.THRESHOLDS, mf_b[i] / sc, "-", color=f"C{i}", label=f"{name} ({labels[1]})")
            axh.plot(metrics.THRESHOLDS, mf_a[i] / sc, "--", color=f"C{i}")
        axh.set_xlabel("threshold (std)"); axh.set_title("Minkowski functionals (-- " + labels[0] + ")")
        axh.legend(fontsize=7)
        axh = None
    else:
        ax = fig.add_subplot(1, ncol, 1)
        ax.plot(b, label=labels[1]); ax.plot(a, label=labels[0], alpha=0.8); ax.legend()
        ax = fig.add_subplot(1, ncol, 2)
        f = np.fft.rfftfreq(len(b))[1:]
        ax.loglog(f, np.abs(np.fft.rfft(b))[1:] ** 2, label=labels[1])
        ax.loglog(f, np.abs(np.fft.rfft(a))[1:] ** 2, label=labels[0], alpha=0.8)
        ax.set_title("power spectrum")
        axh = fig.add_subplot(1, ncol, 3)
    if axh is not None:
        bins = np.linspace(min(a.min(), b.min()), max(a.max(), b.max()), 60)
        axh.hist(b.ravel(), bins, histtype="step", density=True, label=labels[1])
        axh.hist(a.ravel(), bins, histtype="step", density=True, label=labels[0])
        axh.set_title("pixel histogram"); axh.legend()
    text = ", ".join(f"{k} {v:.3g}" for k, v in nums.items())
    fig.suptitle((title + ": " if title else "") + text, fontsize=10)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # Mollweide axes do not take part in tight_layout
        fig.tight_layout()
    if path:
        fig.savefig(path, dpi=80)
    return fig
