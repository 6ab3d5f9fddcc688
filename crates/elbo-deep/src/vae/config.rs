//! Hyper-parameters of the VAE: the network ([`VaeConfig`]) and the
//! training run ([`TrainConfig`]), each with a `check()` that names the
//! field and the valid range before burn ever sees the values.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// tanh, as in Burda et al. (2016) §5.
    Tanh,
    /// max(0, x), as in PyTorch's `examples/vae`.
    Relu,
}

/// The observation model p_θ(x | z).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Independent Bernoulli pixels with logits from the decoder
    /// (Kingma & Welling 2014, appendix C.1): log p(x|z) = Σ_d x_d l_d −
    /// softplus(l_d), computed as log σ(l_d) − (1 − x_d) l_d. Pixels in
    /// [0, 1] that are not binary give the "continuous Bernoulli-style" BCE
    /// loss PyTorch's example optimises.
    Bernoulli,
    /// Independent Gaussians with the decoder's mean and one learnt log
    /// variance per pixel (Kingma & Welling 2014, appendix C.2).
    Gaussian,
}

/// The network: encoder q_φ(z|x) = N(μ_φ(x), diag σ²_φ(x)) and decoder
/// p_θ(x|z), multi-layer perceptrons mirroring each other.
///
/// `layers` is `[D, h_1, …, h_m, L]`: input size, hidden sizes, latent size.
/// The encoder maps D → h_1 → … → h_m → 2L (one concatenated head holding
/// μ and log σ²); the decoder maps L → h_m → … → h_1 → D.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// `[D, hidden…, L]`.
    pub layers: Vec<usize>,
    /// Hidden-layer non-linearity.
    pub activation: Activation,
    /// Observation model.
    pub likelihood: Likelihood,
}

impl VaeConfig {
    /// Burda et al. (2016) §5, one stochastic layer: 784-200-200-50, tanh,
    /// Bernoulli decoder.
    pub fn iwae() -> Self {
        Self {
            layers: vec![784, 200, 200, 50],
            activation: Activation::Tanh,
            likelihood: Likelihood::Bernoulli,
        }
    }

    /// PyTorch's `examples/vae`: 784-400-20, ReLU, Bernoulli decoder.
    pub fn pytorch() -> Self {
        Self {
            layers: vec![784, 400, 20],
            activation: Activation::Relu,
            likelihood: Likelihood::Bernoulli,
        }
    }

    /// A preset by name (`iwae`, `pytorch`) or a layer list `784-400-20`
    /// (activation ReLU unless a preset says otherwise).
    pub fn parse(spec: &str) -> Result<Self> {
        match spec {
            "iwae" => return Ok(Self::iwae()),
            "pytorch" => return Ok(Self::pytorch()),
            _ => {}
        }
        let layers: std::result::Result<Vec<usize>, _> =
            spec.split('-').map(|s| s.trim().parse::<usize>()).collect();
        let layers = layers.map_err(|_| {
            Error::invalid(
                "arch",
                spec,
                "`iwae`, `pytorch` or sizes joined by `-` such as 784-400-20",
            )
        })?;
        let c = Self {
            layers,
            activation: Activation::Relu,
            likelihood: Likelihood::Bernoulli,
        };
        c.check()?;
        Ok(c)
    }

    /// The same network with input size `d`.
    pub fn with_input(mut self, d: usize) -> Self {
        if let Some(first) = self.layers.first_mut() {
            *first = d;
        }
        self
    }

    /// The same network with latent size `l`.
    pub fn with_latent(mut self, l: usize) -> Self {
        if let Some(last) = self.layers.last_mut() {
            *last = l;
        }
        self
    }

    /// The same network with another activation.
    pub fn with_activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }

    /// The same network with another observation model.
    pub fn with_likelihood(mut self, l: Likelihood) -> Self {
        self.likelihood = l;
        self
    }

    /// Input size D.
    pub fn input(&self) -> usize {
        self.layers.first().copied().unwrap_or(0)
    }

    /// Latent size L.
    pub fn latent(&self) -> usize {
        self.layers.last().copied().unwrap_or(0)
    }

    /// Hidden sizes h_1..h_m (possibly none: a linear encoder and decoder).
    pub fn hidden(&self) -> &[usize] {
        if self.layers.len() < 2 {
            &[]
        } else {
            &self.layers[1..self.layers.len() - 1]
        }
    }

    /// The layer list as `784-200-200-50`.
    pub fn arch_string(&self) -> String {
        self.layers
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// At least input and latent sizes, all positive.
    pub fn check(&self) -> Result<()> {
        if self.layers.len() < 2 {
            return Err(Error::invalid(
                "arch",
                self.arch_string(),
                "at least an input and a latent size, e.g. 784-400-20",
            ));
        }
        if self.layers.contains(&0) {
            return Err(Error::invalid(
                "arch",
                self.arch_string(),
                "layer sizes of at least 1",
            ));
        }
        if self.layers.iter().any(|&n| n > 100_000) {
            return Err(Error::invalid(
                "arch",
                self.arch_string(),
                "layer sizes of at most 100000",
            ));
        }
        Ok(())
    }
}

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The ELBO, averaged over k samples (Kingma & Welling 2014 eq. (10),
    /// analytic KL).
    Elbo,
    /// The importance-weighted bound L_k (Burda et al. 2016 eq. (8)).
    Iwae,
}

/// How the gradient of the bound with respect to the encoder is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Estimator {
    /// Reparameterisation z = μ + σ ⊙ ε (Kingma & Welling 2014 §2.4).
    Pathwise,
    /// Score function (REINFORCE) with a moving-average baseline; a
    /// surrogate loss whose value is the ELBO and whose gradient is
    /// E[(log p(x|z) − b) ∇_φ log q_φ(z|x)] − ∇_φ KL (Kingma & Welling 2014
    /// §2.2 mentions its high variance; Mnih & Gregor 2014 for baselines).
    Score,
}

