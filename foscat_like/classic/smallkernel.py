"""Scattering2D with small spatial kernels and strided downsampling (seed 003's idea).

Instead of Fourier products on the padded image, every scale uses the *same* small
kernels on a pyramid: a real low-pass ``h`` (``K x K``) applied with stride 2 takes the
signal from resolution ``2^-j`` to ``2^-(j+1)``, and ``L`` complex wavelets ``psi_l``
(``K x K``) applied at resolution ``2^-j`` play the role of ``psi_{j,l}``:

    x_0 = x,  x_{j+1} = (h * x_j) downsampled by 2         (reflect padding)
    U1[j1, l1] = |x_{j1} * psi_l1|                           (at resolution 2^-j1)
    U2[j1, l1, j2, l2] = |(U1[j1, l1] smoothed to 2^-j2) * psi_l2|
    S = each of x, U1, U2 smoothed down to 2^-J

Same output shape and coefficient order as ``Scattering2D`` (Kymatio 0.3). Kernels:
``'derived'`` crops Kymatio's finest Morlet filters to ``K x K`` and uses a Gaussian low-pass
whose cascade has the width of ``phi_J``; ``'fitted'`` (the default, ``L = 8``, ``K = 7``)
are those kernels refined by L-BFGS-B so that the output matches ``Scattering2D`` on
training textures (``fit_kernels``; shipped in ``classic/data``). The result is an
approximation: ``benchmarks/smallkernel.py`` reports its deviation and speed.
"""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from .filters2d import morlet_2d
from .frontend import run_batched
from ..wavelets import SIGMA0, XI0, orientations, slant

_DATA = os.path.join(os.path.dirname(__file__), "data")


def derived_kernels(L: int = 8, K: int = 7) -> dict:
    """``{"h": (K, K) float, "psi": (L, K, K) complex}`` from Kymatio's finest Morlet filters
    (the Hermitian part its Fourier filters keep) and a Gaussian low-pass (sigma 0.7)."""
    n = 32
    m = morlet_2d(n, n, SIGMA0, orientations(L), XI0, slant(L))
    m = np.fft.ifft2(np.real(np.fft.fft2(m)))                 # what Kymatio's real Fourier filter keeps
    c, r = n // 2, K // 2
    psi = np.fft.fftshift(m, axes=(-2, -1))[:, c - r:c + r + 1, c - r:c + r + 1]
    psi = psi - psi.mean(axis=(-2, -1), keepdims=True)        # zero mean after cropping
    g = np.arange(K) - r
    h = np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) / (2 * 0.7 ** 2))
    return {"h": h / h.sum(), "psi": psi}


def load_kernels(L: int, K: int) -> dict | None:
    path = os.path.join(_DATA, f"smallkernel_L{L}_K{K}.npz")
    if not os.path.exists(path):
        return None
    d = np.load(path)
    return {"h": d["h"], "psi": d["psi"]}


