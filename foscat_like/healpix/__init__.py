"""HEALPix (NEST) grid: oriented stencil wavelets, downgrade/upgrade, FITS reading."""
from .grid import HealpixGrid, nside_of
from .io import read_map

__all__ = ["HealpixGrid", "nside_of", "read_map"]
