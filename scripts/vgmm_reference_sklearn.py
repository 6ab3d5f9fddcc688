#!/usr/bin/env python3
"""Reference numbers for elbo-classic's mixture tests, from scikit-learn.

Run from the repository root: `python3 scripts/vgmm_reference_sklearn.py`.
The tests `crates/elbo-classic/tests/mixture_em.rs` and `mixture_digits.rs`
quote what it prints (scikit-learn 1.9.1, numpy 2.4.6 when written).

1. Old Faithful (data/faithful.csv), standardised with the population
   standard deviation (StandardScaler), K = 2, full covariances:
   GaussianMixture with reg_covar = 0, tol = 1e-12, max_iter = 10000 from
   20 k-means starts -> the maximum-likelihood log-likelihood per point.
2. Digits (data/digits.csv.gz, 64 pixels + label): train = rows i with
   i % 5 != 0, test = rows i % 5 == 0; columns constant on the train rows
   dropped; standardised with the train mean and population std.
   BayesianGaussianMixture(K = 10, full, Dirichlet prior
   (weight_concentration_prior_type="dirichlet_distribution"; sklearn's default
   is the Dirichlet process) and the other defaults: weight_concentration_prior = 1/K, mean_precision_prior = 1, mean_prior = mean, covariance
   prior = cov(X), dof = D), k-means init, tol = 0, max_iter = 100, for
   seeds 0..4; per seed the test score (scikit-learn's score: mean over
   points of ln sum_k exp(E[ln pi_k] + E[ln N(x | mu_k, Lambda_k)]) ) and,
   from the same fitted posterior, the held-out log-likelihood of the
   Student-t predictive density PRML (10.81) (what elbo's Vgmm reports).
   GaussianMixture (EM, K = 10, full, reg_covar = 1e-6 default and 1e-3,
   max_iter = 100) on the same split: test score (plug-in log-density).
"""
import gzip
import warnings

import numpy as np
from scipy.special import gammaln, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture

warnings.simplefilter("ignore", ConvergenceWarning)


def standardise(train, test):
    mean, std = train.mean(0), train.std(0)
    return (train - mean) / std, (test - mean) / std


def student_t_predictive(m, x):
    """PRML (10.81)-(10.82) from a fitted BayesianGaussianMixture (full)."""
    alpha = m.weight_concentration_
    w = alpha / alpha.sum()
    d = x.shape[1]
    out = []
    for k in range(len(w)):
        nu, beta = m.degrees_of_freedom_[k], m.mean_precision_[k]
        # sklearn: precisions_ = nu * W  ->  W = precisions_ / nu
        wk = m.precisions_[k] / nu
        dof = nu + 1 - d
        lk = dof * beta / (1 + beta) * wk
        sign, logdet = np.linalg.slogdet(lk)
        diff = x - m.means_[k]
        q = np.einsum("ni,ij,nj->n", diff, lk, diff)
        lp = (gammaln((dof + d) / 2) - gammaln(dof / 2) + 0.5 * logdet
              - d / 2 * np.log(dof * np.pi) - (dof + d) / 2 * np.log1p(q / dof))
        out.append(np.log(w[k]) + lp)
    return logsumexp(np.array(out), axis=0)


def faithful():
    x = np.loadtxt("data/faithful.csv", delimiter=",", skiprows=1)
    x = (x - x.mean(0)) / x.std(0)
    gm = GaussianMixture(2, covariance_type="full", reg_covar=0.0, tol=1e-12,
                         max_iter=10000, n_init=20, random_state=0).fit(x)
    print(f"faithful EM K=2: loglik/N = {gm.score(x):.10f}; weights = {np.sort(gm.weights_)}")


def digits():
    with gzip.open("data/digits.csv.gz", "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    x = data[:, :64]
    idx = np.arange(len(x))
    train, test = x[idx % 5 != 0], x[idx % 5 == 0]
    keep = train.std(0) > 0
    train, test = standardise(train[:, keep], test[:, keep])
    print(f"digits: train {train.shape}, test {test.shape}")
    scores, preds = [], []
    for seed in range(5):
        m = BayesianGaussianMixture(n_components=10, covariance_type="full", tol=0.0,
                                    weight_concentration_prior_type="dirichlet_distribution",
                                    max_iter=100, init_params="kmeans",
                                    random_state=seed).fit(train)
        scores.append(m.score(test))
        preds.append(student_t_predictive(m, test).mean())
    print("digits sklearn BGMM score (ln sum rho) per seed:", " ".join(f"{v:.4f}" for v in scores))
    print("digits sklearn BGMM + PRML 10.81 predictive per seed:", " ".join(f"{v:.4f}" for v in preds))
    print(f"digits sklearn BGMM: mean score {np.mean(scores):.4f}, mean 10.81 {np.mean(preds):.4f}")
    for reg in [1e-6, 1e-3]:
        em = [GaussianMixture(10, covariance_type="full", reg_covar=reg, max_iter=100,
                              random_state=s).fit(train).score(test) for s in range(5)]
        print(f"digits sklearn EM reg_covar={reg:g}: test score per seed", " ".join(f"{v:.4f}" for v in em),
              f"mean {np.mean(em):.4f}")


if __name__ == "__main__":
    import sklearn
    print(f"# scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    faithful()
    digits()
