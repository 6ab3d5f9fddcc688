//! `elbo reproduce [--quick | --full] [--out DIR] [--peers auto|off]`: every
//! experiment, then `DIR/index.html`, `DIR/results.md`, `DIR/summary.json`,
//! `DIR/peers.json` and `DIR/metrics.json`.
//!
//! An experiment is a list of `elbo` command lines (exactly what a user
//! would type, run in-process) and a function from their `metrics.json` (and
//! the peer's numbers on the same rows) to table rows "ours | published |
//! peer". Each run's files go to `DIR/<experiment>/seed-<s>[-variant]/`,
//! with `split.json` (the rows held out) and, for generated data,
//! `data.csv`. `--quick` runs a few seeds per experiment; `--full` more.
//!
//! Peer numbers are scikit-learn's on exactly our rows: with `--peers auto`
//! (the default) and a Python that imports scikit-learn, [`PEERS_SCRIPT`]
//! (`crates/elbo-cli/scripts/peers.py`, copied to `DIR/peers.py`) reads the
//! run directories and scores its estimators on each run's `split.json`.
//! Otherwise the table shows the numbers that script recorded on the same
//! splits ([`PEERS_RECORDED`]), labelled as recorded; a peer number is used
//! only when its fingerprints of the rows and of the data equal the run's
//! (`split.json`). Adding an
//! experiment is one entry in [`EXPERIMENTS`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::ValueEnum;
use serde_json::{Value, json};

use super::vblr::ard_recovery;
use super::{ModelRun, fmt_num, prepare_model};
use crate::dataset;
use crate::metrics::Metrics;
use crate::output::{RunDir, RunId, check_target};
use crate::progress::Progress;
use crate::report::{self, ReportFigure, Row, Section};

/// Where to get peer numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeersMode {
    /// Run the peers script when `PYTHON -c "import sklearn"` works; else
    /// recorded numbers.
    Auto,
    /// Never run Python; recorded numbers only.
    Off,
}

/// Flags of `elbo reproduce`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// A few seeds per experiment (the default; seconds).
    #[arg(long, conflicts_with = "full")]
    pub quick: bool,
    /// More seeds per experiment.
    #[arg(long)]
    pub full: bool,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "reproduce-out")]
    pub out: PathBuf,
    /// Replace DIR even if it holds a different run.
    #[arg(long)]
    pub force: bool,
    /// Peer numbers (scikit-learn on the same rows): `auto` measures them
    /// with crates/elbo-cli/scripts/peers.py when Python has scikit-learn,
    /// `off` never runs Python; either way, numbers not measured are the
    /// ones recorded on the same splits, labelled so.
    #[arg(long, value_enum, default_value_t = PeersMode::Auto)]
    pub peers: PeersMode,
    /// The Python interpreter for `--peers auto`.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: String,
}

/// One experiment of the report.
struct Experiment {
    /// Directory and anchor.
    key: &'static str,
    /// Heading.
    title: &'static str,
    /// What it shows.
    about: &'static str,
    /// (sub-directory, `elbo` command line without `elbo`), for quick or
    /// full.
    commands: fn(full: bool) -> Vec<(String, Vec<String>)>,
    /// Table rows from the runs (same order as the commands).
    rows: fn(&[RunResult]) -> Vec<Row>,
    /// Whether its runs hold rows out for a peer (and so have recorded
    /// peer numbers).
    peers: bool,
    /// Whether the report shows figure `file` of run `name` (seed 0 only).
    show: fn(name: &str, file: &str) -> bool,
}

/// Every figure of seed 0.
fn all_figures(_: &str, _: &str) -> bool {
    true
}

/// The VGMM run's figures only (digits: the fit on 60 columns is not
/// worth three copies).
fn vgmm_figures(name: &str, _: &str) -> bool {
    name.ends_with("-vgmm")
}

/// One finished run, with the peer's numbers on the same rows.
#[derive(Debug, Clone)]
struct RunResult {
    /// Sub-directory (`seed-0`, `seed-0-ard`).
    name: String,
    /// Its `metrics.json`.
    metrics: Value,
    /// The peer's numbers, if any.
    peer: Option<Peer>,
}

/// A peer's numbers for one run.
#[derive(Debug, Clone)]
struct Peer {
    /// The script's JSON for the run.
    values: Value,
    /// Where they come from ("measured in this run, scikit-learn 1.9.1,
    /// same splits").
    tag: String,
}

/// The peers script, embedded (written to `DIR/peers.py` and run from there).
const PEERS_SCRIPT: &str = include_str!("../../scripts/peers.py");
/// Its path in the repository.
const PEERS_SCRIPT_PATH: &str = "crates/elbo-cli/scripts/peers.py";
/// The script's output on a `reproduce --full` directory (a superset of the
/// quick runs), recorded with the scikit-learn version it names.
const PEERS_RECORDED: &str = include_str!("../../scripts/peers-recorded.json");
/// The repository's `data/` (the embedded data sets' source files), where
/// the script reads them.
const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");

/// ARD and shared-α runs: an explicit budget and tolerance, so that every
/// fit converges (E[α_i] of a pruned weight approaches its fixed point
/// slowly; a few hundred iterations of a 51 × 51 problem take milliseconds).
const ARD_MAX_ITER: &str = "10000";
const ARD_TOL: &str = "1e-12";

