"""The foscat-like command line, end to end through subprocess, on small real data."""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from foscat_like.datasets import load_texture, load_wmap
from foscat_like.optim.posterior import Posterior

hp = pytest.importorskip("healpy")


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "foscat_like.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    tex = load_texture("gravel", 32)
    np.save(d / "tex.npy", tex)
    import matplotlib.pyplot as plt
    plt.imsave(d / "tex.png", load_texture("brick", 64), cmap="gray")
    I, mask = load_wmap()
    hp.write_map(str(d / "wmap_ring.fits"), hp.reorder(I, n2r=True), nest=False, dtype=np.float64)
    hp.write_map(str(d / "mask_ring.fits"), hp.reorder(mask, n2r=True), nest=False, dtype=np.float64)
    return d


def test_synth_npy_with_report_and_fits_headers(files, tmp_path):
    out = tmp_path / "s.fits"
    r = run("synth", str(files / "tex.npy"), "-o", str(out), "--nstep", "2", "--epochs", "20",
            "--report", str(tmp_path / "r.png"), "--quiet")
    assert r.returncode == 0, r.stderr
    from astropy.io import fits
    h = fits.getheader(out)
    assert h["GRID"] == "2d" and h["EPOCHS"] == "20" and fits.getdata(out).shape == (32, 32)
    assert (tmp_path / "r.png").stat().st_size > 1000 and "minkowski" in r.stdout


def test_synth_healpix_fits_inpaint_ring_converted(files, tmp_path):
    out = tmp_path / "filled.fits"
    r = run("synth", str(files / "wmap_ring.fits"), "-o", str(out), "--mask", str(files / "mask_ring.fits"),
            "--inpaint", "--nstep", "2", "--epochs", "10", "--quiet")
    assert r.returncode == 0, r.stderr
    filled = hp.read_map(str(out), nest=True)
    I, mask = load_wmap()
    assert np.allclose(filled[mask > 0], I[mask > 0])     # RING on disk, NEST inside: pixels kept


def test_synth_inpaint_samples_writes_posterior(files, tmp_path):
    """``synth --inpaint --samples K``: -o gets the posterior mean (the data where observed), --std
    its std map (0 where observed), --draws the K samples, --lo/--hi the interval; the flags the
    posterior cannot take exit 2 before any work."""
    x = np.load(files / "tex.npy")
    mask = np.ones_like(x)
    mask[10:18, 12:20] = 0
    np.save(tmp_path / "mask.npy", mask)
    out, std, draws, lo = (tmp_path / n for n in ("mean.npy", "std.npy", "draws.npy", "lo.npy"))
    r = run("synth", str(files / "tex.npy"), "-o", str(out), "--mask", str(tmp_path / "mask.npy"), "--inpaint",
            "--samples", "3", "--std", str(std), "--draws", str(draws), "--lo", str(lo), "--level", "0.95",
            "--nstep", "1", "--epochs", "5", "--quiet")
    assert r.returncode == 0, r.stderr
    m, sd, k = np.load(out), np.load(std), np.load(draws)
    assert k.shape == (3, 32, 32)
    seen = mask > 0
    np.testing.assert_array_equal(k[:, seen], np.broadcast_to(x[seen], (3, seen.sum())))
    np.testing.assert_array_equal(m[seen], x[seen])
    assert np.all(sd[seen] == 0) and np.all(sd[~seen] > 0)
    np.testing.assert_allclose(sd, np.sqrt(((k - m) ** 2).mean(0)), atol=1e-12)
    q = Posterior(k, m).multiplier(0.95)
    np.testing.assert_allclose(np.load(lo), m - q * sd, atol=1e-10)
    base = ["synth", str(files / "tex.npy"), "-o", str(out), "--mask", str(tmp_path / "mask.npy")]
    for extra, message in ((["--samples", "2"], "--samples needs --inpaint"),
                           (["--inpaint", "--samples", "2", "--n-up", "1"], "--samples takes no --n-up"),
                           (["--inpaint", "--samples", "0"], "--samples must be >= 1"),
                           (["--inpaint", "--std", str(std)], "need --samples")):
        r = run(*base, *extra)
        assert r.returncode == 2 and message in r.stderr, (extra, r.stderr)


