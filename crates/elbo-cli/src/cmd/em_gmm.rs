//! `elbo em-gmm`: maximum-likelihood EM for Gaussian mixtures (PRML §9.2),
//! the baseline that the variational mixture generalises.
//!
//! `elbo_trace` is the log-likelihood (PRML 9.28) per iteration (with a
//! covariance floor ε > 0, the smoothed objective of `EmGmm`'s docs); it
//! never decreases. Without a floor (`--reg-covar 0`, the default) EM may
//! meet the singularity of PRML §9.2.1 — a component collapsing onto one
//! point: the run stops with one error line naming it and the remedy.
//! The held-out log-likelihood is the plug-in density ln Σ_k π_k N(x | μ_k, Σ_k).

use std::time::Instant;

use anyhow::{Context, anyhow, ensure};
use elbo_classic::mixture::{EmGmm, EmGmmFit, EmGmmValidParams};
use serde_json::json;

use super::gmm::{self, DataArgs, FitArgs, Rows};
use super::{FigureFile, ModelRun, Prepared, RunMeta, check_range, fmt_num};
use crate::metrics::Metrics;
use crate::output::RunId;
use crate::plot;
use crate::progress::Progress;

/// The model's name in `metrics.json` and directory names.
pub const MODEL: &str = "em-gmm";
/// K when `--k` is not given (Old Faithful's two clusters).
const DEFAULT_K: usize = 2;

/// Flags of `elbo em-gmm`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Data and preprocessing.
    #[command(flatten)]
    pub data: DataArgs,
    /// Iterations and restarts.
    #[command(flatten)]
    pub fit: FitArgs,
    /// Covariance floor ε ≥ 0 added to every Σ_k (scikit-learn's
    /// `reg_covar`, whose default is 1e-6); it prevents the singularity of
    /// PRML §9.2.1 [default: 0, pure maximum likelihood].
    #[arg(long, value_name = "EPS")]
    pub reg_covar: Option<f64>,
}

/// A validated `em-gmm` run.
#[derive(Debug)]
pub struct Plan {
    spec: String,
    rows: Rows,
    k: usize,
    params: EmGmmValidParams,
    tol: f64,
    n_init: usize,
    reg_covar: f64,
    run: RunMeta,
}

/// Validate the flags and load the data.
pub fn prepare(args: Args) -> anyhow::Result<Plan> {
    let c = &args.data.common;
    let seed = c.seed();
    let spec = gmm::data_spec(&args.data);
    let k = gmm::check_k(args.data.k.unwrap_or(DEFAULT_K))?;
    let fit = args.fit.resolve(c.quick, 1)?;
    let reg_covar = args.reg_covar.unwrap_or(0.0);
    check_range("reg-covar", reg_covar, |v| v >= 0.0, "finite and >= 0")?;
    let covariance = args.data.covariance.unwrap_or(gmm::Covariance::Full);
    let params = EmGmm::params(k)
        .with_covariance(covariance.into())
        .with_reg_covar(reg_covar)
        .with_tol(fit.tol)
        .with_max_iter(fit.max_iter)
        .with_n_init(fit.n_init)
        .with_init_iter(gmm::INIT_ITER)
        .with_seed(seed)
        .check()?;
    let rows = gmm::load_rows(&args.data, k, seed)?;
    let mut config = serde_json::to_value(gmm::data_config(&args.data, Some(k), &rows))
        .context("recording the configuration")?;
    if let Some(o) = config.as_object_mut() {
        o.insert("reg_covar".into(), json!(reg_covar));
        fit.record(o);
    }
    let id = RunId::new(MODEL, &spec, seed, &config);
    let dataset = spec.clone();
    Ok(Plan {
        spec,
        rows,
        k,
        params,
        tol: fit.tol,
        n_init: fit.n_init,
        reg_covar,
        run: RunMeta {
            model: MODEL,
            dataset,
            id,
            out: c.out.clone(),
            force: c.force,
            seed,
        },
    })
}

