//! `elbo gradient-variance`: the variance of the gradient estimators of
//! `elbo_deep::estimators` on the Gaussian toy of Mohamed, Rosca, Figurnov
//! & Mnih (2020) §3 (their Figs. 2–3): η = ∇_{μ,σ} E_{N(μ,σ²)}[f(x; k)] for
//! f = (x − k)², (x − k)³, exp(−k x²), cos(k x).
//!
//! Four sweeps, each measured by repeating the estimate `--repeats` times
//! and beside the exact variance (quadrature): against k (the paper's
//! x-axis; μ = σ = 1 there), against the number of samples N, against μ and
//! against σ. Plus the importance-weighted bound L_k against k on a
//! conjugate Gaussian where ln p(x) is exact (Burda et al. 2016).
//!
//! Nothing is optimised, so `elbo_trace` is empty; the results are the
//! `variance` tables and `iwae`.

use std::time::Instant;

use anyhow::{Context, bail, ensure};
use elbo_core::rng::{ElboRng, seeded};
use elbo_deep::estimators::{
    ConjugateGaussian, Estimator, ExactVariances, Gaussian, GradientEstimator, OptimalFrom,
    TestFunction, estimate_bound, measure,
};
use serde::Serialize;
use serde_json::{Value, json};

use super::{FigureFile, ModelRun, Prepared, RunMeta, check_range, fmt_num};
use crate::cli::CommonArgs;
use crate::metrics::{Metrics, config_value};
use crate::output::RunId;
use crate::plot::{self, Figure, Layer, colour};
use crate::progress::Progress;

/// The command's name in `metrics.json` and directory names.
pub const MODEL: &str = "gradient-variance";
/// The "data set": a synthetic Gaussian toy, nothing is read.
pub const DATASET: &str = "gaussian-toy";

/// Flags of `elbo gradient-variance`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Shared flags (`--data` is not used: the toy is synthetic).
    #[command(flatten)]
    pub common: CommonArgs,
    /// Test functions, comma-separated: square (x−k)², cubic (x−k)³, exp
    /// exp(−k x²), cos cos(k x) [default: all four].
    #[arg(long, value_name = "LIST")]
    pub functions: Option<String>,
    /// Mean μ of q = N(μ, σ²) for the k and N sweeps [default: 1, as in
    /// Mohamed et al. 2020 Fig. 2].
    #[arg(long, value_name = "MU", allow_hyphen_values = true)]
    pub mu: Option<f64>,
    /// Standard deviation σ > 0 of q for the k, N and μ sweeps [default: 1].
    #[arg(long, value_name = "SIGMA", allow_hyphen_values = true)]
    pub sigma: Option<f64>,
    /// The cost parameter k for the N, μ and σ sweeps [default: 1].
    #[arg(long, value_name = "K", allow_hyphen_values = true)]
    pub k: Option<f64>,
    /// Samples N ≥ 1 per gradient estimate in the k, μ and σ sweeps
    /// [default: 16].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub samples: Option<i64>,
    /// Sample sizes of the N sweep, comma-separated, each ≥ 1
    /// [default: 1,2,4,…,256; 1,4,16,64 with --quick].
    #[arg(long, value_name = "LIST")]
    pub sample_sweep: Option<String>,
    /// Independent estimates per point, ≥ 2, from which the variance is
    /// measured [default: 2000; 300 with --quick].
    #[arg(long, value_name = "R", allow_hyphen_values = true)]
    pub repeats: Option<i64>,
    /// Decay β ∈ [0, 1) of the moving-average baseline (and of the running
    /// estimate of the optimal baseline) [default: 0.9].
    #[arg(long, value_name = "B", allow_hyphen_values = true)]
    pub decay: Option<f64>,
    /// Where the optimal baseline b* = E[f s²]/E[s²] is estimated from:
    /// past (running averages over earlier batches), loo (the other N−1
    /// samples), separate (a second batch) [default: past].
    #[arg(long, value_name = "FROM")]
    pub optimal_from: Option<String>,
}

