"""Normalisation of raw scattering covariances (``norm='self'`` or ``'auto'``).

    S1 -> log S1;  S2 -> log S2 (cross: S2 / sqrt(P1 P2), a correlation)
    S3[j2,j3,l2,l3]  /= sqrt(P2[j2,l2] P1[j3,l3])
    S3P[j2,j3,l2,l3] /= sqrt(P1[j2,l2] P2[j3,l3])
    S4[j1,j2,j3,l1,l2,l3] /= sqrt(P1[j1,l1] P2[j2,l2])

``P1``, ``P2`` are the auto powers ``<|C_jl|^2>`` of each field: the
field's own (``'self'``) or a cached reference (``'auto'``). Standard
deviations follow by the delta method (``sigma / S`` under the log).
"""
from __future__ import annotations

import torch


def _pick(P: torch.Tensor, js: torch.Tensor) -> torch.Tensor:
    """``P (B,K,J,L)`` at scales ``js (n,)`` -> ``(B,K,n,L)``."""
    return P.index_select(2, js)


def normalisers(raw: dict, ref: dict | None = None) -> dict:
    """The divisors ``n2 (B,K,J,L)``, ``n3[, n3p] (B,K,n3,L,L)``, ``n4 (B,K,n4,L,L,1)`` of
    ``normalize`` from ``ref``'s powers (``raw``'s own if ``None``): constants for a fixed
    reference, which a loss computes once (``normalize(raw, norms=...)``)."""
    src = raw if ref is None else ref
    P1, P2 = src["P1"], src["P2"]
    dev = raw["S1"].device
    idx3 = torch.as_tensor(raw["idx3"], device=dev).reshape(-1, 2)
    idx4 = torch.as_tensor(raw["idx4"], device=dev).reshape(-1, 3)
    out = {"n2": torch.sqrt(P1 * P2)}
    # [..., n, L2, L3] normalisers
    out["n3"] = torch.sqrt(_pick(P2, idx3[:, 0])[..., :, None] * _pick(P1, idx3[:, 1])[..., None, :])
    if raw.get("S3P") is not None:
        out["n3p"] = torch.sqrt(_pick(P1, idx3[:, 0])[..., :, None] * _pick(P2, idx3[:, 1])[..., None, :])
    out["n4"] = torch.sqrt(_pick(P1, idx4[:, 0])[..., :, None, None] * _pick(P2, idx4[:, 1])[..., None, :, None])
    return out


def normalize(raw: dict, ref: dict | None = None, norms: dict | None = None) -> dict:
    """Return a copy of ``raw`` normalised by ``ref``'s powers (``raw``'s own if ``None``), or
    by ready ``norms`` (``normalisers``)."""
    nrm = normalisers(raw, ref) if norms is None else norms
    n2, n3, n4 = nrm["n2"], nrm["n3"], nrm["n4"]
    out = dict(raw)
    S1, S2 = raw["S1"], raw["S2"]
    out["S1"] = torch.log(S1)
    out["S2"] = S2 / n2 if raw["cross"] else torch.log(S2)
    out["S3"] = raw["S3"] / n3
    if raw.get("S3P") is not None:
        n3p = nrm["n3p"]
        out["S3P"] = raw["S3P"] / n3p
    out["S4"] = raw["S4"] / n4
    if "var_S1" in raw:
        out["var_S1"] = raw["var_S1"] / S1
        out["var_S2"] = raw["var_S2"] / (n2 if raw["cross"] else S2)
        out["var_S3"] = raw["var_S3"] / n3
        if raw.get("var_S3P") is not None:
            out["var_S3P"] = raw["var_S3P"] / n3p
        out["var_S4"] = raw["var_S4"] / n4
    return out


def reference_powers(raw: dict) -> dict:
    """The detached powers ``{"P1", "P2": (B, K, J, L)}`` of raw statistics."""
    return {"P1": raw["P1"].detach(), "P2": raw["P2"].detach()}


def batch_reference(ref: dict) -> dict:
    """Powers averaged over the batch axis (``(1, K, J, L)``): a reference taken from a
    batch of fields normalises any batch the same way."""
    return {k: v.mean(0, keepdim=True) for k, v in ref.items()}


def powers_of(reference, raw: dict) -> dict:
    """Reference powers from a value: a dict ``{"P1", "P2"}`` or the ``ScatCov`` of a
    reference field (``eval(ref)``: ``norm=None``, full angles, auto statistics, whose
    ``S2`` are its powers). Checked against ``raw``'s ``(K, J, L)``."""
    from .scatcov import ScatCov
    if isinstance(reference, ScatCov):
        if reference.norm is not None or reference.angular != "full" or reference.cross or reference.is_sigma:
            raise ValueError("norm= as a ScatCov must be the raw auto statistics of a reference field "
                             "(op.eval(reference), without norm, iso_mean or fft_ang)")
        ref = {"P1": reference.S2.detach(), "P2": reference.S2.detach()}
    else:
        if set(reference) != {"P1", "P2"}:
            raise ValueError(f"norm= as a dict must hold exactly 'P1' and 'P2'; got {sorted(reference)}")
        ref = {k: torch.as_tensor(v) for k, v in reference.items()}
    want = tuple(raw["P1"].shape[1:])
    for k, v in ref.items():
        if v.dim() != 4 or tuple(v.shape[1:]) != want:
            raise ValueError(f"norm reference {k} has shape {tuple(v.shape)}; these statistics need "
                             f"(B or 1, K, J, L) = (*, {', '.join(map(str, want))}): same grid, J, masks, NORIENT")
        if not bool((v > 0).all()):
            raise ValueError(f"norm reference {k} must be positive powers")
    dev, dt = raw["P1"].device, raw["P1"].dtype
    return batch_reference({k: v.to(device=dev, dtype=dt) for k, v in ref.items()})