/// Every experiment, in report order.
const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        key: "fig10_9",
        title: "PRML Fig 10.9: the bound chooses the polynomial order",
        about: "Ten points from the cubic 0.05x^3 - 0.5x + 1 on (-5, 5) with noise variance 0.09; \
                variational linear regression with known noise precision beta = 1/0.09 and the \
                improper prior p(alpha) ~ 1/alpha (a0 = b0 = 0), fitted for every order M = 0..8. \
                The bound on ln p(t | M) peaks at the true order: model comparison falls out of \
                the bound. With only ten points the answer varies with the draw, so the table \
                counts the best order over several seeded data sets (figures: seed 0).",
        commands: fig10_9_commands,
        rows: fig10_9_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "diabetes",
        title: "Diabetes: variational Bayes beside the evidence approximation",
        about: "What separates a parameter theta from a latent Z? In variational Bayes the \
                precisions alpha and beta are latent: they get posteriors q(alpha), q(beta) and \
                the bound averages over them. In the evidence approximation (PRML 3.5, \
                type-II maximum likelihood) they are parameters, set to the values that maximise \
                p(t | alpha, beta). With 442 patients and 11 weights both posteriors over the \
                precisions are sharp and the two agree closely; the difference is what the \
                uncertainty about alpha, beta costs or buys. The VB bound sits about 30 nats below \
                ln p(t | alpha, beta): about 27.6 of them are the normalisers of the two vague \
                Gamma(1e-6, 1e-6) priors, which the evidence approximation does not have. \
                Each seed holds out a different 20 % of the rows (split.json); scikit-learn's \
                BayesianRidge, an evidence approximation, is fitted to the same training rows \
                and scored on the same test rows, so the differences are paired split by split.",
        commands: diabetes_commands,
        rows: diabetes_rows,
        peers: true,
        show: all_figures,
    },
    Experiment {
        key: "ard",
        title: "Automatic relevance determination: 5 relevant features of 50",
        about: "200 rows, 50 standard-normal features; the target depends on the first 5 only \
                (weights +-U(1, 2), noise sd 1); 25 % of the rows are held out. With one \
                precision alpha_i per weight, variational ARD drives the irrelevant E[alpha_i] up \
                by orders of magnitude and shrinks their weights to zero; a shared alpha cannot. \
                Each fit runs to convergence (--max-iter 10000 --tol 1e-12). A weight is pruned \
                when the data no longer determine it, gamma_i = 1 - E[alpha_i] Sigma_ii below \
                0.1 (VblrFit::relevant, MacKay 1992); the bias (the target is centred) is left \
                out of the counts. With the Gamma(1e-6, 1e-6) prior a pruned E[alpha_i] levels \
                off below sqrt(N_train / (2 b0)) = 8.7e3 rather than growing without bound; \
                scikit-learn's ARDRegression stops updating a lambda_i once it passes \
                threshold_lambda = 1e4 and sets that weight to 0 (its count of pruned \
                weights), a later cut than gamma_i < 0.1, so it prunes fewer. Peer precisions \
                are lambda_i / alpha_ (the weight precision relative to the noise precision, as \
                our E[alpha_i] under unknown noise). Every data set is written to data.csv, so scikit-learn fits the same \
                numbers. (The two bounds are not compared: with the vague prior every alpha_i \
                adds its normaliser, about -13.8 nats, so 50 alphas cost about -690 nats \
                whatever the fit.)",
        commands: ard_commands,
        rows: ard_rows,
        peers: true,
        show: all_figures,
    },
    Experiment {
        key: "breast_cancer",
        title: "Breast cancer: variational Bayesian logistic regression, 5-fold",
        about: "Wisconsin diagnostic breast cancer (569 x 30), inputs standardised per fold; \
                the Jaakkola-Jordan bound with a Gamma hyper-prior on the weights' precision \
                (PRML 10.6). Out-of-fold accuracy, log-loss and expected calibration error \
                (10 equal-width bins), averaged over the folds. scikit-learn's \
                LogisticRegression (default C = 1) is fitted and scored on the same folds \
                (split.json) with the same metric definitions.",
        commands: breast_cancer_commands,
        rows: breast_cancer_rows,
        peers: true,
        show: all_figures,
    },
    Experiment {
        key: "fig10_6",
        title: "PRML Fig 10.6: a variational mixture switches off the components it does not need",
        about: "Old Faithful (272 eruptions: duration and waiting time), standardised; a variational \
                Bayesian mixture of K = 6 full-covariance Gaussians with a Dirichlet prior of \
                concentration alpha0 = 1e-3 on the weights (beta0 = 1, nu0 = D, m0 and W0^-1 the \
                data's mean and covariance, as scikit-learn), CAVI from seeded k-means++ until the \
                bound changes by less than 1e-8 (relative). With alpha0 << 1 the prior favours \
                empty components: four of the six are switched off and two keep E[pi_k] > 0.01. \
                The iterations figure replays the fit and draws the 1-sd contours of the \
                components still in use at iterations 0, 15, 60 and the last, the ink in \
                proportion to E[pi_k], as PRML's figure does. The table counts the components \
                kept over several seeds of the initialisation (figures: seed 0).",
        commands: fig10_6_commands,
        rows: fig10_6_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "fig10_7",
        title: "PRML Fig 10.7: the bound + ln K! picks K = 2 on Old Faithful",
        about: "The same data, a variational mixture fitted for every K = 1..6 from 10 seeded \
                k-means++ starts each; the best bound of each K is corrected by ln K!, the K! \
                relabellings of the components that are equivalent modes of the posterior \
                (PRML 10.2.4). The bound keeps every constant (scikit-learn's drops the ones \
                that do not change during a fit, so it cannot compare K). The correction counts \
                relabellings of K components in use, so the sweep uses alpha0 = 1 (the \
                uniform Dirichlet; a smaller alpha0 empties components, whose relabellings are \
                not distinct modes: with alpha0 = 1/K the K = 6 model, which keeps only two \
                components, edges past K = 2 by 0.4 nats). Every start is plotted in grey.",
        commands: fig10_7_commands,
        rows: fig10_7_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "digits",
        title: "Digits: held-out log-likelihood of the variational mixture, EM and scikit-learn",
        about: "UCI digits (1797 images of 8 x 8 grey levels); each seed holds out a different \
                20 % of the rows (split.json). The columns constant on the training rows (3 to \
                5 border pixels, depending on the split) are dropped and the rest standardised with the training rows' \
                statistics; K = 10 full-covariance components, exactly 100 iterations (tol 0) \
                from the same seeded k-means++ labels (init.json). The variational mixture \
                (Dirichlet prior, alpha0 = 1/K, beta0 = 1, nu0 = D, m0 and W0^-1 from the data: \
                scikit-learn's defaults) scores the held-out rows with its Student-t predictive \
                (PRML 10.81). EM maximises the likelihood and scores with the plug-in density; \
                without a covariance floor it meets the singularity of PRML 9.2.1 on these \
                integer-valued pixels, and with scikit-learn's default floor reg_covar = 1e-6 \
                its components collapse onto the training rows' exact pixel values, so the \
                held-out rows fall off them; a floor of 0.1 (chosen by hand: an optimistic \
                baseline) is shown too. scikit-learn's BayesianGaussianMixture (the same K, \
                prior and 100 iterations, reg_covar = 0) is fitted to the same rows twice: from \
                its own k-means initialisation, scored with its score() (ln sum_k rho_nk, a \
                plug-in of expectations), and from our k-means labels, scored through PRML 10.81 \
                from its posterior, which must equal ours. GaussianMixture likewise checks EM from \
                the same labels; with a floor our EM computes its responsibilities with the \
                floor's smoothing factor exp(-eps/2 tr Sigma_k^-1) (EmGmm: the objective it \
                traces then never decreases), so the two agree to about 1e-6 relative at \
                reg_covar = 1e-6 and differ by about 1 % at 0.1.",
        commands: digits_commands,
        rows: digits_rows,
        peers: true,
        show: vgmm_figures,
    },
    Experiment {
        key: "svi",
        title: "Stochastic variational inference reaches batch CAVI's bound on 10^5 points",
        about: "100 000 points from 10 isotropic Gaussian blobs in 2-D (blobs:100000,2,10, \
                as scikit-learn's make_blobs; data.csv), standardised, K = 10 full-covariance \
                components, Dirichlet prior alpha0 = 1/K. SVI (Hoffman et al. 2013): minibatches \
                of 1000, step size (t + 1)^-0.7, 10 epochs (1000 steps). Batch CAVI: the same \
                model, prior and seed, to convergence (tol 1e-8). Both bounds are evaluated the \
                same way: on all rows, with q(Z) at its optimum for the final global factors, \
                per point.",
        commands: svi_commands,
        rows: svi_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "gradient_variance",
        title: "Gradient estimators: score function against pathwise",
        about: "The gradient of E_q[f(x)] with q = N(mu, sigma^2) estimated from 16 draws, in the \
                setting of Mohamed et al. 2020 (JMLR) Fig. 2-3: the score-function (REINFORCE) \
                estimator alone, with a moving-average baseline and with the optimal scalar \
                baseline, and the pathwise (reparameterisation) estimator. Every estimator is \
                unbiased; their variances differ by orders of magnitude, and the order flips for \
                rough f such as cos(10x). The importance-weighted bound L_k on a conjugate toy \
                rises with k towards ln p(x) (Burda et al. 2016, Theorem 1).",
        commands: gradient_variance_commands,
        rows: gradient_variance_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "bbb_regress",
        title: "Bayes by Backprop: uncertainty away from the data (Blundell et al. 2015, Fig. 5)",
        about: "A 1-64-64-1 network with a factorised Gaussian posterior over its weights, fitted by \
                Bayes by Backprop to noisy samples of y = x + 0.3 sin(2 pi (x + e)) + 0.3 sin(4 pi \
                (x + e)) + e on [0, 0.5], beside the same network fitted by maximum likelihood. \
                The predictive band is narrow on the data and widens away from it; the plain \
                network extrapolates with no sign of doubt.",
        commands: bbb_regress_commands,
        rows: bbb_regress_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "bbb_tabular",
        title: "Bayes by Backprop on tabular regression, and the price of mean field",
        about: "Diabetes (442 patients, 10 inputs), random 90/10 splits, inputs and target \
                standardised: test RMSE (original units) and test log-likelihood per point of a \
                one-hidden-layer BBB network beside the same network by maximum likelihood. With \
                one linear BayesLinear layer the exact posterior is known (elbo-classic's vblr): \
                the fitted factorised q reaches the mean-field optimum, whose KL to the exact \
                posterior, 1/2 (sum ln Lambda_ii - ln |Lambda|), is the measured cost of the \
                factorisation (the seed's question).",
        commands: bbb_tabular_commands,
        rows: bbb_tabular_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "bbb_sequential",
        title: "Posterior as prior: sequential Bayes by Backprop",
        about: "The diabetes linear model fitted in chunks, each chunk's posterior becoming the \
                next chunk's prior (the update VIME builds on), against one fit on all the data \
                and the exact posterior.",
        commands: bbb_sequential_commands,
        rows: bbb_sequential_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "bbb_bandit",
        title: "Thompson sampling with a Bayes-by-Backprop network (wheel bandit)",
        about: "The wheel bandit of Riquelme et al. 2018: Thompson sampling with one posterior \
                draw of a BBB network per decision, against epsilon-greedy and greedy networks. \
                Cumulative regret (lower is better). Riquelme et al. found BBB among the weaker \
                Thompson samplers on this problem: its uncertainty shrinks slowly with few \
                gradient steps per round.",
        commands: bbb_bandit_commands,
        rows: bbb_bandit_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "vime",
        title: "VIME: exploration by information gain on sparse MountainCar",
        about: "MountainCar with reward 1 only at the goal and no action cost (Houthooft et al. \
                2016): TRPO with and without the VIME bonus, the information gained about a \
                Bayes-by-Backprop dynamics model by each transition. A run succeeds when an \
                iteration's mean return is positive (the goal was reached). The quick version \
                runs 2 seeds for 8 iterations of 5000 steps; --full runs 5 seeds for 50 \
                iterations, with TRPO and with PPO.",
        commands: vime_commands,
        rows: vime_rows,
        peers: false,
        show: all_figures,
    },
    Experiment {
        key: "vae",
        title: "The variational auto-encoder: bound, likelihood, estimators, gaps",
        about: "A VAE with a 2-D latent on the embedded 8x8 digits (64-200-200-2, Bernoulli \
                decoder, dynamic binarisation), trained with pathwise gradients and, for \
                comparison, with score-function gradients (the seed's point: same bound, much \
                noisier gradients). Test log-likelihood by importance sampling, the bound, and for \
                50 test points a separate q_i optimised per point (variational EM): the \
                approximation gap log p(x) - L[q*] and the amortisation gap L[q*] - L[q_phi] \
                (Cremer et al. 2018). --full runs the IWAE paper's protocol (784-200-200-50) on \
                Fashion-MNIST when it is installed: VAE (k = 1) against IWAE (k = 50).",
        commands: vae_commands,
        rows: vae_rows,
        peers: false,
        show: all_figures,
    },
];

