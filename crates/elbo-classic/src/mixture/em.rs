//! Maximum-likelihood EM for Gaussian mixtures (PRML §9.2.2, 9.23–9.28):
//! the baseline the variational mixture generalises (EM is the special case
//! q(Z) = p(Z | X, θ) with θ a point, PRML §9.4).
//!
//! Its weakness is the singularity of PRML §9.2.1: a component that
//! collapses onto one point (Σ_k → 0) sends the likelihood to infinity. EM
//! here detects it and stops with [`Error::Numerical`] naming the remedy —
//! the covariance floor [`EmGmmParams::with_reg_covar`] (scikit-learn's
//! `reg_covar`) or [`Vgmm`](super::Vgmm), whose Wishart prior prevents it.
//!
//! With a floor ε > 0 the update Σ_k = S_k + εI (scikit-learn's) is the exact
//! M-step of the smoothed objective
//! ℓ_ε(θ) = Σ_n ln Σ_k π_k N(x_n | μ_k, Σ_k) exp(−(ε/2) Tr Σ_k⁻¹),
//! whose responsibilities use the same factor; that objective is traced and
//! never decreases (ε = 0 is the likelihood 9.28 itself).

use std::f64::consts::PI;

use ndarray::{Array1, Array2, Array3, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::kernel::{Components, e_step, log_norm_per_point};
use super::linalg::{cholesky, inv_lower};
use super::stats::SuffStats;
use super::{CovarianceType, check_data, check_points, is_constant};
use crate::kmeans::kmeans;
use crate::{Error, Result};
use elbo_core::Error as CoreError;
use elbo_core::{BoundMonitor, Status};

/// A component whose Cholesky pivot (conditional variance) falls below this
/// fraction of the data's variance in that coordinate has collapsed
/// (checked only without a covariance floor).
const SINGULAR_REL: f64 = 1e-10;

/// Maximum-likelihood EM for Gaussian mixtures (PRML §9.2): the entry point.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmGmm;

impl EmGmm {
    /// The builder for K components (see [`EmGmmParams`]).
    pub fn params(k: usize) -> EmGmmParams {
        EmGmmParams::new(k)
    }
}

/// Settings of EM for Gaussian mixtures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmGmmParams {
    k: usize,
    covariance: CovarianceType,
    reg_covar: f64,
    tol: f64,
    max_iter: usize,
    n_init: usize,
    init_iter: usize,
    seed: u64,
}

impl EmGmmParams {
    /// K components; full covariances, no covariance floor, tol 1e-8
    /// (relative), at most 500 iterations, one k-means++ start.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            covariance: CovarianceType::Full,
            reg_covar: 0.0,
            tol: 1e-8,
            max_iter: 500,
            n_init: 1,
            init_iter: 10,
            seed: 0,
        }
    }
    /// Full or diagonal covariances Σ_k.
    pub fn with_covariance(mut self, covariance: CovarianceType) -> Self {
        self.covariance = covariance;
        self
    }
    /// The covariance floor ε ≥ 0 added to every Σ_k (scikit-learn's
    /// `reg_covar`, whose default is 10⁻⁶; here 0, pure maximum likelihood).
    pub fn with_reg_covar(mut self, reg_covar: f64) -> Self {
        self.reg_covar = reg_covar;
        self
    }
    /// Relative change of the log-likelihood that counts as converged; 0
    /// runs exactly `max_iter` iterations.
    pub fn with_tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// The iteration budget (≥ 1).
    pub fn with_max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }
    /// Restarts (≥ 1); the highest final log-likelihood is kept.
    pub fn with_n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }
    /// Lloyd iterations after k-means++ seeding.
    pub fn with_init_iter(mut self, init_iter: usize) -> Self {
        self.init_iter = init_iter;
        self
    }
    /// The seed of the initialisation (restart i uses seed + i).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Validate: K ≥ 1, finite reg_covar ≥ 0, finite tol ≥ 0, max_iter ≥ 1, n_init ≥ 1.
    pub fn check(&self) -> Result<EmGmmValidParams> {
        if self.k == 0 {
            return Err(CoreError::invalid("k", self.k, "at least 1").into());
        }
        if !(self.reg_covar >= 0.0 && self.reg_covar.is_finite()) {
            return Err(CoreError::invalid("reg_covar", self.reg_covar, "finite and >= 0").into());
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
        Ok(EmGmmValidParams(self.clone()))
    }

    /// [`check`](Self::check), then [`EmGmmValidParams::fit`].
    pub fn fit(&self, x: ArrayView2<f64>) -> Result<EmGmmFit> {
        self.check()?.fit(x)
    }

    /// [`check`](Self::check), then [`EmGmmValidParams::fit_with`].
    pub fn fit_with(
        &self,
        x: ArrayView2<f64>,
        on_iter: impl FnMut(usize, usize, f64),
    ) -> Result<EmGmmFit> {
        self.check()?.fit_with(x, on_iter)
    }
}

