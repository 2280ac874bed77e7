"""Synthesis: coarse-to-fine L-BFGS-B on the scattering-covariance loss, for every grid."""
from .levels import SynthesisResult
from .synthesis import SynthesisConfig, synthesize

__all__ = ["SynthesisConfig", "SynthesisResult", "synthesize"]
