"""The full sky's harmonic operations of ``HealpixGrid`` (spherical harmonic transforms by ducc0,
``healpix.sht``): spin-2 to E/B, the angular power spectrum, isotropic bands in ``l`` and the
Wiener filter. A ``cell_ids`` patch has no harmonic transform: its bands are the NEST
hierarchy's (``PatchLevels.band_split``), its Wiener filter works on them, and spin 2 and the
power spectrum fall back to the base grid's answer (an error, ``None``)."""
from __future__ import annotations

import torch

from .geometry import nside_of


class HarmonicOps:
    """Mixin of ``HealpixGrid`` (needs ``self.patch``, ``None`` on the full sky, and ``self._sht``,
    a dict of transforms per nside)."""

    def sht(self, nside: int):
        """The differentiable harmonic transforms at ``nside`` (``healpix.sht``; one per nside)."""
        if nside not in self._sht:
            from .sht import HealpixSHT
            self._sht[nside] = HealpixSHT(nside)
        return self._sht[nside]

    def spin_to_scalars(self, qu: torch.Tensor, n_iter: int = 3) -> torch.Tensor:
        """``(2, npix)`` NEST (Q, U) -> (E, B) maps, differentiable (full sky): the spin-2
        a_lm by healpy's ``map2alm`` with ``n_iter`` Jacobi iterations, each made a scalar map."""
        if self.patch is not None:
            return super().spin_to_scalars(qu)
        if qu.dim() != 2 or qu.shape[0] != 2:
            raise ValueError(f"a spin-2 map must have shape (2, 12*nside**2) holding (Q, U); got {tuple(qu.shape)}")
        t = self.sht(nside_of(qu.shape[-1]))
        a = t.map2alm(qu, 2)
        for _ in range(n_iter):
            a = a + t.map2alm(qu - t.alm2map(a, 2), 2)
        return t.alm2map(a[:, None], 0)[:, 0]

    def band_powers(self, x: torch.Tensor) -> torch.Tensor | None:
        """Full sky: the angular power spectrum ``C_l``, ``l = 1 .. 3 nside - 1``, of every map
        ``(B, npix) -> (B, 3 nside - 1)`` (differentiable; the finest band powers a map has).
        Patches: ``None``."""
        if self.patch is not None:
            return None
        t = self.sht(nside_of(x.shape[-1]))
        flat = x.reshape(-1, 1, x.shape[-1])
        cl = t.cl(t.map2alm(flat, 0))[:, 0, 1:]
        return cl.reshape(x.shape[:-1] + cl.shape[-1:])

    def band_split(self, x: torch.Tensor) -> torch.Tensor:
        """Full sky: parts in log-spaced groups of ``l`` (``spectra.band_split_nest``); patches: the
        mean and the NEST hierarchy's Haar bands (``PatchLevels.band_split``)."""
        if self.patch is not None:
            return self.patch.band_split(x)
        from .spectra import band_split_nest
        out = band_split_nest(x.detach().cpu().numpy().reshape(-1, x.shape[-1]))
        return torch.as_tensor(out, dtype=x.dtype, device=x.device).reshape((x.shape[0], -1) + x.shape[1:])

    def band_modes(self, spatial_shape: tuple[int, ...]) -> torch.Tensor:
        """Full sky: ``sum 2l + 1`` over each ``band_split`` group of ``l`` (``spectra.band_modes_nest``);
        patches: the dimensions of each Haar band (``PatchLevels.band_modes``)."""
        if self.patch is not None:
            return self.patch.band_modes(spatial_shape[-1])
        from .spectra import band_modes_nest
        return torch.as_tensor(band_modes_nest(nside_of(spatial_shape[-1])))

    def wiener(self, d: torch.Tensor, noise: torch.Tensor, smooth: float = 0.0) -> torch.Tensor | None:
        """Full sky: harmonic Wiener gain ``max(C_l^d - <C_l^n>, 0) / C_l^d`` per group of ``l``
        (``spectra.wiener_nest``, with its ``smooth``; ducc0 transforms, no autograd: a starting
        point). Patches: the same gains per Haar band (``band_split``; ``smooth`` in octaves of
        the levels' scales), with the powers summed over each band's pixels."""
        if self.patch is not None:
            from ..bands import combine, cross, wiener_gains
            parts = self.patch.band_split(d)
            n = self.patch.band_split(noise)
            gain = wiener_gains(cross(parts, parts) / d.shape[0], cross(n, n) / noise.shape[0],
                                self.patch.band_modes(d.shape[-1]).to(d), self.patch.band_octaves(d.shape[-1]).to(d),
                                smooth)
            return combine([parts], gain[None])
        from .spectra import wiener_nest
        out = wiener_nest(d.detach().cpu().numpy().reshape(-1, d.shape[-1]),
                          noise.detach().cpu().numpy().reshape(-1, noise.shape[-1]), smooth=smooth)
        return torch.as_tensor(out, dtype=d.dtype, device=d.device).reshape(d.shape)
