#!/usr/bin/env python3
"""Reference numbers for elbo_classic::vblr::EvidenceRegression and Vblr.

Fits scikit-learn's BayesianRidge (default hyper-parameters) to the
diabetes data (the raw features of load_diabetes(scaled=False), the same
file elbo embeds), standardised column by column with the population
standard deviation (StandardScaler, as elbo_core::data::Standardizer), and
prints coef_, intercept_, alpha_ (noise precision, PRML's beta),
lambda_ (weight precision, PRML's alpha), n_iter_ and the predictive mean
and standard deviation of the first 10 rows, ready to paste into Rust.

Usage: python3 scripts/vblr_sklearn_reference.py
"""
import numpy as np
import sklearn
from sklearn.datasets import load_diabetes
from sklearn.linear_model import BayesianRidge
from sklearn.preprocessing import StandardScaler


def rust_array(name, values):
    body = ", ".join(repr(float(v)) for v in values)
    print(f"const {name}: [f64; {len(values)}] = [{body}];")


def main():
    x, y = load_diabetes(return_X_y=True, scaled=False)
    z = StandardScaler().fit_transform(x)
    model = BayesianRidge().fit(z, y)
    mean, std = model.predict(z[:10], return_std=True)
    print(f"// scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    print(f"// BayesianRidge() on standardised diabetes (442 x 10), n_iter_ = {model.n_iter_}")
    rust_array("SK_COEF", model.coef_)
    print(f"const SK_INTERCEPT: f64 = {float(model.intercept_)!r};")
    print(f"const SK_ALPHA: f64 = {float(model.alpha_)!r}; // noise precision (PRML beta)")
    print(f"const SK_LAMBDA: f64 = {float(model.lambda_)!r}; // weight precision (PRML alpha)")
    rust_array("SK_PRED_MEAN", mean)
    rust_array("SK_PRED_STD", std)


if __name__ == "__main__":
    main()
