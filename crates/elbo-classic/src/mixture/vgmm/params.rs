//! Hyper-parameters of [`Vgmm`](super::Vgmm): the builder, its validation,
//! and the priors taken from the data as scikit-learn does.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::super::distributed::{self, Allreduce, Layout, Local};
use super::super::linalg::{cholesky, spd_inverse_from_chol};
use super::super::{CovarianceType, Prior, check_data};
use super::fit::{VgmmFit, VgmmState, fit_core, fit_impl};
use super::posterior::GmmPrior;
use crate::Result;
use elbo_core::Error as CoreError;

/// Default relative tolerance on the bound (`elbo_core::BoundMonitor`).
pub(crate) const DEFAULT_TOL: f64 = 1e-8;
/// Default iteration budget.
pub(crate) const DEFAULT_MAX_ITER: usize = 500;
/// Default number of Lloyd iterations after k-means++ seeding.
pub(crate) const DEFAULT_INIT_ITER: usize = 10;

/// Hyper-parameters of the variational Bayesian Gaussian mixture (PRML
/// §10.2): the builder returned by [`Vgmm::params`](super::Vgmm::params).
///
/// Defaults follow scikit-learn's `BayesianGaussianMixture`: a Dirichlet
/// prior with α₀ = 1/K, β₀ = 1, m₀ = the mean of X, W₀⁻¹ = the covariance of
/// X (`np.cov`, N − 1; the per-column variance, N, for diagonal
/// precisions), ν₀ = D; k-means initialisation. The values used are stored
/// in the fit ([`VgmmFit::prior`](super::VgmmFit::prior)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VgmmParams {
    k: usize,
    prior: Prior,
    covariance: CovarianceType,
    beta0: f64,
    m0: Option<Array1<f64>>,
    w0: Option<Array2<f64>>,
    nu0: Option<f64>,
    tol: f64,
    max_iter: usize,
    n_init: usize,
    init_iter: usize,
    seed: u64,
}

