"""The baselines. Each takes numeric design matrices (categoricals already one-hot encoded)
and a target z in the space it is fit in (the target, or its log), and returns a Mixture per
test row in that space.
"""

from __future__ import annotations

import warnings

import numpy as np

from scoring import Mixture


def linear_gaussian(X_train, z_train, X_test, seed=0):
    """OLS (intercept + all features, minimum-norm least squares so an all-zero one-hot column
    in a fold is harmless) with a homoscedastic Gaussian whose variance is the unbiased
    residual variance RSS / (n - p)."""
    A = np.hstack([np.ones((len(X_train), 1)), X_train])
    B = np.hstack([np.ones((len(X_test), 1)), X_test])
    coef, _, rank, _ = np.linalg.lstsq(A, z_train, rcond=None)
    resid = z_train - A @ coef
    dof = max(len(z_train) - rank, 1)
    sigma = np.sqrt(resid @ resid / dof)
    info = {"rank": int(rank), "sigma": float(sigma)}
    return Mixture.gaussian(B @ coef, np.full(len(X_test), sigma)), info


def ngboost(X_train, z_train, X_test, seed=0, n_estimators=2000, early_stopping_rounds=50,
            val_fraction=0.1):
    """NGBoost with a Normal distribution, its default learner (depth-3 regression trees),
    natural gradient, learning rate 0.01 (the default), up to n_estimators rounds, early
    stopping on a val_fraction split of the training fold; predicts with the iterations up to
    the best validation loss."""
    from ngboost import NGBRegressor
    from ngboost.distns import Normal
    from sklearn.model_selection import train_test_split

    Xtr, Xval, ztr, zval = train_test_split(X_train, z_train, test_size=val_fraction,
                                            random_state=seed)
    model = NGBRegressor(Dist=Normal, n_estimators=n_estimators, natural_gradient=True,
                         verbose=False, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(Xtr, ztr, X_val=Xval, Y_val=zval, early_stopping_rounds=early_stopping_rounds)
    best = model.best_val_loss_itr
    dist = model.pred_dist(X_test, max_iter=None if best is None else best + 1)
    info = {"best_iteration": None if best is None else int(best) + 1,
            "iterations_fit": len(model.base_models)}
    return Mixture.gaussian(dist.params["loc"], dist.params["scale"]), info


def gmm_conditional(X_train, z_train, X_test, seed=0, k_max=10, reg_covar=1e-6):
    """A joint Gaussian mixture over standardised [x, z] (scikit-learn, full covariances,
    K = 1..k_max chosen by BIC on the training fold), conditioned on x analytically:

        w_k(x) ∝ pi_k N(x; m_kx, S_kxx),  mu_k(x) = m_kz + S_kzx S_kxx^-1 (x - m_kx),
        s_k^2 = S_kzz - S_kzx S_kxx^-1 S_kxz.
    """
    from scipy.special import logsumexp
    from sklearn.mixture import GaussianMixture

    x_mean, x_sd = X_train.mean(axis=0), X_train.std(axis=0)
    x_sd[x_sd == 0] = 1.0
    z_mean, z_sd = z_train.mean(), z_train.std()
    D_train = np.hstack([(X_train - x_mean) / x_sd, ((z_train - z_mean) / z_sd)[:, None]])
    Xs = (X_test - x_mean) / x_sd
    best, bics = None, {}
    for k in range(1, k_max + 1):
        g = GaussianMixture(k, covariance_type="full", random_state=seed, n_init=3,
                            reg_covar=reg_covar, max_iter=500)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g.fit(D_train)
        bics[k] = float(g.bic(D_train))
        if best is None or bics[k] < bics[best[0]]:
            best = (k, g)
    k, g = best
    d = X_train.shape[1]
    logw = np.empty((len(Xs), k))
    mu = np.empty((len(Xs), k))
    sd = np.empty((len(Xs), k))
    for j in range(k):
        m, S = g.means_[j], g.covariances_[j]
        Sxx, Sxz, Szz = S[:d, :d], S[:d, d], S[d, d]
        diff = Xs - m[:d]
        L = np.linalg.cholesky(Sxx)
        sol = np.linalg.solve(L, diff.T)  # L^-1 (x - m)
        maha = np.sum(sol * sol, axis=0)
        logdet = 2.0 * np.sum(np.log(np.diag(L)))
        logw[:, j] = np.log(g.weights_[j]) - 0.5 * (maha + logdet + d * np.log(2 * np.pi))
        beta = np.linalg.solve(Sxx, Sxz)
        mu[:, j] = m[d] + diff @ beta
        sd[:, j] = np.sqrt(max(Szz - Sxz @ beta, 1e-12))
    w = np.exp(logw - logsumexp(logw, axis=1, keepdims=True))
    info = {"k": int(k), "bic": bics}
    return Mixture(w, z_mean + z_sd * mu, z_sd * sd), info


BASELINES = {
    "linear": linear_gaussian,
    "ngboost": ngboost,
    "gmm": gmm_conditional,
}

LABELS = {
    "linear": "linear Gaussian (OLS)",
    "ngboost": "NGBoost (Normal)",
    "gmm": "joint GMM conditional",
    "mdn": "mdn",
    "mdn_single": "mdn --ensemble 1",
}

GMM_MAX_NUMERIC_INPUTS = 4
