//! `elbo bbb`: Bayes by Backprop (Blundell et al. 2015), one experiment per
//! value of the first argument:
//!
//! - `regress`: the paper's Fig. 5 curve, predictive median / IQR / 95 %
//!   bands beside a plain network;
//! - `classify`: Fashion-MNIST (or MNIST with `--data DIR`), BBB beside a
//!   plain and a dropout network: test error, NLL, ECE, reliability,
//!   out-of-distribution AUROC by predictive entropy;
//! - `prune`: test error against the fraction of weights removed by |μ|/σ;
//! - `tabular`: 20 random 90/10 splits of a regression table (embedded
//!   diabetes by default), RMSE and test log-likelihood, and the measured
//!   cost of mean field against the exact linear posterior;
//! - `bandit`: the wheel bandit (Riquelme et al. 2018), Thompson sampling vs
//!   ε-greedy vs greedy;
//! - `sequential`: posterior-as-prior on chunks against one batch fit.
//!
//! The network code is `elbo_deep::bayes`; this module holds the flags, the
//! data and the figures.

mod bandit;
mod classify;
mod common;
mod regress;
mod sequential;
mod tabular;

use std::path::PathBuf;

use clap::ValueEnum;
use serde::Serialize;

use crate::cli::CommonArgs;
use crate::cmd::Prepared;

/// The model's name in `metrics.json` and directory names.
pub const MODEL: &str = "bbb";

/// The experiment to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Experiment {
    /// Fig. 5: regression uncertainty bands beside a plain network.
    Regress,
    /// Image classification: error, NLL, calibration, OOD detection.
    Classify,
    /// Weight pruning by signal-to-noise |μ|/σ.
    Prune,
    /// Tabular regression, 20 random 90/10 splits.
    Tabular,
    /// The wheel contextual bandit: Thompson sampling vs ε-greedy vs greedy.
    Bandit,
    /// Posterior-as-prior on chunks against one batch fit.
    Sequential,
}

impl Experiment {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Experiment::Regress => "regress",
            Experiment::Classify => "classify",
            Experiment::Prune => "prune",
            Experiment::Tabular => "tabular",
            Experiment::Bandit => "bandit",
            Experiment::Sequential => "sequential",
        }
    }
}

/// The prior on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PriorKind {
    /// N(0, σ²), `--prior-sigma`.
    Gaussian,
    /// The scale mixture π N(0, σ1²) + (1 − π) N(0, σ2²) (Blundell et al.
    /// 2015 eq. (7)), `--pi`, `--sigma1`, `--sigma2`.
    Mixture,
}

/// How weights are drawn while training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplingKind {
    /// One weight draw per step shared by the minibatch (the paper).
    Weights,
    /// The local reparameterisation trick (Kingma et al. 2015).
    Local,
}

/// The KL weighting across minibatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KlKind {
    /// π_i = 1/M.
    Uniform,
    /// π_i = 2^{M−i}/(2^M − 1) (Blundell et al. 2015 eq. (9)).
    Blundell,
}

/// Flags of `elbo bbb`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The experiment: regress, classify, prune, tabular, bandit, sequential.
    #[arg(value_enum)]
    pub experiment: Experiment,
    /// Device: cpu (burn's flex backend), or cuda / wgpu when built with them.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Prior on the weights [default: mixture for classify/prune, else gaussian].
    #[arg(long, value_enum)]
    pub prior: Option<PriorKind>,
    /// σ of the Gaussian prior [default: 1].
    #[arg(long, value_name = "S")]
    pub prior_sigma: Option<f64>,
    /// π of the scale mixture [default: 0.25].
    #[arg(long, value_name = "P")]
    pub pi: Option<f64>,
    /// −ln σ1 of the scale mixture's wide component [default: 0].
    #[arg(long, value_name = "A", allow_hyphen_values = true)]
    pub neg_log_sigma1: Option<f64>,
    /// −ln σ2 of the scale mixture's narrow component [default: 6].
    #[arg(long, value_name = "B", allow_hyphen_values = true)]
    pub neg_log_sigma2: Option<f64>,
    /// Weight sampling in training [default: local].
    #[arg(long, value_enum)]
    pub sampling: Option<SamplingKind>,
    /// KL weighting across minibatches [default: uniform].
    #[arg(long, value_enum)]
    pub kl_weighting: Option<KlKind>,
    /// Weight draws per training step [default: 1].
    #[arg(long, value_name = "S")]
    pub samples: Option<usize>,
    /// Weight draws per test prediction [default: 10].
    #[arg(long, value_name = "S")]
    pub test_samples: Option<usize>,
    /// Hidden units per layer [default: 400 (classify), 100 (prune), 50 (tabular), 64 (regress)].
    #[arg(long, value_name = "H")]
    pub hidden: Option<usize>,
    /// Hidden layers [default: 2].
    #[arg(long, value_name = "L")]
    pub layers: Option<usize>,
    /// Training epochs (steps for regress).
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Minibatch size [default: 128].
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// Adam learning rate [default: 1e-3].
    #[arg(long, value_name = "LR")]
    pub lr: Option<f64>,
    /// classify/prune: use only the first N training images.
    #[arg(long, value_name = "N")]
    pub train_size: Option<usize>,
    /// classify/prune: use only the first N test images.
    #[arg(long, value_name = "N")]
    pub test_size: Option<usize>,
    /// classify: the out-of-distribution set, a directory of MNIST IDX files
    /// [default: MNIST when found, else the embedded UCI digits resampled to 28×28].
    #[arg(long, value_name = "DIR")]
    pub ood_data: Option<PathBuf>,
    /// tabular: the target column of a CSV (name or 0-based index, -1 = last).
    #[arg(long, value_name = "COL", allow_hyphen_values = true)]
    pub target: Option<String>,
    /// tabular: random 90/10 splits [default: 20].
    #[arg(long, value_name = "N")]
    pub splits: Option<usize>,
    /// bandit: the wheel's δ values, comma-separated [default: 0.5,0.7,0.9].
    #[arg(long, value_name = "D,D,...")]
    pub deltas: Option<String>,
    /// bandit: decisions per run [default: 2000].
    #[arg(long, value_name = "T")]
    pub steps: Option<usize>,
    /// bandit: runs (seeds) per δ [default: 3].
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// sequential: number of chunks [default: 4].
    #[arg(long, value_name = "K")]
    pub chunks: Option<usize>,
    /// Continue from the checkpoints of an interrupted run with the same
    /// flags (DIR.ckpt beside the output directory).
    #[arg(long)]
    pub resume: bool,
    /// classify/prune: train data-parallel as one process of an MPI job
    /// (`mpirun -n P elbo bbb classify --distributed ...`): each process
    /// takes its share of every minibatch, the gradients are summed (one
    /// allreduce per step), and process 0 evaluates and writes. Needs a
    /// build with `--features mpi`.
    #[arg(long)]
    pub distributed: bool,
}

/// Validate the flags and load the data.
pub fn prepare(args: Args) -> anyhow::Result<Box<dyn Prepared>> {
    anyhow::ensure!(
        !args.distributed || matches!(args.experiment, Experiment::Classify | Experiment::Prune),
        "--distributed is for `elbo bbb classify` and `elbo bbb prune` (the {} experiment runs in one process)",
        args.experiment.name()
    );
    match args.experiment {
        Experiment::Regress => Ok(Box::new(regress::prepare(args)?)),
        Experiment::Classify | Experiment::Prune => classify::prepare(args),
        Experiment::Tabular => tabular::prepare(args),
        Experiment::Bandit => bandit::prepare(args),
        Experiment::Sequential => sequential::prepare(args),
    }
}
