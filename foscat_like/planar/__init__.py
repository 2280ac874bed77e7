"""The periodic planar grid (``PlanarGrid``) and, for existing code, the classic transforms.

The Kymatio-equal transforms live in ``foscat_like.classic``; ``foscat_like.planar.X``
(``scattering2d``, ``sklearn``, ``reconstruct``, ``smallkernel``, ``figures``, ...) are the same
module objects, so old import paths keep working.
"""
import importlib as _importlib
import sys as _sys

from ..classic import HarmonicScattering3D, Scattering1D, Scattering2D

for _m in ("figures", "filters1d", "filters2d", "fourier", "frontend", "harmonic3d", "reconstruct",
           "scattering1d", "scattering2d", "smallkernel"):
    _sys.modules[f"{__name__}.{_m}"] = _mod = _importlib.import_module(f"foscat_like.classic.{_m}")
    globals()[_m] = _mod

__all__ = ["Scattering1D", "Scattering2D", "HarmonicScattering3D"]
