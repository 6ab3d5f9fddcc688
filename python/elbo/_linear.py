"""Variational Bayesian linear regression (PRML 10.3) and its ARD variant."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _elbo
from ._base import check_count, check_real, optional_real


class _LinearBase(RegressorMixin, BaseEstimator):
    """Shared fit / predict of the two linear models (``_ard`` tells them apart)."""

    _ard = False

    def _prune_threshold(self):
        return 0.1

    def fit(self, X, y):
        """Fit q(w, beta) q(lambda) by CAVI (the GIL released).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        out = _elbo.vblr_fit(
            X,
            np.asarray(y, dtype=np.float64),
            a0=check_real(self.lambda_1, "lambda_1"),
            b0=check_real(self.lambda_2, "lambda_2"),
            c0=check_real(self.alpha_1, "alpha_1"),
            d0=check_real(self.alpha_2, "alpha_2"),
            noise_precision=optional_real(self.noise_precision, "noise_precision"),
            fixed_alpha=optional_real(self.weight_precision, "weight_precision"),
            ard=self._ard,
            alpha_init=check_real(self.lambda_init, "lambda_init"),
            tol=check_real(self.tol, "tol"),
            max_iter=check_count(self.max_iter, "max_iter"),
            prune_threshold=self._prune_threshold(),
            fit_intercept=bool(self.fit_intercept),
        )
        self.coef_ = out["coef"]
        self.sigma_ = out["sigma"]
        self.X_offset_ = out["x_mean"]
        self.intercept_ = float(out["t_mean"] - self.X_offset_ @ self.coef_)
        self.alpha_ = float(out["beta"])
        lam = out["alpha"]
        self.lambda_ = lam if self._ard else float(lam[0])
        self.dof_ = out["dof"]
        self.lower_bound_ = float(out["lower_bound"])
        self.lower_bounds_ = out["elbo_trace"]
        self.n_iter_ = int(out["n_iter"])
        self.converged_ = bool(out["converged"])
        self.well_determined_ = out["well_determined"]
        if self._ard:
            self.relevant_ = out["relevant"]
        return self

    def predict(self, X, return_std=False):
        """Predictive mean, and with ``return_std`` its standard deviation.

        With unknown noise (``noise_precision=None``) the predictive is the
        Student-t St(t | m_N' x + b, scale^2 = (1 + x' V x) d_N / c_N, 2 c_N)
        (Drugowitsch 2013); its standard deviation is the scale times
        sqrt(dof / (dof - 2)). With known noise it is Gaussian with variance
        1/beta + x' S_N x (PRML 10.105-10.106). ``x`` is centred on the
        training mean (the intercept is a point estimate there).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
        y_std : ndarray of shape (n_samples,), only if ``return_std``
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        mean = X @ self.coef_ + self.intercept_
        if not return_std:
            return mean
        Xc = X - self.X_offset_
        var = np.einsum("ij,jk,ik->i", Xc, self.sigma_, Xc) + 1.0 / self.alpha_
        if self.dof_ is not None:
            var = var * (self.dof_ / (self.dof_ - 2.0) if self.dof_ > 2.0 else np.inf)
        return mean, np.sqrt(var)


class VariationalLinearRegression(_LinearBase):
    """Variational Bayesian linear regression (PRML 10.3; Drugowitsch 2013).

    The model: ``y = X w + b + e``, ``e ~ N(0, 1/beta)``, with
    ``w | beta, lambda ~ N(0, (beta lambda)^-1 I)``,
    ``beta ~ Gamma(alpha_1, alpha_2)`` and ``lambda ~ Gamma(lambda_1, lambda_2)``:
    scikit-learn's ``BayesianRidge`` priors, fitted by variational Bayes
    (q(w, beta) q(lambda)) instead of type-II maximum likelihood. The
    intercept ``b`` is unpenalised (the data are centred). The bound
    ``lower_bound_`` keeps every constant (of the centred data when
    ``fit_intercept``), so it compares models.

    Parameters
    ----------
    max_iter : int, default=1000
        Iteration budget; not converging is reported by ``converged_``.
    tol : float, default=1e-8
        Stop when the bound changes by at most ``tol * max(1, |L|)`` (a
        relative change of the bound, not scikit-learn's change of ``coef_``).
    alpha_1, alpha_2 : float, default=1e-6
        Shape and rate of the Gamma prior on the noise precision beta.
    lambda_1, lambda_2 : float, default=1e-6
        Shape and rate of the Gamma prior on the weights' precision lambda.
    lambda_init : float, default=1.0
        E[lambda] before the first update.
    noise_precision : float or None, default=None
        A known noise precision beta (PRML 10.87): q(w) q(lambda) and a
        Gaussian predictive. ``None`` infers beta.
    weight_precision : float or None, default=None
        A known weight precision lambda (no prior on it). With
        ``noise_precision`` also set, q(w) is the exact posterior (PRML 3.53).
    fit_intercept : bool, default=True

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        m_N, the posterior mean of the weights.
    intercept_ : float
    sigma_ : ndarray of shape (n_features, n_features)
        S_N, the posterior covariance of the weights (at E[beta]).
    alpha_ : float
        E[beta], the noise precision (scikit-learn's name).
    lambda_ : float
        E[lambda], the weights' precision (scikit-learn's name).
    dof_ : float or None
        Degrees of freedom 2 c_N of the Student-t predictive; ``None`` with
        known noise.
    lower_bound_ : float
        The final evidence lower bound, every constant kept.
    lower_bounds_ : ndarray of shape (n_iter_,)
        The bound after each iteration (never decreasing).
    n_iter_ : int
    converged_ : bool
    well_determined_ : ndarray of shape (n_features,)
        gamma_i = 1 - E[lambda] Sigma_ii (PRML 3.91 per weight).
    X_offset_ : ndarray of shape (n_features,)
        The training mean of X (zeros without an intercept).
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        max_iter=1000,
        tol=1e-8,
        alpha_1=1e-6,
        alpha_2=1e-6,
        lambda_1=1e-6,
        lambda_2=1e-6,
        lambda_init=1.0,
        noise_precision=None,
        weight_precision=None,
        fit_intercept=True,
    ):
        self.max_iter = max_iter
        self.tol = tol
        self.alpha_1 = alpha_1
        self.alpha_2 = alpha_2
        self.lambda_1 = lambda_1
        self.lambda_2 = lambda_2
        self.lambda_init = lambda_init
        self.noise_precision = noise_precision
        self.weight_precision = weight_precision
        self.fit_intercept = fit_intercept


