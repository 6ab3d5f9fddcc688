//! `elbo vae`: the variational auto-encoder and IWAE (Kingma & Welling
//! 2014; Burda et al. 2016) on binarised images.
//!
//! Trains with the ELBO (pathwise or score-function gradients) or the
//! importance-weighted bound L_k, then evaluates the test ELBO, the test
//! log-likelihood by importance sampling with `--eval-k` samples (5000 as
//! in Burda et al.), active units and KL per latent dimension, and with
//! `--gaps N` the approximation and amortisation gaps of N test points
//! (Cremer et al. 2018). Figures: training curves, reconstructions,
//! samples, and the latent manifold when `--latent 2`.
//!
//! Data: `digits` (embedded 8×8; first 1500 images train, last 297 test),
//! `fashion-mnist[:DIR]` (Debian's `dataset-fashion-mnist` by default),
//! `mnist:DIR`, or a directory holding `train-` and `t10k-` IDX files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use clap::ValueEnum;
use elbo_deep::data::{self, ImageSet, Split};
use elbo_deep::vae::eval::{self, GapOptions};
use elbo_deep::vae::{
    Activation, Estimator, Likelihood, Objective, TrainConfig, Trainer, Vae, VaeConfig,
};
use serde::Serialize;

use super::{FigureFile, ModelRun, Prepared, RunMeta, check_range, default_out, fmt_num};
use crate::cli::CommonArgs;
use crate::distributed::Comm;
use crate::image_grid::{ImageGrid, normal_quantile};
use crate::metrics::{Metrics, config_value};
use crate::output::RunId;
use crate::plot::{Figure, Layer, colour};
use crate::progress::Progress;

/// The model's name in `metrics.json` and directory names.
pub const MODEL: &str = "vae";
/// Data set used when `--data` is not given.
pub const DEFAULT_DATA: &str = "digits";
/// Images of the embedded digits used for training (the rest are the test
/// set).
pub const DIGITS_TRAIN: usize = 1500;

/// `--objective`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ObjectiveArg {
    /// The ELBO (k samples averaged).
    Elbo,
    /// The importance-weighted bound L_k.
    Iwae,
}

/// `--estimator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EstimatorArg {
    /// Reparameterisation.
    Pathwise,
    /// Score function with a moving-average baseline.
    Score,
}

/// `--activation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// tanh.
    Tanh,
    /// ReLU.
    Relu,
}

/// `--likelihood`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LikelihoodArg {
    /// Bernoulli pixels (logits).
    Bernoulli,
    /// Gaussian pixels with a learnt variance per pixel.
    Gaussian,
}

