#!/usr/bin/env python3
"""JAX twin of bench/reference/workloads.py (the PyTorch twin) and of
crates/mdn/benches/support/mod.rs: issue 8's workloads with the same shapes, initialisation,
optimiser, data and timing protocol, on 2 CPU threads, written the way JAX wants them.

    python bench/reference/jax_workloads.py [--seconds S] [--rounds R] [--threads N] [WORKLOAD...]
    python bench/reference/jax_workloads.py --gemm N [--seconds S] [--threads N]

A workload is `w1:BATCH` (toy MDN training step), `w2:BATCH` (conv MDN training step) or
`w3` (200 x 200 density grid); the default is `w1:128 w1:4096 w2:64 w3`. Prints one
tab-separated RESULT line per workload, in the format of the Rust `bench_workloads` example.
`--gemm N` instead prints `RESULT\tgemm:N:THREADS\tGFLOP/s`: the best throughput of a jitted
`jnp.dot` of two N x N float32 matrices over at least S seconds (the protocol of the
engine's `gemm_speed` example), for the roofline of bench/compare.sh.

The models are those of workloads.py (see its docstring), with every weight and bias drawn
from U(-k, k), k = 1/sqrt(fan_in). What differs is only how JAX is best used:

- One training step is one `jax.jit`-compiled function: it gathers the batch rows from the
  device-resident pool through a device-resident shuffled order and cursor, runs forward,
  the mean NLL (log-softmax mixing coefficients, sigma = 1e-3 + softplus, logsumexp),
  backward (`jax.value_and_grad`) and optax's Adam (lr 1e-3, betas (0.9, 0.999), eps 1e-8,
  the same update as torch.optim.Adam), with the parameters, optimiser state and cursor
  donated to it. The host then reads the loss back (`float(loss)`) every step, as the Rust
  trainer (which checks it is finite) and the PyTorch twin (`loss.item()`) do.
- The images are NHWC and the kernels HWIO (XLA's CPU convolutions' native layout); 2 x 2
  max-pooling is a reshape and a max over the two window axes.
- W3 runs the toy model's forward (float32) and the density grid (float64, as the Rust side's
  host mixtures and the PyTorch twin are) in one jitted function; the grid comes back to the
  host as a NumPy array, as the PyTorch twin's does.

Threads: XLA's CPU client sizes its thread pools from the CPUs the process may run on, and
in jax 0.10 `XLA_FLAGS=--xla_cpu_multi_thread_eigen=... intra_op_parallelism_threads=N` does
not cap them (measured: four busy worker threads either way on a 2-CPU machine). So before
jax is imported the process restricts itself to N of the CPUs it may use
(`os.sched_setaffinity`, what `taskset` does) and sets those flags as well.

Timing: build the workload and compile it (untimed), warm up for at least 0.5 s and 3
iterations, then time R rounds of at least S/R seconds and 3 iterations each; report the
median round.
"""

import argparse
import math
import os
import time

import numpy as np

THREADS = 2
LEARNING_RATE = 1e-3
COMPONENTS = 5
MIN_SIGMA = 1e-3
GRID = 200


def limit_threads(threads):
    """Runs this process (and XLA's thread pools, sized when jax starts) on `threads` CPUs."""
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus[:threads])
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (
        f"{flags} --xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}"
    ).strip()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=THREADS, help="CPUs XLA runs on (issue 8: 2)")
    parser.add_argument("--gemm", type=int, metavar="N", help="time an N x N float32 jnp.dot instead")
    parser.add_argument("workloads", nargs="*", default=["w1:128", "w1:4096", "w2:64", "w3"])
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
limit_threads(ARGS.threads if ARGS else THREADS)

import jax  # noqa: E402  (after the thread limit)
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from jax import lax  # noqa: E402


# --- data: the same points as workloads.py (same NumPy generators and seeds) ---------------


def toy_points(n, rng):
    t = rng.random(n)
    x = t + 0.3 * np.sin(2.0 * np.pi * t) + rng.uniform(-0.1, 0.1, n)
    return x, t


def standardise(values):
    return ((values - values.mean()) / values.std()).astype(np.float32)


# --- models ---------------------------------------------------------------------------------


def uniform(key, shape, fan_in):
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, shape, jnp.float32, -bound, bound)


def dense_params(key, fan_in, fan_out):
    kw, kb = jax.random.split(key)
    return {"w": uniform(kw, (fan_in, fan_out), fan_in), "b": uniform(kb, (fan_out,), fan_in)}