class SmallKernelScattering2D:
    """``(..., M, N) -> (..., C, M // 2^J, N // 2^J)`` as ``Scattering2D``, with ``K x K`` kernels.

    kernels : ``'fitted'`` (shipped for L=8, K=7; else falls back to ``'derived'``),
    ``'derived'``, or a dict ``{"h": (K, K), "psi": (L, K, K) complex}``.
    """

    def __init__(self, J: int, shape, L: int = 8, max_order: int = 2, kernel_size: int = 7,
                 kernels="fitted"):
        from .scattering2d import Scattering2D
        self._ref = Scattering2D(J, shape, L, max_order)             # validates and gives shapes
        self.J, self.L, self.max_order, self.shape = self._ref.J, self._ref.L, max_order, self._ref.shape
        K = int(kernel_size)
        if K < 3 or K % 2 == 0:
            raise ValueError(f"kernel_size must be an odd integer >= 3; got {kernel_size!r}")
        if isinstance(kernels, str):
            if kernels not in ("fitted", "derived"):
                raise ValueError(f"kernels must be 'fitted', 'derived' or a dict; got {kernels!r}")
            kern = load_kernels(L, K) if kernels == "fitted" else None
            self.kernel_source = "fitted" if kern is not None else "derived"
            kernels = kern if kern is not None else derived_kernels(L, K)
        else:
            self.kernel_source = "given"
        h, psi = np.asarray(kernels["h"]), np.asarray(kernels["psi"])
        if h.shape != (K, K) or psi.shape != (L, K, K):
            raise ValueError(f"kernels must hold h {(K, K)} and psi {(L, K, K)}; got {h.shape}, {psi.shape}")
        self.K = K
        self.h = torch.as_tensor(h, dtype=torch.float64)
        self.psi = torch.as_tensor(psi, dtype=torch.complex128)
        self._cache: dict = {}

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """(C, M // 2**J, N // 2**J), as ``Scattering2D.output_shape``."""
        return self._ref.output_shape

    def _weights(self, like: torch.Tensor, params=None):
        h, psi = (self.h, self.psi) if params is None else params
        if params is None:
            key = (like.dtype, like.device)
            if key in self._cache:
                return self._cache[key]
        w_h = h.to(like.dtype)[None, None].to(like.device)                        # (1, 1, K, K)
        w_psi = torch.cat([psi.real, psi.imag]).to(like.dtype)[:, None].to(like.device)  # (2L, 1, K, K)
        if params is None:
            self._cache[key] = (w_h, w_psi)
        return w_h, w_psi

    def _pad(self, u):
        r = self.K // 2
        mode = "reflect" if min(u.shape[-2:]) > r else "replicate"
        return F.pad(u, (r, r, r, r), mode=mode)

    def _forward(self, x: torch.Tensor, params=None) -> torch.Tensor:
        w_h, w_psi = self._weights(x, params)
        L, J = self.L, self.J

        def down(u, n):            # (B, C, H, W) -> smoothed and halved n times
            for _ in range(n):
                B, C = u.shape[:2]
                u = F.conv2d(self._pad(u.reshape(B * C, 1, *u.shape[-2:])), w_h, stride=2)
                u = u.reshape(B, C, *u.shape[-2:])
            return u

        def wave(u):               # (B, C, H, W) -> (B, C, L, H, W) moduli
            B, C = u.shape[:2]
            y = F.conv2d(self._pad(u.reshape(B * C, 1, *u.shape[-2:])), w_psi)
            y = y.reshape(B, C, 2, L, *y.shape[-2:])
            return torch.sqrt(y[:, :, 0] ** 2 + y[:, :, 1] ** 2 + 1e-20)

        M, N = self.shape
        crop = lambda u: u[..., : M // 2 ** J, : N // 2 ** J]
        xj = x[:, None]
        out = [crop(down(xj, J))]
        order2 = []
        for j1 in range(J):
            if j1:
                xj = down(xj, 1)
            U1 = wave(xj)[:, 0]                                               # (B, L, H, W)
            out.append(crop(down(U1, J - j1)))
            if self.max_order == 2 and j1 + 1 < J:
                u, per_j2 = U1, []
                for j2 in range(j1 + 1, J):
                    u = down(u, 1)
                    U2 = wave(u)                                              # (B, L1, L2, H, W)
                    per_j2.append(crop(down(U2.flatten(1, 2), J - j2)).unflatten(1, (L, L)))
                # Kymatio's order within j1: (l1, j2, l2)
                order2.append(torch.stack(per_j2, dim=2).flatten(1, 3))     # (B, L1 * n_j2 * L2, h, w)
        S = out + order2
        return torch.cat(S, dim=1)

    def __call__(self, x):
        return run_batched(self._forward, x, 2, self.shape)

    scattering = __call__


def fit_kernels(images: np.ndarray, J: int = 3, L: int = 8, K: int = 7, maxiter: int = 200) -> dict:
    """Refine the derived kernels so that ``SmallKernelScattering2D`` matches ``Scattering2D``
    on ``images (B, M, N)`` (relative squared error of all coefficients, L-BFGS-B)."""
    from ..lbfgs import minimize
    from .scattering2d import Scattering2D
    x = torch.as_tensor(np.asarray(images), dtype=torch.float64)
    target = Scattering2D(J, x.shape[-2:], L)(x).detach()
    sk = SmallKernelScattering2D(J, x.shape[-2:], L, kernel_size=K, kernels="derived")
    h0, p0 = sk.h, sk.psi
    v0 = torch.cat([h0.reshape(-1), p0.real.reshape(-1), p0.imag.reshape(-1)])
    n1, n2 = K * K, L * K * K

    def unpack(v):
        return v[:n1].reshape(K, K), torch.complex(v[n1:n1 + n2], v[n1 + n2:]).reshape(L, K, K)

    norm = float((target ** 2).sum())
    loss = lambda v: ((sk._forward(x, unpack(v)) - target) ** 2).sum() / norm
    res = minimize(loss, v0, maxiter)
    h, psi = unpack(res.x)
    return {"h": h.numpy(), "psi": psi.numpy(), "loss": res.loss}