def test_synth_inpaint_samples_healpix_fits(files, tmp_path):
    """The sky's posterior from RING FITS files: the mean keeps the observed pixels, the std map is 0
    there and positive in the mask."""
    out, std = tmp_path / "mean.fits", tmp_path / "std.fits"
    r = run("synth", str(files / "wmap_ring.fits"), "-o", str(out), "--mask", str(files / "mask_ring.fits"),
            "--inpaint", "--samples", "2", "--std", str(std), "--nstep", "2", "--epochs", "5", "--quiet")
    assert r.returncode == 0, r.stderr
    I, mask = load_wmap()
    mean, sd = hp.read_map(str(out), nest=True), hp.read_map(str(std), nest=True)
    assert np.allclose(mean[mask > 0], I[mask > 0]) and np.all(sd[mask > 0] == 0)
    assert np.all(sd[mask == 0] > 0)

def test_partial_sky_maps_run_as_patches(tmp_path):
    """A HEALPix map with UNSEEN pixels (RING FITS) and a cut-sky file (explicit indices) are the
    ``cell_ids`` patch of their seen pixels: ``stats`` equals the API's ``eval`` on that patch,
    ``separate --samples`` and ``synth`` write maps UNSEEN off the patch and finite on it (a
    whole-sky noise-std map is taken on the patch); flags that need a whole map exit 2."""
    import foscat_like as fl
    from foscat_like import ScatCov
    I, _ = load_wmap()
    cap = np.sort(hp.query_disc(32, hp.ang2vec(0.4, 0.5), 0.8, nest=True))
    m = np.full(I.size, hp.UNSEEN)
    m[cap] = I[cap]
    hp.write_map(str(tmp_path / "cut.fits"), hp.reorder(m, n2r=True), nest=False, dtype=np.float64)
    hp.write_map(str(tmp_path / "cutp.fits"), m, nest=True, partial=True, dtype=np.float64)
    hp.write_map(str(tmp_path / "sigma.fits"), np.full(I.size, 0.5 * I[cap].std()), nest=True, dtype=np.float64)
    want = fl.funct().eval(I[cap], cell_ids=cap, nside=32).flatten().numpy()
    for name in ("cut.fits", "cutp.fits"):
        r = run("stats", str(tmp_path / name), "-o", str(tmp_path / "st.npz"))
        assert r.returncode == 0, r.stderr
        np.testing.assert_allclose(ScatCov.load(tmp_path / "st.npz").flatten().numpy(), want, rtol=1e-6)
    mean, std, draws = (tmp_path / n for n in ("mean.fits", "std.fits", "draws.npy"))
    r = run("separate", str(tmp_path / "cut.fits"), "-o", str(mean), "--noise-std", str(tmp_path / "sigma.fits"),
            "--n-noise", "4", "--samples", "2", "--std", str(std), "--draws", str(draws),
            "--epochs", "3", "--n-iter", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    off = np.setdiff1d(np.arange(I.size), cap)
    for path in (mean, std):
        v = hp.read_map(str(path), nest=True)
        assert np.all(v[off] == hp.UNSEEN) and np.all(np.isfinite(v[cap])) and np.all(v[cap] != hp.UNSEEN)
    k = np.load(draws)
    assert k.shape == (2, I.size) and np.all(k[:, off] == hp.UNSEEN)
    r = run("synth", str(tmp_path / "cutp.fits"), "-o", str(tmp_path / "syn.fits"), "--nstep", "2", "--epochs", "3",
            "--quiet")
    assert r.returncode == 0, r.stderr
    v = hp.read_map(str(tmp_path / "syn.fits"), nest=True)
    assert np.all(v[off] == hp.UNSEEN) and np.std(v[cap]) > 0
    r = run("synth", str(tmp_path / "cut.fits"), "-o", str(tmp_path / "syn.fits"), "--report", str(tmp_path / "r.png"))
    assert r.returncode == 2 and "partial HEALPix map" in r.stderr
    r = run("stats", str(tmp_path / "cut.fits"), "-o", str(tmp_path / "st.npz"), "--grid", "1d")
    assert r.returncode == 2 and "--grid healpix or auto" in r.stderr
    np.save(tmp_path / "short.npy", np.ones(cap.size - 1))
    r = run("stats", str(tmp_path / "cut.fits"), "-o", str(tmp_path / "st.npz"), "--mask", str(tmp_path / "short.npy"))
    assert r.returncode == 2 and "one value per seen pixel" in r.stderr
    hp.write_map(str(tmp_path / "holey.fits"), np.where(np.arange(I.size) == cap[0], hp.UNSEEN, 1.0), nest=True,
                 dtype=np.float64)                     # a noise-std map unseen where the input is seen
    r = run("separate", str(tmp_path / "cut.fits"), "-o", str(mean), "--noise-std", str(tmp_path / "holey.fits"))
    assert r.returncode == 2 and "UNSEEN or NaN on some of the input's seen pixels" in r.stderr
    sig = np.full(I.size, hp.UNSEEN)                   # a partial noise-std map with the input's footprint
    sig[cap] = 0.5 * I[cap].std()
    hp.write_map(str(tmp_path / "sigp.fits"), sig, nest=True, partial=True, dtype=np.float64)
    r = run("separate", str(tmp_path / "cut.fits"), "-o", str(mean), "--noise-std", str(tmp_path / "sigp.fits"),
            "--n-noise", "2", "--epochs", "2", "--n-iter", "1", "--quiet")
    assert r.returncode == 0, r.stderr

def test_stats_compare_scatter(files, tmp_path):
    r = run("stats", str(files / "tex.png"), "-o", str(tmp_path / "st.npz"), "--plot", str(tmp_path / "st.png"))
    assert r.returncode == 0, r.stderr
    from foscat_like import ScatCov
    assert ScatCov.load(tmp_path / "st.npz").S4 is not None
    np.save(tmp_path / "other.npy", load_texture("grass", 32))
    r = run("compare", str(files / "tex.npy"), str(tmp_path / "other.npy"), "-o", str(tmp_path / "c.png"))
    assert r.returncode == 0 and "ps_log10_rms" in r.stdout
    r = run("scatter", str(files / "tex.png"), "-o", str(tmp_path / "disk.png"))
    assert r.returncode == 0 and (tmp_path / "disk.png").stat().st_size > 1000


def test_separate_healpix_fits_with_noise_std(files, tmp_path):
    """WMAP W band (RING FITS) plus white noise: the separated map is closer to the truth than
    the data, written as a HEALPix FITS map with its residual; a bad noise argument exits 2."""
    from foscat_like.io import read_field
    I, _ = load_wmap()
    I = hp.ud_grade(I, 16, order_in="NEST", order_out="NEST")
    sigma = I.std()
    noisy = I + sigma * np.random.default_rng(3).standard_normal(I.shape)
    hp.write_map(str(tmp_path / "noisy.fits"), hp.reorder(noisy, n2r=True), nest=False, dtype=np.float64)
    out, res = tmp_path / "sep.fits", tmp_path / "res.fits"
    r = run("separate", str(tmp_path / "noisy.fits"), "-o", str(out), "--noise-std", str(sigma),
            "--epochs", "30", "--n-iter", "2", "--residual", str(res), "--quiet")
    assert r.returncode == 0, r.stderr
    s, info = read_field(str(out))
    assert info["kind"] == "healpix" and s.shape == I.shape
    assert np.sqrt(np.mean((s - I) ** 2)) < 0.7 * np.sqrt(np.mean((noisy - I) ** 2))
    np.testing.assert_allclose(read_field(str(res))[0] + s, noisy, atol=1e-6 * np.abs(noisy).max())
    r = run("separate", str(tmp_path / "noisy.fits"), "-o", str(out))
    assert r.returncode == 2 and "exactly one of --noise" in r.stderr


def test_separate_samples_writes_mean_std_and_draws(files, tmp_path):
    """``separate --samples K``: -o gets the posterior mean, --std its std map, --draws the K samples;
    --std without --samples exits 2 before any work."""
    out, std, draws = tmp_path / "mean.npy", tmp_path / "std.npy", tmp_path / "draws.npy"
    lo, hi = tmp_path / "lo.npy", tmp_path / "hi.npy"
    r = run("separate", str(files / "tex.npy"), "-o", str(out), "--noise-std", "0.5", "--n-noise", "4",
            "--epochs", "3", "--n-iter", "1", "--samples", "3", "--std", str(std), "--draws", str(draws),
            "--lo", str(lo), "--hi", str(hi), "--level", "0.95", "--quiet")
    assert r.returncode == 0, r.stderr
    m, sd, k = np.load(out), np.load(std), np.load(draws)
    assert m.shape == sd.shape == (32, 32) and k.shape == (3, 32, 32)
    np.testing.assert_allclose(sd, np.sqrt(((k - m) ** 2).mean(0)), atol=1e-12)
    q = Posterior(k, m).multiplier(0.95)         # the interval of the samples themselves
    np.testing.assert_allclose(np.load(lo), m - q * sd, atol=1e-10)
    np.testing.assert_allclose(np.load(hi), m + q * sd, atol=1e-10)
    r = run("separate", str(files / "tex.npy"), "-o", str(out), "--noise-std", "0.5", "--std", str(std))
    assert r.returncode == 2 and "--samples" in r.stderr
    r = run("separate", str(files / "tex.npy"), "-o", str(out), "--noise-std", "0.5", "--samples", "2",
            "--hi", str(hi), "--level", "1.5")
    assert r.returncode == 2 and "--level must be in (0, 1)" in r.stderr


@pytest.mark.parametrize("values, cells, npix", [(np.ones(3), np.array([0, 1]), 12),       # length mismatch
                                                 (np.ones(2), np.array([0, 12]), 12),      # beyond npix
                                                 (np.ones(2), np.array([0, 1]), None)])    # no npix
def test_on_sky_refuses_mismatched_cells(values, cells, npix):
    """Putting a partial map's values back on the sphere: cells that do not match the values or the
    sphere are a ValueError naming them, never a silent map."""
    from foscat_like.io import on_sky
    with pytest.raises(ValueError, match="on_sky: values"):
        on_sky(values, cells, npix)
    np.testing.assert_array_equal(on_sky(np.array([2.0, 3.0]), np.array([1, 4]), 12)[[1, 4]], [2.0, 3.0])

def test_separate_samples_on_a_dask_scheduler(files, tmp_path, dask_client):
    """``separate --samples K --scheduler ADDRESS``: the simulations run as tasks of that scheduler's
    workers, and the posterior is the one computed in the process."""
    args = ["--noise-std", "0.5", "--n-noise", "4", "--epochs", "3", "--n-iter", "1", "--samples", "2",
            "--quiet"]
    r = run("separate", str(files / "tex.npy"), "-o", str(tmp_path / "local.npy"), *args)
    assert r.returncode == 0, r.stderr
    def simulations(dask_scheduler):                     # tasks of optim.posterior._simulate finished so far
        p = dask_scheduler.task_prefixes.get("simulate")
        return 0 if p is None else p.state_counts.get("memory", 0)
    before = dask_client.run_on_scheduler(simulations)
    r = run("separate", str(files / "tex.npy"), "-o", str(tmp_path / "dask.npy"), *args,
            "--scheduler", dask_client.scheduler.address)
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(tmp_path / "dask.npy"), np.load(tmp_path / "local.npy"), rtol=0, atol=1e-10)
    assert dask_client.run_on_scheduler(simulations) - before == 2       # the two simulations ran there

