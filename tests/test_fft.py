"""``foscat_like.fft``: ducc0's real transforms equal torch.fft's, and so do their gradients
(hand-written adjoints against torch's autograd), on the ducc0 path and on the torch path (the
one other devices take)."""
import pytest
import torch

from foscat_like import fft

SHAPES = [(16, 16), (12, 10), (6, 9), (16,), (15,), (4, 6, 8)]


def _torch_analysis(x, nd):
    return torch.view_as_real(torch.fft.rfftn(x, dim=tuple(range(-nd, 0)), norm="forward")).flatten(-nd - 1)


def _torch_synthesis(Y, shape):
    Z = torch.view_as_complex(Y.reshape(Y.shape[:-1] + fft.half(shape) + (2,)))
    return torch.fft.irfftn(Z, s=shape, dim=tuple(range(-len(shape), 0)), norm="forward")


@pytest.fixture(params=["ducc0", "torch r2c, ducc0 c2r", "torch"])
def path(request, monkeypatch):
    if request.param == "torch":
        monkeypatch.setattr(fft, "_ducc", lambda t: False)
    else:                   # ducc0 at every size (by default from 64², on one torch thread)
        monkeypatch.setattr(fft, "DUCC_MIN_SIZE", 1)
        monkeypatch.setattr(fft, "_single_thread", lambda: True)
        # the forward transforms on ducc0 too (the default where torch's are not MKL's), or on torch
        monkeypatch.setattr(fft, "_torch_forward", lambda: request.param != "ducc0")
    return request.param


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_transforms_equal_torch_fft(shape, dtype, path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn((3,) + shape, generator=g, dtype=dtype)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    Y = fft.analysis(x, len(shape))
    assert Y.dtype == dtype
    torch.testing.assert_close(Y, _torch_analysis(x, len(shape)), rtol=tol, atol=tol)
    # any coefficients, also imaginary parts on the self-mirrored bins (which irfftn ignores alike)
    C = torch.randn(Y.shape, generator=g, dtype=dtype)
    got = fft.c2r(C, shape, False, ducc=fft.use_ducc(C, shape))
    torch.testing.assert_close(got, _torch_synthesis(C, shape), rtol=tol, atol=tol * 10)


@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_equal_torch_autograd(shape, path):
    g = torch.Generator().manual_seed(1)
    nd = len(shape)
    x = torch.randn((2,) + shape, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn((2, 2 * torch.Size(fft.half(shape)).numel()), generator=g, dtype=torch.float64)
    ours, = torch.autograd.grad((fft.analysis(x, nd) * w).sum(), x)
    ref, = torch.autograd.grad((_torch_analysis(x, nd) * w).sum(), x)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-14)
    assert torch.autograd.gradcheck(lambda a: fft.analysis(a, nd), (x[:1],))


@pytest.mark.parametrize("shape", [(16, 16), (12, 10), (6, 9), (16,), (15,)])
def test_wavelet_parts_and_gradient_equal_torch(shape, path):
    """``planar.spectral.wavelet_parts`` (one node, hand-written backward through ``c2r^T``)
    against the same products and ``torch.fft.irfftn`` under torch's autograd."""
    from foscat_like.planar import spectral
    g = torch.Generator().manual_seed(2)
    f = torch.rand((3,) + shape, generator=g, dtype=torch.float64)          # 3 real multipliers
    w = spectral.weights(f)
    K = w["pe"].shape[1]
    Y = torch.randn((2, K), generator=g, dtype=torch.float64, requires_grad=True)
    ours = spectral.wavelet_parts(Y, shape, w)
    F = torch.stack([Y[:, None] * w["pe"], spectral.rot(Y)[:, None] * w["po"]], 1).flatten(1, 2)
    ref = _torch_synthesis(F, shape)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    v = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    a, = torch.autograd.grad((ours * v).sum(), Y)
    b, = torch.autograd.grad((ref * v).sum(), Y)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda y: spectral.wavelet_parts(y, shape, w), (Y[:1],))


