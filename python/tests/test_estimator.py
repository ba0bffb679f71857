"""MDNRegressor: shapes, densities against SciPy, pickling, tables, errors, threads."""

import _thread
import json
import pickle
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

import mdn
from mdn import MDNRegressor, MDNWarning

pytestmark = pytest.mark.filterwarnings("ignore:the batch size:mdn.MDNWarning")


def fast(**kw):
    """A quick single network (the defaults train an ensemble of five)."""
    params = dict(epochs=60, hidden=(16,), random_state=0, ensemble=1)
    params.update(kw)
    return MDNRegressor(**params)


def assert_same_model(a, b, x):
    """The same network: the same mixture parameters, bit for bit (model files differ only
    in the training time they record)."""
    ma, mb = a.predict_mixture(x), b.predict_mixture(x)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(ma, name), getattr(mb, name), err_msg=name)
    assert a.n_iter_ == b.n_iter_ and a.train_nll_ == b.train_nll_


def two_targets(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    branch = rng.integers(0, 2, n) * 2 - 1
    y = np.stack([branch * x[:, 0] + 0.1 * rng.normal(size=n), x[:, 1] ** 2 + 0.05 * rng.normal(size=n)], 1)
    return x, y


def test_defaults_come_from_the_rust_side_and_init_has_every_option():
    defaults = json.loads(mdn._core.defaults())
    params = MDNRegressor().get_params()
    for name, value in defaults.items():
        got = params[name]
        assert (list(got) if isinstance(got, tuple) else got) == value, name
    assert set(params) == set(defaults) | {"categorical", "log_targets", "n_jobs"}


def test_toy_fit_predict_and_mixture_shapes(toy_data):
    (x, t), (xt, tt) = toy_data
    model = fast(n_components=3).fit(x, t)
    assert model.n_features_in_ == 1 and not hasattr(model, "feature_names_in_")
    assert model.n_iter_ >= 1 and model.best_epoch_ >= 1
    assert model.predict(xt).shape == (400,)
    mixture = model.predict_mixture(xt)
    assert mixture.weights.shape == (400, 3)
    np.testing.assert_allclose(mixture.weights.sum(1), 1.0, rtol=1e-12)
    assert mixture.means.shape == (400, 3, 1)
    assert mixture.covariances.shape == (400, 3, 1, 1)
    assert mixture.scales.shape == (400, 3, 1)
    np.testing.assert_array_equal(mixture.mean(), model.predict(xt))
    assert mixture.std().shape == mixture.best().shape == (400,)
    assert mixture.logpdf(tt).shape == (400,)
    assert mixture.pdf(np.stack([tt, tt], 1)).shape == (400, 2)
    assert mixture.cdf(tt).shape == (400,)
    assert mixture.quantile(0.5).shape == (400,)
    assert mixture.quantile([0.1, 0.9]).shape == (400, 2)
    assert mixture.sample(7, random_state=0).shape == (400, 7)
    modes = mixture.modes()
    assert len(modes) == 400 and all(m.ndim == 1 and len(m) >= 1 for m in modes)
    assert model.log_likelihood(xt, tt) == pytest.approx(mixture.logpdf(tt).mean())
    # The best component's mean is one of the component means.
    best = mixture.means[np.arange(400), mixture.weights.argmax(1), 0]
    np.testing.assert_array_equal(mixture.best(), best)
    assert -1.5 < model.log_likelihood(xt, tt) < 0.0 or model.log_likelihood(xt, tt) > 0.3


def test_logpdf_matches_scipy_from_the_mixture_parameters(toy_data):
    (x, t), (xt, tt) = toy_data
    mixture = fast(n_components=4).fit(x, t).predict_mixture(xt)
    w, mu, s = mixture.weights, mixture.means[..., 0], mixture.scales[..., 0]
    expected = logsumexp(np.log(w) + norm.logpdf(tt[:, None], mu, s), axis=1)
    np.testing.assert_allclose(mixture.logpdf(tt), expected, rtol=1e-10, atol=1e-12)
    cdf = (w * norm.cdf(tt[:, None], mu, s)).sum(1)
    np.testing.assert_allclose(mixture.cdf(tt), cdf, atol=1e-10)
    # std from the moments of the mixture.
    mean = (w * mu).sum(1)
    var = (w * (s**2 + mu**2)).sum(1) - mean**2
    np.testing.assert_allclose(mixture.mean(), mean, rtol=1e-12)
    np.testing.assert_allclose(mixture.std(), np.sqrt(var), rtol=1e-9)
    # Quantiles invert the CDF.
    q = mixture.quantile([0.05, 0.5, 0.95])
    for k, level in enumerate([0.05, 0.5, 0.95]):
        np.testing.assert_allclose(mixture.cdf(q[:, k]), level, atol=1e-7)


@pytest.mark.parametrize("covariance", ["isotropic", "diagonal", "full"])
def test_two_targets_and_scipy_for_every_covariance(covariance):
    x, y = two_targets()
    model = fast(n_components=2, covariance=covariance).fit(x, y)
    assert model.n_targets_ == 2 and model.target_names_ == ["y0", "y1"]
    assert model.predict(x).shape == (400, 2)
    mixture = model.predict_mixture(x[:50])
    assert mixture.means.shape == (50, 2, 2) and mixture.covariances.shape == (50, 2, 2, 2)
    if covariance != "full":
        off = mixture.covariances[:, :, 0, 1]
        np.testing.assert_array_equal(off, 0.0)
    if covariance == "isotropic":
        # One σ in standardised units: in y's units the two scales keep the ratio of the
        # targets' standard deviations.
        ratio = mixture.scales[..., 0] / mixture.scales[..., 1]
        np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-6)
    expected = np.array(
        [
            logsumexp(
                [
                    np.log(mixture.weights[i, k])
                    + multivariate_normal(mixture.means[i, k], mixture.covariances[i, k]).logpdf(y[i])
                    for k in range(2)
                ]
            )
            for i in range(50)
        ]
    )
    np.testing.assert_allclose(mixture.logpdf(y[:50]), expected, rtol=1e-9, atol=1e-10)
    assert mixture.logpdf(np.stack([y[:50], y[:50]], 1)).shape == (50, 2)
    assert mixture.cdf(y[:50]).shape == (50, 2)
    assert mixture.quantile(0.5).shape == (50, 2)
    assert mixture.quantile([0.2, 0.8]).shape == (50, 2, 2)
    assert mixture.sample(3, random_state=1).shape == (50, 3, 2)
    assert all(m.ndim == 2 and m.shape[1] == 2 for m in mixture.modes())
    assert mixture.mean().shape == mixture.std().shape == mixture.best().shape == (50, 2)
    assert np.isfinite(model.score(x, y))


