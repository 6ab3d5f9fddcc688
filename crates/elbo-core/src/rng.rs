//! The seeded random-number generator used throughout elbo.
//!
//! Every random draw in elbo comes from a ChaCha8 generator ([`ElboRng`]) seeded from one
//! `u64`, so every run is reproducible from its `--seed`, on every platform
//! and across releases of `rand` (ChaCha's stream is specified).

use rand::SeedableRng;
pub use rand_chacha::ChaCha8Rng as ElboRng;

/// The generator for seed `seed`.
pub fn seeded(seed: u64) -> ElboRng {
    ElboRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_seed_same_stream_and_different_seed_differs() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(seeded(7), |r, _: u64| Some(r.random()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(seeded(7), |r, _: u64| Some(r.random()))
            .collect();
        let c: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(seeded(8), |r, _: u64| Some(r.random()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