/// Validated settings of [`EmGmm`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmGmmValidParams(EmGmmParams);

/// θ = (π, μ, Σ) with the Cholesky factors of Σ_k.
#[derive(Debug, Clone)]
struct Theta {
    pi: Array1<f64>,
    mu: Array2<f64>,
    sigma: Array3<f64>,
    chol: Vec<Vec<f64>>,
}

impl Theta {
    /// PRML (9.23)'s quantities: ln ρ_nk = ln π_k + ln N(x_n | μ_k, Σ_k)
    /// − (ε/2) Tr Σ_k⁻¹, with A_k = L_k⁻¹ (Σ_k = L_k L_kᵀ).
    fn components(&self, diag: bool, reg: f64) -> Components {
        let (k, d) = self.mu.dim();
        let mut factor = Vec::with_capacity(k * d * d);
        let mut log_const = Vec::with_capacity(k);
        for c in 0..k {
            let l = &self.chol[c];
            let li = inv_lower(l, d);
            let half_ln_det: f64 = (0..d).map(|j| l[j * d + j].ln()).sum();
            let tr_inv: f64 = li.iter().map(|v| v * v).sum();
            log_const.push(
                self.pi[c].ln()
                    - 0.5 * d as f64 * (2.0 * PI).ln()
                    - half_ln_det
                    - 0.5 * reg * tr_inv,
            );
            if diag {
                factor.extend((0..d).map(|j| li[j * d + j]));
            } else {
                factor.extend(li);
            }
        }
        Components {
            k,
            d,
            diag,
            mean: self.mu.iter().copied().collect(),
            factor,
            log_const,
        }
    }
}

/// The M-step (PRML 9.24–9.27): N_k = Σ r_nk, μ_k = (1/N_k) Σ r_nk x_n,
/// Σ_k = (1/N_k) Σ r_nk (x_n − μ_k)(x_n − μ_k)ᵀ + εI, π_k = N_k / N. A
/// component with N_k = 0 keeps its μ_k, Σ_k (with π_k = 0 they do not
/// affect the likelihood). A collapse (Σ_k singular, §9.2.1) is an error.
fn m_step(
    st: &SuffStats,
    prev: &Theta,
    diag: bool,
    reg: f64,
    data_var: &Array1<f64>,
) -> Result<Theta> {
    let (k, d) = (st.n_components(), st.dim());
    let n: f64 = st.n_points;
    let mut th = prev.clone();
    let means = st.means();
    for c in 0..k {
        let nk = st.nk[c];
        th.pi[c] = nk / n;
        if nk <= 0.0 || nk.is_nan() {
            continue;
        }
        th.mu.row_mut(c).assign(&means.row(c));
        let scatter = st.scatter(c);
        let mut s = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                if diag && i != j {
                    continue;
                }
                s[i * d + j] = scatter[[i, j]] / nk + if i == j { reg } else { 0.0 };
            }
        }
        let collapsed = || Error::Numerical {
            what: "EM's covariance update (PRML 9.25)",
            hint: "a component collapsed onto a single point: its covariance determinant went to 0 and the \
                   likelihood to infinity (PRML §9.2.1); set a covariance floor with `with_reg_covar(1e-6)` \
                   or use `Vgmm`, whose Wishart prior prevents the collapse",
        };
        let l = cholesky(&s, d).ok_or_else(collapsed)?;
        if reg == 0.0 && (0..d).any(|j| l[j * d + j] * l[j * d + j] <= SINGULAR_REL * data_var[j]) {
            return Err(collapsed());
        }
        for i in 0..d {
            for j in 0..d {
                th.sigma[[c, i, j]] = s[i * d + j];
            }
        }
        th.chol[c] = l;
    }
    Ok(th)
}

