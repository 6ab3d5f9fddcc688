"""Peer numbers for `elbo reproduce`: scikit-learn on exactly the rows elbo used.

Usage:
    python3 crates/elbo-cli/scripts/peers.py REPRODUCE_DIR [--data-dir DIR] > peers.json

`elbo reproduce` runs this script itself (a copy is written to
REPRODUCE_DIR/peers.py) when `python3 -c "import sklearn"` works, and merges
the JSON it prints into its table. Every run directory under REPRODUCE_DIR
that holds a `split.json` is scored:

- the data: `data.csv` in the run directory (generated data such as
  `sparse:N,D,K`, written by elbo value for value), else the embedded data set
  named in metrics.json (`diabetes`, `breast-cancer`) read from the
  repository's `data/` (--data-dir; default: ../../../data from this file),
  else the CSV file named by metrics.json `config.data` (with a header row);
- the rows: `split.json` (0-based row indices; holdout or K folds). The data
  must reproduce split.json's `data_fingerprint` (the bit patterns of every
  value) and what metrics.json says elbo saw (row counts, the training
  target's mean, the scaler's means); a mismatch is reported, not scored;
- the preprocessing: StandardScaler fitted on the training rows, as elbo does;
- the estimator: vblr with --ard -> ARDRegression(); vblr otherwise ->
  BayesianRidge(); vb-logistic -> LogisticRegression(). scikit-learn's
  defaults throughout (fit_intercept=True; elbo centres the target, and its
  logistic intercept is a weight under the prior);
- mixtures (vgmm, em-gmm; inputs only, no target): the columns constant on
  the training rows dropped and the rest standardised as elbo did (checked
  against metrics.json), then BayesianGaussianMixture with elbo's K, prior
  (the m0, W0, nu0, beta0, alpha0 of metrics.json `prior`), tol, max_iter
  and reg_covar=0 -- or GaussianMixture with elbo's reg_covar -- fitted
  twice: from scikit-learn's own k-means initialisation (random_state =
  seed), and from elbo's initial k-means labels (init.json), which makes the
  two CAVI (or EM) runs the same computation. Held-out scores: score() (for
  BayesianGaussianMixture ln sum_k rho_nk, the E-step's plug-in of
  expectations) and, from its posterior, the Student-t predictive of PRML
  10.81 that elbo reports.

Metrics are defined as elbo defines them: RMSE on the held-out rows;
accuracy with p > 0.5; log-loss with p clipped to [eps, 1 - eps]; ECE with 10
equal-width bins on p(t = 1), bin min(floor(10 p), 9), weighted by bin size
(elbo_classic::vb_logistic::metrics::expected_calibration_error).

To refresh the numbers that elbo shows when Python is absent
(crates/elbo-cli/scripts/peers-recorded.json):
    cargo run --release -- reproduce --full --peers off --out /tmp/full
    python3 crates/elbo-cli/scripts/peers.py /tmp/full > crates/elbo-cli/scripts/peers-recorded.json
"""
import argparse
import gzip
import json
import os
import platform
import sys
from pathlib import Path

# One BLAS thread: these fits are small, and several BLAS threads on a few
# cores fight each other (digits: 15 s instead of 4 minutes on 2 cores).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import warnings

import numpy as np
import sklearn
from scipy.special import gammaln, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ARDRegression, BayesianRidge, LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture
from sklearn.preprocessing import StandardScaler

ECE_BINS = 10


def fingerprint(n_rows, test_parts):
    """FNV-1a (64 bit) over little-endian u64 words: n_rows, then each test
    part's length and indices (crates/elbo-cli/src/split.rs)."""
    h = 0xCBF29CE484222325
    mask = (1 << 64) - 1

    def word(w):
        nonlocal h
        for b in int(w).to_bytes(8, "little"):
            h = ((h ^ b) * 0x100000001B3) & mask

    word(n_rows)
    for part in test_parts:
        word(len(part))
        for i in part:
            word(i)
    return "%016x" % h


def data_fingerprint(X, y):
    """Horner's h <- h * P + w (mod 2**64), P = 0x100000001b3, over the
    IEEE-754 bit patterns w of each row's inputs then its target (inputs
    only when y is None: mixtures) (crates/elbo-cli/src/split.rs)."""
    cols = X if y is None else np.column_stack([X, y])
    w = np.ascontiguousarray(cols, dtype="<f8").ravel().view("<u8")
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(len(w), 0x100000001B3, dtype=np.uint64))
    # P^(n-1-i) for i = 0..n-1: 1, P, P^2 … reversed.
    powers = np.concatenate([[np.uint64(1)], powers[:-1]])[::-1]
    return "%016x" % int(np.sum(w * powers, dtype=np.uint64))


