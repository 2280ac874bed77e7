"""The classic transforms' compiled loops (``_ops_jit``: the complex modulus, plain or over an
axis; ``classic/_fold_jit``: the multiply-and-fold of ``fourier.fold_many``) against the torch
formulas they replace: values, gradients, a differentiated gradient, the rules that choose them,
and whole transforms."""
import numpy as np
import pytest
import torch

from foscat_like import ops
from foscat_like.classic import fourier
from foscat_like.classic.fourier import FoldedFilter, fold_many
from foscat_like.planar import HarmonicScattering3D, Scattering1D, Scattering2D

pytest.importorskip("numba")

OFF = 1 << 62


def _count(monkeypatch, module, name):
    """Count the calls of ``module.name`` (a compiled loop), still calling it."""
    calls = []
    target = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a: (calls.append(1), target(*a))[1])
    return calls


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_modulus_loops_equal_torch(one_thread, monkeypatch, dtype):
    from foscat_like import _ops_jit
    z0 = torch.randn(3, 7, 2000, dtype=dtype)
    z0[0, 0, :9] = 0                                    # gradient 0 at 0, no NaN
    g = torch.randn(3, 2000, 7, dtype=z0.real.dtype).transpose(1, 2)    # a strided gradient
    res = {}
    for mode in ("jit", "torch"):
        monkeypatch.setattr(ops, "MIN_JIT", 1 if mode == "jit" else OFF)
        fwd, bwd = _count(monkeypatch, _ops_jit, "modulus"), _count(monkeypatch, _ops_jit, "modulus_adjoint")
        z = z0.clone().requires_grad_()
        m = ops.modulus(z.transpose(1, 2))              # a non-contiguous input
        gz, = torch.autograd.grad(m, z, g.transpose(1, 2))
        assert (len(fwd), len(bwd)) == ((1, 1) if mode == "jit" else (0, 0))
        res[mode] = m, gz
    tol = 1e-6 if dtype == torch.complex64 else 1e-14
    assert torch.allclose(res["jit"][0], res["torch"][0], rtol=tol, atol=tol)
    assert torch.allclose(res["jit"][1], res["torch"][1], rtol=tol, atol=tol)
    assert torch.isfinite(res["jit"][1]).all() and (res["jit"][1][0, 0, :9] == 0).all()
    assert torch.allclose(res["jit"][0], z0.abs().transpose(1, 2), rtol=tol, atol=tol)


@pytest.mark.parametrize("dim", [0, 1, -2, 3])
@pytest.mark.parametrize("jit_on", [True, False])
def test_modulus_over_an_axis(one_thread, monkeypatch, dim, jit_on):
    """``modulus(z, dim) = sqrt(sum_dim |z|^2)``, on both routes, against the formula; a
    vector that is 0 has gradient 0."""
    monkeypatch.setattr(ops, "MIN_JIT", 1 if jit_on else OFF)
    z0 = torch.randn(3, 5, 4, 7, dtype=torch.complex128)
    z0[1, 2, :, 3] = 0
    z0[0, :, 1, 2] = 0
    z0[:, 1, 2, 4] = 0
    z = z0.clone().requires_grad_()
    m = ops.modulus(z, dim)
    want = torch.sqrt((z0.abs() ** 2).sum(dim))
    torch.testing.assert_close(m, want, rtol=1e-13, atol=1e-14)
    g = torch.randn_like(m)
    gz, = torch.autograd.grad(m, z, g)
    zz = z0.clone().requires_grad_()
    ref, = torch.autograd.grad(torch.sqrt((zz.abs() ** 2).sum(dim) + 1e-300), zz, g)
    torch.testing.assert_close(gz, ref, rtol=1e-10, atol=1e-12)
    assert torch.isfinite(gz).all()


def test_modulus_refuses_bad_input():
    z = torch.randn(2, 3, dtype=torch.complex64)
    with pytest.raises(ValueError, match="dim must be in"):
        ops.modulus(z, 2)
    with pytest.raises(ValueError, match="dim must be in"):
        ops.modulus(z, -3)
    with pytest.raises(TypeError, match="dim must be an int"):
        ops.modulus(z, 1.0)
    with pytest.raises(TypeError, match="complex tensor z"):
        ops.modulus(z.real)
    with pytest.raises(TypeError, match="complex tensor z"):
        ops.modulus(z.numpy())


def test_modulus_loops_gradcheck(one_thread, monkeypatch):
    monkeypatch.setattr(ops, "MIN_JIT", 1)
    z = torch.randn(4, 3, 11, dtype=torch.complex128, requires_grad=True)
    for f in (ops.modulus, lambda u: ops.modulus(u, 1)):
        assert torch.autograd.gradcheck(f, (z,))
        assert torch.autograd.gradgradcheck(f, (z,))             # the torch formulas


def test_modulus_rules(monkeypatch):
    z = torch.randn(1 << 16, dtype=torch.complex64)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert ops._jit_modulus(z)
        assert not ops._jit_modulus(z[:1000])                   # small: torch (no numba import)
        assert not ops._jit_modulus(z.real)                     # real input: not a modulus
        torch.set_num_threads(2)
        assert not ops._jit_modulus(z)                          # torch's passes use both cores
    finally:
        torch.set_num_threads(before)


