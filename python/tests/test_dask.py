"""Scale-out on Dask: a fitted estimator shipped to the workers of a 2-process LocalCluster
scores a Dask DataFrame partition by partition with the in-process numbers, bit for bit, and
GridSearchCV's fits run on the workers under joblib's dask backend."""

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster, get_task_stream
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV

from conftest import toy
from mdn import MDNRegressor

pytestmark = pytest.mark.filterwarnings("ignore:the batch size:mdn.MDNWarning")


@pytest.fixture(scope="module")
def client():
    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster, Client(cluster) as client:
        yield client


def scores(part, model):
    """Per-row outputs of one partition: the mean, the 0.9 quantile and log p(t|x)."""
    X = part[["x"]]
    mixture = model.predict_mixture(X)
    return pd.DataFrame(
        {"mean": mixture.mean(), "q90": mixture.quantile(0.9), "log_lik": mixture.logpdf(part["t"].to_numpy())},
        index=part.index,
    )


def test_scoring_partitions_on_the_workers_gives_the_in_process_numbers(client):
    x, t = toy(600, 0)
    model = MDNRegressor(n_components=3, epochs=80, n_jobs=1).fit(pd.DataFrame({"x": x[:, 0]}), t)
    xt, tt = toy(5003, 1)
    frame = pd.DataFrame({"x": xt[:, 0], "t": tt})
    expected = scores(frame, model)
    ddf = dd.from_pandas(frame, npartitions=7)
    meta = pd.DataFrame({"mean": [0.0], "q90": [0.0], "log_lik": [0.0]}).iloc[:0]
    with get_task_stream(client) as stream:
        got = ddf.map_partitions(scores, model, meta=meta).compute(scheduler=client)
    assert {task["worker"] for task in stream.data} <= set(client.scheduler_info()["workers"])
    assert len(stream.data) >= 7
    pd.testing.assert_frame_equal(got.sort_index(), expected, check_exact=True)
    assert got["log_lik"].mean() == pytest.approx(model.log_likelihood(frame[["x"]], frame["t"]), rel=1e-12)
    np.testing.assert_array_equal(got.sort_index()["log_lik"].to_numpy(), expected["log_lik"].to_numpy())


def test_grid_search_fits_on_the_workers(client):
    x, t = toy(300, 0)
    search = GridSearchCV(
        MDNRegressor(epochs=30, hidden=(8,), n_jobs=1),
        {"n_components": [1, 3]},
        cv=2,
        scoring=lambda est, X, y: est.log_likelihood(X, y),
        n_jobs=-1,
    )
    with get_task_stream(client) as stream, parallel_backend("dask"):
        search.fit(x, t)
    workers = {task["worker"] for task in stream.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])
    assert len(stream.data) >= 1
    assert search.best_params_["n_components"] in (1, 3)
    # The same search in-process chooses and scores the same.
    local = GridSearchCV(
        MDNRegressor(epochs=30, hidden=(8,), n_jobs=1),
        {"n_components": [1, 3]},
        cv=2,
        scoring=lambda est, X, y: est.log_likelihood(X, y),
    ).fit(x, t)
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    assert dask.__version__
