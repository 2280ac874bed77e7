"""``datasets.lognormal_field``: standardised, reproducible, independent per seed, red, positively
skewed; bad arguments named."""
import numpy as np
import pytest

from foscat_like.datasets import lognormal_field


def test_lognormal_field_is_a_standardised_red_skewed_realisation():
    x = lognormal_field(64, 3)
    assert x.shape == (64, 64) and x.dtype == np.float64
    assert abs(x.mean()) < 1e-12 and abs(x.std() - 1) < 1e-12
    np.testing.assert_array_equal(x, lognormal_field(64, 3))             # reproducible
    assert np.corrcoef(x.ravel(), lognormal_field(64, 4).ravel())[0, 1] < 0.2   # another realisation
    assert ((x - x.mean()) ** 3).mean() > 0.5                             # lognormal: skewed to the right
    P = np.abs(np.fft.fft2(x)) ** 2
    k = np.sqrt(np.add.outer(np.fft.fftfreq(64) ** 2, np.fft.fftfreq(64) ** 2))
    assert P[(k > 0) & (k < 0.1)].mean() > 100 * P[k > 0.4].mean()       # red spectrum


@pytest.mark.parametrize("kw,err,name", [({"n": 1}, ValueError, "n"), ({"n": 8.5}, TypeError, "n"),
                                         ({"seed": -1}, ValueError, "seed"), ({"a": 0}, ValueError, "a"),
                                         ({"a": "x"}, TypeError, "a"), ({"L": -1}, ValueError, "L"),
                                         ({"L": float("nan")}, ValueError, "L")])
def test_lognormal_field_bad_arguments(kw, err, name):
    args = {"n": 16, "seed": 0, **kw}
    with pytest.raises(err, match=name):
        lognormal_field(**args)