@pytest.mark.parametrize("args, message", [
    (["synth", "missing.npy", "-o", "x.npy"], "no such file"),
    (["synth", "README.md", "-o", "x.npy"], "unknown format"),
    (["stats", "{nan}", "-o", "x.npz"], "NaN"),
    (["synth", "{tex}", "-o", "x.npy", "--mask", "{mask}"], "mask"),
])
def test_errors_exit_2_with_one_line(files, tmp_path, args, message):
    bad = tmp_path / "nan.npy"
    a = load_texture("gravel", 32); a[0, 0] = np.nan
    np.save(bad, a)
    args = [s.format(nan=bad, tex=files / "tex.npy", mask=files / "mask_ring.fits") for s in args]
    r = run(*args)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_ensemble_on_local_cluster_and_resume(files, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "ens.npy"
    args = ["synth", str(files / "tex.npy"), "-o", str(out), "--realizations", "3", "--workers", "2",
            "--nstep", "1", "--epochs", "15", "--quiet"]
    r = run(*args)
    assert r.returncode == 0, r.stderr
    maps = [np.load(tmp_path / f"ens_{i:04d}.npy") for i in range(3)]
    assert not np.allclose(maps[0], maps[1])                 # independent seeds
    mtimes = [os.path.getmtime(tmp_path / f"ens_{i:04d}.npy") for i in range(3)]
    os.remove(tmp_path / "ens_0001.npy")
    r = run(*args)
    assert "1 written, 2 already on disk" in r.stdout
    assert [os.path.getmtime(tmp_path / f"ens_{i:04d}.npy") for i in (0, 2)] == [mtimes[0], mtimes[2]]


def test_killed_ensemble_keeps_finished_realisations(files, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "k.npy"
    args = ["synth", str(files / "tex.npy"), "-o", str(out), "--realizations", "4", "--workers", "1",
            "--nstep", "1", "--epochs", "25", "--quiet"]
    p = subprocess.Popen([sys.executable, "-m", "foscat_like.cli", *args], start_new_session=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.time()
    while not os.path.exists(tmp_path / "k_0000.npy") and time.time() - t0 < 240:
        time.sleep(0.1)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    time.sleep(1.0)                       # let any orphaned worker die before counting
    done = sorted(f for f in os.listdir(tmp_path) if f.startswith("k_") and f.endswith(".npy") and ".part" not in f)
    assert 1 <= len(done) < 4
    before = {f: os.path.getmtime(tmp_path / f) for f in done}
    r = run(*args)
    m = re.search(r"(\d+) written, (\d+) already on disk, 0 failed", r.stdout)
    assert r.returncode == 0 and m, r.stdout
    written, skipped = int(m.group(1)), int(m.group(2))
    assert written + skipped == 4 and skipped >= len(done) and written >= 1
    assert all(os.path.getmtime(tmp_path / f) == t for f, t in before.items())


def test_demo_subcommand_writes_pictures(tmp_path):
    r = run("demo", "--quick", "--out", str(tmp_path), timeout=600)
    assert r.returncode == 0, r.stderr
    for name in ("scattering_disk.png", "texture_synthesis.png", "wmap_synthesis.png", "wmap_inpainting.png"):
        assert (tmp_path / name).stat().st_size > 5000


@pytest.mark.parametrize("args, message", [
    (["synth", "{tex}", "-o", "{tex}"], "also an input"),
    (["synth", "{tex}", "-o", "{tmp}/x.txt"], "unknown output format"),
    (["synth", "{tex}", "-o", "{tmp}/nodir/x.npy"], "does not exist"),
    (["synth", "{tex}", "-o", "{tmp}/x.npy", "--workers", "0", "--realizations", "2"], "--workers must be >= 1"),
    (["synth", "{tex}", "-o", "{tmp}/x.npy", "--realizations", "0"], "--realizations must be >= 1"),
    (["synth", "{tex}", "-o", "{tmp}/x.npy", "--realizations", "2", "--nstep", "9"], "nstep=9 is too deep"),
    (["synth", "{tex}", "-o", "{tmp}/x.npy", "--grid", "1d"], "--grid 1d does not fit"),
    (["synth", "{tex}", "-o", "{tmp}/x.png", "--grid", "healpix"], "--grid healpix does not fit"),
    (["stats", "{tex}", "-o", "{tmp}/st.txt"], "unknown output format '.txt'"),
    (["separate", "{tex}", "-o", "{tmp}/s.npy", "--noise-std", "0.1", "--residual", "{tex}"], "also an input"),
    (["separate", "{tex}", "-o", "{tmp}/s.npy", "--noise-std", "0"], "noise draws are all zero"),
    (["synth", "{zero}", "-o", "{tmp}/x.npy"], "constant"),
    (["synth", "{tex}", "-o", "{tmp}/x.npy", "--realizations", "2", "--epochs", "0"], "NUM_EPOCHS must be >= 1"),
])
def test_bad_files_and_arguments_exit_2_before_any_work(files, tmp_path, args, message, capsys):
    """In-process (``cli.main``, as the console script calls it): exit code 2, one line, no file."""
    from foscat_like.cli import main
    np.save(tmp_path / "zero.npy", np.zeros((32, 32)))
    args = [s.format(tex=files / "tex.npy", tmp=tmp_path, zero=tmp_path / "zero.npy") for s in args]
    before = np.load(files / "tex.npy")
    code = main(args + ["--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1, err
    np.testing.assert_array_equal(np.load(files / "tex.npy"), before)      # the input is untouched
    assert sorted(os.listdir(tmp_path)) == ["zero.npy"]                    # nothing else written


def test_ensemble_refuses_foreign_outputs_recomputes_empty_ones_and_is_quiet(files, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "e.npy"
    args = ["synth", str(files / "tex.npy"), "-o", str(out), "--realizations", "2", "--workers", "1",
            "--nstep", "1", "--epochs", "3", "--norient", "2", "--quiet"]
    r = run(*args)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == ""                           # no Dask log lines with --quiet
    assert (tmp_path / "e.ensemble.json").exists()
    # --norient reaches the workers: the realisation is the single-process NORIENT=2 synthesis
    import foscat_like as fl
    one = fl.funct(NORIENT=2, grid="2d").synthesis(np.load(files / "tex.npy"), nstep=1, NUM_EPOCHS=3,
                                                   seed=1235, progress=False)
    np.testing.assert_allclose(np.load(tmp_path / "e_0001.npy"), one, atol=1e-10)
    open(tmp_path / "e_0000.npy", "wb").close()             # a 0-byte file is not a realisation
    r = run(*args)
    assert r.returncode == 0 and "1 written, 1 already on disk" in r.stdout, r.stdout + r.stderr
    assert np.load(tmp_path / "e_0000.npy").shape == (32, 32)
    r = run(*[a if a != "3" else "4" for a in args])        # other arguments, same outputs
    assert r.returncode == 2 and "another input or other arguments" in r.stderr
    np.save(tmp_path / "f_0000.npy", np.zeros((32, 32)))     # files no ensemble of ours wrote
    r = run(*[a if a != str(out) else str(tmp_path / "f.npy") for a in args])
    assert r.returncode == 2 and "not written by this ensemble" in r.stderr