def test_a_column_vector_y_keeps_its_shape(toy_data):
    (x, t), _ = toy_data
    flat = fast().fit(x, t)
    column = fast().fit(x, t[:, None])
    assert column.predict(x).shape == (600, 1)
    np.testing.assert_array_equal(column.predict(x)[:, 0], flat.predict(x))


def test_pickling_round_trip_gives_identical_predictions(toy_data, tmp_path):
    (x, t), (xt, tt) = toy_data
    model = fast().fit(x, t)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(xt), model.predict(xt))
    np.testing.assert_array_equal(again.predict_mixture(xt).weights, model.predict_mixture(xt).weights)
    assert again.get_params() == model.get_params()
    assert again.model_.to_bytes() == model.model_.to_bytes()
    model.save(tmp_path / "m.mdn")
    loaded = MDNRegressor.load(tmp_path / "m.mdn")
    np.testing.assert_array_equal(loaded.predict(xt), model.predict(xt))
    assert loaded.get_params() == model.get_params()
    assert (tmp_path / "m.mdn").read_bytes() == model.model_.to_bytes()


def test_batch_invariance_a_row_predicts_the_same_alone_and_in_any_chunk(toy_data):
    (x, t), _ = toy_data
    model = fast().fit(x, t)
    xt = np.random.default_rng(5).uniform(-0.2, 1.2, (5000, 1))
    whole = model.predict_mixture(xt)
    for rows in [slice(0, 1), slice(17, 24), slice(3, 3000)]:
        part = model.predict_mixture(xt[rows])
        np.testing.assert_array_equal(part.weights, whole.weights[rows])
        np.testing.assert_array_equal(part.means, whole.means[rows])
        np.testing.assert_array_equal(part.covariances, whole.covariances[rows])
    alone = np.array([model.predict(xt[i : i + 1])[0] for i in range(0, 5000, 250)])
    np.testing.assert_array_equal(alone, whole.mean()[::250])
    order = np.random.default_rng(0).permutation(5000)
    np.testing.assert_array_equal(model.predict(xt[order]), whole.mean()[order])


