"""Kymatio 0.3's frontend behaviour (what its own frontend tests check), on our classes.

Reference outputs of the options (T=0, average=False, out_type='list', oversampling, custom T,
pre_pad) come from Kymatio 0.3.0: tests/data/make_kymatio_reference.py frontend.
"""
import json
import os
import warnings

import numpy as np
import pytest
import torch

from foscat_like.classic import HarmonicScattering3D, Scattering1D, Scattering2D
from foscat_like.classic.frontend import ScatteringBase
from foscat_like.classic.scattering1d import ShapeError

REF = np.load(os.path.join(os.path.dirname(__file__), "data", "kymatio_ref_frontend.npz"))
CASES = json.loads(str(REF["cases"]))
CASES_FRONTEND_1D = [(n, J, N, tuple(Q) if isinstance(Q, list) else Q, kw) for n, J, N, Q, kw in CASES["1d"]]
CASES_FRONTEND_2D = [(n, J, tuple(shape), L, kw) for n, J, shape, L, kw in CASES["2d"]]


def _rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def _check_paths(prefix, out):
    n = int(REF[prefix + "_npaths"])
    assert isinstance(out, list) and len(out) == n
    width = REF[prefix + "_n"].shape[1]
    for k, p in enumerate(out):
        ref = REF[f"{prefix}_c{k}"]
        assert p["coef"].shape == ref.shape, (prefix, k)
        assert _rel(p["coef"], ref) < 1e-6, (prefix, k)
        for key in ("j", "n"):
            row = list(p[key]) + [np.nan] * (width - len(p[key]))
            np.testing.assert_array_equal(row, REF[f"{prefix}_{key}"][k])


@pytest.mark.parametrize("case", CASES_FRONTEND_1D, ids=[c[0] for c in CASES_FRONTEND_1D])
def test_1d_options_equal_kymatio(case):
    name, J, N, Q, kw = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        S = Scattering1D(J, N, Q, **kw)
    out = S(REF[f"1d_{name}_x"])
    if kw.get("out_type") == "list":
        _check_paths(f"1d_{name}", out)
    else:
        ref = REF[f"1d_{name}_S"]
        assert out.shape == ref.shape and out.dtype == np.float64 and _rel(out, ref) < 1e-6


@pytest.mark.parametrize("case", CASES_FRONTEND_2D, ids=[c[0] for c in CASES_FRONTEND_2D])
def test_2d_options_equal_kymatio(case):
    name, J, shape, L, kw = case
    out = Scattering2D(J, shape, L, **kw)(REF[f"2d_{name}_x"])
    if kw.get("out_type") == "list":
        _check_paths(f"2d_{name}", out)
        assert all(set(p) == {"coef", "j", "n", "theta"} for p in out)
    else:
        ref = REF[f"2d_{name}_S"]
        assert out.shape == ref.shape and _rel(out, ref) < 1e-6


def test_1d_positional_order_T_and_oversampling_shapes():
    x = torch.randn(2, 1024)
    S0 = Scattering1D(6, 1024, 8)(x)
    S1 = Scattering1D(6, 1024, 8, 16)(x)                       # (J, shape, Q, T)
    assert S1.shape == S0.shape[:2] + (S0.shape[2] * 4,)
    S2 = Scattering1D(6, 1024, 8, oversampling=1)(x)
    assert S2.shape == S0.shape[:2] + (S0.shape[2] * 2,)
    S = Scattering1D(6, 1024, 8, None, 1)                      # (..., T, max_order)
    assert S.max_order == 1 and S(x).shape[1] == 1 + len(S.psi1_f)


def test_1d_dict_output_mutable_attributes_and_output_size():
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 4096))).float()
    S = Scattering1D(6, 4096, 8, T=0, max_order=1, out_type="dict")
    s = S(x)
    assert set(s) == {()} | {(k,) for k in range(len(S.psi1_f))}
    S.max_order = 2
    s = S(x)
    expected = 1 + sum(1 + sum(f2["j"] > f1["j"] for f2 in S.psi2_f) for f1 in S.psi1_f)
    assert len(s) == expected == S.output_size()
    with pytest.raises(ValueError, match="Please set out_type to"):
        S.out_type = "array"
        S(x)
    # averaged: array and dict agree channel by channel (meta keys)
    S = Scattering1D(6, 4096, 8, out_type="dict")
    for order in (1, 2):
        S.max_order, S.out_type = order, "dict"
        d = S(x)
        S.out_type = "array"
        a = S(x)
        assert len(d) == a.shape[1] == S.output_size()
        sizes = S.output_size(detail=True)
        assert len(sizes) == order + 1 and sum(sizes) == a.shape[1]
        for c, key in enumerate(S.meta()["key"]):
            assert torch.allclose(a[:, c], d[key])
        assert S.meta()["j"].shape == (a.shape[1], order)


