#!/usr/bin/env python3
"""scikit-learn reference numbers for elbo's variational Bayesian logistic regression.

Fits scikit-learn's ``LogisticRegression()`` (defaults: L2 penalty, C=1, lbfgs,
unpenalised intercept) on the breast-cancer data, 5-fold cross-validation on
exactly the folds elbo uses: the test indices written by
``elbo_core::data::kfold_indices(569, 5, seed)`` for seed = 0..19 to
``crates/elbo-classic/tests/data/breast_cancer_folds_k5_seeds_0_19.json`` (a
Rust test checks that file against the function). Inputs are standardised inside
each fold with ``StandardScaler`` fitted on the training part (population
standard deviation, as ``elbo_core::data::Standardizer``).

Prints, for seed 0 per fold and on average, accuracy, log-loss
(sklearn.metrics.log_loss) and the expected calibration error with 10
equal-width bins on p(t = 1), computed as
``elbo_classic::vb_logistic::metrics::expected_calibration_error``; then per
seed the number of misclassified points (out of 569) and the fold-averaged
log-loss and ECE. The two tables are pasted into the tests
``vb_logistic::fit::tests::breast_cancer_cv_seed0_against_sklearn`` and
``breast_cancer_repeated_cv_matches_or_beats_sklearn``.

Usage: python3 scripts/vb_logistic_sklearn_reference.py
Needs: numpy, scikit-learn (pip install scikit-learn).
"""

import json
import pathlib

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.preprocessing import StandardScaler

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "breast_cancer.csv"
FOLDS = ROOT / "crates" / "elbo-classic" / "tests" / "data" / "breast_cancer_folds_k5_seeds_0_19.json"


def load_breast_cancer():
    """The embedded copy elbo reads: first line `569,30,malignant,benign`, then
    30 features and the label (0 malignant, 1 benign) per row."""
    rows = DATA.read_text().strip().splitlines()[1:]
    a = np.array([[float(v) for v in r.split(",")] for r in rows])
    return a[:, :-1], a[:, -1]


def ece(p, t, bins=10):
    """sum_b n_b/N |mean p - mean t| over equal-width bins of p(t = 1)."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += abs(p[m].sum() - t[m].sum()) / len(p)
    return total


def cross_validate(x, t, test_folds):
    """One row [accuracy, log-loss, ECE10, errors] per fold."""
    n = len(t)
    rows = []
    for test in test_folds:
        test = np.array(test)
        train = np.setdiff1d(np.arange(n), test)
        sc = StandardScaler().fit(x[train])
        clf = LogisticRegression().fit(sc.transform(x[train]), t[train])
        p = clf.predict_proba(sc.transform(x[test]))[:, 1]
        pred = clf.predict(sc.transform(x[test]))
        acc = accuracy_score(t[test], pred)
        rows.append((acc, log_loss(t[test], p, labels=[0, 1]), ece(p, t[test]), int((pred != t[test]).sum())))
    return np.array(rows)


def main():
    x, t = load_breast_cancer()
    spec = json.loads(FOLDS.read_text())
    assert spec["n"] == len(t)
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    per_seed = []
    for split in spec["splits"]:
        assert len(split["test_folds"]) == spec["k"]
        rows = cross_validate(x, t, split["test_folds"])
        per_seed.append((rows[:, 3].sum(), rows[:, 1].mean(), rows[:, 2].mean()))
        if split["seed"] == 0:
            print("seed 0\nfold  accuracy  log_loss  ece10")
            for i, r in enumerate(rows):
                print(f"{i:4d}  {r[0]:.6f}  {r[1]:.6f}  {r[2]:.6f}")
            m = rows.mean(axis=0)
            print(f"mean  {m[0]:.6f}  {m[1]:.6f}  {m[2]:.6f}")
            print("const SKLEARN_SEED0: [[f64; 3]; 5] = [")
            for r in rows:
                print(f"    [{r[0]:.6f}, {r[1]:.6f}, {r[2]:.6f}],")
            print("];")
    per_seed = np.array(per_seed)
    total = len(per_seed) * len(t)
    print(f"{len(per_seed)} seeds: accuracy {1 - per_seed[:, 0].sum() / total:.6f}, "
          f"log-loss {per_seed[:, 1].mean():.6f}, ECE10 {per_seed[:, 2].mean():.6f}")
    print("const SKLEARN_REPEATED: [[f64; 3]; SEEDS as usize] = [")
    for r in per_seed:
        print(f"    [{r[0]:.1f}, {r[1]:.6f}, {r[2]:.6f}],")
    print("];")


if __name__ == "__main__":
    main()