/// The singularity of PRML §9.2.1 in the CLI's words, other errors as they are.
fn explain(e: elbo_classic::Error, reg_covar: f64) -> anyhow::Error {
    match e {
        elbo_classic::Error::Numerical { what, .. }
            if what.starts_with("EM's covariance update") =>
        {
            if reg_covar > 0.0 {
                anyhow!(
                    "EM met the likelihood singularity (PRML §9.2.1) even with --reg-covar {reg_covar}: a \
                     component's covariance became singular; raise --reg-covar or use `elbo vgmm`, whose \
                     Wishart prior prevents the collapse"
                )
            } else {
                anyhow!(
                    "EM met the likelihood singularity (PRML §9.2.1): a component collapsed onto a single \
                     point, its covariance became singular and the likelihood unbounded; set a covariance \
                     floor with --reg-covar (e.g. --reg-covar 1e-6) or use `elbo vgmm`, whose Wishart prior \
                     prevents the collapse"
                )
            }
        }
        e => anyhow::Error::from(e).context("fitting the mixture by EM"),
    }
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let x = self.rows.train.view();
        let n = self.rows.n_train();
        progress.set_label(format!("{}: K = {}", self.label(), self.k));
        let fit: EmGmmFit = self
            .params
            .fit_with(x, |_restart, i, ll| progress.update(i, ll))
            .map_err(|e| explain(e, self.reg_covar))?;
        let loglik = fit.objective();
        ensure!(
            loglik.is_finite() && fit.weights().iter().all(|w| w.is_finite()),
            "EM produced a non-finite log-likelihood ({loglik}); set a covariance floor with --reg-covar"
        );
        let heldout = match &self.rows.test {
            Some(t) => Some(fit.heldout_loglik_per_point(t.view())?),
            None => None,
        };
        let wall = start.elapsed().as_secs_f64();
        let weights = fit.weights().clone();
        let n_eff = gmm::effective(&weights);
        // The labels that started the one restart, for a peer.
        let mut extra = Vec::new();
        if self.rows.split.is_some() && self.n_init == 1 {
            let labels = gmm::init_labels(x, self.k, self.run.seed, 0)?;
            extra.push((
                "init.json".to_string(),
                gmm::init_json(&labels, self.run.seed, 0),
            ));
        }

        // ---- metrics.json.
        let mut m = Metrics::new(&self.run.id);
        m.set("k", self.k)?;
        m.set("weights", weights.to_vec())?;
        m.set("effective_components", n_eff)?;
        if let Some(h) = heldout {
            self.rows.record_heldout(&mut m, h)?;
        }
        m.set("loglik", loglik)?;
        m.set("loglik_per_point", loglik / n as f64)?;
        m.set("reg_covar", fit.reg_covar())?;
        m.set("n_iter", fit.n_iter())?;
        m.set("converged", fit.converged())?;
        m.set("means", gmm::rows(&fit.means().view()))?;
        self.rows.record(&mut m)?;
        let metrics = m.finish(wall, fit.loglik_trace());

        // ---- Figures.
        let name = &self.spec;
        let mut figures = Vec::new();
        let mut notes = Vec::new();
        let comps = gmm::ellipses(fit.means(), fit.covariances(), &weights);
        match gmm::fit_figure(MODEL, name, &self.rows, &comps)? {
            Ok(f) => figures.push(f),
            Err(note) => notes.push(note),
        }
        figures.push(FigureFile {
            file: "bound_trace.svg".into(),
            title: "Log-likelihood per iteration".into(),
            svg: plot::bound_trace(
                &format!(
                    "{MODEL} on {name}, K = {}: log-likelihood per iteration",
                    self.k
                ),
                fit.loglik_trace(),
            )
            .to_svg()?,
        });
        figures.push(gmm::weights_figure(MODEL, name, &weights)?);

        // ---- Summary.
        let mut summary = vec![
            format!(
                "{MODEL} on {name} ({}), seed {}: K = {}, {n_eff} components with pi > 0.01 ({})",
                self.rows.describe(),
                self.run.seed,
                self.k,
                gmm::fmt_weights(&weights)
            ),
            format!(
                "log-likelihood {} ({} per point) after {} iterations{}",
                fmt_num(loglik),
                fmt_num(loglik / n as f64),
                fit.n_iter(),
                if fit.converged() || self.tol == 0.0 {
                    ""
                } else {
                    " (not converged)"
                }
            ),
        ];
        if let Some(h) = heldout {
            summary.push(format!(
                "held-out log-likelihood per point (plug-in): {} ({} test rows)",
                fmt_num(h),
                self.rows.n_test()
            ));
        }
        summary.extend(notes);
        let mut warnings = Vec::new();
        if !fit.converged() && self.tol > 0.0 {
            warnings.push(format!(
                "the log-likelihood did not converge in {} iterations (tol {:e}); raise --max-iter",
                fit.n_iter(),
                self.tol
            ));
        }
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            warnings,
            split: self.rows.split.clone(),
            data_csv: self.rows.data_csv.clone(),
            extra,
        })
    }
}
