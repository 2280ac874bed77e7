"""Classic scattering, numerically equal to Kymatio 0.3.0: ``Scattering1D``, ``Scattering2D``,
``HarmonicScattering3D``; figures, scikit-learn transformer, reconstruction, small kernels."""
from .harmonic3d import HarmonicScattering3D
from .scattering1d import Scattering1D
from .scattering2d import Scattering2D

__all__ = ["Scattering1D", "Scattering2D", "HarmonicScattering3D"]
