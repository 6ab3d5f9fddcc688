"""Fit time of elbo's estimators against scikit-learn's, same data, same run.

    python benchmarks/bench_fit.py [--repeat 3]

Prints one markdown table: the best of ``--repeat`` wall-clock fits per
estimator (seconds), and the speed-up. Both sides run with the threads they
find (numpy's BLAS for scikit-learn, rayon for elbo); set
OMP_NUM_THREADS / RAYON_NUM_THREADS to compare at a fixed count.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.linear_model import ARDRegression, BayesianRidge, LogisticRegression
from sklearn.mixture import BayesianGaussianMixture as SkBGM

import elbo


def best_time(make, X, y, repeat):
    best = np.inf
    for _ in range(repeat):
        est = make()
        t0 = time.perf_counter()
        est.fit(X, y) if y is not None else est.fit(X)
        best = min(best, time.perf_counter() - t0)
    return best, est


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.RandomState(0)

    Xr = rng.normal(size=(20_000, 50))
    yr = Xr @ rng.normal(size=50) + rng.normal(size=20_000)
    Xa = rng.normal(size=(5_000, 40))
    wa = np.zeros(40)
    wa[:5] = rng.normal(size=5) * 3
    ya = Xa @ wa + rng.normal(size=5_000)
    Xl = rng.normal(size=(10_000, 20))
    yl = (Xl @ rng.normal(size=20) + rng.logistic(size=10_000) > 0).astype(int)
    Xm, _ = make_blobs(n_samples=20_000, centers=5, n_features=5, random_state=0)

    rows = [
        ("BayesianRidge, 20000 x 50", lambda: BayesianRidge(), lambda: elbo.VariationalLinearRegression(), Xr, yr),
        ("ARDRegression, 5000 x 40", lambda: ARDRegression(), lambda: elbo.VariationalARD(), Xa, ya),
        (
            "LogisticRegression, 10000 x 20",
            lambda: LogisticRegression(),
            lambda: elbo.VariationalLogisticRegression(),
            Xl,
            yl,
        ),
        (
            "BayesianGaussianMixture full, 20000 x 5, K=8",
            lambda: SkBGM(n_components=8, max_iter=500, tol=1e-6, random_state=0),
            lambda: elbo.BayesianGaussianMixture(n_components=8, random_state=0),
            Xm,
            None,
        ),
        (
            "BayesianGaussianMixture diag, 20000 x 5, K=8",
            lambda: SkBGM(n_components=8, covariance_type="diag", max_iter=500, tol=1e-6, random_state=0),
            lambda: elbo.BayesianGaussianMixture(n_components=8, covariance_type="diag", random_state=0),
            Xm,
            None,
        ),
    ]
    print("| model, data | scikit-learn fit (s) | elbo fit (s) | speed-up | iterations sk / elbo |")
    print("|---|---:|---:|---:|---|")
    for name, sk, ours, X, y in rows:
        t_sk, e_sk = best_time(sk, X, y, args.repeat)
        t_el, e_el = best_time(ours, X, y, args.repeat)
        it_sk = np.max(getattr(e_sk, "n_iter_", np.nan))
        print(f"| {name} | {t_sk:.4f} | {t_el:.4f} | {t_sk / t_el:.1f}x | {it_sk} / {e_el.n_iter_} |")


if __name__ == "__main__":
    main()