def test_1d_argument_errors_say_what_kymatio_says():
    with pytest.raises(ValueError, match="exactly one element"):
        Scattering1D(6, (5, 6), 8)
    with pytest.raises(ValueError, match="integer or a 1-tuple"):
        Scattering1D(6, 1.5, 8)
    with pytest.raises(ValueError, match="Q should always be >= 1"):
        Scattering1D(3, 1024, Q=0)
    assert Scattering1D(3, 1024, Q=(8,)).Q == Scattering1D(3, 1024, Q=(8, 1)).Q == (8, 1)
    with pytest.raises(ValueError, match="cannot exceed input length"):
        Scattering1D(3, 100, T=200)
    with pytest.raises(ValueError, match="out_type must be one"):
        Scattering1D(3, 1024, out_type="doesnotexist")
    with pytest.raises(ValueError, match="Cannot convert"):
        Scattering1D(3, 1024, T=0, out_type="array")
    with pytest.raises(ValueError, match="nonnegative"):
        Scattering1D(3, 1024, oversampling=-1)
    with pytest.raises(ValueError, match="integer"):
        Scattering1D(3, 1024, oversampling=0.5)
    with pytest.raises(ValueError, match="average must not be True if T=0"), pytest.warns(DeprecationWarning):
        Scattering1D(3, 1024, T=0, average=True)
    with pytest.warns(DeprecationWarning):
        S = Scattering1D(3, 1024, average=False, out_type="list")
    assert S.average is False and S.T == 8
    with pytest.raises(ValueError, match="at least one axis"):
        Scattering1D(3, 1024)(torch.zeros(()))


def test_shape_errors_are_both_value_and_runtime_errors():
    for exc in (ValueError, RuntimeError):
        with pytest.raises(exc, match="smallest dimension"):
            Scattering2D(10, shape=(10, 10))
        with pytest.raises(exc, match="Tensor must be of spatial size"):
            Scattering2D(3, (32, 32))(torch.randn(31, 31))
        with pytest.raises(exc, match="Padded tensor must be of spatial size"):
            Scattering2D(3, (32, 32), pre_pad=True)(torch.randn(32, 32))
        with pytest.raises(exc, match="at least two"):
            Scattering2D(3, (32, 32))(torch.zeros(32))
        with pytest.raises(exc, match="at least three"):
            HarmonicScattering3D(1, (8, 8, 8))(torch.zeros(8, 8))
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, RuntimeError)
    with pytest.raises(TypeError, match="input should be"):
        Scattering2D(3, (32, 32))(None)


@pytest.mark.parametrize("N", [31, 32, 33])
def test_2d_input_size_agnostic_and_batch_shapes(N):
    for J in (1, 2, 4):
        S = Scattering2D(J, shape=(N, N))
        assert S(torch.zeros(3, 3, N, N)).shape[:2] == (3, 3)
        Sp = Scattering2D(J, shape=(N, N), pre_pad=True)
        assert Sp(torch.zeros(3, Sp.M_padded, Sp.N_padded)).shape[-2:] == S.output_shape[1:]
    assert Scattering2D(5, shape=(37, 32))(torch.zeros(3, 37, 32)).shape[-2:] == (1, 1)
    S = Scattering2D(3, (32, 32))
    n = S(torch.zeros(32, 32)).shape[-3]
    for shape in ((1,), (2,), (2, 2), (2, 2, 2)):
        Sx = S(torch.zeros(shape + (32, 32)))
        assert Sx.shape == shape + (n, 4, 4)


def test_2d_list_dict_and_max_order_change():
    x = torch.randn(2, 16, 16)
    S = Scattering2D(2, (16, 16), L=4)
    a = S(x)
    S.out_type = "dict"
    d = S(x)
    assert len(d) == a.shape[-3] and torch.equal(d[(1, 4 + 2)], a[:, 1 + 8 + 1 * 4 + 2])
    S.out_type, S.max_order = "array", 1
    assert torch.allclose(S(x), a[:, :1 + 8])
    assert S.output_size(detail=True) == [1, 8]