class VariationalARD(_LinearBase):
    """Automatic relevance determination by variational Bayes (Bishop and
    Tipping 2000; Drugowitsch 2013): one precision lambda_i per weight.

    The priors are those of scikit-learn's ``ARDRegression``
    (``alpha_1``, ``alpha_2`` on the noise precision, ``lambda_1``,
    ``lambda_2`` on each weight's). Irrelevant weights' lambda_i grow without
    bound and their means go to 0; they stay in the model (the bound stays
    monotone) and are flagged by ``relevant_``.

    Parameters
    ----------
    max_iter, tol, alpha_1, alpha_2, lambda_1, lambda_2, lambda_init,
    noise_precision, fit_intercept :
        As :class:`VariationalLinearRegression`.
    prune_threshold : float, default=0.1
        A weight is relevant while gamma_i = 1 - E[lambda_i] Sigma_ii is at
        least this value, in (0, 1). (Not ``ARDRegression``'s
        ``threshold_lambda``, which bounds lambda_i itself.)

    Attributes
    ----------
    coef_, intercept_, sigma_, alpha_, dof_, lower_bound_, lower_bounds_,
    n_iter_, converged_, well_determined_, X_offset_, n_features_in_ :
        As :class:`VariationalLinearRegression`.
    lambda_ : ndarray of shape (n_features,)
        E[lambda_i], each weight's precision.
    relevant_ : ndarray of bool, shape (n_features,)
        The weights that were not pruned.
    """

    _ard = True

    def __init__(
        self,
        *,
        max_iter=1000,
        tol=1e-8,
        alpha_1=1e-6,
        alpha_2=1e-6,
        lambda_1=1e-6,
        lambda_2=1e-6,
        lambda_init=1.0,
        noise_precision=None,
        prune_threshold=0.1,
        fit_intercept=True,
    ):
        self.max_iter = max_iter
        self.tol = tol
        self.alpha_1 = alpha_1
        self.alpha_2 = alpha_2
        self.lambda_1 = lambda_1
        self.lambda_2 = lambda_2
        self.lambda_init = lambda_init
        self.noise_precision = noise_precision
        self.prune_threshold = prune_threshold
        self.fit_intercept = fit_intercept

    @property
    def weight_precision(self):
        """ARD always infers the precisions (no fixed value)."""
        return None

    def _prune_threshold(self):
        return check_real(self.prune_threshold, "prune_threshold")
