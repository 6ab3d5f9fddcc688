"""scikit-learn's own estimator checks (``check_estimator`` as pytest cases)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from elbo import (
    BayesianGaussianMixture,
    VariationalARD,
    VariationalLinearRegression,
    VariationalLogisticRegression,
)

ESTIMATORS = [
    VariationalLinearRegression(),
    VariationalARD(),
    VariationalLogisticRegression(),
    BayesianGaussianMixture(random_state=0),
    BayesianGaussianMixture(n_components=2, covariance_type="diag", random_state=0),
]

# Checks we skip, and why: keep this empty unless a check asks for something
# the model does not do (the report lists every entry).
EXPECTED_FAILED = {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED.get(type(est).__name__, {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)
