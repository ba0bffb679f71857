"""What ``MDNRegressor.predict_mixture`` returns: p(y|x) of a batch of rows."""

import numbers

import numpy as np
from sklearn.utils import check_random_state


def _array(data, shape):
    return np.frombuffer(data, dtype="<f8").reshape(shape).copy()


def _f64_bytes(values):
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def _seed(random_state):
    """A 64-bit seed: an int as it is (the same draws as ``mdn predict --seed``), else drawn
    from ``random_state`` (None: NumPy's global generator; a RandomState or Generator)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"invalid random_state = {random_state}: give a seed of 0 or more")
        return int(random_state) % 2**64
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63))
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class MixturePrediction:
    """p(y|x) for each of n rows: a Gaussian mixture of M components over the c targets.

    Attributes
    ----------
    weights : ndarray of shape (n, M)
        The mixing coefficients α_i(x) (each row sums to 1).
    means : ndarray of shape (n, M, c)
        The component means μ_i(x).
    covariances : ndarray of shape (n, M, c, c)
        The component covariance matrices Σ_i(x) (diagonal unless ``covariance="full"``).
    scales : ndarray of shape (n, M, c)
        The component standard deviations, the square roots of the covariances' diagonals.
    covariance_type : str
        ``"isotropic"``, ``"diagonal"`` or ``"full"``.
    log_targets : ndarray of bool, shape (c,)
        Which targets the mixture models as their logarithm (``log_targets=`` of the
        estimator). The parameters above are those of the mixture over log y for these;
        every method below answers in y's own units all the same.
    target_names : list of str
        The target columns.

    Every method is vectorised over the rows (and runs on the estimator's ``n_jobs``
    threads). Shapes follow the targets: where the estimator was fitted on a 1-D ``y``,
    per-row values are 1-D (``mean()`` is (n,)); otherwise they carry a last axis of c.
    """

    def __init__(self, core, *, squeeze, target_names):
        self._core = core
        n, m, c = core.shape()
        weights, means, covariances = core.params()
        self.weights = _array(weights, (n, m))
        self.means = _array(means, (n, m, c))
        self.covariances = _array(covariances, (n, m, c, c))
        self.scales = np.sqrt(np.diagonal(self.covariances, axis1=2, axis2=3)).copy()
        self.covariance_type = core.covariance()
        self.log_targets = np.array(core.log_targets(), dtype=bool)
        self.target_names = list(target_names)
        self._squeeze = bool(squeeze and c == 1)
        self._shape = (n, m, c)

    @property
    def n_components(self):
        return self._shape[1]

    @property
    def n_targets(self):
        return self._shape[2]

    def __len__(self):
        return self._shape[0]

    def __repr__(self):
        n, m, c = self._shape
        return (
            f"MixturePrediction({n} rows, {m} {self.covariance_type} components "
            f"over {c} target{'s' if c != 1 else ''})"
        )

    def _per_target(self, data):
        n, _, c = self._shape
        out = _array(data, (n, c))
        return out[:, 0] if self._squeeze else out

    def _points(self, y):
        """y as (n, k, c) points, and the shape of one value per point."""
        n, _, c = self._shape
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 0 or y.shape[0] != n:
            raise ValueError(
                f"y has shape {y.shape}; it needs one row per predicted row ({n})"
            )
        if c == 1:
            # (n,) one point a row; (n, k) k points a row.
            points = y.reshape(n, -1, 1)
            return points, y.shape
        if y.ndim == 2 and y.shape[1] == c:
            return y.reshape(n, 1, c), (n,)
        if y.ndim == 3 and y.shape[2] == c:
            return y, y.shape[:2]
        raise ValueError(
            f"y has shape {y.shape}; for {c} targets give (n, {c}) or (n, k, {c})"
        )

    def logpdf(self, y):
        """log p(y|x) in nats, in y's own units (log targets include the Jacobian).

        ``y`` holds one point a row — shape (n,) for one target, (n, c) otherwise — or k
        points a row, (n, k) or (n, k, c); the result has one value per point.
        """
        points, shape = self._points(y)
        k = points.shape[1]
        out = self._core.logpdf(_f64_bytes(points), k)
        return np.frombuffer(out, dtype="<f8").reshape(shape).copy()

    def pdf(self, y):
        """p(y|x): ``exp(logpdf(y))``."""
        return np.exp(self.logpdf(y))

    def cdf(self, y):
        """P(Y_j ≤ y_j | x) under each target's marginal, elementwise: one value per entry of
        ``y`` (shaped as for :meth:`logpdf`, plus the targets' axis)."""
        points, _ = self._points(y)
        k = points.shape[1]
        out = self._core.cdf(_f64_bytes(points), k)
        return np.frombuffer(out, dtype="<f8").reshape(np.shape(y)).copy()

    def crps(self, y):
        """The closed-form CRPS of each target's marginal at the observed ``y`` (shape of
        ``predict``'s output), as ``mdn eval`` reports it."""
        n, _, c = self._shape
        y = np.asarray(y, dtype=np.float64)
        if y.size != n * c:
            raise ValueError(f"y has shape {y.shape}; give ({n},) or ({n}, {c})")
        out = self._core.crps(_f64_bytes(y.reshape(n, c)))
        return np.frombuffer(out, dtype="<f8").reshape(y.shape).copy()

    def quantile(self, q):
        """The q-quantiles of each target's marginal: q a number gives shape (n,) or (n, c);
        q a sequence of k levels, (n, k) or (n, k, c)."""
        n, _, c = self._shape
        levels = np.atleast_1d(np.asarray(q, dtype=np.float64))
        if levels.ndim != 1:
            raise ValueError("q must be a number or a 1-D sequence of levels")
        out = _array(self._core.quantile([float(v) for v in levels]), (n, len(levels), c))
        if np.ndim(q) == 0:
            out = out[:, 0, :]
        return out[..., 0] if self._squeeze else out

    def mean(self):
        """E[y|x], the conditional mean (what ``MDNRegressor.predict`` returns)."""
        return self._per_target(self._core.mean())

    def std(self):
        """The standard deviation of each target's marginal."""
        return self._per_target(self._core.std())

    def best(self):
        """The mean of each row's most probable component (the largest weight): the most
        probable branch of a one-to-many problem."""
        return self._per_target(self._core.best())

    def modes(self, return_log_density=False):
        """The modes (local maxima) of p(y|x) of each row, highest first: a list of n arrays
        of shape (k_i,) or (k_i, c); with ``return_log_density``, a list of (locations, log
        densities) pairs."""
        _, _, c = self._shape
        out = []
        for locations, densities in self._core.modes():
            loc = _array(locations, (-1, c))
            if self._squeeze:
                loc = loc[:, 0]
            if return_log_density:
                out.append((loc, np.frombuffer(densities, dtype="<f8").copy()))
            else:
                out.append(loc)
        return out

    def sample(self, n, temperature=1.0, random_state=None):
        """``n`` draws from each row's mixture: shape (rows, n) or (rows, n, c).

        ``temperature`` below 1 sharpens the weights and narrows the components (above 1,
        the reverse). With an int ``random_state``, row i draws what ``mdn predict --output
        samples --seed S`` draws for the i-th row of its file.
        """
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
            raise ValueError(f"invalid n = {n!r}: give a number of draws, 0 or more")
        rows, _, c = self._shape
        out = _array(
            self._core.sample(int(n), float(temperature), _seed(random_state)), (rows, n, c)
        )
        return out[..., 0] if self._squeeze else out
