//! Stochastic policies on an [`Mlp`]: categorical (logits) for discrete
//! actions, diagonal Gaussian (means from the network, state-independent log
//! standard deviations) for continuous ones — rllab's `CategoricalMLPPolicy`
//! and `GaussianMLPPolicy`, which VIME used with 32 tanh units.
//!
//! Parameters θ = [network parameters, log σ (Gaussian only)], one flat
//! vector. The batch operations (gradients, Fisher-vector products) run in
//! chunks of [`CHUNK`] samples on rayon and sum the chunks in a fixed
//! order, so results do not depend on the number of threads.

use super::mlp::{Mlp, MlpCache};
use crate::env::ActionSpace;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Samples per rayon task in batch operations.
pub const CHUNK: usize = 512;
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The action distribution family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyKind {
    /// Categorical over `n` actions; the network outputs logits.
    Categorical(usize),
    /// Diagonal Gaussian over `dim` components; the network outputs means.
    Gaussian(usize),
}

/// π_θ(a | s).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Policy {
    /// The network (observation → logits or means).
    pub mlp: Mlp,
    /// Categorical or Gaussian.
    pub kind: PolicyKind,
}

impl Policy {
    /// A policy for `space` with tanh hidden layers `hidden`.
    pub fn new(obs_dim: usize, space: ActionSpace, hidden: &[usize]) -> Policy {
        let kind = match space {
            ActionSpace::Discrete(n) => PolicyKind::Categorical(n),
            ActionSpace::Box { dim, .. } => PolicyKind::Gaussian(dim),
        };
        Policy {
            mlp: Mlp::new(obs_dim, hidden, space.policy_outputs()),
            kind,
        }
    }

    /// Length of θ.
    pub fn n_params(&self) -> usize {
        self.mlp.n_params() + self.n_log_std()
    }

    fn n_log_std(&self) -> usize {
        match self.kind {
            PolicyKind::Categorical(_) => 0,
            PolicyKind::Gaussian(d) => d,
        }
    }

    /// Numbers per action (1 for a discrete index).
    pub fn act_dim(&self) -> usize {
        match self.kind {
            PolicyKind::Categorical(_) => 1,
            PolicyKind::Gaussian(d) => d,
        }
    }

    /// Network outputs per sample (logits or means).
    pub fn dist_dim(&self) -> usize {
        self.mlp.output_dim()
    }

    /// Initial θ: [`Mlp::init`] with output gain 0.01 and log σ = `log_std`.
    pub fn init(&self, rng: &mut impl Rng, log_std: f64) -> Vec<f64> {
        let mut theta = self.mlp.init(rng, 0.01);
        theta.extend(std::iter::repeat_n(log_std, self.n_log_std()));
        theta
    }

