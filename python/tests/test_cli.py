"""The package and the `mdn` command line: the same options, data and seed train the same
model; each reads the other's model files and predicts the same numbers."""

import json

import numpy as np
import pandas as pd
import pytest

from conftest import read_csv, write_csv
from mdn import MDNRegressor

pytestmark = pytest.mark.filterwarnings("ignore:the batch size:mdn.MDNWarning")

OPTIONS = dict(n_components=3, hidden=(16, 16), epochs=80, batch_size=64, lr=3e-3, random_state=7)
FLAGS = ["--components", 3, "--hidden", "16,16", "--epochs", 80, "--batch-size", 64, "--lr", 3e-3, "--seed", 7]


@pytest.fixture(scope="module")
def files(tmp_path_factory, cli):
    d = tmp_path_factory.mktemp("cli")
    cli("data", "toy", "--n", 600, "--seed", 0, "--out", d / "train.csv")
    cli("data", "toy", "--n", 400, "--seed", 1, "--out", d / "test.csv")
    cli("train", "--data", d / "train.csv", "--inputs", "x", "--targets", "t", *FLAGS, "--out", d / "cli.mdn", "-q")
    train = read_csv((d / "train.csv").read_text())
    test = read_csv((d / "test.csv").read_text())
    return d, train, test


def table(columns):
    return pd.DataFrame({"x": columns["x"]}), pd.Series(columns["t"], name="t")


def test_the_defaults_are_mdn_trains(cli):
    import re

    help_text = cli("train", "--help")
    flags = {}
    for block in re.split(r"\n(?=\s+(?:-\w, )?--[a-z])", help_text):
        flag, default = re.search(r"--([a-z-]+)", block), re.search(r"\[default: ([^\]]*)\]", block)
        if flag and default:
            flags[flag.group(1)] = default.group(1)
    params = MDNRegressor().get_params()
    rename = {"components": "n_components", "seed": "random_state"}
    compared = []
    for flag, default in flags.items():
        name = rename.get(flag, flag.replace("-", "_"))
        if name not in params or flag == "unknown-category":
            continue
        value = params[name]
        if isinstance(value, tuple):
            assert default == ",".join(map(str, value)), flag
        elif isinstance(value, float):
            assert float(default) == value, flag
        else:
            assert default == str(value).lower(), flag
        compared.append(name)
    assert {"n_components", "covariance", "hidden", "activation", "epochs", "batch_size", "lr"} <= set(compared)
    assert {"weight_decay", "val_fraction", "patience", "random_state", "model_type", "min_sigma"} <= set(compared)
    # Every option of the estimator is a flag of `mdn train`.
    for name in params:
        if name in ("n_jobs", "n_components", "random_state"):
            continue
        assert "--" + name.replace("_", "-") in help_text, name
    assert "--threads" in cli("--help")


def test_python_trains_what_the_cli_trains(files, cli):
    d, train, test = files
    X, y = table(train)
    ours = MDNRegressor(**OPTIONS).fit(X, y)
    theirs = MDNRegressor.load(d / "cli.mdn")
    Xt, yt = table(test)
    a, b = ours.predict_mixture(Xt), theirs.predict_mixture(Xt)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert theirs.get_params() == {**ours.get_params()}
    assert list(theirs.feature_names_in_) == ["x"] and theirs.target_names_ == ["t"]
    # The test NLL of `mdn eval` and of log_likelihood (the issue asks for 0.01 nats).
    ours.save(d / "python.mdn")
    for model in ("cli.mdn", "python.mdn"):
        scores = json.loads(cli("eval", "--model", d / model, "--data", d / "test.csv"))
        assert -ours.log_likelihood(Xt, yt) == pytest.approx(scores["nll"], abs=1e-9)
        crps = ours.predict_mixture(Xt).crps(yt).mean()
        assert crps == pytest.approx(scores["crps"], rel=1e-9)


def test_a_cli_model_predicts_in_python_what_it_predicts_in_the_cli(files, cli):
    d, _, test = files
    model = MDNRegressor.load(d / "cli.mdn")
    X, _ = table(test)
    mixture = model.predict_mixture(X)
    cli_file = ["--model", d / "cli.mdn", "--data", d / "test.csv"]
    mean = read_csv(cli("predict", *cli_file, "--output", "mean"))
    np.testing.assert_array_equal(model.predict(X), mean["t"])
    best = read_csv(cli("predict", *cli_file, "--output", "best"))
    np.testing.assert_array_equal(mixture.best(), best["t"])
    q = read_csv(cli("predict", *cli_file, "--output", "quantiles", "--quantiles", "0.1,0.5,0.9"))
    ours = mixture.quantile([0.1, 0.5, 0.9])
    for k, level in enumerate(["0.1", "0.5", "0.9"]):
        np.testing.assert_array_equal(ours[:, k], q[f"q{level}_t"])
    params = read_csv(cli("predict", *cli_file, "--output", "params"))
    for k in range(3):
        np.testing.assert_array_equal(mixture.weights[:, k], params[f"alpha_{k}"])
        np.testing.assert_array_equal(mixture.means[:, k, 0], params[f"mean_{k}_t"])
        np.testing.assert_array_equal(mixture.scales[:, k, 0], params[f"sigma_{k}_t"])
    draws = read_csv(cli("predict", *cli_file, "--output", "samples", "--samples", 4, "--seed", 3))
    np.testing.assert_array_equal(mixture.sample(4, random_state=3).ravel(), draws["t"])
    modes = read_csv(cli("predict", *cli_file, "--output", "modes"))
    for i, (locations, log_density) in enumerate(mixture.modes(return_log_density=True)):
        k = len(locations)
        np.testing.assert_array_equal(locations, [modes[f"mode_{j}_t"][i] for j in range(k)])
        np.testing.assert_allclose(np.exp(log_density), [modes[f"density_{j}"][i] for j in range(k)], rtol=1e-12)
        assert all(np.isnan(modes[f"mode_{j}_t"][i]) for j in range(k, 3) if f"mode_{j}_t" in modes)


def test_a_python_model_predicts_in_the_cli_what_it_predicts_in_python(files, cli):
    d, train, test = files
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": train["x"], "kind": rng.choice(["a", "b"], len(train["x"]))})
    model = MDNRegressor(**OPTIONS).fit(frame, pd.Series(train["t"], name="t"))
    model.save(d / "kinds.mdn")
    test_frame = pd.DataFrame({"x": test["x"], "kind": rng.choice(["a", "b"], len(test["x"]))})
    write_csv(d / "kinds.csv", {"x": test_frame["x"], "kind": test_frame["kind"], "t": test["t"]})
    mean = read_csv(cli("predict", "--model", d / "kinds.mdn", "--data", d / "kinds.csv", "--output", "mean"))
    np.testing.assert_array_equal(model.predict(test_frame), mean["t"])
    info = cli("info", "--model", d / "kinds.mdn")
    assert "kind" in info and "a" in info
