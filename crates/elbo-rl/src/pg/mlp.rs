//! A small f64 multilayer perceptron with exact reverse-mode (backprop) and
//! forward-mode (Jacobian-vector product) derivatives, and Adam.
//!
//! Parameters live outside the network in one flat `&[f64]`, so that TRPO can
//! treat them as a vector (conjugate gradient, line search). Layout, layer by
//! layer: `W` (`out × in`, row-major), then `b` (`out`).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// `input → tanh(W₁x + b₁) → … → W_L h + b_L`: tanh hidden layers, a linear
/// output layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mlp {
    sizes: Vec<usize>,
}

/// Activations of one forward pass (kept for the backward and JVP passes)
/// and scratch buffers.
#[derive(Clone, Debug, Default)]
pub struct MlpCache {
    /// `acts[0]` is the input, `acts[l]` the output of layer l (after tanh
    /// for hidden layers).
    acts: Vec<Vec<f64>>,
    delta: Vec<Vec<f64>>,
}

impl Mlp {
    /// Sizes `[input, hidden…, output]`.
    pub fn new(input: usize, hidden: &[usize], output: usize) -> Mlp {
        let mut sizes = vec![input];
        sizes.extend_from_slice(hidden);
        sizes.push(output);
        Mlp { sizes }
    }

    /// Input length.
    pub fn input_dim(&self) -> usize {
        self.sizes[0]
    }

