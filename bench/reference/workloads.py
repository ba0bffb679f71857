#!/usr/bin/env python3
"""PyTorch twin of crates/mdn/benches/support/mod.rs: issue 8's workloads with the same
shapes, initialisation, optimiser and timing protocol, on 2 CPU threads.

    python bench/reference/workloads.py [--seconds S] [--rounds R] [WORKLOAD...]
    python bench/reference/workloads.py --gemm N [--seconds S]

A workload is `w1:BATCH` (toy MDN training step), `w2:BATCH` (conv MDN training step) or
`w3` (200 x 200 density grid); the default is `w1:128 w1:4096 w2:64 w3`. Prints one
tab-separated RESULT line per workload, in the format of the Rust `bench_workloads` example.
`--gemm N` instead prints `RESULT\tgemm:N:THREADS\tGFLOP/s`: the best throughput of
`torch.matmul` on two N x N float32 matrices (into a preallocated result) over at least S
seconds, the protocol of the engine's `gemm_speed` example, for bench/compare.sh's roofline.
bench/reference/jax_workloads.py is the JAX twin of this file: change one, change the other.

- W1: 1 -> 32 -> 32 tanh MLP, head Linear(32, m(1 + c + 1)) with m = 5, c = 1: log-softmax
  mixing coefficients, unconstrained means, sigma = 1e-3 + softplus(z). Mean NLL by
  logsumexp. Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-8).
- W2: conv 5x5 1->16 (same padding), relu, 2x2 max-pool, conv 5x5 16->32, relu, 2x2
  max-pool, flatten, Linear(1568, 128), relu, the same head; batch 64 of 28x28 images.
- W3: forward on 200 x values, then p(t|x) at 200 t values for each (float64, as the Rust
  side's host mixtures are).

Every weight and bias is drawn from U(-k, k), k = 1/sqrt(fan_in), as the Rust crate does
(PyTorch's default bound too). A training step gathers the batch rows from a shuffled pool,
runs forward, reads the loss back (`loss.item()`, as the Rust trainer checks it is finite),
backward and the Adam step.

Timing: build the workload (untimed), warm up for at least 0.5 s and 3 iterations, then time
R rounds of at least S/R seconds and 3 iterations each; report the median round.
"""

import argparse
import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

THREADS = 2
LEARNING_RATE = 1e-3
COMPONENTS = 5
MIN_SIGMA = 1e-3
GRID = 200


def init_uniform(module):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every weight and bias, like mdn::init."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            fan_in = layer.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.uniform_(layer.bias, -bound, bound)


class MdnHead(nn.Module):
    """Isotropic Gaussian mixture head, as crates/mdn/src/head/mod.rs."""

    def __init__(self, features, target_dim=1, components=COMPONENTS):
        super().__init__()
        self.m, self.c = components, target_dim
        self.linear = nn.Linear(features, components * (1 + target_dim + 1))

    def forward(self, features):
        raw = self.linear(features)
        m, c = self.m, self.c
        log_alpha = F.log_softmax(raw[:, :m], dim=1)
        means = raw[:, m : m + m * c].reshape(-1, m, c)
        sigma = F.softplus(raw[:, m + m * c : m + m * c + m]) + MIN_SIGMA
        return log_alpha, means, sigma


def nll(log_alpha, means, sigma, targets):
    """Mean negative log-likelihood, as MixtureOutput::nll."""
    c = means.shape[2]
    squared = (targets.unsqueeze(1) - means).pow(2).sum(2)  # [batch, m]
    log_density = (
        -0.5 * squared / sigma.pow(2)
        - c * sigma.log()
        - c * 0.5 * math.log(2.0 * math.pi)
    )
    return -torch.logsumexp(log_alpha + log_density, dim=1).mean()


class ToyMdn(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh()
        )
        self.head = MdnHead(32)

    def forward(self, x):
        return self.head(self.backbone(x))