/// Everything that defines the run (`metrics.json` `config`).
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Test functions, by name.
    pub functions: Vec<String>,
    /// μ of the base point.
    pub mu: f64,
    /// σ of the base point.
    pub sigma: f64,
    /// k for the N, μ and σ sweeps.
    pub k: f64,
    /// Samples per estimate (k, μ, σ sweeps and the headline).
    pub samples: usize,
    /// The N sweep.
    pub sample_sweep: Vec<usize>,
    /// Estimates per point.
    pub repeats: usize,
    /// Moving-average decay.
    pub decay: f64,
    /// Source of the optimal baseline.
    pub optimal_from: &'static str,
    /// k values of the k sweep for (x−k)² and (x−k)³.
    pub k_grid_shift: Vec<f64>,
    /// k values of the k sweep for exp(−kx²) and cos(kx).
    pub k_grid_scale: Vec<f64>,
    /// μ values of the μ sweep.
    pub mu_grid: Vec<f64>,
    /// σ values of the σ sweep.
    pub sigma_grid: Vec<f64>,
    /// The IWAE toy: p(z) = N(0,1), p(x|z) = N(z, s²), observed x, q.
    pub iwae: IwaeConfig,
    /// `--quick`.
    pub quick: bool,
}

/// The IWAE toy's settings.
#[derive(Debug, Clone, Serialize)]
pub struct IwaeConfig {
    /// Likelihood standard deviation s.
    pub noise_sd: f64,
    /// The observation x.
    pub x: f64,
    /// Mean of q(z) (off the posterior on purpose).
    pub q_mu: f64,
    /// Standard deviation of q(z).
    pub q_sigma: f64,
    /// The k values.
    pub ks: Vec<usize>,
    /// Independent draws of ln (1/k) Σ w per k.
    pub draws: usize,
}

/// A validated run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    functions: Vec<TestFunction>,
    optimal_from: OptimalFrom,
    run: RunMeta,
}

/// A non-negative integer flag that must be ≥ `min`.
fn count(name: &str, v: Option<i64>, default: usize, min: usize) -> anyhow::Result<usize> {
    match v {
        None => Ok(default),
        Some(n) if n >= min as i64 => Ok(n as usize),
        Some(n) => bail!("--{name} must be an integer >= {min}, got {n}"),
    }
}

/// n points from a to b inclusive.
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n.max(2) - 1) as f64)
        .collect()
}

/// n points from 10^a to 10^b, evenly spaced in log10.
fn logspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    linspace(a, b, n)
        .into_iter()
        .map(|e| 10f64.powf(e))
        .collect()
}