def test_threads_do_not_change_the_numbers(toy_data):
    (x, t), (xt, _) = toy_data
    one = fast(n_jobs=1).fit(x, t)
    two = fast(n_jobs=2).fit(x, t)
    assert_same_model(one, two, xt)
    np.testing.assert_array_equal(one.predict(xt), two.set_params(n_jobs=-1).predict(xt))


def test_same_seed_same_model_other_seed_other_model(toy_data):
    (x, t), _ = toy_data
    a, b = fast(random_state=3).fit(x, t), fast(random_state=3).fit(x, t)
    assert_same_model(a, b, x)
    c = fast(random_state=4).fit(x, t)
    assert not np.array_equal(a.predict(x), c.predict(x))


def test_sampling_seeds_and_temperature(toy_data):
    (x, t), _ = toy_data
    mixture = fast().fit(x, t).predict_mixture(x[:100])
    a = mixture.sample(500, random_state=1)
    np.testing.assert_array_equal(a, mixture.sample(500, random_state=1))
    assert not np.array_equal(a, mixture.sample(500, random_state=2))
    cold = mixture.sample(500, temperature=0.1, random_state=1)
    assert cold.std(1).mean() < a.std(1).mean()
    # Draws follow the mixture: their mean is the mixture's within a few standard errors.
    big = mixture.sample(20000, random_state=0)
    err = np.abs(big.mean(1) - mixture.mean()) / (mixture.std() / np.sqrt(20000))
    assert np.all(err < 6)
    with pytest.raises(ValueError, match="temperature"):
        mixture.sample(3, temperature=0.0)


def frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.uniform(0, 1, n)
    region = rng.integers(1, 4, n)
    shift = {"red": 0.0, "green": 2.0, "blue": 4.0}
    y = np.array([shift[c] for c in colour]) + size + 0.5 * region + 0.1 * rng.normal(size=n)
    X = pd.DataFrame(
        {
            "size": size,
            "colour": pd.Categorical(colour),
            "label": pd.Series(colour, dtype=object),
            "region": region,
        }
    )
    return X, pd.Series(y, name="price")


def test_pandas_categorical_and_text_columns_are_one_hot():
    X, y = frame()
    model = fast(epochs=200, categorical=["region"]).fit(X, y)
    assert list(model.feature_names_in_) == ["size", "colour", "label", "region"]
    assert model.categories_ == {
        "colour": ["blue", "green", "red"],
        "label": ["blue", "green", "red"],
        "region": ["1", "2", "3"],
    }
    assert model.target_names_ == ["price"]
    assert model.score(X, y) > 0.9
    bad = X.head(3).copy()
    bad["label"] = ["red", "purple", "red"]
    with pytest.raises(ValueError, match=r"purple.*never saw"):
        model.predict(bad)
    zero = model.set_params(unknown_category="zero").predict(bad)
    assert zero.shape == (3,) and np.all(np.isfinite(zero))
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X[["colour", "size", "label", "region"]])
    # The same table as an ndarray cannot hold the categories: text needs a DataFrame.
    with pytest.raises(ValueError):
        fast().fit(X.to_numpy(), y)


def test_numeric_categorical_columns_of_arrays_by_position():
    X, y = frame()
    arr = X[["size", "region"]].to_numpy(dtype=float)
    model = fast(categorical=[1]).fit(arr, y.to_numpy())
    assert model.categories_ == {"x1": ["1", "2", "3"]}
    with pytest.raises(ValueError, match="never saw"):
        model.predict(np.array([[0.5, 7.0]]))


