"""Synthesis and separation: coarse-to-fine L-BFGS-B on scattering-covariance losses, for every grid."""
from .config import SeparationConfig, SynthesisConfig
from .levels import SynthesisResult
from .synthesis import synthesize

__all__ = ["SynthesisConfig", "SeparationConfig", "SynthesisResult", "synthesize"]
