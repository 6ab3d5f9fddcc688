//! Stochastic variational inference for the Bayesian Gaussian mixture
//! (Hoffman, Blei, Wang & Paisley 2013, Algorithm 1 with minibatches).
//!
//! The global factors q(π) q(μ, Λ) are conjugate exponential-family
//! distributions whose natural parameters are the prior's plus expected
//! sufficient statistics: λ = η₀ + T with T = (N_k, Σ r x, Σ r x xᵀ) (PRML
//! 10.58, 10.60–10.63 are affine in them). One SVI step on a minibatch B
//! computes the local responsibilities under the current globals (PRML
//! 10.46–10.49), the intermediate parameters λ̂ = η₀ + (N/|B|) T_B (Hoffman
//! et al. eq. 33) and moves
//!
//! λ ← (1 − ρ_t) λ + ρ_t λ̂,  ρ_t = (t + τ)^(−κ)   (Hoffman et al. eq. 26, 36)
//!
//! which is a step along the natural gradient of the bound. Because λ is
//! affine in T, the same convex combination is kept on the running
//! statistics T̄ (a [`SuffStats`]) and the M-step of CAVI turns T̄ into the
//! globals. κ ∈ (0.5, 1] and τ ≥ 0 satisfy the Robbins–Monro conditions.
//!
//! Streams: [`SviGmm::partial_fit`] takes one minibatch at a time (the data
//! set size N must be given); [`SviGmmValidParams::fit_csv`] reads a CSV file
//! larger than memory in chunks ([`CsvChunks`]), several epochs.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, Array3, ArrayView2, Axis};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::distributed::{self, Allreduce, Layout, Local};
use super::kernel::e_step;
use super::stats::SuffStats;
use super::vgmm::{GmmPrior, Posterior, VgmmParams, VgmmValidParams, WeightPosterior, kl_globals};
use super::{CovarianceType, Prior, check_data, check_points, predictive};
use crate::Result;
use crate::kmeans::kmeans;
use elbo_core::rng::{ElboRng, seeded};
use elbo_core::{BoundMonitor, Error as CoreError};

/// Settings of stochastic variational inference for the Bayesian mixture.
/// The model and its priors are those of [`Vgmm`](super::Vgmm) (same
/// defaults, taken from the data given to `fit`, or from the first
/// minibatch of a stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SviGmmParams {
    model: VgmmParams,
    batch_size: usize,
    tau: f64,
    kappa: f64,
    epochs: usize,
    n_total: Option<f64>,
}

impl SviGmmParams {
    /// K components; minibatches of 1000, τ = 1, κ = 0.7, 10 epochs.
    pub fn new(k: usize) -> Self {
        Self {
            model: VgmmParams::new(k),
            batch_size: 1000,
            tau: 1.0,
            kappa: 0.7,
            epochs: 10,
            n_total: None,
        }
    }
    /// The model's priors and initialisation (K, α₀ or γ, β₀, m₀, W₀, ν₀,
    /// covariance, seed); its tol / max_iter / n_init are not used.
    pub fn with_model(mut self, model: VgmmParams) -> Self {
        self.model = model;
        self
    }
    /// PRML (10.39): the Dirichlet concentration α₀ > 0.
    pub fn with_alpha0(mut self, alpha0: f64) -> Self {
        self.model = self.model.with_alpha0(alpha0);
        self
    }
    /// The prior on the weights (Dirichlet or stick-breaking).
    pub fn with_prior(mut self, prior: Prior) -> Self {
        self.model = self.model.with_prior(prior);
        self
    }
    /// Full or diagonal precisions.
    pub fn with_covariance(mut self, covariance: CovarianceType) -> Self {
        self.model = self.model.with_covariance(covariance);
        self
    }
    /// The seed of the initialisation and of the minibatch order.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.model = self.model.with_seed(seed);
        self
    }
    /// Points per minibatch |B| ≥ 1.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Hoffman et al. (eq. 36): the delay τ > 0 of ρ_t = (t + τ)^(−κ).
    pub fn with_tau(mut self, tau: f64) -> Self {
        self.tau = tau;
        self
    }
    /// Hoffman et al. (eq. 36): the forgetting rate κ ∈ (0.5, 1] of ρ_t = (t + τ)^(−κ).
    pub fn with_kappa(mut self, kappa: f64) -> Self {
        self.kappa = kappa;
        self
    }
    /// Passes over the data in `fit` / `fit_csv` (≥ 1).
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// The size N of the data set the stream comes from (Hoffman et al.
    /// eq. 33 scales a minibatch's statistics by N/|B|); required by
    /// `partial_fit`, counted by `fit` and `fit_csv` when absent.
    pub fn with_n_total(mut self, n: usize) -> Self {
        self.n_total = Some(n as f64);
        self
    }

    /// Validate: the model's settings, |B| ≥ 1, τ > 0 (the first step is
    /// ρ_0 = τ^(−κ), infinite at τ = 0), κ ∈ (0.5, 1], epochs ≥ 1, N ≥ 1.
    pub fn check(&self) -> Result<SviGmmValidParams> {
        let model = self.model.check()?;
        if self.batch_size == 0 {
            return Err(CoreError::invalid("batch_size", self.batch_size, "at least 1").into());
        }
        if !(self.tau > 0.0 && self.tau.is_finite()) {
            return Err(CoreError::invalid("tau", self.tau, "finite and > 0").into());
        }
        if !(self.kappa > 0.5 && self.kappa <= 1.0) {
            return Err(
                CoreError::invalid("kappa", self.kappa, "in (0.5, 1] (Robbins-Monro)").into(),
            );
        }
        if self.epochs == 0 {
            return Err(CoreError::invalid("epochs", self.epochs, "at least 1").into());
        }
        if let Some(n) = self.n_total {
            if n < 1.0 || n.is_nan() {
                return Err(CoreError::invalid("n_total", n, "at least 1").into());
            }
        }
        Ok(SviGmmValidParams {
            model,
            p: self.clone(),
        })
    }

    /// [`check`](Self::check), then [`SviGmmValidParams::fit`].
    pub fn fit(&self, x: ArrayView2<f64>) -> Result<SviGmm> {
        self.check()?.fit(x)
    }
}

