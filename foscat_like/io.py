"""Reading and writing fields: HEALPix FITS, FITS images, .npy, PNG/JPEG.

``read_field(path)`` returns ``(array, info)`` where ``info["kind"]`` is
"healpix" (NEST order, converted from RING using the header), "image" or
"signal". ``write_field`` writes the same formats, recording parameters in
FITS headers. Every problem is a ``ValueError`` with a one-line message.
"""
from __future__ import annotations

import os

import numpy as np

IMAGE_EXT = (".png", ".jpg", ".jpeg")
FITS_EXT = (".fits", ".fit", ".fits.gz")


def _ext(path: str) -> str:
    p = path.lower()
    for e in FITS_EXT + IMAGE_EXT + (".npy",):
        if p.endswith(e):
            return e
    return os.path.splitext(p)[1]


OUTPUT_EXT = (".fits", ".fits.gz", ".npy", ".png")


def split_ext(path: str) -> tuple[str, str]:
    """``("dir/name", ".fits.gz")``: the root and the (double) extension of a path."""
    for e in (".fits.gz",) + FITS_EXT + IMAGE_EXT + (".npy",):
        if path.lower().endswith(e):
            return path[: -len(e)], path[-len(e):]
    return os.path.splitext(path)


def check_output(path: str, kind: str | None = None, inputs=(), formats=None) -> None:
    """Before any work: ``ValueError`` if ``path`` has a format ``write_field`` cannot write
    (for this ``kind`` of field; or not one of ``formats``), its directory is missing, or it
    is one of the ``inputs``."""
    ext = _ext(path)
    formats = formats or (".npy",) + FITS_EXT + IMAGE_EXT
    if ext not in formats:
        raise ValueError(f"{path}: unknown output format '{ext}' (use {', '.join(formats)})")
    if ext in IMAGE_EXT and kind is not None and kind != "image":
        raise ValueError(f"{path}: only 2D images can be written as {ext}; use .fits or .npy")
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise ValueError(f"{path}: directory {d} does not exist")
    for q in filter(None, inputs):
        same = os.path.abspath(q) == os.path.abspath(path) or (
            os.path.exists(q) and os.path.exists(path) and os.path.samefile(q, path))
        if same:
            raise ValueError(f"{path} is also an input: refusing to overwrite it (choose another output)")


def guess_kind(a: np.ndarray) -> str:
    """'healpix' for a 12*nside^2 vector (nside a power of 2), 'image' for 2D, 'signal' for 1D."""
    if a.ndim == 1:
        from .healpix.geometry import is_healpix_npix
        return "healpix" if is_healpix_npix(a.size) else "signal"
    if a.ndim == 2:
        return "image"
    raise ValueError(f"expected a 1D or 2D field; got shape {a.shape}")


def read_field(path: str, partial: bool = False) -> tuple[np.ndarray, dict]:
    """Read one field; HEALPix FITS maps come back in NEST order. ``partial``: a HEALPix map
    with UNSEEN (or NaN) pixels, or a cut-sky (explicit-index) file, comes back as the values of
    its seen cells, with ``info["cells"]`` (their NEST indices) and ``info["npix"]``: a
    ``cell_ids`` patch (``write_field(..., **sky(info))`` puts results back on the sphere)."""
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file")
    ext = _ext(path)
    try:
        if ext == ".npy":
            a = np.load(path, allow_pickle=False)
            info = {"kind": guess_kind(a), "format": "npy"}
        elif ext in IMAGE_EXT:
            import matplotlib.image as mpimg
            a = np.asarray(mpimg.imread(path), dtype=np.float64)
            if a.ndim == 3:                      # RGB(A) -> luminance
                a = a[..., :3] @ np.array([0.299, 0.587, 0.114])
            info = {"kind": "image", "format": "image"}
        elif ext in FITS_EXT:
            a, info = _read_fits(path)
        else:
            raise ValueError(f"{path}: unknown format '{ext}' (use .fits, .npy, .png or .jpg)")
    except ValueError:
        raise
    except Exception as exc:   # corrupt files and the like: one line, no traceback
        raise ValueError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None
    if np.iscomplexobj(a):
        raise ValueError(f"{path}: holds complex values ({a.dtype}); fields must be real")
    if not np.issubdtype(np.asarray(a).dtype, np.number) and np.asarray(a).dtype != bool:
        raise ValueError(f"{path}: holds {np.asarray(a).dtype} values, not numbers")
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        raise ValueError(f"{path}: is empty")
    seen = np.isfinite(a)
    if partial and info["kind"] == "healpix" and seen.any() and not seen.all() and not np.isinf(a).any():
        cells = np.flatnonzero(seen)
        return a[cells], dict(info, cells=cells, npix=a.size)
    if not seen.all():
        raise ValueError(f"{path}: contains NaN or infinite values (UNSEEN pixels?); mask or fill them first")
    return a, info


def sky(info: dict) -> dict:
    """``write_field``'s keywords that put a partial map's values back on the sphere (``{}`` else)."""
    return {"cells": info["cells"], "npix": info["npix"]} if "cells" in info else {}


