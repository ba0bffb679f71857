"""Shared fixtures: Bishop's toy problem and the `mdn` command line."""

import csv
import os
import pathlib
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def toy(n, seed):
    """Bishop's toy inverse problem, t given x (up to three branches near x = 0.5)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 1.0, n)
    x = t + 0.3 * np.sin(2 * np.pi * t) + rng.uniform(-0.1, 0.1, n)
    return x[:, None], t


@pytest.fixture(scope="session")
def toy_data():
    return toy(600, 0), toy(400, 1)


def _cli():
    """The `mdn` binary: $MDN (CI: the one `cargo test` built), else target/{debug,release}."""
    if os.environ.get("MDN"):
        path = pathlib.Path(os.environ["MDN"])
        if not path.is_absolute():
            path = REPO / path
        return path
    for profile in ("debug", "release"):
        path = REPO / "target" / profile / "mdn"
        if path.exists():
            return path
    return REPO / "target" / "debug" / "mdn"


@pytest.fixture(scope="session")
def cli():
    path = _cli()
    if not path.exists():
        pytest.fail(f"no mdn binary at {path}: run `cargo build -p mdn-cli` or set MDN")

    def run(*args):
        done = subprocess.run(
            [str(path), *map(str, args)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"mdn {' '.join(map(str, args))}: {done.stderr}")
        return done.stdout

    return run


def write_csv(path, columns):
    """A CSV file of named columns; floats in their shortest round-trip form (repr)."""
    names = list(columns)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for row in zip(*(columns[n] for n in names)):
            writer.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in row])


def read_csv(text):
    """CSV text as a dict of columns of floats (exact: Python's float())."""
    rows = list(csv.reader(text.splitlines()))
    header, body = rows[0], rows[1:]
    cell = lambda v: float(v) if v != "" else np.nan  # noqa: E731
    return {name: np.array([cell(r[j]) for r in body]) for j, name in enumerate(header)}
