"""MDNRegressor beside scikit-mdn (PyTorch), on the same data and the same work, in one run.

scikit-mdn (https://github.com/koaning/scikit-mdn, `pip install scikit-mdn`) is the
scikit-learn-style MDN of the PyTorch world: one hidden layer (softplus), one target,
full-batch Adam for a fixed number of epochs, no early stopping. We train what it allows on our
side too: one hidden layer of the same width (tanh: we have no softplus), the same components,
epochs and learning rate, one batch of all rows, no validation split, no early stopping. Both
get standardised data (scikit-mdn does not standardise; we standardise inside) and both use
every core (torch's intra-op threads; our rayon pool). Ours is one network without noise
(`ensemble=1, noise_y="off"`), as scikit-mdn's is.

Printed: fit time, predict time (mixture parameters of the test rows: our predict_mixture,
scikit-mdn's forward) and the test NLL in y's units — ours from log_likelihood, scikit-mdn's
from the mixture parameters its forward returns (exact; its pdf() only evaluates a grid of y
values, which gives the same numbers at the grid points).

    target/bench-venv/bin/python bench/python/compare.py            # the comparison
    target/bench-venv/bin/python bench/python/compare.py --quick    # a check that it runs

Timings mean something only on an otherwise idle machine.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm


def toy(n, seed):
    """Bishop's toy inverse problem: t given x, up to three branches."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 1.0, n)
    x = t + 0.3 * np.sin(2 * np.pi * t) + rng.uniform(-0.1, 0.1, n)
    return x[:, None], t


def seconds(f):
    start = time.perf_counter()
    result = f()
    return time.perf_counter() - start, result


def side_by_side(ours, theirs, repeats):
    """Alternates the two, `repeats` times each, so that a shared machine's changing load falls
    on both alike; returns the median times, each side's last result, and each pair's ratio."""
    times_ours, times_theirs, ratios = [], [], []
    for _ in range(repeats):
        a, result_ours = seconds(ours)
        b, result_theirs = seconds(theirs)
        times_ours.append(a)
        times_theirs.append(b)
        ratios.append(b / a)
    return (
        statistics.median(times_ours),
        result_ours,
        statistics.median(times_theirs),
        result_theirs,
        ratios,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="training rows (default 10000)")
    parser.add_argument("--test-rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=1000, help="scikit-mdn's default: 1000")
    parser.add_argument("--hidden", type=int, default=32, help="width of the hidden layer")
    parser.add_argument("--components", type=int, default=5, help="scikit-mdn's default: 5")
    parser.add_argument("--lr", type=float, default=0.01, help="scikit-mdn's default: 0.01")
    parser.add_argument("--repeats", type=int, default=5, help="timings are the median (the two alternate)")
    parser.add_argument("--quick", action="store_true", help="a small run, to check it works")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.test_rows, args.epochs, args.repeats = 500, 500, 50, 1

    import torch
    from skmdn import MixtureDensityEstimator

    import mdn
    from mdn import MDNRegressor

    warnings.filterwarnings("ignore", category=mdn.MDNWarning)  # batch = all rows, on purpose
    x, t = toy(args.rows, 0)
    xt, tt = toy(args.test_rows, 1)
    # Standardised on the training rows, for scikit-mdn (we standardise inside, the same way).
    mx, sx, mt, st = x.mean(0), x.std(0), t.mean(), t.std()
    xs, ts, xts, tts = (x - mx) / sx, (t - mt) / st, (xt - mx) / sx, (tt - mt) / st

    ours = MDNRegressor(
        n_components=args.components,
        hidden=(args.hidden,),
        activation="tanh",
        epochs=args.epochs,
        batch_size=args.rows,
        lr=args.lr,
        val_fraction=0.0,
        patience=None,
        # One network without noise: scikit-mdn trains one (our defaults train five).
        ensemble=1,
        noise_y="off",
        random_state=0,
    )

    def theirs():
        torch.manual_seed(0)
        return MixtureDensityEstimator(
            hidden_dim=args.hidden, n_gaussians=args.components, epochs=args.epochs, lr=args.lr
        )

    # One short untimed fit each first: torch's first call initialises its kernels.
    MDNRegressor(epochs=2, hidden=(args.hidden,)).fit(x[:100], t[:100])
    MixtureDensityEstimator(hidden_dim=args.hidden, epochs=2).fit(xs[:100], ts[:100, None])
    fit_ours, ours, fit_theirs, skmdn_model, fit_ratios = side_by_side(
        lambda: ours.fit(x, t), lambda: theirs().fit(xs, ts[:, None]), args.repeats
    )
    predict_ours, mixture, predict_theirs, (pi, mu, sigma), _ = side_by_side(
        lambda: ours.predict_mixture(xt), lambda: skmdn_model.forward(xts), args.repeats
    )

    nll_ours = -ours.log_likelihood(xt, tt)
    log_p = logsumexp(np.log(pi) + norm.logpdf(tts[:, None], mu, sigma), axis=1) - np.log(st)
    nll_theirs = -float(np.mean(log_p))

    print(f"# MDNRegressor (mdn {mdn.__version__}) vs scikit-mdn (torch {torch.__version__})")
    print()
    print(
        f"Bishop's toy problem, {args.rows} training and {args.test_rows} test rows; one hidden "
        f"layer of {args.hidden}, {args.components} components, {args.epochs} full-batch Adam "
        f"epochs at lr {args.lr}; median of {args.repeats}, the two alternating. "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; torch threads {torch.get_num_threads()}, ours one a core."
    )
    print()
    print("| | MDNRegressor | scikit-mdn | scikit-mdn / ours |")
    print("|---|---:|---:|---:|")
    print(f"| fit (s) | {fit_ours:.3f} | {fit_theirs:.3f} | {fit_theirs / fit_ours:.1f}× |")
    print(
        f"| predict {args.test_rows} rows (ms) | {1e3 * predict_ours:.2f} | "
        f"{1e3 * predict_theirs:.2f} | {predict_theirs / predict_ours:.1f}× |"
    )
    print(f"| test NLL (nats) | {nll_ours:.4f} | {nll_theirs:.4f} | |")
    print()
    print("Fit ratio of each pair, in order: " + ", ".join(f"{r:.1f}×" for r in fit_ratios))
    if args.quick:
        assert np.isfinite(nll_ours) and np.isfinite(nll_theirs)
        assert mixture.weights.shape == pi.shape
    return 0


if __name__ == "__main__":
    sys.exit(main())