impl VgmmParams {
    /// K components, every other setting at its default.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            prior: Prior::Dirichlet {
                alpha0: 1.0 / k.max(1) as f64,
            },
            covariance: CovarianceType::Full,
            beta0: 1.0,
            m0: None,
            w0: None,
            nu0: None,
            tol: DEFAULT_TOL,
            max_iter: DEFAULT_MAX_ITER,
            n_init: 1,
            init_iter: DEFAULT_INIT_ITER,
            seed: 0,
        }
    }

    /// PRML (10.39): a symmetric Dirichlet prior Dir(π | α₀) on the weights, α₀ > 0.
    pub fn with_alpha0(mut self, alpha0: f64) -> Self {
        self.prior = Prior::Dirichlet { alpha0 };
        self
    }

    /// The prior on the weights: Dirichlet (PRML 10.39) or truncated
    /// stick-breaking Dirichlet process (Blei & Jordan 2006).
    pub fn with_prior(mut self, prior: Prior) -> Self {
        self.prior = prior;
        self
    }

    /// Full (PRML 10.40) or diagonal precisions.
    pub fn with_covariance(mut self, covariance: CovarianceType) -> Self {
        self.covariance = covariance;
        self
    }

    /// PRML (10.40): β₀ > 0, the precision scale of the prior on the means.
    pub fn with_beta0(mut self, beta0: f64) -> Self {
        self.beta0 = beta0;
        self
    }

    /// PRML (10.40): m₀, the prior mean of the means (default: the mean of X).
    pub fn with_m0(mut self, m0: Array1<f64>) -> Self {
        self.m0 = Some(m0);
        self
    }

    /// PRML (10.40): W₀, the Wishart scale, symmetric positive definite
    /// (default: the inverse covariance of X).
    pub fn with_w0(mut self, w0: Array2<f64>) -> Self {
        self.w0 = Some(w0);
        self
    }

    /// PRML (10.40): ν₀ > D − 1 (full) or > 0 (diag), the Wishart degrees of
    /// freedom (default: D).
    pub fn with_nu0(mut self, nu0: f64) -> Self {
        self.nu0 = Some(nu0);
        self
    }

    /// Relative change of the bound below which the fit has converged,
    /// |L_t − L_{t−1}| ≤ tol · max(1, |L_t|); tol = 0 runs exactly
    /// `max_iter` iterations (scikit-learn's `tol=0`).
    pub fn with_tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// The iteration budget per restart (≥ 1).
    pub fn with_max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Restarts from different k-means++ seeds (≥ 1); the best bound is kept.
    pub fn with_n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Lloyd iterations after k-means++ seeding (0: seeding only).
    pub fn with_init_iter(mut self, init_iter: usize) -> Self {
        self.init_iter = init_iter;
        self
    }

    /// The seed of the initialisation (restart i uses seed + i).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Validate every setting that does not need the data: K ≥ 1, α₀ > 0 or
    /// γ > 0, β₀ > 0, ν₀ finite, finite tol ≥ 0, max_iter ≥ 1, n_init ≥ 1.
    pub fn check(&self) -> Result<VgmmValidParams> {
        if self.k == 0 {
            return Err(CoreError::invalid("k", self.k, "at least 1").into());
        }
        match self.prior {
            Prior::Dirichlet { alpha0 } if !(alpha0 > 0.0 && alpha0.is_finite()) => {
                return Err(
                    CoreError::invalid("alpha0", alpha0, "finite and greater than 0").into(),
                );
            }
            Prior::DirichletProcess { gamma } if !(gamma > 0.0 && gamma.is_finite()) => {
                return Err(CoreError::invalid("gamma", gamma, "finite and greater than 0").into());
            }
            _ => {}
        }
        if !(self.beta0 > 0.0 && self.beta0.is_finite()) {
            return Err(
                CoreError::invalid("beta0", self.beta0, "finite and greater than 0").into(),
            );
        }
        if let Some(nu0) = self.nu0 {
            if !nu0.is_finite() {
                return Err(CoreError::invalid("nu0", nu0, "finite").into());
            }
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(CoreError::invalid("tol", self.tol, "finite and >= 0").into());
        }
        if self.max_iter == 0 {
            return Err(CoreError::invalid("max_iter", self.max_iter, "at least 1").into());
        }
        if self.n_init == 0 {
            return Err(CoreError::invalid("n_init", self.n_init, "at least 1").into());
        }
        Ok(VgmmValidParams(self.clone()))
    }

    /// [`check`](Self::check), then [`VgmmValidParams::fit`].
    pub fn fit(&self, x: ArrayView2<f64>) -> Result<VgmmFit> {
        self.check()?.fit(x)
    }

    /// [`check`](Self::check), then [`VgmmValidParams::fit_with`].
    pub fn fit_with(
        &self,
        x: ArrayView2<f64>,
        on_iter: impl FnMut(usize, usize, f64),
    ) -> Result<VgmmFit> {
        self.check()?.fit_with(x, on_iter)
    }
}

/// Validated hyper-parameters of [`Vgmm`](super::Vgmm).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VgmmValidParams(VgmmParams);

impl VgmmValidParams {
    /// The number of components K.
    pub fn k(&self) -> usize {
        self.0.k
    }
    /// The prior on the weights.
    pub fn prior(&self) -> Prior {
        self.0.prior
    }
    /// Full or diagonal precisions.
    pub fn covariance(&self) -> CovarianceType {
        self.0.covariance
    }
    /// The relative tolerance.
    pub fn tol(&self) -> f64 {
        self.0.tol
    }
    /// The iteration budget per restart.
    pub fn max_iter(&self) -> usize {
        self.0.max_iter
    }
    /// The number of restarts.
    pub fn n_init(&self) -> usize {
        self.0.n_init
    }
    /// Lloyd iterations of the initialisation.
    pub fn init_iter(&self) -> usize {
        self.0.init_iter
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }

