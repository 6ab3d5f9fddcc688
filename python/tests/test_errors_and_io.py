"""Bad input gives ValueError with elbo's message (never a crash); arrays of
any layout go in; the GIL is released while Rust fits."""

import pickle
import threading
import time

import numpy as np
import pytest

from elbo import (
    BayesianGaussianMixture,
    VariationalARD,
    VariationalLinearRegression,
    VariationalLogisticRegression,
    _elbo,
)

RNG = np.random.RandomState(0)
X = RNG.normal(size=(60, 3))
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * RNG.normal(size=60)
LABELS = (X[:, 0] > 0).astype(int)

ALL = [
    (VariationalLinearRegression, Y),
    (VariationalARD, Y),
    (VariationalLogisticRegression, LABELS),
    (BayesianGaussianMixture, None),
]


@pytest.mark.parametrize("model,y", ALL)
def test_nan_input_is_a_value_error(model, y):
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model().fit(bad, y)
    fitted = model().fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(bad)


@pytest.mark.parametrize("model,y", ALL)
def test_wrong_number_of_features_is_a_value_error(model, y):
    fitted = model().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :2])


def test_rust_errors_carry_elbos_message():
    t = np.arange(60.0)
    bad = X.copy()
    bad[0, 0] = np.inf
    kw = dict(a0=1e-6, b0=1e-6, c0=1e-6, d0=1e-6, noise_precision=None, fixed_alpha=None,
              ard=False, alpha_init=1.0, tol=1e-8, max_iter=100, prune_threshold=0.1,
              fit_intercept=True)
    with pytest.raises(ValueError, match="finite"):
        _elbo.vblr_fit(bad, t, **kw)
    with pytest.raises(ValueError, match="59|60"):
        _elbo.vblr_fit(X, t[:59], **kw)
    with pytest.raises(ValueError, match="tol"):
        _elbo.vblr_fit(X, t, **{**kw, "tol": -1.0})
    with pytest.raises(ValueError, match="alpha"):
        VariationalLinearRegression(weight_precision=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match="beta"):
        VariationalLinearRegression(noise_precision=0.0).fit(X, Y)
    with pytest.raises(ValueError, match="a0"):
        VariationalLogisticRegression(lambda_1=0.0).fit(X, LABELS)


def test_mixture_parameter_errors():
    with pytest.raises(ValueError, match="at least 1"):
        BayesianGaussianMixture(n_components=0).fit(X)
    with pytest.raises(ValueError, match="n_components"):
        BayesianGaussianMixture(n_components=-2).fit(X)
    with pytest.raises(ValueError, match="number of points"):
        BayesianGaussianMixture(n_components=61).fit(X)
    with pytest.raises(ValueError, match="covariance_type"):
        BayesianGaussianMixture(covariance_type="spherical").fit(X)
    with pytest.raises(ValueError, match="weight_concentration_prior_type"):
        BayesianGaussianMixture(weight_concentration_prior_type="uniform").fit(X)
    with pytest.raises(ValueError, match="gamma"):
        BayesianGaussianMixture(weight_concentration_prior=0.0).fit(X)
    with pytest.raises(ValueError, match="kappa"):
        BayesianGaussianMixture(learning_decay=0.3).partial_fit(X)
    with pytest.raises(ValueError, match="m0"):
        BayesianGaussianMixture(mean_prior=[0.0, 0.0]).fit(X)
    stream = BayesianGaussianMixture(n_components=2, random_state=0).partial_fit(X)
    with pytest.raises(ValueError, match="features"):
        stream.partial_fit(X[:, :2])


def test_logistic_label_errors():
    with pytest.raises(ValueError, match="only one class"):
        VariationalLogisticRegression().fit(X, np.zeros(60))
    with pytest.raises(ValueError, match="Only binary"):
        VariationalLogisticRegression().fit(X, np.arange(60) % 3)


def test_layouts_give_the_same_fit():
    # Fortran order, a strided view and a read-only array are read in place
    F = np.asfortranarray(X)
    wide = np.zeros((60, 6))
    wide[:, ::2] = X
    strided = wide[:, ::2]
    ro = X.copy()
    ro.setflags(write=False)
    ref = VariationalLinearRegression().fit(X, Y).coef_
    for arr in (F, strided, ro):
        np.testing.assert_allclose(VariationalLinearRegression().fit(arr, Y).coef_, ref, rtol=1e-12)
    ref = BayesianGaussianMixture(n_components=2, random_state=1).fit(X).score_samples(X)
    for arr in (F, strided, ro):
        got = BayesianGaussianMixture(n_components=2, random_state=1).fit(arr).score_samples(arr)
        np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_pickled_stream_predicts_and_restarts():
    m = BayesianGaussianMixture(n_components=2, random_state=0, total_samples=600)
    m.partial_fit(X[:30]).partial_fit(X[30:])
    back = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    back.partial_fit(X)  # a new stream
    assert back.n_iter_ == 1 and m.n_iter_ == 2


def test_seeded_fits_are_reproducible():
    a = BayesianGaussianMixture(n_components=4, n_init=2, random_state=7).fit(X)
    b = BayesianGaussianMixture(n_components=4, n_init=2, random_state=7).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    assert a.lower_bound_ == b.lower_bound_


def test_the_gil_is_released_during_a_fit():
    # a Python thread keeps running while Rust fits in another one: the
    # longest pause it sees is far shorter than the fit
    big = np.random.RandomState(1).normal(size=(100_000, 8))
    est = BayesianGaussianMixture(n_components=8, tol=0.0, max_iter=100, random_state=0)
    done = threading.Event()
    span = {}

    def work():
        t0 = time.perf_counter()
        est.fit(big)
        span["fit"] = time.perf_counter() - t0
        done.set()

    th = threading.Thread(target=work)
    th.start()
    last, longest = time.perf_counter(), 0.0
    while not done.is_set():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
        time.sleep(0.001)
    th.join()
    assert span["fit"] > 0.1, span  # long enough to tell a pause from a tick
    assert longest < span["fit"] / 3, (longest, span)
