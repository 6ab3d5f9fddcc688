//! The command-line definition (clap derive): the subcommands and the flags
//! every model shares. Each model's own flags live in its `cmd/` module.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cmd;

/// Variational inference, from the evidence lower bound to working models.
///
/// Every model run writes DIR/metrics.json and SVG figures into a fresh
/// directory (default out/<model>-<dataset>-<seed>) and prints a short
/// summary. Runs are reproducible from their seed.
#[derive(Debug, Parser)]
#[command(name = "elbo", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Variational Bayesian linear regression (PRML §10.3), with ARD and a
    /// bound-driven choice of polynomial degree (PRML Fig 10.9).
    Vblr(cmd::vblr::Args),
    /// Variational Bayesian logistic regression (PRML §10.6), K-fold
    /// cross-validated.
    VbLogistic(cmd::vb_logistic::Args),
    /// Variational Bayesian Gaussian mixture (PRML §10.2): Dirichlet or
    /// Dirichlet-process prior, Student-t predictive, a bound that compares K
    /// (PRML Fig 10.6, 10.7).
    Vgmm(cmd::vgmm::Args),
    /// Maximum-likelihood EM for Gaussian mixtures (PRML §9.2), the baseline.
    EmGmm(cmd::em_gmm::Args),
    /// Stochastic variational inference for the Bayesian Gaussian mixture
    /// (Hoffman et al. 2013): minibatch natural-gradient steps.
    SviGmm(cmd::svi_gmm::Args),
    /// The variational auto-encoder and IWAE (Kingma & Welling 2014, Burda
    /// et al. 2016): test log-likelihood, active units, amortisation gap.
    Vae(cmd::vae::Args),
    /// Bayes by Backprop (Blundell et al. 2015): regression bands,
    /// classification and calibration, pruning, bandits, sequential learning.
    Bbb(cmd::bbb::Args),
    /// The variance of gradient estimators (pathwise, score function,
    /// control variates) against samples and parameters (Mohamed et al. 2020).
    GradientVariance(cmd::gradient_variance::Args),
    /// VIME (Houthooft et al. 2016): exploration by information gain about
    /// a Bayesian dynamics model, TRPO/PPO with and without it on sparse tasks.
    Vime(cmd::vime::Args),
    /// List and describe data sets.
    Data(cmd::data::Args),
    /// Run every experiment and write DIR/index.html, summary.json and
    /// results.md.
    Reproduce(cmd::reproduce::Args),
    /// Side-by-side timings against the tools people use.
    Bench(cmd::bench::Args),
}

/// The flags every model command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// A built-in data set (see `elbo data list`) or a CSV / IDX file.
    #[arg(long, value_name = "NAME|PATH")]
    pub data: Option<String>,
    /// A TOML file supplying any of this command's flags (kebab-case keys,
    /// e.g. `max-iter = 200`); flags on the command line win.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// The seed of every random draw (data generation, splits).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output directory [default: out/<model>-<dataset>-<seed>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A small, fast version of the run (smoke tests, `reproduce --quick`).
    #[arg(long)]
    pub quick: bool,
    /// Replace DIR even if it holds a different run.
    #[arg(long)]
    pub force: bool,
}

impl CommonArgs {
    /// The seed, 0 unless given.
    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or(0)
    }
}
