"""The front end shared by Scattering1D, Scattering2D and HarmonicScattering3D: Kymatio 0.3's.

* numpy in -> numpy out, torch in -> torch out (same device, autograd), any leading batch
  dimensions, whichever ``frontend`` is named. numpy output dtypes are Kymatio 0.3's numpy
  frontend's (1D: float64; 2D: the input's; 3D: float32); torch keeps float32 / float64.
* ``frontend='numpy' | 'torch' | 'sklearn'`` (Kymatio's entry classes): 'sklearn' returns
  the scikit-learn transformer of the same name (``foscat_like.classic.sklearn``); the
  other Kymatio frontends are a clear error.
* ``out_type='array' | 'list' | 'dict'``: one array ``(..., C, *out)``, or one entry per
  scattering path with its meta (``coef``, ``j``, ``n``, 2D ``theta``), or ``{n: coef}``.
* The transforms are ``torch.nn.Module`` s, as Kymatio's torch classes: ``.to(device)``,
  ``.cuda()``, ``.double()`` work (the filters follow each input's dtype and device).
* Shape errors are ``ShapeError``: both ``ValueError`` and ``RuntimeError``.
"""
from __future__ import annotations

import torch

from ..checks import ShapeError
from ..heap import keep_freed_memory
from ..inputs import as_tensor
from ..threads import cat_chunks, side_by_side

FRONTENDS = ("numpy", "torch", "sklearn")
NOT_HERE = ("tensorflow", "jax", "keras")
BACKENDS = ("numpy", "torch")
_AXES = {1: "one axis", 2: "two dimensions", 3: "three dimensions"}


def check_frontend(frontend) -> str | None:
    """The lower-cased frontend name (``None`` stays ``None``)."""
    if frontend is None:
        return None
    if not isinstance(frontend, str):
        raise TypeError(f"frontend must be a string such as 'torch'; got {type(frontend).__name__}")
    name = frontend.lower()
    if name in NOT_HERE:
        raise ValueError(
            f"frontend {frontend!r} is not available in foscat_like: use 'numpy', 'torch' or 'sklearn' "
            f"(numpy arrays and torch tensors are accepted whichever is named)")
    if name not in FRONTENDS:
        raise ValueError(f"frontend must be one of {FRONTENDS}; got {frontend!r}")
    return name


def check_backend(backend) -> None:
    """Kymatio's ``backend``: ``None``, 'torch' or 'numpy' (or a Kymatio backend object of that
    name) all mean this package's one torch backend; anything else is refused."""
    if backend is None:
        return
    name = backend if isinstance(backend, str) else getattr(backend, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"backend must be None, 'torch' or 'numpy'; got {type(backend).__name__}")
    if name not in BACKENDS:
        raise ValueError(f"backend {name!r} is not supported: foscat_like computes with torch "
                         f"(CPU or CUDA); pass backend=None, 'torch' or 'numpy'")


def prepare(x, shape: tuple[int, ...], padded: bool = False, name: str = "x"):
    """``(tensor (B, *shape), batch shape, was_numpy)`` under the package's input rule."""
    if x is None:
        raise TypeError(f"The input should be a numpy array or a torch tensor; got None ({name})")
    t = as_tensor(x, name)
    nd = len(shape)
    if t.dim() < nd:
        raise ShapeError(f"Input {name} must have at least {_AXES[nd]} (..., "
                         f"{', '.join(map(str, shape))}); got shape {tuple(t.shape)}")
    if tuple(t.shape[-nd:]) != tuple(shape):
        what = "Padded tensor" if padded else "Tensor"
        raise ShapeError(f"{what} must be of spatial size {tuple(shape)} (trailing shape of {name}); "
                         f"got {tuple(t.shape)}")
    batch = tuple(t.shape[:-nd])
    return t.reshape((-1,) + tuple(shape)), batch, not isinstance(x, torch.Tensor)


def run_batched(fn, x, signal_ndim: int, shape: tuple[int, ...], name: str = "x"):
    """``fn`` on ``(B, *shape)`` after flattening leading dims; numpy in -> numpy out."""
    t, batch, was_numpy = prepare(x, tuple(shape)[-signal_ndim:], name=name)
    out = fn(t)
    out = out.reshape(batch + tuple(out.shape[1:]))
    return out.detach().cpu().numpy() if was_numpy else out


class ScatteringBase(torch.nn.Module):
    """What the three transforms share: frontend, output formats, dtypes, module behaviour.

    A subclass sets ``_out_types``, ``_numpy_compute`` / ``_numpy_out`` (Kymatio's numpy
    dtypes; ``None``: the input's) and implements ``_input_shape()``, ``_coefficients(t)``
    (``(B, C, *out)`` tensor or a list of ``(B, *out_k)``, one per path) and ``_paths()``.
    """
    _out_types: tuple[str, ...] = ("array",)
    _numpy_compute: torch.dtype | None = None
    _numpy_out: type | None = None
    _side_by_side = True          # batch chunks run on parallel threads (CPU)

    def __new__(cls, *args, **kwargs):
        if check_frontend(kwargs.get("frontend")) == "sklearn":
            from . import sklearn
            kwargs.pop("frontend")
            return getattr(sklearn, cls.__name__)(*args, **kwargs)
        return super().__new__(cls)

    def _init_frontend(self, frontend, backend, out_type: str = "array") -> None:
        torch.nn.Module.__init__(self)
        keep_freed_memory()
        self.frontend_name = check_frontend(frontend) or "torch"
        check_backend(backend)
        self.out_type = out_type

    def _check_runtime(self) -> None:
        """Checks of the attributes a user may change after construction (Kymatio's)."""
        if self.out_type not in self._out_types:
            raise ValueError(f"The out_type must be one of {', '.join(map(repr, self._out_types))}; "
                             f"got {self.out_type!r}")

    def _chunk(self, B: int) -> int:
        """Signals per chunk of a batch of ``B`` (default: all)."""
        return B

    def _run(self, t: torch.Tensor):
        """``_coefficients`` over batch chunks. On the CPU the chunks run side by side, one torch
        thread each, forward and backward (``threads.side_by_side``): no per-operation thread
        synchronisation, which is what made small operations slow on a busy machine."""
        B = t.shape[0]
        n = torch.get_num_threads() if t.device.type == "cpu" and self._side_by_side else 1
        size = self._chunk(B) if n == 1 else min(self._chunk(B), -(-B // n))
        if size >= B:
            return self._coefficients(t)
        if n > 1:
            return side_by_side(self._coefficients, t, size, n)
        return cat_chunks([self._coefficients(c) for c in t.split(size)])

    def forward(self, x):
        """Scattering of ``x`` ``(..., *shape)``; see the class docstring for the output."""
        self._check_runtime()
        t, batch, was_numpy = prepare(x, self._input_shape(), getattr(self, "pre_pad", False))
        if was_numpy and self._numpy_compute is not None:
            t = t.to(self._numpy_compute)
        S = self._run(t)

        def finish(c: torch.Tensor):
            c = c.reshape(batch + tuple(c.shape[1:]))
            if not was_numpy:
                return c
            c = c.detach().cpu().numpy()
            return c if self._numpy_out is None else c.astype(self._numpy_out, copy=False)

        if self.out_type == "array":
            return finish(S)
        coefs = S if isinstance(S, list) else list(S.unbind(1))
        paths = self._paths()
        if self.out_type == "dict":
            return {p["n"]: finish(c) for p, c in zip(paths, coefs)}
        return [dict(coef=finish(c), **p) for p, c in zip(paths, coefs)]

    scattering = forward
