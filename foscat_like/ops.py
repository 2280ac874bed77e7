"""Small differentiable operations shared by every grid and statistic."""
from __future__ import annotations

import math

import numpy as np
import torch

from . import heap, jit


MIN_JIT = 1 << 15     # values from which the modulus runs compiled (below, numba's import is not
                      # worth it for a process that only transforms small signals)


def _jit_modulus(z: torch.Tensor) -> bool:
    """Whether ``z``'s modulus runs as compiled loops (``_ops_jit``): a CPU complex64/complex128
    tensor of ``MIN_JIT`` values or more, torch on one thread (as in the classic transforms'
    side-by-side chunks), numba available. One pass over memory instead of torch's three
    (forward) and four (backward, one of them a broadcast over the (re, im) axis): alone, 3-6x
    faster (1 thread, ``(2, 8, 160, 160)`` complex64 forward 0.20 against 1.32 ms, backward 0.38
    against 2.26 ms). With torch on two threads its passes use both cores, and the loops measured
    slower (1D forward 0.86x), split over two threads far slower (0.52x: torch's idle workers
    compete with them), the same rule as the Gram loops' and ducc0's."""
    return (z.device.type == "cpu" and z.dtype in (torch.complex64, torch.complex128)
            and z.numel() >= MIN_JIT and torch.get_num_threads() == 1
            and jit.available("foscat_like._ops_jit"))


def _rows(t: torch.Tensor, dim: int | None) -> np.ndarray:
    """``t`` (complex, as interleaved reals) as the loops' ``(A, M, 2P)`` numpy view (copied
    once where ``t`` is not contiguous): ``M`` the size of ``dim`` (1 for none)."""
    t = heap.contiguous(t.detach())
    A = math.prod(t.shape[:dim]) if dim is not None else 1
    M = t.shape[dim] if dim is not None else 1
    return torch.view_as_real(t).numpy().reshape(A, M, -1)


class _Modulus(torch.autograd.Function):
    """|z| (``dim=None``) or ``sqrt(sum_dim |z|^2)`` of a complex tensor, with gradient 0 where
    it is 0 (no NaN)."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, dim: int | None) -> torch.Tensor:
        shape = z.shape if dim is None else z.shape[:dim] + z.shape[dim + 1:]
        if _jit_modulus(z):
            from ._ops_jit import modulus as loop
            z = heap.contiguous(z)
            m = torch.empty(shape, dtype=z.real.dtype)
            r = _rows(z, dim)
            loop(r, m.numpy().reshape(r.shape[0], -1))
        else:
            r = torch.view_as_real(z)
            m = r[..., 0] * r[..., 0]
            m.addcmul_(r[..., 1], r[..., 1])    # faster than hypot / abs on CPU
            m = (m if dim is None else m.sum(dim)).sqrt_()
        ctx.dim = dim
        ctx.save_for_backward(z, m)
        return m

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        z, m = ctx.saved_tensors
        if _jit_modulus(z) and not torch.is_grad_enabled():   # a differentiated gradient: torch
            from ._ops_jit import modulus_adjoint as loop
            out = torch.empty(z.shape, dtype=z.dtype)
            r = _rows(z, ctx.dim)
            loop(r, m.numpy().reshape(r.shape[0], -1), heap.contiguous(g).numpy().reshape(r.shape[0], -1),
                 torch.view_as_real(out).numpy().reshape(r.shape))
            return out, None
        scale = torch.where(m > 0, g / m, 0.0)
        scale = scale if ctx.dim is None else scale.unsqueeze(ctx.dim)
        return torch.view_as_complex(torch.view_as_real(z) * scale.unsqueeze(-1)), None   # real arithmetic


def modulus(z: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Complex modulus ``(...) -> (...)`` real, fast and safe at zero; with ``dim``, the norm of
    the vectors along ``dim`` (``sqrt(sum_dim |z|^2)``, that axis removed)."""
    if not torch.is_tensor(z) or not z.is_complex():
        raise TypeError(f"modulus takes a complex tensor z; got {type(z).__name__}"
                        + (f" of dtype {z.dtype}" if torch.is_tensor(z) else ""))
    if dim is not None:
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"dim must be an int or None; got {dim!r}")
        if not -z.dim() <= dim < z.dim():
            raise ValueError(f"dim must be in [{-z.dim()}, {z.dim() - 1}] for a {z.dim()}-d z; got {dim}")
        dim = dim % z.dim()
    return _Modulus.apply(z, dim)


