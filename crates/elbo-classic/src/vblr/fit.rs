//! The coordinate-ascent loop of variational linear regression and the
//! fitted model.
//!
//! Each iteration updates q(w) (or q(w, β)) given q(α), then q(α) given it,
//! and records the bound; both updates are exact coordinate maxima, so the
//! bound never decreases ([`BoundMonitor`] turns a decrease into an error).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::Serialize;

use super::bound::{
    BoundTerms, expected_ln_gamma_prior, expected_ln_likelihood_known,
    expected_ln_likelihood_normal_gamma, expected_ln_prior_w, gamma_entropy, gamma_mean_ln,
    gaussian_entropy, normal_gamma_entropy,
};
use super::params::{Noise, VblrParams, VblrValidParams};
use super::stats::{SuffStats, check_data, check_finite_x};
use crate::Result;
use crate::linalg::{gaussian_from_precision, row_quadratic_forms};
use elbo_core::{BoundMonitor, Error as CoreError, Status};

/// A predictive distribution per input row: Gaussian N(t | mean, var)
/// (PRML 10.105–10.106) when β is known, Student-t St(t | mean, 1/var, dof)
/// (PRML 2.159 with precision λ = 1/var; Drugowitsch 2013, §2, predictive
/// density) when β has a Gamma prior.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Predictive {
    /// The predictive mean m_Nᵀφ(x) (+ intercept).
    pub mean: Array1<f64>,
    /// Gaussian: the variance σ²(x) = 1/β + φᵀS_Nφ (PRML 10.106).
    /// Student-t: its squared scale (d_N/c_N)(1 + φᵀVφ); the variance is
    /// var · dof / (dof − 2) for dof > 2.
    pub var: Array1<f64>,
    /// The Student-t's degrees of freedom 2c_N; `None` for a Gaussian.
    pub dof: Option<f64>,
}

/// The CAVI state: q(w) or q(w, β), q(α), and the statistics they read.
#[derive(Debug, Clone)]
pub(crate) struct Cavi<'a> {
    stats: &'a SuffStats,
    p: &'a VblrParams,
    /// Number of α factors: 1 (shared) or M (ARD).
    k: usize,
    /// q(α_k) = Gam(a_N, b_N); empty when α is fixed.
    pub a_n: Array1<f64>,
    pub b_n: Array1<f64>,
    /// E[α_k], E[ln α_k] (the fixed α and ln α when α is known).
    pub e_alpha: Array1<f64>,
    pub e_ln_alpha: Array1<f64>,
    /// q(w) = N(m, S) (known β), or q(w | β) = N(m, β⁻¹V).
    pub m: Array1<f64>,
    pub cov: Array2<f64>,
    pub ln_det_cov: f64,
    /// The diagonal of E[A] that the last update of q(w) used, so that
    /// cov⁻¹ = diag(alpha_used) + s ΦᵀΦ and cov⁻¹ m = s Φᵀt (s = β or 1).
    alpha_used: Array1<f64>,
    /// Σ_i P_ii (P⁻¹)_ii for the last precision P = cov⁻¹: the condition
    /// number that the rounding of ln |P| and of P's diagonal scale with.
    conditioning: f64,
    /// q(β) = Gam(c_N, d_N) under unknown noise.
    pub c_n: f64,
    pub d_n: f64,
}

impl<'a> Cavi<'a> {
    /// The starting point: E[α] = `alpha_init` (or the fixed α) and q(w)
    /// not yet computed; call [`update_w`](Self::update_w) first.
    pub fn new(stats: &'a SuffStats, p: &'a VblrParams) -> Self {
        let m = stats.n_features();
        let k = if p.ard { m } else { 1 };
        let alpha0 = p.fixed_alpha.unwrap_or(p.alpha_init);
        let (a_n, b_n) = if p.fixed_alpha.is_some() {
            (Array1::zeros(0), Array1::zeros(0))
        } else {
            let a = Array1::from_elem(k, p.a0 + 0.5 * (m / k) as f64);
            let b = &a / alpha0;
            (a, b)
        };
        let (c_n, d_n) = match p.noise {
            Noise::Known(_) => (f64::NAN, f64::NAN),
            Noise::Gamma { c0, d0 } => (c0 + 0.5 * stats.n as f64, d0),
        };
        // E[ln α] consistent with q(α) = Gam(a_N, b_N), so that the bound is
        // that of a distribution from the very first update of q(w).
        let e_ln_alpha = if p.fixed_alpha.is_some() {
            Array1::from_elem(k, alpha0.ln())
        } else {
            Array1::from_shape_fn(k, |i| gamma_mean_ln(a_n[i], b_n[i]))
        };
        Self {
            stats,
            p,
            k,
            a_n,
            b_n,
            e_alpha: Array1::from_elem(k, alpha0),
            e_ln_alpha,
            m: Array1::zeros(m),
            cov: Array2::eye(m),
            ln_det_cov: 0.0,
            alpha_used: Array1::zeros(m),
            conditioning: 0.0,
            c_n,
            d_n,
        }
    }

    fn alpha_of(&self, i: usize) -> f64 {
        self.e_alpha[if self.k == 1 { 0 } else { i }]
    }

    fn ln_alpha_of(&self, i: usize) -> f64 {
        self.e_ln_alpha[if self.k == 1 { 0 } else { i }]
    }

    /// E[β] and E[ln β]: the known value, or under q(β) = Gam(c_N, d_N).
    fn beta_moments(&self) -> (f64, f64) {
        match self.p.noise {
            Noise::Known(beta) => (beta, beta.ln()),
            Noise::Gamma { .. } => (self.c_n / self.d_n, gamma_mean_ln(self.c_n, self.d_n)),
        }
    }

