"""The seams around the core: keyword-only configs, no hidden state, and one clear answer to every
class of bad input (issue 16's fuzz findings, one test per class)."""
import os
import warnings

import numpy as np
import pytest
import torch

import foscat_like as fl
from foscat_like.datasets import load_texture
from foscat_like.optim.config import SeparationConfig, SynthesisConfig
from foscat_like.optim.plan import level_scales

hp = pytest.importorskip("healpy")


@pytest.fixture(scope="module")
def tex():
    return load_texture("gravel", 32)


# -- keywords and configs ------------------------------------------------------------------
def test_funct_keywords_are_never_swallowed():
    with pytest.raises(TypeError, match="'NORIENTS'.*did you mean 'NORIENT'"):
        fl.funct(NORIENTS=8)
    with pytest.raises(TypeError, match="'max_memry'.*did you mean 'max_memory'"):
        fl.funct(max_memry="4GB")
    fl.funct(LAMBDA=1.2, all_type="float32", BACKEND="torch", silent=True)    # FOSCAT defaults: fine
    with pytest.raises(ValueError, match="slope=2.0.*not supported"):
        fl.funct(slope=2.0)
    with pytest.warns(UserWarning, match="TEMPLATE_PATH.*no effect"):
        fl.funct(TEMPLATE_PATH="/tmp/x")
    with pytest.raises(TypeError, match="NORIENT must be an integer"):
        fl.funct(NORIENT=4.0)


def test_configs_are_keyword_only_frozen_and_checked():
    with pytest.raises(TypeError, match="keyword arguments only"):
        SynthesisConfig(3, 1234)
    with pytest.raises(TypeError, match="'NUM_EPOCH'.*did you mean 'NUM_EPOCHS'"):
        SynthesisConfig(NUM_EPOCH=10)
    cfg = SynthesisConfig(nstep=None)
    with pytest.raises(Exception):
        cfg.nstep = 3                               # frozen: nothing downstream changes it
    level_scales(fl.funct(grid="2d").grid, (64, 64), cfg.nstep, None, False)
    assert cfg.nstep is None
    with pytest.raises(TypeError, match="histogram must be True or False"):
        SynthesisConfig(histogram="no")
    with pytest.raises(ValueError, match="n_noise must be >= 2"):
        SeparationConfig(n_noise=1)
    assert SynthesisConfig(NUM_EPOCHS=5).replace(seed=3).NUM_EPOCHS == 5


@pytest.mark.parametrize("kw, err, msg", [
    (dict(seed=None), TypeError, "seed must be an integer"),
    (dict(seed="1"), TypeError, "seed must be an integer"),
    (dict(seed=1.5), TypeError, "seed must be an integer"),
    (dict(seed=np.random.default_rng(0)), TypeError, "seed must be an integer"),
    (dict(seed=2 ** 70), ValueError, "seed must be <="),
    (dict(n_up=1.0), TypeError, "n_up must be an integer"),
    (dict(n_up=-1), ValueError, "n_up must be >= 0"),
    (dict(nstep=0), ValueError, "nstep must be >= 1"),
    (dict(NUM_EPOCHS=0), ValueError, "NUM_EPOCHS must be >= 1"),
    (dict(synthesised_N=0), ValueError, "synthesised_N must be >= 1"),
    (dict(precision="half"), ValueError, "precision must be one of"),
    (dict(iso_ang=True, fft_ang=True), ValueError, "cannot both be True"),
])
def test_synthesis_arguments_fail_clearly(tex, kw, err, msg):
    with pytest.raises(err, match=msg):
        fl.funct(grid="2d").synthesis(tex, progress=False, **kw)


def test_numpy_integers_are_integers(tex):
    y = fl.funct(NORIENT=np.int64(4), grid="2d").synthesis(tex, seed=np.int64(3), NUM_EPOCHS=np.int32(1),
                                                            nstep=1, progress=False)
    assert y.shape == tex.shape


