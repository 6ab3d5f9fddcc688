//! What a training run reports, per iteration and overall.

use super::policy::Policy;
use serde::{Deserialize, Serialize};

/// One iteration's figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IterLog {
    /// Iteration number, from 0.
    pub iteration: usize,
    /// Environment steps taken so far (all copies).
    pub steps: usize,
    /// Mean return (environment reward, no bonus) of the episodes that
    /// ended in this iteration's batch; `None` if none ended.
    pub mean_return: Option<f64>,
    /// Number of episodes that ended in this batch.
    pub episodes: usize,
    /// Mean KL(π_old ‖ π_new) over the batch after the update.
    pub kl: f64,
    /// Value loss of the last epoch.
    pub value_loss: f64,
    /// TRPO: line-search steps taken back (0 = full step; `None` = rejected).
    /// PPO: `None`.
    pub backtracks: Option<usize>,
    /// PPO: fraction of samples whose ratio was clipped in the last epoch.
    pub clip_fraction: Option<f64>,
    /// Wall time since the start, seconds.
    pub wall_seconds: f64,
}

/// A finished run: the per-iteration log and the final policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainLog {
    /// Per-iteration figures.
    pub iterations: Vec<IterLog>,
    /// The policy's architecture.
    pub policy: Policy,
    /// Its final parameters θ.
    pub theta: Vec<f64>,
}

impl TrainLog {
    /// Mean of the per-iteration mean returns over the last `k` iterations
    /// that had finished episodes.
    pub fn final_return(&self, k: usize) -> Option<f64> {
        let r: Vec<f64> = self
            .iterations
            .iter()
            .rev()
            .filter_map(|i| i.mean_return)
            .take(k)
            .collect();
        (!r.is_empty()).then(|| r.iter().sum::<f64>() / r.len() as f64)
    }
}
