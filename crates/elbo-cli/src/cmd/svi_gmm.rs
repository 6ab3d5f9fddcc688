//! `elbo svi-gmm`: stochastic variational inference for the Bayesian
//! Gaussian mixture (Hoffman, Blei, Wang & Paisley 2013).
//!
//! The model and priors are those of `elbo vgmm`; the global factors move
//! by natural-gradient steps on seeded minibatches (`--batch-size`) with the
//! Robbins–Monro step ρ_t = (t + τ)^(−κ) (`--tau`, `--kappa`) for
//! `--epochs` passes. `elbo_trace` holds the noisy minibatch estimates of
//! the bound, one per step; `bound_per_point` is the bound on all training
//! rows at the final globals with q(Z) at its optimum (one full E-step).
//! `--compare-batch` also fits batch CAVI (`elbo vgmm`'s fit, same prior and
//! seed) and reports the relative gap between the two bounds per point.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, ensure};
use elbo_classic::mixture::{SviGmm, SviGmmValidParams, VgmmValidParams};
use ndarray::{Array1, Array3, Axis};
use serde_json::json;

use super::gmm::{self, DataArgs, PriorArgs, Rows};
use super::{FigureFile, ModelRun, Prepared, check_range, default_out, fmt_num};
use crate::metrics::Metrics;
use crate::output::RunId;
use crate::plot::{Figure, Layer, colour};
use crate::progress::Progress;

/// The model's name in `metrics.json` and directory names.
pub const MODEL: &str = "svi-gmm";
/// K when `--k` is not given.
const DEFAULT_K: usize = 6;
/// Passes over the data under `--quick` (unless `--epochs`).
const QUICK_EPOCHS: usize = 2;

/// Flags of `elbo svi-gmm`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Data and preprocessing.
    #[command(flatten)]
    pub data: DataArgs,
    /// The prior.
    #[command(flatten)]
    pub prior: PriorArgs,
    /// Points per minibatch |B| ≥ 1 [default: 1000].
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// Delay τ > 0 of the step size ρ_t = (t + τ)^(−κ) [default: 1].
    #[arg(long, value_name = "TAU")]
    pub tau: Option<f64>,
    /// Forgetting rate κ ∈ (0.5, 1] of ρ_t = (t + τ)^(−κ) [default: 0.7].
    #[arg(long, value_name = "KAPPA")]
    pub kappa: Option<f64>,
    /// Passes over the training rows [default: 10; 2 with --quick].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Also fit batch CAVI (as `elbo vgmm`, same prior and seed) and report
    /// the gap between the bounds per point.
    #[arg(long)]
    pub compare_batch: bool,
}

/// A validated `svi-gmm` run.
#[derive(Debug)]
pub struct Plan {
    spec: String,
    rows: Rows,
    k: usize,
    params: SviGmmValidParams,
    batch: Option<VgmmValidParams>,
    id: RunId,
    out: Option<PathBuf>,
    force: bool,
    seed: u64,
}

/// Validate the flags and load the data.
pub fn prepare(args: Args) -> anyhow::Result<Plan> {
    let c = &args.data.common;
    let seed = c.seed();
    let spec = gmm::data_spec(&args.data);
    let k = gmm::check_k(args.data.k.unwrap_or(DEFAULT_K))?;
    let prior = args.prior.resolve()?;
    let batch_size = args.batch_size.unwrap_or(1000);
    ensure!(
        batch_size >= 1,
        "--batch-size must be at least 1, got {batch_size}"
    );
    let tau = args.tau.unwrap_or(1.0);
    // τ = 0 would make the first step ρ_0 = 0^(−κ) infinite.
    check_range("tau", tau, |v| v > 0.0, "finite and > 0")?;
    let kappa = args.kappa.unwrap_or(0.7);
    check_range(
        "kappa",
        kappa,
        |v| v > 0.5 && v <= 1.0,
        "in (0.5, 1] (Robbins-Monro)",
    )?;
    let epochs = args
        .epochs
        .unwrap_or(if c.quick { QUICK_EPOCHS } else { 10 });
    ensure!(epochs >= 1, "--epochs must be at least 1, got {epochs}");
    let covariance = args.data.covariance.unwrap_or(gmm::Covariance::Full);
    let rows = gmm::load_rows(&args.data, k, seed)?;
    let d = rows.dim();
    prior.check_nu0(d, covariance)?;
    let model = prior.params(k, d, covariance, seed);
    let params = SviGmm::params(k)
        .with_model(model.clone())
        .with_batch_size(batch_size)
        .with_tau(tau)
        .with_kappa(kappa)
        .with_epochs(epochs)
        .check()?;
    let batch = if args.compare_batch {
        Some(
            model
                .with_tol(gmm::DEFAULT_TOL)
                .with_max_iter(gmm::DEFAULT_MAX_ITER)
                .check()?,
        )
    } else {
        None
    };
    let mut config = serde_json::to_value(gmm::data_config(&args.data, Some(k), &rows))
        .context("recording the configuration")?;
    let extra = prior.config(Some(k), d);
    if let (Some(o), Some(p)) = (config.as_object_mut(), extra.as_object()) {
        o.extend(p.clone());
        o.insert("batch_size".into(), json!(batch_size));
        o.insert("tau".into(), json!(tau));
        o.insert("kappa".into(), json!(kappa));
        o.insert("epochs".into(), json!(epochs));
        o.insert("compare_batch".into(), json!(args.compare_batch));
        if args.compare_batch {
            o.insert("batch_tol".into(), json!(gmm::DEFAULT_TOL));
            o.insert("batch_max_iter".into(), json!(gmm::DEFAULT_MAX_ITER));
        }
    }
    let id = RunId::new(MODEL, &spec, seed, &config);
    Ok(Plan {
        spec,
        rows,
        k,
        params,
        batch,
        id,
        out: c.out.clone(),
        force: c.force,
        seed,
    })
}