/// Seeds 0..n_quick, or 0..n_full under `--full`.
fn seeds(full: bool, n_quick: u64, n_full: u64) -> Vec<u64> {
    (0..if full { n_full } else { n_quick }).collect()
}

/// `(seed-<s><suffix>, parts --seed s)`.
fn argv(parts: &[&str], seed: u64, suffix: &str) -> (String, Vec<String>) {
    let args = parts
        .iter()
        .map(|s| s.to_string())
        .chain(["--seed".to_string(), seed.to_string()])
        .collect();
    (format!("seed-{seed}{suffix}"), args)
}

fn fig10_9_commands(full: bool) -> Vec<(String, Vec<String>)> {
    let cmd = [
        "vblr",
        "--data",
        "cubic",
        "--degrees",
        "0-8",
        "--noise",
        "known",
        "--beta",
        "11.111111111111111",
        "--a0",
        "0",
        "--b0",
        "0",
    ];
    seeds(full, 10, 100)
        .into_iter()
        .map(|s| argv(&cmd, s, ""))
        .collect()
}

fn diabetes_commands(full: bool) -> Vec<(String, Vec<String>)> {
    let cmd = [
        "vblr",
        "--data",
        "diabetes",
        "--test-fraction",
        "0.2",
        "--compare-evidence",
    ];
    seeds(full, 5, 10)
        .into_iter()
        .map(|s| argv(&cmd, s, ""))
        .collect()
}

fn ard_commands(full: bool) -> Vec<(String, Vec<String>)> {
    // Per seed: ARD, then the same data with one shared α.
    let shared = [
        "vblr",
        "--data",
        "sparse:200,50,5",
        "--test-fraction",
        "0.25",
        "--max-iter",
        ARD_MAX_ITER,
        "--tol",
        ARD_TOL,
    ];
    let mut ard = shared.to_vec();
    ard.push("--ard");
    seeds(full, 5, 10)
        .into_iter()
        .flat_map(|s| [argv(&ard, s, "-ard"), argv(&shared, s, "-shared")])
        .collect()
}

fn breast_cancer_commands(full: bool) -> Vec<(String, Vec<String>)> {
    let cmd = ["vb-logistic", "--data", "breast-cancer", "--folds", "5"];
    seeds(full, 5, 10)
        .into_iter()
        .map(|s| argv(&cmd, s, ""))
        .collect()
}

fn fig10_6_commands(full: bool) -> Vec<(String, Vec<String>)> {
    let cmd = ["vgmm", "--data", "faithful", "--k", "6", "--alpha0", "1e-3"];
    seeds(full, 5, 20)
        .into_iter()
        .map(|s| argv(&cmd, s, ""))
        .collect()
}

fn fig10_7_commands(full: bool) -> Vec<(String, Vec<String>)> {
    let cmd = ["vgmm", "--data", "faithful", "--k-sweep", "1-6"];
    seeds(full, 2, 5)
        .into_iter()
        .map(|s| argv(&cmd, s, ""))
        .collect()
}

fn digits_commands(full: bool) -> Vec<(String, Vec<String>)> {
    let shared = [
        "--data",
        "digits",
        "--drop-constant",
        "--k",
        "10",
        "--test-fraction",
        "0.2",
        "--tol",
        "0",
        "--max-iter",
        "100",
    ];
    let with = |head: &[&'static str], tail: &[&'static str]| -> Vec<&'static str> {
        head.iter().chain(&shared).chain(tail).copied().collect()
    };
    let vgmm = with(&["vgmm"], &[]);
    let em = with(&["em-gmm"], &["--reg-covar", "1e-6"]);
    let em_floor = with(&["em-gmm"], &["--reg-covar", "0.1"]);
    seeds(full, 3, 10)
        .into_iter()
        .flat_map(|s| {
            [
                argv(&vgmm, s, "-vgmm"),
                argv(&em, s, "-em"),
                argv(&em_floor, s, "-em-floor"),
            ]
        })
        .collect()
}

fn svi_commands(full: bool) -> Vec<(String, Vec<String>)> {
    let cmd = [
        "svi-gmm",
        "--data",
        "blobs:100000,2,10",
        "--k",
        "10",
        "--compare-batch",
    ];
    seeds(full, 2, 5)
        .into_iter()
        .map(|s| argv(&cmd, s, ""))
        .collect()
}

// ------------------------------------------------------------ numbers ---

/// A number from a metrics value (`a.b` for nested keys).
fn gradient_variance_commands(full: bool) -> Vec<(String, Vec<String>)> {
    let cmd: &[&str] = if full {
        &["gradient-variance"]
    } else {
        &["gradient-variance", "--quick"]
    };
    vec![argv(cmd, 0, "")]
}