/// Validated settings of [`SviGmm`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SviGmmValidParams {
    model: VgmmValidParams,
    p: SviGmmParams,
}

impl SviGmmValidParams {
    /// An empty model for a stream: the first [`SviGmm::partial_fit`]
    /// initialises it (priors not set explicitly come from that minibatch).
    pub fn start(&self) -> SviGmm {
        SviGmm {
            params: self.clone(),
            prior: None,
            stats: None,
            post: None,
            t: 0,
            n_total: self.p.n_total,
            rng: seeded(self.model.seed()),
            trace: BoundMonitor::new(0.0, usize::MAX)
                .map(BoundMonitor::stochastic)
                .ok(),
        }
    }

    /// `epochs` passes over `x` in seeded random minibatches; priors from
    /// all of `x` (as [`Vgmm`](super::Vgmm)), N = the rows of `x` unless set.
    pub fn fit(&self, x: ArrayView2<f64>) -> Result<SviGmm> {
        let prior = self.model.resolve_prior(x)?;
        self.fit_core(prior, x, &Layout::single(x.nrows()), &Local)
    }

    /// [`fit`](Self::fit) on data spread over several processes: `x` is
    /// this process's shard, laid out as `layout`, and `red` sums across
    /// the processes. Collective. Every process draws the same permutation
    /// of the N global row indices (from the seed), so the minibatches are
    /// those of the single-process fit of the rows in the layout's global
    /// order; each process runs the E-step on its part of a minibatch and
    /// the statistics are summed (one allreduce per step). The first
    /// minibatch, which k-means++ initialises from, is gathered on every
    /// process (|B| × D numbers, once). The result equals the
    /// single-process fit up to the rounding of the order of the sums.
    ///
    /// # Errors
    /// As [`fit`](Self::fit), on every process.
    pub fn fit_distributed(
        &self,
        x: ArrayView2<f64>,
        layout: &Layout,
        red: &dyn Allreduce,
    ) -> Result<SviGmm> {
        let prior = self.model.resolve_prior_distributed(x, layout, red)?;
        self.fit_core(prior, x, layout, red)
    }