# -- checkpoints ------------------------------------------------------------------------
def test_checkpoints_refuse_other_runs_and_bad_files(tex, tmp_path):
    ck = str(tmp_path / "c.pt")
    kw = dict(nstep=2, NUM_EPOCHS=3, progress=False, checkpoint=ck)
    fl.funct(grid="2d").synthesis(tex, **kw)
    with pytest.raises(ValueError, match="other arguments or data"):
        fl.funct(NORIENT=2, grid="2d").synthesis(tex, **kw)        # other NORIENT, same config
    perm = tex.T.copy()                  # same shape, sum and sum of squares: another field
    with pytest.raises(ValueError, match="other arguments or data"):
        fl.funct(grid="2d").synthesis(perm, **kw)
    mask = np.ones_like(tex); mask[:4] = 0
    with pytest.raises(ValueError, match="other arguments or data"):
        fl.funct(grid="2d").synthesis(tex, in_mask=mask, **kw)
    for content in (b"", b"garbage", b"PK\x03\x04 truncated"):
        open(ck, "wb").write(content)
        with pytest.raises(ValueError, match="cannot be read|not a foscat_like checkpoint"):
            fl.funct(grid="2d").synthesis(tex, **kw)
    torch.save({"u": 1}, ck)
    with pytest.raises(ValueError, match="not a foscat_like checkpoint"):
        fl.funct(grid="2d").synthesis(tex, **kw)
    with pytest.raises(ValueError, match="does not exist"):
        fl.funct(grid="2d").synthesis(tex, **dict(kw, checkpoint=str(tmp_path / "no" / "c.pt")))


