"""Gradients of gradients (``create_graph``: Hessian-vector products, Newton or Laplace steps)
through the scattering covariance, on every route: the nodes whose backward runs outside autograd
(ducc0's FFTs, compiled loops, buffers written with ``out=``) record torch operations instead
when their gradient is itself differentiated. Checked against central differences of gradients
and by ``gradgradcheck``."""
import pytest
import torch

import foscat_like as fl
from foscat_like import fft
from foscat_like.planar import spectral as pspec
from foscat_like.stats.compute import scattering_covariance
from foscat_like.stats.normalize import normalisers
from foscat_like.stats.packed import inverse_divisors, packed_auto

KEYS = ("S1", "P1", "S3", "S4")


def _grad(grid, x, J, create, weights=None):
    raw = scattering_covariance(grid, x, None, J, weights)
    loss = sum((raw[k].abs() ** 2).sum() for k in KEYS)
    return torch.autograd.grad(loss, x, create_graph=create)[0]


def _hvp_error(grid, shape, J, weights=None):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    v = torch.randn(shape, generator=g, dtype=torch.float64)
    xx = x.clone().requires_grad_()
    h, = torch.autograd.grad((_grad(grid, xx, J, True, weights) * v).sum(), xx)
    eps = 1e-6
    fd = (_grad(grid, (x + eps * v).requires_grad_(), J, False, weights)
          - _grad(grid, (x - eps * v).requires_grad_(), J, False, weights)) / (2 * eps)
    return float((h - fd).abs().max() / fd.abs().max())


@pytest.mark.parametrize("threads", [1, 2])
def test_hessian_vector_product_planar(threads, monkeypatch):
    """64²: on one thread the FFTs run on ducc0 and the Gram products as compiled loops; on two,
    torch. Both second derivatives match central differences (which failed before: a RuntimeError
    from the modulus' backward, and ducc0's transforms would have dropped their terms silently)."""
    from foscat_like.stats import gram_kernels
    monkeypatch.setattr(gram_kernels, "MIN_FIELD_K", 0)         # the loops at 64² too
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert _hvp_error(fl.funct(NORIENT=4, grid="2d").grid, (1, 64, 64), 3) < 1e-6
    finally:
        torch.set_num_threads(saved)


def test_hessian_vector_product_healpix():
    """The pixel route (HEALPix stencils, the levels' Hermitian Gram products)."""
    assert _hvp_error(fl.funct(NORIENT=4).grid, (1, 12 * 8 * 8), 3) < 1e-6


def test_masked_pixel_route_refuses_a_second_derivative():
    """With one weight map the pixel route keeps only the weighted rows: a clear error, not a
    second derivative that silently lacks their dependence on the field."""
    grid = fl.funct(NORIENT=4, grid="2d").grid
    x = torch.randn(1, 16, 16, dtype=torch.float64, requires_grad=True)
    mask = (torch.rand(1, 16, 16, generator=torch.Generator().manual_seed(1)) > 0.3).double()
    with pytest.raises(RuntimeError, match="create_graph"):
        _grad(grid, x, 2, True, mask)
    assert _grad(grid, x, 2, False, mask).abs().sum() > 0          # a first derivative is fine


@pytest.mark.usefixtures("one_thread")
def test_packed_statistics_second_derivative(monkeypatch):
    """``stats.packed``'s row has the second derivative of the general path's (normalised and packed)."""
    from foscat_like.optim.loss import _pack
    from foscat_like.stats import gram_kernels
    from foscat_like.stats.normalize import normalize
    from foscat_like.stats.scatcov import ScatCov
    monkeypatch.setattr(gram_kernels, "MIN_FIELD_K", 0)
    grid = fl.funct(NORIENT=4, grid="2d").grid
    g = torch.Generator().manual_seed(2)
    ref = torch.randn(1, 64, 64, generator=g, dtype=torch.float64)
    norms = {k: v.detach() for k, v in normalisers(scattering_covariance(grid, ref, None, 3)).items()}
    inv = inverse_divisors(norms, grid.L)
    general = lambda a: _pack([v for _, v in ScatCov.from_raw(
        normalize(scattering_covariance(grid, a, None, 3), norms=norms))._fields()], 1)
    x = torch.randn(1, 64, 64, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(1, 64, 64, generator=g, dtype=torch.float64)
    w = torch.randn(general(x).shape, generator=g, dtype=torch.float64)
    out = []
    for f in (lambda a: packed_auto(grid, a, 3, inv), general):
        gx, = torch.autograd.grad((f(x) * w).sum() ** 2, x, create_graph=True)
        out.append(torch.autograd.grad((gx * v).sum(), x)[0])
    torch.testing.assert_close(out[0], out[1], rtol=1e-9, atol=1e-12)


def test_ducc0_nodes_gradgradcheck(monkeypatch):
    """The nodes on ducc0 (forced at every size): analysis, wavelet parts, the 1D inverse FFT."""
    monkeypatch.setattr(fft, "DUCC_MIN_SIZE", 1)
    monkeypatch.setattr(fft, "_single_thread", lambda: True)
    monkeypatch.setattr(fft, "_torch_forward", lambda: False)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 6, 5, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda a: fft.analysis(a, 2) ** 2, (x,))
    grid = fl.funct(NORIENT=4, grid="2d").grid
    Y = fft.analysis(torch.randn(1, 8, 8, generator=g, dtype=torch.float64), 2).detach().requires_grad_()
    w = grid._spectral_weights((8, 8), Y)
    assert torch.autograd.gradgradcheck(lambda a: pspec.wavelet_parts(a, (8, 8), w) ** 2, (Y,))
    z = torch.randn(1, 4096, generator=g, dtype=torch.complex128, requires_grad=True)
    assert type(fft.ifft(z).grad_fn).__name__ == "_IFFTBackward"
    gz, = torch.autograd.grad((fft.ifft(z).abs() ** 2).sum(), z, create_graph=True)
    hz, = torch.autograd.grad((gz.real * torch.arange(4096.0)).sum(), z)
    ref_g, = torch.autograd.grad((torch.fft.ifft(z).abs() ** 2).sum(), z, create_graph=True)
    ref_h, = torch.autograd.grad((ref_g.real * torch.arange(4096.0)).sum(), z)
    torch.testing.assert_close(hz, ref_h)
