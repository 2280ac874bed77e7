"""Small differentiable operations shared by every grid and statistic."""
from __future__ import annotations

import torch


class _Modulus(torch.autograd.Function):
    """|z| of a complex tensor, with gradient 0 at z = 0 (no NaN)."""

    @staticmethod
    def forward(ctx, z: torch.Tensor) -> torch.Tensor:
        r = torch.view_as_real(z)
        m = r[..., 0] * r[..., 0]
        m.addcmul_(r[..., 1], r[..., 1]).sqrt_()   # faster than hypot / abs on CPU
        ctx.save_for_backward(z, m)
        return m

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:
        z, m = ctx.saved_tensors
        scale = torch.where(m > 0, g / m, 0.0)
        return torch.view_as_complex(torch.view_as_real(z) * scale.unsqueeze(-1))   # real arithmetic


def modulus(z: torch.Tensor) -> torch.Tensor:
    """Complex modulus ``(...) -> (...)`` real, fast and safe at zero."""
    return _Modulus.apply(z)


def safe_sqrt(x: torch.Tensor, eps: float = 1e-30) -> torch.Tensor:
    """sqrt with a finite gradient at 0."""
    return torch.sqrt(x.clamp_min(eps))


class _Modulus2(torch.autograd.Function):
    """sqrt(re^2 + im^2) of the real and imaginary parts, with gradient 0 at the origin."""

    @staticmethod
    def forward(ctx, re: torch.Tensor, im: torch.Tensor) -> torch.Tensor:
        m = (re * re).addcmul_(im, im).sqrt_()
        ctx.save_for_backward(re, im, m)
        return m

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        re, im, m = ctx.saved_tensors
        scale = torch.where(m > 0, g / m, 0.0)
        return re * scale, im * scale


def modulus2(re: torch.Tensor, im: torch.Tensor) -> torch.Tensor:
    """``|re + i im|`` from the two real parts (same shapes), safe at zero."""
    return _Modulus2.apply(re, im)