def test_modules_frontends_backends_and_numpy_integers():
    S = Scattering2D(np.array(2), shape=(8, 8), L=np.int64(4), pre_pad=np.array(False), frontend="TORCH")
    assert isinstance(S, torch.nn.Module) and isinstance(S, ScatteringBase)
    assert S.to("cpu") is S and S.cpu() is S
    S = S.double()
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(S, (x,), nondet_tol=1e-5)
    model = torch.nn.Sequential(S, torch.nn.Flatten(), torch.nn.LazyLinear(3).double())
    assert model(x[:, 0]).shape == (2, 3)
    assert Scattering1D(np.array(3), np.array(256), np.array(2)).J == 3
    sk = Scattering2D(2, (8, 8), frontend="sklearn")
    from foscat_like.classic import sklearn as fsk
    assert isinstance(sk, fsk.Scattering2D)
    for bad in ("jax", "tensorflow", "keras"):
        with pytest.raises(ValueError, match="not available"):
            Scattering2D(2, (8, 8), frontend=bad)
    with pytest.raises(ValueError, match="frontend must be one of"):
        Scattering1D(2, 64, frontend="matlab")

    class Fake:
        name = "fake"
    with pytest.raises(ValueError, match="not supported"):
        Scattering2D(2, shape=(10, 10), backend=Fake())
    assert Scattering2D(2, (8, 8), backend="torch").J == 2
    with pytest.raises(ValueError, match="points"):
        HarmonicScattering3D(1, (8, 8, 8), points=np.zeros((2, 3)))


def test_numpy_dtypes_are_kymatio_numpy_frontend_dtypes():
    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        assert Scattering1D(3, 64)(rng.standard_normal(64).astype(dt)).dtype == np.float64
        assert Scattering2D(2, (8, 8))(rng.standard_normal((8, 8)).astype(dt)).dtype == dt
        assert HarmonicScattering3D(1, (6, 6, 6), L=1)(rng.standard_normal((6, 6, 6)).astype(dt)).dtype == np.float32
    assert Scattering1D(3, 64)(torch.randn(64)).dtype == torch.float32
    assert Scattering1D(3, 64)(torch.randn(64, dtype=torch.float64)).dtype == torch.float64


def test_kymatio_filter_attributes():
    S = Scattering1D(4, 256, 4)
    assert set(S.phi_f) == {"levels", "xi", "sigma", "j"} and S.phi_f["j"] == 4
    assert all(set(p) == {"levels", "xi", "sigma", "j"} for p in S.psi1_f + S.psi2_f)
    assert S.psi1_f[0]["levels"][0].shape == (S._N_padded,)
    assert S.ind_start[0] == S.pad_left and S.ind_end[0] == S.pad_left + 256
    S2 = Scattering2D(2, (32, 32), L=8)
    assert len(S2.psi) == 16 and (S2.psi[9]["j"], S2.psi[9]["theta"]) == (1, 1)
    assert S2.psi[0]["levels"][0].shape == (S2._M_padded, S2._N_padded)


def test_transforms_copy_and_pickle_like_modules():
    import copy
    import pickle
    x = torch.randn(2, 16, 16)
    S = Scattering2D(2, (16, 16), L=4, out_type="list")
    for T in (copy.deepcopy(S), pickle.loads(pickle.dumps(S))):
        assert type(T) is Scattering2D and T.out_type == "list"
        assert all(torch.equal(a["coef"], b["coef"]) for a, b in zip(T(x), S(x)))
    S1 = pickle.loads(pickle.dumps(Scattering1D(3, 64, 2, T=0, out_type="dict")))
    assert len(S1(torch.randn(64))) == S1.output_size()
    assert "J=2" in repr(S) and "L=4" in repr(S)


def test_bad_values_of_the_new_arguments_name_them():
    with pytest.raises(TypeError, match="pre_pad"):
        Scattering2D(2, (8, 8), pre_pad="yes")
    with pytest.raises(TypeError, match="backend"):
        Scattering2D(2, (8, 8), backend=5)
    with pytest.raises(ValueError, match="out_type must be one"):
        Scattering2D(2, (8, 8), out_type="tensor")
    with pytest.raises(TypeError, match="frontend"):
        Scattering1D(2, 64, frontend=3)
    with pytest.raises(TypeError, match="rotation_covariant"):
        HarmonicScattering3D(1, (8, 8, 8), rotation_covariant="no")
    with pytest.raises(TypeError, match="T must be an integer"):
        Scattering1D(2, 64, T=2.5)
    S = Scattering2D(2, (8, 8))
    S.max_order = 3
    with pytest.raises(ValueError, match="max_order"):
        S(torch.zeros(8, 8))