def conv_params(key, kernel, c_in, c_out):
    fan_in = kernel * kernel * c_in
    kw, kb = jax.random.split(key)
    return {
        "w": uniform(kw, (kernel, kernel, c_in, c_out), fan_in),  # HWIO
        "b": uniform(kb, (c_out,), fan_in),
    }


def dense(p, x):
    return x @ p["w"] + p["b"]


def conv_same(p, x):
    """5 x 5 convolution with same padding, NHWC images, HWIO kernel."""
    y = lax.conv_general_dilated(
        x, p["w"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    return y + p["b"]


def max_pool_2x2(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def head_params(key, features, target_dim=1, components=COMPONENTS):
    return dense_params(key, features, components * (1 + target_dim + 1))


def head(p, features, target_dim=1, components=COMPONENTS):
    """Isotropic Gaussian mixture head, as crates/mdn/src/head/mod.rs."""
    raw = dense(p, features)
    m, c = components, target_dim
    log_alpha = jax.nn.log_softmax(raw[:, :m], axis=1)
    means = raw[:, m : m + m * c].reshape(-1, m, c)
    sigma = jax.nn.softplus(raw[:, m + m * c : m + m * c + m]) + MIN_SIGMA
    return log_alpha, means, sigma


def nll(log_alpha, means, sigma, targets):
    """Mean negative log-likelihood, as MixtureOutput::nll."""
    c = means.shape[2]
    squared = jnp.sum((targets[:, None, :] - means) ** 2, axis=2)  # [batch, m]
    log_density = (
        -0.5 * squared / sigma**2 - c * jnp.log(sigma) - c * 0.5 * math.log(2.0 * math.pi)
    )
    return -jnp.mean(jax.nn.logsumexp(log_alpha + log_density, axis=1))


def toy_init(key):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "l1": dense_params(k1, 1, 32),
        "l2": dense_params(k2, 32, 32),
        "head": head_params(k3, 32),
    }


def toy_forward(p, x):
    h = jnp.tanh(dense(p["l1"], x))
    h = jnp.tanh(dense(p["l2"], h))
    return head(p["head"], h)


def conv_init(key):
    """The crate's default CnnConfig on 28 x 28: channels [16, 32], kernel 5, hidden 128."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    return {
        "c1": conv_params(k1, 5, 1, 16),
        "c2": conv_params(k2, 5, 16, 32),
        "d": dense_params(k3, 32 * 7 * 7, 128),
        "head": head_params(k4, 128),
    }


def conv_forward(p, x):
    h = x.reshape(-1, 28, 28, 1)
    h = max_pool_2x2(jax.nn.relu(conv_same(p["c1"], h)))
    h = max_pool_2x2(jax.nn.relu(conv_same(p["c2"], h)))
    h = jax.nn.relu(dense(p["d"], h.reshape(h.shape[0], -1)))
    return head(p["head"], h)


# --- workloads ------------------------------------------------------------------------------


class TrainStep:
    """Repeated training steps over a pool of standardised rows, visited in a shuffled order
    as the trainer does; everything but the loss stays on the device."""

    def __init__(self, init, forward, x, t, batch):
        params = init(jax.random.key(0))
        optimizer = optax.adam(LEARNING_RATE, b1=0.9, b2=0.999, eps=1e-8)
        rows = len(t)
        order = np.random.default_rng(3).permutation(rows)
        self.data = (
            jnp.asarray(x.reshape(rows, -1)),
            jnp.asarray(t.reshape(rows, 1)),
            jnp.asarray(order, dtype=jnp.int32),
        )
        self.state = (params, optimizer.init(params), jnp.zeros((), jnp.int32))

        def loss_fn(params, xb, tb):
            return nll(*forward(params, xb), tb)

        def step(state, data):
            params, opt_state, cursor = state
            x, t, order = data
            cursor = jnp.where(cursor + batch > order.shape[0], 0, cursor)
            rows = lax.dynamic_slice_in_dim(order, cursor, batch)
            xb = jnp.take(x, rows, axis=0)
            tb = jnp.take(t, rows, axis=0)
            loss, grads = jax.value_and_grad(loss_fn)(params, xb, tb)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            return (params, opt_state, cursor + batch), loss

        self._step = jax.jit(step, donate_argnums=0)

    @classmethod
    def toy(cls, batch):
        rng = np.random.default_rng(1)
        x, t = toy_points(max(4 * batch, 8192), rng)
        return cls(toy_init, toy_forward, standardise(x), standardise(t), batch)

    @classmethod
    def conv(cls, batch):
        rng = np.random.default_rng(2)
        rows = 8 * batch
        pixels = rng.random(rows * 784)
        digits = rng.integers(0, 10, rows).astype(np.float64)
        return cls(conv_init, conv_forward, standardise(pixels), standardise(digits), batch)

    def step(self):
        self.state, loss = self._step(self.state, self.data)
        return float(loss)


class DensityGrid:
    """A toy model (random weights: the cost does not depend on them) with the
    standardisation of its training data, and the toy experiment's 200 x 200 grid."""

    def __init__(self):
        self.params = toy_init(jax.random.key(0))
        x, t = toy_points(1000, np.random.default_rng(4))
        self.x_mean, self.x_std = x.mean(), x.std()
        self.t_mean, self.t_std = t.mean(), t.std()
        self.xs = np.linspace(-0.1, 1.1, GRID)
        with jax.enable_x64(True):
            self.ts = jnp.asarray(np.linspace(-0.1, 1.1, GRID), dtype=jnp.float64)
        t_mean, t_std = self.t_mean, self.t_std

        def grid(params, x, ts):
            log_alpha, means, sigma = toy_forward(params, x.reshape(-1, 1))
            # To original target units, in float64 (the Rust side's mixtures are f64).
            log_alpha = log_alpha.astype(jnp.float64)
            means = means.astype(jnp.float64)[:, :, 0] * t_std + t_mean  # [x, m]
            sigma = sigma.astype(jnp.float64) * t_std
            diff = ts.reshape(1, -1, 1) - means[:, None, :]  # [x, t, m]
            s = sigma[:, None, :]
            log_density = -0.5 * (diff / s) ** 2 - jnp.log(s) - 0.5 * math.log(2.0 * math.pi)
            joint = log_alpha[:, None, :] + log_density
            return jnp.exp(jax.nn.logsumexp(joint, axis=2))  # [x, t]

        self._grid = jax.jit(grid)

    def evaluate(self):
        with jax.enable_x64(True):
            x = ((self.xs - self.x_mean) / self.x_std).astype(np.float32)
            return np.asarray(self._grid(self.params, x, self.ts))


def time_it(f, seconds, rounds):
    warm_up = time.perf_counter()
    n = 0
    while n < 3 or time.perf_counter() - warm_up < 0.5:
        f()
        n += 1
    per_iter, total = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        iters = 0
        while iters < 3 or time.perf_counter() - start < seconds / rounds:
            f()
            iters += 1
        per_iter.append((time.perf_counter() - start) / iters)
        total += iters
    per_iter.sort()
    return per_iter[rounds // 2], total


def gemm_gflops(n, seconds):
    """Best GFLOP/s of a jitted n x n float32 product over rounds filling `seconds`."""
    a = jnp.asarray((np.arange(n * n) % 7 * 0.25 - 0.75).reshape(n, n), dtype=jnp.float32)
    b = jnp.asarray((np.arange(n * n) % 5 * 0.5 - 1.0).reshape(n, n), dtype=jnp.float32)
    product = jax.jit(jnp.dot)
    product(a, b).block_until_ready()
    best = math.inf
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or best == math.inf:
        t = time.perf_counter()
        product(a, b).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best * 1e-9


def main(args):
    if args.gemm:
        print(f"RESULT\tgemm:{args.gemm}:{args.threads}\t{gemm_gflops(args.gemm, args.seconds):.1f}")
        return
    print("RESULT\tworkload\tms_per_iter\titers_per_s\trows_per_s\titers_timed")
    for name in args.workloads:
        kind, _, batch = name.partition(":")
        if kind in ("w1", "w2"):
            batch = int(batch)
            work = TrainStep.toy(batch) if kind == "w1" else TrainStep.conv(batch)
            f, rows = work.step, batch
        elif kind == "w3":
            work = DensityGrid()
            f, rows = work.evaluate, GRID * GRID
        else:
            raise SystemExit(f"unknown workload '{name}': expected w1:BATCH, w2:BATCH or w3")
        f()  # compile (untimed, as building the workload is)
        per_iter, total = time_it(f, args.seconds, args.rounds)
        print(
            f"RESULT\t{name}\t{per_iter * 1e3:.6f}\t{1.0 / per_iter:.3f}"
            f"\t{rows / per_iter:.1f}\t{total}",
            flush=True,
        )


if __name__ == "__main__":
    main(ARGS)
