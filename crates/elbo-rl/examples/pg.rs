//! Train TRPO or PPO on one environment and print the return per iteration.
//!
//! ```text
//! cargo run --release -p elbo-rl --example pg -- ENV trpo|ppo ITERATIONS SEED
//! cargo run --release -p elbo-rl --example pg -- cartpole ppo 60 0
//! ```

use elbo_rl::env::AnyEnv;
use elbo_rl::pg::{PpoConfig, TrpoConfig, ppo, trpo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env_name = args.first().map(String::as_str).unwrap_or("cartpole");
    let algo = args.get(1).map(String::as_str).unwrap_or("ppo");
    let iterations: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(50);
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let env = AnyEnv::by_name(env_name)?;
    let log = match algo {
        "trpo" => trpo::train(
            env,
            &TrpoConfig {
                iterations,
                seed,
                ..Default::default()
            },
        )?,
        "ppo" => ppo::train(
            env,
            &PpoConfig {
                iterations,
                seed,
                ..Default::default()
            },
        )?,
        other => return Err(format!("unknown algorithm `{other}` (trpo, ppo)").into()),
    };
    for it in &log.iterations {
        println!(
            "{:4} steps {:8} return {:>9} kl {:.4} vloss {:.3} t {:.1}s",
            it.iteration,
            it.steps,
            it.mean_return.map_or("-".into(), |r| format!("{r:.1}")),
            it.kl,
            it.value_loss,
            it.wall_seconds
        );
    }
    Ok(())
}
