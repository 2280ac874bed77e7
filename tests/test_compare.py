"""Statistic comparison: chi-square distance and Monte-Carlo p-value."""
import numpy as np
import pytest

import foscat_like as fl
from foscat_like.compare import chi2_distance, chi2_test
from foscat_like.datasets import load_texture
from foscat_like.metrics import phase_randomized


def test_scattering_chi2_separates_texture_from_gaussian_with_same_spectrum():
    op = fl.funct(NORIENT=4, grid="2d")
    full = load_texture("brick", 128)
    b, a = full[:64, :64], full[64:, 64:]                    # two crops of the same texture
    assert chi2_distance(op, b, b) == 0
    res = chi2_test(op, a, b, lambda k: phase_randomized(b, seed=k), n_sims=6)
    # Gaussian fields with b's power spectrum are much further from b than another brick crop
    assert res["chi2"] < 0.5 * np.median(res["null"])
    assert res["p_value"] == 1.0
    g = chi2_test(op, phase_randomized(b, seed=99), b, lambda k: phase_randomized(b, seed=k), n_sims=6)
    assert g["p_value"] > 0.1                                 # a null realisation is not rejected
    with pytest.raises(ValueError, match="n_sims"):
        chi2_test(op, a, b, lambda k: b, n_sims=0)
