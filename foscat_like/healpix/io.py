"""Reading HEALPix FITS maps into NEST order (healpy; ordering from the header)."""
from __future__ import annotations

import numpy as np


def read_map(path: str, field=0, nest: bool = True) -> np.ndarray:
    """Map(s) from a HEALPix FITS file, reordered to NEST (or RING with ``nest=False``).

    The file's ``ORDERING`` keyword decides the conversion; a file without it is
    refused rather than guessed (a RING map read as NEST gives wrong statistics
    silently).
    """
    import healpy as hp
    from astropy.io import fits

    with fits.open(path) as hdul:
        hdr = hdul[1].header if len(hdul) > 1 else hdul[0].header
        ordering = str(hdr.get("ORDERING", "")).strip().upper()
    if ordering not in ("RING", "NESTED", "NEST"):
        raise ValueError(f"{path}: FITS header has no ORDERING keyword (RING or NESTED); "
                         "cannot tell the pixel order")
    m = hp.read_map(path, field=field, nest=nest, dtype=np.float64)
    return np.asarray(m)