struct Run {
    theta: Theta,
    trace: Vec<f64>,
    converged: bool,
}

impl EmGmmValidParams {
    /// Fit by EM from k-means++ (`n_init` restarts, the highest final
    /// log-likelihood kept). The traced objective never decreases
    /// (`elbo_core::BoundMonitor`).
    ///
    /// # Errors
    /// Bad data (empty, non-finite, K > N, a constant column without a
    /// floor); the singularity of PRML §9.2.1 as [`Error::Numerical`].
    pub fn fit(&self, x: ArrayView2<f64>) -> Result<EmGmmFit> {
        self.fit_with(x, |_, _, _| {})
    }

    /// [`fit`](Self::fit), calling `on_iter(restart, iteration, log-likelihood)`
    /// after every EM iteration of every restart (for a progress display).
    pub fn fit_with(
        &self,
        x: ArrayView2<f64>,
        mut on_iter: impl FnMut(usize, usize, f64),
    ) -> Result<EmGmmFit> {
        let p = &self.0;
        check_data(x, p.k)?;
        let d = x.ncols();
        let diag = p.covariance == CovarianceType::Diag;
        let mean = x
            .mean_axis(Axis(0))
            .ok_or_else(|| CoreError::Data("no rows".into()))?;
        let var = x.var_axis(Axis(0), 0.0);
        if p.reg_covar == 0.0 {
            if let Some(j) = (0..d).find(|&j| is_constant(var[j], mean[j])) {
                return Err(CoreError::Data(format!(
                    "column {} is constant (value {}): every EM covariance would be singular; remove the \
                     column or set a covariance floor with `with_reg_covar`",
                    j + 1,
                    mean[j]
                ))
                .into());
            }
        }
        let mut best: Option<Run> = None;
        for restart in 0..p.n_init as u64 {
            let run = self.run(x, restart, diag, &var, &mut on_iter)?;
            let last = run.trace.last().copied().unwrap_or(f64::NEG_INFINITY);
            if best
                .as_ref()
                .is_none_or(|b| last > b.trace.last().copied().unwrap_or(f64::NEG_INFINITY))
            {
                best = Some(run);
            }
        }
        // n_init ≥ 1 was checked.
        let best = best.expect("n_init >= 1");
        let mut r = Array2::zeros((x.nrows(), p.k));
        let st = e_step(
            x,
            &best.theta.components(diag, p.reg_covar),
            Some(r.view_mut()),
        );
        Ok(EmGmmFit {
            objective: st.log_norm,
            theta: best.theta,
            r_nk: r,
            trace: best.trace,
            converged: best.converged,
            diag,
            reg_covar: p.reg_covar,
        })
    }

