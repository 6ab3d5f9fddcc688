# %% [markdown]
# # elbo from Python: a tour
#
# Notebook-style script (cells marked `# %%`; run it whole with
# `python examples/tour.py`, or cell by cell in an editor that knows the
# marks). Every estimator is a scikit-learn estimator: pipelines, grid
# search and `clone` work as usual.

# %%
import numpy as np
from sklearn.datasets import make_blobs
from sklearn.linear_model import BayesianRidge
from sklearn.mixture import BayesianGaussianMixture as SkBGM

import elbo

rng = np.random.RandomState(0)

# %% [markdown]
# ## 1. Variational linear regression: a drop-in for BayesianRidge
# Same priors, variational Bayes instead of type-II maximum likelihood; the
# predictive is a Student-t, and `lower_bound_` is the full evidence bound.

# %%
X = rng.uniform(-3, 3, size=(40, 1))
y = np.sin(X[:, 0]) + 0.2 * rng.normal(size=40)
Phi = np.hstack([X**p for p in range(1, 6)])  # a polynomial basis
vb = elbo.VariationalLinearRegression().fit(Phi, y)
br = BayesianRidge().fit(Phi, y)
X_new = np.linspace(-5, 5, 5)[:, None]
Phi_new = np.hstack([X_new**p for p in range(1, 6)])
mean, std = vb.predict(Phi_new, return_std=True)
br_mean, br_std = br.predict(Phi_new, return_std=True)
for x, m, s, bm, bs in zip(X_new[:, 0], mean, std, br_mean, br_std):
    print(f"x={x:+.1f}  elbo {m:+8.3f} ± {s:7.3f}   BayesianRidge {bm:+8.3f} ± {bs:7.3f}")
print(f"noise precision E[beta]={vb.alpha_:.2f} (BayesianRidge {br.alpha_:.2f}); "
      f"bound {vb.lower_bound_:.2f} after {vb.n_iter_} iterations")

# %% [markdown]
# ## 2. The bound picks the polynomial order (PRML Fig 10.9)

# %%
for order in range(1, 8):
    P = np.hstack([X**p for p in range(1, order + 1)])
    print(order, round(elbo.VariationalLinearRegression().fit(P, y).lower_bound_, 2))

# %% [markdown]
# ## 3. ARD switches irrelevant inputs off

# %%
Xa = rng.normal(size=(200, 8))
ya = Xa[:, 0] * 2 - Xa[:, 3] + 0.3 * rng.normal(size=200)
ard = elbo.VariationalARD().fit(Xa, ya)
print("relevant:", ard.relevant_, "coef:", ard.coef_.round(3))

# %% [markdown]
# ## 4. Logistic regression with a learnt prior precision

# %%
Xl = rng.normal(size=(500, 3))
yl = (Xl @ [2.0, -1.0, 0.0] + rng.logistic(size=500) > 0).astype(int)
clf = elbo.VariationalLogisticRegression().fit(Xl, yl)
print("accuracy", clf.score(Xl, yl), "E[lambda]", round(clf.lambda_, 3),
      "p(y=1) at 0:", clf.predict_proba(np.zeros((1, 3)))[0, 1].round(3))

# %% [markdown]
# ## 5. A Bayesian Gaussian mixture finds how many components it needs

# %%
Xm, _ = make_blobs(n_samples=1500, centers=[[-6, -4], [0, 6], [6, -3]], random_state=1)
train, test = Xm[:1000], Xm[1000:]
gm = elbo.BayesianGaussianMixture(n_components=8, weight_concentration_prior=1e-3, random_state=0).fit(train)
sk = SkBGM(n_components=8, weight_concentration_prior=1e-3, max_iter=500, random_state=0).fit(train)
print("weights (elbo):   ", np.sort(gm.weights_)[::-1].round(3))
print("weights (sklearn):", np.sort(sk.weights_)[::-1].round(3))
print(f"held-out log-lik/point: elbo {gm.score(test):.4f} (Student-t predictive), sklearn {sk.score(test):.4f}")
print("bound with every constant:", round(gm.lower_bound_, 2))

# %% [markdown]
# ## 6. Streaming: partial_fit takes one SVI step per minibatch

# %%
stream = elbo.BayesianGaussianMixture(n_components=3, random_state=0, total_samples=len(train))
for epoch in range(5):
    for batch in np.array_split(rng.permutation(len(train)), 10):
        stream.partial_fit(train[batch])
    print(f"epoch {epoch}: held-out {stream.score(test):.4f}, "
          f"bound estimate {np.mean(stream.lower_bounds_[-10:]):.1f}")
