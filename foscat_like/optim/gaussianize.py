"""Histogram Gaussianisation (``to_gaussian=True``) and its inverse, from a target's pixels."""
from __future__ import annotations

import numpy as np
import torch
from scipy.special import ndtr, ndtri


class Gaussianizer:
    """Monotone map of the target's empirical distribution onto N(0, 1).

    ``forward`` uses the target's empirical CDF (linear interpolation between
    order statistics); ``inverse`` maps Gaussian values back through the
    target's quantiles, so a synthesis recovers the target's histogram.
    """

    def __init__(self, values: torch.Tensor):
        v = np.sort(values.detach().cpu().numpy().ravel())
        n = len(v)
        self.sorted = v
        self.probs = (np.arange(n) + 0.5) / n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = np.interp(x.detach().cpu().numpy(), self.sorted, self.probs)
        return torch.as_tensor(ndtri(p), dtype=x.dtype, device=x.device)

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        p = ndtr(g.detach().cpu().numpy())
        return torch.as_tensor(np.interp(p, self.probs, self.sorted), dtype=g.dtype, device=g.device)