def _banks(rng, cases):
    fs = []
    for shape, k, nd, cut in cases:
        f = rng.standard_normal(shape)
        if cut:                                       # blocks below NEGLIGIBLE: skipped, zeros
            f[(Ellipsis, slice(0, shape[-nd] // k)) + (slice(None),) * (nd - 1)] *= 1e-12
        fs.append(FoldedFilter(f, k, nd))
    return fs


FOLDS = [
    ((3, 1, 32, 48), [((8, 32, 48), 1, 2, False)]),                               # 2D level 0
    ((2, 5, 1, 32, 48), [((8, 32, 48), 2, 2, True), ((8, 32, 48), 4, 2, False)]),  # order 2
    ((4, 1, 256), [((6, 256), 4, 1, False), ((3, 256), 8, 1, True)]),              # 1D banks
    ((4, 6, 256), [((256,), 4, 1, False)]),                                        # 1D low-pass
    ((4, 1, 256), [((6, 256), 4, 1, True)]),                     # no filter tiles: zeros kept
]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("U_shape, cases", FOLDS)
def test_fold_loops_equal_torch(one_thread, monkeypatch, dtype, U_shape, cases):
    from foscat_like.classic import _fold_jit
    fs = _banks(np.random.default_rng(0), cases)
    U0 = torch.randn(U_shape, dtype=dtype)
    res = {}
    for mode in ("jit", "torch"):
        monkeypatch.setattr(fourier, "MIN_JIT", 1 if mode == "jit" else OFF)
        fwd, bwd = _count(monkeypatch, _fold_jit, "fold"), _count(monkeypatch, _fold_jit, "fold_adjoint")
        U = U0.clone().requires_grad_()
        outs = fold_many(U, fs)
        torch.manual_seed(1)
        gs = [torch.randn_like(o) for o in outs]
        gU, = torch.autograd.grad(outs, U, gs)
        assert (len(fwd), len(bwd)) == ((len(fs), len(fs)) if mode == "jit" else (0, 0))
        res[mode] = outs, gU
    tol = 1e-5 if dtype == torch.complex64 else 1e-13
    for a, b in zip(res["jit"][0], res["torch"][0]):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=tol, atol=tol)
    assert torch.allclose(res["jit"][1], res["torch"][1], rtol=tol, atol=tol)
    # against the definition: fold = mean of the k^nd blocks of U * f
    f, k, nd = fs[0]._f, fs[0].k, fs[0].ndim
    prod = (U0 * torch.as_tensor(f)).numpy()                # a bank broadcasts on U's singleton
    sub = fs[0].sub
    want = sum(prod[(Ellipsis,) + tuple(slice(i * s, (i + 1) * s) for i, s in zip(idx, sub))]
               for idx in np.ndindex(*(k,) * nd)) / k ** nd
    assert np.allclose(res["jit"][0][0].detach().numpy(), want, rtol=1e-4, atol=1e-4)


def test_fold_loops_gradcheck(one_thread, monkeypatch):
    monkeypatch.setattr(fourier, "MIN_JIT", 1)
    fs = _banks(np.random.default_rng(1), [((3, 8, 12), 2, 2, False), ((3, 8, 12), 4, 2, True)])
    U = torch.randn(2, 1, 8, 12, dtype=torch.complex128, requires_grad=True)
    assert fourier._jit_fold(U, fs)
    fn = lambda u: tuple(fold_many(u, fs))                          # noqa: E731
    assert torch.autograd.gradcheck(fn, (U,))
    assert torch.autograd.gradgradcheck(fn, (U,))               # the torch formulas
    assert torch.autograd.gradgradcheck(lambda u: fold_many(u, fs)[1], (U,))   # one output used


def test_fold_rules(monkeypatch):
    fs = _banks(np.random.default_rng(2), [((8, 64, 64), 2, 2, False)])
    U = torch.randn(2, 4, 1, 64, 64, dtype=torch.complex64)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert fourier._jit_fold(U, fs)
        assert not fourier._jit_fold(U, [])
        assert not fourier._jit_fold(U[:, :, 0], fs)            # a bank needs U's singleton axis
        assert not fourier._jit_fold(U[:1, :1], fs)             # small: torch
        torch.set_num_threads(2)
        assert not fourier._jit_fold(U, fs)
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("make", [
    lambda: (Scattering2D(3, (48, 40), L=4), torch.randn(3, 48, 40, dtype=torch.float64)),
    lambda: (Scattering1D(5, 512, Q=4), torch.randn(3, 512, dtype=torch.float64)),
    lambda: (Scattering1D(4, 256, Q=2, T=0, out_type="list"), torch.randn(2, 256, dtype=torch.float64)),
    lambda: (HarmonicScattering3D(2, (12, 12, 12), L=2), torch.randn(2, 12, 12, 12, dtype=torch.float64)),
])
def test_transforms_equal_on_both_routes(one_thread, monkeypatch, make):
    """A whole transform and its gradient, the compiled loops against the torch formulas."""
    S, x = make()
    res = {}
    for mode in ("jit", "torch"):
        monkeypatch.setattr(ops, "MIN_JIT", 1 if mode == "jit" else OFF)
        monkeypatch.setattr(fourier, "MIN_JIT", 1 if mode == "jit" else OFF)
        xr = x.clone().requires_grad_()
        y = S(xr)
        y = torch.cat([p["coef"].flatten() for p in y]) if isinstance(y, list) else y
        g, = torch.autograd.grad((y * torch.linspace(-1, 1, y.numel()).view(y.shape)).sum(), xr)
        res[mode] = y, g
    assert torch.allclose(res["jit"][0], res["torch"][0], rtol=1e-12, atol=1e-14)
    assert torch.allclose(res["jit"][1], res["torch"][1], rtol=1e-12, atol=1e-14)
