#!/usr/bin/env python3
"""Fits the rational approximation of tanh in crates/mdn-engine/src/math/mod.rs.

    python3 scripts/fit_tanh.py        # needs NumPy; prints the f32 coefficients

tanh(x) ~ x * P(x^2) / Q(x^2) on [0, 9.02] (beyond, tanh rounds to 1 in f32), with
P(0) = Q(0) = 1 (so that tanh(x) = x for tiny x), deg P = 6, deg Q = 3 (the shape of Eigen's
and XLA's float tanh), minimising the largest relative error. The linearised problem
P(z) - f(z) Q(z) = 0, f(z) = tanh(sqrt z)/sqrt z, is solved by weighted least squares on a
dense grid, the weights divided by the current |f Q| (so that the residual is the relative
error) and updated by Lawson's rule until the error equioscillates. The coefficients are then
rounded to f32 one at a time, highest first, the others refitted after each rounding.

Prints the largest relative error of the fit in f64 arithmetic (with f64 and with the
rounded coefficients); the error of the f32 evaluation in the crate (a few ulp more) is what
crates/mdn-engine/src/math/tests measures.
"""

import numpy as np

X_MAX = 9.02
P_DEGREE, Q_DEGREE = 6, 3


def grid():
    x = np.concatenate([np.linspace(1e-4, 1.0, 6000), np.linspace(1.0, X_MAX, 12000)])
    return x, x * x, np.tanh(x) / x


def fit(fixed, iterations=400):
    """The free coefficients (p1..p6, q1..q3; None where free) with `fixed` (index -> value)
    kept, in the scaled variable s = z / X_MAX^2."""
    x, z, f = grid()
    s = z / X_MAX**2
    n = P_DEGREE + Q_DEGREE
    columns = [s**i for i in range(1, P_DEGREE + 1)] + [-f * s**j for j in range(1, Q_DEGREE + 1)]
    a = np.stack(columns, 1)
    b = f - 1.0
    for k, v in fixed.items():
        b = b - a[:, k] * v
    free = [k for k in range(n) if k not in fixed]
    weights = np.ones_like(x)
    q_now = np.ones_like(x)
    coefficients = None
    for it in range(iterations):
        scale = np.sqrt(weights) / np.abs(f * q_now)
        solution, *_ = np.linalg.lstsq(a[:, free] * scale[:, None], b * scale, rcond=None)
        coefficients = np.zeros(n)
        for k, v in fixed.items():
            coefficients[k] = v
        coefficients[free] = solution
        p = 1 + sum(coefficients[i - 1] * s**i for i in range(1, P_DEGREE + 1))
        q_now = 1 + sum(coefficients[P_DEGREE + j - 1] * s**j for j in range(1, Q_DEGREE + 1))
        error = np.abs(p / q_now / f - 1)
        if it >= 5:
            weights = weights * (error / error.max() + 1e-6)
            weights /= weights.sum()
    return coefficients, error.max()


def unscaled(coefficients):
    p = [coefficients[i - 1] / X_MAX ** (2 * i) for i in range(1, P_DEGREE + 1)]
    q = [coefficients[P_DEGREE + j - 1] / X_MAX ** (2 * j) for j in range(1, Q_DEGREE + 1)]
    return p, q


def main():
    coefficients, error = fit({})
    print(f"max relative error, f64 coefficients: {error:.3e}")
    # Round to f32 one coefficient at a time (in the unscaled variable), highest powers first,
    # refitting the rest.
    fixed = {}
    order = list(range(P_DEGREE - 1, -1, -1)) + list(range(P_DEGREE + Q_DEGREE - 1, P_DEGREE - 1, -1))
    for k in order:
        power = 2 * (k + 1) if k < P_DEGREE else 2 * (k - P_DEGREE + 1)
        value = coefficients[k] / X_MAX**power
        fixed[k] = float(np.float32(value)) * X_MAX**power
        coefficients, error = fit(fixed, iterations=200)
    p, q = unscaled(coefficients)
    print(f"max relative error, f32 coefficients: {error:.3e}")
    print("P (z^6 .. z^1, then 1):", ", ".join(f"{float(np.float32(v))!r}" for v in reversed(p)))
    print("Q (z^3 .. z^1, then 1):", ", ".join(f"{float(np.float32(v))!r}" for v in reversed(q)))


if __name__ == "__main__":
    main()