/// Flags of `elbo vae`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Training objective [default: elbo].
    #[arg(long, value_enum)]
    pub objective: Option<ObjectiveArg>,
    /// Samples per data point, 1..=10000 [default: 1 for elbo, 50 for iwae;
    /// 5 for iwae with --quick].
    #[arg(long, value_name = "N")]
    pub k: Option<usize>,
    /// Gradient estimator for the encoder (score: ELBO only) [default:
    /// pathwise].
    #[arg(long, value_enum)]
    pub estimator: Option<EstimatorArg>,
    /// Latent dimensions (replaces the architecture's last size).
    #[arg(long, value_name = "L")]
    pub latent: Option<usize>,
    /// `iwae` (784-200-200-50 tanh), `pytorch` (784-400-20 ReLU), or sizes
    /// such as 784-400-20; a preset takes the data's image size as input
    /// [default: iwae].
    #[arg(long, value_name = "PRESET|SIZES")]
    pub arch: Option<String>,
    /// Hidden non-linearity [default: the preset's; relu for sizes].
    #[arg(long, value_enum)]
    pub activation: Option<ActivationArg>,
    /// Observation model [default: bernoulli].
    #[arg(long, value_enum)]
    pub likelihood: Option<LikelihoodArg>,
    /// Use grey levels as they are instead of drawing binary pixels (as
    /// PyTorch's example does with its BCE loss).
    #[arg(long)]
    pub no_binarize: bool,
    /// Passes over the training data [default: 10; 3 with --quick].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Minibatch size (the last incomplete batch is dropped) [default: 100].
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// Adam learning rate in (0, 1] [default: 1e-3].
    #[arg(long, value_name = "LR")]
    pub lr: Option<f64>,
    /// KL warm-up over this many epochs (ELBO only) [default: 0].
    #[arg(long, value_name = "EPOCHS")]
    pub warmup: Option<f64>,
    /// Free bits λ ≥ 0 in nats per latent dimension (ELBO only) [default: 0].
    #[arg(long, value_name = "NATS")]
    pub free_bits: Option<f64>,
    /// Importance samples per test point for the log-likelihood [default:
    /// 5000; 100 with --quick].
    #[arg(long, value_name = "K")]
    pub eval_k: Option<usize>,
    /// Test points for the log-likelihood (the first N) [default: all; 100
    /// with --quick].
    #[arg(long, value_name = "N")]
    pub eval_n: Option<usize>,
    /// Also estimate the test log-likelihood every N epochs (the
    /// NLL-against-epochs curve) [default: 0, at the end only].
    #[arg(long, value_name = "N")]
    pub eval_every: Option<usize>,
    /// Approximation and amortisation gaps on the first N test points
    /// (per-datapoint q_i optimised to convergence) [default: 0, none].
    #[arg(long, value_name = "N")]
    pub gaps: Option<usize>,
    /// Most Adam steps of the per-datapoint optimisation [default: 3000;
    /// 200 with --quick].
    #[arg(long, value_name = "N")]
    pub gap_steps: Option<usize>,
    /// Use only the first N training images [default: all].
    #[arg(long, value_name = "N")]
    pub train_n: Option<usize>,
    /// Also train the same network with the other estimator (pathwise vs
    /// score function, ELBO only) and plot both training curves.
    #[arg(long)]
    pub compare_estimators: bool,
    /// Device: cpu, cuda, wgpu (when built with those features) [default:
    /// cpu].
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    /// Write a checkpoint here after every epoch [default with --resume:
    /// OUT.ckpt beside the output directory].
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint when it exists (same flags; --epochs
    /// may be raised).
    #[arg(long)]
    pub resume: bool,
    /// Train data-parallel as one process of an MPI job (`mpirun -n P elbo
    /// vae --distributed ...`): each process takes its share of every
    /// minibatch, the gradients are summed (one allreduce per step), and
    /// process 0 evaluates and writes. Needs a build with `--features mpi`.
    #[arg(long)]
    pub distributed: bool,
}

/// Everything that defines the run (`metrics.json` `config`).
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// `--data` as given.
    pub data: String,
    /// `--arch` as given.
    pub arch: String,
    /// The network used.
    pub network: VaeConfig,
    /// The training run.
    pub train: TrainConfig,
    /// Adam's ε.
    pub adam_epsilon: f32,
    /// Importance samples per test point.
    pub eval_k: usize,
    /// Test points of the log-likelihood.
    pub eval_n: usize,
    /// NLL curve every N epochs (0: end only).
    pub eval_every: usize,
    /// Points of the gap measurement (0: none).
    pub gaps: usize,
    /// Per-datapoint optimisation settings.
    pub gap_options: GapOptions,
    /// Training images used.
    pub train_n: usize,
    /// Test images.
    pub test_n: usize,
    /// Both estimators trained.
    pub compare_estimators: bool,
    /// The device.
    pub device: String,
    /// `--quick`.
    pub quick: bool,
    /// Processes training data-parallel (1 without `--distributed`).
    pub processes: usize,
}

/// A validated `vae` run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    train: ImageSet,
    test: ImageSet,
    checkpoint: Option<PathBuf>,
    resume: bool,
    run: RunMeta,
    comm: Comm,
}