class ConvMdn(nn.Module):
    """The crate's default CnnConfig on 28 x 28: channels [16, 32], kernel 5, hidden 128."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(1),
            nn.Linear(32 * 7 * 7, 128),
            nn.ReLU(),
        )
        self.head = MdnHead(128)

    def forward(self, x):
        return self.head(self.backbone(x.reshape(-1, 1, 28, 28)))


def toy_points(n, rng):
    t = rng.random(n)
    x = t + 0.3 * np.sin(2.0 * np.pi * t) + rng.uniform(-0.1, 0.1, n)
    return x, t


def standardise(values):
    return ((values - values.mean()) / values.std()).astype(np.float32)


class TrainStep:
    def __init__(self, model, x, t, batch):
        torch.manual_seed(0)
        init_uniform(model)
        self.model = model
        self.optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, eps=1e-8)
        self.x = x.reshape(len(t), -1)
        self.t = t.reshape(-1, 1)
        self.order = np.random.default_rng(3).permutation(len(t))
        self.cursor = 0
        self.batch = batch

    @classmethod
    def toy(cls, batch):
        rng = np.random.default_rng(1)
        x, t = toy_points(max(4 * batch, 8192), rng)
        return cls(ToyMdn(), standardise(x), standardise(t), batch)

    @classmethod
    def conv(cls, batch):
        rng = np.random.default_rng(2)
        rows = 8 * batch
        pixels = rng.random(rows * 784)
        digits = rng.integers(0, 10, rows).astype(np.float64)
        return cls(ConvMdn(), standardise(pixels), standardise(digits), batch)

    def step(self):
        if self.cursor + self.batch > len(self.order):
            self.cursor = 0
        rows = self.order[self.cursor : self.cursor + self.batch]
        self.cursor += self.batch
        x = torch.from_numpy(self.x[rows])
        t = torch.from_numpy(self.t[rows])
        loss = nll(*self.model(x), t)
        value = loss.item()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return value


class DensityGrid:
    """A toy model (random weights: the cost does not depend on them) with the
    standardisation of its training data, and the toy experiment's 200 x 200 grid."""

    def __init__(self):
        torch.manual_seed(0)
        self.model = ToyMdn()
        init_uniform(self.model)
        self.model.eval()
        x, t = toy_points(1000, np.random.default_rng(4))
        self.x_mean, self.x_std = x.mean(), x.std()
        self.t_mean, self.t_std = t.mean(), t.std()
        self.xs = np.linspace(-0.1, 1.1, GRID)
        self.ts = torch.from_numpy(np.linspace(-0.1, 1.1, GRID))

    def evaluate(self):
        with torch.no_grad():
            x = torch.from_numpy(((self.xs - self.x_mean) / self.x_std).astype(np.float32))
            log_alpha, means, sigma = self.model(x.reshape(-1, 1))
            # To original target units, in float64 (the Rust side's mixtures are f64).
            log_alpha = log_alpha.double()
            means = means.double()[:, :, 0] * self.t_std + self.t_mean  # [x, m]
            sigma = sigma.double() * self.t_std
            diff = self.ts.reshape(1, -1, 1) - means.unsqueeze(1)  # [x, t, m]
            s = sigma.unsqueeze(1)
            log_density = (
                -0.5 * (diff / s).pow(2) - s.log() - 0.5 * math.log(2.0 * math.pi)
            )
            joint = log_alpha.unsqueeze(1) + log_density
            return torch.logsumexp(joint, dim=2).exp().numpy()  # [x, t]


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
    """Best GFLOP/s of an n x n float32 torch.matmul over rounds filling `seconds`."""
    a = torch.from_numpy((np.arange(n * n) % 7 * 0.25 - 0.75).reshape(n, n).astype(np.float32))
    b = torch.from_numpy((np.arange(n * n) % 5 * 0.5 - 1.0).reshape(n, n).astype(np.float32))
    c = torch.empty(n, n)
    torch.matmul(a, b, out=c)
    best = math.inf
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or best == math.inf:
        t = time.perf_counter()
        torch.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best * 1e-9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=THREADS, help="torch.set_num_threads (issue 8: 2)"
    )
    parser.add_argument("--gemm", type=int, metavar="N", help="time an N x N float32 matmul instead")
    parser.add_argument("workloads", nargs="*", default=["w1:128", "w1:4096", "w2:64", "w3"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
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
        per_iter, total = time_it(f, args.seconds, args.rounds)
        print(
            f"RESULT\t{name}\t{per_iter * 1e3:.6f}\t{1.0 / per_iter:.3f}"
            f"\t{rows / per_iter:.1f}\t{total}",
            flush=True,
        )


if __name__ == "__main__":
    main()
