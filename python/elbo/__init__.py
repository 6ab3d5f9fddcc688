"""elbo: variational inference in Rust, with scikit-learn-compatible estimators.

The estimators fit by coordinate-ascent variational inference (CAVI) in
closed form, in Rust (the ``elbo-classic`` crate), with the GIL released:

- :class:`VariationalLinearRegression` -- Bayesian linear regression with
  q(w, beta) q(lambda) (PRML 10.3, Drugowitsch 2013); a drop-in for
  ``sklearn.linear_model.BayesianRidge`` with a Student-t predictive;
- :class:`VariationalARD` -- the same with one precision per weight
  (Bishop and Tipping 2000), cf. ``ARDRegression``;
- :class:`VariationalLogisticRegression` -- binary logistic regression with
  the Jaakkola-Jordan bound (PRML 10.6);
- :class:`BayesianGaussianMixture` -- the variational Gaussian mixture
  (PRML 10.2), a drop-in for ``sklearn.mixture.BayesianGaussianMixture``,
  with ``partial_fit`` for streaming stochastic variational inference
  (Hoffman et al. 2013) and the full lower bound (every constant kept).

Errors raised by the Rust code arrive as ``ValueError`` with elbo's message.
"""

from ._elbo import __version__
from ._linear import VariationalARD, VariationalLinearRegression
from ._logistic import VariationalLogisticRegression
from ._mixture import BayesianGaussianMixture

__all__ = [
    "BayesianGaussianMixture",
    "VariationalARD",
    "VariationalLinearRegression",
    "VariationalLogisticRegression",
    "__version__",
]
