"""Scores shared by every method: NLL and CRPS of a 1-D Gaussian mixture per test row.

Every method hands back its predictive distribution as a Gaussian mixture per row,
``Mixture(w, mu, sigma)`` with arrays of shape (n, K) (K = 1 for a single Gaussian), in the
space the method was fit in: the target itself, or log(target) for a log-target dataset. The
scores are always in the ORIGINAL units of the target:

* NLL: -log p(y). For a log-target dataset the density of y is p(log y) / y, so the Jacobian
  log(y) is added to the log-space NLL.
* CRPS: closed form for a Gaussian mixture (Grimit et al. 2006); for a log-target dataset the
  predictive distribution of y is a mixture of log-normals, whose CRPS is computed by
  quadrature of  int (F(t) - 1{t >= y})^2 dt  after the substitution t = exp(s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, ndtr

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


@dataclass
class Mixture:
    """A 1-D Gaussian mixture per row: weights, means and standard deviations, each (n, K)."""

    w: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray

    def __post_init__(self):
        self.w = np.atleast_2d(np.asarray(self.w, dtype=float))
        self.mu = np.atleast_2d(np.asarray(self.mu, dtype=float))
        self.sigma = np.atleast_2d(np.asarray(self.sigma, dtype=float))
        if not (self.w.shape == self.mu.shape == self.sigma.shape):
            raise ValueError(f"shapes differ: {self.w.shape} {self.mu.shape} {self.sigma.shape}")
        # Renormalise (printed weights are rounded) and keep only valid components.
        s = self.w.sum(axis=1, keepdims=True)
        self.w = self.w / s

    @classmethod
    def gaussian(cls, mu, sigma):
        mu = np.asarray(mu, dtype=float).reshape(-1, 1)
        sigma = np.broadcast_to(np.asarray(sigma, dtype=float).reshape(-1, 1), mu.shape)
        return cls(np.ones_like(mu), mu, sigma.copy())

    def __len__(self):
        return self.w.shape[0]

    def subset(self, idx):
        return Mixture(self.w[idx], self.mu[idx], self.sigma[idx])


def log_pdf(m: Mixture, z: np.ndarray) -> np.ndarray:
    """log p(z) per row, by logsumexp over the components."""
    z = np.asarray(z, dtype=float).reshape(-1, 1)
    with np.errstate(divide="ignore"):
        logw = np.log(m.w)
    u = (z - m.mu) / m.sigma
    comp = logw - 0.5 * u * u - np.log(m.sigma) - LOG_SQRT_2PI
    return logsumexp(comp, axis=1)


def nll(m: Mixture, y: np.ndarray, log_target: bool = False) -> np.ndarray:
    """Per-row NLL of y (original units). With log_target, m is a mixture over log(y)."""
    y = np.asarray(y, dtype=float)
    if log_target:
        ly = np.log(y)
        return -log_pdf(m, ly) + ly
    return -log_pdf(m, y)


def _A(mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    """E|X| for X ~ N(mu, var): 2 s phi(mu/s) + mu (2 Phi(mu/s) - 1)."""
    s = np.sqrt(var)
    r = mu / s
    phi = np.exp(-0.5 * r * r) / np.sqrt(2.0 * np.pi)
    return 2.0 * s * phi + mu * (2.0 * ndtr(r) - 1.0)


def crps_gaussian_mixture(m: Mixture, y: np.ndarray) -> np.ndarray:
    """Closed-form CRPS of a Gaussian mixture per row (Grimit et al. 2006):

    CRPS = sum_i w_i A(y - mu_i, s_i^2) - 1/2 sum_i sum_j w_i w_j A(mu_i - mu_j, s_i^2 + s_j^2).
    """
    y = np.asarray(y, dtype=float).reshape(-1, 1)
    var = m.sigma**2
    first = np.sum(m.w * _A(y - m.mu, var), axis=1)
    dmu = m.mu[:, :, None] - m.mu[:, None, :]
    dvar = var[:, :, None] + var[:, None, :]
    ww = m.w[:, :, None] * m.w[:, None, :]
    second = 0.5 * np.sum(ww * _A(dmu, dvar), axis=(1, 2))
    return first - second


def _simpson_weights(n: int) -> np.ndarray:
    """Composite Simpson weights (times h) on n (odd) equally spaced nodes."""
    if n % 2 == 0:
        raise ValueError("Simpson's rule needs an odd number of nodes")
    w = np.ones(n)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return w / 3.0


def crps_lognormal_mixture(m: Mixture, y: np.ndarray, n_nodes: int = 2001,
                           chunk: int = 256) -> np.ndarray:
    """CRPS in original units of y when log(y) follows the Gaussian mixture m (so y follows a
    mixture of log-normals). No closed form exists for the cross terms, so this integrates

        CRPS = int_0^inf (F(t) - 1{t >= y})^2 dt = int (F(e^s) - 1{s >= log y})^2 e^s ds

    numerically: composite Simpson's rule on n_nodes points on each side of s = log y, from
    min(mu - 12 sigma) to max(mu + 12 sigma + sigma^2) per row (beyond which the integrand is
    negligible: the upper tail's (1 - F)^2 e^s peaks near mu + sigma^2).
    """
    y = np.asarray(y, dtype=float)
    ly = np.log(y)
    out = np.empty(len(y))
    tw = _simpson_weights(n_nodes)
    g = np.linspace(0.0, 1.0, n_nodes)
    for a in range(0, len(y), chunk):
        b = min(a + chunk, len(y))
        w, mu, sd, l = m.w[a:b], m.mu[a:b], m.sigma[a:b], ly[a:b]
        lo = np.minimum((mu - 12.0 * sd).min(axis=1), l - 1e-9)
        hi = np.maximum((mu + 12.0 * sd + sd**2).max(axis=1), l + 1e-9)
        total = np.zeros(b - a)
        for left, right, indicator in ((lo, l, 0.0), (l, hi, 1.0)):
            s = left[:, None] + (right - left)[:, None] * g[None, :]  # (r, n)
            F = np.sum(w[:, None, :] * ndtr((s[:, :, None] - mu[:, None, :]) / sd[:, None, :]),
                       axis=2)
            f = (F - indicator) ** 2 * np.exp(s)
            h = (right - left) / (n_nodes - 1)
            total += h * (f @ tw)
        out[a:b] = total
    return out


def crps(m: Mixture, y: np.ndarray, log_target: bool = False) -> np.ndarray:
    """Per-row CRPS in the original units of y."""
    if log_target:
        return crps_lognormal_mixture(m, y)
    return crps_gaussian_mixture(m, y)


def crps_lognormal_closed_form(mu: np.ndarray, sigma: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of a single log-normal LN(mu, sigma^2) at y (Baran & Lerch 2015); for tests."""
    z = (np.log(y) - mu) / sigma
    return y * (2.0 * ndtr(z) - 1.0) - 2.0 * np.exp(mu + sigma**2 / 2.0) * (
        ndtr(z - sigma) + ndtr(sigma / np.sqrt(2.0)) - 1.0
    )


def cdf(m: Mixture, z: np.ndarray) -> np.ndarray:
    """Mixture CDF per row at z (same space as m)."""
    z = np.asarray(z, dtype=float).reshape(-1, 1)
    return np.sum(m.w * ndtr((z - m.mu) / m.sigma), axis=1)


__all__ = [
    "Mixture",
    "cdf",
    "crps",
    "crps_gaussian_mixture",
    "crps_lognormal_closed_form",
    "crps_lognormal_mixture",
    "log_pdf",
    "nll",
]