/// Validate the flags.
pub fn prepare(args: Args) -> anyhow::Result<Box<dyn Prepared>> {
    let c = &args.common;
    if let Some(d) = &c.data {
        bail!("gradient-variance uses a synthetic Gaussian toy; --data {d} is not used");
    }
    let seed = c.seed();
    let quick = c.quick;

    let names: Vec<String> = match &args.functions {
        Some(s) => s.split(',').map(|n| n.trim().to_string()).collect(),
        None => TestFunction::NAMES.iter().map(|s| s.to_string()).collect(),
    };
    ensure!(
        names.iter().all(|n| !n.is_empty()),
        "--functions must list square, cubic, exp or cos separated by commas, got `{}`",
        args.functions.clone().unwrap_or_default()
    );
    let mu = args.mu.unwrap_or(1.0);
    check_range("mu", mu, |_| true, "finite")?;
    let sigma = args.sigma.unwrap_or(1.0);
    check_range("sigma", sigma, |v| v > 0.0, "> 0")?;
    let k = args.k.unwrap_or(1.0);
    check_range("k", k, |_| true, "finite")?;
    let mut functions = Vec::new();
    for n in &names {
        ensure!(
            TestFunction::NAMES.contains(&n.as_str()),
            "--functions: unknown function `{n}` (expected square, cubic, exp, cos)"
        );
        let f = TestFunction::new(n, k).with_context(|| format!("--functions {n} with --k {k}"))?;
        if !functions.contains(&f) {
            functions.push(f);
        }
    }
    let samples = count("samples", args.samples, 16, 1)?;
    let repeats = count("repeats", args.repeats, if quick { 300 } else { 2000 }, 2)?;
    let sample_sweep: Vec<usize> = match &args.sample_sweep {
        Some(s) => s
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .map(|n| n as usize)
                    .with_context(|| {
                        format!(
                            "--sample-sweep must list integers >= 1 separated by commas, got `{s}`"
                        )
                    })
            })
            .collect::<anyhow::Result<_>>()?,
        None if quick => vec![1, 4, 16, 64],
        None => (0..=8).map(|i| 1usize << i).collect(),
    };
    let decay = args.decay.unwrap_or(elbo_deep::estimators::DEFAULT_DECAY);
    check_range("decay", decay, |v| (0.0..1.0).contains(&v), "in [0, 1)")?;
    let optimal_from = match args.optimal_from.as_deref().unwrap_or("past") {
        "past" => OptimalFrom::PastBatches,
        "loo" => OptimalFrom::LeaveOneOut,
        "separate" => OptimalFrom::SeparateBatch,
        other => bail!("--optimal-from must be past, loo or separate, got `{other}`"),
    };
    if optimal_from == OptimalFrom::LeaveOneOut {
        let smallest = sample_sweep
            .iter()
            .copied()
            .chain([samples])
            .min()
            .unwrap_or(samples);
        ensure!(
            smallest >= 2,
            "--optimal-from loo needs at least 2 samples per estimate (--samples, --sample-sweep), got {smallest}"
        );
    }
    // Validate the base point once (σ > 0 was checked above).
    Gaussian::new(mu, sigma)?;

    let n = if quick { 5 } else { 13 };
    let m = if quick { 5 } else { 9 };
    let config = Config {
        functions: functions.iter().map(|f| f.name().to_string()).collect(),
        mu,
        sigma,
        k,
        samples,
        sample_sweep,
        repeats,
        decay,
        optimal_from: optimal_from.name(),
        k_grid_shift: linspace(-3.0, 3.0, n),
        k_grid_scale: logspace(-1.0, 1.0, m),
        mu_grid: linspace(-3.0, 3.0, n),
        sigma_grid: logspace(-1.0, 1.0, m),
        iwae: IwaeConfig {
            noise_sd: 1.0,
            x: 2.0,
            q_mu: 0.3,
            q_sigma: 1.2,
            ks: vec![1, 2, 5, 10, 20, 50, 100],
            draws: if quick { 2000 } else { 20_000 },
        },
        quick,
    };
    let id = RunId::new(MODEL, DATASET, seed, &config_value(&config)?);
    Ok(Box::new(Plan {
        config,
        functions,
        optimal_from,
        run: RunMeta {
            model: MODEL,
            dataset: DATASET.to_string(),
            id,
            out: c.out.clone(),
            force: c.force,
            seed,
        },
    }))
}

/// The four estimators measured at one point.
struct Point {
    /// The x value the sweep varies.
    x: f64,
    /// Measured and exact variance per estimator, per parameter.
    measured: Vec<[f64; 2]>,
    exact: Vec<[f64; 2]>,
    row: Value,
}

