//! The CAVI loop (one shape for every restart, as scikit-learn's
//! `_base.py`) and the fitted model.

use ndarray::{Array1, Array2, Array3, ArrayView2};

use super::super::distributed::{self, Allreduce, Layout, Local};
use super::super::kernel::e_step;
use super::super::{check_points, predictive};
use super::bound::{BoundTerms, bound_terms};
use super::params::VgmmValidParams;
use super::posterior::{GmmPrior, Posterior, WeightPosterior};
use crate::Result;
use elbo_core::{BoundMonitor, Status};

/// One restart of CAVI in progress: the state after the initial M-step or
/// after some iterations. [`step`](Self::step) runs one more iteration; the
/// accessors show the current q (for plots of the fit as it runs, PRML Fig 10.6).
#[derive(Debug, Clone)]
pub struct VgmmState<'a> {
    x: ArrayView2<'a, f64>,
    /// The sum over processes (the identity for one process).
    red: &'a dyn Allreduce,
    prior: GmmPrior,
    post: Posterior,
    terms: BoundTerms,
    monitor: BoundMonitor,
    run_all: bool,
    max_iter: usize,
    done: bool,
    converged: bool,
}

impl<'a> VgmmState<'a> {
    /// Collective when distributed: `x` is this process's shard of the
    /// rows laid out as `layout`; with [`Local`] and [`Layout::single`] the
    /// single-process fit.
    pub(crate) fn new(
        p: &VgmmValidParams,
        prior: GmmPrior,
        x: ArrayView2<'a, f64>,
        layout: &Layout,
        red: &'a dyn Allreduce,
        restart: u64,
    ) -> Result<Self> {
        let mut rng = elbo_core::rng::seeded(p.seed().wrapping_add(restart));
        let (centers, labels) =
            distributed::kmeans(x, layout, p.k(), p.init_iter(), &mut rng, red)?;
        // Initial q(Z): the k-means labels as hard responsibilities, then
        // the M-step (scikit-learn's `init_params="kmeans"`).
        let stats = distributed::label_stats(x, &labels, centers, red)?;
        let post = Posterior::update(&prior, &stats)?;
        let terms = bound_terms(&prior, &post, &stats);
        Ok(Self {
            x,
            red,
            prior,
            post,
            terms,
            monitor: BoundMonitor::new(p.tol(), p.max_iter())?,
            run_all: p.tol() == 0.0,
            max_iter: p.max_iter(),
            done: false,
            converged: false,
        })
    }

    /// One CAVI iteration: the E-step (PRML 10.46–10.49, responsibilities
    /// r_nk under the current q(π, μ, Λ)) fused with the statistics
    /// (10.51–10.53), the M-step (10.58, 10.60–10.63), and the bound
    /// (10.70–10.77), which is returned. The bound never decreases: a
    /// decrease beyond 1e-9 relative is an error (a bug).
    pub fn step(&mut self) -> Result<f64> {
        let mut stats = e_step(self.x, &self.post.components(&self.prior), None);
        stats.allreduce(self.red)?;
        self.post = Posterior::update(&self.prior, &stats)?;
        self.terms = bound_terms(&self.prior, &self.post, &stats);
        let bound = self.terms.total();
        match self.monitor.push(bound)? {
            Status::Continue => {}
            Status::Converged => {
                if !self.run_all {
                    self.done = true;
                    self.converged = true;
                }
            }
            Status::MaxIter => self.done = true,
        }
        // With tol = 0 an unchanged bound is reported as Converged and
        // ignored; the budget still ends the run.
        if self.monitor.n_iter() >= self.max_iter {
            self.done = true;
        }
        Ok(bound)
    }

    /// Whether the restart has converged or spent its budget.
    pub fn done(&self) -> bool {
        self.done
    }
    /// Iterations run so far.
    pub fn n_iter(&self) -> usize {
        self.monitor.n_iter()
    }
    /// The bound after every iteration so far.
    pub fn elbo_trace(&self) -> &[f64] {
        self.monitor.trace()
    }
    /// The current bound (after the initial M-step: with the hard k-means q(Z)).
    pub fn elbo(&self) -> f64 {
        self.terms.total()
    }
    /// The seven terms of the current bound (PRML 10.71–10.77).
    pub fn bound_terms(&self) -> BoundTerms {
        self.terms
    }
    /// PRML (10.61): m_k, K × D.
    pub fn m_k(&self) -> &Array2<f64> {
        &self.post.m
    }
    /// (ν_k W_k)⁻¹, the inverse of E\[Λ_k\] (B.80), K × D × D: the ellipses of a plot.
    pub fn covariances(&self) -> Array3<f64> {
        self.post.covariances()
    }
    /// E\[π_k\].
    pub fn weights(&self) -> Array1<f64> {
        self.post.weights.expected()
    }