    /// The epochs of minibatch steps, for one process or many.
    fn fit_core(
        &self,
        prior: GmmPrior,
        x: ArrayView2<f64>,
        layout: &Layout,
        red: &dyn Allreduce,
    ) -> Result<SviGmm> {
        let mut m = self.start();
        m.prior = Some(prior);
        let n = layout.n_global();
        if m.n_total.is_none() {
            m.n_total = Some(n as f64);
        }
        let mut idx: Vec<usize> = (0..n).collect();
        for _ in 0..self.p.epochs {
            idx.shuffle(&mut m.rng);
            for b in idx.chunks(self.p.batch_size) {
                if m.post.is_none() {
                    let batch = distributed::gather_rows(x, layout, b, red)?;
                    m.partial_fit(batch.view())?;
                    continue;
                }
                let mine: Vec<usize> = if red.size() == 1 {
                    b.to_vec()
                } else {
                    b.iter().filter_map(|&g| layout.local_index(g)).collect()
                };
                let part = x.select(Axis(0), &mine);
                let mut local = m.local_stats(part.view())?;
                local.allreduce(red)?;
                m.natural_step(local, b.len())?;
            }
        }
        Ok(m)
    }

    /// `epochs` passes over a CSV file read in chunks (never whole in
    /// memory): each chunk's rows are shuffled and cut into minibatches.
    /// N is counted in a first pass unless set; priors not set explicitly
    /// come from the first chunk. Rows should be in random order (a file
    /// sorted by cluster biases the first steps).
    pub fn fit_csv(&self, path: &Path) -> Result<SviGmm> {
        let chunk_rows = self.p.batch_size.max(8192);
        let mut m = self.start();
        if m.n_total.is_none() {
            let mut n = 0usize;
            for c in CsvChunks::open(path, chunk_rows)? {
                n += c?.nrows();
            }
            m.n_total = Some(n as f64);
        }
        for _ in 0..self.p.epochs {
            for chunk in CsvChunks::open(path, chunk_rows)? {
                let mut chunk = chunk?;
                let mut idx: Vec<usize> = (0..chunk.nrows()).collect();
                idx.shuffle(&mut m.rng);
                chunk = chunk.select(Axis(0), &idx);
                let mut start = 0;
                while start < chunk.nrows() {
                    let end = (start + self.p.batch_size).min(chunk.nrows());
                    m.partial_fit(chunk.slice(ndarray::s![start..end, ..]))?;
                    start = end;
                }
            }
        }
        Ok(m)
    }
}

/// The Bayesian Gaussian mixture trained by stochastic variational
/// inference: the running state (step count, running statistics) and the
/// current globals q(π) q(μ, Λ) with the accessors of [`VgmmFit`](super::VgmmFit).
#[derive(Debug, Clone)]
pub struct SviGmm {
    params: SviGmmValidParams,
    prior: Option<GmmPrior>,
    stats: Option<SuffStats>,
    post: Option<Posterior>,
    t: u64,
    n_total: Option<f64>,
    rng: ElboRng,
    trace: Option<BoundMonitor>,
}

impl SviGmm {
    /// The builder for K components (see [`SviGmmParams`]).
    pub fn params(k: usize) -> SviGmmParams {
        SviGmmParams::new(k)
    }

    /// One natural-gradient step on the minibatch `batch` (Hoffman et al.
    /// 2013, Algorithm 1): local E-step (PRML 10.46–10.49), intermediate
    /// globals from the statistics scaled by N/|B| (eq. 33), and
    /// λ ← (1 − ρ_t) λ + ρ_t λ̂ with ρ_t = (t + τ)^(−κ) (eqs 26, 36). The
    /// first call initialises the globals from k-means++ on the batch.
    ///
    /// # Errors
    /// N unknown (set [`SviGmmParams::with_n_total`]), bad data, a batch of
    /// another dimension, fewer than K points in the first batch.
    pub fn partial_fit(&mut self, batch: ArrayView2<f64>) -> Result<()> {
        let Some(n_total) = self.n_total else {
            return Err(CoreError::invalid(
                "n_total",
                "unset",
                "set with `with_n_total(N)` to stream with partial_fit",
            )
            .into());
        };
        if batch.nrows() == 0 {
            return Ok(());
        }
        let k = self.params.model.k();
        if self.post.is_none() {
            check_data(batch, k)?;
            let prior = match self.prior.take() {
                Some(p) => p,
                None => self.params.model.resolve_prior(batch)?,
            };
            check_points(batch, prior.dim())?;
            let km = kmeans(batch, k, self.params.model.init_iter(), &mut self.rng)?;
            let labels = km.labels.to_vec();
            let st = SuffStats::from_labels(batch, &labels, km.centers)
                .scaled(n_total / batch.nrows() as f64);
            let m0 = prior.m0().clone();
            let center = Array2::from_shape_fn((k, prior.dim()), |(_, j)| m0[j]);
            let st = st.recentered(center.view());
            self.post = Some(Posterior::update(&prior, &st)?);
            self.stats = Some(st);
            self.prior = Some(prior);
        }
        let local = self.local_stats(batch)?;
        self.natural_step(local, batch.nrows())
    }

