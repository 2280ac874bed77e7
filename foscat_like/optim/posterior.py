"""Posterior samples (separation and inpainting), by conditional simulation of an estimator's error.

For data ``d = s + n``, the sampler builds an estimate ``m(d)`` and draws its error from
simulations in which the truth is known:

1. ``s_hat``: the separation of ``d`` (``optim.separation``), a field with the signal's
   scattering statistics; ``w``: the grid's empirical Wiener estimate of ``d`` (where it has
   one), its band powers smoothed over ``SMOOTH`` octaves (one realisation's band powers scatter:
   with the unsmoothed bands the combined estimate's pixel RMS was up to 1.7% higher, on gravel
   64² at SNR 0.5; README).
2. For ``k = 1..K``: a prior draw ``s'_k``, a synthesis with ``s_hat``'s statistics (seed
   ``seed + k``), its band powers multiplied band by band to a draw of their posterior given
   the data (``optim.prior_power``: the separation's power is one guess where the signal is
   below the noise, and the data leave it uncertain there), plus a noise draw ``n'_k`` gives
   ``d'_k = s'_k + n'_k``, whose separation ``p'_k`` and Wiener estimate ``w'_k`` are computed
   as for ``d``.
3. Band by band (``grid.band_split``: rings in ``|k|``, groups of ``l`` on the sphere, the NEST
   levels' Haar bands on a ``cell_ids`` patch) the least-squares gains ``(a_b, c_b)`` of
   ``s' ~ a_b w' + c_b p'`` over the simulations give
   ``m(x) = sum_b a_b w_b(x) + c_b p_b(x)``: at least as close to the truth as either estimate
   in every band, on the simulations.
4. Sample ``k`` is ``m(d) + (s'_k - m(d'_k))``: the estimate plus one draw of its error, its
   local amplitude moved from the simulation's estimate to the data's (``optim.local_errors``:
   an error is large where the field has structure, and the data say where theirs has).

Why this is calibrated: the truth is ``m(d) + e`` and each sample ``m(d) + e'_k``, where ``e``
and ``e'_k`` are errors of the same estimator on data drawn the same way; so the truth falls
inside the samples' spread as often as one more sample would (``Posterior.interval``: ``m(d) +-
q rms(e')``, ``q`` the quantile of the draws' own errors, each standardised by the others' spread:
a non-Gaussian field's errors are heavy-tailed, and the Gaussian ``q = t_K`` over-covers at 68%).
For a Gaussian field, with ``m`` the Wiener filter, this is the exact constrained realisation
(Hoffman & Ribak 1991; the errors' local amplitude then does not depend on the estimate, and
``local_errors`` leaves them as they are up to its fit of the simulations). Least-squares gains
leave the error orthogonal to ``m`` in each band, so a sample's power is the signal's: each
sample looks like the signal, while the posterior mean ``m(d)`` has the low error. What it rests
on: the prior draws ``s'`` are statistically like ``s`` (they have the separated statistics,
and band powers as uncertain as the data leave them); where they are not (brick's morphology,
which the separated statistics do not pin), the samples inherit the difference.

Inpainting (``sample_inpainting``) is the same construction with ``m`` = kriging from the
hole's surroundings and ``d'_k = s'_k`` there (no noise): the classical conditional simulation.

Cost: ``K + 1`` separations and ``K`` syntheses (inpainting: ``K`` syntheses); a checkpoint keeps
every finished simulation; with ``funct(client=...)`` the simulations (inpainting: the prior
draws) are Dask tasks.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from .. import bands
from ..grid import Grid
from ..inputs import as_field, as_mask
from . import checkpoint as ckpt
from . import local_errors, prior_power
from .config import SeparationConfig, SynthesisConfig
from .inpaint import focus
from .separation import _noise_draws, separate
from .synthesis import synthesize

VERSION = "posterior-3 (band powers drawn, 2026-12-08)"   # the sampler's simulations; named in checkpoints
SMOOTH = 0.25    # octaves: the band powers of the Wiener estimate combined with the separation, smoothed


@dataclass
class Posterior:
    """``samples (K, *S)``; ``estimate (*S)``, the estimate ``m(d)`` (separation: the band-wise
    combination; inpainting: kriging); for a separation also ``separated (*S)``, the separation
    alone, ``gains (2, nb)`` (Wiener, separation) per band and ``local``, the exponent ``b`` of
    the errors' local amplitude (``optim.local_errors``: each simulated error scaled by
    ``(F(m(d)) / F(m(d'_k)))^(b/2)``) and ``prior_power (K, nb)``, the factor on each prior
    draw's band power (``optim.prior_power``: drawn from the band power's posterior).

    ``centred``: the samples are ``estimate`` plus independent draws of its error (the samplers
    here), so the posterior mean is ``estimate`` itself (their average tends to it, with Monte-Carlo
    noise ``std / sqrt(K)``) and ``std`` is their RMS about it (``K`` degrees of freedom). Otherwise
    (``posterior_samples``) the mean is the samples' average and ``std`` their sample std."""
    samples: np.ndarray
    estimate: np.ndarray
    separated: np.ndarray | None = None
    gains: np.ndarray | None = None
    centred: bool = True
    local: float | None = None
    prior_power: np.ndarray | None = None

    @property
    def mean(self) -> np.ndarray:
        return self.estimate

    @property
    def std(self) -> np.ndarray:
        if self.centred:
            return np.sqrt(((self.samples - self.estimate) ** 2).mean(0))
        return self.samples.std(0, ddof=1)

    def interval(self, level: float = 0.68, method: str = "simulated") -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel ``level`` interval ``(lo, hi)`` for the truth, ``mean +- q std``, the truth
        taken as one more draw.

        method : ``"simulated"`` (default): ``q`` is the ``level`` quantile of the samples' own
            standardised errors, each draw's error divided by the others' spread at its pixel
            (pooled over draws and pixels), times ``t(K) / t(K - 1)`` for the one draw fewer
            behind each of them (``t``: the Student quantiles below). Errors of a non-Gaussian field
            are heavy-tailed (large where the draw is bright, elsewhere in each draw): there
            ``mean +- t std`` covers more than ``level`` at 68%. ``"student"``: ``q = t``, the
            Gaussian errors' value (``K`` degrees of freedom when centred, else ``K - 1`` and a
            factor ``sqrt(1 + 1/K)`` for the estimated mean)."""
        half = self.multiplier(level, method) * self.std
        return self.mean - half, self.mean + half

    def multiplier(self, level: float = 0.68, method: str = "simulated") -> float:
        """``q`` of ``interval``: its half width in units of ``std``."""
        if isinstance(level, bool) or not isinstance(level, (float, int)) or not 0 < level < 1:
            raise ValueError(f"level must be a number in (0, 1); got {level!r}")
        if method not in ("simulated", "student"):
            raise ValueError(f"method must be 'simulated' or 'student'; got {method!r}")
        K = self.samples.shape[0]
        if method == "student" or K < (2 if self.centred else 3):   # no draw's error to standardise
            return self._student(level, K)
        z = self._scores()
        if z.size == 0:                                             # the draws agree everywhere
            return self._student(level, K)
        q = np.quantile(z, level, method="inverted_cdf")            # inf-safe: no interpolation
        return float(q) * self._student(level, K) / self._student(level, K - 1)

    def _student(self, level: float, K: int) -> float:
        """The Student half width of ``level`` for the truth against ``K`` draws (in ``std`` units)."""
        from scipy.stats import t as student
        dof, f = (K, 1.0) if self.centred else (K - 1, np.sqrt(1 + 1 / K))
        return float(student.ppf(0.5 + level / 2, dof) * f)

    def _scores(self, most: int = 1 << 22) -> np.ndarray:
        """``|e_k| / spread of the others`` for each draw ``k`` at the pixels where the draws differ
        (at most ``most``, a regular subset of the pixels). Centred: ``e_k = samples_k - estimate``,
        the others' RMS about it; else about the others' mean, with their sample std."""
        K = self.samples.shape[0]
        e = (self.samples - self.estimate if self.centred else self.samples - self.samples.mean(0)).reshape(K, -1)
        e = e[:, ::max(1, -(-e.size // most))]
        D = (e ** 2).sum(0)
        e, D = e[:, D > 0], D[D > 0]
        with np.errstate(divide="ignore"):       # a draw alone in differing: its score is inf
            if self.centred:
                return np.abs(e) / np.sqrt(np.maximum(D - e ** 2, 0) / (K - 1))
            rest = np.maximum(D - e ** 2 * K / (K - 1), 0) / (K - 2)      # the others' variance
            return np.abs(e) * K / (K - 1) / np.sqrt(rest)

    def coverage(self, truth, level: float = 0.68, where=None, method: str = "simulated") -> float:
        """Fraction of pixels (``where`` True, default all) whose ``truth`` is inside ``interval``."""
        truth = np.asarray(truth, dtype=np.float64)
        if truth.shape != self.samples.shape[1:]:
            raise ValueError(f"truth must have shape {self.samples.shape[1:]}; got {truth.shape}")
        lo, hi = self.interval(level, method)
        inside = (truth >= lo) & (truth <= hi)
        if where is None:
            return float(inside.mean())
        where = np.asarray(where, dtype=bool)
        if where.shape != truth.shape or not where.any():
            raise ValueError(f"where must be a boolean mask of shape {truth.shape} with a True pixel; "
                             f"got shape {where.shape}")
        return float(inside[where].mean())


def posterior_samples(samples, truth=None) -> Posterior:
    """A ``Posterior`` from ready-made samples ``(K >= 2, *S)`` (e.g. inpainting fills:
    ``synthesis(..., grd_mask=..., synthesised_N=K)``); the estimate is their mean."""
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim < 2 or s.shape[0] < 2:
        raise ValueError(f"samples must be (K >= 2, *S); got shape {s.shape}")
    return Posterior(s, s.mean(0), centred=False)


def _check_n(n_samples) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1 (or None for one estimate); got {n_samples!r}")
    return int(n_samples)


def _gains(grid: Grid, truth: torch.Tensor, estimates: list[torch.Tensor], seen=1.0) -> torch.Tensor:
    """Least-squares gains ``(E, nb)``: per band, ``truth ~ sum_i g_i estimates[i]``
    (fields ``(K, *S)``) over the pixels ``seen (1, *S)`` (0/1; default all). A ridge of 1e-3
    of the band's mean power keeps bands where the estimates coincide (the mean: both keep the
    data's) finite, at a 0.1% shrinkage elsewhere."""
    w = seen if isinstance(seen, float) else seen[:, None]
    tb = grid.band_split(truth) * w
    eb = [grid.band_split(e) * w for e in estimates]
    E, nb = len(eb), tb.shape[1]
    A = torch.stack([torch.stack([bands.cross(eb[i], eb[j]) for j in range(E)], -1) for i in range(E)], -2)
    y = torch.stack([bands.cross(eb[i], tb) for i in range(E)], -1)       # (nb, E)
    ridge = 1e-3 * A.diagonal(dim1=-2, dim2=-1).mean(-1).clamp_min(1e-30)
    A = A + ridge[:, None, None] * torch.eye(E, dtype=A.dtype)
    return torch.linalg.solve(A, y[..., None])[..., 0].T.reshape(E, nb)


def _separate(grid: Grid, x: torch.Tensor, noise: torch.Tensor, cfg: SeparationConfig, mask) -> torch.Tensor:
    return torch.as_tensor(separate(grid, x, noise, cfg, mask=mask).maps).reshape(x.shape)


def _simulate(grid: Grid, s_hat, noise_k, model_k, cfg: SeparationConfig, syn: SynthesisConfig, mask, amp=None):
    """One simulation (a Dask task when the grid has a client): a prior draw ``s'`` with ``s_hat``'s
    statistics, and the separation of ``d' = s' + n'`` (``noise_k (1, *S)``; spin 2: ``(1, 2, npix)``,
    model ``(K, 2, npix)``); the draw's bands are multiplied by ``amp (nb,)`` (``optim.prior_power``;
    ``None``: as drawn). Returns ``(s', p')`` (earlier versions also held a third entry, the
    unsmoothed Wiener estimate of ``d'``: unused; ``_wiener`` redoes it from ``s'``. Checkpoints
    written before the band-power draws have another fingerprint and are refused, naming the
    versions (``VERSION``), not mixed)."""
    sk = torch.as_tensor(synthesize(grid, s_hat, syn, in_mask=mask).maps).reshape(s_hat.shape)
    sk = prior_power.lift(grid, sk, amp)
    return sk, _separate(grid, sk + noise_k.reshape(s_hat.shape), model_k, cfg, mask)


def _wiener(grid: Grid, d: torch.Tensor, model: torch.Tensor, mask) -> torch.Tensor | None:
    """The linear estimate of ``d`` combined with the separation: the grid's empirical Wiener
    filter with the band powers smoothed over ``SMOOTH`` octaves, from the pixels it observes."""
    seen = _observed(grid, mask, d)
    return grid.wiener(d * seen, seen * model.reshape((-1,) + d.shape[1:]), smooth=SMOOTH)


def _prior_draw(grid: Grid, target, cfg: SynthesisConfig, in_mask) -> torch.Tensor:
    """One prior draw of the inpainting posterior (a Dask task when the grid has a client)."""
    return torch.as_tensor(synthesize(grid, target, cfg, in_mask=in_mask).maps)


def _run(grid: Grid, fn, args: list, keys: list, progress: bool, desc: str):
    """``(key, fn(grid, *a))`` for each of ``args``: in this process, or one Dask task each on
    ``grid.client`` (in the order they finish; a lost worker's task is rerun by Dask)."""
    client = getattr(grid, "client", None)
    if client is None:
        done = ((k, fn(grid, *a)) for k, a in zip(keys, args))
    else:
        from distributed import as_completed
        local = copy.copy(grid)
        local.client = None
        futures = {client.submit(fn, local, *a, pure=False): k for k, a in zip(keys, args)}
        done = ((futures[f], f.result()) for f in as_completed(futures))
    if progress:
        from tqdm.auto import tqdm
        done = tqdm(done, total=len(keys), desc=desc, leave=False, disable=None)
    return done


def _observed(grid: Grid, mask, like: torch.Tensor):
    """1, or the 0/1 pixels ``mask > 0`` ``(1, *S)``: the Wiener estimate sees the data where
    they are observed (zero elsewhere), in the simulations as in the data, so that the gains
    fitted on the simulations hold for the data whatever the masked pixels hold."""
    if mask is None:
        return 1.0
    return (as_mask(mask, grid.spatial_shape(like), like) > 0).to(like.dtype)


def sample_separation(grid: Grid, data, noise, cfg: SeparationConfig, n_samples: int, seed: int = 0,
                      mask=None, checkpoint: str | None = None) -> Posterior:
    """The posterior of the signal in ``data`` (module docstring). ``data (*S)``, noise draws
    ``(Kn >= 3, *S)`` or a callable; returns ``Posterior`` with ``samples (n_samples, *S)``.
    Spin 2: ``data (2, npix)`` (Q, U), noise draws ``(Kn, 2, npix)``, samples ``(K, 2, npix)``;
    the prior draws are spin-2 syntheses, and Q and U share the band gains (they are alike
    under rotations)."""
    K = _check_n(n_samples)
    ckpt.check_writable(checkpoint)          # before any work: a save must not fail after hours
    d, _ = as_field(data, grid, "data", like=torch.zeros((), dtype=torch.float64))
    if cfg.spin:
        from .plan import spin_components
        C, _ = spin_components(grid, cfg.spin, d, "data", sizes=(2,))
    elif d.shape[0] != 1:
        raise ValueError(f"data must be a single field; got a batch of {d.shape[0]}")
    else:
        C = 1
    S = tuple(grid.spatial_shape(d))
    F = ((C,) if C > 1 else ()) + S                       # one draw's shape
    if callable(noise):   # the model's draws, then one fresh draw per simulation
        draws = _noise_draws(lambda k: noise(k), cfg.n_noise + K, F)
        model, sim_noise = draws[:cfg.n_noise], draws[cfg.n_noise:]
        sim_model = lambda k: model
    else:
        model = _noise_draws(noise, cfg.n_noise, F)
        if model.shape[0] < 3:
            raise ValueError(f"noise must hold at least 3 draws for n_samples (one is left out of each "
                             f"simulation's noise model); got {model.shape[0]}")
        sim_noise = model[torch.arange(K) % model.shape[0]]
        sim_model = lambda k: torch.cat([model[:k % model.shape[0]], model[k % model.shape[0] + 1:]])
    syn = SynthesisConfig(NUM_EPOCHS=cfg.NUM_EPOCHS, Jmax=cfg.Jmax, edge=cfg.edge, precision=cfg.precision,
                          progress=False, EVAL_FREQUENCY=0, spin=cfg.spin)
    fp = ckpt.fingerprint(grid, cfg, {"data": d, "noise": model, "sim_noise": sim_noise, "mask": mask,
                                      "n_samples": K, "seed": int(seed), "prior_power": 1})
    state = ckpt.load(checkpoint, fp, VERSION) or {"sims": {}}
    quiet = cfg.replace(progress=False)
    if "s_hat" not in state:
        state["s_hat"] = _separate(grid, d, model, quiet, mask)
        ckpt.save(checkpoint, fp, state, VERSION)
    seen = _observed(grid, mask, d)
    s_hat, w = state["s_hat"], _wiener(grid, d, model, mask)
    amp = prior_power.amplitudes(grid, d, model.reshape((-1,) + d.shape[1:]), s_hat, K, int(seed), seen)
    todo = [k for k in range(K) if k not in state["sims"]]
    args = [(s_hat, sim_noise[k:k + 1], sim_model(k), quiet, syn.replace(seed=int(seed) + k), mask,
             None if amp is None else amp[k]) for k in todo]
    for k, sim in _run(grid, _simulate, args, todo, cfg.progress, "posterior simulations"):
        state["sims"][k] = sim
        ckpt.save(checkpoint, fp, state, VERSION)
    sims = [state["sims"][k] for k in range(K)]
    truth = torch.cat([sim[0] for sim in sims])            # (K C, *S): components as scalar rows
    p = torch.cat([sim[1] for sim in sims])
    ests = [p] if w is None else [torch.cat([_wiener(grid, sims[k][0] + sim_noise[k].reshape(sims[k][0].shape),
                                                      sim_model(k), mask) for k in range(K)]), p]
    g = _gains(grid, truth, ests, seen)
    m = lambda fields: bands.combine([grid.band_split(f) for f in fields], g)
    est, m_sims = m([s_hat] if w is None else [w, s_hat]), m(ests)        # (C, *S), (K C, *S)
    errors, b = local_errors.transplant(grid, truth - m_sims, m_sims, est, seen)
    samples = (est.repeat((K,) + (1,) * len(S)) + errors).reshape((K,) + F)
    gains = g if w is not None else torch.cat([torch.zeros_like(g), g])
    return Posterior(samples.numpy(), est.reshape(F).numpy(), s_hat.reshape(F).numpy(), gains.numpy(), local=b,
                     prior_power=None if amp is None else (amp ** 2).numpy())


def sample_inpainting(grid: Grid, data, grd_mask, cfg: SynthesisConfig, n_samples: int,
                      checkpoint: str | None = None) -> Posterior:
    """The posterior of the pixels where ``grd_mask (*S) > 0`` given the others of ``data (*S)``:
    ``m`` is kriging (``optim.kriging``) with the band powers of the hole's surroundings
    (``inpaint.focus``: a sky is not stationary), the prior draws are syntheses with the
    surroundings' statistics (``in_mask``; seeds ``cfg.seed + k``),
    and sample ``k`` is ``m(d) + s'_k - m(s'_k)``: the observed pixels exactly, the hole filled
    with kriging plus one simulated kriging error (no seam: that error is zero on the data)."""
    from .kriging import band_covariance, krige
    K = _check_n(n_samples)
    ckpt.check_writable(checkpoint)
    if cfg.spin or cfg.n_up or cfg.synthesised_N != 1:
        raise ValueError("inpainting samples take no spin, n_up or synthesised_N (n_samples sets their number)")
    d, _ = as_field(data, grid, "data", like=torch.zeros((), dtype=torch.float64))
    if d.shape[0] != 1:
        raise ValueError(f"data must be a single field; got a batch of {d.shape[0]}")
    S = tuple(grid.spatial_shape(d))
    hole = as_mask(grd_mask, S, d, "grd_mask")[0] > 0
    if bool(hole.all()):
        raise ValueError("grd_mask frees every pixel: there is nothing observed to condition on")
    valid = ~hole
    around = focus(grid, hole.to(d.dtype), valid.to(d.dtype)).around[0] > 0     # the hole's surroundings
    fp = ckpt.fingerprint(grid, cfg, {"data": d, "grd_mask": hole, "n_samples": K})
    state = ckpt.load(checkpoint, fp) or {"sims": []}
    if isinstance(state["sims"], list):             # checkpoints written before the Dask tasks
        state["sims"] = dict(enumerate(state["sims"]))
    quiet = cfg.replace(progress=False, EVAL_FREQUENCY=0)
    target, w = torch.where(valid, d, d[:, around].mean()), around.to(d.dtype)
    todo = [k for k in range(K) if k not in state["sims"]]
    for k, sk in _run(grid, _prior_draw, [(target, quiet.replace(seed=cfg.seed + k), w) for k in todo], todo,
                      cfg.progress, "inpainting draws"):
        state["sims"][k] = sk.reshape((1,) + S)
        ckpt.save(checkpoint, fp, state)
    c = band_covariance(grid, d, around)
    prior = torch.cat([state["sims"][k] for k in range(K)])
    est = krige(grid, d, around, c, hole)
    samples = torch.where(hole, est + prior - krige(grid, prior, around, c, hole), d)   # the data, exactly
    return Posterior(samples.numpy(), est[0].numpy())
