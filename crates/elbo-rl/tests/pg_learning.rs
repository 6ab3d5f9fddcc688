//! TRPO and PPO learn: fast smoke tests (clear improvement over a random
//! policy in a few iterations) and `#[ignore]`d solving tests with stated
//! thresholds and budgets (run with `cargo test --release -p elbo-rl
//! --test pg_learning -- --ignored`). Thresholds: CartPole-v1 mean return
//! ≥ 475 (of 500) and Pendulum-v1 ≥ −400 (a random policy scores about
//! −1200), each the mean over the last 5 iterations, seed 0.

use elbo_rl::env::{AnyEnv, CartPole, Pendulum};
use elbo_rl::pg::{PpoConfig, TrainLog, TrpoConfig, ppo, trpo};

fn curve(log: &TrainLog) -> Vec<i64> {
    log.iterations
        .iter()
        .map(|i| i.mean_return.map_or(i64::MIN, |r| r.round() as i64))
        .collect()
}

/// A uniformly random CartPole policy lasts about 22 steps.
const CARTPOLE_RANDOM: f64 = 22.0;

#[test]
fn trpo_smoke_cartpole_beats_random() {
    let cfg = TrpoConfig {
        iterations: 8,
        batch_size: 2000,
        seed: 1,
        ..Default::default()
    };
    let log = trpo::train(CartPole::new(), &cfg).unwrap(); // valid default settings
    let last = log.final_return(2).unwrap(); // CartPole episodes end within every 2000-step batch early on
    assert!(
        last > 3.0 * CARTPOLE_RANDOM,
        "TRPO CartPole returns {:?}",
        curve(&log)
    );
    assert!(
        log.iterations.iter().all(|i| i.kl <= cfg.max_kl),
        "KL constraint held"
    );
}

#[test]
fn ppo_smoke_cartpole_beats_random() {
    let cfg = PpoConfig {
        iterations: 8,
        num_steps: 128,
        seed: 1,
        ..Default::default()
    };
    let log = ppo::train(CartPole::new(), &cfg).unwrap(); // valid default settings
    let last = log.final_return(2).unwrap(); // episodes end in each 1024-step batch
    assert!(
        last > 3.0 * CARTPOLE_RANDOM,
        "PPO CartPole returns {:?}",
        curve(&log)
    );
}

#[test]
fn runs_are_reproducible_from_the_seed() {
    let cfg = PpoConfig {
        iterations: 2,
        num_steps: 64,
        seed: 7,
        ..Default::default()
    };
    let a = ppo::train(AnyEnv::by_name("pendulum").unwrap(), &cfg).unwrap(); // listed name, valid settings
    let b = ppo::train(AnyEnv::by_name("pendulum").unwrap(), &cfg).unwrap(); // same
    assert_eq!(a.theta, b.theta);
}

// ---- solving (ignored in the default test run) -------------------------

#[test]
#[ignore = "solving run: 300 000 steps, ~14 s in release"]
fn trpo_solves_cartpole() {
    let cfg = TrpoConfig {
        iterations: 60,
        seed: 0,
        ..Default::default()
    };
    let log = trpo::train(CartPole::new(), &cfg).unwrap(); // valid settings
    let r = log.final_return(5).unwrap(); // episodes end in every batch
    assert!(
        r >= 475.0,
        "TRPO CartPole: mean of the last 5 iterations {r}; curve {:?}",
        curve(&log)
    );
}

#[test]
#[ignore = "solving run: 204 800 steps, ~10 s in release"]
fn ppo_solves_cartpole() {
    let cfg = PpoConfig {
        iterations: 100,
        seed: 0,
        ..Default::default()
    };
    let log = ppo::train(CartPole::new(), &cfg).unwrap(); // valid settings
    let r = log.final_return(5).unwrap(); // episodes end in every batch
    assert!(
        r >= 475.0,
        "PPO CartPole: mean of the last 5 iterations {r}; curve {:?}",
        curve(&log)
    );
}

#[test]
#[ignore = "solving run: 500 000 steps, ~25 s in release"]
fn trpo_solves_pendulum() {
    let cfg = TrpoConfig {
        iterations: 100,
        seed: 0,
        ..Default::default()
    };
    let log = trpo::train(Pendulum::new(), &cfg).unwrap(); // valid settings
    let r = log.final_return(5).unwrap(); // 200-step episodes end in every batch
    assert!(r >= -400.0, "TRPO Pendulum: {r}; curve {:?}", curve(&log));
}

#[test]
#[ignore = "solving run: 1 024 000 steps, ~50 s in release"]
fn ppo_solves_pendulum() {
    let cfg = PpoConfig {
        iterations: 500,
        seed: 0,
        ..Default::default()
    };
    let log = ppo::train(Pendulum::new(), &cfg).unwrap(); // valid settings
    let r = log.final_return(5).unwrap(); // 200-step episodes end in every batch
    assert!(r >= -400.0, "PPO Pendulum: {r}; curve {:?}", curve(&log));
}
