"""scikit-learn frontend: classic scattering as stateless Transformers.

* ``Scattering1D``, ``Scattering2D``, ``HarmonicScattering3D``: Kymatio 0.3's ``kymatio.sklearn``
  classes (same arguments; ``frontend='sklearn'`` on the main classes returns them).
  ``transform(X)`` (alias ``predict``) takes ``(n_samples, *shape)`` or flattened
  ``(n_samples, prod(shape))`` and returns ``(n_samples, n_features)``; ``fit`` does nothing.
* ``ScatteringTransformer``: one class for 1D signals and 2D images whose shape may be left
  to the data, with optional spatial averaging (translation-invariant features).

All work in a ``Pipeline``, with ``clone`` and grid search: parameters are plain constructor
arguments, and nothing learnt at ``fit`` is needed by ``transform``.
"""
from __future__ import annotations

import inspect

import numpy as np

try:
    from sklearn.base import BaseEstimator, TransformerMixin
except ImportError as exc:  # pragma: no cover - optional dependency
    raise ImportError("foscat_like.classic.sklearn needs scikit-learn (pip install scikit-learn)") from exc

from ..checks import ShapeError
from . import harmonic3d, scattering1d, scattering2d


class _Stateless(TransformerMixin, BaseEstimator):
    """``fit`` learns nothing; the transform is built from the parameters (and cached)."""

    def fit(self, X=None, y=None):
        return self

    def _scattering(self, shape=None):
        raise NotImplementedError

    def _built(self, shape=None):
        key = (repr(sorted(self.get_params().items())), shape)
        cache = self.__dict__.setdefault("_built_cache", {})
        if key not in cache:
            cache.clear()
            cache[key] = self._scattering(shape)
        return cache[key]

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_built_cache", None)
        return state

    def _features(self, S: np.ndarray, n: int) -> np.ndarray:
        return S.reshape(n, -1)

    def transform(self, X) -> np.ndarray:
        """``X (n_samples, *shape)`` or ``(n_samples, prod(shape))`` -> ``(n_samples, n_features)``."""
        X = np.asarray(X)
        if X.ndim < 2:
            raise ShapeError(f"X must be (n_samples, *shape) or (n_samples, prod(shape)); got shape {X.shape}")
        S = self._built(self._shape_of(X))
        shape = tuple(S._input_shape())
        n = X.shape[0]
        if X.shape[1:] != shape:
            if int(np.prod(X.shape[1:])) != int(np.prod(shape)):
                raise ShapeError(f"X must have shape (n_samples, *{shape}) or (n_samples, {int(np.prod(shape))}); "
                                 f"got {X.shape}")
            X = X.reshape((n,) + shape)
        return self._features(S(X), n)

    predict = transform

    def _shape_of(self, X):
        return None


def _kymatio_transformer(cls) -> type:
    """The scikit-learn twin of ``cls``: same constructor arguments (minus ``frontend``)."""
    sig = inspect.signature(cls.__init__)
    params = [p for name, p in sig.parameters.items() if name != "frontend"]
    sig = sig.replace(parameters=params)

    def __init__(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = sig

    def _scattering(self, shape=None):
        return cls(**self.get_params())

    doc = (f"scikit-learn transformer of :class:`{cls.__module__}.{cls.__name__}` "
           f"(Kymatio 0.3's ``kymatio.sklearn.{cls.__name__}``): ``transform(X)`` -> (n_samples, n_features).")
    return type(cls.__name__, (_Stateless,), {"__init__": __init__, "_scattering": _scattering,
                                               "__doc__": doc, "__module__": __name__})


Scattering1D = _kymatio_transformer(scattering1d.Scattering1D)
Scattering2D = _kymatio_transformer(scattering2d.Scattering2D)
HarmonicScattering3D = _kymatio_transformer(harmonic3d.HarmonicScattering3D)


class ScatteringTransformer(_Stateless):
    """Scattering features of 1D signals or 2D images.

    Parameters
    ----------
    J : scale; shape : (N,) or (M, N) of one sample (None: taken from each ``X``);
    L : orientations (2D); Q : wavelets per octave (1D); max_order : 1 or 2;
    average : if True, average each channel spatially (translation-invariant features).

    ``transform(X)`` with ``X (n_samples, *shape)`` or flattened ``(n_samples, prod(shape))``;
    with ``shape=None``, ``(n, N)`` is a batch of signals and ``(n, M, N)`` of images.
    """

    def __init__(self, J: int = 2, shape=None, L: int = 8, Q: int = 1, max_order: int = 2,
                 average: bool = False):
        self.J, self.shape, self.L, self.Q, self.max_order, self.average = J, shape, L, Q, max_order, average

    def _shape_of(self, X):
        if self.shape is not None:
            return tuple(int(s) for s in np.atleast_1d(self.shape))
        if X.ndim not in (2, 3):
            raise ShapeError(f"X must be (n_samples, N) or (n_samples, M, N); got {X.shape}")
        return tuple(X.shape[1:])

    def _scattering(self, shape):
        if len(shape) == 2:
            return scattering2d.Scattering2D(self.J, shape, L=self.L, max_order=self.max_order)
        if len(shape) == 1:
            return scattering1d.Scattering1D(self.J, shape[0], Q=self.Q, max_order=self.max_order)
        raise ShapeError(f"shape must be (N,) or (M, N); got {shape}")

    def _features(self, S: np.ndarray, n: int) -> np.ndarray:
        if self.average:
            S = S.mean(axis=tuple(range(2, S.ndim)))
        return S.reshape(n, -1)