    /// mᵀΦᵀΦm and Tr(ΦᵀΦ Σ) for the current q(w) (Σ = S, or V under
    /// unknown noise), from the identities of its last update,
    /// (diag(ā) + sΦᵀΦ) Σ = I and (diag(ā) + sΦᵀΦ) m = sΦᵀt:
    /// s mᵀΦᵀΦm = s mᵀΦᵀt − Σ ā_i m_i² and s Tr(ΦᵀΦΣ) = M − Σ ā_i Σ_ii.
    /// Algebraically the same as the direct sums, but free of their
    /// cancellation when ΦᵀΦ spans many orders of magnitude (the powers
    /// x⁰ … x⁸ of PRML Fig 10.9, whose ΦᵀΦ reaches 10¹²): the direct forms
    /// lose ~1e-9 of the bound there, the size of a CAVI step near the end.
    fn quadratic_terms(&self) -> (f64, f64) {
        let s = match self.p.noise {
            Noise::Known(beta) => beta,
            Noise::Gamma { .. } => 1.0,
        };
        let m_xtt = self.m.dot(&self.stats.xtt);
        let a = &self.alpha_used;
        let shrink: f64 = (0..a.len()).map(|i| a[i] * self.m[i] * self.m[i]).sum();
        let prior_trace: f64 = (0..a.len()).map(|i| a[i] * self.cov[[i, i]]).sum();
        let m_xtx_m = m_xtt - shrink / s;
        let tr_xtx_cov = (a.len() as f64 - prior_trace) / s;
        (m_xtx_m, tr_xtx_cov)
    }

    /// Update q(w) given q(α):
    /// known β — PRML (10.99)–(10.101): S_N⁻¹ = E[A] + βΦᵀΦ, m_N = βS_NΦᵀt
    /// (E[A] = E[α]I, or diag(E[α_i]) under ARD);
    /// unknown β — q(w, β) = N(w | m, β⁻¹V) Gam(β | c_N, d_N) with
    /// V⁻¹ = E[A] + ΦᵀΦ, m = VΦᵀt, c_N = c0 + N/2,
    /// d_N = d0 + ½(‖t − Φm‖² + mᵀE[A]m) (Drugowitsch 2013, §2).
    pub fn update_w(&mut self) -> Result<()> {
        let s = self.stats;
        let m = s.n_features();
        let scale = match self.p.noise {
            Noise::Known(beta) => beta,
            Noise::Gamma { .. } => 1.0,
        };
        let mut precision = &s.xtx * scale;
        let alpha_used = Array1::from_shape_fn(m, |i| self.alpha_of(i));
        for i in 0..m {
            precision[[i, i]] += alpha_used[i];
        }
        let h = &s.xtt * scale;
        let g = gaussian_from_precision(
            &precision,
            h.view(),
            "the posterior precision E[A] + βΦᵀΦ of the weights",
        )?;
        self.m = g.mean;
        self.cov = g.cov;
        self.ln_det_cov = g.ln_det_cov;
        self.alpha_used = alpha_used;
        self.conditioning = (0..m).map(|i| precision[[i, i]] * self.cov[[i, i]]).sum();
        if let Noise::Gamma { d0, .. } = self.p.noise {
            // ‖t − Φm‖² + mᵀE[A]m = tᵀt − mᵀΦᵀt, since V⁻¹m = Φᵀt.
            let rss = (s.ttt - self.m.dot(&s.xtt)).max(0.0);
            self.d_n = d0 + 0.5 * rss;
            if !(self.d_n > 0.0 && self.d_n.is_finite()) {
                return Err(crate::Error::Numerical {
                    what: "the update of q(β)",
                    hint: "the data are fitted exactly (zero residual), so the noise precision \
                           is unbounded; use a known noise precision or d0 > 0",
                });
            }
        }
        Ok(())
    }

    /// Update q(α) given q(w): PRML (10.93)–(10.95),
    /// a_N = a0 + M/2, b_N = b0 + ½ E[wᵀw] with E[wᵀw] = mᵀm + Tr S (10.103);
    /// under ARD a_Ni = a0 + ½, b_Ni = b0 + ½ E[w_i²]; under unknown noise
    /// E[w_i²] becomes E[β w_i²] = E[β] m_i² + V_ii (Drugowitsch 2013, §2 and
    /// the ARD section). E[α] = a_N / b_N, PRML (10.102). No-op when α is fixed.
    pub fn update_alpha(&mut self) {
        if self.p.fixed_alpha.is_some() {
            return;
        }
        let (e_beta, _) = self.beta_moments();
        let m = self.m.len();
        let ew2 = |i: usize| -> f64 {
            match self.p.noise {
                Noise::Known(_) => self.m[i] * self.m[i] + self.cov[[i, i]],
                Noise::Gamma { .. } => e_beta * self.m[i] * self.m[i] + self.cov[[i, i]],
            }
        };
        let mut b = Array1::from_elem(self.k, self.p.b0);
        for i in 0..m {
            b[if self.k == 1 { 0 } else { i }] += 0.5 * ew2(i);
        }
        for k in 0..self.k {
            self.e_alpha[k] = self.a_n[k] / b[k];
            self.e_ln_alpha[k] = gamma_mean_ln(self.a_n[k], b[k]);
        }
        self.b_n = b;
    }

    /// An upper estimate of the rounding error of [`bound`](Self::bound).
    ///
    /// Forming P = E[A] + βΦᵀΦ rounds each P_ii by ε|P_ii|, and Cholesky's
    /// backward error is of the same order, so ln |P| is known to about
    /// κ = ε Σ_i P_ii (P⁻¹)_ii; the sum of the terms adds ε Σ|term|. We take
    /// 4√M κ + 16 ε Σ|term|, a typical-case (not worst-case) estimate: on the
    /// worst case we met (polynomial order 8 of PRML Fig 10.9 with nine of ten
    /// inputs in (−2.6, 1), Σ P_ii (P⁻¹)_ii = 2.4e9) the bound's error against
    /// a 50-digit evaluation was 3e-7 ≈ 0.6 κ, the estimate 6e-6.
    /// Well-conditioned problems give ~1e-13.
    pub fn bound_rounding(&self, terms: &BoundTerms) -> f64 {
        let m = self.m.len() as f64;
        let magnitude = terms.ln_likelihood.abs()
            + terms.ln_prior_w.abs()
            + terms.ln_prior_alpha.abs()
            + terms.ln_prior_beta.abs()
            + terms.entropy_w.abs()
            + terms.entropy_alpha.abs()
            + 0.5 * self.stats.n as f64;
        f64::EPSILON * (4.0 * m.sqrt() * self.conditioning + 16.0 * magnitude)
    }

