"""``MDNRegressor``: the scikit-learn estimator."""

import json
import numbers
import os
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _core
from ._mixture import MixturePrediction, _f64_bytes, _seed

# The model and training options with their defaults, from the Rust side (the command
# line's defaults): the one source of truth for `__init__`'s defaults below.
_DEFAULTS = json.loads(_core.defaults())
# The options that go to the Rust side as they are (categorical, log_targets and n_jobs are
# resolved here first).
_OPTIONS = tuple(_DEFAULTS)
_MISSING_TOKENS = {"", "na", "nan", "null"}
_WEIGHT_COLUMN = "\x00sample_weight"


def _default(name):
    value = _DEFAULTS[name]
    return tuple(value) if isinstance(value, list) else value


class MDNWarning(UserWarning):
    """Something about the data or the options worth knowing, though training went ahead
    (the warnings ``mdn train`` prints)."""


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "dtypes")


def _is_series(y):
    return hasattr(y, "name") and hasattr(y, "iloc") and not hasattr(y, "columns")


def _plain(value):
    """A parameter value as JSON takes it (NumPy scalars and arrays, tuples)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    return value


def _threads(n_jobs):
    """rayon threads for ``n_jobs`` (joblib's convention; None: one a core)."""
    if n_jobs is None:
        return None
    if not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise ValueError(
            f"invalid n_jobs = {n_jobs!r}: give a number of threads, or -1 (or None) for "
            "one a core"
        )
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))
    return int(n_jobs)


def _text_cells(values):
    """Object or string cells as the Rust side reads text: missing cells (None, NaN, pd.NA,
    and "", NA, NaN, null in any case, as in a CSV file) become None."""
    cells = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            cells.append(None)
            continue
        try:
            import pandas as pd

            if v is pd.NA or v is pd.NaT:
                cells.append(None)
                continue
        except ImportError:
            pass
        text = str(v)
        cells.append(None if text.strip().lower() in _MISSING_TOKENS else text)
    return cells