/// Load `--data`: (training images, test images).
pub fn load_data(spec: &str) -> anyhow::Result<(ImageSet, ImageSet)> {
    let ctx = || format!("loading --data {spec}");
    let pair = |dir: &Path, name: &str| -> anyhow::Result<(ImageSet, ImageSet)> {
        Ok((
            data::read_idx_pair(dir, Split::Train, name).with_context(ctx)?,
            data::read_idx_pair(dir, Split::Test, name).with_context(ctx)?,
        ))
    };
    let (train, test) = match spec {
        "digits" => {
            let d = data::digits().with_context(ctx)?;
            let tr: Vec<usize> = (0..DIGITS_TRAIN).collect();
            let te: Vec<usize> = (DIGITS_TRAIN..d.len()).collect();
            (d.select(&tr), d.select(&te))
        }
        "fashion-mnist" => (
            data::fashion_mnist(None, Split::Train).with_context(ctx)?,
            data::fashion_mnist(None, Split::Test).with_context(ctx)?,
        ),
        "mnist" => bail!(
            "--data mnist: MNIST is not bundled; pass --data mnist:DIR with DIR holding \
             train-images-idx3-ubyte[.gz] and the other three IDX files"
        ),
        s => {
            let (name, dir) = match s.split_once(':') {
                Some(("mnist", d)) => ("mnist", d),
                Some(("fashion-mnist", d)) => ("fashion-mnist", d),
                _ => ("images", s),
            };
            let p = Path::new(dir);
            if p.is_file() {
                bail!(
                    "--data {s}: expected a directory holding train-/t10k- IDX files \
                     (train-images-idx3-ubyte[.gz], …), got a file"
                );
            }
            if !p.is_dir() {
                bail!(
                    "--data {s}: no such data set or directory (expected digits, \
                     fashion-mnist, mnist:DIR or a directory of IDX files)"
                );
            }
            pair(p, name)?
        }
    };
    ensure!(
        train.dim() == test.dim(),
        "--data {spec}: training images are {}×{} but test images are {}×{}",
        train.rows,
        train.cols,
        test.rows,
        test.cols
    );
    ensure!(
        !train.is_empty() && !test.is_empty(),
        "--data {spec}: no images"
    );
    Ok((train, test))
}

/// Validate the flags and load the data.
pub fn prepare(args: Args) -> anyhow::Result<Box<dyn Prepared>> {
    Ok(Box::new(prepare_plan(args)?))
}

