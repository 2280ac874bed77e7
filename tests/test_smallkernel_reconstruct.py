"""Small spatial-kernel backend and reconstruction from classic scattering coefficients."""
import numpy as np
import pytest
import torch

from foscat_like.datasets import load_texture
from foscat_like.planar import Scattering1D, Scattering2D
from foscat_like.planar.reconstruct import reconstruct
from foscat_like.planar.smallkernel import SmallKernelScattering2D, fit_kernels

rel = lambda a, b: float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_small_kernel_approximates_the_fft_transform_on_a_held_out_image():
    x = load_texture("brick", 128)[None]          # the shipped kernels were fitted on gravel + grass
    ref = Scattering2D(4, (128, 128), 8)(x)
    fitted = SmallKernelScattering2D(4, (128, 128), 8)
    derived = SmallKernelScattering2D(4, (128, 128), 8, kernels="derived")
    assert fitted.kernel_source == "fitted"
    S = fitted(x)
    assert S.shape == ref.shape
    assert rel(S, ref) < 0.2
    assert rel(S, ref) < 0.8 * rel(derived(x), ref)
    # coefficient order: each S1 channel is closest to the FFT channel it claims to be
    S1, R1 = S[0, 1:33].reshape(32, -1), ref[0, 1:33].reshape(32, -1)
    dist = ((S1[:, None] - R1[None]) ** 2).sum(-1)
    assert (dist.argmin(1) == np.arange(32)).mean() > 0.9


def test_fit_lowers_the_deviation_and_autograd_flows():
    x = np.stack([load_texture("gravel", 32)])
    k = fit_kernels(x, J=2, L=4, maxiter=4)
    ref = Scattering2D(2, (32, 32), 4)(x)
    d0 = rel(SmallKernelScattering2D(2, (32, 32), 4, kernels="derived")(x), ref)
    assert rel(SmallKernelScattering2D(2, (32, 32), 4, kernels=k)(x), ref) < d0
    v = torch.randn(2, 32, 32, requires_grad=True)
    SmallKernelScattering2D(2, (32, 32), 4)(v).sum().backward()     # L=4: derived kernels
    assert v.grad is not None and torch.isfinite(v.grad).all()
    with pytest.raises(ValueError, match="kernel_size"):
        SmallKernelScattering2D(2, (32, 32), 4, kernel_size=6)


def test_reconstruction_of_an_image_at_small_J():
    x = load_texture("brick", 64)[:32, :32].copy()
    S = Scattering2D(1, (32, 32), L=8)
    xh, hist = reconstruct(S, S(x), NUM_EPOCHS=200, return_history=True)
    assert rel(xh, x) < 0.2
    assert len(hist) > 10 and hist[-1] < hist[0]
    assert not hasattr(S, "reconstruct_history")          # nothing stored on the transform
    with pytest.raises(ValueError, match="Sx must be the coefficients of one signal"):
        reconstruct(S, S(np.stack([x, x])))


def test_reconstruction_of_a_chirp_keeps_its_spectrogram():
    from scipy.signal import stft
    t = np.arange(512) / 512
    x = np.cos(2 * np.pi * (5 * t + 80 * t ** 2)) * np.hanning(512)
    S = Scattering1D(4, 512, Q=8)
    xh = reconstruct(S, S(x), NUM_EPOCHS=200)
    mag = lambda v: np.abs(stft(v, nperseg=64)[2])
    noise = np.random.default_rng(0).standard_normal(512) * x.std()
    assert rel(mag(xh), mag(x)) < 0.2 < rel(mag(noise), mag(x))