def test_missing_cells():
    X, y = frame()
    X = X.copy()
    X.loc[[3, 10], "size"] = np.nan
    X.loc[5, "label"] = None
    X["label"] = X["label"].astype(object)
    X.loc[6, "label"] = "NA"
    with pytest.raises(ValueError, match=r"missing.*drop"):
        fast().fit(X, y)
    model = fast(missing="drop").fit(X, y)
    assert model.n_rows_dropped_ == 4
    arr = np.array([[0.1], [np.nan], [0.3], [0.4]])
    with pytest.raises(ValueError, match="NaN"):
        fast().fit(arr, [1.0, 2.0, 3.0, 4.0])
    assert fast(missing="drop", val_fraction=0.0).fit(arr, [1.0, 2.0, 3.0, 4.0]).n_rows_dropped_ == 1


def test_log_targets_answer_in_the_targets_units():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (500, 1))
    y = np.exp(2 * x[:, 0] + 0.3 * rng.normal(size=500))
    model = fast(epochs=150, log_targets=True).fit(x, y)
    mixture = model.predict_mixture(x[:20])
    assert mixture.log_targets.tolist() == [True]
    assert np.all(mixture.sample(50, random_state=0) > 0)
    assert np.all(mixture.quantile([0.01, 0.5]) > 0)
    # The density of y is that of log y with the Jacobian 1/y.
    w, mu, s = mixture.weights, mixture.means[..., 0], mixture.scales[..., 0]
    logy = np.log(y[:20])
    expected = logsumexp(np.log(w) + norm.logpdf(logy[:, None], mu, s), axis=1) - logy
    np.testing.assert_allclose(mixture.logpdf(y[:20]), expected, rtol=1e-10)
    assert np.all(np.isneginf(mixture.logpdf(-y[:20])))
    with pytest.raises(ValueError, match="positive"):
        fast(log_targets=[0]).fit(x, -y)


BAD = [
    (dict(n_components=0), "n_components"),
    (dict(covariance="round"), "covariance"),
    (dict(hidden=(0,)), "hidden"),
    (dict(hidden="wide"), "hidden"),
    (dict(activation="sigmoid"), "activation"),
    (dict(model_type="svm"), "model_type"),
    (dict(min_sigma=0.0), "min_sigma"),
    (dict(epochs=0), "epochs"),
    (dict(epochs=2.5), "epochs"),
    (dict(batch_size=0), "batch_size"),
    (dict(lr=-1.0), "lr"),
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(val_fraction=1.0), "val_fraction"),
    (dict(patience=0), "patience"),
    (dict(lr_plateau=0), "lr_plateau"),
    (dict(grad_clip=0.0), "grad_clip"),
    (dict(random_state=-1), "random_state"),
    (dict(noise_x=-0.5), "noise_x"),
    (dict(noise_y="loud"), "noise_y"),
    (dict(ensemble=0), "ensemble"),
    (dict(missing="maybe"), "missing"),
    (dict(n_jobs=0), "n_jobs"),
    (dict(categorical=[3]), "categorical"),
    (dict(log_targets=["nope"]), "log_targets"),
]


@pytest.mark.parametrize("params, name", BAD, ids=[n + str(i) for i, (_, n) in enumerate(BAD)])
def test_bad_parameters_are_refused_in_fit_naming_the_parameter(params, name, toy_data):
    (x, t), _ = toy_data
    model = MDNRegressor(**params)  # stored verbatim, not checked here
    assert model.get_params()[list(params)[0]] == list(params.values())[0]
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        model.fit(x, t)