    fn run(
        &self,
        x: ArrayView2<f64>,
        restart: u64,
        diag: bool,
        var: &Array1<f64>,
        on_iter: &mut dyn FnMut(usize, usize, f64),
    ) -> Result<Run> {
        let p = &self.0;
        let (k, d) = (p.k, x.ncols());
        let mut rng = elbo_core::rng::seeded(p.seed.wrapping_add(restart));
        let km = kmeans(x, k, p.init_iter, &mut rng)?;
        // Before the first M-step: the k-means centres and the data's
        // covariance (only kept by a component that gets no point).
        let mut cov = vec![0.0; d * d];
        for j in 0..d {
            cov[j * d + j] = var[j].max(f64::MIN_POSITIVE) + p.reg_covar;
        }
        let chol0 = cholesky(&cov, d).ok_or(Error::Numerical {
            what: "the initial covariance",
            hint: "check the data",
        })?;
        let mut sigma = Array3::zeros((k, d, d));
        for c in 0..k {
            for j in 0..d {
                sigma[[c, j, j]] = cov[j * d + j];
            }
        }
        let init = Theta {
            pi: Array1::from_elem(k, 1.0 / k as f64),
            mu: km.centers.clone(),
            sigma,
            chol: vec![chol0; k],
        };
        let stats = SuffStats::from_labels(x, &km.labels.to_vec(), km.centers);
        let mut theta = m_step(&stats, &init, diag, p.reg_covar, var)?;
        let mut monitor = BoundMonitor::new(p.tol, p.max_iter)?;
        let mut converged = false;
        loop {
            // E-step (9.23) fused with the statistics; log_norm = ℓ(θ) (9.28).
            let st = e_step(x, &theta.components(diag, p.reg_covar), None);
            let status = monitor.push(st.log_norm)?;
            on_iter(restart as usize, monitor.n_iter(), st.log_norm);
            theta = m_step(&st, &theta, diag, p.reg_covar, var)?;
            let done_budget = monitor.n_iter() >= p.max_iter;
            if status == Status::Converged && p.tol > 0.0 {
                converged = true;
                break;
            }
            if done_budget {
                break;
            }
        }
        Ok(Run {
            theta,
            trace: monitor.into_trace(),
            converged,
        })
    }
}

/// A Gaussian mixture fitted by maximum-likelihood EM.
#[derive(Debug, Clone)]
pub struct EmGmmFit {
    theta: Theta,
    r_nk: Array2<f64>,
    trace: Vec<f64>,
    objective: f64,
    converged: bool,
    diag: bool,
    reg_covar: f64,
}

impl EmGmmFit {
    /// PRML (9.26): π_k = N_k / N.
    pub fn weights(&self) -> &Array1<f64> {
        &self.theta.pi
    }
    /// PRML (9.24): μ_k, K × D.
    pub fn means(&self) -> &Array2<f64> {
        &self.theta.mu
    }
    /// PRML (9.25): Σ_k (plus the floor εI), K × D × D.
    pub fn covariances(&self) -> &Array3<f64> {
        &self.theta.sigma
    }
    /// PRML (9.23): γ(z_nk) under the final θ, N × K.
    pub fn r_nk(&self) -> &Array2<f64> {
        &self.r_nk
    }
    /// PRML (9.28): the log-likelihood ln p(X | θ) at each iteration (with a
    /// floor ε > 0, the smoothed objective ℓ_ε of the module docs); never decreases.
    pub fn loglik_trace(&self) -> &[f64] {
        &self.trace
    }
    /// The same trace under the name every model uses (for EM the bound of
    /// PRML 9.70 at q(Z) = p(Z | X, θ) equals the log-likelihood).
    pub fn elbo_trace(&self) -> &[f64] {
        &self.trace
    }
    /// The traced objective at the final θ.
    pub fn objective(&self) -> f64 {
        self.objective
    }
    /// The covariance floor ε used.
    pub fn reg_covar(&self) -> f64 {
        self.reg_covar
    }
    /// Whether the tolerance was met.
    pub fn converged(&self) -> bool {
        self.converged
    }
    /// Iterations run.
    pub fn n_iter(&self) -> usize {
        self.trace.len()
    }
    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.theta.mu.ncols()
    }

    /// PRML (9.7): ln p(x | θ) = ln Σ_k π_k N(x | μ_k, Σ_k) for each row of `x`
    /// (the plug-in density, no smoothing factor).
    pub fn log_density(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        check_points(x, self.dim())?;
        Ok(log_norm_per_point(
            x,
            &self.theta.components(self.diag, 0.0),
        ))
    }

    /// The mean of [`log_density`](Self::log_density) over the rows of `x`.
    pub fn heldout_loglik_per_point(&self, x: ArrayView2<f64>) -> Result<f64> {
        Ok(self.log_density(x)?.mean().unwrap_or(f64::NAN))
    }

    /// PRML (9.23): responsibilities of new points, N × K.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        check_points(x, self.dim())?;
        let mut r = Array2::zeros((x.nrows(), self.theta.pi.len()));
        e_step(
            x,
            &self.theta.components(self.diag, self.reg_covar),
            Some(r.view_mut()),
        );
        Ok(r)
    }
}