/// [`prepare`], typed.
pub fn prepare_plan(args: Args) -> anyhow::Result<Plan> {
    let c = &args.common;
    let spec = c.data.clone().unwrap_or_else(|| DEFAULT_DATA.to_string());
    let seed = c.seed();
    let quick = c.quick;

    // ---- Flags that do not need the data.
    let objective = match args.objective.unwrap_or(ObjectiveArg::Elbo) {
        ObjectiveArg::Elbo => Objective::Elbo,
        ObjectiveArg::Iwae => Objective::Iwae,
    };
    let estimator = match args.estimator.unwrap_or(EstimatorArg::Pathwise) {
        EstimatorArg::Pathwise => Estimator::Pathwise,
        EstimatorArg::Score => Estimator::Score,
    };
    let k = args.k.unwrap_or(match (objective, quick) {
        (Objective::Elbo, _) => 1,
        (Objective::Iwae, false) => 50,
        (Objective::Iwae, true) => 5,
    });
    ensure!(
        (1..=10_000).contains(&k),
        "--k must be between 1 and 10000, got {k}"
    );
    let epochs = args.epochs.unwrap_or(if quick { 3 } else { 10 });
    ensure!(epochs >= 1, "--epochs must be at least 1, got {epochs}");
    let batch = args.batch.unwrap_or(100);
    ensure!(batch >= 1, "--batch must be at least 1, got {batch}");
    let lr = args.lr.unwrap_or(1e-3);
    check_range("lr", lr, |v| v > 0.0 && v <= 1.0, "in (0, 1]")?;
    let warmup = args.warmup.unwrap_or(0.0);
    check_range("warmup", warmup, |v| v >= 0.0, "≥ 0 epochs")?;
    let free_bits = args.free_bits.unwrap_or(0.0);
    check_range("free-bits", free_bits, |v| v >= 0.0, "≥ 0 nats")?;
    if objective == Objective::Iwae {
        ensure!(
            estimator == Estimator::Pathwise,
            "--estimator score is for --objective elbo (IWAE uses pathwise gradients)"
        );
        ensure!(
            warmup == 0.0 && free_bits == 0.0,
            "--warmup and --free-bits reweight the ELBO's KL term; use them with --objective elbo"
        );
        ensure!(
            !args.compare_estimators,
            "--compare-estimators compares ELBO gradient estimators; use it with --objective elbo"
        );
    }
    let eval_k = args.eval_k.unwrap_or(if quick { 100 } else { 5000 });
    ensure!(
        (1..=100_000).contains(&eval_k),
        "--eval-k must be between 1 and 100000, got {eval_k}"
    );
    if let Some(l) = args.latent {
        ensure!(
            (1..=10_000).contains(&l),
            "--latent must be between 1 and 10000, got {l}"
        );
    }
    let device = args.device.clone().unwrap_or_else(|| "cpu".to_string());
    let available = elbo_deep::device::available();
    ensure!(
        available.contains(&device.as_str()) || device.starts_with("cuda:"),
        "--device {device} is not available in this build (it has {}; build with --features cuda or wgpu for GPUs)",
        available.join(", ")
    );
    if args.resume && args.checkpoint.is_none() && c.out.is_none() {
        // Fine: the default checkpoint sits beside the default output.
    }

    // ---- The data and what depends on it.
    let (mut train, test) = load_data(&spec)?;
    if let Some(n) = args.train_n {
        ensure!(n >= 1, "--train-n must be at least 1, got {n}");
        train = train.take(n);
    }
    let arch = args.arch.clone().unwrap_or_else(|| "iwae".to_string());
    let preset = matches!(arch.as_str(), "iwae" | "pytorch");
    let mut network = VaeConfig::parse(&arch).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let d = train.dim();
    if preset {
        network = network.with_input(d);
    } else {
        ensure!(
            network.input() == d,
            "--arch {arch} expects {} pixels per image but {} has {d} ({}×{})",
            network.input(),
            spec,
            train.rows,
            train.cols
        );
    }
    if let Some(l) = args.latent {
        network = network.with_latent(l);
    }
    if let Some(a) = args.activation {
        network = network.with_activation(match a {
            ActivationArg::Tanh => Activation::Tanh,
            ActivationArg::Relu => Activation::Relu,
        });
    }
    if let Some(l) = args.likelihood {
        network = network.with_likelihood(match l {
            LikelihoodArg::Bernoulli => Likelihood::Bernoulli,
            LikelihoodArg::Gaussian => Likelihood::Gaussian,
        });
    }
    let binarize = !args.no_binarize && network.likelihood == Likelihood::Bernoulli;
    ensure!(
        batch <= train.len(),
        "--batch {batch} is larger than the {} training images",
        train.len()
    );
    let train_cfg = TrainConfig {
        objective,
        k,
        estimator,
        epochs,
        batch,
        lr,
        warmup,
        free_bits,
        binarize,
        seed,
        ..TrainConfig::default()
    };
    train_cfg.check().map_err(|e| anyhow::anyhow!("--{e}"))?;
    let eval_n = args
        .eval_n
        .unwrap_or(if quick { 100 } else { test.len() })
        .min(test.len());
    ensure!(eval_n >= 1, "--eval-n must be at least 1");
    let gaps = args.gaps.unwrap_or(0).min(test.len());
    let gap_options = GapOptions {
        max_steps: args.gap_steps.unwrap_or(if quick { 200 } else { 3000 }),
        eval_k: eval_k.min(if quick { 100 } else { eval_k }),
        ..GapOptions::default()
    };
    ensure!(gap_options.max_steps >= 1, "--gap-steps must be at least 1");
    let config = Config {
        data: spec.clone(),
        arch,
        network,
        train: train_cfg,
        adam_epsilon: elbo_deep::vae::train::ADAM_EPSILON,
        eval_k,
        eval_n,
        eval_every: args.eval_every.unwrap_or(0),
        gaps,
        gap_options,
        train_n: train.len(),
        test_n: test.len(),
        compare_estimators: args.compare_estimators,
        device,
        quick,
        processes: 1,
    };
    let out = c.out.clone();
    let checkpoint = match (&args.checkpoint, args.resume) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => {
            let o = out
                .clone()
                .unwrap_or_else(|| default_out(MODEL, &spec, seed));
            let mut s = o.into_os_string();
            s.push(".ckpt");
            Some(PathBuf::from(s))
        }
        (None, false) => None,
    };
    ensure!(
        !(args.distributed && free_bits > 0.0),
        "--distributed cannot be used with --free-bits (its maximum over the global batch's mean KL does not split across processes)"
    );
    let comm = Comm::for_flag(args.distributed)?;
    ensure!(
        config.train.batch >= comm.size(),
        "--batch {} cannot be shared by {} processes; use --batch >= {}",
        config.train.batch,
        comm.size(),
        comm.size()
    );
    let mut config = config;
    config.processes = comm.size();
    let id = RunId::new(MODEL, &spec, seed, &config_value(&config)?);
    let target = out
        .clone()
        .unwrap_or_else(|| default_out(MODEL, &spec, seed));
    comm.check_output(&target, &id, c.force)?;
    Ok(Plan {
        config,
        train,
        test,
        checkpoint,
        resume: args.resume,
        comm,
        run: RunMeta {
            model: MODEL,
            dataset: spec,
            id,
            out,
            force: c.force,
            seed,
        },
    })
}

