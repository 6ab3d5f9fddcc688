//! Fixed affine rescaling of observations, o' = (o − centre) / scale, so
//! that the policy (and the BNN) see inputs of order one. MountainCar's
//! velocity never exceeds 0.07, which a 32-unit tanh policy initialised for
//! unit inputs barely notices; rllab, which VIME used, normalised
//! observations too (`normalize_obs`).

use crate::env::{Act, ActionSpace, Env, EnvRng, StepOut};
use crate::error::Result;

/// An environment whose observations are rescaled by fixed constants.
#[derive(Clone, Debug)]
pub struct Rescaled<E> {
    /// The wrapped environment.
    pub inner: E,
    centre: Vec<f64>,
    scale: Vec<f64>,
}

impl<E: Env> Rescaled<E> {
    /// Rescale observation component i to (o_i − centre_i) / scale_i.
    ///
    /// # Panics
    /// When the lengths differ from `inner.obs_dim()` or a scale is not
    /// positive (a caller bug).
    pub fn new(inner: E, centre: Vec<f64>, scale: Vec<f64>) -> Self {
        assert_eq!(centre.len(), inner.obs_dim(), "centre length");
        assert_eq!(scale.len(), inner.obs_dim(), "scale length");
        assert!(scale.iter().all(|&s| s > 0.0), "scales must be positive");
        Rescaled {
            inner,
            centre,
            scale,
        }
    }

    /// The identity rescaling.
    pub fn identity(inner: E) -> Self {
        let d = inner.obs_dim();
        Rescaled::new(inner, vec![0.0; d], vec![1.0; d])
    }

    /// MountainCar's box mapped to about [−1, 1]²: position centred at −0.3
    /// with half-width 0.9, velocity divided by 0.07; identity for other
    /// environments.
    pub fn auto(inner: E) -> Self {
        if inner.name().starts_with("mountaincar") {
            Rescaled::new(inner, vec![-0.3, 0.0], vec![0.9, 0.07])
        } else {
            Rescaled::identity(inner)
        }
    }

    /// The original observation of a rescaled one.
    pub fn unscale(&self, o: &[f64]) -> Vec<f64> {
        o.iter()
            .zip(&self.centre)
            .zip(&self.scale)
            .map(|((v, c), s)| v * s + c)
            .collect()
    }
}

impl<E: Env> Env for Rescaled<E> {
    const DEFAULT_MAX_STEPS: usize = E::DEFAULT_MAX_STEPS;
    const STATE_DIM: usize = E::STATE_DIM;

    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn obs_dim(&self) -> usize {
        self.inner.obs_dim()
    }
    fn action_space(&self) -> ActionSpace {
        self.inner.action_space()
    }
    fn max_steps(&self) -> usize {
        self.inner.max_steps()
    }
    fn elapsed(&self) -> usize {
        self.inner.elapsed()
    }
    fn reset(&mut self, rng: &mut EnvRng) {
        self.inner.reset(rng)
    }
    fn state(&self) -> &[f64] {
        self.inner.state()
    }
    fn set_state(&mut self, state: &[f64]) -> Result<()> {
        self.inner.set_state(state)
    }
    /// (o − centre) / scale of the wrapped observation.
    fn observe(&self, out: &mut [f64]) {
        self.inner.observe(out);
        for ((v, c), s) in out.iter_mut().zip(&self.centre).zip(&self.scale) {
            *v = (*v - c) / s;
        }
    }
    fn step(&mut self, action: Act<'_>) -> StepOut {
        self.inner.step(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::AnyEnv;

    #[test]
    fn mountaincar_observations_are_rescaled_and_recoverable() {
        let env = AnyEnv::by_name("mountaincar-sparse").unwrap(); // a listed name
        let mut r = Rescaled::auto(env);
        r.set_state(&[0.3, -0.035]).unwrap(); // a valid MountainCar state
        let mut o = [0.0; 2];
        r.observe(&mut o);
        assert!((o[0] - 0.6 / 0.9).abs() < 1e-12 && (o[1] + 0.5).abs() < 1e-12);
        let back = r.unscale(&o);
        assert!((back[0] - 0.3).abs() < 1e-12 && (back[1] + 0.035).abs() < 1e-12);
    }
}