    /// The bound at the current q, term by term (PRML 10.107–10.112; the
    /// normal-Gamma terms of Drugowitsch 2013 under unknown noise).
    pub fn bound(&self) -> BoundTerms {
        let s = self.stats;
        let m = self.m.len();
        let m_xtt = self.m.dot(&s.xtt);
        let (m_xtx_m, tr_xtx_cov) = self.quadratic_terms();
        let (e_beta, e_ln_beta) = self.beta_moments();
        let mut t = BoundTerms {
            ln_likelihood: 0.0,
            ln_prior_w: 0.0,
            ln_prior_alpha: 0.0,
            ln_prior_beta: 0.0,
            entropy_w: 0.0,
            entropy_alpha: 0.0,
        };
        match self.p.noise {
            Noise::Known(beta) => {
                t.ln_likelihood =
                    expected_ln_likelihood_known(s.n, beta, s.ttt, m_xtt, m_xtx_m, tr_xtx_cov);
                t.ln_prior_w = expected_ln_prior_w(
                    |i| self.alpha_of(i),
                    |i| self.ln_alpha_of(i),
                    |i| self.m[i] * self.m[i] + self.cov[[i, i]],
                    0.0,
                    m,
                );
                t.entropy_w = gaussian_entropy(self.ln_det_cov, m);
            }
            Noise::Gamma { c0, d0 } => {
                let sse = s.ttt - 2.0 * m_xtt + m_xtx_m;
                t.ln_likelihood =
                    expected_ln_likelihood_normal_gamma(s.n, e_beta, e_ln_beta, sse, tr_xtx_cov);
                t.ln_prior_w = expected_ln_prior_w(
                    |i| self.alpha_of(i),
                    |i| self.ln_alpha_of(i),
                    |i| e_beta * self.m[i] * self.m[i] + self.cov[[i, i]],
                    e_ln_beta,
                    m,
                );
                t.ln_prior_beta = expected_ln_gamma_prior(c0, d0, e_beta, e_ln_beta);
                t.entropy_w = normal_gamma_entropy(self.ln_det_cov, m, self.c_n, self.d_n);
            }
        }
        if self.p.fixed_alpha.is_none() {
            for k in 0..self.k {
                t.ln_prior_alpha += expected_ln_gamma_prior(
                    self.p.a0,
                    self.p.b0,
                    self.e_alpha[k],
                    self.e_ln_alpha[k],
                );
                t.entropy_alpha += gamma_entropy(self.a_n[k], self.b_n[k]);
            }
        }
        t
    }
}

/// A fitted variational linear regression: q(w) q(α) (known β) or
/// q(w, β) q(α) (unknown β), with PRML's names.
#[derive(Debug, Clone)]
pub struct VblrFit {
    params: VblrValidParams,
    m_n: Array1<f64>,
    s_n: Array2<f64>,
    v_n: Option<Array2<f64>>,
    a_n: Array1<f64>,
    b_n: Array1<f64>,
    e_alpha: Array1<f64>,
    beta: f64,
    c_n: Option<f64>,
    d_n: Option<f64>,
    terms: BoundTerms,
    trace: Vec<f64>,
    converged: bool,
    n_iter: usize,
}

impl VblrValidParams {
    /// Fit to the design matrix `x` (N × M, row n is φ(x_n)ᵀ; see
    /// [`basis`](crate::basis)) and targets `t` (N).
    pub fn fit(&self, x: ArrayView2<'_, f64>, t: ArrayView1<'_, f64>) -> Result<VblrFit> {
        self.fit_with(x, t, |_, _| {})
    }

    /// [`fit`](Self::fit), calling `on_iter(iteration, bound)` once per
    /// iteration (1-based) with the bound (a progress bar, a log).
    pub fn fit_with(
        &self,
        x: ArrayView2<'_, f64>,
        t: ArrayView1<'_, f64>,
        on_iter: impl FnMut(usize, f64),
    ) -> Result<VblrFit> {
        check_data(x, t)?;
        let stats = SuffStats::from_data(x, t)?;
        self.fit_stats_with(&stats, on_iter)
    }

    /// Fit from sufficient statistics (for example merged across shards).
    pub fn fit_stats(&self, stats: &SuffStats) -> Result<VblrFit> {
        self.fit_stats_with(stats, |_, _| {})
    }

    /// [`fit_stats`](Self::fit_stats) with a per-iteration callback.
    pub fn fit_stats_with(
        &self,
        stats: &SuffStats,
        mut on_iter: impl FnMut(usize, f64),
    ) -> Result<VblrFit> {
        stats.check_fit()?;
        let p = &self.0;
        let mut monitor = BoundMonitor::new(p.tol, p.max_iter)?;
        let mut q = Cavi::new(stats, p);
        let mut at_rounding_floor = false;
        loop {
            let previous = q.clone();
            q.update_w()?;
            q.update_alpha();
            let terms = q.bound();
            let bound = terms.total();
            // A change smaller than the bound's own rounding error is
            // convergence: the bound cannot be evaluated any finer. Keep the
            // better of the two states (the step may read as a decrease).
            if let Some(last) = monitor.last() {
                if (bound - last).abs() <= q.bound_rounding(&terms) {
                    at_rounding_floor = true;
                    if bound < last {
                        q = previous;
                    } else {
                        monitor.push(bound)?;
                        on_iter(monitor.n_iter(), bound);
                    }
                    break;
                }
            }
            let status = monitor.push(bound)?;
            on_iter(monitor.n_iter(), bound);
            if status != Status::Continue {
                break;
            }
        }
        let terms = q.bound();
        let (e_beta, _) = q.beta_moments();
        let (s_n, v_n, c_n, d_n) = match p.noise {
            Noise::Known(_) => (q.cov, None, None, None),
            Noise::Gamma { .. } => (&q.cov / e_beta, Some(q.cov), Some(q.c_n), Some(q.d_n)),
        };
        Ok(VblrFit {
            params: self.clone(),
            m_n: q.m,
            s_n,
            v_n,
            a_n: q.a_n,
            b_n: q.b_n,
            e_alpha: q.e_alpha,
            beta: e_beta,
            c_n,
            d_n,
            terms,
            converged: monitor.converged() || at_rounding_floor,
            n_iter: monitor.n_iter(),
            trace: monitor.into_trace(),
        })
    }
}

impl VblrParams {
    /// Check the hyper-parameters, then [`VblrValidParams::fit`].
    pub fn fit(&self, x: ArrayView2<'_, f64>, t: ArrayView1<'_, f64>) -> Result<VblrFit> {
        self.check()?.fit(x, t)
    }

