"""Moved to ``foscat_like.lbfgs`` (shared by ``optim`` and ``classic.reconstruct``)."""
from ..lbfgs import LevelResult, minimize

__all__ = ["LevelResult", "minimize"]