impl Plan {
    /// Measure every estimator at (q, f) with N samples.
    fn point(
        &self,
        q: &Gaussian,
        f: &TestFunction,
        samples: usize,
        x: f64,
        rng: &mut ElboRng,
    ) -> anyhow::Result<Point> {
        let exact = ExactVariances::new(q, f, samples);
        let truth = f.gradient(q);
        let pair = |v: [f64; 2]| json!({"mu": v[0], "sigma": v[1]});
        let mut estimators = serde_json::Map::new();
        let (mut measured, mut exacts) = (Vec::new(), Vec::new());
        for kind in Estimator::ALL {
            let mut e = GradientEstimator::new(kind, samples)?
                .with_decay(self.config.decay)?
                .with_optimal_from(self.optimal_from)?;
            let m = measure(&mut e, q, f, self.config.repeats, rng)?;
            ensure!(
                m.variance.iter().all(|v| v.is_finite()),
                "the {} estimator's variance is not finite at {f}, mu {}, sigma {}",
                kind.name(),
                q.mu(),
                q.sigma()
            );
            estimators.insert(
                kind.name().to_string(),
                json!({
                    "mean": pair(m.mean),
                    "std_error": pair(m.std_error()),
                    "variance": pair(m.variance),
                    "exact_variance": pair(exact.get(kind)),
                }),
            );
            measured.push(m.variance);
            exacts.push(exact.get(kind));
        }
        let row = json!({
            "function": f.name(),
            "k": f.k(),
            "mu": q.mu(),
            "sigma": q.sigma(),
            "samples": samples,
            "truth": pair(truth),
            "optimal_baseline": pair(exact.optimal_baseline),
            "mean_cost": exact.mean_cost,
            "estimators": estimators,
        });
        Ok(Point {
            x,
            measured,
            exact: exacts,
            row,
        })
    }
}

/// One figure panel: measured variance (markers) and exact (lines), log10.
fn panel(title: String, x_label: &str, param: usize, points: &[Point], legend: bool) -> Figure {
    let name = ["μ", "σ"][param];
    let mut fig = Figure::new(title, x_label, format!("Var of ∂/∂{name}")).log10_y();
    for (j, kind) in Estimator::ALL.into_iter().enumerate() {
        let col = estimator_colour(kind);
        let log = |v: f64| if v > 0.0 { v.log10() } else { f64::NAN };
        let exact: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.x, log(p.exact[j][param])))
            .filter(|(_, y)| y.is_finite())
            .collect();
        let measured: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.x, log(p.measured[j][param])))
            .filter(|(_, y)| y.is_finite())
            .collect();
        fig = fig
            .layer(Layer::Line {
                points: exact,
                colour: col,
                label: legend.then(|| kind.label().to_string()),
            })
            .layer(Layer::Points {
                points: measured,
                colour: col,
                label: None,
            });
    }
    fig
}

fn estimator_colour(kind: Estimator) -> plotters::style::RGBColor {
    match kind {
        Estimator::Score => colour::RED,
        Estimator::ScoreMovingAverage => colour::ORANGE,
        Estimator::ScoreOptimal => colour::PURPLE,
        Estimator::Pathwise => colour::BLUE,
    }
}

/// A sweep: per function, the points.
type Sweep = Vec<(TestFunction, Vec<Point>)>;