def test_bad_input():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    model = fast().fit(x, y)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(rng.normal(size=(4, 3)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fast().fit(x, y[:40])
    with pytest.raises(ValueError, match="inf"):
        fast().fit(np.where(x > 2, np.inf, x), y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError):
        fast().fit([["a", "b"]] * 50, y)
    with pytest.raises(ValueError, match="y"):
        fast().fit(x, np.full(50, np.inf))
    with pytest.raises(ValueError, match="one row per predicted row"):
        model.predict_mixture(x).logpdf(y[:10])
    with pytest.raises(ValueError, match="quantile levels"):
        model.predict_mixture(x).quantile(1.5)
    with pytest.raises(ValueError, match="weight"):
        fast().fit(x, y, sample_weight=-np.ones(50))
    with pytest.raises(FileNotFoundError):
        MDNRegressor.load("/nonexistent/model.mdn")


def test_a_damaged_model_file_is_refused(toy_data, tmp_path):
    (x, t), _ = toy_data
    data = bytearray(fast().fit(x, t).model_.to_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.mdn").write_bytes(bytes(data))
    with pytest.raises(OSError, match="checksum|corrupt|damaged"):
        MDNRegressor.load(tmp_path / "bad.mdn")


def test_sample_weights_of_one_give_the_unweighted_model(toy_data):
    (x, t), _ = toy_data
    plain = fast().fit(x, t)
    ones = fast().fit(x, t, sample_weight=np.ones(len(t)))
    np.testing.assert_array_equal(plain.predict(x), ones.predict(x))
    heavy = fast().fit(x, t, sample_weight=np.where(x[:, 0] > 0.5, 10.0, 1.0))
    assert not np.array_equal(plain.predict(x), heavy.predict(x))


def test_ensembles_pool_their_members_components(toy_data):
    (x, t), _ = toy_data
    model = fast(n_components=2, ensemble=3).fit(x, t)
    assert model.predict_mixture(x[:5]).weights.shape == (5, 6)


def test_fit_releases_the_gil():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3000, 4)), rng.normal(size=3000)
    model = MDNRegressor(epochs=1000, patience=None, n_jobs=1)
    done = threading.Event()
    ticks = 0

    def train():
        model.fit(x, y)
        done.set()

    thread = threading.Thread(target=train)
    start = time.perf_counter()
    thread.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    thread.join()
    elapsed = time.perf_counter() - start
    # With the GIL held for the whole fit, this loop would not run at all meanwhile.
    assert elapsed > 0.2 and ticks > 0.2 * elapsed / 0.001, (elapsed, ticks)


def test_ctrl_c_interrupts_fit():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2000, 2)), rng.normal(size=2000)
    # About 4 s of training on one thread; interrupted after 0.3 s.
    model = MDNRegressor(epochs=12000, patience=None, hidden=(8,), n_jobs=1)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y)
    assert time.perf_counter() - start < 1.0
    assert not hasattr(model, "model_")


def test_training_warnings_are_mdn_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fast().fit(np.arange(20.0)[:, None], np.arange(20.0))
    assert any(issubclass(w.category, MDNWarning) and "batch size" in str(w.message) for w in caught)


def test_expected_failed_checks_are_a_dict_of_reasons():
    checks = mdn.sklearn_expected_failed_checks()
    assert checks and all(isinstance(k, str) and len(v) > 20 for k, v in checks.items())


def test_least_squares_noise_and_bootstrap_options_train(toy_data):
    (x, t), (xt, tt) = toy_data
    mse = fast(model_type="mse").fit(x, t)
    mixture = mse.predict_mixture(xt)
    assert mixture.weights.shape == (400, 1)
    np.testing.assert_array_equal(mixture.mean(), mixture.best())
    assert np.isfinite(mse.log_likelihood(xt, tt))
    noisy = fast(noise_x="auto", noise_y=0.05).fit(x, t)
    assert not np.array_equal(noisy.predict(xt), fast().fit(x, t).predict(xt))
    boot = fast(ensemble=2, bootstrap=True).fit(x, t)
    assert boot.predict_mixture(xt[:3]).weights.shape == (3, 10)
    again = MDNRegressor._from_model(mdn._core.Model.from_bytes(boot.model_.to_bytes()))
    assert again.get_params()["ensemble"] == 2 and again.get_params()["bootstrap"] is True
    assert again.get_params()["noise_x"] == "off"
    assert MDNRegressor._from_model(noisy.model_).get_params()["noise_x"] == "auto"


def test_the_default_is_an_ensemble_of_five_with_target_noise(toy_data):
    (x, t), (xt, tt) = toy_data
    model = MDNRegressor(epochs=5, hidden=(8,)).fit(x, t)
    assert model.predict_mixture(xt[:4]).weights.shape == (4, 25)
    assert model.get_params()["ensemble"] == 5 and model.get_params()["noise_y"] == 0.1


def test_the_readme_example_runs(tmp_path, monkeypatch):
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## From Python", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "toy.mdn").exists()
    assert namespace["model"].n_iter_ >= 1


def test_the_core_model_pickles_by_its_file_bytes(toy_data):
    (x, t), _ = toy_data
    model = fast().fit(x, t)
    core = pickle.loads(pickle.dumps(model.model_))
    assert core.to_bytes() == model.model_.to_bytes()
