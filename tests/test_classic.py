"""Classic scattering: equality with stored Kymatio 0.3.0 outputs, API, gradients, errors."""
import os

import numpy as np
import pytest
import torch

from foscat_like.planar import Scattering1D, Scattering2D

REF = np.load(os.path.join(os.path.dirname(__file__), "data", "kymatio_ref.npz"))


def _cases(prefix):
    return sorted({k.rsplit("_", 1)[0] for k in REF.files if k.startswith(prefix)})


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("case", _cases("2d_"))
def test_scattering2d_equals_kymatio(case):
    J, M, N, L, order = (int(v) for v in REF[case + "_params"])
    x, S_ref = REF[case + "_x"], REF[case + "_S"]
    S = Scattering2D(J, (M, N), L=L, max_order=order)(x)
    assert S.shape == S_ref.shape and S.dtype == np.float32
    assert _rel(S, S_ref) < 1e-5
    # every channel individually, not just the energy-dominant S0
    ch = S_ref.reshape(-1, *S_ref.shape[-3:])
    got = S.reshape(ch.shape)
    per_channel = np.sqrt(((got - ch) ** 2).sum(axis=(0, 2, 3)) / (ch ** 2).sum(axis=(0, 2, 3)))
    assert per_channel.max() < 1e-4


@pytest.mark.parametrize("case", _cases("1d_"))
def test_scattering1d_equals_kymatio(case):
    J, N, Q1, Q2, order = (int(v) for v in REF[case + "_params"])
    x, S_ref = REF[case + "_x"], REF[case + "_S"]
    S = Scattering1D(J, N, Q=(Q1, Q2), max_order=order)(x)
    assert S.shape == S_ref.shape
    assert _rel(S, S_ref) < 1e-5


def test_output_shapes_and_meta_2d():
    J, L = 3, 6
    S = Scattering2D(J, (40, 24), L=L)
    assert S.output_shape == (1 + J * L + L * L * J * (J - 1) // 2, 5, 3)
    m = S.meta()
    assert len(m["order"]) == S.output_shape[0]
    assert (m["order"] == 2).sum() == L * L * J * (J - 1) // 2
    # channel 1 + j1*L + l1 is the first-order (j1, l1) coefficient
    assert m["j"][1 + 2 * L + 4, 0] == 2 and m["theta"][1 + 2 * L + 4, 0] == 4
    assert np.all(m["j"][m["order"] == 2, 1] > m["j"][m["order"] == 2, 0])


def test_meta_1d_matches_channels():
    S = Scattering1D(6, 512, Q=4)
    m = S.meta()
    out = S(np.zeros(512, np.float32))
    assert out.shape[0] == len(m["order"]) == S.output_size()
    o2 = m["order"] == 2
    assert np.all(m["j"][o2, 1] > m["j"][o2, 0])
    assert np.all(np.diff(m["xi"][m["order"] == 1, 0]) < 0)  # high to low frequency


def test_torch_frontend_batch_dtype_and_grad():
    torch.manual_seed(0)
    S = Scattering2D(2, (16, 16), L=4)
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64, requires_grad=True)
    y = S(x)
    assert isinstance(y, torch.Tensor) and y.shape == (2, 3, 1 + 8 + 16, 4, 4) and y.dtype == torch.float64
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    # numpy in -> numpy out, same numbers
    np.testing.assert_allclose(S(x.detach().numpy()), y.detach().numpy(), rtol=1e-10)