    /// Output length.
    pub fn output_dim(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    /// Number of parameters.
    pub fn n_params(&self) -> usize {
        self.sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    /// A cache sized for this network.
    pub fn cache(&self) -> MlpCache {
        MlpCache {
            acts: self.sizes.iter().map(|&n| vec![0.0; n]).collect(),
            delta: self.sizes.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// Initial parameters: `W ~ N(0, 1/fan_in)` (LeCun), the output layer
    /// scaled by `out_gain` (0.01 for a policy's means or logits, so the
    /// first policy is near-uniform, as CleanRL's `std=0.01`), `b = 0`.
    pub fn init(&self, rng: &mut impl Rng, out_gain: f64) -> Vec<f64> {
        let mut theta = Vec::with_capacity(self.n_params());
        let n_layers = self.sizes.len() - 1;
        for (l, w) in self.sizes.windows(2).enumerate() {
            let scale = (1.0 / w[0] as f64).sqrt() * if l + 1 == n_layers { out_gain } else { 1.0 };
            for _ in 0..w[0] * w[1] {
                let z: f64 = StandardNormal.sample(rng);
                theta.push(scale * z);
            }
            theta.extend(std::iter::repeat_n(0.0, w[1]));
        }
        theta
    }

    /// Forward pass; the output is `cache.output()`.
    pub fn forward(&self, theta: &[f64], x: &[f64], cache: &mut MlpCache) {
        debug_assert_eq!(theta.len(), self.n_params());
        cache.acts[0].copy_from_slice(x);
        let n_layers = self.sizes.len() - 1;
        let mut off = 0;
        for l in 0..n_layers {
            let (nin, nout) = (self.sizes[l], self.sizes[l + 1]);
            let (w, b) = (
                &theta[off..off + nin * nout],
                &theta[off + nin * nout..off + nin * nout + nout],
            );
            let (lo, hi) = cache.acts.split_at_mut(l + 1);
            let (a, z) = (&lo[l], &mut hi[0]);
            for o in 0..nout {
                let row = &w[o * nin..(o + 1) * nin];
                let mut s = b[o];
                for i in 0..nin {
                    s += row[i] * a[i];
                }
                z[o] = if l + 1 < n_layers { s.tanh() } else { s };
            }
            off += nin * nout + nout;
        }
    }

    /// The output of the last [`Mlp::forward`].
    pub fn output<'c>(&self, cache: &'c MlpCache) -> &'c [f64] {
        &cache.acts[self.sizes.len() - 1]
    }

    /// Reverse mode: `grad += (∂output/∂θ)ᵀ dout` at the last forward pass.
    pub fn backward(&self, theta: &[f64], cache: &mut MlpCache, dout: &[f64], grad: &mut [f64]) {
        let n_layers = self.sizes.len() - 1;
        cache.delta[n_layers].copy_from_slice(dout);
        let mut off = self.n_params();
        for l in (0..n_layers).rev() {
            let (nin, nout) = (self.sizes[l], self.sizes[l + 1]);
            off -= nin * nout + nout;
            let w = &theta[off..off + nin * nout];
            let (dlo, dhi) = cache.delta.split_at_mut(l + 1);
            let (dprev, d) = (&mut dlo[l], &dhi[0]);
            let a = &cache.acts[l];
            let (gw, gb) = grad[off..off + nin * nout + nout].split_at_mut(nin * nout);
            for o in 0..nout {
                let row = &mut gw[o * nin..(o + 1) * nin];
                for i in 0..nin {
                    row[i] += d[o] * a[i];
                }
                gb[o] += d[o];
            }
            if l > 0 {
                for i in 0..nin {
                    let mut s = 0.0;
                    for o in 0..nout {
                        s += w[o * nin + i] * d[o];
                    }
                    // a = tanh(z): da/dz = 1 − a².
                    dprev[i] = s * (1.0 - a[i] * a[i]);
                }
            }
        }
    }

    /// Forward mode: `(∂output/∂θ) v` at the last forward pass, written to
    /// `out` (uses `cache.delta` as scratch).
    pub fn jvp(&self, theta: &[f64], v: &[f64], cache: &mut MlpCache, out: &mut [f64]) {
        let n_layers = self.sizes.len() - 1;
        cache.delta[0].iter_mut().for_each(|t| *t = 0.0);
        let mut off = 0;
        for l in 0..n_layers {
            let (nin, nout) = (self.sizes[l], self.sizes[l + 1]);
            let w = &theta[off..off + nin * nout];
            let (vw, vb) = (
                &v[off..off + nin * nout],
                &v[off + nin * nout..off + nin * nout + nout],
            );
            let (tlo, thi) = cache.delta.split_at_mut(l + 1);
            let (t, tz) = (&tlo[l], &mut thi[0]);
            let (a, z) = (&cache.acts[l], &cache.acts[l + 1]);
            for o in 0..nout {
                let mut s = vb[o];
                for i in 0..nin {
                    s += vw[o * nin + i] * a[i] + w[o * nin + i] * t[i];
                }
                tz[o] = if l + 1 < n_layers {
                    s * (1.0 - z[o] * z[o])
                } else {
                    s
                };
            }
            off += nin * nout + nout;
        }
        out.copy_from_slice(&cache.delta[n_layers]);
    }
}

/// Adam (Kingma & Ba 2015, Algorithm 1) on a flat parameter vector.
#[derive(Clone, Debug)]
pub struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε (1e-5 as PyTorch PPO implementations use; CleanRL's `eps=1e-5`).
    pub eps: f64,
}

impl Adam {
    /// Adam for `n` parameters, β = (0.9, 0.999), ε = 1e-5.
    pub fn new(n: usize) -> Adam {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-5,
        }
    }

    /// θ ← θ − lr · m̂ / (√v̂ + ε) for the gradient `g` of a loss to minimise.
    pub fn step(&mut self, theta: &mut [f64], g: &[f64], lr: f64) {
        self.t += 1;
        let (b1t, b2t) = (1.0 - self.beta1.powi(self.t), 1.0 - self.beta2.powi(self.t));
        for k in 0..theta.len() {
            self.m[k] = self.beta1 * self.m[k] + (1.0 - self.beta1) * g[k];
            self.v[k] = self.beta2 * self.v[k] + (1.0 - self.beta2) * g[k] * g[k];
            theta[k] -= lr * (self.m[k] / b1t) / ((self.v[k] / b2t).sqrt() + self.eps);
        }
    }
}

/// Scale `g` so that its Euclidean norm is at most `max_norm`; returns the
/// norm before clipping (PyTorch's `clip_grad_norm_`).
pub fn clip_norm(g: &mut [f64], max_norm: f64) -> f64 {
    let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > max_norm {
        let s = max_norm / (norm + 1e-6);
        g.iter_mut().for_each(|x| *x *= s);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn net() -> (Mlp, Vec<f64>, Vec<f64>) {
        let mlp = Mlp::new(3, &[5, 4], 2);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let theta = mlp.init(&mut rng, 1.0);
        let x = vec![0.3, -0.7, 1.1];
        (mlp, theta, x)
    }

    /// Backprop of ⟨c, f(x; θ)⟩ against central differences (h = 1e-6).
    #[test]
    fn backward_matches_finite_differences() {
        let (mlp, theta, x) = net();
        let c = [0.7, -1.3];
        let f = |th: &[f64]| {
            let mut cache = mlp.cache();
            mlp.forward(th, &x, &mut cache);
            mlp.output(&cache)
                .iter()
                .zip(&c)
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        let mut cache = mlp.cache();
        mlp.forward(&theta, &x, &mut cache);
        let mut g = vec![0.0; mlp.n_params()];
        mlp.backward(&theta, &mut cache, &c, &mut g);
        let h = 1e-6;
        for k in 0..theta.len() {
            let (mut p, mut m) = (theta.clone(), theta.clone());
            p[k] += h;
            m[k] -= h;
            let fd = (f(&p) - f(&m)) / (2.0 * h);
            assert!(
                (fd - g[k]).abs() < 1e-8,
                "param {k}: backprop {} vs fd {fd}",
                g[k]
            );
        }
    }

    /// JVP against central differences along a random direction, and
    /// ⟨c, Jv⟩ = ⟨Jᵀc, v⟩ against backprop.
    #[test]
    fn jvp_matches_finite_differences_and_backprop() {
        let (mlp, theta, x) = net();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let v = mlp
            .init(&mut rng, 1.0)
            .iter()
            .map(|x| x + 0.1)
            .collect::<Vec<_>>();
        let mut cache = mlp.cache();
        mlp.forward(&theta, &x, &mut cache);
        let mut jv = vec![0.0; 2];
        mlp.jvp(&theta, &v, &mut cache, &mut jv);
        let h = 1e-6;
        let out_at = |s: f64| {
            let th: Vec<f64> = theta.iter().zip(&v).map(|(t, d)| t + s * d).collect();
            let mut c = mlp.cache();
            mlp.forward(&th, &x, &mut c);
            mlp.output(&c).to_vec()
        };
        let (p, m) = (out_at(h), out_at(-h));
        for o in 0..2 {
            let fd = (p[o] - m[o]) / (2.0 * h);
            assert!(
                (fd - jv[o]).abs() < 1e-8,
                "output {o}: jvp {} vs fd {fd}",
                jv[o]
            );
        }
        let c = [0.4, 2.0];
        let mut g = vec![0.0; mlp.n_params()];
        mlp.forward(&theta, &x, &mut cache);
        mlp.backward(&theta, &mut cache, &c, &mut g);
        let lhs: f64 = c.iter().zip(&jv).map(|(a, b)| a * b).sum();
        let rhs: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0));
    }

    #[test]
    fn adam_minimises_a_quadratic() {
        let mut theta = vec![3.0, -2.0];
        let mut adam = Adam::new(2);
        for _ in 0..2000 {
            let g = vec![2.0 * theta[0], 4.0 * theta[1]];
            adam.step(&mut theta, &g, 0.01);
        }
        assert!(theta.iter().all(|t| t.abs() < 1e-2), "{theta:?}");
    }
}
