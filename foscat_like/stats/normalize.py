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


def normalize(raw: dict, ref: dict | None = None) -> dict:
    """Return a copy of ``raw`` normalised by ``ref``'s powers (``raw``'s own if ``None``)."""
    src = raw if ref is None else ref
    P1, P2 = src["P1"], src["P2"]
    dev = raw["S1"].device
    idx3 = torch.as_tensor(raw["idx3"], device=dev).reshape(-1, 2)
    idx4 = torch.as_tensor(raw["idx4"], device=dev).reshape(-1, 3)
    out = dict(raw)
    S1, S2 = raw["S1"], raw["S2"]
    out["S1"] = torch.log(S1)
    n2 = torch.sqrt(P1 * P2)
    out["S2"] = S2 / n2 if raw["cross"] else torch.log(S2)
    # [..., n, L2, L3] normalisers
    n3 = torch.sqrt(_pick(P2, idx3[:, 0])[..., :, None] * _pick(P1, idx3[:, 1])[..., None, :])
    out["S3"] = raw["S3"] / n3
    if raw.get("S3P") is not None:
        n3p = torch.sqrt(_pick(P1, idx3[:, 0])[..., :, None] * _pick(P2, idx3[:, 1])[..., None, :])
        out["S3P"] = raw["S3P"] / n3p
    n4 = torch.sqrt(_pick(P1, idx4[:, 0])[..., :, None, None] * _pick(P2, idx4[:, 1])[..., None, :, None])
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
    """The detached powers cached by ``norm='auto'``."""
    return {"P1": raw["P1"].detach(), "P2": raw["P2"].detach()}