/// One training run: objective, optimiser and schedule. The seed drives
/// the shuffling, the binarisation and every ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// ELBO or IWAE.
    pub objective: Objective,
    /// Samples per data point, k ≥ 1.
    pub k: usize,
    /// Gradient estimator (the score function is for the ELBO only).
    pub estimator: Estimator,
    /// Passes over the training data.
    pub epochs: usize,
    /// Minibatch size; the last incomplete batch of an epoch is dropped
    /// (fixed shapes).
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// KL warm-up: β rises linearly from 0 to 1 over this many epochs
    /// (Sønderby et al. 2016); 0 for none.
    pub warmup: f64,
    /// Free bits λ (nats per latent dimension, Kingma et al. 2016 eq. (15)):
    /// the KL term is Σ_d max(λ, KL_d) with KL_d averaged over the batch.
    pub free_bits: f64,
    /// Draw fresh binary pixels each epoch (Burda et al. 2016 §5).
    pub binarize: bool,
    /// Decay of the score-function baseline's moving average.
    pub baseline_decay: f64,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            objective: Objective::Elbo,
            k: 1,
            estimator: Estimator::Pathwise,
            epochs: 10,
            batch: 100,
            lr: 1e-3,
            warmup: 0.0,
            free_bits: 0.0,
            binarize: true,
            baseline_decay: 0.9,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// Every field in range, and combinations that make sense.
    pub fn check(&self) -> Result<()> {
        if self.k == 0 || self.k > 10_000 {
            return Err(Error::invalid("k", self.k, "between 1 and 10000"));
        }
        if self.epochs == 0 {
            return Err(Error::invalid("epochs", self.epochs, "at least 1"));
        }
        if self.batch == 0 {
            return Err(Error::invalid("batch", self.batch, "at least 1"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 1.0) {
            return Err(Error::invalid("lr", self.lr, "in (0, 1]"));
        }
        if !(self.warmup.is_finite() && self.warmup >= 0.0) {
            return Err(Error::invalid("warmup", self.warmup, "≥ 0 epochs"));
        }
        if !(self.free_bits.is_finite() && self.free_bits >= 0.0) {
            return Err(Error::invalid("free-bits", self.free_bits, "≥ 0 nats"));
        }
        if !(self.baseline_decay.is_finite() && (0.0..1.0).contains(&self.baseline_decay)) {
            return Err(Error::invalid(
                "baseline-decay",
                self.baseline_decay,
                "in [0, 1)",
            ));
        }
        if self.objective == Objective::Iwae {
            if self.estimator == Estimator::Score {
                return Err(Error::invalid(
                    "estimator",
                    "score",
                    "pathwise for the IWAE objective (the score-function estimator is for the ELBO)",
                ));
            }
            if self.warmup > 0.0 || self.free_bits > 0.0 {
                return Err(Error::invalid(
                    "objective",
                    "iwae",
                    "elbo when --warmup or --free-bits is given (they reweight the ELBO's KL term)",
                ));
            }
        }
        Ok(())
    }

    /// β of the KL term at fractional epoch `t` (warm-up).
    pub fn beta(&self, t: f64) -> f64 {
        if self.warmup > 0.0 {
            (t / self.warmup).min(1.0)
        } else {
            1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_layer_lists_parse() {
        assert_eq!(
            VaeConfig::parse("iwae").unwrap().layers,
            vec![784, 200, 200, 50]
        );
        assert_eq!(
            VaeConfig::parse("pytorch").unwrap().layers,
            vec![784, 400, 20]
        );
        let c = VaeConfig::parse("64-32-2").unwrap();
        assert_eq!((c.input(), c.hidden(), c.latent()), (64, &[32][..], 2));
        assert_eq!(VaeConfig::parse("5-2").unwrap().hidden(), &[] as &[usize]);
        for bad in ["", "784", "784-x-20", "784-0-20"] {
            assert!(VaeConfig::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_training_parameters_are_named() {
        let ok = TrainConfig::default();
        assert!(ok.check().is_ok());
        let cases: Vec<(TrainConfig, &str)> = vec![
            (TrainConfig { k: 0, ..ok.clone() }, "k must be"),
            (
                TrainConfig {
                    epochs: 0,
                    ..ok.clone()
                },
                "epochs must be",
            ),
            (
                TrainConfig {
                    batch: 0,
                    ..ok.clone()
                },
                "batch must be",
            ),
            (
                TrainConfig {
                    lr: -1.0,
                    ..ok.clone()
                },
                "lr must be",
            ),
            (
                TrainConfig {
                    lr: f64::NAN,
                    ..ok.clone()
                },
                "lr must be",
            ),
            (
                TrainConfig {
                    free_bits: -0.5,
                    ..ok.clone()
                },
                "free-bits must be",
            ),
            (
                TrainConfig {
                    objective: Objective::Iwae,
                    estimator: Estimator::Score,
                    ..ok.clone()
                },
                "estimator must be",
            ),
            (
                TrainConfig {
                    objective: Objective::Iwae,
                    warmup: 2.0,
                    ..ok.clone()
                },
                "objective must be",
            ),
        ];
        for (c, msg) in cases {
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains(msg), "{e}");
        }
    }

    #[test]
    fn warmup_rises_linearly_to_one() {
        let c = TrainConfig {
            warmup: 4.0,
            ..TrainConfig::default()
        };
        assert_eq!(c.beta(0.0), 0.0);
        assert_eq!(c.beta(2.0), 0.5);
        assert_eq!(c.beta(9.0), 1.0);
        assert_eq!(TrainConfig::default().beta(0.0), 1.0);
    }
}
