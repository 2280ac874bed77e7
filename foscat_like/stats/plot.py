"""Comparing statistics by eye: S1, S2 against j, |S3| and |S4| against their (j) index."""
from __future__ import annotations

import numpy as np


def _iso(st):
    return st.iso_mean() if st.angular == "full" else st


def plot_scatcov(stats: list, labels=("this", "other"), path: str | None = None):
    """One row of four panels; each ScatCov is drawn averaged over batch, masks and angles."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for k, st in enumerate(stats):
        iso = _iso(st)
        lab = labels[k] if k < len(labels) else f"stats {k}"
        s1 = iso.S1.detach().cpu().numpy().reshape(-1, iso.S1.shape[-1]).mean(0)
        s2 = iso.S2.detach().cpu().numpy().reshape(-1, iso.S2.shape[-1]).mean(0)
        s3 = np.abs(iso.S3.detach().cpu().numpy()).reshape(-1, *iso.S3.shape[2:]).mean(0).mean(-1)
        s4 = np.abs(iso.S4.detach().cpu().numpy()).reshape(-1, *iso.S4.shape[2:]).mean(0).mean((-1, -2))
        log = st.norm is None
        j = np.arange(len(s1))
        for ax, y, name in ((axes[0], s1, "S1"), (axes[1], s2, "S2")):
            ax.plot(j, y, "o-", label=lab)
            ax.set_xlabel("j"); ax.set_title(name + ("" if log else " (log)"))
            if log and np.all(y > 0):
                ax.set_yscale("log")
        axes[2].plot(s3, "o-", label=lab); axes[2].set_title("|S3| by (j2<=j3)")
        axes[3].plot(s4, "o-", label=lab); axes[3].set_title("|S4| by (j1<=j2<=j3)")
        for ax in axes[2:]:
            if np.all(ax.lines[-1].get_ydata() > 0):
                ax.set_yscale("log")
    axes[0].legend()
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=80)
    return fig
