//! Gaussian mixtures: maximum-likelihood EM, variational Bayes (CAVI) and
//! stochastic variational inference, sharing one E-step kernel and one
//! reducible type of sufficient statistics.
//!
//! - [`EmGmm`]: EM for maximum likelihood (PRML §9.2, 9.23–9.28), with
//!   detection of the likelihood singularity (§9.2.1) and a covariance floor;
//! - [`Vgmm`]: the variational Bayesian mixture (PRML §10.2, 10.46–10.83)
//!   with a Dirichlet or a truncated stick-breaking Dirichlet-process prior,
//!   full or diagonal covariances, the exact lower bound term by term, and
//!   the Student-t predictive density (10.81);
//! - [`SviGmm`]: stochastic variational inference (Hoffman et al. 2013) on
//!   the same model: minibatches, natural-gradient steps, streams and CSV
//!   files larger than memory;
//! - [`SuffStats`]: N_k, Σ r x, Σ r x xᵀ as one type with
//!   [`merge`](SuffStats::merge) and a flat view
//!   ([`to_flat`](SuffStats::to_flat)), what threads and MPI ranks reduce;
//! - data-parallel fits over shards held by several processes
//!   ([`VgmmValidParams::fit_distributed`], [`SviGmmValidParams::fit_distributed`])
//!   through one element-wise sum, [`Allreduce`], per step.
//!
//! ```no_run
//! # fn main() -> elbo_classic::Result<()> {
//! use elbo_classic::mixture::Vgmm;
//! use elbo_core::data::{builtin, Standardizer};
//! let raw = builtin("faithful", 0)?;
//! let x = Standardizer::fit(raw.x.view())?.transform(raw.x.view());
//! let fit = Vgmm::params(6).with_alpha0(1e-3).fit(x.view())?;
//! println!("E[π] = {:.3}, {} components", fit.weights(), fit.effective_components(0.01));
//! # Ok(()) }
//! ```
//!
//! References: C. M. Bishop, *Pattern Recognition and Machine Learning*
//! (PRML), Springer 2006, §9.2 and §10.2, Appendix B; D. M. Blei and
//! M. I. Jordan, *Variational inference for Dirichlet process mixtures*,
//! Bayesian Analysis 1(1), 2006; M. D. Hoffman, D. M. Blei, C. Wang and
//! J. Paisley, *Stochastic variational inference*, JMLR 14, 2013;
//! scikit-learn's `mixture/_bayesian_mixture.py` and `_gaussian_mixture.py`
//! (defaults of the priors, the CAVI loop shape).

mod distributed;
mod em;
mod kernel;
mod linalg;
mod predictive;
mod stats;
mod svi;
mod vgmm;

pub use distributed::{Allreduce, Layout, Local, check_shard, gather_rows};
pub use em::{EmGmm, EmGmmFit, EmGmmParams, EmGmmValidParams};
pub use stats::SuffStats;
pub use svi::{CsvChunks, SviGmm, SviGmmParams, SviGmmValidParams};
pub use vgmm::{
    BoundTerms, GmmPrior, Vgmm, VgmmFit, VgmmParams, VgmmState, VgmmValidParams, WeightPosterior,
};

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::Result;
use elbo_core::Error as CoreError;

/// The prior on the mixing weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Prior {
    /// PRML (10.39): p(π) = Dir(π | α₀), symmetric, α₀ > 0. Small α₀ (10⁻³,
    /// PRML Fig 10.6) empties the components the data do not need.
    Dirichlet {
        /// The concentration α₀ of every component.
        alpha0: f64,
    },
    /// The truncated stick-breaking Dirichlet process (Blei & Jordan 2006,
    /// §3): π_k = v_k Π_{j<k} (1 − v_j), v_k ~ Beta(1, γ) for k < K and
    /// v_K = 1, γ > 0.
    DirichletProcess {
        /// The concentration γ of the process.
        gamma: f64,
    },
}

/// The form of each component's covariance (precision) matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CovarianceType {
    /// A full D × D precision Λ_k with a Wishart prior (PRML 10.40).
    #[default]
    Full,
    /// A diagonal precision, each λ_kj with its own Gamma (one-dimensional
    /// Wishart) prior: W(λ | w, ν) = Gam(λ | ν/2, 1/(2w)) (PRML B.78 with D = 1).
    Diag,
}

impl std::fmt::Display for CovarianceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CovarianceType::Full => "full",
            CovarianceType::Diag => "diag",
        })
    }
}

/// Synthetic isotropic Gaussian blobs as scikit-learn's `make_blobs`
/// (centres uniform in [−10, 10]^D, standard deviation `std`, points
/// assigned to blobs in turn, rows shuffled): N × D points and their blob
/// labels, reproducible from `seed`. The benchmarks and tests use it.
pub fn blobs(
    n: usize,
    d: usize,
    k: usize,
    std: f64,
    seed: u64,
) -> (ndarray::Array2<f64>, ndarray::Array1<usize>) {
    use rand::Rng;
    use rand::seq::SliceRandom;
    let mut rng = elbo_core::rng::seeded(seed);
    let k = k.max(1);
    let centers: Vec<f64> = (0..k * d)
        .map(|_| rng.random::<f64>() * 20.0 - 10.0)
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let mut x = ndarray::Array2::zeros((n, d));
    let mut labels = ndarray::Array1::zeros(n);
    for (i, &row) in order.iter().enumerate() {
        let c = i % k;
        labels[row] = c;
        for j in 0..d {
            let z: f64 = rng.sample(rand_distr::StandardNormal);
            x[[row, j]] = centers[c * d + j] + std * z;
        }
    }
    (x, labels)
}

/// Checks every mixture model runs on its training data before the first
/// iteration: non-empty, finite, 1 ≤ K ≤ N.
pub(crate) fn check_data(x: ArrayView2<f64>, k: usize) -> Result<()> {
    let (n, d) = x.dim();
    if n == 0 || d == 0 {
        return Err(CoreError::Data(format!("the data are empty ({n} rows, {d} columns)")).into());
    }
    if k == 0 {
        return Err(CoreError::invalid("k", k, "at least 1").into());
    }
    if k > n {
        return Err(CoreError::invalid("k", k, "at most the number of points N").into());
    }
    if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(CoreError::Data(format!(
            "row {}, column {} is not finite ({v})",
            i / d + 1,
            i % d + 1
        ))
        .into());
    }
    Ok(())
}

/// Whether a column with population variance `var` and mean `mean` is
/// constant (as `elbo_core::data::Standardizer`: std ≤ 1e-12 (1 + |mean|)).
pub(crate) fn is_constant(var: f64, mean: f64) -> bool {
    var.sqrt() <= 1e-12 * (1.0 + mean.abs()) || var.is_nan()
}

/// Checks points to evaluate (predict, score) against a model of dimension D.
pub(crate) fn check_points(x: ArrayView2<f64>, d: usize) -> Result<()> {
    if x.ncols() != d {
        return Err(CoreError::Shape(format!(
            "the model was fitted on {d} columns but the data have {}",
            x.ncols()
        ))
        .into());
    }
    if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(CoreError::Data(format!(
            "row {}, column {} is not finite ({v})",
            i / d + 1,
            i % d + 1
        ))
        .into());
    }
    Ok(())
}
