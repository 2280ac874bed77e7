"""Prior draws whose band powers are drawn from their posterior given the data.

The posterior's prior draws (``optim.posterior``) are syntheses with the separation's statistics.
Where the signal is below the noise the data hardly say how much power it has, and the
separation's band power ``P(s_hat)`` is one guess: on Gaussian ``|k|^-2`` fields at SNR 0.5
(32²) it kept 1/6 to 1/2 of one field's power in the bands below the noise. With every draw at
that guess, the simulated errors there (the signal itself, where the estimate is near 0) were
too small: 68% intervals covered 43-66% on six such fields (README).

Here each simulation ``k`` draws its own band powers ``P_s,k`` from their posterior and
multiplies its prior draw's bands (``grid.band_split``) by ``sqrt(P_s,k / P(s_hat))``: the draws
keep their look and their statistics' shape, and the simulated errors then hold the uncertainty
of the signal's power as well as that of the signal given its power (a hierarchical posterior).
Per band, with ``N`` modes (``grid.band_modes``, times the observed fraction of the pixels):

* likelihood: the data's band power scatters as ``P_d ~ (P_s + P_n) Gamma(N / 2) / (N / 2)``
  (a Gaussian field's ``chi^2_N / N``; ``P_n`` the noise draws' mean);
* prior: ``ln P_s ~ Normal(ln P(s_hat), TAU^2)``, the separation's band power known within a
  factor ``exp(TAU)``. ``TAU = 0.8`` is measured: the RMS of ``ln(P(s) / P(s_hat))`` over the
  bands below the noise of ten benchmark runs is 0.71-0.94 (0.42 above the noise).

Where the signal dominates and the band has many modes, the likelihood pins ``P_s`` (the draws
stay within a few percent of the data's own power); below the noise the prior's spread remains.
A flat or Jeffreys prior instead (tried: the truncated inverse gamma) puts the draws far above
the truth in the bands the data cannot see (gravel 64² at SNR 0.5: 3-6x in its top bands,
where the separation was 2-3x above the truth already), and the combination's gains with them.
Powers are taken over the observed pixels. The mean (band 0) is left as it is.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import bands
from ..checks import check_number, check_positive_int
from ..grid import Grid

TAU = 0.8        # the prior's spread of ln P_s about the separation's band power (README: measured)
GRID = 4097      # values of ln P_s on which a band's posterior is sampled


def band_power_draws(p_d: np.ndarray, p_n: np.ndarray, p_prior: np.ndarray, modes: np.ndarray,
                     n_draws: int, rng: np.random.Generator, tau: float = TAU) -> np.ndarray:
    """Draws ``(n_draws, nb)`` of the signal's band power ``P_s`` from its posterior (module
    docstring): prior ``ln P_s ~ Normal(ln p_prior, tau^2)``, likelihood of the data's band
    power ``p_d ~ (P_s + p_n) Gamma(N / 2) / (N / 2)``; sampled by its inverse CDF on a grid of
    ``GRID`` values of ``ln P_s`` over ``+- 6 tau`` about the prior's centre (a likelihood
    sharper than the grid's step puts the draws in one step: 0.3% in power at ``tau = 0.8``;
    one peaking beyond ``6 tau`` puts them at that edge: the prior rules it out). ``p_d``,
    ``p_n``, ``p_prior``, ``modes (nb,)``: the data's, the noise's and the prior's band powers
    (``p_prior > 0``) and the bands' numbers of modes."""
    p_d, p_n, p_prior, modes = (np.asarray(v, dtype=np.float64) for v in (p_d, p_n, p_prior, modes))
    for name, v in (("p_n", p_n), ("p_prior", p_prior), ("modes", modes)):
        if v.shape != p_d.shape or v.ndim != 1:
            raise ValueError(f"{name} must have the shape of p_d, (nb,); got {v.shape} and {p_d.shape}")
    if not np.all(p_prior > 0) or not np.all(np.isfinite(p_prior)):
        raise ValueError(f"p_prior must be finite and > 0 in every band; got {p_prior}")
    if check_number("tau", tau, 0.0) == 0:
        raise ValueError("tau must be > 0; got 0")
    n_draws = check_positive_int("n_draws", n_draws)
    a = np.maximum(modes, 1.0)[:, None] / 2
    z = np.linspace(-6, 6, GRID)[None]                                   # prior standard scores
    x = np.log(p_prior)[:, None] + tau * z                              # ln P_s, (nb, GRID)
    t = np.exp(x) + p_n[:, None]                                        # P_s + P_n
    logp = -0.5 * z ** 2 - a * (np.log(t) + p_d[:, None] / t)
    cdf = np.cumsum(np.exp(logp - logp.max(1, keepdims=True)), 1)
    u = rng.uniform(size=(n_draws, len(a))) * cdf[:, -1]
    step = x[:, 1] - x[:, 0]
    cell = np.stack([np.searchsorted(c, ub) for c, ub in zip(cdf, u.T)], 1).clip(0, GRID - 1)       # (n_draws, nb)
    draw = x[np.arange(len(a)), cell] - step / 2 + step * rng.uniform(size=cell.shape)    # uniform in the step
    return np.exp(draw)


def amplitudes(grid: Grid, d: torch.Tensor, noise: torch.Tensor, s_hat: torch.Tensor, n_samples: int,
               seed: int, seen=1.0) -> torch.Tensor:
    """Per simulation and band ``(n_samples, nb)``, the factor on a prior draw's amplitude,
    ``sqrt(P_s,k / P(s_hat))`` (module docstring); 1 for the mean and for bands ``s_hat`` leaves
    empty. ``d``, ``s_hat (C, *S)``, noise draws ``(Kn C, *S)`` (components as scalar rows),
    ``seen`` 1 or ``(1, *S)``; ``seed``: the draws' own stream (``numpy`` ``(seed, 1)``)."""
    power = lambda x: bands.cross(*(grid.band_split(x * seen),) * 2).double().cpu().numpy()
    p_s, p_d = power(s_hat), power(d)
    p_n = power(noise) * (d.shape[0] / noise.shape[0])
    frac = float(torch.as_tensor(seen, dtype=torch.float64).mean())
    modes = grid.band_modes(grid.spatial_shape(d)).double().cpu().numpy() * d.shape[0] * frac
    use = p_s > 0                                  # a band s_hat leaves empty stays so
    ratio = np.ones((n_samples, len(p_s)))
    if use.any():
        rng = np.random.default_rng((int(seed), 1))
        ratio[:, use] = band_power_draws(p_d[use], p_n[use], p_s[use], modes[use], n_samples, rng) / p_s[use]
    ratio[:, 0] = 1.0
    return torch.as_tensor(np.sqrt(ratio), dtype=d.dtype, device=d.device)


def lift(grid: Grid, s: torch.Tensor, amp: torch.Tensor | None) -> torch.Tensor:
    """A prior draw ``s (C, *S)`` with band ``b`` multiplied by ``amp[b]`` (``None``: ``s``)."""
    if amp is None:
        return s
    return bands.combine([grid.band_split(s)], amp[None])