def ece(p, t, bins=ECE_BINS):
    b = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[b == k].sum() - t[b == k].sum()) for k in range(bins)) / len(t))


def load_builtin(name, data_dir):
    if name == "diabetes":
        with gzip.open(data_dir / "diabetes_data_raw.csv.gz", "rt") as f:
            X = np.loadtxt(f)
        with gzip.open(data_dir / "diabetes_target.csv.gz", "rt") as f:
            y = np.loadtxt(f)
        return X, y
    if name == "breast-cancer":
        # First line: scikit-learn's `569,30,malignant,benign`.
        a = np.loadtxt(data_dir / "breast_cancer.csv", delimiter=",", skiprows=1)
        return a[:, :-1], a[:, -1]
    return None


def load_csv_with_header(path, target):
    with open(path) as f:
        header = [h.strip().strip('"') for h in f.readline().split(",")]
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    if target not in header:
        raise ValueError(f"{path}: no column `{target}` in the header")
    j = header.index(target)
    return np.delete(a, j, axis=1), a[:, j]


def load_inputs(run_dir, metrics, data_dir):
    """A mixture's inputs: the data without the label column elbo left out."""
    cfg = metrics["config"]
    label = cfg.get("label")
    if (run_dir / "data.csv").exists():
        path, source = run_dir / "data.csv", "data.csv"
    elif cfg["data"] == "digits":
        with gzip.open(data_dir / "digits.csv.gz", "rt") as f:
            a = np.loadtxt(f, delimiter=",", ndmin=2)
        return a[:, :-1], "embedded data/ (digits)"
    elif cfg["data"] == "faithful":
        path, source = data_dir / "faithful.csv", "embedded data/ (faithful)"
    elif Path(cfg["data"]).exists():
        path, source = Path(cfg["data"]), cfg["data"]
    else:
        raise ValueError(f"data `{cfg['data']}` not found (embedded data: pass --data-dir)")
    with open(path) as f:
        first = f.readline()
    cells = [c.strip().strip('"') for c in first.split(",")]
    try:
        [float(c) for c in cells]
        header, skip = None, 0
    except ValueError:
        header, skip = cells, 1
    a = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
    if label is not None:
        if header is not None and label in header:
            j = header.index(label)
        else:
            j = int(label) % a.shape[1]
        a = np.delete(a, j, axis=1)
    return a, source


def load_data(run_dir, metrics, data_dir):
    if (run_dir / "data.csv").exists():
        return load_csv_with_header(run_dir / "data.csv", metrics["config"]["target"]), "data.csv"
    spec = metrics["config"]["data"]
    d = load_builtin(spec, data_dir)
    if d is not None:
        return d, f"embedded data/ ({spec})"
    if Path(spec).exists():
        return load_csv_with_header(spec, metrics["config"]["target"]), spec
    raise ValueError(f"data `{spec}` not found (embedded data: pass --data-dir)")


def close(a, b, rel=1e-9):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= rel * (1 + np.abs(b))))


def rmse(pred, t):
    return float(np.sqrt(np.mean((pred - t) ** 2)))


def score_vblr(X, y, split, m):
    cfg = m["config"]
    if cfg.get("basis") != "linear":
        raise ValueError("polynomial basis: no peer")
    tr, te = np.array(split["train"], int), np.array(split["test"], int)
    # The same rows and the same numbers as elbo's fit?
    if (len(tr), len(te)) != (m["n_train"], m["n_test"]):
        raise ValueError("row counts differ from metrics.json")
    if not close(y[tr].mean(), m["target_mean"]) or not close(X[tr].mean(0), m["scaler"]["mean"]):
        raise ValueError("training rows differ from metrics.json (target mean / scaler)")
    sc = StandardScaler().fit(X[tr])
    Ztr, Zte = sc.transform(X[tr]), sc.transform(X[te])
    if cfg.get("ard"):
        est = ARDRegression().fit(Ztr, y[tr])
        out = {
            "estimator": "ARDRegression",
            # The weights' prior precision relative to the noise precision,
            # lambda_i / alpha_: what elbo's E[alpha_i] is (prior N(0, 1/(beta alpha_i))).
            "alpha_relative": (est.lambda_ / est.alpha_).tolist(),
            "weight_precision": est.lambda_.tolist(),
            "kept": (est.coef_ != 0).tolist(),
            "n_kept": int((est.coef_ != 0).sum()),
        }
    else:
        est = BayesianRidge().fit(Ztr, y[tr])
        out = {
            "estimator": "BayesianRidge",
            "weight_precision": float(est.lambda_),
            "alpha_relative": float(est.lambda_ / est.alpha_),
        }
    out.update(
        noise_sd=float(1 / np.sqrt(est.alpha_)),
        noise_precision=float(est.alpha_),
        rmse=rmse(est.predict(Ztr), y[tr]),
        test_rmse=rmse(est.predict(Zte), y[te]),
        n_iter=int(getattr(est, "n_iter_", -1)),
    )
    return out


