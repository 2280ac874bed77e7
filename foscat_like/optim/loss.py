"""The synthesis loss: distance between a field's statistics and a target's.

    L(u) = sum_f mean_k |Phi_f(u)_k - Phi_f(d)_k|^2 / sigma_k^2 / n_f

over the statistic families f (S0..S4, S3P), each averaged over its own
coefficients so that the numerous S4 terms do not drown S1/S2; plus, when
``histogram=True``, the squared 1D Wasserstein distance between the pixel
histograms (sorted values against the target's quantiles), which the
scattering covariance constrains only weakly; and, when ``spectrum=True`` on
grids that provide ``band_powers`` (planar, periodic targets: rings of unit width
in |k|; full-sky HEALPix: the C_l), the squared log difference of those fine
isotropic band powers (a finer S2: one-octave wavelets leave the spectrum free
inside each octave); with several components (spin 2: E, B, or I, E, B), also every pair's
band cross powers (T x E, E x B, ...) in units of the geometric mean of their autos. Statistics
are normalised by the *target's* powers (FOSCAT's ``norm='auto'``), and
``sigma`` is the target's own per-coefficient spatial spread (``calc_var``)
with a floor, or 1 when ``use_variance=False``.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..grid import Grid
from ..stats.compute import scattering_covariance
from ..stats import spectral
from ..stats.normalize import normalisers, normalize, reference_powers
from ..stats.packed import inverse_divisors, packed_auto
from ..stats.split import split_plan
from ..stats.scatcov import ScatCov
from .plan import floor_sigma, tile_rows

BAND_WEIGHT = 0.01   # weight of the fine band powers (planar grids, periodic targets)
HIST_WEIGHT = 0.1    # weight of the histogram term against the (averaged) statistic families
INCREMENT_WEIGHT = 1.0   # inpainting: the hole's and its border's pixel increments (``Focus.pairs``)


def _pack(values: list, rows: int) -> torch.Tensor:
    """Tensors ``(rows, ...)``, real or complex, as one real ``(rows, M)`` (complex entries as
    their real and imaginary parts side by side): the loss's families in one difference, one
    square and one weighted sum (the families one by one took ~5 operations each, forward and
    backward)."""
    return torch.cat([(torch.view_as_real(v) if v.is_complex() else v).reshape(rows, -1)
                      for v in values], 1)


def _batch_mean(st: ScatCov) -> ScatCov:
    return st.map(lambda v: v.mean(0, keepdim=True))


class StatLoss:
    """Callable ``loss(u)`` for fields ``u (N, *S)`` against fixed target statistics.

    target : ``(B, *S)`` (several fields of one process are averaged);
    reference : optional second field ``(B, *S)`` for cross statistics (u x reference
    must match target x reference, in addition to the auto statistics).
    angular : 'full', 'iso' or ('fft', nharm, imaginary).
    components, transform : a field of ``C > 1`` components (``target (C, *S)``, ``u (N C, *S)``,
    sample-major), analysed as ``transform(field) (C, *S)`` (spin 2: (Q, U) -> (E, B)): each
    component keeps its own statistics and every pair of components adds its cross statistics.
    """

    def __init__(self, grid: Grid, target: torch.Tensor, J: int, reference: torch.Tensor | None = None,
                 in_mask: torch.Tensor | None = None, edge: bool = False, use_variance: bool = True,
                 angular="full", histogram: bool = True, spectrum: bool = True, components: int = 1,
                 transform=None, focus=None):
        self.grid, self.J, self.angular, self.C = grid, J, angular, int(components)
        self._norms: dict = {}       # (term, rows, dtype) -> the term's normalisers
        self._targets: dict = {}     # (term, rows, dtype) -> the term's packed target and weights
        self._fast: dict = {}        # (term, rows, dtype) -> whether stats.packed computes the term
        self._inv: dict = {}         # (term, rows, dtype) -> its inverse divisors (stats.packed)
        self.transform = transform
        # inpainting (``optim.inpaint.Focus``): the statistics of each region of the field (the
        # hole, the band across its border) must be those of the observed pixels around the hole
        self.focus = focus
        weights = in_mask if focus is None else focus.target_weights(in_mask)
        self.quantiles, self.hist_weight = None, HIST_WEIGHT
        self.log_bands = self.cross_bands = None
        fields = self._analysed(target)
        if spectrum and in_mask is None and not edge:
            bp = grid.band_powers(fields)
            if bp is not None:
                self.log_bands = torch.log((bp if self.C > 1 else bp.mean(0)) + 1e-12).detach()
            if bp is not None and self.C > 1:    # every pair's cross power, in units of its autos
                scale = torch.stack([torch.sqrt(bp[a] * bp[b]) + 1e-12 for a, b in self._pairs()])
                self.cross_bands = (self._cross_powers(fields) / scale).detach(), scale.detach()
        if histogram:   # pooled over a batch of one process; per component for C > 1
            vals = target.flatten(1) if in_mask is None else target[:, in_mask[0] > 0]
            vals = vals.reshape(-1) if self.C == 1 else vals
            self.quantiles = torch.sort(vals, dim=-1).values.detach()
            if focus is not None:     # the hole's pixels must have the histogram of those around it
                self.local_quantiles = torch.sort(target[:, focus.around[0] > 0].reshape(-1)).values.detach()
        self.increments = None
        if focus is not None and focus.pairs is not None:   # the observed pairs' increments, pooled
            self.increments = focus.increments(target.flatten(1))[:, 2].mean().detach()
        self.reference = reference
        # (ref powers, target stats, sigma, pick(g) -> (x1, x2)): auto statistics first
        self.terms = []
        picks = [(lambda g: (g, None), fields, None)]
        if reference is not None:
            picks.append((self._with_reference, fields, reference))
        if self.C > 1:
            for a in range(self.C):
                for b in range(a + 1, self.C):
                    picks.append((lambda g, a=a, b=b: (g[a::self.C], g[b::self.C]), fields[a:a + 1],
                                  fields[b:b + 1]))
        for pick, x1, x2 in picks:
            raw = scattering_covariance(grid, x1, x2, J, weights, edge=edge, calc_var=use_variance)
            ref = reference_powers(raw)
            if focus is not None:       # everything in units of the whole field's powers
                ref = {k: v[:, :1] for k, v in ref.items()}
            mean = _batch_mean if self.C == 1 else (lambda st: st)
            if self.C == 1:
                ref = {k: v.mean(0, keepdim=True) for k, v in ref.items()}
            raw_n = normalize(raw, ref)
            st = self._reduce(mean(ScatCov.from_raw(raw_n)), False)
            if use_variance:
                sig = self._reduce(mean(ScatCov.from_raw(raw_n, sigma=True)), True).map(floor_sigma)
            else:
                sig = st.map(lambda v: torch.ones_like(v.real))
            if focus is not None:       # (whole, surroundings) -> (whole, each region)
                st, sig = (t.map(focus.spread) for t in (st, sig))
            self.terms.append((ref, st.detach(), sig.detach(), pick))

    def _pairs(self) -> list[tuple[int, int]]:
        return [(a, b) for a in range(self.C) for b in range(a + 1, self.C)]

    def _cross_powers(self, g: torch.Tensor) -> torch.Tensor:
        """Band cross powers ``(N, pairs, nbands)`` of the components of ``g (N C, *S)``, from the
        grid's auto band powers by polarisation: ``X_ab = (P(a + b) - P(a - b)) / 4``."""
        C = self.C
        x = g.reshape((-1, C) + tuple(g.shape[1:]))
        a, b = (torch.tensor(i) for i in zip(*self._pairs()))
        plus, minus = x[:, a] + x[:, b], x[:, a] - x[:, b]              # (N, pairs, *S)
        n = plus.shape[1]
        p = self.grid.band_powers(torch.cat([plus, minus], 1).flatten(0, 1))
        p = p.reshape(x.shape[0], 2 * n, -1)
        return (p[:, :n] - p[:, n:]) / 4

    def _analysed(self, u: torch.Tensor) -> torch.Tensor:
        """The fields the statistics see: ``transform`` of every sample's components."""
        if self.transform is None:
            return u
        C = self.C
        return torch.cat([self.transform(u[i:i + C]) for i in range(0, u.shape[0], C)])

    def _with_reference(self, g: torch.Tensor):
        r = self.reference
        return g, (r.expand((g.shape[0],) + tuple(r.shape[1:])) if r.shape[0] == 1 else r)

    def _reduce(self, st: ScatCov, sigma: bool) -> ScatCov:
        if self.angular == "iso":
            return st.iso_mean(sigma=sigma)
        if isinstance(self.angular, tuple):
            _, nharm, imag = self.angular
            return st.fft_ang_sigma(nharm, imag) if sigma else st.fft_ang(nharm, imag)
        return st

    def _stats(self, g: torch.Tensor, which: int) -> ScatCov:
        ref, _, _, pick = self.terms[which]
        x1, x2 = pick(g)
        if self.C > 1:
            ref = {k: tile_rows(v, x1.shape[0]) for k, v in ref.items()}
        w = None if self.focus is None else self.focus.field_weights()
        raw = scattering_covariance(self.grid, x1, x2, self.J, w, edge=False)
        key = (which, x1.shape[0], raw["S1"].dtype)      # the divisors are constants of the term
        if key not in self._norms:
            self._norms[key] = {k: v.detach() for k, v in normalisers(raw, ref).items()}
        return self._reduce(ScatCov.from_raw(normalize(raw, norms=self._norms[key])), False)

    def stats(self, u: torch.Tensor, which: int = 0) -> ScatCov:
        """Normalised (and angle-reduced) statistics of ``u`` for term ``which``."""
        return self._stats(self._analysed(u), which)

    def _packed_target(self, which: int, st_u: ScatCov) -> tuple:
        """Term ``which``'s target and weights as ``_pack``'s rows: ``T, W (N, M)``, with
        ``sum(W (pack(st_u) - T)^2)`` the mean over the families of each family's mean squared
        distance in units of ``sigma``, and the families' shapes (``st_u``'s, broadcast with the
        target's). Constants of the term and row count, made once."""
        rows = st_u.S1.shape[0]
        key = (which, rows, st_u.S1.dtype)
        if key not in self._targets:
            _, st_t, sig, _ = self.terms[which]
            if self.C > 1:
                st_t, sig = (t.map(lambda v: tile_rows(v, rows)) for t in (st_t, sig))
            fams = [(a, b, s) for (_, a), (_, b), (_, s) in zip(st_u._fields(), st_t._fields(), sig._fields())]
            shapes = [tuple(np.broadcast_shapes(a.shape, b.shape, s.shape)) for a, b, s in fams]
            T = _pack([b.expand(sh) for (_, b, _), sh in zip(fams, shapes)], rows)
            W = []
            for (a, _, s), sh in zip(fams, shapes):     # |d / s|^2, averaged per family
                w = (1.0 / (s.abs() ** 2 * math.prod(sh) * len(fams))).expand(sh)
                W.append(w.unsqueeze(-1).expand(sh + (2,)) if a.is_complex() else w)
            self._targets[key] = (T.detach(), _pack(W, rows).to(T.dtype).detach(), shapes)
        return self._targets[key]

    def _residual(self, g: torch.Tensor, which: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(d, W)``: term ``which``'s packed statistics of ``g`` minus the target, and the weights.
        Auto statistics of whole planar fields, after a first call has made the term's constants,
        take ``stats.packed`` (the same numbers in a fifth of the operations)."""
        x1, x2 = self.terms[which][3](g)
        key = (which, x1.shape[0], x1.dtype)
        if key in self._targets and self._fast.get(key) is None:
            self._fast[key] = (self.C == 1 and x2 is None and self.focus is None and self.angular == "full"
                               and spectral.usable(self.grid, None, False, False)
                               and split_plan(self.grid, x1, None, self.J, False) is None)
            if self._fast[key]:
                self._inv[key] = inverse_divisors(self._norms[key], self.grid.L)
        if self._fast.get(key):
            T, W, _ = self._targets[key]
            return packed_auto(self.grid, x1, self.J, self._inv[key]) - T, W
        st_u = self._stats(g, which)
        T, W, shapes = self._packed_target(which, st_u)
        vals = [v if v.shape == sh else v.expand(sh) for (_, v), sh in zip(st_u._fields(), shapes)]
        return _pack(vals, st_u.S1.shape[0]) - T, W

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        total = u.new_zeros(())
        g = self._analysed(u)
        for i in range(len(self.terms)):
            d, W = self._residual(g, i)
            total = total + (d * d * W).sum()
        total = total / len(self.terms)
        if self.quantiles is not None:
            total = total + self.hist_weight * self.histogram_distance(u)
            if self.focus is not None:
                inside = self.focus.regions[0].flatten() > 0
                total = total + self.hist_weight * self.histogram_distance(u.flatten(1)[:, inside],
                                                                           self.local_quantiles)
        if self.increments is not None:     # the hole's and the border's against those around
            d = self.focus.increments(u.flatten(1))[:, :2] - self.increments
            total = total + INCREMENT_WEIGHT * (d * d).mean()
        if self.log_bands is not None:
            bands = tile_rows(self.log_bands, g.shape[0]) if self.C > 1 else self.log_bands
            d = torch.log(self.grid.band_powers(g) + 1e-12) - bands
            total = total + BAND_WEIGHT * (d * d).mean()
        if self.cross_bands is not None:        # the difference of the pairs' band correlations
            target, scale = self.cross_bands
            d = self._cross_powers(g) / scale - target
            total = total + BAND_WEIGHT * (d * d).mean()
        return total

    def histogram_distance(self, u: torch.Tensor, q: torch.Tensor | None = None) -> torch.Tensor:
        """Mean squared difference between sorted pixels of each field and the target quantiles
        (``q``: other quantiles)."""
        su = torch.sort(u.flatten(1), dim=1).values                       # (N, P)
        q = self.quantiles if q is None else q
        n = q.shape[-1]
        if n != su.shape[1]:       # fewer target values (a mask): their quantiles, interpolated
            pos = (torch.arange(su.shape[1], dtype=u.dtype) + 0.5) / su.shape[1] * n - 0.5
            lo = pos.floor().clamp(0, n - 1).long()
            hi = (lo + 1).clamp(max=n - 1)
            frac = (pos - lo).clamp(0, 1)
            q = q[..., lo] * (1 - frac) + q[..., hi] * frac
        if q.dim() == 2:                                                  # per component: (C, P)
            return ((su - tile_rows(q, su.shape[0])) ** 2).mean()
        return ((su - q) ** 2).mean()
