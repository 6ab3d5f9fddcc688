#!/usr/bin/env python3
"""Time scikit-learn's BayesianGaussianMixture on the shapes of issue 4.

The Rust side is `cargo bench -p elbo-classic --bench vgmm` (criterion) or
`cargo test --release -p elbo-classic --test mixture_bench -- --ignored
--nocapture`, which prints the same table for elbo. Both use synthetic blobs
(make_blobs: centres uniform in [-10, 10]^D, std 1), K components, the
Dirichlet prior with alpha0 = 1/K (elbo's default; scikit-learn's default is
the Dirichlet process, which costs the same), k-means initialisation and
exactly 100 iterations (tol=0, max_iter=100).

Usage: python3 scripts/vgmm_bench_sklearn.py [--quick] [--repeats R] [--csv PATH]
  --quick   N = 1e5 (D=2) and 1e4 (D=10) instead of 1e6 and 1e5
  --csv     time one fit on the data of a CSV file instead (K from --k)

Prints one line per shape: seconds per fit (median of R), the lower bound per
point as scikit-learn reports it (constants dropped, so not comparable to
elbo's), and the threads BLAS used.
"""
import argparse
import os
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture


def time_fit(x, k, cov, repeats, seed=0):
    times, lb = [], None
    for r in range(repeats):
        m = BayesianGaussianMixture(
            n_components=k,
            covariance_type=cov,
            weight_concentration_prior_type="dirichlet_distribution",
            tol=0.0,
            max_iter=100,
            init_params="kmeans",
            random_state=seed + r,
        )
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m.fit(x)
        times.append(time.perf_counter() - t)
        lb = m.lower_bound_
        assert m.n_iter_ == 100, m.n_iter_
    return statistics.median(times), times, lb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--csv")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--cov", default="full,diag")
    a = ap.parse_args()
    import sklearn
    print(f"# scikit-learn {sklearn.__version__}, numpy {np.__version__}, cpus {os.cpu_count()}")
    if a.csv:
        x = np.loadtxt(a.csv, delimiter=",")
        shapes = [(x, a.k)]
    else:
        dims = [(100_000, 2), (10_000, 10)] if a.quick else [(1_000_000, 2), (100_000, 10)]
        shapes = []
        for n, d in dims:
            x, _ = make_blobs(n_samples=n, n_features=d, centers=a.k, cluster_std=1.0,
                              center_box=(-10.0, 10.0), random_state=0)
            shapes.append((x, a.k))
    for x, k in shapes:
        n, d = x.shape
        for cov in a.cov.split(","):
            med, all_t, lb = time_fit(x, k, cov, a.repeats)
            print(f"sklearn {n}x{d} k{k} {cov}: {med:.3f} s per 100 iterations "
                  f"(runs {', '.join(f'{t:.3f}' for t in all_t)}); lower_bound_/N {lb / n:.5f}",
                  flush=True)


if __name__ == "__main__":
    main()
