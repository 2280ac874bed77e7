"""``optim.local_errors``: the simulated errors' local amplitude moved to the data's estimate, so
that the posterior's std map says where the truth's errors are."""
import numpy as np
import torch

import foscat_like as fl
from foscat_like.datasets import lognormal_field
from foscat_like.optim import local_errors


def test_exponent_recovers_a_power_law():
    """``E[e^2 | F] = F^b``: the fitted ``b`` within 0.05 of the true one (0, 0.5, 1), also when
    only some pixels are ``seen`` (the others carry errors of another law)."""
    g = torch.Generator().manual_seed(0)
    f = torch.randn((8, 64, 64), generator=g, dtype=torch.float64)
    seen = (torch.arange(64) < 40).to(torch.float64).reshape(1, 1, 64).expand(1, 64, 64)
    for b in (0.0, 0.5, 1.0):
        e = torch.exp(0.5 * b * f) * torch.randn(f.shape, generator=g, dtype=torch.float64)
        assert abs(local_errors.exponent(f, e) - b) < 0.05
        e = torch.where(seen > 0, e, 100 * torch.exp(-2 * f))
        assert abs(local_errors.exponent(f, e, seen) - b) < 0.05


def test_transplant_keeps_an_error_whose_estimate_is_the_data_s_and_the_hidden_pixels():
    """An error whose simulation's estimate is the data's own is kept; so are the pixels the data
    do not see; elsewhere the factor is ``(F(m_data) / F(m_sim))^(b/2)``, within [1/10, 10]."""
    grid = fl.funct(grid="2d").grid
    r = np.random.default_rng(0)
    m_data = torch.as_tensor(r.standard_normal((1, 32, 32)))
    m_sims = torch.cat([m_data, torch.as_tensor(3 * r.standard_normal((2, 32, 32)))])
    errors = torch.as_tensor(r.standard_normal((3, 32, 32))) * (1 + m_sims.abs())
    out, b = local_errors.transplant(grid, errors, m_sims, m_data)
    torch.testing.assert_close(out[0], errors[0])
    factor = out[1:] / errors[1:]
    f = local_errors.log_energy(grid, torch.cat([m_data, m_sims[1:]]))
    expect = torch.exp(0.5 * b * (f[:1] - f[1:])).clamp(0.1, 10)
    torch.testing.assert_close(factor, expect)
    seen = torch.zeros((1, 32, 32), dtype=torch.float64)
    seen[:, :16] = 1
    out, _ = local_errors.transplant(grid, errors, m_sims, m_data, seen)
    torch.testing.assert_close(out[:, 16:], errors[:, 16:])
    out, b = local_errors.transplant(grid, errors, m_sims, m_data, 0 * seen)    # nothing seen: nothing to fit
    assert b == 0.0 and torch.equal(out, errors)


def test_the_posterior_std_follows_the_truth_s_errors(monkeypatch):
    """On a lognormal field (errors large where it is bright) the std map of ``separate(...,
    n_samples=6)`` correlates with the truth's ``|error|`` (measured 0.20-0.29 on fields 1-3);
    without moving the errors' amplitude to the data's estimate it does not (below 0.1)."""
    s = lognormal_field(32, 1)
    r = np.random.default_rng(101)
    d = s + r.standard_normal(s.shape)
    noise = r.standard_normal((8,) + s.shape)
    kw = dict(n_samples=6, NUM_EPOCHS=20, n_iter=1, progress=False, seed=1)
    corr = lambda p: np.corrcoef(np.abs(s - p.mean).ravel(), p.std.ravel())[0, 1]
    post = fl.separate(d, noise, **kw)
    assert post.local > 0.1 and corr(post) > 0.15, (post.local, corr(post))
    monkeypatch.setattr(local_errors, "transplant", lambda grid, e, *a, **k: (e, 0.0))
    assert corr(fl.separate(d, noise, **kw)) < 0.1


def test_a_gaussian_field_s_errors_keep_their_amplitude():
    """A Gaussian field has no structure for its errors to follow: at these short settings the
    fitted exponent is near 0 (measured -0.10 to 0.05 on seeds 0-2), against 0.33-0.46 on the
    lognormal field above. (At the benchmark's settings it is 0.06-0.47 on Gaussian fields: the
    prior draws, syntheses from the separated statistics, are not Gaussian; README.)"""
    rng = np.random.default_rng(0)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(32) * 32, np.fft.fftfreq(32) * 32, indexing="ij"))
    s = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((32, 32))) * np.maximum(k, 1) ** -1.0))
    s = s / s.std()
    post = fl.separate(s + rng.standard_normal(s.shape), rng.standard_normal((8, 32, 32)), n_samples=6,
                       NUM_EPOCHS=20, n_iter=1, progress=False, seed=1)
    assert abs(post.local) < 0.2, post.local