def test_chunks_run_side_by_side_forward_and_backward_with_the_same_numbers(monkeypatch):
    import foscat_like.threads as th
    calls = []
    real = th.parallel_map
    monkeypatch.setattr(th, "parallel_map", lambda fn, items, n: calls.append((len(items), n)) or real(fn, items, n))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for S, x in [(Scattering2D(2, (16, 16), L=4), torch.randn(5, 16, 16, dtype=torch.float64)),
                     (HarmonicScattering3D(1, (8, 8, 8), L=1), torch.randn(3, 8, 8, 8, dtype=torch.float64)),
                     (Scattering1D(3, 128, 2), torch.randn(3, 128, dtype=torch.float64))]:
            calls.clear()
            plain = S(x)                                            # no graph: chunks side by side
            assert calls and calls[-1][1] == 2 and calls[-1][0] >= 2
            assert torch.get_num_threads() == 2                     # restored
            xg = x.clone().requires_grad_()
            y = S(xg)                                               # graph: recorded chunk by chunk
            assert calls[-1][1] == 2 and calls[-1][0] >= 2
            g = torch.randn_like(y)
            gx, = torch.autograd.grad(y, xg, g, retain_graph=True)
            assert calls[-1][1] == 2                                # backward side by side too
            gx2, = torch.autograd.grad(y, xg, g)                    # the graph can be run twice
            S._side_by_side = False                                 # the same, chunks in turn
            k = len(calls)
            y1 = S(xg)
            gx1, = torch.autograd.grad(y1, xg, g)
            assert len(calls) == k                                  # no threads used
            assert torch.allclose(plain, y1.detach(), rtol=1e-12, atol=1e-14)
            assert torch.allclose(y, y1, rtol=1e-12, atol=1e-14)
            assert torch.allclose(gx, gx1, rtol=1e-12, atol=1e-14) and torch.equal(gx, gx2)
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_side_by_side_keeps_list_outputs_and_gradients():
    """1D with T=0 returns one tensor per path: side by side keeps the list and its gradients."""
    from foscat_like.threads import side_by_side
    S = Scattering1D(4, 256, Q=2, T=0, out_type="list")
    x = torch.randn(5, 256, dtype=torch.float64, requires_grad=True)
    ref = S._coefficients(x)
    out = side_by_side(S._coefficients, x, 2, 2)
    assert isinstance(out, list) and len(out) == len(ref)
    assert all(torch.allclose(a, b, rtol=1e-12, atol=1e-14) for a, b in zip(out, ref))
    w = [torch.randn_like(a) for a in ref]
    ga, = torch.autograd.grad(sum((a * v).sum() for a, v in zip(out, w)), x)
    gb, = torch.autograd.grad(sum((a * v).sum() for a, v in zip(ref, w)), x)
    assert torch.allclose(ga, gb, rtol=1e-12, atol=1e-14)


def test_the_migration_page_code_runs():
    """docs/kymatio_migration.md's code blocks run as written, with the shapes its comments give."""
    import re
    page = os.path.join(os.path.dirname(__file__), "..", "docs", "kymatio_migration.md")
    with open(page) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert blocks
    env: dict = {}
    exec(compile("\n".join(blocks), page, "exec"), env)
    assert tuple(env["Sx"].shape) == (4, 81, 8, 8)
    assert isinstance(env["paths"], list) and {"coef", "j", "n"} <= set(env["paths"][0])


def test_max_order_changed_after_a_call_gives_the_paths_of_the_new_order():
    """The path order is cached per (max_order, average, oversampling): changing max_order after
    a call must give order 1's paths, the same numbers as order 2's first ones, and back."""
    x = torch.randn(2, 1024, dtype=torch.float64)
    S = Scattering1D(6, 1024, 8)
    y2 = S(x)
    S.max_order = 1
    y1 = S(x)
    n1 = S.output_size()
    assert y1.shape[1] == n1 < y2.shape[1]
    assert torch.allclose(y1, y2[:, :n1], rtol=1e-12, atol=0)
    S.max_order = 2
    assert torch.equal(S(x), y2)
    assert np.array_equal(S.meta()["order"], [0] + [1] * (n1 - 1) + [2] * (y2.shape[1] - n1))
