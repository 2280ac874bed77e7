"""3D solid-harmonic scattering: equal to Kymatio 0.3.0 on stored reference outputs."""
import os

import numpy as np
import pytest
import torch

from foscat_like.planar import HarmonicScattering3D

REF = np.load(os.path.join(os.path.dirname(__file__), "data", "kymatio_ref_3d.npz"))
CASES = sorted({k.split("_")[1] for k in REF.files})


def _make(i):
    J, M, N, O, L, order, rot = (int(v) for v in REF[f"3d_{i}_params"])
    return HarmonicScattering3D(J, (M, N, O), L=L, max_order=order, rotation_covariant=bool(rot),
                                integral_powers=tuple(REF[f"3d_{i}_powers"]))


@pytest.mark.parametrize("i", CASES)
def test_equal_to_kymatio(i):
    S, ref = _make(i)(REF[f"3d_{i}_x"]), REF[f"3d_{i}_S"]
    assert S.shape == ref.shape and S.dtype == np.float32
    assert np.abs(S - ref).max() <= 1e-5 * np.abs(ref).max()


def test_torch_autograd_float64_and_batch_dims():
    op = HarmonicScattering3D(1, (8, 8, 8), L=1, max_order=2)
    x = torch.randn(2, 1, 8, 8, 8, dtype=torch.float64, requires_grad=True)
    S = op(x)
    assert S.shape == (2, 1, op.output_size(), 2, 3) and S.dtype == torch.float64
    small = HarmonicScattering3D(1, (4, 4, 4), L=1, max_order=2, integral_powers=(1.0, 2.0))
    v = torch.randn(1, 4, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(small, (v,), eps=1e-6, atol=1e-5)


def test_rotation_and_translation_invariance():
    """Rotation-covariant moduli summed over space: a periodic shift, and a 90-degree rotation
    of a smooth volume (an axis swap + flip; the frequency grid is symmetric up to the Nyquist
    plane, where a smooth volume has no power), leave the output unchanged."""
    g = np.mgrid[:16, :16, :16].astype(float)
    rng = np.random.default_rng(0)
    x = sum(w * np.exp(-((g - c[:, None, None, None]) ** 2).sum(0) / 8.0)
            for w, c in zip(rng.uniform(0.5, 2, 6), rng.uniform(4, 12, (6, 3))))
    op = HarmonicScattering3D(2, (16, 16, 16), L=2)
    S = op(x)
    np.testing.assert_allclose(op(np.roll(x, (3, -2, 5), axis=(0, 1, 2))), S, rtol=1e-10)
    R = op(np.flip(np.swapaxes(x, 0, 1), 0).copy())
    np.testing.assert_allclose(R, S, rtol=1e-6)
    assert np.abs(op(np.roll(x, 4, axis=0) * (1 + 0.2 * g[0] / 16)) - S).max() > 1e-3 * np.abs(S).max()


def test_bad_arguments():
    with pytest.raises(ValueError, match="shape must be"):
        HarmonicScattering3D(1, (8, 8))
    with pytest.raises(ValueError, match="max_order"):
        HarmonicScattering3D(1, (8, 8, 8), max_order=3)
    with pytest.raises(ValueError, match="integral_powers"):
        HarmonicScattering3D(1, (8, 8, 8), integral_powers=(0.0,))
    with pytest.raises(ValueError, match="trailing shape"):
        HarmonicScattering3D(1, (8, 8, 8))(np.zeros((8, 8, 9)))


def test_chunked_scales_give_the_same_output(monkeypatch):
    import foscat_like.planar.harmonic3d as h3
    x = np.random.default_rng(1).standard_normal((2, 8, 8, 8))
    full = HarmonicScattering3D(2, (8, 8, 8), L=2)(x)
    monkeypatch.setattr(h3, "CHUNK_ELEMENTS", 1)      # one scale at a time
    np.testing.assert_array_equal(HarmonicScattering3D(2, (8, 8, 8), L=2)(x), full)
