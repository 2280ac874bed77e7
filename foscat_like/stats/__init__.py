"""Scattering covariance statistics, written once against the grid protocol."""
from .scatcov import ScatCov

__all__ = ["ScatCov"]