def safe_sqrt(x: torch.Tensor, eps: float = 1e-30) -> torch.Tensor:
    """sqrt with a finite gradient at 0."""
    return torch.sqrt(x.clamp_min(eps))


class _ModulusParts(torch.autograd.Function):
    """``sqrt(F[:, 0]^2 + F[:, 1]^2)`` of ``F (B, 2, ...)`` (real parts, then imaginary ones; any
    strides): the backward writes both halves into one buffer (slicing ``F`` would zero-fill two).
    Not compiled: the scattering covariance's eval+grad measured alike with the modulus as
    compiled loops (128² and 256², float32 and float64: 0.99-1.06x)."""

    @staticmethod
    def forward(ctx, F: torch.Tensor) -> torch.Tensor:
        re, im = F[:, 0], F[:, 1]
        m = (re * re).addcmul_(im, im).sqrt_()
        ctx.save_for_backward(F, m)
        return m

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        F, m = ctx.saved_tensors
        if torch.is_grad_enabled():     # a differentiated gradient (create_graph): recorded ops
            return F * torch.where(m > 0, g / m, 0.0).unsqueeze(1)
        return modulus_parts_adjoint(F, m, g)


def modulus_parts_adjoint(F: torch.Tensor, m: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The gradient ``(B, 2, ...)`` of ``m = modulus_parts(F)`` for ``g (B, ...)`` (no autograd;
    0 where ``m`` is)."""
    scale = torch.where(m > 0, g / m, 0.0)
    out = F.new_empty((F.shape[0], 2) + tuple(m.shape[1:]))
    torch.mul(F[:, 0], scale, out=out[:, 0])
    torch.mul(F[:, 1], scale, out=out[:, 1])
    return out


def modulus_parts(F: torch.Tensor) -> torch.Tensor:
    """``|re + i im|`` for ``F (B, 2, ...)``: ``F[:, 0]`` the real parts, ``F[:, 1]`` the imaginary
    ones (any strides) -> ``(B, ...)``, safe at zero."""
    return _ModulusParts.apply(F)


class _ComplexParts(torch.autograd.Function):
    """``complex(y[:, :L], y[:, L:])`` of ``y (M, 2L, ...)``: the backward writes both halves
    into one buffer (``torch.complex`` of two slices zero-fills a full-size gradient per slice
    and adds them)."""

    @staticmethod
    def forward(ctx, y: torch.Tensor) -> torch.Tensor:
        L = y.shape[1] // 2
        return torch.complex(y[:, :L], y[:, L:])

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:
        return torch.cat([g.real, g.imag], 1)


def complex_parts(y: torch.Tensor) -> torch.Tensor:
    """``(M, 2L, ...)`` real parts then imaginary parts -> ``(M, L, ...)`` complex."""
    return _ComplexParts.apply(y)


def _along(index: torch.Tensor, like: torch.Tensor, dim: int, n: int) -> torch.Tensor:
    """``index (n,)`` as a broadcast (expanded, not copied) index of ``like``'s shape with
    ``n`` entries along ``dim``."""
    shape = [1] * like.dim()
    shape[dim] = -1
    return index.view(shape).expand(like.shape[:dim] + (n,) + like.shape[dim + 1:])


def take(x: torch.Tensor, index: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``x.index_select(dim, index)`` ``(..., n, ...)``, as a ``gather``: torch's CPU
    ``index_select`` along the last axis ran 5-15x slower than ``gather`` (measured, 1 thread:
    ``(1, 5, 16640) -> 4224`` entries 134 us against 12 us), and forward+backward 1.3-3x slower.
    Along an outer axis of a large image ``index_select`` can be the faster one (measured for the
    classic 2D padding's rows), so use this for the last axis unless measured."""
    dim = dim % x.dim()
    return torch.gather(x, dim, _along(index.to(x.device), x, dim, index.numel()))


def put_add(out: torch.Tensor, index: torch.Tensor, src: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``out.index_add(dim, index, src)`` (out of place), as a ``scatter_add`` (see ``take``)."""
    dim = dim % out.dim()
    return out.scatter_add(dim, _along(index.to(out.device), src, dim, index.numel()), src)