    /// Check the hyper-parameters, then [`VblrValidParams::fit_with`].
    pub fn fit_with(
        &self,
        x: ArrayView2<'_, f64>,
        t: ArrayView1<'_, f64>,
        on_iter: impl FnMut(usize, f64),
    ) -> Result<VblrFit> {
        self.check()?.fit_with(x, t, on_iter)
    }

    /// Check the hyper-parameters, then [`VblrValidParams::fit_stats`].
    pub fn fit_stats(&self, stats: &SuffStats) -> Result<VblrFit> {
        self.check()?.fit_stats(stats)
    }
}

#[allow(non_snake_case)]
impl VblrFit {
    /// The hyper-parameters used.
    pub fn params(&self) -> &VblrValidParams {
        &self.params
    }

    /// PRML (10.100): m_N = βS_NΦᵀt, the posterior mean of w (under unknown
    /// noise m = VΦᵀt, Drugowitsch 2013).
    pub fn m_n(&self) -> ArrayView1<'_, f64> {
        self.m_n.view()
    }

    /// PRML (10.101): S_N = (E[A] + βΦᵀΦ)⁻¹, the covariance of q(w). Under
    /// unknown noise, V / E[β] = (d_N / c_N) V: the covariance of q(w | β) at
    /// β = E[β], which makes the predictive scale² = 1/E[β] + φᵀS_Nφ.
    pub fn s_n(&self) -> ArrayView2<'_, f64> {
        self.s_n.view()
    }

    /// Drugowitsch's V_N = (E[A] + ΦᵀΦ)⁻¹, q(w | β) = N(m, β⁻¹V_N); `None`
    /// when β is known.
    pub fn v_n(&self) -> Option<ArrayView2<'_, f64>> {
        self.v_n.as_ref().map(|v| v.view())
    }

    /// PRML (10.94): a_N = a0 + M/2 (a0 + ½ per weight under ARD); one
    /// entry when α is shared, M under ARD, none when α is fixed.
    pub fn a_n(&self) -> Array1<f64> {
        self.a_n.clone()
    }

    /// PRML (10.95): b_N = b0 + ½ E[wᵀw] (b0 + ½ E[w_i²] per weight under
    /// ARD; E[β w_i²] under unknown noise); shaped as [`a_n`](Self::a_n).
    pub fn b_n(&self) -> Array1<f64> {
        self.b_n.clone()
    }

    /// PRML (10.102): E[α] = a_N / b_N (E[α_i] under ARD), or the fixed α.
    /// Under unknown noise the weights' prior precision is β α.
    pub fn alpha_mean(&self) -> Array1<f64> {
        self.e_alpha.clone()
    }

    /// E[β] = c_N / d_N (PRML B.27), or the known β.
    pub fn beta_mean(&self) -> f64 {
        self.beta
    }

    /// c_N = c0 + N/2, the shape of q(β) (Drugowitsch 2013); `None` when β
    /// is known.
    pub fn c_n(&self) -> Option<f64> {
        self.c_n
    }

    /// d_N = d0 + ½(‖t − Φm‖² + mᵀE[A]m), the rate of q(β); `None` when β
    /// is known.
    pub fn d_n(&self) -> Option<f64> {
        self.d_n
    }

    /// The bound (PRML 10.107) after each iteration.
    pub fn elbo_trace(&self) -> &[f64] {
        &self.trace
    }

    /// The final bound L(q) ≤ ln p(t), PRML (10.107), every constant kept —
    /// except, for an improper prior (a0 = 0 or b0 = 0, c0 = 0 or d0 = 0),
    /// the prior's infinite normaliser, a constant of the model family:
    /// bounds then still rank models with the same number of α's (PRML
    /// Fig 10.9) but are not probabilities.
    pub fn log_evidence(&self) -> f64 {
        self.terms.total()
    }

    /// The final bound's terms, PRML (10.108)–(10.112).
    pub fn bound_terms(&self) -> BoundTerms {
        self.terms
    }

    /// Whether the bound's relative change fell below `tol`.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// Number of iterations run.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Number of weights M.
    pub fn n_features(&self) -> usize {
        self.m_n.len()
    }

    /// How well the data determine each weight, γ_i = 1 − E[α_i] Σ_ii
    /// (PRML 3.91 term by term; MacKay 1992), with Σ_ii = S_ii (known β) or
    /// V_ii (unknown β, whose prior precision is βα_i): ≈ 1 for a weight the
    /// data fix, ≈ 0 for one the prior shrinks away. Σ_i γ_i is the effective
    /// number of parameters.
    pub fn well_determined(&self) -> Array1<f64> {
        let cov = self.v_n.as_ref().unwrap_or(&self.s_n);
        let k = self.e_alpha.len();
        Array1::from_shape_fn(self.m_n.len(), |i| {
            1.0 - self.e_alpha[if k == 1 { 0 } else { i }] * cov[[i, i]]
        })
    }

    /// ARD pruning: `true` for the weights whose γ_i
    /// ([`well_determined`](Self::well_determined)) is at least the prune
    /// threshold, `false` for the pruned ones (E[α_i] driven up, m_i ≈ 0;
    /// Bishop & Tipping 2000).
    pub fn relevant(&self) -> Array1<bool> {
        let thr = self.params.prune_threshold();
        self.well_determined().mapv(|g| g >= thr)
    }

    /// The predictive distribution at the rows of `x` (N × M, the same basis
    /// as the fit): PRML (10.105)–(10.106) when β is known,
    /// N(t | m_Nᵀφ, 1/β + φᵀS_Nφ); the Student-t
    /// St(t | mᵀφ, (c_N/d_N)/(1 + φᵀVφ), 2c_N) (Drugowitsch 2013) when β has a
    /// Gamma prior.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Predictive> {
        let mean = self.predict_mean(x)?;
        let quad = row_quadratic_forms(x, &self.s_n);
        let var = quad + 1.0 / self.beta;
        let dof = self.c_n.map(|c| 2.0 * c);
        Ok(Predictive { mean, var, dof })
    }

    /// The predictive mean m_Nᵀφ(x) for each row of `x` (PRML 10.105).
    pub fn predict_mean(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_predict_input(x, self.m_n.len())?;
        Ok(x.dot(&self.m_n))
    }
}