def score_logistic(X, y, split, m):
    if len(y) != m["n_samples"] or not close(X.mean(0), m["scaler"]["mean"]):
        raise ValueError("data differ from metrics.json (rows / scaler)")
    acc, ll, ec = [], [], []
    for fold in split["folds"]:
        tr, te = np.array(fold["train"], int), np.array(fold["test"], int)
        sc = StandardScaler().fit(X[tr])
        est = LogisticRegression().fit(sc.transform(X[tr]), y[tr])
        p = est.predict_proba(sc.transform(X[te]))[:, 1]
        acc.append(float(accuracy_score(y[te], p > 0.5)))
        ll.append(float(log_loss(y[te], p, labels=[0, 1])))
        ec.append(ece(p, y[te]))
    return {
        "estimator": "LogisticRegression",
        "accuracy": float(np.mean(acc)),
        "log_loss": float(np.mean(ll)),
        "ece": float(np.mean(ec)),
        "accuracy_folds": acc,
        "log_loss_folds": ll,
        "ece_folds": ec,
    }


def from_labels(cls, labels, **kw):
    """`cls(**kw)` started from hard labels (elbo's k-means, init.json)
    instead of its own initialisation: the same first M-step as elbo's."""

    class FromLabels(cls):
        def _initialize_parameters(self, X, random_state, xp=None):
            resp = np.zeros((X.shape[0], self.n_components))
            resp[np.arange(X.shape[0]), labels] = 1.0
            self._initialize(X, resp)

    FromLabels.__name__ = cls.__name__
    return FromLabels(**kw)


def student_t_log_predictive(est, X):
    """PRML (10.81)-(10.82) from a fitted BayesianGaussianMixture:
    ln sum_k (alpha_k / alpha_hat) St(x | m_k, L_k, nu_k + 1 - D), with
    L_k = ((nu_k + 1 - D) beta_k / (1 + beta_k)) W_k and W_k the inverse of
    nu_k * covariances_[k] (scikit-learn stores W_k^-1 / nu_k)."""
    n, d = X.shape
    alpha = np.asarray(est.weight_concentration_, float)
    if est.weight_concentration_prior_type != "dirichlet_distribution":
        raise ValueError("Student-t predictive: only the Dirichlet prior")
    logw = np.log(alpha / alpha.sum())
    beta, nu, m = est.mean_precision_, est.degrees_of_freedom_, est.means_
    out = np.empty((n, len(alpha)))
    for k in range(len(alpha)):
        cov = est.covariances_[k]
        prec = np.linalg.inv(cov) if est.covariance_type == "full" else np.diag(1.0 / cov)
        dof = nu[k] + 1 - d
        L = dof * beta[k] / (1 + beta[k]) * prec / nu[k]
        c = np.linalg.cholesky(L)
        maha = np.sum(((X - m[k]) @ c) ** 2, axis=1)
        logdet = 2 * np.sum(np.log(np.diag(c)))
        out[:, k] = (
            gammaln((dof + d) / 2)
            - gammaln(dof / 2)
            - d / 2 * np.log(dof * np.pi)
            + 0.5 * logdet
            - (dof + d) / 2 * np.log1p(maha / dof)
        )
    return logsumexp(out + logw, axis=1)