def _column(series):
    """One pandas column for the Rust side, and whether it is categorical by its dtype."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _text_cells(series.astype(object)), True
    if pd.api.types.is_bool_dtype(dtype):
        return _text_cells(series.astype(object)), False
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return _f64_bytes(values), False
    return _text_cells(series.astype(object)), False


class MDNRegressor(RegressorMixin, BaseEstimator):
    """A Mixture Density Network (Bishop, 1994): the conditional density p(y|x) as a
    Gaussian mixture whose weights, means and covariances a network predicts from x.

    Trained by minimising the mean negative log-likelihood (with logsumexp, σ floored at
    ``min_sigma``) with Adam, early stopping on a validation split, and roll-back on a
    non-finite loss — by the Rust library the ``mdn`` command line uses, with its options and
    defaults: ``MDNRegressor(n_components=3).fit(X, y)`` trains what ``mdn train
    --components 3`` trains on the same rows, bit for bit, and both read each other's model
    files.

    Parameters
    ----------
    n_components : int, default=5
        Mixture components (``--components``).
    covariance : {"isotropic", "diagonal", "full"}, default="isotropic"
        Covariance of each component (one σ; one σ per target; a full matrix).
    hidden : tuple of int, default=(32, 32)
        Hidden layer widths (empty for a linear model).
    activation : {"tanh", "relu", "gelu"}, default="tanh"
        Hidden-unit activation.
    model_type : {"mdn", "mse"}, default="mdn"
        ``"mse"`` trains the least-squares network of the same backbone instead (its density
        a Gaussian with σ fitted to its training residuals).
    min_sigma : float, default=1e-3
        Floor on every standard deviation, in units of the target's standard deviation.
    epochs : int, default=500
        Maximum number of passes over the training rows.
    batch_size : int, default=128
        Rows per Adam step (a batch larger than the data is the whole data: full batch).
    lr : float, default=3e-3
        Adam's learning rate.
    weight_decay : float, default=0
        L2 weight decay.
    val_fraction : float, default=0.1
        Share of the rows held out for early stopping, in [0, 1) (0: none, the last epoch's
        weights are kept).
    patience : int or None, default=100
        Stop after this many epochs without a lower validation loss (None: never).
    lr_plateau : int or None, default=None
        Halve the learning rate after this many epochs without improvement.
    grad_clip : float or None, default=None
        Clip each parameter tensor's gradient to this L2 norm.
    random_state : int, RandomState or None, default=0
        Seed of initialisation, validation split and shuffling (``--seed``); the same seed
        gives the same model. None draws one from NumPy's global generator.
    noise_x : float or {"auto", "off"}, default="off"
        Gaussian noise added to the (standardised) numeric inputs of every training batch:
        noise regularisation (Rothfuss et al. 2019); "auto" is their rule of thumb
        n^(-1/(4+d)), a number a standard deviation in standardised units (0: none).
    noise_y : float or {"auto", "off"}, default=0.1
        The same for the (standardised) targets; the default was chosen on the real-data
        benchmark (docs/results/defaults.md).
    ensemble : int, default=5
        Networks trained (a deep ensemble; member k seeded ``random_state + k``), whose
        mixtures are pooled into one with every member's components; 1 trains a single
        network. The default was chosen on the real-data benchmark.
    bootstrap : bool, default=False
        Train each ensemble member on a bootstrap sample of the training rows.
    missing : {"error", "drop"}, default="error"
        Training rows with a missing cell (NaN, None, or text "", NA, NaN, null): an error,
        or left out (``n_rows_dropped_`` says how many).
    unknown_category : {"error", "zero"}, default="error"
        A category at prediction time that training never saw: an error, or encoded as no
        category at all.
    categorical : list of int or str, or None, default=None
        Input columns (positions, or DataFrame names) to treat as categories although they
        are numbers (e.g. a 1/2/3 region code). Text and pandas ``category`` columns are
        categorical anyway; every category is one-hot encoded and stored in the model.
    log_targets : list of int or str, True, or None, default=None
        Targets to model as their logarithm (every value positive; True: all). Densities,
        means, quantiles, modes and samples stay in y's units.
    n_jobs : int or None, default=None
        Threads a fit or a prediction uses (None or -1: one a core). Give 1 where several
        processes share a machine (Dask workers, joblib).

    Attributes
    ----------
    model_ : mdn._core.Model
        The trained model (the bytes of a model file: ``save``).
    n_features_in_ : int
        Input columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Their names, where ``X`` was a DataFrame.
    target_names_ : list of str
        The target columns (y's names, else ``y`` or ``y0, y1, …``).
    categories_ : dict
        Each categorical input column's categories, sorted, as the model stores them.
    n_iter_ : int
        Epochs trained.
    best_epoch_ : int
        The epoch whose weights were kept.
    train_nll_, validation_nll_ : float
        Mean negative log-likelihood of the kept weights on the training and validation rows
        (nats, y's units; ``validation_nll_`` is None without validation rows).
    n_rows_dropped_ : int
        Rows left out for a missing cell (``missing="drop"``).
    """

    def __init__(
        self,
        n_components=_default("n_components"),
        *,
        covariance=_default("covariance"),
        hidden=_default("hidden"),
        activation=_default("activation"),
        model_type=_default("model_type"),
        min_sigma=_default("min_sigma"),
        epochs=_default("epochs"),
        batch_size=_default("batch_size"),
        lr=_default("lr"),
        weight_decay=_default("weight_decay"),
        val_fraction=_default("val_fraction"),
        patience=_default("patience"),
        lr_plateau=_default("lr_plateau"),
        grad_clip=_default("grad_clip"),
        random_state=_default("random_state"),
        noise_x=_default("noise_x"),
        noise_y=_default("noise_y"),
        ensemble=_default("ensemble"),
        bootstrap=_default("bootstrap"),
        missing=_default("missing"),
        unknown_category=_default("unknown_category"),
        categorical=None,
        log_targets=None,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.covariance = covariance
        self.hidden = hidden
        self.activation = activation
        self.model_type = model_type
        self.min_sigma = min_sigma
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.patience = patience
        self.lr_plateau = lr_plateau
        self.grad_clip = grad_clip
        self.random_state = random_state
        self.noise_x = noise_x
        self.noise_y = noise_y
        self.ensemble = ensemble
        self.bootstrap = bootstrap
        self.missing = missing
        self.unknown_category = unknown_category
        self.categorical = categorical
        self.log_targets = log_targets
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = False
        return tags

    # --- Tables -------------------------------------------------------------------------

    def _columns(self, X, *, reset):
        """X as the Rust side's columns: [(name, float64 bytes or text cells)], the column
        names, those categorical by their dtype, and the number of rows."""
        if _is_dataframe(X):
            validate_data(self, X=X, reset=reset, skip_check_array=True)
            if X.ndim != 2 or X.shape[1] == 0 or X.shape[0] == 0:
                raise ValueError(
                    f"X has shape {X.shape}; at least one row and one column are needed"
                )
            if reset:
                names = [str(c) for c in X.columns]
                if len(set(names)) != len(names):
                    raise ValueError("X has columns of the same name")
            else:
                names = self._input_names
            columns, by_dtype = [], []
            for j, name in enumerate(names):
                cells, categorical = _column(X.iloc[:, j])
                columns.append((name, cells))
                if categorical:
                    by_dtype.append(name)
            return columns, names, by_dtype, X.shape[0]
        # Only complete rows are predicted; training rows may have missing cells to drop.
        allow_nan = reset and self.missing == "drop"
        X = validate_data(
            self,
            X=X,
            reset=reset,
            dtype="numeric",
            ensure_all_finite="allow-nan" if allow_nan else True,
        )
        X = np.asarray(X, dtype=np.float64)
        names = [f"x{j}" for j in range(X.shape[1])] if reset else self._input_names
        columns = [(name, _f64_bytes(X[:, j])) for j, name in enumerate(names)]
        return columns, names, [], X.shape[0]

    def _targets(self, y, n, input_names):
        """y as (n, c) float64, its names, and whether it was 1-D."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        names = None
        if _is_dataframe(y):
            names = [str(c) for c in y.columns]
        elif _is_series(y) and y.name is not None:
            names = [str(y.name)]
        y = check_array(
            y,
            ensure_2d=False,
            dtype="numeric",
            ensure_all_finite="allow-nan" if self.missing == "drop" else True,
            input_name="y",
        )
        y = np.asarray(y, dtype=np.float64)
        if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] == 0):
            raise ValueError(f"y has shape {y.shape}; give (n,) or (n, targets)")
        if y.shape[0] != n:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: [{n}, {y.shape[0]}]"
            )
        one_d = y.ndim == 1
        y = y.reshape(n, -1)
        if names is None or len(names) != y.shape[1]:
            names = ["y"] if one_d else [f"y{j}" for j in range(y.shape[1])]
        taken = set(input_names)
        unique = []
        for name in names:
            while name in taken:
                name += "_"
            taken.add(name)
            unique.append(name)
        return y, unique, one_d

    def _resolve(self, wanted, names, what, parameter):
        """Columns given by position or name, as names."""
        if wanted is None:
            return []
        if wanted is True:
            return list(names)
        if isinstance(wanted, (str, numbers.Integral)):
            wanted = [wanted]
        out = []
        for w in wanted:
            if isinstance(w, numbers.Integral) and not isinstance(w, bool):
                if not -len(names) <= w < len(names):
                    raise ValueError(
                        f"invalid {parameter}: {what} {w} is out of range ({len(names)} columns)"
                    )
                out.append(names[w])
            elif isinstance(w, str) and w in names:
                out.append(w)
            else:
                raise ValueError(
                    f"invalid {parameter}: {w!r} is not one of the {what}s ({', '.join(names)})"
                )
        return out

    # --- Fitting ------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Trains the network on the rows of ``X`` (array-like or DataFrame: numbers, text
        and pandas ``category`` columns) and ``y`` (shape (n,) or (n, targets)), weighting
        row i by ``sample_weight[i]`` (the weighted mean NLL) where given.

        Releases the GIL while training; Ctrl-C raises ``KeyboardInterrupt``.
        """
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, attr)
        columns, names, by_dtype, n = self._columns(X, reset=True)
        y, target_names, one_d = self._targets(y, n, names)
        categorical = self._resolve(self.categorical, names, "input column", "categorical")
        categorical += [c for c in by_dtype if c not in categorical]
        log_targets = self._resolve(self.log_targets, target_names, "target", "log_targets")
        columns += [(t, _f64_bytes(y[:, j])) for j, t in enumerate(target_names)]
        weights = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64)
            if w.ndim == 0:
                w = np.full(n, float(w))
            if w.shape != (n,):
                raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
            if np.all(w == 0):
                raise ValueError("Sample weights must contain at least one non-zero number.")
            columns.append((_WEIGHT_COLUMN, _f64_bytes(w)))
            weights = _WEIGHT_COLUMN
        options = {name: _plain(getattr(self, name)) for name in _OPTIONS}
        if isinstance(options["hidden"], numbers.Integral):
            options["hidden"] = [options["hidden"]]
        options["random_state"] = _seed(self.random_state)
        threads = _threads(self.n_jobs)
        try:
            model, messages, dropped = _core.Model.train(
                columns,
                names,
                target_names,
                categorical,
                log_targets,
                weights,
                json.dumps(options),
                threads,
            )
        except ValueError as error:
            if str(error).startswith("invalid val_fraction"):
                raise ValueError(f"{error} (n_samples = {n})") from None
            raise
        for message in messages:
            warnings.warn(message, MDNWarning, stacklevel=2)
        self._set_fitted(model, one_d=one_d)
        self.n_rows_dropped_ = int(dropped)
        return self

    def _set_fitted(self, model, *, one_d):
        meta = json.loads(model.meta())
        self.model_ = model
        self._input_names = list(model.input_names())
        self._one_d = bool(one_d)
        self.target_names_ = list(model.target_names())
        self.n_targets_ = len(self.target_names_)
        self.categories_ = {
            column["name"]: list(column["categories"])
            for column in meta["schema"]["inputs"]
            if column.get("kind") == "categorical"
        }
        training = meta["training"]
        self.n_iter_ = int(training["epochs_run"])
        self.best_epoch_ = int(training["best_epoch"])
        self.stopped_early_ = bool(training["stopped_early"])
        self.train_nll_ = float(training["train_nll"])
        self.validation_nll_ = training["validation_nll"]

    # --- Prediction ---------------------------------------------------------------------

    def _predictions(self, X):
        check_is_fitted(self)
        columns, _, _, _ = self._columns(X, reset=False)
        if self.unknown_category not in ("error", "zero"):
            raise ValueError(
                f"invalid unknown_category = {self.unknown_category!r}: give \"error\" or \"zero\""
            )
        return self.model_.predict(columns, self.unknown_category, _threads(self.n_jobs))

    def predict_mixture(self, X):
        """p(y|x) of each row of ``X``: a :class:`MixturePrediction` (weights, means,
        covariances; pdf, logpdf, cdf, quantile, mean, std, best, modes, sample)."""
        return MixturePrediction(
            self._predictions(X), squeeze=self._one_d, target_names=self.target_names_
        )

    def predict(self, X):
        """The conditional mean E[y|x] of each row, shaped as ``y`` was in ``fit``.

        A row's prediction does not depend on the other rows of the call."""
        core = self._predictions(X)
        n, _, c = core.shape()
        mean = np.frombuffer(core.mean(), dtype="<f8").reshape(n, c).copy()
        return mean[:, 0] if self._one_d else mean

    def log_likelihood(self, X, y, sample_weight=None):
        """The mean log p(y|x) over the rows (nats, y's units; weighted where
        ``sample_weight`` is given): higher is better, ``mdn eval``'s −nll. Per row:
        ``predict_mixture(X).logpdf(y)``."""
        mixture = self.predict_mixture(X)
        n = len(mixture)
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        y = np.asarray(y, dtype=np.float64)
        if y.shape[0] != n or y.size != n * mixture.n_targets:
            raise ValueError(f"y has shape {y.shape}; give one row of targets per row of X")
        per_row = mixture.logpdf(y.reshape(n) if mixture.n_targets == 1 else y.reshape(n, -1))
        return float(np.average(per_row, weights=sample_weight))

    # --- Model files and pickling -------------------------------------------------------

    def save(self, path):
        """Writes the model file (what ``mdn train --out`` writes; ``mdn predict``, ``mdn
        eval`` and ``mdn info`` read it)."""
        check_is_fitted(self)
        self.model_.save(os.fspath(path))

    @classmethod
    def load(cls, path):
        """A fitted estimator from a model file (of ``mdn train``, or ``save``), with the
        options it was trained with. Predictions are the command line's, bit for bit."""
        return cls._from_model(_core.Model.load(os.fspath(path)))

    @classmethod
    def _from_model(cls, model):
        options = json.loads(model.options())
        meta = json.loads(model.meta())
        params = {k: v for k, v in options.items() if k in _OPTIONS}
        params["hidden"] = tuple(params["hidden"])
        inputs = meta["schema"]["inputs"]
        categorical = [c["name"] for c in inputs if c.get("kind") == "categorical"]
        log_targets = [t["name"] for t in meta["schema"]["targets"] if t.get("log")]
        estimator = cls(
            **params,
            categorical=categorical or None,
            log_targets=log_targets or None,
        )
        names = list(model.input_names())
        estimator._set_fitted(model, one_d=len(model.target_names()) == 1)
        estimator.n_features_in_ = len(names)
        if names != [f"x{j}" for j in range(len(names))]:
            estimator.feature_names_in_ = np.asarray(names, dtype=object)
        estimator.n_rows_dropped_ = 0
        return estimator

    def __getstate__(self):
        state = super().__getstate__()
        if "model_" in state:
            state = dict(state)
            state["model_"] = bytes(state["model_"].to_bytes())
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), (bytes, bytearray)):
            state = dict(state)
            state["model_"] = _core.Model.from_bytes(bytes(state["model_"]))
        super().__setstate__(state)
