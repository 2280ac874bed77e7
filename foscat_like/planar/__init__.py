"""Planar (1D and 2D) grids: classic scattering transforms and figures."""
from .scattering1d import Scattering1D
from .scattering2d import Scattering2D
from .harmonic3d import HarmonicScattering3D

__all__ = ["Scattering1D", "Scattering2D", "HarmonicScattering3D"]
