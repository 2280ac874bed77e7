"""Figures of the classic transform: the scattering disk and the filter bank.

matplotlib is imported lazily so the transforms work without a display.
"""
from __future__ import annotations

import numpy as np


def _coeff_angles(L: int) -> np.ndarray:
    """Display angle of orientation index ``l`` (Kymatio's clockwise order)."""
    return (int(L - L / 2 - 1) - np.arange(L)) * np.pi / L


def plot_scattering_disk(S: np.ndarray, J: int, L: int, image: np.ndarray | None = None,
                         path: str | None = None, cmap: str = "gray_r"):
    """Bruna & Mallat's scattering-disk display of 2D scattering coefficients.

    Parameters
    ----------
    S : array ``(C, h, w)`` from ``Scattering2D(J, shape, L, max_order=2)`` on one image.
    J, L : the transform's parameters.
    image : optional input image shown in the first panel.
    path : if given, the figure is saved there (PNG, PDF...).

    Each spatial position gets a polar plot: first order at radius ``2^-(j1+1)``
    and angle ``theta1`` (both half-planes, by the modulus' central symmetry);
    second order subdivides each first-order sector by ``j2`` (radius) and
    ``theta2`` (angle). Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib import gridspec
    from matplotlib.colors import Normalize

    S = np.asarray(S)
    C = 1 + J * L + L * L * J * (J - 1) // 2
    if S.ndim != 3 or S.shape[0] != C:
        raise ValueError(f"S must have shape ({C}, h, w) for J={J}, L={L} (order 2); got {S.shape}")
    rows, cols = S.shape[1:]
    o1, o2 = S[1:1 + J * L], S[1 + J * L:]
    cm = plt.get_cmap(cmap)
    n1, n2 = Normalize(o1.min(), o1.max()), Normalize(o2.min(), o2.max())
    ang = _coeff_angles(L)
    npanel = 3 if image is not None else 2
    fig = plt.figure(figsize=(5 * npanel, 5))
    gs = gridspec.GridSpec(1, npanel, wspace=0.1)
    if image is not None:
        ax = fig.add_subplot(gs[0])
        ax.imshow(image, cmap="gray", interpolation="nearest")
        ax.set_title("input"); ax.axis("off")
    for panel, (coef, norm, title) in enumerate([(o1, n1, "order 1"), (o2, n2, "order 2")]):
        sub = gridspec.GridSpecFromSubplotSpec(rows, cols, subplot_spec=gs[npanel - 2 + panel])
        for r in range(rows):
            for c in range(cols):
                ax = fig.add_subplot(sub[r, c], projection="polar")
                v = coef[:, r, c]
                if panel == 0:
                    for j in range(J):
                        for l in range(L):
                            color = cm(norm(v[l + j * L]))
                            for off in (0, np.pi):
                                ax.bar(ang[l] + off, 2.0 ** (-j - 1), width=np.pi / L,
                                       bottom=2.0 ** (-j - 1), color=color)
                else:
                    idx = 0
                    for j1 in range(J):
                        for l1 in range(L):
                            for j2 in range(j1 + 1, J):
                                for l2 in range(L):
                                    color = cm(norm(v[idx])); idx += 1
                                    radius = 2.0 ** (-j1 - 1)
                                    h = radius / (J - 1 - j1)
                                    a = ang[l1] + (L // 2 - l2 - 0.5) * np.pi / L ** 2
                                    for off in (0, np.pi):
                                        ax.bar(a + off, h, width=np.pi / L ** 2,
                                               bottom=radius + h * (J - 1 - j2), color=color)
                ax.set_axis_off(); ax.grid(False)
        fig.text((npanel - 2 + panel + 0.5) / npanel, 0.93, title, ha="center")
    if path:
        fig.savefig(path, dpi=80, bbox_inches="tight")
    return fig


def littlewood_paley_2d(scattering) -> np.ndarray:
    """Littlewood-Paley sum ``|phi|^2 + sum_{j,l} (|psi_jl(w)|^2 + |psi_jl(-w)|^2)/2``
    on the padded grid of a :class:`Scattering2D` (shape ``(M, N)``)."""
    fb = scattering.filters
    lp = fb.phi[0] ** 2
    for j in range(fb.J):
        p = fb.psi[j][0]
        flipped = np.roll(p[:, ::-1, ::-1], 1, axis=(1, 2))  # psi(-w)
        lp = lp + 0.5 * (p ** 2 + flipped ** 2).sum(axis=0)
    return lp


def plot_filter_bank(scattering, path: str | None = None, verbose: bool = True):
    """Filters in Fourier and their Littlewood-Paley sum, for Scattering1D or Scattering2D.

    Prints the Littlewood-Paley sum's min and max (a frame when both are
    close to 1). Returns ``(figure, (lp_min, lp_max))``.
    """
    import matplotlib.pyplot as plt

    if hasattr(scattering, "L"):   # 2D
        fb = scattering.filters
        lp = littlewood_paley_2d(scattering)
        fig, axes = plt.subplots(2, fb.J + 1, figsize=(3 * (fb.J + 1), 6), squeeze=False)
        for j in range(fb.J):
            axes[0, j].imshow(np.fft.fftshift(fb.psi[j][0].sum(axis=0)), cmap="viridis")
            axes[0, j].set_title(f"sum_l psi_(j={j})")
            axes[1, j].imshow(np.fft.fftshift(np.real(np.fft.ifft2(fb.psi[j][0][0]))), cmap="RdBu_r")
            axes[1, j].set_title(f"Re psi_(j={j}, l=0), space")
        axes[0, -1].imshow(np.fft.fftshift(lp), cmap="magma")
        axes[0, -1].set_title("Littlewood-Paley sum")
        axes[1, -1].imshow(np.fft.fftshift(fb.phi[0]), cmap="viridis")
        axes[1, -1].set_title("phi_J")
        for ax in axes.ravel():
            ax.axis("off")
    else:                          # 1D
        fb = scattering.filters
        freqs = np.fft.fftfreq(fb.N)
        order = np.argsort(freqs)
        lp = fb.phi[0] ** 2 + sum(0.5 * (w.levels[0] ** 2 + np.roll(w.levels[0][::-1], 1) ** 2)
                                   for w in fb.psi1)
        fig, ax = plt.subplots(figsize=(8, 4))
        for w in fb.psi1:
            ax.plot(freqs[order], w.levels[0][order], lw=0.8)
        ax.plot(freqs[order], fb.phi[0][order], "k", lw=1.2, label="phi")
        ax.plot(freqs[order], lp[order], "r--", lw=1.2, label="Littlewood-Paley")
        ax.set_xlabel("frequency (cycles / sample)"); ax.legend()
    lo, hi = float(lp.min()), float(lp.max())
    if verbose:
        print(f"Littlewood-Paley sum: min {lo:.4f}, max {hi:.4f}")
    if path:
        fig.savefig(path, dpi=80, bbox_inches="tight")
    return fig, (lo, hi)
