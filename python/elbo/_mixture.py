"""The variational Bayesian Gaussian mixture (PRML 10.2), CAVI and streaming SVI."""

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _elbo
from ._base import check_count, check_real, optional_real, seed_from


class BayesianGaussianMixture(DensityMixin, BaseEstimator):
    """Variational Bayesian Gaussian mixture (PRML 10.2): a drop-in for
    ``sklearn.mixture.BayesianGaussianMixture``, with streaming stochastic
    variational inference in :meth:`partial_fit`.

    ``fit`` runs coordinate ascent (CAVI) from k-means++ (``n_init`` restarts,
    the best bound kept); ``partial_fit`` takes one natural-gradient step of
    SVI (Hoffman et al. 2013) per minibatch, step size
    ``(t + learning_offset) ** -learning_decay``. The priors and their
    defaults are scikit-learn's. Departures, on purpose: ``lower_bound_``
    keeps every constant of the bound (PRML 10.70-10.77), so it compares
    numbers of components; ``score_samples`` is the Student-t mixture
    predictive density (PRML 10.81), not a plug-in; no ``reg_covar`` (the
    Wishart prior regularises); diagonal precisions are independent Gamma
    (one-dimensional Wishart) factors; the stick-breaking prior is
    truncated with v_K = 1, so ``weight_concentration_`` has K - 1 sticks;
    ``tol`` is relative to the bound.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {'full', 'diag'}, default='full'
    tol : float, default=1e-8
        Stop when the bound changes by at most ``tol * max(1, |L|)``.
    max_iter : int, default=500
        CAVI iterations per restart.
    n_init : int, default=1
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, \
default='dirichlet_process'
    weight_concentration_prior : float or None, default=None
        gamma (process) or alpha_0 (distribution); ``None``: 1 / n_components.
    mean_precision_prior : float or None, default=None
        beta_0; ``None``: 1.
    mean_prior : array-like of shape (n_features,) or None, default=None
        m_0; ``None``: the mean of X.
    degrees_of_freedom_prior : float or None, default=None
        nu_0; ``None``: n_features.
    covariance_prior : float, array-like or None, default=None
        The prior on the covariance, W_0^-1: (n_features, n_features) for
        'full', (n_features,) for 'diag'; ``None``: the covariance of X
        (``np.cov``) or its per-column variance.
    random_state : int, RandomState or None, default=None
        Seeds k-means++ (restart i uses seed + i).
    learning_offset : float, default=1.0
        tau > 0 of the SVI step size (sklearn's ``LatentDirichletAllocation``
        name).
    learning_decay : float, default=0.7
        kappa in (0.5, 1] of the SVI step size.
    total_samples : int or None, default=None
        The size N of the data set the minibatches of ``partial_fit`` come
        from (each step scales a minibatch's statistics by N / batch size).
        ``None``: the size of the first minibatch.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        E[pi_k].
    means_ : ndarray of shape (n_components, n_features)
        m_k.
    covariances_ : ndarray
        (nu_k W_k)^-1, (K, D, D) for 'full', (K, D) for 'diag'.
    precisions_ : ndarray
        nu_k W_k, shaped as ``covariances_``.
    weight_concentration_ : ndarray or tuple of two ndarrays
        alpha_k (distribution) or the sticks' Beta parameters (a_k, b_k).
    mean_precision_ : ndarray of shape (n_components,)
        beta_k.
    degrees_of_freedom_ : ndarray of shape (n_components,)
        nu_k.
    lower_bound_ : float
        The final bound with every constant (for ``partial_fit``: the last
        step's noisy minibatch estimate, scaled to ``total_samples``).
    lower_bounds_ : ndarray
        The bound after each CAVI iteration of the best restart (never
        decreasing), or the estimate after each SVI step.
    converged_ : bool
    n_iter_ : int
        CAVI iterations, or SVI steps so far.
    weight_concentration_prior_, mean_precision_prior_, mean_prior_,
    degrees_of_freedom_prior_, covariance_prior_ :
        The priors as used, defaults from the data included.
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-8,
        max_iter=500,
        n_init=1,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        learning_offset=1.0,
        learning_decay=0.7,
        total_samples=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.learning_offset = learning_offset
        self.learning_decay = learning_decay
        self.total_samples = total_samples

    # -- parameters ------------------------------------------------------------

    def _prior_args(self, n_features):
        """The model's settings as keyword arguments of the Rust functions."""
        k = check_count(self.n_components, "n_components")
        conc = self.weight_concentration_prior
        conc = 1.0 / max(k, 1) if conc is None else check_real(conc, "weight_concentration_prior")
        beta0 = self.mean_precision_prior
        beta0 = 1.0 if beta0 is None else check_real(beta0, "mean_precision_prior")
        m0 = None
        if self.mean_prior is not None:
            m0 = np.asarray(self.mean_prior, dtype=np.float64).reshape(-1)
        w0 = None
        if self.covariance_prior is not None:
            cov = np.asarray(self.covariance_prior, dtype=np.float64)
            if self.covariance_type == "diag":
                cov = np.atleast_1d(cov)
                if cov.ndim != 1 or cov.shape[0] != n_features or np.any(cov <= 0):
                    raise ValueError(
                        f"covariance_prior for 'diag' must hold {n_features} positive "
                        f"variances, got shape {cov.shape}"
                    )
                w0 = np.diag(1.0 / cov)
            else:
                if cov.shape != (n_features, n_features):
                    raise ValueError(
                        f"covariance_prior for 'full' must be {n_features} x {n_features}, "
                        f"got shape {cov.shape}"
                    )
                try:
                    w0 = np.linalg.inv(cov)
                except np.linalg.LinAlgError as e:
                    raise ValueError(f"covariance_prior is singular: {e}") from None
        return dict(
            n_components=k,
            covariance_type=self.covariance_type,
            weight_concentration_prior_type=self.weight_concentration_prior_type,
            weight_concentration_prior=conc,
            mean_precision_prior=beta0,
            mean_prior=m0,
            precision_prior=w0,
            degrees_of_freedom_prior=optional_real(
                self.degrees_of_freedom_prior, "degrees_of_freedom_prior"
            ),
            seed=seed_from(self.random_state),
        )

    # -- fitting ---------------------------------------------------------------

    def fit(self, X, y=None):
        """Fit by CAVI (the GIL released); any stream of :meth:`partial_fit`
        is dropped.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        out = _elbo.vgmm_fit(
            X,
            **self._prior_args(X.shape[1]),
            tol=check_real(self.tol, "tol"),
            max_iter=check_count(self.max_iter, "max_iter"),
            n_init=check_count(self.n_init, "n_init"),
        )
        self._stream = None
        self._set_state(out)
        self.converged_ = bool(out["converged"])
        return self

    def partial_fit(self, X, y=None):
        """One step of stochastic variational inference on the minibatch X.

        The first call starts a stream (after :meth:`fit`, after unpickling,
        or on a new estimator): priors left at ``None`` come from this
        minibatch, and the globals start from k-means++ on it, so it needs at
        least ``n_components`` rows. Later calls take one natural-gradient
        step each (Hoffman et al. 2013, eqs 26, 33, 36).

        Parameters
        ----------
        X : array-like of shape (batch_size, n_features)
        y : ignored

        Returns
        -------
        self
        """
        stream = getattr(self, "_stream", None)
        first = stream is None
        X = validate_data(self, X, dtype=np.float64, reset=first, ensure_min_samples=2 if first else 1)
        if first:
            n = self.total_samples
            n = X.shape[0] if n is None else check_count(n, "total_samples", minimum=1)
            stream = _elbo.SviStream(
                **self._prior_args(X.shape[1]),
                learning_offset=check_real(self.learning_offset, "learning_offset"),
                learning_decay=check_real(self.learning_decay, "learning_decay"),
                total_samples=n,
            )
        stream.partial_fit(X)
        self._stream = stream
        out = stream.state()
        self._set_state(out)
        self.converged_ = False
        return self

    def __getstate__(self):
        # The Rust SVI state cannot be pickled: a pickled model predicts, and
        # a later partial_fit starts a new stream.
        state = super().__getstate__()
        state.pop("_stream", None)
        return state

    def _set_state(self, out):
        diag = self.covariance_type == "diag"
        k = out["m"].shape[0]
        self.weights_ = out["weights"]
        self.means_ = out["m"]
        cov = out["covariances"]
        prec = out["w"] * out["nu"][:, None, None]
        if diag:
            idx = np.arange(cov.shape[1])
            cov, prec = cov[:, idx, idx], prec[:, idx, idx]
        self.covariances_ = cov
        self.precisions_ = prec
        if out["concentration_b"] is None:
            self.weight_concentration_ = out["concentration_a"]
        else:
            self.weight_concentration_ = (out["concentration_a"], out["concentration_b"])
        self.mean_precision_ = out["beta"]
        self.degrees_of_freedom_ = out["nu"]
        self.lower_bound_ = float(out["lower_bound"])
        self.lower_bounds_ = out["elbo_trace"]
        self.n_iter_ = int(out["n_iter"])
        w0 = out["w0"]
        self.weight_concentration_prior_ = (
            1.0 / k if self.weight_concentration_prior is None else float(self.weight_concentration_prior)
        )
        self.mean_precision_prior_ = float(out["beta0"])
        self.mean_prior_ = out["m0"]
        self.degrees_of_freedom_prior_ = float(out["nu0"])
        self.covariance_prior_ = 1.0 / np.diag(w0) if diag else np.linalg.inv(w0)
        # what the E-step and the predictive density read
        self._e_ln_pi = out["e_ln_pi"]
        self._w = out["w"]

    # -- evaluation ------------------------------------------------------------

    def _evaluate(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return _elbo.mixture_predict(
            X,
            covariance_type=self.covariance_type,
            e_ln_pi=self._e_ln_pi,
            weights=self.weights_,
            beta=self.mean_precision_,
            m=self.means_,
            w=self._w,
            nu=self.degrees_of_freedom_,
        )

    def predict_proba(self, X):
        """Responsibilities r_nk of the rows of X under q (PRML 10.49), shape
        (n_samples, n_components)."""
        return self._evaluate(X)[0]

    def predict(self, X):
        """The most responsible component of each row of X."""
        return np.argmax(self.predict_proba(X), axis=1)

    def fit_predict(self, X, y=None):
        """:meth:`fit`, then :meth:`predict` on the same X."""
        return self.fit(X).predict(X)

    def score_samples(self, X):
        """ln p(x | training data) of each row: the Student-t mixture
        predictive density (PRML 10.81), shape (n_samples,)."""
        return self._evaluate(X)[1]

    def score(self, X, y=None):
        """The mean of :meth:`score_samples`: held-out log-likelihood per point."""
        return float(np.mean(self.score_samples(X)))