    /// Finish: one last E-step for r_nk (this process's rows) under the final q(π, μ, Λ).
    pub(crate) fn into_fit(self, restart_bounds: Vec<f64>) -> VgmmFit {
        let (n, k) = (self.x.nrows(), self.post.n_components());
        let mut r = Array2::zeros((n, k));
        e_step(
            self.x,
            &self.post.components(&self.prior),
            Some(r.view_mut()),
        );
        let converged = self.converged;
        VgmmFit {
            prior: self.prior,
            post: self.post,
            r_nk: r,
            terms: self.terms,
            trace: self.monitor.into_trace(),
            converged,
            restart_bounds,
        }
    }
}

pub(crate) fn fit_impl(
    p: &VgmmValidParams,
    x: ArrayView2<f64>,
    on_iter: &mut dyn FnMut(usize, usize, f64),
) -> Result<VgmmFit> {
    let prior = p.resolve_prior(x)?;
    fit_core(p, prior, x, &Layout::single(x.nrows()), &Local, on_iter)
}

/// The restarts and the CAVI loop, for one process or many.
pub(crate) fn fit_core<'a>(
    p: &VgmmValidParams,
    prior: GmmPrior,
    x: ArrayView2<'a, f64>,
    layout: &Layout,
    red: &'a dyn Allreduce,
    on_iter: &mut dyn FnMut(usize, usize, f64),
) -> Result<VgmmFit> {
    let mut best: Option<VgmmState> = None;
    let mut bounds = Vec::with_capacity(p.n_init());
    for restart in 0..p.n_init() as u64 {
        let mut st = VgmmState::new(p, prior.clone(), x, layout, red, restart)?;
        while !st.done() {
            let bound = st.step()?;
            on_iter(restart as usize, st.n_iter(), bound);
        }
        let b = st.elbo();
        bounds.push(b);
        if best.as_ref().is_none_or(|s| b > s.elbo()) {
            best = Some(st);
        }
    }
    // n_init ≥ 1 was checked, so at least one restart ran.
    let best = best.expect("n_init >= 1");
    Ok(best.into_fit(bounds))
}

/// A fitted variational Bayesian Gaussian mixture: q(Z) q(π) q(μ, Λ) with
/// PRML's names (10.48, 10.57, 10.59), the bound trace and the predictive
/// density.
#[derive(Debug, Clone)]
pub struct VgmmFit {
    prior: GmmPrior,
    post: Posterior,
    r_nk: Array2<f64>,
    terms: BoundTerms,
    trace: Vec<f64>,
    converged: bool,
    restart_bounds: Vec<f64>,
}

