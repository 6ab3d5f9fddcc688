//! The value baseline V_φ(s): a tanh MLP regressed on the GAE value targets
//! (Schulman et al. 2016, §5: the value function fitted to TD(λ) returns) by
//! Adam on minibatches.

use super::mlp::{Adam, Mlp, clip_norm};
use super::policy::CHUNK;
use rand::Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

/// V_φ with its optimiser state.
#[derive(Clone, Debug)]
pub struct ValueFn {
    /// The network (observation → value).
    pub mlp: Mlp,
    /// φ.
    pub theta: Vec<f64>,
    adam: Adam,
}

impl ValueFn {
    /// A value network with tanh hidden layers `hidden`, output gain 1.
    pub fn new(obs_dim: usize, hidden: &[usize], rng: &mut impl Rng) -> ValueFn {
        let mlp = Mlp::new(obs_dim, hidden, 1);
        let theta = mlp.init(rng, 1.0);
        let adam = Adam::new(mlp.n_params());
        ValueFn { mlp, theta, adam }
    }

    /// V(s) for every row of `obs`.
    pub fn predict(&self, obs: &[f64]) -> Vec<f64> {
        let d = self.mlp.input_dim();
        let mut out = vec![0.0; obs.len() / d];
        out.par_chunks_mut(CHUNK)
            .zip(obs.par_chunks(CHUNK * d))
            .for_each(|(o, x)| {
                let mut cache = self.mlp.cache();
                for (v, row) in o.iter_mut().zip(x.chunks(d)) {
                    self.mlp.forward(&self.theta, row, &mut cache);
                    *v = self.mlp.output(&cache)[0];
                }
            });
        out
    }

    /// ½ mean (V(s) − target)² and its gradient over the rows `idx`.
    pub fn loss_grad(&self, obs: &[f64], targets: &[f64], idx: &[usize]) -> (f64, Vec<f64>) {
        let d = self.mlp.input_dim();
        let mut cache = self.mlp.cache();
        let mut g = vec![0.0; self.mlp.n_params()];
        let mut loss = 0.0;
        let m = idx.len() as f64;
        for &r in idx {
            self.mlp
                .forward(&self.theta, &obs[r * d..(r + 1) * d], &mut cache);
            let err = self.mlp.output(&cache)[0] - targets[r];
            loss += 0.5 * err * err / m;
            self.mlp
                .backward(&self.theta, &mut cache, &[err / m], &mut g);
        }
        (loss, g)
    }

    /// One Adam step on the minibatch `idx`; returns its loss.
    pub fn step(
        &mut self,
        obs: &[f64],
        targets: &[f64],
        idx: &[usize],
        lr: f64,
        max_grad_norm: f64,
    ) -> f64 {
        let (loss, mut g) = self.loss_grad(obs, targets, idx);
        clip_norm(&mut g, max_grad_norm);
        self.adam.step(&mut self.theta, &g, lr);
        loss
    }

    /// `epochs` passes over the rows in shuffled minibatches of
    /// `minibatch`; returns the mean minibatch loss of the last epoch.
    pub fn fit(
        &mut self,
        obs: &[f64],
        targets: &[f64],
        epochs: usize,
        minibatch: usize,
        lr: f64,
        rng: &mut impl Rng,
    ) -> f64 {
        let mut idx: Vec<usize> = (0..targets.len()).collect();
        let mut last = 0.0;
        for _ in 0..epochs {
            idx.shuffle(rng);
            let (mut sum, mut count) = (0.0, 0);
            for mb in idx.chunks(minibatch) {
                sum += self.step(obs, targets, mb, lr, f64::INFINITY);
                count += 1;
            }
            last = sum / count as f64;
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    #[allow(clippy::needless_range_loop)] // q indexes g and both perturbed copies
    fn value_gradient_matches_finite_differences() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let v = ValueFn::new(2, &[4], &mut rng);
        let obs = vec![0.1, 0.2, -0.5, 0.9, 1.5, -1.0];
        let targets = vec![1.0, -2.0, 0.5];
        let idx = vec![0, 1, 2];
        let (_, g) = v.loss_grad(&obs, &targets, &idx);
        let h = 1e-6;
        for q in 0..g.len() {
            let (mut p, mut m) = (v.clone(), v.clone());
            p.theta[q] += h;
            m.theta[q] -= h;
            let fd = (p.loss_grad(&obs, &targets, &idx).0 - m.loss_grad(&obs, &targets, &idx).0)
                / (2.0 * h);
            assert!((fd - g[q]).abs() < 1e-8, "param {q}");
        }
    }

    #[test]
    fn value_fit_reduces_the_loss() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let mut v = ValueFn::new(1, &[16], &mut rng);
        let obs: Vec<f64> = (0..200).map(|i| i as f64 / 100.0 - 1.0).collect();
        let targets: Vec<f64> = obs.iter().map(|x| (3.0 * x).sin()).collect();
        let all: Vec<usize> = (0..200).collect();
        let before = v.loss_grad(&obs, &targets, &all).0;
        v.fit(&obs, &targets, 300, 32, 1e-2, &mut rng);
        let after = v.loss_grad(&obs, &targets, &all).0;
        assert!(after < 0.05 * before, "{before} → {after}");
    }
}
