"""Checks of the shared scores against brute-force numerical integration.

Run: python -m pytest bench/realdata -q   (from the repository root, in the bench venv)
"""

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from scoring import (
    Mixture,
    cdf,
    crps,
    crps_gaussian_mixture,
    crps_lognormal_closed_form,
    crps_lognormal_mixture,
    nll,
)


def crps_by_integration(F, y, lo, hi):
    """int_lo^hi (F(t) - 1{t >= y})^2 dt, split at y, by adaptive quadrature."""
    left, _ = integrate.quad(lambda t: F(t) ** 2, lo, y, limit=400, epsabs=1e-11)
    right, _ = integrate.quad(lambda t: (F(t) - 1.0) ** 2, y, hi, limit=400, epsabs=1e-11)
    return left + right


def random_mixture(rng, k):
    w = rng.dirichlet(np.ones(k))
    mu = rng.normal(0.0, 2.0, k)
    sigma = rng.uniform(0.2, 1.5, k)
    return w, mu, sigma


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_gaussian_mixture_crps_matches_integration(k):
    rng = np.random.default_rng(k)
    for _ in range(4):
        w, mu, sigma = random_mixture(rng, k)
        y = rng.normal(0.0, 3.0)
        m = Mixture(w[None], mu[None], sigma[None])
        closed = crps_gaussian_mixture(m, np.array([y]))[0]
        F = lambda t: float(np.sum(w * norm.cdf((t - mu) / sigma)))
        lo = min(mu - 15 * sigma.max()) - abs(y)
        hi = max(mu + 15 * sigma.max()) + abs(y)
        numeric = crps_by_integration(F, y, lo, hi)
        assert closed == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_single_gaussian_crps_textbook_formula():
    # CRPS(N(mu, s^2), y) = s [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]  (Gneiting et al. 2005)
    mu, s, y = 1.3, 0.7, 2.1
    z = (y - mu) / s
    expected = s * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))
    got = crps_gaussian_mixture(Mixture.gaussian([mu], [s]), np.array([y]))[0]
    assert got == pytest.approx(expected, rel=1e-12)


def test_vectorised_rows_agree_with_one_by_one():
    rng = np.random.default_rng(7)
    rows = [random_mixture(rng, 3) for _ in range(6)]
    w = np.array([r[0] for r in rows])
    mu = np.array([r[1] for r in rows])
    sd = np.array([r[2] for r in rows])
    y = rng.normal(size=6)
    m = Mixture(w, mu, sd)
    together = crps(m, y)
    alone = [crps(m.subset([i]), y[[i]])[0] for i in range(6)]
    np.testing.assert_allclose(together, alone, rtol=1e-12)


def test_lognormal_crps_matches_closed_form_for_one_component():
    mu = np.array([0.5, 5.9, 6.3])
    sd = np.array([0.3, 0.6, 1.1])
    y = np.array([1.9, 300.0, 2000.0])
    m = Mixture(np.ones((3, 1)), mu[:, None], sd[:, None])
    np.testing.assert_allclose(crps_lognormal_mixture(m, y), crps_lognormal_closed_form(mu, sd, y),
                               rtol=1e-5)


@pytest.mark.parametrize("k", [2, 4])
def test_lognormal_mixture_crps_matches_integration_in_original_units(k):
    rng = np.random.default_rng(100 + k)
    w = rng.dirichlet(np.ones(k))
    mu = rng.normal(5.5, 0.5, k)
    sigma = rng.uniform(0.2, 0.8, k)
    m = Mixture(w[None], mu[None], sigma[None])
    for y in (80.0, 300.0, 1500.0):
        F = lambda t: float(np.sum(w * norm.cdf((np.log(t) - mu) / sigma))) if t > 0 else 0.0
        # Split the range so adaptive quadrature sees the bulk of the mass.
        hi = float(np.exp(max(mu + 12 * sigma)))
        pts = np.unique(np.concatenate([[1e-9], np.exp(mu), [y], [hi]]))
        numeric = 0.0
        for a, b in zip(pts[:-1], pts[1:]):
            ind = 1.0 if a >= y else 0.0
            numeric += integrate.quad(lambda t: (F(t) - ind) ** 2, a, b, limit=400)[0]
        got = crps_lognormal_mixture(m, np.array([y]))[0]
        assert got == pytest.approx(numeric, rel=1e-4)


def test_nll_log_target_adds_jacobian():
    mu, sd, y = 5.0, 0.4, 170.0
    m = Mixture.gaussian([mu], [sd])
    expected = -norm.logpdf(np.log(y), mu, sd) + np.log(y)
    assert nll(m, np.array([y]), log_target=True)[0] == pytest.approx(expected, rel=1e-12)
    # and it is the density of y: integrates to one
    total = integrate.quad(lambda t: np.exp(-nll(m, np.array([t]), True)[0]), 1e-6, 1e5,
                           points=[np.exp(mu)], limit=400)[0]
    assert total == pytest.approx(1.0, rel=1e-6)


def test_mixture_nll_and_cdf():
    w, mu, sd = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([0.5, 1.0])
    m = Mixture(w[None], mu[None], sd[None])
    y = 0.4
    p = np.sum(w * norm.pdf(y, mu, sd))
    assert nll(m, np.array([y]))[0] == pytest.approx(-np.log(p), rel=1e-12)
    assert cdf(m, np.array([y]))[0] == pytest.approx(np.sum(w * norm.cdf(y, mu, sd)), rel=1e-12)
