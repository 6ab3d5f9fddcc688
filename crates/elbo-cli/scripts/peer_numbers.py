"""Peer numbers for `elbo reproduce`: scikit-learn on the same data sets and
protocols (splits are scikit-learn's own, so numbers agree in distribution,
not split by split). Run: python3 crates/elbo-cli/scripts/peer_numbers.py
"""
import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import BayesianRidge, LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def ece(p, t, bins=10):
    b = np.minimum((p * bins).astype(int), bins - 1)
    return sum(abs(p[b == k].sum() - t[b == k].sum()) for k in range(bins)) / len(t)


def breast_cancer(seeds):
    X, y = load_breast_cancer(return_X_y=True)
    acc, ll, ec = [], [], []
    for s in seeds:
        for tr, te in KFold(5, shuffle=True, random_state=s).split(X):
            m = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[tr], y[tr])
            p = m.predict_proba(X[te])[:, 1]
            acc.append(accuracy_score(y[te], p > 0.5))
            ll.append(log_loss(y[te], p, labels=[0, 1]))
            ec.append(ece(p, y[te]))
    return np.mean(acc), np.mean(ll), np.mean(ec)


def diabetes(seeds):
    X, y = load_diabetes(return_X_y=True, scaled=False)
    rmse, noise_sd, lam = [], [], []
    for s in seeds:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=s)
        sc = StandardScaler().fit(Xtr)
        m = BayesianRidge().fit(sc.transform(Xtr), ytr)
        rmse.append(np.sqrt(np.mean((m.predict(sc.transform(Xte)) - yte) ** 2)))
        noise_sd.append(1 / np.sqrt(m.alpha_))
        lam.append(m.lambda_)
    return np.mean(rmse), np.mean(noise_sd), np.mean(lam)


print("scikit-learn", sklearn.__version__)
print("breast cancer LogisticRegression 5-fold x10: accuracy %.4f log-loss %.4f ECE %.4f" % breast_cancer(range(10)))
print("diabetes BayesianRidge 80/20 x10: test RMSE %.2f noise sd %.2f lambda %.5f" % diabetes(range(10)))
