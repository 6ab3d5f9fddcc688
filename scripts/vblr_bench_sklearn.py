#!/usr/bin/env python3
"""Time scikit-learn's BayesianRidge.fit on the data shape of
crates/elbo-classic/benches/vblr.rs: N = 200 000 rows of D = 100 standard
normal features, t = x w + N(0, 0.5²) with w ~ N(0, I) (numpy's seeded
generator; the Rust bench draws the same distribution from its own RNG).

Prints the best and the median of the timed fits, in seconds.

Usage: python3 scripts/vblr_bench_sklearn.py [repeats]
"""
import sys
import time

import numpy as np
import sklearn
from sklearn.linear_model import BayesianRidge

N, D = 200_000, 100


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rng = np.random.default_rng(2024)
    x = rng.standard_normal((N, D))
    w = rng.standard_normal(D)
    t = x @ w + 0.5 * rng.standard_normal(N)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model = BayesianRidge().fit(x, t)
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
          f"BayesianRidge().fit on {N} x {D}: best {times[0]:.3f} s, "
          f"median {times[len(times) // 2]:.3f} s over {repeats} fits; "
          f"n_iter_ = {model.n_iter_}, alpha_ = {model.alpha_:.4f}, lambda_ = {model.lambda_:.4f}")


if __name__ == "__main__":
    main()
