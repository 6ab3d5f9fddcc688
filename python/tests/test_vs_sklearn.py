"""elbo against scikit-learn on the same data: where the models coincide the
numbers must agree; where they differ (variational vs type-II ML) they must
be close on data that determine the parameters well."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_blobs
from sklearn.linear_model import ARDRegression, BayesianRidge, LogisticRegression
from sklearn.mixture import BayesianGaussianMixture as SkBGM
from sklearn.preprocessing import StandardScaler

from elbo import (
    BayesianGaussianMixture,
    VariationalARD,
    VariationalLinearRegression,
    VariationalLogisticRegression,
)


def linear_data(n=200, d=5, noise=0.5, seed=0, sparse=False):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d) * 2.0
    if sparse:
        w[3:] = 0.0
    y = X @ w + 1.5 + noise * rng.normal(size=n)
    return X, y, w


# ---------------------------------------------------------------- linear ---


def test_known_precisions_give_bayesian_ridges_exact_posterior():
    # With beta and lambda fixed at BayesianRidge's estimates, q(w) is the
    # exact posterior (PRML 3.53-3.54): the same numbers as sklearn.
    X, y, _ = linear_data()
    X = X - X.mean(axis=0)  # sklearn's return_std ignores the centring
    br = BayesianRidge().fit(X, y)
    ours = VariationalLinearRegression(noise_precision=br.alpha_, weight_precision=br.lambda_).fit(X, y)
    np.testing.assert_allclose(ours.coef_, br.coef_, rtol=1e-9)
    assert ours.intercept_ == pytest.approx(br.intercept_, rel=1e-9)
    np.testing.assert_allclose(ours.sigma_, br.sigma_, rtol=1e-8)
    X_new = np.random.RandomState(1).normal(size=(50, 5))
    mean, std = ours.predict(X_new, return_std=True)
    br_mean, br_std = br.predict(X_new, return_std=True)
    np.testing.assert_allclose(mean, br_mean, rtol=1e-9)
    np.testing.assert_allclose(std, br_std, rtol=1e-8)
    assert ours.dof_ is None


def test_default_fit_is_close_to_bayesian_ridge():
    X, y, w = linear_data(n=500)
    br = BayesianRidge().fit(X, y)
    ours = VariationalLinearRegression().fit(X, y)
    assert ours.converged_
    np.testing.assert_allclose(ours.coef_, br.coef_, rtol=2e-3)
    assert ours.intercept_ == pytest.approx(br.intercept_, abs=1e-3)
    # E[beta] against the type-II ML noise precision (true value 4)
    assert ours.alpha_ == pytest.approx(br.alpha_, rel=0.02)
    X_new = np.random.RandomState(2).normal(size=(100, 5))
    mean, std = ours.predict(X_new, return_std=True)
    br_mean, br_std = br.predict(X_new, return_std=True)
    np.testing.assert_allclose(mean, br_mean, atol=5e-3)
    np.testing.assert_allclose(std, br_std, rtol=0.02)
    # the Student-t's degrees of freedom: 2 c_N = 2 (1e-6 + N/2)
    assert ours.dof_ == pytest.approx(500 + 2e-6)
    assert ours.score(X, y) == pytest.approx(br.score(X, y), abs=1e-6)


def test_ard_finds_the_same_relevant_weights_as_ardregression():
    X, y, w = linear_data(n=300, d=10, sparse=True, seed=3)
    sk = ARDRegression().fit(X, y)
    ours = VariationalARD().fit(X, y)
    np.testing.assert_array_equal(ours.relevant_, w != 0)
    # sklearn prunes by lambda_i > threshold_lambda (1e4) and keeps one
    # irrelevant weight at 0.004; both leave the irrelevant weights near 0
    np.testing.assert_allclose(sk.coef_[3:], 0.0, atol=0.01)
    np.testing.assert_allclose(ours.coef_[3:], 0.0, atol=0.01)
    np.testing.assert_allclose(ours.coef_[:3], sk.coef_[:3], rtol=1e-3)
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), atol=0.01)
    assert ours.lambda_.shape == (10,)


@pytest.mark.parametrize("model", [VariationalLinearRegression, VariationalARD])
def test_linear_bound_never_decreases(model):
    X, y, _ = linear_data(n=80, d=6, seed=4)
    fit = model(tol=0.0, max_iter=50).fit(X, y)
    diffs = np.diff(fit.lower_bounds_)
    assert np.all(diffs >= -1e-9 * np.abs(fit.lower_bounds_[1:]))
    assert fit.lower_bound_ == fit.lower_bounds_[-1]


# -------------------------------------------------------------- logistic ---


def test_logistic_regression_agrees_with_sklearn_on_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ours = VariationalLogisticRegression().fit(X, y)
    # the MAP with the learnt prior precision: C = 1 / E[lambda]
    sk = LogisticRegression(C=1.0 / ours.lambda_, max_iter=10_000).fit(X, y)
    assert ours.converged_
    assert np.mean(ours.predict(X) == sk.predict(X)) >= 0.98
    assert ours.score(X, y) == pytest.approx(sk.score(X, y), abs=0.01)
    p, p_sk = ours.predict_proba(X)[:, 1], sk.predict_proba(X)[:, 1]
    assert np.mean(np.abs(p - p_sk)) < 0.03
    # integrating over q(w) (PRML 4.155) pulls each probability towards 1/2
    # compared with the plug-in sigmoid of the posterior mean
    plug_in = 1.0 / (1.0 + np.exp(-(X @ ours.coef_[0] + ours.intercept_[0])))
    assert np.all(np.abs(p - 0.5) <= np.abs(plug_in - 0.5) + 1e-12)
    assert np.mean(np.abs(p - 0.5)) < np.mean(np.abs(plug_in - 0.5))
    np.testing.assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0)
    assert np.all(np.diff(ours.lower_bounds_) >= -1e-9 * np.abs(ours.lower_bounds_[1:]))


# -------------------------------------------------------------- mixtures ---


CENTRES = np.array([[-6.0, -4.0], [0.0, 6.0], [6.0, -3.0]])


def blob_data(seed=0, n=900):
    """Three well-separated unit-variance blobs; 2/3 to fit, 1/3 held out."""
    X, _ = make_blobs(n_samples=n, centers=CENTRES, cluster_std=1.0, random_state=seed)
    return X[: 2 * n // 3], X[2 * n // 3 :]


@pytest.mark.parametrize("prior", ["dirichlet_process", "dirichlet_distribution"])
def test_mixture_weights_and_heldout_score_match_sklearn(prior):
    X, X_test = blob_data()
    kw = dict(
        n_components=6,
        weight_concentration_prior_type=prior,
        weight_concentration_prior=1e-3,
        max_iter=1000,
        random_state=0,
    )
    ours = BayesianGaussianMixture(**kw).fit(X)
    sk = SkBGM(**kw, tol=1e-6).fit(X)
    assert ours.converged_ and sk.converged_
    np.testing.assert_allclose(np.sort(ours.weights_)[::-1], np.sort(sk.weights_)[::-1], atol=0.005)
    assert np.sum(ours.weights_ > 0.01) == 3
    big = np.argsort(ours.weights_)[-3:]
    big_sk = np.argsort(sk.weights_)[-3:]
    order = np.argsort(ours.means_[big, 0])
    order_sk = np.argsort(sk.means_[big_sk, 0])
    np.testing.assert_allclose(ours.means_[big][order], sk.means_[big_sk][order_sk], atol=0.02)
    # held-out log-likelihood per point: Student-t predictive vs plug-in
    assert ours.score(X_test) == pytest.approx(sk.score(X_test), abs=0.02)
    # the same labelling of the test points, up to a permutation
    pairs = set(zip(ours.predict(X_test), sk.predict(X_test)))
    assert len(pairs) == 3


@pytest.mark.parametrize("cov", ["full", "diag"])
@pytest.mark.parametrize("prior", ["dirichlet_process", "dirichlet_distribution"])
def test_mixture_bound_never_decreases(cov, prior):
    X, _ = blob_data(seed=1)
    fit = BayesianGaussianMixture(
        n_components=5,
        covariance_type=cov,
        weight_concentration_prior_type=prior,
        tol=0.0,
        max_iter=60,
        random_state=2,
    ).fit(X)
    lb = fit.lower_bounds_
    assert len(lb) == 60 and fit.n_iter_ == 60
    assert np.all(np.diff(lb) >= -1e-9 * np.abs(lb[1:]))
    assert fit.lower_bound_ == lb[-1]


def test_lower_bound_compares_numbers_of_components():
    # every constant kept: the bound (+ ln K!) prefers the true K = 3
    X, _ = blob_data(seed=5)
    bounds = {}
    for k in (1, 2, 3, 4):
        fit = BayesianGaussianMixture(
            n_components=k, weight_concentration_prior_type="dirichlet_distribution",
            weight_concentration_prior=1.0, n_init=3, random_state=0,
        ).fit(X)
        bounds[k] = fit.lower_bound_ + np.sum(np.log(np.arange(1, k + 1)))
    assert max(bounds, key=bounds.get) == 3


def test_partial_fit_streams_to_the_cavi_answer():
    X, X_test = blob_data(seed=2, n=3000)
    cavi = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    svi = BayesianGaussianMixture(n_components=3, random_state=0, total_samples=len(X))
    rng = np.random.RandomState(0)
    epoch_means = []
    for _ in range(5):
        idx = rng.permutation(len(X))
        before = svi.n_iter_ if hasattr(svi, "n_iter_") else 0
        for b in np.array_split(idx, 20):
            svi.partial_fit(X[b])
        assert svi.n_iter_ == before + 20
        epoch_means.append(np.mean(svi.lower_bounds_[-20:]))
    assert len(svi.lower_bounds_) == 100
    # the noisy estimates of the bound improve from the first epoch on
    assert epoch_means[-1] >= epoch_means[0]
    # each estimate is one minibatch scaled to N: average the last epoch
    assert epoch_means[-1] == pytest.approx(cavi.lower_bound_, rel=0.01)
    # the bound on all of X at the streamed globals (q(Z) optimal) is close to
    # the CAVI optimum's
    assert svi._stream.elbo_on(X) == pytest.approx(cavi.lower_bound_, rel=2e-3)
    np.testing.assert_allclose(np.sort(svi.weights_), np.sort(cavi.weights_), atol=0.02)
    assert svi.score(X_test) == pytest.approx(cavi.score(X_test), abs=0.02)