fn gradient_variance_rows(runs: &[RunResult]) -> Vec<Row> {
    let Some(m) = runs.first().map(|r| &r.metrics) else {
        return Vec::new();
    };
    let square = m
        .get("headline")
        .and_then(Value::as_array)
        .and_then(|h| h.iter().find(|e| e["function"] == "square"));
    let mut rows = Vec::new();
    if let Some(h) = square {
        let n = h["samples"].as_f64().unwrap_or(f64::NAN);
        let cell = |field: &str| {
            ["score", "score_moving_average", "score_optimal", "pathwise"]
                .iter()
                .map(|e| fmt_num(num(&h["estimators"][e], field).unwrap_or(f64::NAN) * n))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        rows.push(Row::new(
            "variance per draw of d/dmu E[(x-k)^2], mu = sigma = 1, k = 1: score / + moving \
             average / + optimal baseline / pathwise",
            cell("variance.mu"),
            format!("exact by quadrature: {}", cell("exact_variance.mu")),
            "-",
        ));
    }
    let bounds: Vec<(f64, f64)> = m["iwae"]["bounds"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter_map(|e| Some((e["k"].as_f64()?, e["bound"].as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    if let (Some(first), Some(last)) = (bounds.first(), bounds.last()) {
        rows.push(Row::new(
            format!(
                "IWAE bound L_k, k = {} to {} (conjugate toy)",
                first.0, last.0
            ),
            format!("{} to {}", fmt_num(first.1), fmt_num(last.1)),
            format!(
                "rises with k to ln p(x) = {} (Burda et al. 2016, Thm 1)",
                num(m, "iwae.log_evidence").map_or("-".into(), fmt_num)
            ),
            "-",
        ));
    }
    rows
}

/// `bbb <experiment> [--quick]`, seed 0.
fn bbb_commands(experiment: &str, full: bool) -> Vec<(String, Vec<String>)> {
    let mut cmd = vec!["bbb", experiment];
    if !full {
        cmd.push("--quick");
    }
    vec![argv(&cmd, 0, "")]
}

fn bbb_regress_commands(full: bool) -> Vec<(String, Vec<String>)> {
    bbb_commands("regress", full)
}

fn bbb_tabular_commands(full: bool) -> Vec<(String, Vec<String>)> {
    bbb_commands("tabular", full)
}

fn bbb_sequential_commands(full: bool) -> Vec<(String, Vec<String>)> {
    bbb_commands("sequential", full)
}

fn bbb_bandit_commands(full: bool) -> Vec<(String, Vec<String>)> {
    bbb_commands("bandit", full)
}

fn bbb_regress_rows(runs: &[RunResult]) -> Vec<Row> {
    let all: Vec<&RunResult> = runs.iter().collect();
    vec![
        Row::new(
            "width of the 95 % predictive band: on the data / far from it (x in [0.8, 1.2])",
            format!(
                "{} / {}",
                mean_of(&all, "band95_width_in_data"),
                mean_of(&all, "band95_width_far")
            ),
            "narrow on the data, wide away from it (Blundell et al. 2015, Fig. 5)",
            "-",
        ),
        Row::new(
            "RMSE to the noise-free curve on the data: BBB median / plain network",
            format!(
                "{} / {}",
                mean_of(&all, "rmse"),
                mean_of(&all, "rmse_plain")
            ),
            "-",
            "-",
        ),
    ]
}

fn bbb_tabular_rows(runs: &[RunResult]) -> Vec<Row> {
    let all: Vec<&RunResult> = runs.iter().collect();
    let pm = |key: &str| {
        let v = mean_of(&all, key);
        let se = mean_of(&all, &format!("{key}_se"));
        format!("{v} ± {se}")
    };
    vec![
        Row::new(
            "diabetes test RMSE, BBB / plain network (mean ± s.e. over splits)",
            format!("{} / {}", pm("rmse"), pm("plain.rmse")),
            "-",
            "-",
        ),
        Row::new(
            "test log-likelihood per point, BBB / plain network",
            format!("{} / {}", pm("test_loglik"), pm("plain.test_loglik")),
            "-",
            "-",
        ),
        Row::new(
            "mean-field cost: KL(q* || exact posterior), fitted / closed form (nats)",
            format!(
                "{} / {}",
                mean_of(&all, "mean_field.kl_gap_fitted"),
                mean_of(&all, "mean_field.kl_gap_theory")
            ),
            "1/2 (sum ln Lambda_ii - ln |Lambda|)",
            "-",
        ),
    ]
}

fn bbb_sequential_rows(runs: &[RunResult]) -> Vec<Row> {
    let all: Vec<&RunResult> = runs.iter().collect();
    vec![
        Row::new(
            "KL to the exact posterior: sequential (posterior as prior) / one batch fit (nats)",
            format!(
                "{} / {}",
                mean_of(&all, "kl_sequential_to_exact"),
                mean_of(&all, "kl_batch_to_exact")
            ),
            "equal in exact Bayes",
            "-",
        ),
        Row::new(
            "RMSE between the two fits' predictions (standardised units)",
            mean_of(&all, "prediction_rmse_difference"),
            "0 in exact Bayes",
            "-",
        ),
    ]
}

fn bbb_bandit_rows(runs: &[RunResult]) -> Vec<Row> {
    let Some(m) = runs.first().map(|r| &r.metrics) else {
        return Vec::new();
    };
    let regret = &m["cumulative_regret"];
    let deltas: Vec<String> = regret["thompson"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    deltas
        .iter()
        .map(|d| {
            let cell = |arm: &str| regret[arm][d].as_f64().map_or("-".into(), fmt_num);
            Row::new(
                format!("cumulative regret, delta = {d}: Thompson (BBB) / epsilon-greedy / greedy"),
                format!(
                    "{} / {} / {}",
                    cell("thompson"),
                    cell("egreedy"),
                    cell("greedy")
                ),
                "BBB among the weaker Thompson samplers on the wheel (Riquelme et al. 2018)",
                "-",
            )
        })
        .collect()
}

fn vime_commands(full: bool) -> Vec<(String, Vec<String>)> {
    if full {
        ["trpo", "ppo"]
            .iter()
            .map(|algo| {
                argv(
                    &[
                        "vime",
                        "--env",
                        "mountaincar-sparse",
                        "--algo",
                        algo,
                        "--seeds",
                        "5",
                    ],
                    0,
                    &format!("-{algo}"),
                )
            })
            .collect()
    } else {
        let cmd = [
            "vime",
            "--env",
            "mountaincar-sparse",
            "--algo",
            "trpo",
            "--seeds",
            "2",
            "--iterations",
            "8",
        ];
        vec![argv(&cmd, 0, "-trpo")]
    }
}

fn vime_rows(runs: &[RunResult]) -> Vec<Row> {
    runs.iter()
        .map(|r| {
            let algo = r.metrics["config"]["algo"]
                .as_str()
                .unwrap_or("?")
                .to_uppercase();
            let seeds = &r.metrics["config"]["seeds"];
            let n = seeds
                .as_array()
                .map_or_else(|| seeds.as_u64().unwrap_or(0), |a| a.len() as u64);
            let frac = |arm: &str| {
                num(&r.metrics, &format!("success_fraction.{arm}"))
                    .map_or("-".into(), |f| format!("{} of {n}", (f * n as f64).round()))
            };
            Row::new(
                format!("seeds reaching the sparse goal: {algo} + VIME / {algo} alone"),
                format!("{} / {}", frac("vime"), frac("baseline")),
                "VIME reaches it, the baseline does not (Houthooft et al. 2016, Fig. 2)",
                "-",
            )
        })
        .collect()
}

fn vae_commands(full: bool) -> Vec<(String, Vec<String>)> {
    let mut runs = vec![argv(
        &[
            "vae",
            "--latent",
            "2",
            "--epochs",
            "40",
            "--eval-k",
            "1000",
            "--eval-n",
            "297",
            "--gaps",
            "50",
            "--compare-estimators",
        ],
        0,
        "-digits",
    )];
    if full {
        let shared = [
            "vae",
            "--data",
            "fashion-mnist",
            "--arch",
            "iwae",
            "--batch",
            "100",
            "--eval-every",
            "2",
            "--eval-n",
            "500",
        ];
        let vae: Vec<&str> = shared
            .iter()
            .copied()
            .chain([
                "--objective",
                "elbo",
                "--k",
                "1",
                "--epochs",
                "8",
                "--gaps",
                "100",
            ])
            .collect();
        let iwae: Vec<&str> = shared
            .iter()
            .copied()
            .chain(["--objective", "iwae", "--k", "50", "--epochs", "4"])
            .collect();
        runs.push(argv(&vae, 1, "-fmnist-vae"));
        runs.push(argv(&iwae, 1, "-fmnist-iwae"));
    }
    runs
}

fn vae_rows(runs: &[RunResult]) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in runs {
        let one = [r];
        let k = r.metrics["config"]["eval_k"]
            .as_u64()
            .map_or_else(String::new, |k| format!(", k = {k}"));
        let what = if r.name.ends_with("-digits") {
            "digits, 2-D latent".to_string()
        } else {
            let obj = r.metrics["config"]["train"]["objective"]
                .as_str()
                .unwrap_or("?");
            format!("Fashion-MNIST, 784-200-200-50, {obj}")
        };
        rows.push(Row::new(
            format!("{what}: test NLL (importance sampled{k}) / test ELBO, nats"),
            format!(
                "{} / {}",
                mean_of(&one, "test_nll"),
                mean_of(&one, "test_elbo")
            ),
            if r.name.ends_with("-digits") {
                "-".to_string()
            } else {
                "MNIST: VAE 86.76, IWAE (k = 50) 84.78 (Burda et al. 2016, Table 1)".to_string()
            },
            "-",
        ));
        if num(&r.metrics, "gaps.amortisation_gap").is_some() {
            rows.push(Row::new(
                format!("{what}: approximation gap / amortisation gap, nats"),
                format!(
                    "{} / {}",
                    mean_of(&one, "gaps.approximation_gap"),
                    mean_of(&one, "gaps.amortisation_gap")
                ),
                "both positive; amortisation often the larger (Cremer et al. 2018)",
                "-",
            ));
        }
        if let (Some(p), Some(s)) = (
            r.metrics["elbo_trace"]
                .as_array()
                .and_then(|t| t.last()?.as_f64()),
            r.metrics["score_elbo_trace"]
                .as_array()
                .and_then(|t| t.last()?.as_f64()),
        ) {
            rows.push(Row::new(
                format!("{what}: final training bound, pathwise / score-function gradients"),
                format!("{} / {}", fmt_num(p), fmt_num(s)),
                "pathwise ahead: lower-variance gradients (Kingma & Welling 2014)",
                "-",
            ));
        }
    }
    rows
}

fn num(m: &Value, key: &str) -> Option<f64> {
    key.split('.').try_fold(m, |v, k| v.get(k))?.as_f64()
}

/// Our `key` over the runs.
fn ours(runs: &[&RunResult], key: &str) -> Vec<f64> {
    runs.iter().filter_map(|r| num(&r.metrics, key)).collect()
}

/// The peer's `key` over the runs that have it.
fn theirs(runs: &[&RunResult], key: &str) -> Vec<f64> {
    runs.iter()
        .filter_map(|r| num(&r.peer.as_ref()?.values, key))
        .collect()
}

/// Mean of our `key` (± sd and the count over several runs).
fn mean_of(runs: &[&RunResult], key: &str) -> String {
    summarise(&ours(runs, key))
}

fn summarise(v: &[f64]) -> String {
    match v.len() {
        0 => "-".into(),
        1 => fmt_num(v[0]),
        n => {
            let mean = v.iter().sum::<f64>() / n as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
            format!("{} ± {} ({n} seeds)", fmt_num(mean), fmt_num(sd))
        }
    }
}

/// Quantities spanning orders of magnitude: the value, or min and median
/// over several runs.
fn summarise_log(v: &[f64]) -> String {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => "-".into(),
        1 => fmt_num(s[0]),
        n => {
            let med = if n % 2 == 1 {
                s[n / 2]
            } else {
                (s[n / 2 - 1] * s[n / 2]).sqrt()
            };
            format!(
                "{} (min {}, max {}; {n} seeds)",
                fmt_num(med),
                fmt_num(s[0]),
                fmt_num(s[n - 1])
            )
        }
    }
}

/// Where the runs' peer numbers come from, e.g. "measured in this run,
/// scikit-learn 1.9.1, same splits"; "k of n runs" when some have none.
fn provenance(runs: &[&RunResult]) -> Option<String> {
    let mut tags: Vec<&str> = runs
        .iter()
        .filter_map(|r| Some(r.peer.as_ref()?.tag.as_str()))
        .collect();
    let with = tags.len();
    tags.sort_unstable();
    tags.dedup();
    if with == 0 {
        return None;
    }
    let mut p = tags.join(" / ");
    if with < runs.len() {
        p.push_str(&format!("; {with} of {} runs", runs.len()));
    }
    Some(p)
}

/// A peer cell: `value (what; provenance)`, or why there is none.
fn peer_cell(runs: &[&RunResult], value: String, what: &str) -> String {
    match provenance(runs) {
        Some(p) if value != "-" => format!("{value} ({what}; {p})"),
        _ => format!("not measured ({what}; see the note on peers)"),
    }
}

/// The peer's `key`, summarised over the runs, as a cell.
fn peer_mean(runs: &[&RunResult], key: &str, what: &str) -> String {
    peer_cell(runs, summarise(&theirs(runs, key)), what)
}

/// Ours minus the peer's, run by run (only runs with both).
fn paired(runs: &[&RunResult], ours_key: &str, peer_key: &str) -> Vec<f64> {
    runs.iter()
        .filter_map(|r| Some(num(&r.metrics, ours_key)? - num(&r.peer.as_ref()?.values, peer_key)?))
        .collect()
}

/// "2 in 5 of 5 seeds (2: 5)": how often an integer `key` equals `target`,
/// with the histogram.
fn tally(runs: &[&RunResult], key: &str, target: u64) -> String {
    let v: Vec<u64> = runs
        .iter()
        .filter_map(|r| {
            key.split('.')
                .try_fold(&r.metrics, |v, k| v.get(k))?
                .as_u64()
        })
        .collect();
    match v.as_slice() {
        [] => "-".into(),
        [x] => x.to_string(),
        _ => {
            let mut counts = BTreeMap::new();
            for x in &v {
                *counts.entry(*x).or_insert(0) += 1;
            }
            let hist: Vec<String> = counts.iter().map(|(k, c)| format!("{k}: {c}")).collect();
            format!(
                "{target} in {} of {} seeds ({})",
                counts.get(&target).copied().unwrap_or(0),
                v.len(),
                hist.join(", ")
            )
        }
    }
}

/// The runs whose name ends with `suffix`.
fn named<'a>(runs: &'a [RunResult], suffix: &str) -> Vec<&'a RunResult> {
    runs.iter().filter(|r| r.name.ends_with(suffix)).collect()
}

/// A list of numbers from a metrics value, formatted.
fn list_of(m: &Value, key: &str) -> Vec<f64> {
    m.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

// --------------------------------------------------------------- rows ---

fn fig10_9_rows(runs: &[RunResult]) -> Vec<Row> {
    let best: Vec<u64> = runs
        .iter()
        .filter_map(|r| r.metrics.get("best_degree").and_then(Value::as_u64))
        .collect();
    let ours_best = match best.as_slice() {
        [b] => b.to_string(),
        bs => {
            let mut counts = BTreeMap::new();
            for b in bs {
                *counts.entry(*b).or_insert(0) += 1;
            }
            let hist: Vec<String> = counts.iter().map(|(m, c)| format!("M={m}: {c}")).collect();
            format!(
                "3 in {} of {} data sets ({})",
                counts.get(&3).copied().unwrap_or(0),
                bs.len(),
                hist.join(", ")
            )
        }
    };
    let all: Vec<&RunResult> = runs.iter().collect();
    vec![
        Row::new(
            "best polynomial order M",
            ours_best,
            "3 (PRML Fig 10.9)",
            "-",
        ),
        Row::new(
            "bound at the best M, seed 0",
            mean_of(&all[..1.min(all.len())], "log_evidence"),
            "- (plotted, not tabulated)",
            "-",
        ),
    ]
}

fn diabetes_rows(runs: &[RunResult]) -> Vec<Row> {
    let all: Vec<&RunResult> = runs.iter().collect();
    // Under unknown noise the weights' prior precision is β α (normal-Gamma
    // model), so E[β] E[α] is what compares with the evidence α.
    let weight_precision: Vec<f64> = runs
        .iter()
        .filter_map(|r| Some(num(&r.metrics, "alpha_mean")? * num(&r.metrics, "beta_mean")?))
        .collect();
    let noise_sd = |key: &str| -> Vec<f64> {
        ours(&all, key)
            .into_iter()
            .map(|b| 1.0 / b.sqrt())
            .collect()
    };
    let br = "BayesianRidge";
    let diff = format!(
        "VB {}; evidence {}",
        summarise(&paired(&all, "test_rmse", "test_rmse")),
        summarise(&paired(
            &all,
            "evidence_approximation.test_rmse",
            "test_rmse"
        ))
    );
    vec![
        Row::new(
            "test RMSE, VB",
            mean_of(&all, "test_rmse"),
            "-",
            peer_mean(&all, "test_rmse", br),
        ),
        Row::new(
            "test RMSE, evidence approximation",
            mean_of(&all, "evidence_approximation.test_rmse"),
            "-",
            peer_mean(&all, "test_rmse", br),
        ),
        Row::new(
            "test RMSE minus BayesianRidge's, paired by split",
            diff,
            "-",
            "-",
        ),
        Row::new(
            "noise sd 1/sqrt(E[beta]), VB",
            summarise(&noise_sd("beta_mean")),
            "-",
            "-",
        ),
        Row::new(
            "noise sd 1/sqrt(beta), evidence",
            summarise(&noise_sd("evidence_approximation.beta")),
            "-",
            peer_mean(&all, "noise_sd", "BayesianRidge 1/sqrt(alpha_)"),
        ),
        Row::new(
            "weight precision E[beta]E[alpha], VB",
            summarise(&weight_precision),
            "-",
            "-",
        ),
        Row::new(
            "weight precision alpha, evidence",
            mean_of(&all, "evidence_approximation.alpha"),
            "-",
            peer_mean(&all, "weight_precision", "BayesianRidge lambda_"),
        ),
        Row::new(
            "bound on ln p(t), VB",
            mean_of(&all, "log_evidence"),
            "-",
            "-",
        ),
        Row::new(
            "ln p(t | alpha, beta), evidence (centred t)",
            mean_of(&all, "evidence_approximation.log_evidence"),
            "-",
            "-",
        ),
    ]
}

/// One ARD run's recovery summary, ours and the peer's.
struct ArdPair {
    ours: Option<super::vblr::ArdRecovery>,
    peer: Option<super::vblr::ArdRecovery>,
}

fn ard_pair(r: &RunResult) -> ArdPair {
    let k = r
        .metrics
        .pointer("/config/data")
        .and_then(Value::as_str)
        .and_then(dataset::sparse_shape)
        .map(|(_, _, k)| k);
    let f64s = |v: Option<&Value>| -> Option<Vec<f64>> {
        v?.as_array()?.iter().map(Value::as_f64).collect()
    };
    let bools = |v: Option<&Value>| -> Option<Vec<bool>> {
        v?.as_array()?.iter().map(Value::as_bool).collect()
    };
    // Ours: the weights are (bias, x0, x1, …); the bias is left out.
    let ours = (|| {
        let k = k?;
        let a = f64s(r.metrics.get("alpha_mean"))?;
        let kept = bools(r.metrics.get("relevant"))?;
        ard_recovery(a.get(1..)?, kept.get(1..)?, k)
    })();
    // scikit-learn: one λ_i/α per input (its intercept is not a weight).
    let peer = (|| {
        let p = &r.peer.as_ref()?.values;
        ard_recovery(&f64s(p.get("alpha_relative"))?, &bools(p.get("kept"))?, k?)
    })();
    ArdPair { ours, peer }
}

fn ard_rows(runs: &[RunResult]) -> Vec<Row> {
    let ard: Vec<&RunResult> = runs.iter().filter(|r| r.name.ends_with("-ard")).collect();
    let shared: Vec<&RunResult> = runs
        .iter()
        .filter(|r| r.name.ends_with("-shared"))
        .collect();
    let pairs: Vec<ArdPair> = ard.iter().map(|r| ard_pair(r)).collect();
    let n = ard.len();
    let ours_of = |f: fn(&super::vblr::ArdRecovery) -> f64| -> Vec<f64> {
        pairs
            .iter()
            .filter_map(|p| p.ours.as_ref().map(f))
            .collect()
    };
    let peer_of = |f: fn(&super::vblr::ArdRecovery) -> f64| -> Vec<f64> {
        pairs
            .iter()
            .filter_map(|p| p.peer.as_ref().map(f))
            .collect()
    };
    let (k, d_irr) = pairs
        .iter()
        .find_map(|p| p.ours.as_ref())
        .map_or((0, 0), |r| (r.relevant_features, r.irrelevant_features));
    let ard_tag = "ARDRegression";

    // Convergence: every ARD fit, with its iteration count.
    let iters: Vec<u64> = ard
        .iter()
        .filter_map(|r| r.metrics.get("n_iter").and_then(Value::as_u64))
        .collect();
    let converged = ard
        .iter()
        .filter(|r| r.metrics.get("converged") == Some(&Value::Bool(true)))
        .count();
    let converged_cell = format!(
        "{converged} of {n} (iterations {}-{}, --max-iter {ARD_MAX_ITER}, --tol {ARD_TOL})",
        iters.iter().min().copied().unwrap_or(0),
        iters.iter().max().copied().unwrap_or(0)
    );

    // Pruned irrelevant weights and kept relevant ones.
    let counts = |v: Vec<f64>, of: usize| -> String {
        match v.as_slice() {
            [] => "-".into(),
            [x] => format!("{x} of {of}"),
            _ => {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!(
                    "{} of {of} (mean; {lo}-{hi} over {} seeds)",
                    fmt_num(v.iter().sum::<f64>() / v.len() as f64),
                    v.len()
                )
            }
        }
    };
    let all_kept = |v: Vec<f64>| -> String {
        match v.len() {
            0 => "-".into(),
            m => format!(
                "all {k} kept in {} of {m} seeds",
                v.iter().filter(|&&c| c as usize == k).count()
            ),
        }
    };
    vec![
        Row::new("ARD fits converged", converged_cell, "-", "-"),
        Row::new(
            format!("median E[alpha_i], x0-x{} (relevant)", k.saturating_sub(1)),
            summarise(&ours_of(|r| r.alpha_median_relevant)),
            "-",
            peer_cell(
                &ard,
                summarise(&peer_of(|r| r.alpha_median_relevant)),
                "ARDRegression lambda_i/alpha_",
            ),
        ),
        Row::new(
            format!("median E[alpha_i], the {d_irr} irrelevant"),
            summarise(&ours_of(|r| r.alpha_median_irrelevant)),
            "-",
            peer_cell(
                &ard,
                summarise(&peer_of(|r| r.alpha_median_irrelevant)),
                "ARDRegression lambda_i/alpha_; a lambda_i stops once above 1e4",
            ),
        ),
        Row::new(
            "ratio of the medians, irrelevant / relevant",
            summarise_log(&ours_of(|r| r.alpha_ratio)),
            "orders of magnitude (Bishop & Tipping 2000)",
            peer_cell(
                &ard,
                summarise_log(&peer_of(|r| r.alpha_ratio)),
                "ARDRegression",
            ),
        ),
        Row::new(
            "irrelevant weights pruned (VblrFit::relevant)",
            counts(ours_of(|r| r.irrelevant_pruned as f64), d_irr),
            format!("{d_irr} of {d_irr} (by construction)"),
            peer_cell(
                &ard,
                counts(peer_of(|r| r.irrelevant_pruned as f64), d_irr),
                "ARDRegression coef_ = 0",
            ),
        ),
        Row::new(
            format!("relevant x0-x{} kept", k.saturating_sub(1)),
            all_kept(ours_of(|r| r.relevant_kept as f64)),
            format!("x0-x{} (by construction)", k.saturating_sub(1)),
            peer_cell(
                &ard,
                all_kept(peer_of(|r| r.relevant_kept as f64)),
                "ARDRegression",
            ),
        ),
        Row::new(
            "test RMSE with ARD",
            mean_of(&ard, "test_rmse"),
            "1.0 (noise sd)",
            peer_mean(&ard, "test_rmse", ard_tag),
        ),
        Row::new(
            "test RMSE with one shared alpha",
            mean_of(&shared, "test_rmse"),
            "-",
            peer_mean(&shared, "test_rmse", "BayesianRidge"),
        ),
    ]
}

fn breast_cancer_rows(runs: &[RunResult]) -> Vec<Row> {
    let all: Vec<&RunResult> = runs.iter().collect();
    let lr = "LogisticRegression";
    vec![
        Row::new(
            "5-fold accuracy",
            mean_of(&all, "accuracy"),
            "0.975 (UCI wdbc.names: MSM-T, repeated 10-fold CV)",
            peer_mean(&all, "accuracy", lr),
        ),
        Row::new(
            "accuracy minus LogisticRegression's, paired by seed",
            summarise(&paired(&all, "accuracy", "accuracy")),
            "-",
            "-",
        ),
        Row::new(
            "5-fold log-loss",
            mean_of(&all, "log_loss"),
            "-",
            peer_mean(&all, "log_loss", lr),
        ),
        Row::new(
            "5-fold ECE (10 bins)",
            mean_of(&all, "ece"),
            "-",
            peer_mean(&all, "ece", lr),
        ),
        Row::new(
            "E[alpha], fit on all rows (the same for every seed)",
            mean_of(&all[..1.min(all.len())], "alpha_mean"),
            "-",
            "-",
        ),
    ]
}

fn fig10_6_rows(runs: &[RunResult]) -> Vec<Row> {
    let all: Vec<&RunResult> = runs.iter().collect();
    let kept = runs.first().map_or_else(String::new, |r| {
        let mut w: Vec<f64> = list_of(&r.metrics, "weights")
            .into_iter()
            .filter(|&w| w > 0.01)
            .collect();
        w.sort_by(|a, b| b.total_cmp(a));
        w.iter().map(|&x| fmt_num(x)).collect::<Vec<_>>().join(", ")
    });
    vec![
        Row::new(
            "components with E[pi_k] > 0.01 (K = 6, alpha0 = 1e-3)",
            tally(&all, "effective_components", 2),
            "2 (PRML Fig 10.6)",
            "-",
        ),
        Row::new("their E[pi_k], seed 0", kept, "-", "-"),
        Row::new(
            "CAVI iterations to converge (tol 1e-8)",
            mean_of(&all, "n_iter"),
            "-",
            "-",
        ),
        Row::new(
            "bound per point (every constant kept)",
            mean_of(&all, "bound_per_point"),
            "-",
            "-",
        ),
    ]
}

fn fig10_7_rows(runs: &[RunResult]) -> Vec<Row> {
    let all: Vec<&RunResult> = runs.iter().collect();
    let by_k = runs.first().map_or_else(String::new, |r| {
        r.metrics
            .get("bound_by_k")
            .and_then(Value::as_object)
            .map(|o| {
                let mut v: Vec<(u64, f64)> = o
                    .iter()
                    .filter_map(|(k, b)| Some((k.parse().ok()?, b.as_f64()?)))
                    .collect();
                v.sort_by_key(|p| p.0);
                v.iter()
                    .map(|(k, b)| format!("K={k}: {}", fmt_num(*b)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    });
    vec![
        Row::new(
            "K with the highest bound + ln K!, K = 1..6",
            tally(&all, "best_k", 2),
            "2 (PRML Fig 10.7)",
            "-",
        ),
        Row::new(
            "bound + ln K!, best of 10 starts, seed 0",
            by_k,
            "a peak at K = 2 (plotted, not tabulated)",
            "-",
        ),
    ]
}

fn digits_rows(runs: &[RunResult]) -> Vec<Row> {
    let v = named(runs, "-vgmm");
    let em = named(runs, "-em");
    let emf = named(runs, "-em-floor");
    let bgm = "BayesianGaussianMixture score(), its own k-means init";
    let same: Vec<f64> = paired(
        &v,
        "heldout_loglik_per_point",
        "same_init.heldout_loglik_per_point_t",
    )
    .into_iter()
    .map(f64::abs)
    .collect();
    let same_cell = if same.is_empty() {
        "-".to_string()
    } else {
        format!(
            "{} (largest over {} seeds)",
            fmt_num(same.iter().copied().fold(0.0, f64::max)),
            same.len()
        )
    };
    vec![
        Row::new(
            "held-out log-likelihood per point, VGMM (Student-t, PRML 10.81)",
            mean_of(&v, "heldout_loglik_per_point"),
            "-",
            peer_mean(&v, "heldout_loglik_per_point", bgm),
        ),
        Row::new(
            "VGMM minus BayesianGaussianMixture's score(), paired by split",
            summarise(&paired(
                &v,
                "heldout_loglik_per_point",
                "heldout_loglik_per_point",
            )),
            "the same or better (the issue's goal)",
            "-",
        ),
        Row::new(
            "BayesianGaussianMixture, its own init, scored through PRML 10.81",
            "-",
            "-",
            peer_mean(
                &v,
                "heldout_loglik_per_point_t",
                "BayesianGaussianMixture posterior through 10.81, its own k-means init",
            ),
        ),
        Row::new(
            "same start: |ours - BayesianGaussianMixture through PRML 10.81|",
            same_cell,
            "0 up to rounding (the same CAVI)",
            peer_mean(
                &v,
                "same_init.heldout_loglik_per_point_t",
                "BayesianGaussianMixture from our k-means labels, posterior through 10.81",
            ),
        ),
        Row::new(
            "held-out log-likelihood per point, EM, reg_covar 1e-6",
            mean_of(&em, "heldout_loglik_per_point"),
            "-",
            peer_mean(
                &em,
                "same_init.heldout_loglik_per_point",
                "GaussianMixture from our k-means labels",
            ),
        ),
        Row::new(
            "held-out log-likelihood per point, EM, reg_covar 0.1",
            mean_of(&emf, "heldout_loglik_per_point"),
            "-",
            peer_mean(
                &emf,
                "same_init.heldout_loglik_per_point",
                "GaussianMixture from our k-means labels",
            ),
        ),
        Row::new(
            "components with E[pi_k] > 0.01, VGMM",
            mean_of(&v, "effective_components"),
            "-",
            peer_mean(&v, "effective_components", "BayesianGaussianMixture"),
        ),
    ]
}

fn svi_rows(runs: &[RunResult]) -> Vec<Row> {
    let all: Vec<&RunResult> = runs.iter().collect();
    let gap: Vec<f64> = ours(&all, "relative_gap_to_batch")
        .into_iter()
        .map(|g| 100.0 * g)
        .collect();
    vec![
        Row::new(
            "bound per point, SVI (batch 1000, 10 epochs)",
            mean_of(&all, "bound_per_point"),
            "-",
            "-",
        ),
        Row::new(
            "bound per point, batch CAVI",
            mean_of(&all, "batch.bound_per_point"),
            "-",
            "-",
        ),
        Row::new(
            "SVI below CAVI, % of |CAVI's bound|",
            summarise(&gap),
            "within 1 % (the issue's goal)",
            "-",
        ),
        Row::new("seconds, SVI", mean_of(&all, "svi_seconds"), "-", "-"),
        Row::new(
            "seconds, batch CAVI",
            mean_of(&all, "batch.seconds"),
            "-",
            "-",
        ),
    ]
}

// -------------------------------------------------------------- peers ---

/// The peer numbers for every run, and a sentence on where they come from.
struct Peers {
    /// `<experiment>/<run>` → numbers.
    by_run: BTreeMap<String, Peer>,
    /// For the report.
    note: String,
    /// For `peers.json`.
    status: Value,
    /// Problems worth a warning line.
    warnings: Vec<String>,
}

/// Run the peers script on the runs written so far under `dir`; its JSON,
/// or why it could not run.
fn measure_peers(python: &str, dir: &Path, script: &Path) -> anyhow::Result<Value> {
    match Process::new(python).args(["-c", "import sklearn"]).output() {
        Err(e) => bail!("{python} not found ({e})"),
        Ok(o) if !o.status.success() => {
            bail!("`{python} -c \"import sklearn\"` failed (scikit-learn is not installed)")
        }
        Ok(_) => {}
    }
    let out = Process::new(python)
        .arg(script)
        .arg(dir)
        .arg("--data-dir")
        .arg(DATA_DIR)
        .output()
        .with_context(|| format!("running {python} {PEERS_SCRIPT_PATH}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{PEERS_SCRIPT_PATH} failed: {}",
            err.lines().last().unwrap_or("no message")
        );
    }
    serde_json::from_slice(&out.stdout).context("reading the peers script's output")
}

/// Measured numbers where the script ran and its fingerprints of the rows
/// and the data agree with the run's, recorded ones (same fingerprints)
/// elsewhere.
fn collect_peers(args: &Args, dir: &RunDir, fingerprints: &BTreeMap<String, String>) -> Peers {
    let mut warnings = Vec::new();
    let measured = match args.peers {
        PeersMode::Off => Err("--peers off".to_string()),
        PeersMode::Auto => measure_peers(&args.python, dir.path(), &dir.path().join("peers.py"))
            .map_err(|e| format!("{e:#}")),
    };
    let recorded: Value = serde_json::from_str(PEERS_RECORDED).unwrap_or(Value::Null);
    let version = |v: &Value| {
        v.get("version")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let measured_tag = measured.as_ref().map(|m| {
        format!(
            "measured in this run, scikit-learn {}, same splits",
            version(m)
        )
    });
    let recorded_tag = format!("recorded, scikit-learn {}, same splits", version(&recorded));

    let mut by_run = BTreeMap::new();
    let mut problems = BTreeMap::new();
    let (mut n_measured, mut n_recorded, mut n_none) = (0, 0, 0);
    for (key, fp) in fingerprints {
        // (source, problem) → the runs it concerns, one example each.
        let pick = |doc: &Value,
                    what: &'static str,
                    problems: &mut BTreeMap<(&'static str, &'static str), Vec<String>>|
         -> Option<Value> {
            let v = doc.get("runs")?.get(key)?;
            if let Some(e) = v.get("error").and_then(Value::as_str) {
                problems
                    .entry((what, "failed"))
                    .or_default()
                    .push(format!("{key}: {e}"));
                return None;
            }
            let theirs = format!(
                "{}/{}",
                v.get("split_fingerprint")
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                v.get("data_fingerprint")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
            );
            if theirs == *fp {
                Some(v.clone())
            } else {
                problems
                    .entry((what, "are for other rows or data (fingerprints differ)"))
                    .or_default()
                    .push(format!("{key}: {theirs} vs {fp}"));
                None
            }
        };
        let live = match (&measured, &measured_tag) {
            (Ok(m), Ok(tag)) => pick(m, "measured", &mut problems).map(|v| (v, tag.clone())),
            _ => None,
        };
        let chosen = live.or_else(|| {
            pick(&recorded, "recorded", &mut problems).map(|v| (v, recorded_tag.clone()))
        });
        match chosen {
            Some((values, tag)) => {
                if tag.starts_with("measured") {
                    n_measured += 1;
                } else {
                    n_recorded += 1;
                }
                by_run.insert(key.clone(), Peer { values, tag });
            }
            None => n_none += 1,
        }
    }
    for ((what, problem), runs) in &problems {
        let refresh = if *what == "recorded" {
            " (refresh them as peers.py says)"
        } else {
            ""
        };
        warnings.push(format!(
            "peers: {what} numbers for {} runs {problem}; not shown{refresh}; e.g. {}",
            runs.len(),
            runs[0]
        ));
    }
    let total = fingerprints.len();
    let mut note = format!(
        "Peer numbers are scikit-learn's on exactly our rows: {PEERS_SCRIPT_PATH} (copied here as \
         peers.py; rerun with `python3 peers.py DIR --data-dir DATA`) reads each run's split.json \
         and data and fits BayesianRidge, ARDRegression, LogisticRegression, \
         BayesianGaussianMixture or GaussianMixture to the same training rows. "
    );
    match &measured {
        Ok(m) => note.push_str(&format!(
            "Measured in this run with scikit-learn {} (numpy {}, Python {}) for {n_measured} of \
             {total} runs.",
            version(m),
            m.get("numpy").and_then(Value::as_str).unwrap_or("?"),
            m.get("python").and_then(Value::as_str).unwrap_or("?"),
        )),
        Err(why) => {
            if args.peers == PeersMode::Auto {
                warnings.push(format!("peers: {why}; showing recorded numbers"));
            }
            note.push_str(&format!(
                "Not measured in this run ({why}): the cells marked \"recorded\" were measured by \
                 the same script on the same splits with scikit-learn {}.",
                version(&recorded)
            ));
        }
    }
    if n_recorded > 0 && measured.is_ok() {
        note.push_str(&format!(
            " {n_recorded} runs show recorded numbers (same splits)."
        ));
    }
    if n_none > 0 {
        note.push_str(&format!(" {n_none} of {total} runs have no peer number."));
    }
    let status = json!({
        "mode": match args.peers { PeersMode::Auto => "auto", PeersMode::Off => "off" },
        "script": PEERS_SCRIPT_PATH,
        "measured": measured.as_ref().ok().map(version),
        "not_measured_because": measured.as_ref().err(),
        "recorded_version": version(&recorded),
        "runs_measured": n_measured,
        "runs_recorded": n_recorded,
        "runs_without_peer": n_none,
    });
    Peers {
        by_run,
        note,
        status,
        warnings,
    }
}

// ---------------------------------------------------------------- run ---

/// Run one `elbo` command line in-process (no output directory of its own).
fn execute(args: &[String], progress: &mut Progress) -> anyhow::Result<(ModelRun, u64)> {
    let argv = std::iter::once("elbo".to_string())
        .chain(args.iter().cloned())
        .map(Into::into)
        .collect();
    let cli =
        crate::config::parse_args(argv)?.context("internal: an experiment asked for --help")?;
    match prepare_model(cli.command)? {
        Ok(model) => {
            progress.set_label(model.label());
            Ok((model.execute(progress)?, model.seed()))
        }
        Err(_) => bail!("internal: `elbo {}` is not a model command", args.join(" ")),
    }
}

/// An experiment whose runs are done and written, waiting for the peers.
struct Done {
    exp: &'static Experiment,
    runs: Vec<(String, Value)>,
    figures: Vec<ReportFigure>,
    commands: Vec<String>,
    wall_seconds: f64,
}

/// Run `elbo reproduce`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let full = args.full;
    let mode = if full { "full" } else { "quick" };
    let id = RunId::new("reproduce", "all", 0, &json!({ "mode": mode }));
    check_target(&args.out, &id, args.force)?;
    let dir = RunDir::create(&args.out, id.clone(), args.force)?;
    let start = Instant::now();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    let mut done = Vec::new();
    // `<experiment>/<run>` → rows/data fingerprints, for the peers.
    let mut fingerprints = BTreeMap::new();
    let mut progress = Progress::new("reproduce");
    for (k, exp) in EXPERIMENTS.iter().enumerate() {
        let t0 = Instant::now();
        let commands = (exp.commands)(full);
        writeln!(
            stdout,
            "[{}/{}] {} ({} runs)",
            k + 1,
            EXPERIMENTS.len(),
            exp.title,
            commands.len()
        )
        .context("writing to stdout")?;
        let mut runs = Vec::new();
        let mut figures = Vec::new();
        let mut shown = Vec::new();
        for (name, cmd) in &commands {
            let (run, seed) = execute(cmd, &mut progress)
                .with_context(|| format!("experiment {}: `elbo {}`", exp.key, cmd.join(" ")))?;
            let sub = format!("{}/{name}/", exp.key);
            run.write_into(&dir, &sub, seed)?;
            for w in &run.warnings {
                // Nothing sensible to do if stderr is closed.
                let _ = writeln!(stderr, "elbo: warning: {} ({name}): {w}", exp.key);
            }
            if let Some(s) = run.split.as_ref().filter(|_| exp.peers) {
                fingerprints.insert(format!("{}/{name}", exp.key), s.identity());
            }
            // The report shows the first seed's figures (for ARD: both models).
            if seed == 0 {
                figures.extend(
                    run.figures
                        .iter()
                        .filter(|f| (exp.show)(name, &f.file))
                        .map(|f| ReportFigure {
                            title: f.title.clone(),
                            path: format!("{sub}{}", f.file),
                            svg: f.svg.clone(),
                        }),
                );
                shown.push(format!("elbo {}", cmd.join(" ")));
            }
            runs.push((name.clone(), run.metrics));
        }
        if commands.len() > shown.len() {
            shown.push(format!(
                "… and the same for the other seeds ({} runs in all, one directory each)",
                commands.len()
            ));
        }
        done.push(Done {
            exp,
            runs,
            figures,
            commands: shown,
            wall_seconds: t0.elapsed().as_secs_f64(),
        });
    }
    drop(progress);

    // ---- Peers: scikit-learn on the same rows.
    let t_peers = Instant::now();
    dir.write("peers.py", PEERS_SCRIPT)?;
    let peers = collect_peers(&args, &dir, &fingerprints);
    for w in &peers.warnings {
        let _ = writeln!(stderr, "elbo: warning: {w}");
    }
    let peers_seconds = t_peers.elapsed().as_secs_f64();
    let peers_json: serde_json::Map<String, Value> = peers
        .by_run
        .iter()
        .map(|(k, p)| {
            let mut v = p.values.clone();
            if let Some(o) = v.as_object_mut() {
                o.insert("source".into(), Value::from(p.tag.clone()));
            }
            (k.clone(), v)
        })
        .collect();
    dir.write_json(
        "peers.json",
        &json!({ "status": peers.status, "note": peers.note, "runs": peers_json }),
    )?;

    // ---- Tables.
    let mut sections = Vec::new();
    for d in done {
        let results: Vec<RunResult> = d
            .runs
            .into_iter()
            .map(|(name, metrics)| RunResult {
                peer: peers.by_run.get(&format!("{}/{name}", d.exp.key)).cloned(),
                name,
                metrics,
            })
            .collect();
        let rows = (d.exp.rows)(&results);
        writeln!(stdout, "{}", d.exp.title).context("writing to stdout")?;
        for r in &rows {
            let peer = r.peer.split(" (").next().unwrap_or("");
            writeln!(
                stdout,
                "    {:50} ours {:40} peer {peer}",
                r.quantity, r.ours
            )
            .context("writing to stdout")?;
        }
        sections.push(Section {
            key: d.exp.key.to_string(),
            title: d.exp.title.to_string(),
            about: d.exp.about.to_string(),
            commands: d.commands,
            rows,
            figures: d.figures,
            wall_seconds: d.wall_seconds,
        });
    }
    let wall = start.elapsed().as_secs_f64();

    let intro = format!(
        "elbo {} `reproduce --{mode}`: every experiment, our numbers beside the published ones and \
         scikit-learn's on the same rows. Total {:.1} s (peers {:.1} s).",
        env!("CARGO_PKG_VERSION"),
        wall,
        peers_seconds
    );
    dir.write(
        "index.html",
        report::html("elbo: reproduced results", &intro, &peers.note, &sections),
    )?;
    dir.write("results.md", report::markdown(&sections, &peers.note))?;
    let summary = json!({
        "mode": mode,
        "elbo_version": env!("CARGO_PKG_VERSION"),
        "wall_seconds": wall,
        "peers": peers.status,
        "experiments": sections,
    });
    dir.write_json("summary.json", &summary)?;
    let mut m = Metrics::new(&id);
    m.set(
        "experiments",
        sections.iter().map(|s| s.key.clone()).collect::<Vec<_>>(),
    )?;
    m.set("peers", &peers.status)?;
    dir.write_json("metrics.json", &m.finish(wall, &[]))?;
    let path = dir.commit()?;
    writeln!(stdout, "peers: {}", peers.note).context("writing to stdout")?;
    writeln!(
        stdout,
        "wrote {} (index.html, results.md, summary.json, peers.json) in {:.1} s",
        path.display(),
        wall
    )
    .context("writing to stdout")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_experiment_command_parses() {
        for exp in EXPERIMENTS {
            for full in [false, true] {
                for (_, cmd) in (exp.commands)(full) {
                    let argv = std::iter::once("elbo".to_string())
                        .chain(cmd.iter().cloned())
                        .map(Into::into)
                        .collect();
                    let r = crate::config::parse_args(argv);
                    assert!(matches!(r, Ok(Some(_))), "{}: {:?}", exp.key, cmd);
                }
            }
        }
    }

    #[test]
    fn quick_runs_are_a_subset_of_full_runs() {
        // The recorded peer numbers come from a --full run and serve --quick
        // (experiments without peers may run smaller --quick versions).
        for exp in EXPERIMENTS.iter().filter(|e| e.peers) {
            let full: Vec<_> = (exp.commands)(true);
            for q in (exp.commands)(false) {
                assert!(full.contains(&q), "{}: {:?}", exp.key, q);
            }
        }
    }

    #[test]
    fn recorded_peers_parse_and_name_their_version() {
        let v: Value = serde_json::from_str(PEERS_RECORDED).unwrap();
        assert!(v["version"].as_str().unwrap().starts_with("1."));
        let runs = v["runs"].as_object().unwrap();
        for (key, r) in runs {
            assert!(r.get("error").is_none(), "{key}: {r}");
            assert_eq!(r["split_fingerprint"].as_str().map(str::len), Some(16));
            assert_eq!(r["data_fingerprint"].as_str().map(str::len), Some(16));
        }
        for exp in EXPERIMENTS.iter().filter(|e| e.peers) {
            for (name, _) in (exp.commands)(true) {
                assert!(runs.contains_key(&format!("{}/{name}", exp.key)), "{name}");
            }
        }
    }

    #[test]
    fn summaries_of_one_and_many() {
        assert_eq!(summarise(&[]), "-");
        assert_eq!(summarise(&[2.0]), "2.000");
        assert_eq!(summarise(&[1.0, 3.0]), "2.000 ± 1.414 (2 seeds)");
        assert_eq!(
            summarise_log(&[10.0, 1000.0, 100.0]),
            "100.0 (min 10.00, max 1000; 3 seeds)"
        );
    }
}
