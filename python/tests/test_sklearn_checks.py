"""scikit-learn's own estimator checks (scikit-learn >= 1.6), with the checks that cannot
apply declared in `mdn.sklearn_expected_failed_checks()` (run, and reported as xfail)."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import mdn
from mdn import MDNRegressor

# The checks' data sets are smaller than a batch: `mdn train` warns about that, and so does fit.
pytestmark = pytest.mark.filterwarnings("ignore:the batch size:mdn.MDNWarning")


@parametrize_with_checks(
    [MDNRegressor(), MDNRegressor(n_components=2, covariance="full", hidden=(16,), n_jobs=1)],
    expected_failed_checks=mdn.sklearn_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
