//! Synthetic data sets, drawn from a seed.

use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::Dataset;
use crate::rng::seeded;

/// The cubic of PRML Fig 10.9: f(x) = 0.2 x³ − 2 x + 1.
///
/// PRML (§10.3.3) gives the interval (−5, 5), ten points and the noise
/// variance 0.09, not the coefficients. These make a cubic the data can
/// show: turning points inside the interval (x = ±1.83), a cubic term far
/// above the noise where the inputs are spread (0.2·5³ = 25 against a noise
/// standard deviation of 0.3), and no x² term, so order 2 gains nothing
/// over order 1. With variational linear regression (shared α, a0 = b0 = 0,
/// β = 1/0.09 known) the bound peaks at order 3 for 497 of the seeds
/// 0..500; the three others are data that do not show a cubic: seed 17
/// draws all ten inputs in (−1.4, 2.3), where the cubic is nearly a line
/// plus a parabola (order 2 wins by 2.1 nats), and seeds 66 and 416 prefer
/// order 4 by 0.8 and 0.2 nats: an x⁴ term there fits the noise about as
/// well as its Occam factor costs (seed 66 draws seven of ten inputs below
/// −1). Seeds 0..12 choose order 3 by at least 4 nats.
/// (With 0.05 x³ − 0.5 x + 1, a quarter of the scale, 56 of 500 seeds
/// miss order 3, mostly by choosing a lower order.)
pub fn cubic_mean(x: f64) -> f64 {
    0.2 * x * x * x - 2.0 * x + 1.0
}

/// `n` points with x uniform on (−5, 5) and t = f(x) + ε, ε ~ N(0, 0.09)
/// (noise standard deviation 0.3), as in PRML §10.3.3 / Fig 10.9; f is
/// [`cubic_mean`].
pub fn cubic(n: usize, seed: u64) -> Dataset {
    let mut rng = seeded(seed);
    // 0.3 > 0, so Normal::new cannot fail.
    let noise = Normal::new(0.0, 0.3).expect("valid standard deviation");
    let x: Vec<f64> = (0..n).map(|_| rng.random_range(-5.0..5.0)).collect();
    let t: Array1<f64> = x
        .iter()
        .map(|&xi| cubic_mean(xi) + noise.sample(&mut rng))
        .collect();
    Dataset {
        name: "cubic".into(),
        x: Array2::from_shape_vec((n, 1), x).expect("n x 1 values"),
        y: Some(t),
        feature_names: vec!["x".into()],
        target_name: Some("t".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_is_seeded_and_follows_its_mean() {
        let a = cubic(10, 3);
        assert_eq!(a.x, cubic(10, 3).x);
        assert_ne!(a.x, cubic(10, 4).x);
        assert!(a.x.iter().all(|&x| (-5.0..5.0).contains(&x)));
        let y = a.y.unwrap();
        // residuals are the N(0, 0.3²) noise: all within 5 standard deviations
        for (x, t) in a.x.column(0).iter().zip(&y) {
            assert!((t - cubic_mean(*x)).abs() < 1.5, "{x} {t}");
        }
        assert_eq!(cubic_mean(0.0), 1.0);
        assert!((cubic_mean(5.0) - 16.0).abs() < 1e-12);
    }
}
