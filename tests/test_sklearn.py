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
    f = ScatteringTransformer(J=1, L=4).fit(X[:5]).transform(X[:5].reshape(5, -1))
    assert f.shape == (5, (1 + 4) * 4 * 4)
    with pytest.raises(ValueError, match="X must have shape"):
        ScatteringTransformer(J=1).fit(X[:5]).transform(np.zeros((2, 7, 7)))