def score_mixture(X, split, m, run_dir):
    cfg = m["config"]
    tr, te = np.array(split["train"], int), np.array(split["test"], int)
    if (len(tr), len(te)) != (m["n_train"], m["n_test"]):
        raise ValueError("row counts differ from metrics.json")
    Xtr, Xte = X[tr], X[te]
    # The columns elbo kept: not constant on the training rows (its rule).
    mean, sd = Xtr.mean(0), Xtr.std(0)
    keep = sd > 1e-12 * (1 + np.abs(mean))
    if int(keep.sum()) != m["dim"]:
        raise ValueError(f"{int(keep.sum())} non-constant columns, metrics.json says {m['dim']}")
    Xtr, Xte = Xtr[:, keep], Xte[:, keep]
    if cfg.get("standardize", True):
        sc = StandardScaler().fit(Xtr)
        if not close(sc.mean_, m["scaler"]["mean"]) or not close(sc.scale_, m["scaler"]["std"]):
            raise ValueError("training rows differ from metrics.json (scaler)")
        Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    k, cov, seed = cfg["k"], cfg["covariance"], m["seed"]
    init = run_dir / "init.json"
    labels = np.array(json.loads(init.read_text())["labels"], int) if init.exists() else None
    common = dict(
        n_components=k, covariance_type=cov, tol=cfg["tol"], max_iter=cfg["max_iter"], n_init=1
    )
    out = {"tol_note": "scikit-learn's tol is absolute, elbo's relative; equal when 0"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if m["model"] == "vgmm":
            p = m["prior"]
            w = p["weights"]
            W0 = np.array(p["W0"], float)
            kw = dict(
                common,
                weight_concentration_prior_type=(
                    "dirichlet_distribution" if w["kind"] == "dirichlet" else "dirichlet_process"
                ),
                weight_concentration_prior=w.get("alpha0", w.get("gamma")),
                mean_precision_prior=p["beta0"],
                mean_prior=np.array(p["m0"], float),
                degrees_of_freedom_prior=p["nu0"],
                covariance_prior=np.linalg.inv(W0) if cov == "full" else 1.0 / np.diag(W0),
                reg_covar=0.0,
            )
            cls, name = BayesianGaussianMixture, "BayesianGaussianMixture"

            def scores(est):
                r = {
                    "heldout_loglik_per_point": float(est.score(Xte)),
                    "effective_components": int((est.weights_ > 0.01).sum()),
                    "weights": est.weights_.tolist(),
                    "n_iter": int(est.n_iter_),
                }
                if kw["weight_concentration_prior_type"] == "dirichlet_distribution":
                    r["heldout_loglik_per_point_t"] = float(student_t_log_predictive(est, Xte).mean())
                return r
        elif m["model"] == "em-gmm":
            kw = dict(common, reg_covar=cfg["reg_covar"])
            cls, name = GaussianMixture, "GaussianMixture"

            def scores(est):
                return {
                    "heldout_loglik_per_point": float(est.score(Xte)),
                    "effective_components": int((est.weights_ > 0.01).sum()),
                    "weights": est.weights_.tolist(),
                    "n_iter": int(est.n_iter_),
                }
        else:
            raise ValueError(f"no mixture peer for {m['model']}")
        out["estimator"] = name
        try:
            out.update(scores(cls(init_params="kmeans", random_state=seed, **kw).fit(Xtr)))
        except Exception as e:  # e.g. EM's singularity without a floor
            out["error_own_init"] = f"{type(e).__name__}: {e}"
        if labels is not None:
            if len(labels) != len(Xtr):
                raise ValueError("init.json has a label per training row? it does not")
            try:
                out["same_init"] = scores(from_labels(cls, labels, **kw).fit(Xtr))
            except Exception as e:
                out["same_init"] = {"error": f"{type(e).__name__}: {e}"}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", type=Path, help="an `elbo reproduce` output directory")
    ap.add_argument(
        "--data-dir",
        type=Path,
        help="the repository's data/ (embedded data sets) [default: ../../../data from this file]",
    )
    a = ap.parse_args()
    if a.data_dir is None:
        up = Path(__file__).resolve().parents
        a.data_dir = up[3] / "data" if len(up) > 3 else Path("data")
    runs = {}
    for split_path in sorted(a.dir.rglob("split.json")):
        run_dir = split_path.parent
        key = run_dir.relative_to(a.dir).as_posix()
        try:
            split = json.loads(split_path.read_text())
            m = json.loads((run_dir / "metrics.json").read_text())
            parts = [split["test"]] if split["kind"] == "holdout" else [f["test"] for f in split["folds"]]
            fp = fingerprint(split["n_rows"], parts)
            mixture = m["model"] in ("vgmm", "em-gmm", "svi-gmm")
            if mixture:
                X, source = load_inputs(run_dir, m, a.data_dir)
                y = None
            else:
                (X, y), source = load_data(run_dir, m, a.data_dir)
            if len(X) != split["n_rows"]:
                raise ValueError(f"{source} has {len(X)} rows, split.json says {split['n_rows']}")
            dfp = data_fingerprint(X, y)
            if dfp != split["data_fingerprint"]:
                raise ValueError(f"{source}: data fingerprint {dfp}, split.json says {split['data_fingerprint']}")
            if m["model"] == "vblr" and split["kind"] == "holdout":
                r = score_vblr(X, y, split, m)
            elif m["model"] == "vb-logistic" and split["kind"] == "kfold":
                r = score_logistic(X, y, split, m)
            elif m["model"] in ("vgmm", "em-gmm") and split["kind"] == "holdout":
                r = score_mixture(X, split, m, run_dir)
            else:
                raise ValueError(f"no peer for model {m['model']} with a {split['kind']} split")
            r.update(split_fingerprint=fp, data_fingerprint=dfp, data=source, checked=True)
            runs[key] = r
        except Exception as e:  # one bad run does not stop the others
            runs[key] = {"error": f"{type(e).__name__}: {e}"}
    json.dump(
        {
            "tool": "scikit-learn",
            "version": sklearn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "script": "crates/elbo-cli/scripts/peers.py",
            "runs": runs,
        },
        sys.stdout,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