    /// The log σ part of θ (empty for a categorical policy).
    pub fn log_std<'t>(&self, theta: &'t [f64]) -> &'t [f64] {
        &theta[self.mlp.n_params()..]
    }

    /// Sample an action for one observation; writes the action (an index as
    /// f64, or the Gaussian sample, unclipped) and the network output, and
    /// returns log π(a | s).
    pub fn sample(
        &self,
        theta: &[f64],
        obs: &[f64],
        cache: &mut MlpCache,
        rng: &mut impl Rng,
        action: &mut [f64],
        dist: &mut [f64],
    ) -> f64 {
        self.mlp.forward(&theta[..self.mlp.n_params()], obs, cache);
        dist.copy_from_slice(self.mlp.output(cache));
        match self.kind {
            PolicyKind::Categorical(_) => {
                let lse = log_sum_exp(dist);
                let u: f64 = rng.random();
                let mut acc = 0.0;
                let mut a = dist.len() - 1;
                for (k, z) in dist.iter().enumerate() {
                    acc += (z - lse).exp();
                    if u < acc {
                        a = k;
                        break;
                    }
                }
                action[0] = a as f64;
            }
            PolicyKind::Gaussian(_) => {
                for ((a, m), ls) in action.iter_mut().zip(dist.iter()).zip(self.log_std(theta)) {
                    let z: f64 = StandardNormal.sample(rng);
                    *a = m + ls.exp() * z;
                }
            }
        }
        self.log_prob(dist, self.log_std(theta), action)
    }

    /// The most likely action (argmax, or the mean).
    pub fn mode(&self, theta: &[f64], obs: &[f64], cache: &mut MlpCache, action: &mut [f64]) {
        self.mlp.forward(&theta[..self.mlp.n_params()], obs, cache);
        let out = self.mlp.output(cache);
        match self.kind {
            PolicyKind::Categorical(_) => {
                let best = (0..out.len()).fold(0, |b, k| if out[k] > out[b] { k } else { b });
                action[0] = best as f64;
            }
            PolicyKind::Gaussian(_) => action.copy_from_slice(out),
        }
    }

    /// log π(a | s) from the network output `dist` and log σ.
    /// Categorical: z_a − log Σ exp z; Gaussian: Σ_j −½((a_j − μ_j)/σ_j)² −
    /// log σ_j − ½ log 2π.
    pub fn log_prob(&self, dist: &[f64], log_std: &[f64], action: &[f64]) -> f64 {
        match self.kind {
            PolicyKind::Categorical(_) => dist[action[0] as usize] - log_sum_exp(dist),
            PolicyKind::Gaussian(_) => {
                let mut lp = 0.0;
                for j in 0..action.len() {
                    let z = (action[j] - dist[j]) * (-log_std[j]).exp();
                    lp += -0.5 * z * z - log_std[j] - 0.5 * LN_2PI;
                }
                lp
            }
        }
    }

    /// ∂ log π(a | s) / ∂(network output, log σ), written to `d_dist`,
    /// added to `d_log_std` times `w`; `d_dist` is also scaled by `w`.
    /// Categorical: onehot(a) − softmax(z); Gaussian: (a − μ)/σ² and
    /// ((a − μ)/σ)² − 1.
    pub fn grad_log_prob(
        &self,
        dist: &[f64],
        log_std: &[f64],
        action: &[f64],
        w: f64,
        d_dist: &mut [f64],
        d_log_std: &mut [f64],
    ) {
        match self.kind {
            PolicyKind::Categorical(_) => {
                let lse = log_sum_exp(dist);
                for (k, d) in d_dist.iter_mut().enumerate() {
                    let onehot = if k == action[0] as usize { 1.0 } else { 0.0 };
                    *d = w * (onehot - (dist[k] - lse).exp());
                }
            }
            PolicyKind::Gaussian(_) => {
                for j in 0..action.len() {
                    let inv_var = (-2.0 * log_std[j]).exp();
                    let diff = action[j] - dist[j];
                    d_dist[j] = w * diff * inv_var;
                    d_log_std[j] += w * (diff * diff * inv_var - 1.0);
                }
            }
        }
    }

    /// KL(π_old ‖ π_new) for one state from the two network outputs.
    /// Categorical: Σ p_old (log p_old − log p_new); Gaussian: Σ_j log σ_new/σ_old
    /// + (σ_old² + (μ_old − μ_new)²)/(2σ_new²) − ½.
    pub fn kl(&self, old: &[f64], old_log_std: &[f64], new: &[f64], new_log_std: &[f64]) -> f64 {
        match self.kind {
            PolicyKind::Categorical(_) => {
                let (lo, ln) = (log_sum_exp(old), log_sum_exp(new));
                old.iter()
                    .zip(new)
                    .map(|(o, n)| (o - lo).exp() * ((o - lo) - (n - ln)))
                    .sum()
            }
            PolicyKind::Gaussian(_) => {
                let mut kl = 0.0;
                for j in 0..old.len() {
                    let (vo, vn) = ((2.0 * old_log_std[j]).exp(), (2.0 * new_log_std[j]).exp());
                    let d = old[j] - new[j];
                    kl += new_log_std[j] - old_log_std[j] + (vo + d * d) / (2.0 * vn) - 0.5;
                }
                kl
            }
        }
    }

    /// Network outputs for `n` observations (row-major `[n, obs_dim]`).
    pub fn dists(&self, theta: &[f64], obs: &[f64]) -> Vec<f64> {
        let (d, k) = (self.mlp.input_dim(), self.dist_dim());
        let net = &theta[..self.mlp.n_params()];
        let n = obs.len() / d;
        let mut out = vec![0.0; n * k];
        out.par_chunks_mut(CHUNK * k)
            .zip(obs.par_chunks(CHUNK * d))
            .for_each(|(o, x)| {
                let mut cache = self.mlp.cache();
                for (orow, xrow) in o.chunks_mut(k).zip(x.chunks(d)) {
                    self.mlp.forward(net, xrow, &mut cache);
                    orow.copy_from_slice(self.mlp.output(&cache));
                }
            });
        out
    }

    /// Σ_i ℓ_i(θ) and its gradient, where `f(i, dist_i, log σ, d_dist, d_log_std)`
    /// returns ℓ_i and writes ∂ℓ_i/∂dist_i into `d_dist` and *adds*
    /// ∂ℓ_i/∂log σ into `d_log_std`.
    pub fn grad_batch<F>(&self, theta: &[f64], obs: &[f64], f: F) -> (f64, Vec<f64>)
    where
        F: Fn(usize, &[f64], &[f64], &mut [f64], &mut [f64]) -> f64 + Sync,
    {
        let (d, k, np) = (self.mlp.input_dim(), self.dist_dim(), self.mlp.n_params());
        let (net, log_std) = (&theta[..np], self.log_std(theta));
        let parts: Vec<(f64, Vec<f64>)> = obs
            .par_chunks(CHUNK * d)
            .enumerate()
            .map(|(c, x)| {
                let mut cache = self.mlp.cache();
                let mut g = vec![0.0; self.n_params()];
                let mut d_dist = vec![0.0; k];
                let mut total = 0.0;
                for (r, xrow) in x.chunks(d).enumerate() {
                    self.mlp.forward(net, xrow, &mut cache);
                    let (gn, gl) = g.split_at_mut(np);
                    total += f(
                        c * CHUNK + r,
                        self.mlp.output(&cache),
                        log_std,
                        &mut d_dist,
                        gl,
                    );
                    self.mlp.backward(net, &mut cache, &d_dist, gn);
                }
                (total, g)
            })
            .collect();
        sum_parts(parts, self.n_params())
    }

    /// Fisher-vector product F v at θ for the observations `obs`:
    /// F = (1/N) Σ_i J_iᵀ M_i J_i, J_i = ∂(dist_i, log σ)/∂θ, M_i the Fisher
    /// matrix of the distribution in its own parameters (Categorical: diag(p)
    /// − ppᵀ; Gaussian: diag(1/σ²) for μ, 2 for each log σ). This is the
    /// Hessian of the mean KL(π_θ_old ‖ π_θ) at θ = θ_old (Schulman et al.
    /// 2015, Appendix C), computed exactly with one JVP and one backprop per
    /// sample; `damping` adds `damping · v`.
    pub fn fvp(&self, theta: &[f64], obs: &[f64], v: &[f64], damping: f64) -> Vec<f64> {
        let (d, k, np) = (self.mlp.input_dim(), self.dist_dim(), self.mlp.n_params());
        let n = obs.len() / d;
        let (net, log_std) = (&theta[..np], self.log_std(theta));
        let (v_net, v_ls) = v.split_at(np);
        let parts: Vec<(f64, Vec<f64>)> = obs
            .par_chunks(CHUNK * d)
            .map(|x| {
                let mut cache = self.mlp.cache();
                let mut g = vec![0.0; self.n_params()];
                let (mut jv, mut u) = (vec![0.0; k], vec![0.0; k]);
                for xrow in x.chunks(d) {
                    self.mlp.forward(net, xrow, &mut cache);
                    self.mlp.jvp(net, v_net, &mut cache, &mut jv);
                    let out = self.mlp.output(&cache);
                    match self.kind {
                        PolicyKind::Categorical(_) => {
                            let lse = log_sum_exp(out);
                            let p: Vec<f64> = out.iter().map(|z| (z - lse).exp()).collect();
                            let pjv: f64 = p.iter().zip(&jv).map(|(a, b)| a * b).sum();
                            for j in 0..k {
                                u[j] = p[j] * jv[j] - p[j] * pjv;
                            }
                        }
                        PolicyKind::Gaussian(_) => {
                            for j in 0..k {
                                u[j] = jv[j] * (-2.0 * log_std[j]).exp();
                                g[np + j] += 2.0 * v_ls[j];
                            }
                        }
                    }
                    self.mlp.backward(net, &mut cache, &u, &mut g[..np]);
                }
                (0.0, g)
            })
            .collect();
        let (_, mut fv) = sum_parts(parts, self.n_params());
        for (f, vi) in fv.iter_mut().zip(v) {
            *f = *f / n as f64 + damping * vi;
        }
        fv
    }
}

