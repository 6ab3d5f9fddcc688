//! `metrics.json`: the contract every run honours (DESIGN.md).
//!
//! Always `model`, `dataset`, `seed`, `config` (every hyper-parameter
//! actually used), `wall_seconds` and `elbo_trace`, plus the model's own
//! keys, flat at the top level. Nothing else time-dependent goes in, so the
//! same seed gives the same file up to `wall_seconds`.

use anyhow::Context;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::output::RunId;

/// The keys every `metrics.json` holds.
#[cfg(test)]
pub const REQUIRED: [&str; 6] = [
    "model",
    "dataset",
    "seed",
    "config",
    "wall_seconds",
    "elbo_trace",
];

/// A `metrics.json` being filled in.
#[derive(Debug, Clone)]
pub struct Metrics {
    map: Map<String, Value>,
}

impl Metrics {
    /// Start with the run's identity (`model`, `dataset`, `seed`, `config`).
    pub fn new(id: &RunId) -> Self {
        Self {
            map: id.fields.clone(),
        }
    }

    /// Set a model key.
    pub fn set(&mut self, key: &str, value: impl Serialize) -> anyhow::Result<()> {
        let v = serde_json::to_value(value).with_context(|| format!("recording `{key}`"))?;
        self.map.insert(key.to_string(), v);
        Ok(())
    }

    /// Add `wall_seconds` and the bound trace, and return the JSON value.
    pub fn finish(mut self, wall_seconds: f64, elbo_trace: &[f64]) -> Value {
        self.map
            .insert("wall_seconds".into(), Value::from(wall_seconds));
        self.map
            .insert("elbo_trace".into(), Value::from(elbo_trace.to_vec()));
        Value::Object(self.map)
    }
}

/// Serialise a resolved configuration to JSON for `metrics.json`.
pub fn config_value(config: &impl Serialize) -> anyhow::Result<Value> {
    serde_json::to_value(config).context("recording the configuration")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_metrics_hold_every_required_key() {
        let id = RunId::new("vblr", "cubic", 3, &serde_json::json!({"a0": 1e-6}));
        let mut m = Metrics::new(&id);
        m.set("rmse", 0.5).unwrap();
        let v = m.finish(0.25, &[-3.0, -2.0]);
        for k in REQUIRED {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["seed"], 3);
        assert_eq!(v["elbo_trace"][1], -2.0);
    }
}
