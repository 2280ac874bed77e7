"""foscat_like: scattering transforms, scattering covariance and synthesis on 1D, 2D and HEALPix grids."""
from .funct import funct, separate
from .optim.posterior import Posterior, posterior_samples
from .stats.scatcov import ScatCov

__version__ = "0.1.0"
__all__ = ["funct", "separate", "Posterior", "posterior_samples", "ScatCov", "__version__"]