def test_strided_inputs(monkeypatch):
    monkeypatch.setattr(fft, "DUCC_MIN_SIZE", 1)
    monkeypatch.setattr(fft, "_single_thread", lambda: True)
    x = torch.randn(8, 20, dtype=torch.float64)[:, ::2].T          # (10, 8), not contiguous
    assert not x.is_contiguous()
    torch.testing.assert_close(fft.analysis(x, 1), _torch_analysis(x, 1))
    Y = torch.randn(20, 6, dtype=torch.float64).T                  # (6, 20), not contiguous; 20 = 2 * 10
    assert not Y.is_contiguous()
    torch.testing.assert_close(fft.c2r(Y, (18,), False, ducc=True), _torch_synthesis(Y.contiguous(), (18,)))


@pytest.mark.parametrize("shape", [(16, 16), (12, 10), (6, 9), (16,), (4, 6, 8)])
def test_c2r_overwrite_equals_a_copy(shape):
    """``overwrite``: ducc0 may use the input as work space; the transform is the same."""
    Y = torch.randn((3, 2 * torch.Size(fft.half(shape)).numel()), dtype=torch.float64)
    ref = _torch_synthesis(Y, shape)
    torch.testing.assert_close(fft.c2r(Y.clone(), shape, False, ducc=True, overwrite=True), ref)
    torch.testing.assert_close(fft.c2r(Y.clone(), shape, False, ducc=False, overwrite=True), ref)


def test_ducc0_from_its_minimum_size(monkeypatch):
    """ducc0 (a custom autograd node) from ``DUCC_MIN_SIZE`` points a transform, torch.fft below;
    and only on one torch thread."""
    monkeypatch.setattr(fft, "_single_thread", lambda: True)
    big = torch.randn(2, 64, 64, dtype=torch.float64, requires_grad=True)
    small = torch.randn(2, 32, 32, dtype=torch.float64, requires_grad=True)
    assert type(fft.analysis(big, 2).grad_fn).__name__ == "_AnalysisBackward"
    assert type(fft.analysis(small, 2).grad_fn).__name__ != "_AnalysisBackward"
    monkeypatch.setattr(fft, "_single_thread", lambda: False)
    assert type(fft.analysis(big, 2).grad_fn).__name__ != "_AnalysisBackward"


def test_analysis_second_derivative_on_torch(monkeypatch):
    """On torch.fft (several threads, other devices, small fields) the transform keeps torch's
    autograd, so a differentiated gradient holds: gradgradcheck."""
    monkeypatch.setattr(fft, "_single_thread", lambda: False)
    x = torch.randn(2, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda a: fft.analysis(a, 2) ** 2, (x,))


def test_forward_library_setting(monkeypatch):
    """``FOSCAT_LIKE_FFT`` picks the forward transforms' library (ducc0 by default); any other
    value is a ValueError naming the setting."""
    monkeypatch.delenv(fft.ENV, raising=False)
    assert not fft._torch_forward()
    for v, want in (("torch", True), ("ducc0", False)):
        monkeypatch.setenv(fft.ENV, v)
        assert fft._torch_forward() is want
    monkeypatch.setenv(fft.ENV, "fftw")
    with pytest.raises(ValueError, match="FOSCAT_LIKE_FFT"):
        fft._torch_forward()


def test_single_thread_follows_torch():
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert fft._single_thread()
        torch.set_num_threads(2)
        assert not fft._single_thread()
    finally:
        torch.set_num_threads(n)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("n", [4096, 1000])
@pytest.mark.parametrize("mkl", [False, True])
def test_ifft_equals_torch_with_its_gradient(monkeypatch, dtype, n, mkl):
    monkeypatch.setattr(fft, "_single_thread", lambda: True)
    monkeypatch.setattr(fft, "_torch_forward", lambda: mkl)
    z = torch.randn(3, 2, n, dtype=dtype, requires_grad=True)
    a, b = fft.ifft(z), torch.fft.ifft(z)
    # ducc0: powers of 2 from 4096, where torch's FFTs are not MKL's
    assert (type(a.grad_fn).__name__ == "_IFFTBackward") == (n == 4096 and not mkl)
    tol = 1e-6 if dtype == torch.complex64 else 1e-14
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)
    g = torch.randn_like(b)
    ga, = torch.autograd.grad((a * g.conj()).real.sum(), z)
    gb, = torch.autograd.grad((b * g.conj()).real.sum(), z)
    torch.testing.assert_close(ga, gb, rtol=tol, atol=tol)