/// The columns match the fit and every value is finite.
pub(crate) fn check_predict_input(x: ArrayView2<'_, f64>, m: usize) -> Result<()> {
    if x.ncols() != m {
        return Err(CoreError::Shape(format!(
            "x has {} columns but the model was fitted with {m}",
            x.ncols()
        ))
        .into());
    }
    check_finite_x(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::basis::polynomial;
    use crate::vblr::Vblr;
    use crate::vblr::bound::gamma_ln_normaliser;
    use crate::vblr::testutil::{
        LN_2PI, cholesky, linear_data, ln_gamma_pdf, ln_mvn, mc_mean, sample_mvn, spd_inverse,
        spd_ln_det, spd_solve,
    };
    use elbo_core::data::synthetic;
    use elbo_core::special::ln_gamma;
    use ndarray::{Array1, Array2, array, s};
    use rand_distr::{Distribution, Gamma as GammaDist};

    const BETA: f64 = 4.0;

    /// 40 × 5 Gaussian inputs, two of the five weights zero, σ = 0.5.
    fn small_data() -> (Array2<f64>, Array1<f64>) {
        linear_data(40, &array![1.0, -0.5, 0.0, 2.0, 0.0], 0.5, 11)
    }

    fn models() -> Vec<(&'static str, VblrParams)> {
        let base = Vblr::params().with_a0(1e-2).with_b0(1e-3);
        let gamma = Noise::Gamma { c0: 1e-2, d0: 1e-2 };
        vec![
            (
                "known β, shared α",
                base.clone().with_noise(Noise::Known(BETA)),
            ),
            (
                "known β, ARD",
                base.clone().with_noise(Noise::Known(BETA)).with_ard(true),
            ),
            ("unknown β, shared α", base.clone().with_noise(gamma)),
            (
                "unknown β, ARD",
                base.clone().with_noise(gamma).with_ard(true),
            ),
            (
                "known β, a0 = b0 = 0",
                base.clone()
                    .with_a0(0.0)
                    .with_b0(0.0)
                    .with_noise(Noise::Known(BETA)),
            ),
            (
                "unknown β, improper priors",
                base.with_a0(0.0)
                    .with_b0(0.0)
                    .with_noise(Noise::Gamma { c0: 0.0, d0: 0.0 }),
            ),
        ]
    }

    #[test]
    fn bound_never_decreases_at_any_coordinate_step() {
        let (x, t) = small_data();
        let stats = SuffStats::from_data(x.view(), t.view()).unwrap();
        for (name, p) in models() {
            let p = p.check().unwrap().0;
            let mut q = Cavi::new(&stats, &p);
            let mut bounds = vec![];
            for _ in 0..60 {
                q.update_w().unwrap();
                bounds.push(q.bound().total());
                q.update_alpha();
                bounds.push(q.bound().total());
            }
            for (k, w) in bounds.windows(2).enumerate() {
                assert!(
                    w[1] >= w[0] - 1e-11 * w[0].abs(),
                    "{name}: step {k}: {} -> {}",
                    w[0],
                    w[1]
                );
            }
            // and the updates do move the bound
            assert!(
                bounds[bounds.len() - 1] > bounds[0] + 1e-3,
                "{name}: {bounds:?}"
            );
        }
    }

    #[test]
    fn fit_traces_are_monotone_and_converge() {
        let (x, t) = small_data();
        for (name, p) in models() {
            let fit = p.fit(x.view(), t.view()).unwrap();
            let trace = fit.elbo_trace();
            assert!(fit.converged(), "{name}: {} iterations", fit.n_iter());
            assert_eq!(trace.len(), fit.n_iter());
            assert!(trace.len() >= 3, "{name}");
            for w in trace.windows(2) {
                assert!(
                    w[1] >= w[0] - 1e-9 * w[0].abs().max(1.0),
                    "{name}: {trace:?}"
                );
            }
            assert_eq!(fit.log_evidence(), *trace.last().unwrap(), "{name}");
        }
    }

    #[test]
    fn on_iter_sees_every_bound_once() {
        let (x, t) = small_data();
        let mut seen = vec![];
        let fit = Vblr::params()
            .fit_with(x.view(), t.view(), |i, b| seen.push((i, b)))
            .unwrap();
        let want: Vec<(usize, f64)> = fit
            .elbo_trace()
            .iter()
            .enumerate()
            .map(|(i, &b)| (i + 1, b))
            .collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn fit_from_merged_shards_equals_fit_from_the_data() {
        let (x, t) = small_data();
        let p = Vblr::params().with_ard(true).check().unwrap();
        let whole = p.fit(x.view(), t.view()).unwrap();
        let mut stats = SuffStats::from_data(x.slice(s![..15, ..]), t.slice(s![..15])).unwrap();
        stats
            .merge(&SuffStats::from_data(x.slice(s![15.., ..]), t.slice(s![15..])).unwrap())
            .unwrap();
        let merged = p.fit_stats(&stats).unwrap();
        assert!(
            (&whole.m_n() - &merged.m_n())
                .iter()
                .all(|e| e.abs() < 1e-10)
        );
        assert!((whole.log_evidence() - merged.log_evidence()).abs() < 1e-9);
    }

    /// The conjugate model's posterior and evidence through the N × N
    /// "kernel" form, independent of the M × M code: with
    /// C = β⁻¹I + α⁻¹ΦΦᵀ, m_N = α⁻¹ΦᵀC⁻¹t, S_N = α⁻¹I − α⁻²ΦᵀC⁻¹Φ
    /// (Woodbury on PRML 3.53–3.54) and p(t) = N(t | 0, C) (PRML 3.85–3.86).
    fn kernel_form(
        x: &Array2<f64>,
        t: &Array1<f64>,
        alpha: f64,
        beta: f64,
    ) -> (Array1<f64>, Array2<f64>, f64) {
        let n = x.nrows();
        let c = Array2::<f64>::eye(n) / beta + x.dot(&x.t()) / alpha;
        let m = x.t().dot(&spd_solve(&c, t)) / alpha;
        let s = Array2::<f64>::eye(x.ncols()) / alpha
            - x.t().dot(&spd_inverse(&c)).dot(x) / (alpha * alpha);
        let ln_p = ln_mvn(t, &Array1::zeros(n), &c);
        (m, s, ln_p)
    }

    #[test]
    fn fixed_alpha_and_beta_give_the_exact_posterior() {
        let (x, t) = small_data();
        let alpha = 2.0;
        let fit = Vblr::params()
            .with_fixed_alpha(Some(alpha))
            .with_noise(Noise::Known(BETA))
            .fit(x.view(), t.view())
            .unwrap();
        let (m, s, _) = kernel_form(&x, &t, alpha, BETA);
        for i in 0..5 {
            assert!(
                (fit.m_n()[i] - m[i]).abs() < 1e-10 * m[i].abs().max(1.0),
                "{} vs {m}",
                fit.m_n()
            );
            for j in 0..5 {
                assert!(
                    (fit.s_n()[[i, j]] - s[[i, j]]).abs() < 1e-12,
                    "{} vs {s}",
                    fit.s_n()
                );
            }
        }
        assert_eq!(fit.alpha_mean(), array![alpha]);
        assert_eq!(fit.beta_mean(), BETA);
        assert!(fit.a_n().is_empty() && fit.c_n().is_none());
        // nothing left to iterate: the second iteration repeats the first
        assert_eq!(fit.n_iter(), 2);
    }

    #[test]
    fn conjugate_bound_is_the_log_marginal_likelihood() {
        let (x, t) = small_data();
        let (alpha, n, m) = (0.7, x.nrows() as f64, x.ncols() as f64);
        let fit = Vblr::params()
            .with_fixed_alpha(Some(alpha))
            .with_noise(Noise::Known(BETA))
            .fit(x.view(), t.view())
            .unwrap();
        let (_, _, ln_p) = kernel_form(&x, &t, alpha, BETA);
        assert!(
            (fit.log_evidence() - ln_p).abs() < 1e-10 * ln_p.abs(),
            "{} vs {ln_p}",
            fit.log_evidence()
        );
        // and PRML (3.86) at m_N, S_N
        let mn = fit.m_n().to_owned();
        let r = &t - &x.dot(&mn);
        let e_m = 0.5 * BETA * r.dot(&r) + 0.5 * alpha * mn.dot(&mn);
        let a = Array2::<f64>::eye(5) * alpha + x.t().dot(&x) * BETA;
        let eq_3_86 = 0.5 * m * alpha.ln() + 0.5 * n * BETA.ln()
            - e_m
            - 0.5 * spd_ln_det(&a)
            - 0.5 * n * LN_2PI;
        assert!((fit.log_evidence() - eq_3_86).abs() < 1e-10 * ln_p.abs());
    }

    #[test]
    fn conjugate_normal_gamma_bound_is_the_log_marginal_likelihood() {
        // α fixed, β ~ Gam(c0, d0), w | β ~ N(0, (βα)⁻¹I): q(w, β) is exact and
        // t is multivariate Student-t: with C = I + α⁻¹ΦΦᵀ,
        // ln p(t) = c0 ln d0 − ln Γ(c0) + ln Γ(c_N) − c_N ln(d0 + ½ tᵀC⁻¹t)
        //           − N/2 ln 2π − ½ ln |C|,  c_N = c0 + N/2.
        let (x, t) = small_data();
        let (alpha, c0, d0) = (0.7, 2.0, 1.5);
        let fit = Vblr::params()
            .with_fixed_alpha(Some(alpha))
            .with_noise(Noise::Gamma { c0, d0 })
            .fit(x.view(), t.view())
            .unwrap();
        let n = x.nrows();
        let c = Array2::<f64>::eye(n) + x.dot(&x.t()) / alpha;
        let c_n = c0 + 0.5 * n as f64;
        let ln_p = c0 * d0.ln() - ln_gamma(c0) + ln_gamma(c_n)
            - c_n * (d0 + 0.5 * t.dot(&spd_solve(&c, &t))).ln()
            - 0.5 * n as f64 * LN_2PI
            - 0.5 * spd_ln_det(&c);
        assert!(
            (fit.log_evidence() - ln_p).abs() < 1e-10 * ln_p.abs(),
            "{} vs {ln_p}",
            fit.log_evidence()
        );
        assert_eq!(fit.c_n(), Some(c_n));
    }

    #[test]
    fn bound_terms_match_monte_carlo_with_known_beta() {
        // L's terms as expectations under q(w) q(α), by sampling.
        let (x, t) = linear_data(20, &array![0.5, -1.0, 0.0], 0.5, 5);
        let (a0, b0) = (2.0, 0.5);
        let fit = Vblr::params()
            .with_a0(a0)
            .with_b0(b0)
            .with_noise(Noise::Known(BETA))
            .fit(x.view(), t.view())
            .unwrap();
        let terms = fit.bound_terms();
        let (m, s) = (fit.m_n().to_owned(), fit.s_n().to_owned());
        let l = cholesky(&s);
        let (a_n, b_n) = (fit.a_n()[0], fit.b_n()[0]);
        let q_alpha = GammaDist::new(a_n, 1.0 / b_n).unwrap();
        let mut rng = elbo_core::rng::seeded(8);
        let draws: Vec<(Array1<f64>, f64)> = (0..40_000)
            .map(|_| (sample_mvn(&mut rng, &m, &l), q_alpha.sample(&mut rng)))
            .collect();
        let d = 3.0;
        let ln_lik = |w: &Array1<f64>| {
            let r = &t - &x.dot(w);
            0.5 * t.len() as f64 * (BETA.ln() - LN_2PI) - 0.5 * BETA * r.dot(&r)
        };
        type Check<'a> = (&'a str, f64, Box<dyn Fn(&(Array1<f64>, f64)) -> f64 + 'a>);
        let checks: [Check; 5] = [
            (
                "E[ln p(t|w)] (10.108)",
                terms.ln_likelihood,
                Box::new(|(w, _)| ln_lik(w)),
            ),
            (
                "E[ln p(w|α)] (10.109)",
                terms.ln_prior_w,
                Box::new(|(w, a)| 0.5 * d * (a.ln() - LN_2PI) - 0.5 * a * w.dot(w)),
            ),
            (
                "E[ln p(α)] (10.110)",
                terms.ln_prior_alpha,
                Box::new(|(_, a)| ln_gamma_pdf(*a, a0, b0)),
            ),
            (
                "−E[ln q(w)] (10.111)",
                terms.entropy_w,
                Box::new(|(w, _)| -ln_mvn(w, &m, &s)),
            ),
            (
                "−E[ln q(α)] (10.112)",
                terms.entropy_alpha,
                Box::new(|(_, a)| -ln_gamma_pdf(*a, a_n, b_n)),
            ),
        ];
        for (name, closed, f) in checks {
            let (mc, se) = mc_mean(draws.iter().map(&f));
            assert!(
                (mc - closed).abs() < 5.0 * se + 1e-12,
                "{name}: closed {closed}, MC {mc} ± {se}"
            );
        }
        assert_eq!(terms.ln_prior_beta, 0.0);
    }

    #[test]
    fn bound_terms_match_monte_carlo_with_unknown_beta() {
        // q(w, β) q(α) = N(w | m, β⁻¹V) Gam(β | c, d) Gam(α | a, b), by sampling.
        let (x, t) = linear_data(20, &array![0.5, -1.0, 0.0], 0.5, 6);
        let (a0, b0, c0, d0) = (2.0, 0.5, 3.0, 1.0);
        let fit = Vblr::params()
            .with_a0(a0)
            .with_b0(b0)
            .with_noise(Noise::Gamma { c0, d0 })
            .with_ard(true)
            .fit(x.view(), t.view())
            .unwrap();
        let terms = fit.bound_terms();
        let m = fit.m_n().to_owned();
        let v = fit.v_n().unwrap().to_owned();
        let lv = cholesky(&v);
        let (c_n, d_n) = (fit.c_n().unwrap(), fit.d_n().unwrap());
        let (a_n, b_n) = (fit.a_n(), fit.b_n());
        assert_eq!(a_n.len(), 3);
        let q_beta = GammaDist::new(c_n, 1.0 / d_n).unwrap();
        let q_alpha: Vec<_> = (0..3)
            .map(|i| GammaDist::new(a_n[i], 1.0 / b_n[i]).unwrap())
            .collect();
        let mut rng = elbo_core::rng::seeded(9);
        type Draw = (Array1<f64>, f64, Array1<f64>);
        let draws: Vec<Draw> = (0..40_000)
            .map(|_| {
                let beta: f64 = q_beta.sample(&mut rng);
                let w = sample_mvn(&mut rng, &m, &(&lv / beta.sqrt()));
                let alpha: Array1<f64> = q_alpha.iter().map(|g| g.sample(&mut rng)).collect();
                (w, beta, alpha)
            })
            .collect();
        type Check<'a> = (&'a str, f64, Box<dyn Fn(&Draw) -> f64 + 'a>);
        let checks: [Check; 6] = [
            (
                "E[ln p(t|w,β)]",
                terms.ln_likelihood,
                Box::new(|(w, b, _)| {
                    let r = &t - &x.dot(w);
                    0.5 * t.len() as f64 * (b.ln() - LN_2PI) - 0.5 * b * r.dot(&r)
                }),
            ),
            (
                "E[ln p(w|β,α)]",
                terms.ln_prior_w,
                Box::new(|(w, b, a)| {
                    (0..3)
                        .map(|i| 0.5 * ((b * a[i]).ln() - LN_2PI) - 0.5 * b * a[i] * w[i] * w[i])
                        .sum()
                }),
            ),
            (
                "E[ln p(β)]",
                terms.ln_prior_beta,
                Box::new(|(_, b, _)| ln_gamma_pdf(*b, c0, d0)),
            ),
            (
                "E[ln p(α)]",
                terms.ln_prior_alpha,
                Box::new(|(_, _, a)| (0..3).map(|i| ln_gamma_pdf(a[i], a0, b0)).sum()),
            ),
            (
                "−E[ln q(w,β)]",
                terms.entropy_w,
                Box::new(|(w, b, _)| -ln_mvn(w, &m, &(&v / *b)) - ln_gamma_pdf(*b, c_n, d_n)),
            ),
            (
                "−E[ln q(α)]",
                terms.entropy_alpha,
                Box::new(|(_, _, a)| {
                    -(0..3)
                        .map(|i| ln_gamma_pdf(a[i], a_n[i], b_n[i]))
                        .sum::<f64>()
                }),
            ),
        ];
        for (name, closed, f) in checks {
            let (mc, se) = mc_mean(draws.iter().map(&f));
            assert!(
                (mc - closed).abs() < 5.0 * se + 1e-12,
                "{name}: closed {closed}, MC {mc} ± {se}"
            );
        }
    }

    #[test]
    fn ard_drives_irrelevant_precisions_up() {
        // 50 features, the first 5 relevant, N = 300, σ = 0.5 (seeded).
        let mut w = Array1::<f64>::zeros(50);
        w.slice_mut(s![..5])
            .assign(&array![1.0, -1.5, 2.0, -1.0, 1.2]);
        let (x, t) = linear_data(300, &w, 0.5, 42);
        let fit = Vblr::params()
            .with_ard(true)
            .fit(x.view(), t.view())
            .unwrap();
        let ea = fit.alpha_mean();
        assert_eq!(ea.len(), 50);
        let max_relevant = ea.slice(s![..5]).fold(0.0_f64, |m, &v| m.max(v));
        let min_irrelevant = ea.slice(s![5..]).fold(f64::INFINITY, |m, &v| m.min(v));
        let ratio = min_irrelevant / max_relevant;
        println!(
            "ARD: max E[α] relevant {max_relevant:.3e}, min E[α] irrelevant {min_irrelevant:.3e}, ratio {ratio:.3e}, {} iterations, converged {}",
            fit.n_iter(),
            fit.converged()
        );
        assert!(ratio >= 100.0, "ratio {ratio}: {ea}");
        // the relevant weights are kept and recovered
        let relevant = fit.relevant();
        assert!(relevant.slice(s![..5]).iter().all(|&r| r), "{relevant}");
        for i in 0..5 {
            assert!((fit.m_n()[i] - w[i]).abs() < 0.1, "{}", fit.m_n());
        }
        let pruned = relevant.slice(s![5..]).iter().filter(|&&r| !r).count();
        println!("ARD: {pruned} of 45 irrelevant weights pruned");
        assert!(
            pruned >= 23,
            "{pruned} pruned: γ = {}",
            fit.well_determined()
        );
    }

    fn fig_10_9_bounds(seed: u64, a0: f64) -> Vec<f64> {
        let d = synthetic::cubic(10, seed);
        let (x, t) = (d.x.column(0).to_owned(), d.y.expect("cubic has a target"));
        (0..=8)
            .map(|order| {
                let phi = polynomial(x.view(), order);
                Vblr::params()
                    .with_a0(a0)
                    .with_b0(a0)
                    .with_noise(Noise::Known(1.0 / 0.09))
                    .fit(phi.view(), t.view())
                    .unwrap()
                    .log_evidence()
            })
            .collect()
    }

    fn argmax(v: &[f64]) -> usize {
        (0..v.len())
            .max_by(|&i, &j| v[i].total_cmp(&v[j]))
            .unwrap_or(0)
    }

    #[test]
    fn fig_10_9_bound_peaks_at_order_3() {
        // PRML Fig 10.9: 10 points of the cubic, x ~ U(−5, 5), noise
        // variance 0.09 (β known), orders 0–8, a0 = b0 = 0.
        for seed in 0..10 {
            let b = fig_10_9_bounds(seed, 0.0);
            println!(
                "seed {seed}: {}",
                b.iter()
                    .map(|v| format!("{v:.2}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            assert_eq!(argmax(&b), 3, "seed {seed}: {b:?}");
        }
    }

    #[test]
    fn improper_prior_is_the_limit_of_small_a0_b0() {
        // a0 = b0 = 1e-6 minus its (order-independent) normaliser gives the
        // a0 = b0 = 0 bound to ~1e-4, so the order ranking is the same.
        let limit = fig_10_9_bounds(0, 0.0);
        let small = fig_10_9_bounds(0, 1e-6);
        let shift = gamma_ln_normaliser(1e-6, 1e-6);
        assert!(shift < -13.0);
        for (l, s) in limit.iter().zip(&small) {
            assert!((s - shift - l).abs() < 1e-3, "{l} vs {s} − ({shift})");
        }
        assert_eq!(argmax(&small), argmax(&limit));
    }

    #[test]
    fn predictive_is_gaussian_with_known_beta_and_student_t_without() {
        let (x, t) = small_data();
        let xs = x.slice(s![..4, ..]);
        let known = Vblr::params()
            .with_noise(Noise::Known(BETA))
            .fit(x.view(), t.view())
            .unwrap();
        let p = known.predict(xs).unwrap();
        assert_eq!(p.dof, None);
        for (r, row) in xs.rows().into_iter().enumerate() {
            let var = 1.0 / BETA + row.dot(&known.s_n().dot(&row)); // PRML (10.106)
            assert!((p.var[r] - var).abs() < 1e-12);
            assert!((p.mean[r] - row.dot(&known.m_n())).abs() < 1e-12);
        }
        let (c0, d0) = (1e-2, 1e-2);
        let unknown = Vblr::params()
            .with_noise(Noise::Gamma { c0, d0 })
            .fit(x.view(), t.view())
            .unwrap();
        let p = unknown.predict(xs).unwrap();
        let (c_n, d_n) = (unknown.c_n().unwrap(), unknown.d_n().unwrap());
        assert_eq!(p.dof, Some(2.0 * c0 + x.nrows() as f64));
        let v = unknown.v_n().unwrap();
        for (r, row) in xs.rows().into_iter().enumerate() {
            let scale2 = d_n / c_n * (1.0 + row.dot(&v.dot(&row))); // Drugowitsch's St
            assert!((p.var[r] - scale2).abs() < 1e-12 * scale2);
        }
        assert_eq!(unknown.predict_mean(xs).unwrap(), p.mean);
        // noise σ = 0.5: E[β] near 4
        assert!(
            (unknown.beta_mean() - 4.0).abs() < 2.0,
            "{}",
            unknown.beta_mean()
        );
    }

    #[test]
    fn predict_rejects_wrong_columns_and_non_finite_values() {
        let (x, t) = small_data();
        let fit = Vblr::params().fit(x.view(), t.view()).unwrap();
        let e = fit.predict(Array2::zeros((2, 4)).view()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape mismatch: x has 4 columns but the model was fitted with 5"
        );
        let mut bad = x.slice(s![..2, ..]).to_owned();
        bad[[1, 2]] = f64::NAN;
        assert!(matches!(
            fit.predict_mean(bad.view()),
            Err(Error::Core(CoreError::Data(_)))
        ));
    }

    #[test]
    fn fit_rejects_nan_inputs() {
        let (mut x, t) = small_data();
        x[[3, 1]] = f64::NAN;
        let e = Vblr::params().fit(x.view(), t.view()).unwrap_err();
        assert_eq!(e.to_string(), "invalid data: x[3, 1] is NaN (not finite)");
    }

    #[test]
    fn fit_rejects_infinite_targets() {
        let (x, mut t) = small_data();
        t[0] = f64::NEG_INFINITY;
        assert!(matches!(
            Vblr::params().fit(x.view(), t.view()),
            Err(Error::Core(CoreError::Data(_)))
        ));
    }

    #[test]
    fn fit_rejects_zero_rows() {
        let e = Vblr::params()
            .fit(Array2::zeros((0, 2)).view(), Array1::zeros(0).view())
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid data: no observations (zero rows)");
        assert!(Vblr::params().fit_stats(&SuffStats::zeros(2)).is_err());
    }

    #[test]
    fn fit_rejects_mismatched_lengths() {
        let (x, t) = small_data();
        let e = Vblr::params().fit(x.view(), t.slice(s![..10])).unwrap_err();
        assert!(matches!(e, Error::Core(CoreError::Shape(_))), "{e}");
    }

    #[test]
    fn fit_checks_the_parameters_first() {
        let (x, t) = small_data();
        let e = Vblr::params()
            .with_a0(-1.0)
            .fit(x.view(), t.view())
            .unwrap_err();
        assert_eq!(e.to_string(), "`a0` must be finite and >= 0, got -1");
    }

    #[test]
    fn all_zero_targets_with_an_improper_noise_prior_are_a_typed_error() {
        // ‖t − Φm‖² + mᵀE[A]m = 0 and d0 = 0: q(β) would be improper.
        let (x, _) = small_data();
        let t = Array1::zeros(x.nrows());
        let e = Vblr::params()
            .with_noise(Noise::Gamma { c0: 1.0, d0: 0.0 })
            .fit(x.view(), t.view())
            .unwrap_err();
        assert!(matches!(e, Error::Numerical { .. }), "{e}");
        // with d0 > 0 it is fine
        assert!(
            Vblr::params()
                .with_noise(Noise::Gamma { c0: 1.0, d0: 1.0 })
                .fit(x.view(), t.view())
                .is_ok()
        );
    }

    #[test]
    fn fitted_model_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<VblrFit>();
        check::<Predictive>();
        check::<VblrParams>();
    }
}
