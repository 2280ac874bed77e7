"""scikit-learn frontend: classic scattering as a Transformer (``fit`` / ``transform``).

Works in a ``Pipeline``, with ``clone`` and grid search: parameters are plain
constructor arguments and the transform is built lazily from the data's shape.
Output: the scattering coefficients of each sample, flattened to ``(n_samples, n_features)``.
"""
from __future__ import annotations

import numpy as np

try:
    from sklearn.base import BaseEstimator, TransformerMixin
except ImportError as exc:  # pragma: no cover - optional dependency
    raise ImportError("foscat_like.classic.sklearn needs scikit-learn (pip install scikit-learn)") from exc

from .scattering1d import Scattering1D
from .scattering2d import Scattering2D


class ScatteringTransformer(TransformerMixin, BaseEstimator):
    """Scattering features of 1D signals or 2D images.

    Parameters
    ----------
    J : scale; shape : (N,) or (M, N) of one sample (inferred at ``fit`` if None);
    L : orientations (2D); Q : wavelets per octave (1D); max_order : 1 or 2;
    average : if True, average each channel spatially (translation-invariant features).

    ``transform(X)`` with ``X (n_samples, *shape)`` or flattened ``(n_samples, prod(shape))``.
    """

    def __init__(self, J: int = 2, shape=None, L: int = 8, Q: int = 1, max_order: int = 2,
                 average: bool = False):
        self.J, self.shape, self.L, self.Q, self.max_order, self.average = J, shape, L, Q, max_order, average

    def _samples(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        shape = tuple(self.shape_)
        if X.ndim == 2 and X.shape[1] == int(np.prod(shape)) and len(shape) == 2:
            X = X.reshape((-1,) + shape)
        if X.shape[1:] != shape:
            raise ValueError(f"X must have shape (n_samples, *{shape}); got {X.shape}")
        return X

    def fit(self, X, y=None):
        X = np.asarray(X)
        if self.shape is not None:
            self.shape_ = tuple(np.atleast_1d(self.shape))
        elif X.ndim in (2, 3):
            self.shape_ = X.shape[1:]
        else:
            raise ValueError(f"X must be (n_samples, N) or (n_samples, M, N); got {X.shape}")
        if len(self.shape_) == 2:
            self.scattering_ = Scattering2D(self.J, self.shape_, L=self.L, max_order=self.max_order)
        else:
            self.scattering_ = Scattering1D(self.J, self.shape_[0], Q=self.Q, max_order=self.max_order)
        return self

    def transform(self, X) -> np.ndarray:
        S = self.scattering_(self._samples(X))
        if self.average:
            S = S.mean(axis=tuple(range(2, S.ndim)))
        return S.reshape(S.shape[0], -1)