def test_separation_resumes_without_redoing_finished_steps(tex, tmp_path, monkeypatch):
    """A run stopped after its first step resumes at the second, runs only what is left, and
    ends on the map of an uninterrupted run."""
    import foscat_like.optim.levels as levels
    rng = np.random.default_rng(0)
    draws = 0.5 * rng.standard_normal((4,) + tex.shape)
    data = tex + draws[0]
    kw = dict(NUM_EPOCHS=4, n_iter=3, progress=False)
    ref = fl.funct(grid="2d").separate(data, draws[1:], **kw)
    ck = str(tmp_path / "sep.pt")
    real, calls = levels.minimize, []

    def dies_at_second(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real(*a, **k)
    monkeypatch.setattr(levels, "minimize", dies_at_second)
    with pytest.raises(KeyboardInterrupt):
        fl.funct(grid="2d").separate(data, draws[1:], checkpoint=ck, **kw)
    calls.clear()
    monkeypatch.setattr(levels, "minimize", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    out = fl.funct(grid="2d").separate(data, draws[1:], checkpoint=ck, **kw)
    assert len(calls) == 2                                  # steps 2 and 3 only
    np.testing.assert_allclose(out, ref, atol=1e-10)
    calls.clear()
    again = fl.funct(grid="2d").separate(data, draws[1:], checkpoint=ck, **kw)
    assert calls == [] and np.array_equal(again, out)       # finished: nothing rerun


# -- hidden state -----------------------------------------------------------------------
def test_norm_auto_cache_is_keyed_and_references_can_be_passed_by_value(tex):
    op = fl.funct(grid="2d")
    x, y = tex, 3 * load_texture("brick", 32)
    m = np.ones_like(x); m[:, :16] = 0
    op.eval(x, norm="auto")                                # caches x's powers
    a = op.eval(y, mask=m, norm="auto")                    # another mask: not x's cache
    b = op.eval(y, mask=m, norm="self")
    torch.testing.assert_close(a.S4, b.S4)
    # by value: the same as 'auto' after x, with no state
    op.clean_norm(); op.eval(x, norm="auto")
    auto = op.eval(y, norm="auto")
    byval = fl.funct(grid="2d").eval(y, norm=fl.funct(grid="2d").eval(x))
    torch.testing.assert_close(auto.S3, byval.S3)
    # a batch reference: every later batch is normalised alike, S1..S4 axes agree
    op.clean_norm()
    op.eval(np.stack([x, y]), norm="auto")
    st = op.eval(x, norm="auto")
    assert st.S1.shape[0] == st.S3.shape[0] == st.S4.shape[0] == 1
    with pytest.raises(ValueError, match="statistics need \\(B or 1, K, J, L\\)"):
        op.eval(x, norm=fl.funct(grid="2d").eval(x, Jmax=1))
    with pytest.raises(ValueError, match="raw auto statistics"):
        op.eval(x, norm=op.eval(x, norm="self"))
    P = op.eval(x).S2
    torch.testing.assert_close(op.eval(y, norm={"P1": P, "P2": P}).S4, byval.S4)
    with pytest.raises(ValueError, match="exactly 'P1' and 'P2'"):
        op.eval(x, norm={"P1": P})
    with pytest.raises(ValueError, match="must be positive powers"):
        op.eval(x, norm={"P1": 0 * P, "P2": P})
    with pytest.raises(ValueError, match="norm must be None, 'self', 'auto'"):
        op.eval(x, norm="none")


def test_chi2_distance_does_not_depend_on_call_order(tex):
    from foscat_like.compare import chi2_distance
    op = fl.funct(grid="2d")
    b = load_texture("brick", 32)
    d0 = chi2_distance(op, tex, b)
    op.eval(5 * b, norm="auto")                      # state a user may have left behind
    assert chi2_distance(op, tex, b) == d0
    assert chi2_distance(fl.funct(grid="2d"), tex, b) == d0


def test_results_are_returned_and_history_is_a_read_only_view(tex):
    op = fl.funct(grid="2d")
    y, hist = op.synthesis(tex, nstep=1, NUM_EPOCHS=3, progress=False, return_history=True)
    assert isinstance(op.history, tuple) and list(op.history) == hist
    with pytest.raises(AttributeError):
        op.history = []
    with pytest.raises(TypeError, match="return_history must be True or False"):
        op.synthesis(tex, nstep=1, NUM_EPOCHS=1, progress=False, return_history="yes")


# -- degenerate fields ----------------------------------------------------------------------
def test_degenerate_fields_get_a_clear_error_or_a_defined_value(tex):
    op = fl.funct(grid="2d")
    for bad in (np.zeros((32, 32)), np.full((32, 32), 7.0)):
        with pytest.raises(ValueError, match="image1 is constant"):
            op.eval(bad, norm="self")
        with pytest.raises(ValueError, match="image_target is constant"):
            op.synthesis(bad, progress=False)
        with pytest.raises(ValueError, match="data is constant"):
            op.separate(bad, np.random.default_rng(0).standard_normal((4, 32, 32)), progress=False)
    with pytest.raises(ValueError, match="reference is constant"):
        op.synthesis(tex, reference=np.ones((32, 32)), progress=False)
    with pytest.raises(ValueError, match="noise draws are all zero"):
        op.separate(tex, np.zeros((4, 32, 32)), progress=False)
    one = np.zeros((32, 32)); one[5, 5] = 1
    with pytest.raises(ValueError, match="in_mask leaves image_target 1 valid pixel"):
        op.synthesis(tex, in_mask=one, progress=False)
    # scale: normalised statistics do not depend on the unit (float64), even at 1e-30 or 1e30
    ref = op.eval(tex, norm="self")
    for s in (1e-30, 1e30):
        torch.testing.assert_close(op.eval(s * tex, norm="self").S4, ref.S4, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="not finite.*float32"):
        op.eval((1e30 * tex).astype(np.float32), norm="self")


# -- types -------------------------------------------------------------------------------
def test_one_input_rule_for_statistics_and_classic_transforms(tex):
    op = fl.funct(grid="2d")
    S = fl.planar.Scattering2D(2, (32, 32), L=4)
    for f in (op.eval, S):
        with pytest.raises(TypeError, match="real-valued"):
            f(tex.astype(np.complex128))
        with pytest.raises(TypeError, match="floating-point tensor"):
            f(torch.ones(32, 32, dtype=torch.int64))
        with pytest.raises(TypeError, match="must hold numbers"):
            f(np.array([["a"] * 32] * 32))
        with pytest.raises(ValueError, match="is empty"):
            f(np.zeros((0, 32, 32)))
    for low in (tex.astype(np.float16), torch.tensor(tex).to(torch.bfloat16)):
        st = op.eval(low, norm="self")
        assert st.S1.dtype == torch.float32
        assert S(low).dtype in (np.float32, torch.float32)


def test_small_kernel_output_shape_is_a_property_like_scattering2d():
    from foscat_like.classic.smallkernel import SmallKernelScattering2D
    sk = SmallKernelScattering2D(2, (32, 32), L=8)
    assert sk.output_shape == fl.planar.Scattering2D(2, (32, 32), L=8).output_shape
    assert sk(np.zeros((32, 32), np.float32)).shape == sk.output_shape


def test_old_import_paths_are_the_new_modules():
    import foscat_like.classic.reconstruct as new_r
    import foscat_like.classic.scattering2d as new
    import foscat_like.optim.lbfgs as old_lbfgs
    import foscat_like.planar.reconstruct as old_r
    import foscat_like.planar.scattering2d as old
    from foscat_like.lbfgs import minimize
    assert old is new and old_r is new_r and old_lbfgs.minimize is minimize
    from foscat_like.classic import HarmonicScattering3D as H3, Scattering1D as S1
    from foscat_like.planar import HarmonicScattering3D, Scattering1D
    from foscat_like.planar.sklearn import ScatteringTransformer
    assert HarmonicScattering3D is H3 and Scattering1D is S1 and ScatteringTransformer.__module__.startswith("foscat_like")


# -- HEALPix --------------------------------------------------------------------------------
def test_unsorted_cell_ids_put_values_on_the_right_cells():
    nside = 16
    rng = np.random.default_rng(1)
    full = rng.standard_normal(12 * nside * nside)
    ids = np.arange(3 * nside * nside)                 # three base faces
    perm = rng.permutation(ids.size)
    op = fl.funct()
    a = op.eval(full[ids], cell_ids=ids, nside=nside, norm="self")
    b = op.eval(full[ids[perm]], cell_ids=ids[perm], nside=nside, norm="self")
    torch.testing.assert_close(a.S4, b.S4)
    torch.testing.assert_close(a.S1, b.S1)
    # a synthesis keeps the observed cells in the caller's order
    keep = np.ones(ids.size); keep[: ids.size // 2] = 0            # first half free, in user order
    out = op.synthesis(full[ids[perm]], cell_ids=ids[perm], nside=nside, grd_mask=1 - keep, nstep=1,
                       NUM_EPOCHS=2, progress=False)
    np.testing.assert_array_equal(out[keep > 0], full[ids[perm]][keep > 0])


def test_bad_cell_ids_fail_clearly():
    op = fl.funct()
    v = np.ones(10)
    with pytest.raises(TypeError, match="cell_ids must be integer"):
        op.eval(v, cell_ids=np.arange(10) + 0.5, nside=4)
    with pytest.raises(ValueError, match="cell_ids is empty"):
        op.eval(np.ones(0), cell_ids=np.array([], dtype=int), nside=4)
    with pytest.raises(ValueError, match="duplicates"):
        op.eval(v, cell_ids=np.zeros(10, int), nside=4)
    with pytest.raises(ValueError, match="only meaningful on the healpix grid"):
        fl.funct(grid="2d").eval(np.ones((32, 32)), cell_ids=np.arange(4))


def test_fits_maps_are_read_from_their_own_hdu_and_need_an_ordering(tmp_path):
    from astropy.io import fits

    from foscat_like.io import read_field
    nside = 4
    m0, m1 = np.arange(12 * nside ** 2, dtype=float), -np.arange(12 * nside ** 2, dtype=float)
    p = str(tmp_path / "two.fits")
    hp.write_map(p, m0, nest=True, dtype=np.float64)
    with fits.open(p) as h:                     # a file whose HEALPix map is in extension 2
        col = fits.Column(name="T", format="D", array=m1)
        t = fits.BinTableHDU.from_columns([col])
        for k in ("PIXTYPE", "ORDERING", "NSIDE", "INDXSCHM"):
            t.header[k] = h[1].header[k]
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((3, 3))), t]).writeto(str(tmp_path / "ext2.fits"))
    a, info = read_field(str(tmp_path / "ext2.fits"))
    np.testing.assert_array_equal(a, m1)
    fits.PrimaryHDU(m0).writeto(str(tmp_path / "bare.fits"))
    with pytest.raises(ValueError, match="without PIXTYPE='HEALPIX'"):
        read_field(str(tmp_path / "bare.fits"))
    np.save(tmp_path / "c.npy", m0.astype(complex))
    with pytest.raises(ValueError, match="complex"):
        read_field(str(tmp_path / "c.npy"))
    assert os.path.exists(p)
    warnings.simplefilter("default")