    /// Fit to `x` (N × D): `n_init` restarts of CAVI from k-means++, each
    /// until the bound converges or `max_iter` iterations, keeping the best
    /// final bound. Data checks (finite, 1 ≤ K ≤ N, shapes of m₀ and W₀,
    /// ν₀ > D − 1, no constant column when W₀ comes from the data) run first.
    ///
    /// # Errors
    /// Invalid data or priors ([`elbo_core::Error`]); a decreasing bound
    /// ([`elbo_core::Error::BoundDecreased`], a bug); a numerical failure.
    pub fn fit(&self, x: ArrayView2<f64>) -> Result<VgmmFit> {
        fit_impl(self, x, &mut |_, _, _| {})
    }

    /// [`fit`](Self::fit), calling `on_iter(restart, iteration, bound)` after
    /// every CAVI iteration of every restart (for a progress display).
    pub fn fit_with(
        &self,
        x: ArrayView2<f64>,
        mut on_iter: impl FnMut(usize, usize, f64),
    ) -> Result<VgmmFit> {
        fit_impl(self, x, &mut on_iter)
    }

    /// Start one restart (`restart` picks the seed: seed + restart) and
    /// return the state after the initial M-step, to be advanced one CAVI
    /// iteration at a time with [`VgmmState::step`].
    pub fn init<'a>(&self, x: ArrayView2<'a, f64>, restart: u64) -> Result<VgmmState<'a>> {
        let prior = self.resolve_prior(x)?;
        VgmmState::new(self, prior, x, &Layout::single(x.nrows()), &Local, restart)
    }

    /// [`fit_with`](Self::fit_with) on data spread over several processes:
    /// `x` is this process's shard, laid out as `layout` (built with
    /// [`Layout::gather`]), and `red` sums across the processes. Collective:
    /// every process calls it with the same parameters. The result equals
    /// the single-process fit of the rows concatenated in the layout's
    /// global order with the same seed (the same k-means++ draws and
    /// sums, up to the rounding of their order), bound for bound;
    /// [`VgmmFit::r_nk`] holds this process's rows only. The default m₀ and
    /// W₀ come from the moments of all rows.
    ///
    /// # Errors
    /// As [`fit`](Self::fit), on every process: a process whose shard is
    /// bad (non-finite values, another dimension) reports it and the others
    /// report that a process failed.
    pub fn fit_distributed<'a>(
        &self,
        x: ArrayView2<'a, f64>,
        layout: &Layout,
        red: &'a dyn Allreduce,
        mut on_iter: impl FnMut(usize, usize, f64),
    ) -> Result<VgmmFit> {
        let prior = self.resolve_prior_distributed(x, layout, red)?;
        fit_core(self, prior, x, layout, red, &mut on_iter)
    }

    /// [`resolve_prior`](Self::resolve_prior) over the shards of every
    /// process (collective; checks the shards first with
    /// [`check_shard`](super::super::check_shard)): m₀ and W₀ from the
    /// summed moments of all rows.
    pub fn resolve_prior_distributed(
        &self,
        x: ArrayView2<f64>,
        layout: &Layout,
        red: &dyn Allreduce,
    ) -> Result<GmmPrior> {
        distributed::check_shard(x, self.0.k, layout, red)?;
        let p = &self.0;
        let d = x.ncols();
        let (mean, scatter, n) = distributed::moments(x, layout, red)?;
        let m0 = match &p.m0 {
            Some(m0) if m0.len() != d => {
                return Err(CoreError::Shape(format!(
                    "m0 has {} entries, the data have D = {d}",
                    m0.len()
                ))
                .into());
            }
            Some(m0) => m0.clone(),
            None => mean.clone(),
        };
        let w0 = match &p.w0 {
            Some(w0) => w0.clone(),
            None => w0_from_moments(&mean, &scatter, n, p.covariance)?,
        };
        let nu0 = p.nu0.unwrap_or(d as f64);
        GmmPrior::new(p.prior, p.beta0, m0, w0, nu0, p.covariance)
    }

    /// The prior with the defaults taken from `x` (checks the data first).
    pub fn resolve_prior(&self, x: ArrayView2<f64>) -> Result<GmmPrior> {
        check_data(x, self.0.k)?;
        let p = &self.0;
        let d = x.ncols();
        let m0 = match &p.m0 {
            Some(m0) if m0.len() != d => {
                return Err(CoreError::Shape(format!(
                    "m0 has {} entries, the data have D = {d}",
                    m0.len()
                ))
                .into());
            }
            Some(m0) => m0.clone(),
            None => x
                .mean_axis(Axis(0))
                .ok_or_else(|| CoreError::Data("no rows".into()))?,
        };
        let w0 = match &p.w0 {
            Some(w0) => w0.clone(),
            None => default_w0(x, p.covariance)?,
        };
        let nu0 = p.nu0.unwrap_or(d as f64);
        GmmPrior::new(p.prior, p.beta0, m0, w0, nu0, p.covariance)
    }
}

