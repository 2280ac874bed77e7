"""Moved to ``foscat_like.classic.sklearn`` (kept here for existing imports)."""
from ..classic.sklearn import ScatteringTransformer

__all__ = ["ScatteringTransformer"]