impl VgmmFit {
    /// The prior as used, defaults from the data included.
    pub fn prior(&self) -> &GmmPrior {
        &self.prior
    }
    /// q(π): Dirichlet α_k or stick-breaking (a_k, b_k).
    pub fn weight_posterior(&self) -> &WeightPosterior {
        &self.post.weights
    }
    /// PRML (10.58): α_k = α₀ + N_k, for the Dirichlet prior (`None` for the
    /// Dirichlet process; see [`weight_posterior`](Self::weight_posterior)).
    pub fn alpha_k(&self) -> Option<&Array1<f64>> {
        match &self.post.weights {
            WeightPosterior::Dirichlet { alpha } => Some(alpha),
            WeightPosterior::StickBreaking { .. } => None,
        }
    }
    /// PRML (10.60): β_k = β₀ + N_k.
    pub fn beta_k(&self) -> &Array1<f64> {
        &self.post.beta
    }
    /// PRML (10.61): m_k = (β₀ m₀ + N_k x̄_k) / β_k, K × D.
    pub fn m_k(&self) -> &Array2<f64> {
        &self.post.m
    }
    /// PRML (10.62): W_k, K × D × D (diagonal for diagonal precisions).
    pub fn w_k(&self) -> &Array3<f64> {
        &self.post.w
    }
    /// PRML (10.63): ν_k = ν₀ + N_k.
    pub fn nu_k(&self) -> &Array1<f64> {
        &self.post.nu
    }
    /// PRML (10.49): r_nk under the final q(π, μ, Λ), N × K.
    pub fn r_nk(&self) -> &Array2<f64> {
        &self.r_nk
    }
    /// E\[π_k\]: α_k / α̂ (PRML B.17), or E\[v_k\] Π_{j<k}(1 − E\[v_j\]) for the
    /// Dirichlet process.
    pub fn weights(&self) -> Array1<f64> {
        self.post.weights.expected()
    }
    /// The number of components with E\[π_k\] > `threshold` (0.01 in PRML Fig 10.6).
    pub fn effective_components(&self, threshold: f64) -> usize {
        self.weights().iter().filter(|&&w| w > threshold).count()
    }
    /// (ν_k W_k)⁻¹, the inverse of E\[Λ_k\] (B.80), K × D × D (scikit-learn's `covariances_`).
    pub fn covariances(&self) -> Array3<f64> {
        self.post.covariances()
    }
    /// The bound (PRML 10.70) after every iteration of the best restart.
    pub fn elbo_trace(&self) -> &[f64] {
        &self.trace
    }
    /// The final bound (PRML 10.70), every constant included.
    pub fn elbo(&self) -> f64 {
        self.terms.total()
    }
    /// The bound plus ln K!, the correction for the K! equivalent modes of
    /// the posterior used to compare K (PRML §10.2.4, Fig 10.7).
    pub fn elbo_with_ln_k_factorial(&self) -> f64 {
        let k = self.post.n_components();
        self.elbo() + (1..=k).map(|i| (i as f64).ln()).sum::<f64>()
    }
    /// The seven terms of the final bound (PRML 10.71–10.77).
    pub fn bound_terms(&self) -> BoundTerms {
        self.terms
    }
    /// The final bound of every restart, in order.
    pub fn restart_bounds(&self) -> &[f64] {
        &self.restart_bounds
    }
    /// Whether the best restart met the tolerance (not converging is not an error).
    pub fn converged(&self) -> bool {
        self.converged
    }
    /// Iterations run by the best restart.
    pub fn n_iter(&self) -> usize {
        self.trace.len()
    }
    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.post.dim()
    }

    /// PRML (10.81): ln p(x̂ | X) ≈ ln Σ_k (α_k/α̂) St(x̂ | m_k, L_k, ν_k + 1 − D), with
    /// L_k = ((ν_k + 1 − D) β_k / (1 + β_k)) W_k (10.82): the predictive
    /// density of each row of `x` (not a plug-in estimate). For the Dirichlet
    /// process the weights are E\[π_k\]; for diagonal precisions each
    /// component is a product of one-dimensional Student-t densities.
    ///
    /// # Errors
    /// Wrong number of columns or non-finite values.
    pub fn log_predictive(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        check_points(x, self.dim())?;
        Ok(predictive::log_predictive(&self.prior, &self.post, x))
    }

    /// The mean of [`log_predictive`](Self::log_predictive) over the rows of
    /// `x`: the held-out log-likelihood per point.
    pub fn heldout_loglik_per_point(&self, x: ArrayView2<f64>) -> Result<f64> {
        let lp = self.log_predictive(x)?;
        Ok(lp.mean().unwrap_or(f64::NAN))
    }

    /// The responsibilities (PRML 10.49) of new points under the fitted q, N × K.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        check_points(x, self.dim())?;
        let mut r = Array2::zeros((x.nrows(), self.post.n_components()));
        e_step(x, &self.post.components(&self.prior), Some(r.view_mut()));
        Ok(r)
    }

    /// The most responsible component of each row of `x`.
    pub fn predict(&self, x: ArrayView2<f64>) -> Result<Array1<usize>> {
        let r = self.predict_proba(x)?;
        Ok(r.outer_iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                    )
                    .0
            })
            .collect())
    }

    /// The E-step normaliser Σ_n ln Σ_k ρ_nk minus KL(q(π,μ,Λ) ‖ p(π,μ,Λ)) on `x`: the bound
    /// with q(Z) at its optimum for the fitted globals (PRML 10.49, 10.70).
    /// On the training data it is ≥ [`elbo`](Self::elbo).
    pub fn elbo_on(&self, x: ArrayView2<f64>) -> Result<f64> {
        check_points(x, self.dim())?;
        let st = e_step(x, &self.post.components(&self.prior), None);
        Ok(st.log_norm - super::bound::kl_globals(&self.prior, &self.post))
    }
}
