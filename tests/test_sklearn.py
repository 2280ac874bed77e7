"""scikit-learn frontend on scikit-learn's own digits: scattering + logistic regression."""
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from foscat_like.planar.sklearn import ScatteringTransformer  # noqa: E402


def test_scattering_beats_pixels_with_few_training_samples():
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8) / 16.0
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    train, test = idx[:60], idx[300:]                 # 60 training images
    raw = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    raw.fit(X[train].reshape(60, -1), y[train])
    acc_raw = raw.score(X[test].reshape(len(test), -1), y[test])
    scat = make_pipeline(ScatteringTransformer(J=1, L=8), StandardScaler(), LogisticRegression(max_iter=2000))
    scat.fit(X[train], y[train])
    acc_scat = scat.score(X[test], y[test])
    assert acc_scat > acc_raw + 0.02, (acc_scat, acc_raw)
    c = clone(scat)
    assert c.get_params()["scatteringtransformer__J"] == 1
    f = ScatteringTransformer(J=1, L=4, shape=(8, 8)).transform(X[:5].reshape(5, -1))   # no fit needed
    assert f.shape == (5, (1 + 4) * 4 * 4)
    np.testing.assert_array_equal(f, ScatteringTransformer(J=1, L=4).fit(X[:9]).transform(X[:5]))
    with pytest.raises(ValueError, match="X must have shape"):
        ScatteringTransformer(J=1, shape=(8, 8)).transform(np.zeros((2, 7, 7)))


def test_kymatio_sklearn_classes_are_stateless_and_take_flat_inputs():
    from foscat_like.classic import Scattering1D as S1D, Scattering2D as S2D
    from foscat_like.classic.sklearn import HarmonicScattering3D, Scattering1D, Scattering2D
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 16, 16))
    t = Scattering2D(2, (16, 16), L=4)
    assert t.get_params() == {"J": 2, "shape": (16, 16), "L": 4, "max_order": 2, "pre_pad": False,
                              "backend": None, "out_type": "array"}
    f = t.transform(X.reshape(3, -1))                                   # Kymatio: no fit, flat input
    np.testing.assert_allclose(f, S2D(2, (16, 16), L=4)(X).reshape(3, -1))
    np.testing.assert_array_equal(t.fit(X).predict(X), f)
    c = clone(t).set_params(L=2)
    assert c.transform(X).shape == (3, (1 + 4 + 4) * 4 * 4) and t.L == 4
    x1 = rng.standard_normal((2, 128))
    np.testing.assert_allclose(Scattering1D(3, 128, 2).transform(x1), S1D(3, 128, 2)(x1).reshape(2, -1))
    assert HarmonicScattering3D(1, (8, 8, 8), L=1).transform(rng.standard_normal((2, 512))).shape == (2, 3 * 2 * 3)
    import pickle
    assert pickle.loads(pickle.dumps(t)).get_params() == t.get_params()
