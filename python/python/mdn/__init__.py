"""Mixture Density Networks (Bishop, 1994) on the Rust core of ``mdn``.

``MDNRegressor`` is a scikit-learn estimator of the whole conditional density p(y|x), a
Gaussian mixture whose weights, means and covariances a network predicts from x. It trains
with the same library, options and defaults as the ``mdn`` command line, and reads and writes
the same model files::

    from mdn import MDNRegressor

    model = MDNRegressor(n_components=5).fit(X, y)
    model.predict(X_test)                      # E[y|x], scikit-learn's regressor convention
    mixture = model.predict_mixture(X_test)    # weights, means, covariances; pdf, cdf, ...
    mixture.quantile([0.05, 0.5, 0.95])
    model.log_likelihood(X_test, y_test)       # mean log p(y|x), nats
    model.save("model.mdn")                    # `mdn predict --model model.mdn ...` reads it

No PyTorch or TensorFlow is needed: numpy and scikit-learn (pandas for DataFrames).
"""

from ._core import version as _version
from ._checks import sklearn_expected_failed_checks
from ._estimator import MDNRegressor, MDNWarning
from ._mixture import MixturePrediction

__version__ = _version()

__all__ = [
    "MDNRegressor",
    "MDNWarning",
    "MixturePrediction",
    "sklearn_expected_failed_checks",
    "__version__",
]