/// A trained network, its NLL curve (epoch, NLL) and the epoch a resumed
/// run started from.
type Trained = (Trainer, Vec<(usize, f64)>, Option<usize>);

/// Train one network with `train_cfg`, reporting progress; evaluate the
/// NLL every `eval_every` epochs. Returns the trainer and the NLL curve.
fn train_one(
    plan: &Plan,
    train_cfg: &TrainConfig,
    checkpoint: Option<&Path>,
    progress: &mut Progress,
    tag: &str,
    eval_px: &[f32],
) -> anyhow::Result<Trained> {
    let cfg = &plan.config;
    let device = elbo_deep::device::by_name(&cfg.device, plan.run.seed)?.autodiff();
    let mut resumed_from = None;
    let comm = &plan.comm;
    // Every process reads the same checkpoint (a shared file system).
    let mut trainer = comm.agree(
        match checkpoint {
            Some(p) if plan.resume && p.exists() => {
                Trainer::resume(p, cfg.network.clone(), train_cfg.clone(), &device).inspect(|t| {
                    resumed_from = Some(t.state.epochs_done);
                })
            }
            _ => Trainer::new(cfg.network.clone(), train_cfg.clone(), &device),
        }
        .map_err(anyhow::Error::from),
    )?;
    trainer.sync(comm)?;
    let mut nll_trace = Vec::new();
    let label = plan.label();
    while !trainer.finished() {
        let e = trainer.state.epochs_done + 1;
        progress.set_label(format!("{label}{tag}: epoch {e}/{}", train_cfg.epochs));
        let report = trainer.epoch_on(&plan.train, comm, &mut |s, b| progress.update(s, b))?;
        comm.after_epoch(report.epoch)?;
        if let Some(p) = checkpoint {
            // Process 0 writes; every process learns whether it could.
            comm.on_root(|| Ok(trainer.save(p)?))?;
        }
        if cfg.eval_every > 0
            && comm.is_root()
            && report.epoch % cfg.eval_every == 0
            && report.epoch < train_cfg.epochs
        {
            progress.set_label(format!("{label}{tag}: test NLL after epoch {e}"));
            let s = eval::weight_stats(
                &trainer.model().plain(),
                eval_px,
                cfg.eval_n,
                cfg.eval_k,
                plan.run.seed,
            )?;
            nll_trace.push((report.epoch, -eval::mean(&s.log_px)));
        }
    }
    Ok((trainer, nll_trace, resumed_from))
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn writes_output(&self) -> bool {
        self.comm.is_root()
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let cfg = &self.config;
        let seed = self.run.seed;
        let test_px = if cfg.train.binarize {
            eval::binarize_fixed(&self.test, seed)
        } else {
            self.test.pixels.clone()
        };
        let d = self.test.dim();
        let eval_px = &test_px[..cfg.eval_n * d];

        // ---- Train.
        let (trainer, mut nll_trace, resumed_from) = train_one(
            self,
            &cfg.train,
            self.checkpoint.as_deref(),
            progress,
            "",
            eval_px,
        )?;
        let other = if cfg.compare_estimators {
            let est = match cfg.train.estimator {
                Estimator::Pathwise => Estimator::Score,
                Estimator::Score => Estimator::Pathwise,
            };
            let other_cfg = TrainConfig {
                estimator: est,
                ..cfg.train.clone()
            };
            let tag = format!(" ({est:?} estimator)").to_lowercase();
            let (t, _, _) = train_one(self, &other_cfg, None, progress, &tag, eval_px)?;
            Some((est, t.state.elbo_trace.clone()))
        } else {
            None
        };

        if !self.comm.is_root() {
            // Process 0 evaluates and writes; the others are done.
            return Ok(ModelRun::default());
        }

        // ---- Evaluate.
        let label = self.label();
        let model = trainer.model().plain();
        progress.set_label(format!("{label}: test ELBO"));
        let stats = eval::elbo_stats(&model, &test_px, self.test.len(), seed)?;
        progress.set_label(format!(
            "{label}: test log-likelihood (k = {}, {} points)",
            cfg.eval_k, cfg.eval_n
        ));
        let ws = eval::weight_stats(&model, eval_px, cfg.eval_n, cfg.eval_k, seed)?;
        let test_nll = -eval::mean(&ws.log_px);
        nll_trace.push((trainer.state.epochs_done, test_nll));
        let gaps = if cfg.gaps > 0 {
            progress.set_label(format!(
                "{label}: per-datapoint q_i for {} points",
                cfg.gaps
            ));
            Some(eval::gaps(
                trainer.model(),
                &test_px[..cfg.gaps * d],
                cfg.gaps,
                &cfg.gap_options,
                seed,
            )?)
        } else {
            None
        };

        // ---- Pictures.
        let mut figures = Vec::new();
        let name = &cfg.data;
        let trace = &trainer.state.elbo_trace;
        let mut curve = Figure::new(
            format!(
                "{MODEL} on {name}: bound per epoch ({})",
                objective_name(&cfg.train)
            ),
            "epoch",
            "nats per image",
        )
        .layer(line(trace, colour::BLUE, "training bound"));
        if nll_trace.len() > 1 || cfg.eval_every > 0 {
            let pts: Vec<(f64, f64)> = nll_trace.iter().map(|&(e, v)| (e as f64, -v)).collect();
            curve = curve
                .layer(Layer::Line {
                    points: pts.clone(),
                    colour: colour::RED,
                    label: Some(format!("test log p(x), k = {}", cfg.eval_k)),
                })
                .layer(Layer::Points {
                    points: pts,
                    colour: colour::RED,
                    label: None,
                });
        }
        figures.push(FigureFile {
            file: "vae_training.svg".into(),
            title: "Training curve: the bound per epoch (and the test log-likelihood)".into(),
            svg: curve.legend_lower_right().to_svg()?,
        });
        if let Some((est, other_trace)) = &other {
            let (p, s) = match est {
                Estimator::Score => (trace, other_trace),
                Estimator::Pathwise => (other_trace, trace),
            };
            let fig = Figure::new(
                format!("{MODEL} on {name}: ELBO per epoch, pathwise vs score function"),
                "epoch",
                "training ELBO (nats per image)",
            )
            .layer(line(p, colour::BLUE, "pathwise (reparameterisation)"))
            .layer(line(
                s,
                colour::RED,
                "score function (REINFORCE + baseline)",
            ))
            .legend_lower_right();
            figures.push(FigureFile {
                file: "vae_estimators.svg".into(),
                title: "Pathwise against score-function gradients".into(),
                svg: fig.to_svg()?,
            });
        }
        let (rows, cols) = (self.test.rows, self.test.cols);
        let scale = if rows <= 8 { 6 } else { 3 };
        let n_rec = 16.min(self.test.len());
        let rec = eval::reconstruct(&model, &test_px[..n_rec * d], n_rec)?;
        let mut both = test_px[..n_rec * d].to_vec();
        both.extend_from_slice(&rec);
        figures.push(FigureFile {
            file: "vae_reconstructions.svg".into(),
            title: "Test images (top two rows) and their reconstructions E[x | z = μ(x)] (bottom)"
                .into(),
            svg: ImageGrid {
                pixels: &both,
                count: 2 * n_rec,
                rows,
                cols,
                grid_cols: 8,
            }
            .to_svg("test images / reconstructions", scale),
        });
        let l = cfg.network.latent();
        let mut rng = eval::eval_rng(seed, 7);
        let z: Vec<f32> = (0..64 * l)
            .map(|_| rand::Rng::sample::<f32, _>(&mut rng, rand_distr::StandardNormal))
            .collect();
        let samples = eval::decode_means(&model, &z, 64)?;
        figures.push(FigureFile {
            file: "vae_samples.svg".into(),
            title: "Samples: E[x | z] for z ~ N(0, I)".into(),
            svg: ImageGrid {
                pixels: &samples,
                count: 64,
                rows,
                cols,
                grid_cols: 8,
            }
            .to_svg("samples (decoder means)", scale),
        });
        if l == 2 {
            let g = 15;
            let mut z = Vec::with_capacity(g * g * 2);
            for i in 0..g {
                for j in 0..g {
                    // Rows top to bottom: z₂ from high to low; columns: z₁.
                    z.push(normal_quantile((j as f64 + 0.5) / g as f64) as f32);
                    z.push(normal_quantile(1.0 - (i as f64 + 0.5) / g as f64) as f32);
                }
            }
            let m = eval::decode_means(&model, &z, g * g)?;
            figures.push(FigureFile {
                file: "vae_manifold.svg".into(),
                title: "The learnt 2-D latent manifold: E[x | z] on a grid of Φ⁻¹ quantiles (Kingma & Welling 2014 Fig. 4)".into(),
                svg: ImageGrid {
                    pixels: &m,
                    count: g * g,
                    rows,
                    cols,
                    grid_cols: g,
                }
                .to_svg("latent manifold", scale.min(4)),
            });
        }
        let kl_fig = Figure::new(
            format!(
                "{MODEL} on {name}: KL per latent dimension ({} active)",
                stats.active_units
            ),
            "latent dimension (sorted)",
            "nats",
        )
        .layer(Layer::Points {
            points: {
                let mut v = stats.kl_per_dim.clone();
                v.sort_by(|a, b| b.total_cmp(a));
                v.iter()
                    .enumerate()
                    .map(|(i, &k)| (i as f64 + 1.0, k))
                    .collect()
            },
            colour: colour::BLUE,
            label: None,
        });
        figures.push(FigureFile {
            file: "vae_kl_per_dim.svg".into(),
            title: "KL(q(z_d|x) ‖ p(z_d)) per latent dimension, averaged over the test set".into(),
            svg: kl_fig.to_svg()?,
        });

        // ---- metrics.json.
        let wall = start.elapsed().as_secs_f64();
        let mut m = Metrics::new(&self.run.id);
        self.comm
            .record_data_parallel(&mut m, elbo_deep::grads::num_float_params(trainer.model()))?;
        m.set("test_elbo", stats.elbo)?;
        m.set("test_loss", -stats.elbo)?;
        m.set("test_recon", stats.recon)?;
        m.set("test_kl", stats.kl)?;
        m.set("test_nll", test_nll)?;
        m.set("eval_k", cfg.eval_k)?;
        m.set("eval_n", cfg.eval_n)?;
        m.set("test_elbo_k_samples_on_eval_n", eval::mean(&ws.elbo))?;
        m.set(
            "nll_trace",
            nll_trace
                .iter()
                .map(|&(e, v)| serde_json::json!({"epoch": e, "test_nll": v}))
                .collect::<Vec<_>>(),
        )?;
        m.set("active_units", stats.active_units)?;
        m.set("latent", l)?;
        m.set("kl_per_dim", &stats.kl_per_dim)?;
        m.set("active_unit_variance", &stats.mean_variance)?;
        m.set("kl_trace", &trainer.state.kl_trace)?;
        m.set("epoch_seconds", &trainer.state.epoch_seconds)?;
        let mean_epoch = eval::mean(&trainer.state.epoch_seconds);
        m.set("mean_epoch_seconds", mean_epoch)?;
        m.set("parameters", num_params(trainer.model()))?;
        if let Some(g) = &gaps {
            m.set("gaps", g)?;
        }
        if let Some((est, t)) = &other {
            let key = match est {
                Estimator::Score => "score_elbo_trace",
                Estimator::Pathwise => "pathwise_elbo_trace",
            };
            m.set(key, t)?;
        }
        if let Some(p) = &self.checkpoint {
            m.set("checkpoint", p.display().to_string())?;
        }
        if let Some(e) = resumed_from {
            m.set("resumed_from_epoch", e)?;
        }
        let metrics = m.finish(wall, trace);

        let mut summary = vec![
            format!(
                "{MODEL} on {name}: {} {}, k = {}, {} epochs ({} s/epoch)",
                cfg.network.arch_string(),
                objective_name(&cfg.train),
                cfg.train.k,
                trainer.state.epochs_done,
                fmt_num(mean_epoch)
            ),
            format!(
                "test ELBO {} (recon {}, KL {}), test NLL {} (k = {}, {} points)",
                fmt_num(stats.elbo),
                fmt_num(stats.recon),
                fmt_num(stats.kl),
                fmt_num(test_nll),
                cfg.eval_k,
                cfg.eval_n
            ),
            format!("active units {} of {l}", stats.active_units),
        ];
        if let Some(g) = &gaps {
            summary.push(format!(
                "gaps on {} points: approximation {} nats, amortisation {} nats",
                g.n,
                fmt_num(g.approximation_gap),
                fmt_num(g.amortisation_gap)
            ));
        }
        if let Some(e) = resumed_from {
            summary.push(format!("resumed after epoch {e}"));
        }
        summary.extend(self.comm.data_parallel_summary());
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            ..ModelRun::default()
        })
    }
}

fn objective_name(t: &TrainConfig) -> String {
    match (t.objective, t.estimator) {
        (Objective::Iwae, _) => format!("IWAE (k = {})", t.k),
        (Objective::Elbo, Estimator::Pathwise) => "ELBO, pathwise".to_string(),
        (Objective::Elbo, Estimator::Score) => "ELBO, score function".to_string(),
    }
}

fn line(trace: &[f64], c: plotters::style::RGBColor, label: &str) -> Layer {
    Layer::Line {
        points: trace
            .iter()
            .enumerate()
            .map(|(i, &b)| ((i + 1) as f64, b))
            .collect(),
        colour: c,
        label: Some(label.to_string()),
    }
}

fn num_params(m: &Vae) -> usize {
    m.parameter_count()
}