def test_gradcheck_float64():
    torch.manual_seed(0)
    S2 = Scattering2D(2, (8, 12), L=3)
    x = torch.randn(1, 8, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(S2, (x,), eps=1e-6, atol=1e-6)
    S1 = Scattering1D(3, 40, Q=2)
    t = torch.randn(1, 40, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(S1, (t,), eps=1e-6, atol=1e-6)


def test_folded_filter_with_skipped_blocks_matches_the_full_product_and_its_gradient():
    """J=4: the order-2 folds skip the blocks where the wavelet is negligible; value and gradient
    must equal the full product folded (torch's own autograd), the skipped blocks' gradient 0."""
    S = Scattering2D(4, (64, 64), L=2)
    fold = S._psi2[0, 3]
    used = [sl for sl, _ in fold.blocks]
    skipped = [sl for sl in ((slice(i * fold.sub[0], (i + 1) * fold.sub[0]), slice(j * fold.sub[1], (j + 1) * fold.sub[1]))
                             for i in range(fold.k) for j in range(fold.k)) if sl not in used]
    assert skipped, "this case must exercise skipped blocks"
    torch.manual_seed(0)
    U = torch.randn((2, 1) + S.filters.psi[3][0].shape[-2:], dtype=torch.complex128, requires_grad=True)
    w = torch.randn((2, 2) + fold.sub, dtype=torch.complex128)
    (torch.view_as_real(fold(U)) * torch.view_as_real(w)).sum().backward()
    f = torch.as_tensor(S.filters.psi[3][0])                       # (L, M, N) full filters
    k = fold.k
    V = U.detach().clone().requires_grad_(True)
    full = (V * f).reshape(2, 2, k, fold.sub[0], k, fold.sub[1]).mean((2, 4))
    (torch.view_as_real(full) * torch.view_as_real(w)).sum().backward()
    assert torch.allclose(fold(U.detach()), full.detach(), atol=1e-9 * float(f.abs().max()))
    assert torch.allclose(U.grad, V.grad, atol=1e-9 * float(V.grad.abs().max()))
    for sl in skipped:
        assert (U.grad[(Ellipsis,) + sl] == 0).all()


def test_fold_many_gathers_every_filters_gradient_in_one_buffer():
    """Several folds of one spectrum (a full-tiling one, one with skipped blocks, one whose
    output is unused) as one node: values and gradient equal to the folds taken one by one."""
    from foscat_like.classic.fourier import fold_many
    S = Scattering2D(4, (64, 64), L=2)
    ops = [S._psi2[0, 1], S._psi2[0, 3], S._psi2[0, 2]]
    torch.manual_seed(1)
    U = torch.randn((2, 1) + S.filters.psi[3][0].shape[-2:], dtype=torch.complex128, requires_grad=True)
    V = U.detach().clone().requires_grad_(True)
    outs, alone = fold_many(U, ops), [op(V) for op in ops]
    ws = [torch.randn(o.shape, dtype=torch.complex128) for o in outs[:2]]   # the third unused
    sum((torch.view_as_real(o) * torch.view_as_real(w)).sum() for o, w in zip(outs, ws)).backward()
    sum((torch.view_as_real(o) * torch.view_as_real(w)).sum() for o, w in zip(alone, ws)).backward()
    for a, b in zip(outs, alone):
        assert torch.equal(a, b)
    assert torch.allclose(U.grad, V.grad, rtol=1e-12, atol=1e-12 * float(V.grad.abs().max()))
    # the skipping fold written first must not leave the full one's blocks unzeroed
    U2 = U.detach().clone().requires_grad_(True)
    o = fold_many(U2, ops[1:2] + ops[:1])
    (torch.view_as_real(o[0]) * torch.view_as_real(ws[1])).sum().backward()
    V2 = U.detach().clone().requires_grad_(True)
    (torch.view_as_real(ops[1](V2)) * torch.view_as_real(ws[1])).sum().backward()
    assert torch.allclose(U2.grad, V2.grad, rtol=1e-12, atol=1e-12 * float(V2.grad.abs().max()))


def test_lowpass_matrix_is_multiply_fold_inverse_fft_and_crop():
    """The matrix rows (the periodic kernel centred on ``k r``) against the operation itself on
    every unit vector: FFT, multiply by the filter, fold by ``k``, inverse FFT, crop."""
    from foscat_like.classic.fourier import SeparableLowpass, lowpass_matrix
    n, k, rows = 96, 8, slice(1, -1)
    a = np.exp(-0.5 * (np.fft.fftfreq(n) * n / 3.0) ** 2)          # real, even Gaussian
    U = np.fft.fft(np.eye(n), axis=0) * a[:, None]
    want = np.fft.ifft(U.reshape(k, n // k, n).mean(axis=0), axis=0)[rows]
    assert np.abs(want.imag).max() < 1e-12
    np.testing.assert_allclose(lowpass_matrix(a, k, rows), want.real, atol=1e-14)
    u = torch.randn(3, 2, n, dtype=torch.float64)
    got = SeparableLowpass([a], k, [rows])(u)                      # one axis: u Aᵀ
    assert got.shape == (3, 2, n // k - 2)
    assert torch.allclose(got, u @ torch.as_tensor(want.real).T, atol=1e-12)
    with pytest.raises(ValueError, match="one or two factors"):
        SeparableLowpass([a, a, a], k, [rows] * 3)


def test_gradient_finite_at_zero_input():
    S = Scattering2D(2, (16, 16), L=4)
    x = torch.zeros(1, 16, 16, requires_grad=True)
    S(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_translation_invariance_grows_with_J():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((128,)).astype(np.float32)
    xs = np.roll(x, 2)
    d = [_rel(Scattering1D(J, 128)(xs), Scattering1D(J, 128)(x)) for J in (2, 5)]
    assert d[1] < d[0]


def test_integer_numpy_input_is_accepted_as_float32():
    img = (np.arange(256).reshape(16, 16) % 7).astype(np.uint8)
    S = Scattering2D(2, (16, 16), L=4)
    np.testing.assert_allclose(S(img), S(img.astype(np.float32)), rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(J=5, shape=(16, 16)), "J=5 too large"),
    (dict(J=0, shape=(16, 16)), "J must be >= 1"),
    (dict(J=2, shape=(16,)), "shape must be a pair"),
    (dict(J=2, shape=(16, 16), max_order=3), "max_order"),
    (dict(J=2, shape=(16, 16), L=0), "L must be >= 1"),
])
def test_scattering2d_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Scattering2D(**kwargs)


def test_scattering1d_bad_construction():
    with pytest.raises(ValueError, match="exceeds the signal length"):
        Scattering1D(8, 100)
    with pytest.raises(ValueError, match="Q should always be >= 1"):
        Scattering1D(3, 100, Q=0)
    with pytest.raises(TypeError, match="J must be an integer"):
        Scattering1D(2.5, 100)


def test_bad_inputs():
    S = Scattering2D(2, (16, 16), L=4)
    with pytest.raises(ValueError, match="must be of spatial size"):
        S(np.zeros((16, 15), np.float32))
    with pytest.raises(ValueError, match="at least two dimensions"):
        S(np.zeros(16, np.float32))
    bad = np.zeros((16, 16), np.float32)
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        S(bad)
    with pytest.raises(TypeError, match="complex"):
        S(np.zeros((16, 16), np.complex64))
    with pytest.raises(TypeError, match="floating-point"):
        S(torch.zeros(16, 16, dtype=torch.int64))


def test_separable_lowpass_equals_the_fourier_fold_and_refuses_non_separable_filters():
    from foscat_like.classic.fourier import SeparableLowpass, separable_factors
    rng = np.random.default_rng(3)
    S = Scattering2D(3, (40, 24), L=2)
    phi, k = S.filters.phi[1], 4                          # resolution 2^1 -> 2^3
    u = rng.standard_normal((2, *phi.shape))
    folded = (np.fft.fft2(u) * phi).reshape(2, k, phi.shape[0] // k, k, phi.shape[1] // k).mean(axis=(1, 3))
    ref = np.fft.ifft2(folded).real[:, 1:-1, 1:-1]
    out = SeparableLowpass(separable_factors(phi), k, [slice(1, -1)] * 2)(torch.from_numpy(u)).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-12 * np.abs(ref).max())
    with pytest.raises(ValueError, match="not separable"):
        separable_factors(rng.standard_normal((8, 8)))