fn sum_parts(parts: Vec<(f64, Vec<f64>)>, n: usize) -> (f64, Vec<f64>) {
    let mut total = 0.0;
    let mut g = vec![0.0; n];
    for (t, gp) in parts {
        total += t;
        g.iter_mut().zip(&gp).for_each(|(a, b)| *a += b);
    }
    (total, g)
}

/// log Σ_k exp z_k, stably.
pub fn log_sum_exp(z: &[f64]) -> f64 {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + z.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn setup(space: ActionSpace) -> (Policy, Vec<f64>, Vec<f64>, Vec<f64>) {
        let policy = Policy::new(2, space, &[3]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // A larger output gain than the default so the distributions are
        // far from uniform and the test is not degenerate.
        let mut theta = policy.mlp.init(&mut rng, 1.0);
        theta.extend(std::iter::repeat_n(-0.3, policy.n_params() - theta.len()));
        let obs: Vec<f64> = (0..14)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let v: Vec<f64> = (0..policy.n_params())
            .map(|i| ((i * 7 % 5) as f64 - 2.0) / 2.0)
            .collect();
        (policy, theta, obs, v)
    }

    /// The mean KL(π_θ_old ‖ π_θ) over the test observations.
    fn mean_kl(policy: &Policy, old: &[f64], theta: &[f64], obs: &[f64]) -> f64 {
        let (a, b) = (policy.dists(old, obs), policy.dists(theta, obs));
        let k = policy.dist_dim();
        let n = a.len() / k;
        (0..n)
            .map(|i| {
                policy.kl(
                    &a[i * k..(i + 1) * k],
                    policy.log_std(old),
                    &b[i * k..(i + 1) * k],
                    policy.log_std(theta),
                )
            })
            .sum::<f64>()
            / n as f64
    }

    /// F v against an explicit Fisher matrix built from a finite-difference
    /// Jacobian of (dist, log σ) and the distribution's own Fisher, and
    /// against the finite-difference Hessian of the mean KL.
    fn check_fvp(space: ActionSpace) {
        let (policy, theta, obs, v) = setup(space);
        let (np, p, k) = (policy.mlp.n_params(), policy.n_params(), policy.dist_dim());
        let n = obs.len() / 2;
        let fv = policy.fvp(&theta, &obs, &v, 0.0);
        // Explicit F = (1/N) Σ Jᵀ M J.
        let h = 1e-6;
        let mut fisher = vec![0.0; p * p];
        for i in 0..n {
            let x = &obs[i * 2..i * 2 + 2];
            let nls = policy.n_log_std();
            let out = |th: &[f64]| {
                let mut c = policy.mlp.cache();
                policy.mlp.forward(&th[..np], x, &mut c);
                let mut o = policy.mlp.output(&c).to_vec();
                o.extend_from_slice(policy.log_std(th));
                o
            };
            let m = k + nls;
            let mut jac = vec![0.0; m * p];
            for q in 0..p {
                let (mut tp, mut tm) = (theta.clone(), theta.clone());
                tp[q] += h;
                tm[q] -= h;
                let (op, om) = (out(&tp), out(&tm));
                for r in 0..m {
                    jac[r * p + q] = (op[r] - om[r]) / (2.0 * h);
                }
            }
            let o = out(&theta);
            let mut mm = vec![0.0; m * m];
            match policy.kind {
                PolicyKind::Categorical(_) => {
                    let lse = log_sum_exp(&o[..k]);
                    let pr: Vec<f64> = o[..k].iter().map(|z| (z - lse).exp()).collect();
                    for a in 0..k {
                        for b in 0..k {
                            mm[a * m + b] = if a == b { pr[a] } else { 0.0 } - pr[a] * pr[b];
                        }
                    }
                }
                PolicyKind::Gaussian(_) => {
                    for j in 0..k {
                        mm[j * m + j] = (-2.0 * o[k + j]).exp();
                        mm[(k + j) * m + k + j] = 2.0;
                    }
                }
            }
            for a in 0..p {
                for b in 0..p {
                    let mut s = 0.0;
                    for r in 0..m {
                        for c in 0..m {
                            s += jac[r * p + a] * mm[r * m + c] * jac[c * p + b];
                        }
                    }
                    fisher[a * p + b] += s / n as f64;
                }
            }
        }
        let scale = fv.iter().map(|x| x.abs()).fold(0.0, f64::max);
        for a in 0..p {
            let fa: f64 = (0..p).map(|b| fisher[a * p + b] * v[b]).sum();
            assert!(
                (fa - fv[a]).abs() < 1e-7 * scale.max(1.0),
                "row {a}: explicit {fa} vs fvp {}",
                fv[a]
            );
        }
        // vᵀ F v = d²/dt² KL(θ ‖ θ + t v) at t = 0, by central second
        // differences (KL(θ ‖ θ) = 0 is the middle term).
        let at = |t: f64| -> Vec<f64> { theta.iter().zip(&v).map(|(a, b)| a + t * b).collect() };
        let h2 = 1e-4;
        let curv = (mean_kl(&policy, &theta, &at(h2), &obs)
            + mean_kl(&policy, &theta, &at(-h2), &obs))
            / (h2 * h2);
        let vfv: f64 = v.iter().zip(&fv).map(|(a, b)| a * b).sum();
        assert!(
            (curv - vfv).abs() < 1e-5 * vfv.abs().max(1.0),
            "KL curvature {curv} vs vᵀFv {vfv}"
        );
    }

    #[test]
    fn fvp_matches_explicit_fisher_categorical() {
        check_fvp(ActionSpace::Discrete(3));
    }

    #[test]
    fn fvp_matches_explicit_fisher_gaussian() {
        check_fvp(ActionSpace::Box {
            dim: 2,
            low: -1.0,
            high: 1.0,
        });
    }

    /// ∇θ Σ_i w_i log π(a_i | s_i) by grad_batch against central differences.
    fn check_grad(space: ActionSpace) {
        let (policy, theta, obs, _) = setup(space);
        let n = obs.len() / 2;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut cache = policy.mlp.cache();
        let (ad, k) = (policy.act_dim(), policy.dist_dim());
        let mut actions = vec![0.0; n * ad];
        let mut dist = vec![0.0; k];
        for i in 0..n {
            policy.sample(
                &theta,
                &obs[i * 2..i * 2 + 2],
                &mut cache,
                &mut rng,
                &mut actions[i * ad..(i + 1) * ad],
                &mut dist,
            );
        }
        let w: Vec<f64> = (0..n).map(|i| (i as f64 - 3.0) / 2.0).collect();
        let objective = |th: &[f64]| {
            let ds = policy.dists(th, &obs);
            (0..n)
                .map(|i| {
                    w[i] * policy.log_prob(
                        &ds[i * k..(i + 1) * k],
                        policy.log_std(th),
                        &actions[i * ad..(i + 1) * ad],
                    )
                })
                .sum::<f64>()
        };
        let (val, g) = policy.grad_batch(&theta, &obs, |i, d, ls, dd, dls| {
            let a = &actions[i * ad..(i + 1) * ad];
            policy.grad_log_prob(d, ls, a, w[i], dd, dls);
            w[i] * policy.log_prob(d, ls, a)
        });
        assert!((val - objective(&theta)).abs() < 1e-12);
        let h = 1e-6;
        for q in 0..theta.len() {
            let (mut tp, mut tm) = (theta.clone(), theta.clone());
            tp[q] += h;
            tm[q] -= h;
            let fd = (objective(&tp) - objective(&tm)) / (2.0 * h);
            assert!(
                (fd - g[q]).abs() < 1e-7 * fd.abs().max(1.0),
                "param {q}: {} vs fd {fd}",
                g[q]
            );
        }
    }

    #[test]
    fn log_prob_gradient_matches_finite_differences_categorical() {
        check_grad(ActionSpace::Discrete(3));
    }

    #[test]
    fn log_prob_gradient_matches_finite_differences_gaussian() {
        check_grad(ActionSpace::Box {
            dim: 2,
            low: -1.0,
            high: 1.0,
        });
    }

    #[test]
    fn categorical_sampling_follows_the_probabilities() {
        let policy = Policy::new(1, ActionSpace::Discrete(3), &[]);
        // No hidden layer: logits = W x + b with x = [0] → logits = b.
        let theta = vec![0.0, 0.0, 0.0, 0.0, (2.0f64).ln(), (3.0f64).ln()];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut cache = policy.mlp.cache();
        let (mut a, mut d) = ([0.0], [0.0; 3]);
        let mut counts = [0usize; 3];
        for _ in 0..60_000 {
            policy.sample(&theta, &[0.0], &mut cache, &mut rng, &mut a, &mut d);
            counts[a[0] as usize] += 1;
        }
        for (c, p) in counts.iter().zip([1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0]) {
            assert!((*c as f64 / 60_000.0 - p).abs() < 0.01, "{counts:?}");
        }
    }
}
