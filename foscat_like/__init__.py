"""foscat_like: scattering transforms, scattering covariance and synthesis on 1D, 2D and HEALPix grids."""
from .funct import funct, separate
from .stats.scatcov import ScatCov

__version__ = "0.1.0"
__all__ = ["funct", "separate", "ScatCov", "__version__"]
