"""Variational Bayesian logistic regression (PRML 10.6)."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _elbo
from ._base import check_count, check_real, optional_real


class VariationalLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression by variational Bayes with the
    Jaakkola-Jordan bound (PRML 10.6; Jaakkola and Jordan 2000).

    p(y = 1 | x, w) = sigmoid(w' phi(x)), phi(x) = (1, x) with an intercept,
    w | lambda ~ N(0, lambda^-1 I) and lambda ~ Gamma(lambda_1, lambda_2)
    (PRML 10.165-10.166). Unlike scikit-learn's ``LogisticRegression`` the
    intercept has the same prior as the weights (PRML 10.165), and the
    regularisation strength lambda is learnt, not set by ``C``.
    Probabilities integrate over q(w) with the probit approximation
    sigmoid(kappa(s^2) mu) (PRML 4.155).

    Parameters
    ----------
    lambda_1, lambda_2 : float, default=1e-2, 1e-4
        Shape and rate (> 0) of the Gamma hyper-prior on lambda.
    weight_precision : float or None, default=None
        A known prior precision lambda (PRML 10.6.1-10.6.2); ``None`` learns
        q(lambda) (PRML 10.6.3).
    fit_intercept : bool, default=True
    tol : float, default=1e-8
        Relative change of the bound below which the fit has converged.
    max_iter : int, default=1000

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
        The posterior mean of the weights.
    intercept_ : ndarray of shape (1,)
        The posterior mean of the intercept (0 without one).
    sigma_ : ndarray of shape (n_weights, n_weights)
        The posterior covariance S_N, intercept first when fitted.
    lambda_ : float
        E[lambda] (or the fixed value).
    lower_bound_ : float
        The final bound on ln p(y), every constant kept.
    lower_bounds_ : ndarray of shape (n_iter_,)
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        lambda_1=1e-2,
        lambda_2=1e-4,
        weight_precision=None,
        fit_intercept=True,
        tol=1e-8,
        max_iter=1000,
    ):
        self.lambda_1 = lambda_1
        self.lambda_2 = lambda_2
        self.weight_precision = weight_precision
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y):
        """Fit q(w) q(lambda) and the local parameters xi by CAVI (the GIL
        released). ``y`` must hold exactly two classes.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {kind}; y must hold class labels")
        self.classes_, t = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "Classifier can't train when only one class is present: "
                f"y holds only {self.classes_[0]!r}"
            )
        if len(self.classes_) > 2:
            raise ValueError(
                "Only binary classification is supported. "
                f"y has {len(self.classes_)} classes; wrap VariationalLogisticRegression in "
                "sklearn.multiclass.OneVsRestClassifier"
            )
        out = _elbo.vb_logistic_fit(
            X,
            t.astype(np.float64),
            a0=check_real(self.lambda_1, "lambda_1"),
            b0=check_real(self.lambda_2, "lambda_2"),
            fixed_alpha=optional_real(self.weight_precision, "weight_precision"),
            fit_intercept=bool(self.fit_intercept),
            tol=check_real(self.tol, "tol"),
            max_iter=check_count(self.max_iter, "max_iter"),
        )
        m = out["m_n"]
        if self.fit_intercept:
            self.intercept_ = m[:1].copy()
            self.coef_ = m[1:][np.newaxis, :]
        else:
            self.intercept_ = np.zeros(1)
            self.coef_ = m[np.newaxis, :]
        self.sigma_ = out["s_n"]
        self.lambda_ = float(out["alpha"])
        self.lower_bound_ = float(out["lower_bound"])
        self.lower_bounds_ = out["elbo_trace"]
        self.n_iter_ = int(out["n_iter"])
        self.converged_ = bool(out["converged"])
        return self

    def _activation(self, X):
        """Mean and variance of a = w' phi(x) under q(w) (PRML 4.149-4.150)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        mu = X @ self.coef_[0] + self.intercept_[0]
        phi = np.hstack([np.ones((X.shape[0], 1)), X]) if self.fit_intercept else X
        var = np.maximum(np.einsum("ij,jk,ik->i", phi, self.sigma_, phi), 0.0)
        return mu, var

    def decision_function(self, X):
        """The predictive log-odds kappa(s_a^2) mu_a (PRML 4.155), shape
        (n_samples,): positive where ``classes_[1]`` is the more probable
        class, and ``predict_proba``'s logit, so the two rank points alike."""
        mu, var = self._activation(X)
        return mu / np.sqrt(1.0 + np.pi * var / 8.0)

    def predict_proba(self, X):
        """p(y | x) = sigmoid(kappa(s_a^2) mu_a) (PRML 4.155), shape (n_samples, 2)."""
        p1 = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p1, p1])

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The more probable class (``classes_[1]`` where mu_a > 0)."""
        d = self.decision_function(X)
        return self.classes_[(d > 0).astype(int)]