fn sweep_figure(
    title: &str,
    x_label: &dyn Fn(&TestFunction) -> String,
    sweep: &Sweep,
) -> anyhow::Result<String> {
    let mut panels = Vec::new();
    for (i, (f, pts)) in sweep.iter().enumerate() {
        for param in 0..2 {
            panels.push(panel(
                f.name().to_string(),
                &x_label(f),
                param,
                pts,
                i == 0 && param == 0,
            ));
        }
    }
    plot::small_multiples(title, &panels, 2)
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let cfg = &self.config;
        let mut rng = seeded(self.run.seed);
        let base = Gaussian::new(cfg.mu, cfg.sigma)?;
        let label = self.label();

        // ---- Against k (Mohamed et al. 2020 Figs. 2–3).
        progress.set_label(format!("{label}: against k"));
        let mut vs_k: Sweep = Vec::new();
        for f0 in &self.functions {
            let (grid, log_x) = match f0 {
                TestFunction::Square { .. } | TestFunction::Cubic { .. } => {
                    (&cfg.k_grid_shift, false)
                }
                _ => (&cfg.k_grid_scale, true),
            };
            let mut pts = Vec::new();
            for &k in grid {
                let f = f0.with_k(k)?;
                let x = if log_x { k.log10() } else { k };
                pts.push(self.point(&base, &f, cfg.samples, x, &mut rng)?);
            }
            vs_k.push((*f0, pts));
        }

        // ---- Against the number of samples.
        progress.set_label(format!("{label}: against N"));
        let mut vs_n: Sweep = Vec::new();
        for f in &self.functions {
            let mut pts = Vec::new();
            for &n in &cfg.sample_sweep {
                pts.push(self.point(&base, f, n, (n as f64).log10(), &mut rng)?);
            }
            vs_n.push((*f, pts));
        }

        // ---- Against μ and σ.
        progress.set_label(format!("{label}: against mu and sigma"));
        let mut vs_mu: Sweep = Vec::new();
        let mut vs_sigma: Sweep = Vec::new();
        for f in &self.functions {
            let mut pts = Vec::new();
            for &mu in &cfg.mu_grid {
                let q = Gaussian::new(mu, cfg.sigma)?;
                pts.push(self.point(&q, f, cfg.samples, mu, &mut rng)?);
            }
            vs_mu.push((*f, pts));
            let mut pts = Vec::new();
            for &s in &cfg.sigma_grid {
                let q = Gaussian::new(cfg.mu, s)?;
                pts.push(self.point(&q, f, cfg.samples, s.log10(), &mut rng)?);
            }
            vs_sigma.push((*f, pts));
        }

        // ---- Headline: the base point, N = samples.
        let mut headline = Vec::new();
        for f in &self.functions {
            headline.push(self.point(&base, f, cfg.samples, 0.0, &mut rng)?);
        }

        // ---- The importance-weighted bound.
        progress.set_label(format!("{label}: IWAE bound"));
        let ic = &cfg.iwae;
        let model = ConjugateGaussian::new(ic.noise_sd)?;
        let q = Gaussian::new(ic.q_mu, ic.q_sigma)?;
        let log_px = model.log_evidence(ic.x);
        let mut bounds = Vec::new();
        for &k in &ic.ks {
            bounds.push(estimate_bound(&model, ic.x, &q, k, ic.draws, &mut rng)?);
        }
        let wall = start.elapsed().as_secs_f64();

        // ---- metrics.json.
        let rows = |s: &Sweep| -> Vec<Value> {
            s.iter()
                .flat_map(|(_, pts)| pts.iter().map(|p| p.row.clone()))
                .collect()
        };
        let mut m = Metrics::new(&self.run.id);
        m.set(
            "variance",
            json!({
                "parameters": ["mu", "sigma"],
                "note": "variance of one gradient estimate from `samples` draws; measured over config.repeats estimates; exact_variance by quadrature with the ideal baselines (E f, b*)",
                "vs_k": rows(&vs_k),
                "vs_samples": rows(&vs_n),
                "vs_mu": rows(&vs_mu),
                "vs_sigma": rows(&vs_sigma),
            }),
        )?;
        m.set(
            "headline",
            headline.iter().map(|p| p.row.clone()).collect::<Vec<_>>(),
        )?;
        m.set(
            "iwae",
            json!({
                "log_evidence": log_px,
                "elbo": model.elbo(ic.x, &q),
                "bounds": bounds,
            }),
        )?;
        let metrics = m.finish(wall, &[]);

        // ---- Figures.
        let k_label = |f: &TestFunction| match f {
            TestFunction::Square { .. } | TestFunction::Cubic { .. } => "k".to_string(),
            _ => "log10 k".to_string(),
        };
        let base_desc = format!("μ = {}, σ = {}, N = {}", cfg.mu, cfg.sigma, cfg.samples);
        let mut figures = vec![
            FigureFile {
                file: "variance_vs_k.svg".into(),
                title: format!(
                    "Variance against k ({base_desc}; Mohamed et al. 2020 Figs. 2–3): markers measured, lines exact"
                ),
                svg: sweep_figure(
                    &format!("Gradient variance against k ({base_desc})"),
                    &k_label,
                    &vs_k,
                )?,
            },
            FigureFile {
                file: "variance_vs_samples.svg".into(),
                title: "Variance against the number of samples N".into(),
                svg: sweep_figure(
                    &format!(
                        "Gradient variance against N (μ = {}, σ = {}, k = {})",
                        cfg.mu, cfg.sigma, cfg.k
                    ),
                    &|_| "log10 N".to_string(),
                    &vs_n,
                )?,
            },
            FigureFile {
                file: "variance_vs_mu.svg".into(),
                title: "Variance against μ".into(),
                svg: sweep_figure(
                    &format!(
                        "Gradient variance against μ (σ = {}, k = {}, N = {})",
                        cfg.sigma, cfg.k, cfg.samples
                    ),
                    &|_| "μ".to_string(),
                    &vs_mu,
                )?,
            },
            FigureFile {
                file: "variance_vs_sigma.svg".into(),
                title: "Variance against σ".into(),
                svg: sweep_figure(
                    &format!(
                        "Gradient variance against σ (μ = {}, k = {}, N = {})",
                        cfg.mu, cfg.k, cfg.samples
                    ),
                    &|_| "log10 σ".to_string(),
                    &vs_sigma,
                )?,
            },
        ];
        let pts: Vec<(f64, f64)> = bounds
            .iter()
            .map(|b| ((b.k as f64).log10(), b.bound))
            .collect();
        let lo = pts.first().map(|p| p.0).unwrap_or(0.0);
        let hi = pts.last().map(|p| p.0).unwrap_or(1.0);
        let iwae_fig = Figure::new(
            "IWAE bound L_k against k (conjugate Gaussian toy)",
            "log10 k",
            "nats",
        )
        .layer(Layer::ErrorBars {
            points: bounds
                .iter()
                .map(|b| ((b.k as f64).log10(), b.bound, 2.0 * b.std_error))
                .collect(),
            colour: colour::BLUE,
            label: Some("L_k ± 2 s.e.".into()),
        })
        .layer(Layer::Line {
            points: pts,
            colour: colour::BLUE,
            label: None,
        })
        .layer(Layer::Line {
            points: vec![(lo, log_px), (hi, log_px)],
            colour: colour::BLACK,
            label: Some("ln p(x), exact".into()),
        })
        .legend_lower_right();
        figures.push(FigureFile {
            file: "iwae_bound.svg".into(),
            title: "The importance-weighted bound tightens with k (Burda et al. 2016, Theorem 1)"
                .into(),
            svg: iwae_fig.to_svg()?,
        });

        // ---- Summary.
        let mut summary = vec![format!(
            "gradient variance at {base_desc} ({} estimates per point), d/dmu | d/dsigma:",
            cfg.repeats
        )];
        for (f, p) in self.functions.iter().zip(&headline) {
            let cells: Vec<String> = Estimator::ALL
                .iter()
                .enumerate()
                .map(|(j, kind)| {
                    format!(
                        "{} {} | {}",
                        kind.name(),
                        fmt_num(p.measured[j][0]),
                        fmt_num(p.measured[j][1])
                    )
                })
                .collect();
            summary.push(format!("  {f}: {}", cells.join(", ")));
        }
        let bound_cells: Vec<String> = bounds
            .iter()
            .map(|b| format!("L_{} {}", b.k, fmt_num(b.bound)))
            .collect();
        summary.push(format!(
            "IWAE: {}; ln p(x) {}",
            bound_cells.join(", "),
            fmt_num(log_px)
        ));

        Ok(ModelRun {
            metrics,
            figures,
            summary,
            ..ModelRun::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids() {
        assert_eq!(linspace(-1.0, 1.0, 3), vec![-1.0, 0.0, 1.0]);
        let l = logspace(-1.0, 1.0, 3);
        assert!((l[0] - 0.1).abs() < 1e-12 && (l[2] - 10.0).abs() < 1e-12);
    }
}
