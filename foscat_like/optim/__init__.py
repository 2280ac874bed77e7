"""Synthesis: coarse-to-fine L-BFGS-B on the scattering-covariance loss, for every grid."""
from .synthesis import SynthesisConfig, SynthesisResult, synthesize

__all__ = ["SynthesisConfig", "SynthesisResult", "synthesize"]