    /// The statistics of `part` (all or part of a minibatch) under the
    /// current globals (PRML 10.46–10.53).
    fn local_stats(&self, part: ArrayView2<f64>) -> Result<SuffStats> {
        let (prior, post) = self.state()?;
        check_points(part, prior.dim())?;
        Ok(e_step(part, &post.components(prior), None))
    }

    /// One natural-gradient step from the statistics `local` of a whole
    /// minibatch of `batch_rows` points: λ̂ from the statistics scaled by
    /// N/|B| (Hoffman et al. eq. 33), λ ← (1 − ρ_t) λ + ρ_t λ̂ (eqs 26, 36).
    fn natural_step(&mut self, local: SuffStats, batch_rows: usize) -> Result<()> {
        let n_total = self.n_total.unwrap_or(batch_rows as f64);
        let (Some(prior), Some(post), Some(stats)) = (&self.prior, &mut self.post, &mut self.stats)
        else {
            unreachable!("the globals are initialised before the first step");
        };
        let scale = n_total / batch_rows as f64;
        // A noisy estimate of the bound at the current globals (collapsed
        // form: Σ_n ln Σ_k ρ_nk scaled to N, minus the KL of the globals).
        let estimate = scale * local.log_norm - kl_globals(prior, post);
        let rho = (self.t as f64 + self.params.p.tau).powf(-self.params.p.kappa);
        let mut next = stats.scaled(1.0 - rho);
        next.merge(&local.scaled(rho * scale));
        *post = Posterior::update(prior, &next)?;
        *stats = next;
        self.t += 1;
        if let Some(tr) = self.trace.as_mut() {
            tr.push(estimate)?;
        }
        Ok(())
    }

    fn state(&self) -> Result<(&GmmPrior, &Posterior)> {
        match (&self.prior, &self.post) {
            (Some(p), Some(q)) => Ok((p, q)),
            _ => Err(CoreError::Data(
                "the SVI model has seen no data yet; call partial_fit first".into(),
            )
            .into()),
        }
    }

    /// Steps taken.
    pub fn n_steps(&self) -> u64 {
        self.t
    }
    /// The step size ρ_t = (t + τ)^(−κ) the next step will use.
    pub fn next_step_size(&self) -> f64 {
        (self.t as f64 + self.params.p.tau).powf(-self.params.p.kappa)
    }
    /// The noisy minibatch estimates of the bound, one per step (they may go down).
    pub fn elbo_trace(&self) -> &[f64] {
        self.trace.as_ref().map_or(&[], |t| t.trace())
    }
    /// The prior as used.
    pub fn prior(&self) -> Result<&GmmPrior> {
        Ok(self.state()?.0)
    }
    /// q(π): Dirichlet α_k or stick-breaking (a_k, b_k).
    pub fn weight_posterior(&self) -> Result<&WeightPosterior> {
        Ok(&self.state()?.1.weights)
    }
    /// PRML (10.60): β_k.
    pub fn beta_k(&self) -> Result<&Array1<f64>> {
        Ok(&self.state()?.1.beta)
    }
    /// PRML (10.61): m_k, K × D.
    pub fn m_k(&self) -> Result<&Array2<f64>> {
        Ok(&self.state()?.1.m)
    }
    /// PRML (10.62): W_k, K × D × D.
    pub fn w_k(&self) -> Result<&Array3<f64>> {
        Ok(&self.state()?.1.w)
    }
    /// PRML (10.63): ν_k.
    pub fn nu_k(&self) -> Result<&Array1<f64>> {
        Ok(&self.state()?.1.nu)
    }
    /// E\[π_k\].
    pub fn weights(&self) -> Result<Array1<f64>> {
        Ok(self.state()?.1.weights.expected())
    }
    /// The running expected sufficient statistics T̄ (about m₀), the part
    /// of the natural parameters λ = η₀ + T̄ learnt from the data.
    pub fn running_stats(&self) -> Option<&SuffStats> {
        self.stats.as_ref()
    }