/// The mean of the last `w` values at each position (fewer at the start).
fn running_mean(v: &[f64], w: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(v.len());
    let mut sum = 0.0;
    for (i, &x) in v.iter().enumerate() {
        sum += x;
        if i >= w {
            sum -= v[i - w];
        }
        out.push(sum / (i + 1).min(w) as f64);
    }
    out
}

/// The covariances (ν_k W_k)⁻¹ of the current globals, K × D × D.
fn covariances(m: &SviGmm) -> anyhow::Result<Array3<f64>> {
    let (w, nu) = (m.w_k()?, m.nu_k()?);
    let (k, d) = (w.len_of(Axis(0)), w.len_of(Axis(1)));
    let mut out = Array3::zeros((k, d, d));
    for c in 0..k {
        let prec = w.index_axis(Axis(0), c).mapv(|v| v * nu[c]);
        let inv = gmm::spd_inverse(&prec.view())
            .with_context(|| format!("component {c}: E[Lambda] is singular"))?;
        out.index_axis_mut(Axis(0), c).assign(&inv);
    }
    Ok(out)
}

impl Prepared for Plan {
    fn id(&self) -> &RunId {
        &self.id
    }

    fn out_dir(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| default_out(MODEL, &self.spec, self.seed))
    }

    fn force(&self) -> bool {
        self.force
    }

    fn label(&self) -> String {
        format!("{MODEL} on {}", self.spec)
    }

    fn seed(&self) -> u64 {
        self.seed
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let x = self.rows.train.view();
        let n = self.rows.n_train() as f64;
        progress.set_label(format!("{}: K = {}", self.label(), self.k));
        let model = self
            .params
            .fit(x)
            .context("fitting the mixture by stochastic variational inference")?;
        let svi_seconds = start.elapsed().as_secs_f64();
        let bound = model.elbo_on(x)?;
        ensure!(
            bound.is_finite(),
            "the bound is not finite after SVI ({bound}); lower --kappa's step sizes or standardise the data"
        );
        let weights: Array1<f64> = model.weights()?;
        let n_eff = gmm::effective(&weights);
        let heldout = match &self.rows.test {
            Some(t) => Some(model.heldout_loglik_per_point(t.view())?),
            None => None,
        };
        // ---- Batch CAVI on the same rows, if asked.
        let batch = match &self.batch {
            Some(p) => {
                progress.set_label(format!("{}: batch CAVI for comparison", self.label()));
                let t0 = Instant::now();
                let fit = p.fit(x).context("fitting batch CAVI for --compare-batch")?;
                let secs = t0.elapsed().as_secs_f64();
                let collapsed = fit.elbo_on(x)? / n;
                let mut b = json!({
                    "bound_per_point": collapsed,
                    "final_bound_per_point": fit.elbo() / n,
                    "n_iter": fit.n_iter(),
                    "converged": fit.converged(),
                    "seconds": secs,
                    "weights": fit.weights().to_vec(),
                    "effective_components": fit.effective_components(gmm::EFFECTIVE_WEIGHT),
                });
                if let Some(t) = &self.rows.test {
                    b["heldout_loglik_per_point"] = json!(fit.heldout_loglik_per_point(t.view())?);
                }
                Some((b, collapsed, fit))
            }
            None => None,
        };
        let wall = start.elapsed().as_secs_f64();

        // ---- metrics.json.
        let mut m = Metrics::new(&self.id);
        m.set("k", self.k)?;
        m.set("weights", weights.to_vec())?;
        m.set("effective_components", n_eff)?;
        if let Some(h) = heldout {
            self.rows.record_heldout(&mut m, h)?;
        }
        m.set("bound", bound)?;
        m.set("bound_per_point", bound / n)?;
        m.set("n_steps", model.n_steps())?;
        m.set("next_step_size", model.next_step_size())?;
        m.set("svi_seconds", svi_seconds)?;
        m.set("prior", gmm::prior_json(model.prior()?))?;
        m.set("beta_k", model.beta_k()?.to_vec())?;
        m.set("nu_k", model.nu_k()?.to_vec())?;
        m.set("m_k", gmm::rows(&model.m_k()?.view()))?;
        if let Some((b, collapsed, _)) = &batch {
            m.set("batch", b)?;
            m.set(
                "relative_gap_to_batch",
                (collapsed - bound / n) / collapsed.abs(),
            )?;
        }
        self.rows.record(&mut m)?;
        let metrics = m.finish(wall, model.elbo_trace());

        // ---- Figures.
        let name = &self.spec;
        let mut figures = Vec::new();
        let mut notes = Vec::new();
        let comps = gmm::ellipses(model.m_k()?, &covariances(&model)?, &weights);
        match gmm::fit_figure(MODEL, name, &self.rows, &comps)? {
            Ok(f) => figures.push(f),
            Err(note) => notes.push(note),
        }
        let trace = model.elbo_trace();
        let mut f = Figure::new(
            format!("{MODEL} on {name}: minibatch estimates of the bound per point"),
            "step",
            "bound per point (estimate)",
        )
        .legend_lower_right()
        .layer(Layer::Line {
            points: trace
                .iter()
                .enumerate()
                .map(|(i, &b)| ((i + 1) as f64, b / n))
                .collect(),
            colour: colour::SKY,
            label: Some("SVI, minibatch estimate".into()),
        })
        .layer(Layer::Line {
            points: running_mean(trace, (trace.len() / 50).max(1))
                .into_iter()
                .enumerate()
                .map(|(i, b)| ((i + 1) as f64, b / n))
                .collect(),
            colour: colour::BLUE,
            label: Some("running mean".into()),
        });
        if let Some((_, collapsed, _)) = &batch {
            f = f.layer(Layer::Line {
                points: vec![(1.0, *collapsed), (trace.len().max(2) as f64, *collapsed)],
                colour: colour::RED,
                label: Some("batch CAVI, converged".into()),
            });
        }
        // The first steps start far below; show the second half's scale.
        let tail: Vec<f64> = trace[trace.len() / 10..].iter().map(|b| b / n).collect();
        let lo = tail.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = tail
            .iter()
            .copied()
            .chain(batch.as_ref().map(|b| b.1))
            .fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi.is_finite() && hi > lo {
            let pad = 0.1 * (hi - lo);
            f = f.y_range(lo - pad, hi + pad);
        }
        figures.push(FigureFile {
            file: "bound_trace.svg".into(),
            title: "Minibatch estimates of the bound per point, per step".into(),
            svg: f.to_svg()?,
        });
        figures.push(gmm::weights_figure(MODEL, name, &weights)?);

        // ---- Summary.
        let mut summary = vec![
            format!(
                "{MODEL} on {name} ({}), seed {}: K = {}, {n_eff} components with E[pi] > 0.01 ({})",
                self.rows.describe(),
                self.seed,
                self.k,
                gmm::fmt_weights(&weights)
            ),
            format!(
                "bound {} ({} per point) after {} steps in {} s",
                fmt_num(bound),
                fmt_num(bound / n),
                model.n_steps(),
                fmt_num(svi_seconds)
            ),
        ];
        if let Some((b, collapsed, fit)) = &batch {
            summary.push(format!(
                "batch CAVI: {} per point after {} iterations in {} s; SVI is {} % below",
                fmt_num(*collapsed),
                fit.n_iter(),
                fmt_num(b["seconds"].as_f64().unwrap_or(f64::NAN)),
                fmt_num(100.0 * (collapsed - bound / n) / collapsed.abs())
            ));
        }
        if let Some(h) = heldout {
            summary.push(format!(
                "held-out log-likelihood per point (Student-t predictive, PRML 10.81): {} ({} test rows)",
                fmt_num(h),
                self.rows.n_test()
            ));
        }
        summary.extend(notes);
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            warnings: Vec::new(),
            split: self.rows.split.clone(),
            data_csv: self.rows.data_csv.clone(),
            extra: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_means() {
        assert_eq!(
            running_mean(&[1.0, 3.0, 5.0, 7.0], 2),
            vec![1.0, 2.0, 4.0, 6.0]
        );
        assert_eq!(running_mean(&[2.0], 5), vec![2.0]);
    }
}