def on_sky(values: np.ndarray, cells: np.ndarray, npix: int, fill: float | None = None) -> np.ndarray:
    """Values ``(..., ncells)`` of the NEST ``cells`` as full maps ``(..., npix)``, ``fill``
    (default healpy's UNSEEN) elsewhere."""
    import healpy as hp
    cells = np.asarray(cells)
    if npix is None or cells.ndim != 1 or np.shape(values)[-1:] != cells.shape or (
            cells.size and (cells.min() < 0 or cells.max() >= npix)):
        raise ValueError(f"on_sky: values (..., ncells) need cells (ncells,) of NEST indices in [0, npix); got "
                         f"values {np.shape(values)}, cells {cells.shape}, npix {npix}")
    out = np.full(np.shape(values)[:-1] + (npix,), hp.UNSEEN if fill is None else fill)
    out[..., cells] = values
    return out


def on_cells(a: np.ndarray, info: dict, name: str) -> np.ndarray:
    """An input ``a`` beside a partial map (``info`` from ``read_field(..., partial=True)``): a full
    map ``(..., npix)`` taken on its cells (it must be seen there), or ``a`` if it already holds one
    value per cell; ``a`` itself beside a full map."""
    if "cells" not in info:
        return a
    n, cells = info["npix"], info["cells"]
    if a.shape[-1] == n:
        a = a[..., cells]
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} is UNSEEN or NaN on some of the input's seen pixels")
        return a
    if a.shape[-1] != cells.size:
        raise ValueError(f"{name} must be a map of {n} pixels or hold one value per seen pixel of the input "
                         f"({cells.size}); got shape {a.shape}")
    return a


def read_beside(path: str, info: dict, name: str) -> np.ndarray:
    """An auxiliary field (mask, noise-std map, reference) for an input read with ``info``: a
    partial HEALPix map is accepted when it is seen wherever the input is (``on_cells``)."""
    a, own = read_field(path, partial="cells" in info)
    if "cells" in own:
        a = on_sky(a, own["cells"], own["npix"], fill=np.nan)
    return on_cells(a, info, name)


def _read_fits(path: str) -> tuple[np.ndarray, dict]:
    from astropy.io import fits
    with fits.open(path) as hdul:
        for k, hdu in enumerate(hdul):
            if str(hdu.header.get("PIXTYPE", "")).strip().upper() == "HEALPIX":
                order = str(hdu.header.get("ORDERING", "")).strip().upper()
                if order not in ("RING", "NESTED", "NEST"):
                    raise ValueError(f"{path}: HEALPix FITS without ORDERING (RING/NESTED) keyword")
                import healpy as hp
                if k == 0 or hdu.header.get("XTENSION") != "BINTABLE":   # an image HDU holding the map
                    m = np.asarray(hdu.data, dtype=np.float64).ravel()
                    m = hp.reorder(m, r2n=True) if order == "RING" else m
                else:
                    m = hp.read_map(path, field=0, hdu=k, nest=True, dtype=np.float64)
                m = np.where(m == hp.UNSEEN, np.nan, m)
                return m, {"kind": "healpix", "format": "fits", "ordering_on_disk": order}
        for hdu in hdul:
            if hdu.data is not None and getattr(hdu.data, "ndim", 0) in (1, 2) and hdu.header.get("XTENSION") != "BINTABLE":
                a = np.asarray(hdu.data)
                kind = guess_kind(a)
                if str(hdu.header.get("FLKIND", "")).strip() == "signal" and a.ndim == 1:
                    kind = "signal"
                if kind == "healpix":     # no PIXTYPE/ORDERING: RING and NEST cannot be told apart
                    raise ValueError(f"{path}: a vector of 12*nside**2 values without PIXTYPE='HEALPIX' "
                                     "and ORDERING; write HEALPix maps with healpy.write_map")
                return a, {"kind": kind, "format": "fits"}
    raise ValueError(f"{path}: no image or HEALPix map found in the FITS file")


def write_field(path: str, a: np.ndarray, kind: str, params: dict | None = None, cells=None,
                npix: int | None = None) -> None:
    """Write ``a`` (HEALPix maps in NEST) to .fits, .npy or .png; ``params`` go to the FITS header.
    ``cells``, ``npix``: ``a`` holds the values of these NEST cells only (``on_sky``: UNSEEN elsewhere)."""
    if cells is not None:
        a = on_sky(a, cells, npix)
    ext = _ext(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    params = params or {}
    if ext == ".npy":
        np.save(path, a)
    elif ext in IMAGE_EXT:
        import matplotlib.pyplot as plt
        if a.ndim != 2:
            raise ValueError(f"{path}: only 2D fields can be written as images")
        plt.imsave(path, a, cmap="gray")
    elif ext in FITS_EXT:
        from astropy.io import fits
        if kind == "healpix":
            import healpy as hp
            extra = [(k.upper()[:8], str(v)[:60]) for k, v in params.items()]
            hp.write_map(path, a, nest=True, overwrite=True, extra_header=extra, dtype=np.float64)
        else:
            hdu = fits.PrimaryHDU(np.asarray(a, dtype=np.float64))
            hdu.header["FLKIND"] = kind
            for k, v in params.items():
                hdu.header[k.upper()[:8]] = str(v)[:60]
            hdu.writeto(path, overwrite=True)
    else:
        raise ValueError(f"{path}: unknown output format '{ext}' (use .fits, .npy or .png)")