    /// The bound (PRML 10.70) on `x` at the current globals with q(Z) at its
    /// optimum (one full E-step): Σ_n ln Σ_k ρ_nk − KL(q(π,μ,Λ) ‖ p(π,μ,Λ)),
    /// comparable with [`VgmmFit::elbo_on`](super::VgmmFit::elbo_on).
    pub fn elbo_on(&self, x: ArrayView2<f64>) -> Result<f64> {
        let (prior, post) = self.state()?;
        check_points(x, prior.dim())?;
        let st = e_step(x, &post.components(prior), None);
        Ok(st.log_norm - kl_globals(prior, post))
    }

    /// PRML (10.81): the Student-t mixture predictive density of each row of `x`.
    pub fn log_predictive(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        let (prior, post) = self.state()?;
        check_points(x, prior.dim())?;
        Ok(predictive::log_predictive(prior, post, x))
    }

    /// The mean of [`log_predictive`](Self::log_predictive) over the rows of `x`.
    pub fn heldout_loglik_per_point(&self, x: ArrayView2<f64>) -> Result<f64> {
        Ok(self.log_predictive(x)?.mean().unwrap_or(f64::NAN))
    }
}

/// A CSV file read in chunks of at most `rows` data rows, each parsed with
/// `elbo_core::data::parse_csv` (a header on the first line is skipped),
/// through a buffered line reader: memory is bounded by one chunk.
#[derive(Debug)]
pub struct CsvChunks {
    reader: BufReader<File>,
    path: PathBuf,
    rows: usize,
    line_no: usize,
    ncols: Option<usize>,
    first: bool,
    done: bool,
}

impl CsvChunks {
    /// Open `path` for reading in chunks of `rows` (≥ 1) data rows.
    pub fn open(path: &Path, rows: usize) -> Result<Self> {
        if rows == 0 {
            return Err(CoreError::invalid("rows", rows, "at least 1").into());
        }
        let f = File::open(path).map_err(|source| CoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            reader: BufReader::new(f),
            path: path.to_path_buf(),
            rows,
            line_no: 0,
            ncols: None,
            first: true,
            done: false,
        })
    }

    fn next_chunk(&mut self) -> Result<Option<Array2<f64>>> {
        let mut text = String::new();
        let start_line = self.line_no;
        let mut data_rows = 0;
        let mut line = String::new();
        let mut header_allowance = usize::from(self.first);
        while data_rows < self.rows {
            line.clear();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|source| CoreError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if n == 0 {
                self.done = true;
                break;
            }
            self.line_no += 1;
            if line.trim().is_empty() {
                text.push('\n');
                continue;
            }
            if header_allowance > 0 {
                // The first non-empty line may be a header: it does not count.
                header_allowance = 0;
                let is_header = line
                    .trim()
                    .split([',', '\t', ';', ' '])
                    .filter(|f| !f.is_empty())
                    .any(|f| f.trim_matches('"').parse::<f64>().is_err());
                text.push_str(&line);
                if !line.ends_with('\n') {
                    text.push('\n');
                }
                if !is_header {
                    data_rows += 1;
                }
                continue;
            }
            text.push_str(&line);
            if !line.ends_with('\n') {
                text.push('\n');
            }
            data_rows += 1;
        }
        if data_rows == 0 {
            return Ok(None);
        }
        let first = std::mem::replace(&mut self.first, false);
        let table = elbo_core::data::parse_csv(&text, &self.path).map_err(|e| match e {
            CoreError::Parse {
                path,
                line,
                problem,
            } => CoreError::Parse {
                path,
                line: line + start_line,
                problem,
            },
            e => e,
        })?;
        if !first && table.header.is_some() {
            let off = text.lines().position(|l| !l.trim().is_empty()).unwrap_or(0);
            return Err(CoreError::Parse {
                path: self.path.clone(),
                line: start_line + off + 1,
                problem: "a non-numeric row in the middle of the file".into(),
            }
            .into());
        }
        let d = table.data.ncols();
        match self.ncols {
            Some(c) if c != d => {
                return Err(CoreError::Parse {
                    path: self.path.clone(),
                    line: start_line + 1,
                    problem: format!("expected {c} fields, found {d} (ragged row)"),
                }
                .into());
            }
            _ => self.ncols = Some(d),
        }
        Ok(Some(table.data))
    }
}

impl Iterator for CsvChunks {
    type Item = Result<Array2<f64>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_chunk() {
            Ok(Some(c)) => Some(Ok(c)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