/// scikit-learn's default W₀: the inverse of the data covariance
/// (`np.cov(X.T)`, divisor N − 1) for full precisions, diag(1 / var) with
/// `np.var(X, axis=0)` (divisor N) for diagonal ones. A constant column has
/// no such inverse: an error naming it.
pub(crate) fn default_w0(x: ArrayView2<f64>, covariance: CovarianceType) -> Result<Array2<f64>> {
    let (n, d) = x.dim();
    let mean = x
        .mean_axis(Axis(0))
        .ok_or_else(|| CoreError::Data("no rows".into()))?;
    let var = x.var_axis(Axis(0), 0.0);
    check_no_constant(&mean, &var)?;
    match covariance {
        CovarianceType::Diag => Ok(Array2::from_diag(&var.mapv(|v| 1.0 / v))),
        CovarianceType::Full => {
            let xc = &x - &mean;
            full_w0(xc.t().dot(&xc), n, d)
        }
    }
}

/// [`default_w0`] from the column means, the scatter matrix
/// Σ (x − x̄)(x − x̄)ᵀ and N (a distributed run's summed moments).
pub(crate) fn w0_from_moments(
    mean: &Array1<f64>,
    scatter: &Array2<f64>,
    n: usize,
    covariance: CovarianceType,
) -> Result<Array2<f64>> {
    let d = mean.len();
    let var = scatter.diag().mapv(|v| v / n as f64);
    check_no_constant(mean, &var)?;
    match covariance {
        CovarianceType::Diag => Ok(Array2::from_diag(&var.mapv(|v| 1.0 / v))),
        CovarianceType::Full => full_w0(scatter.clone(), n, d),
    }
}

fn check_no_constant(mean: &Array1<f64>, var: &Array1<f64>) -> Result<()> {
    let d = mean.len();
    if let Some(j) = (0..d).find(|&j| super::super::is_constant(var[j], mean[j])) {
        return Err(CoreError::Data(format!(
            "column {} is constant (value {}): the default Wishart scale W0 = cov(X)^-1 does not exist; \
             remove the column or set W0 with `with_w0`",
            j + 1,
            mean[j]
        ))
        .into());
    }
    Ok(())
}

/// W₀ = (scatter / (N − 1))⁻¹ (`np.cov`'s divisor).
fn full_w0(scatter: Array2<f64>, n: usize, d: usize) -> Result<Array2<f64>> {
    if n < 2 {
        return Err(CoreError::Data(
            "one point has no covariance to take W0 from; set W0 with `with_w0`".into(),
        )
        .into());
    }
    let cov = scatter / (n as f64 - 1.0);
    let c: Vec<f64> = cov.iter().copied().collect();
    let l = cholesky(&c, d).ok_or(CoreError::NotPositiveDefinite {
        what: "the covariance of the data (the default W0^-1)",
        hint: "some columns are linear combinations of others; remove them or set W0 with `with_w0`",
    })?;
    Ok(Array2::from_shape_vec((d, d), spd_inverse_from_chol(&l, d)).expect("D×D"))
}
