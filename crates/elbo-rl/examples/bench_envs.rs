//! Steps per second of each environment (one copy, fixed pseudo-random
//! actions, automatic reset), as JSON on stdout; `scripts/bench_envs.py`
//! runs this and gymnasium side by side and prints the ratio.
//!
//! ```text
//! cargo run --release -p elbo-rl --example bench_envs [-- STEPS]
//! ```

use elbo_rl::env::{Act, ActionSpace, AnyEnv, Env, EnvRng, VecEnv};
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2_000_000);
    let names = [
        "cartpole",
        "mountaincar",
        "mountaincar-continuous",
        "pendulum",
        "acrobot",
        "cartpole-swingup",
    ];
    let mut out = serde_json::Map::new();
    for name in names {
        let mut env = AnyEnv::by_name(name)?;
        let mut rng = EnvRng::seed_from_u64(0);
        // 4096 pre-drawn actions, cycled, so the generator is not timed.
        let actions: Vec<f64> = (0..4096)
            .map(|_| match env.action_space() {
                ActionSpace::Discrete(n) => rng.random_range(0..n) as f64,
                ActionSpace::Box { low, high, .. } => rng.random_range(low..high),
            })
            .collect();
        let discrete = matches!(env.action_space(), ActionSpace::Discrete(_));
        let mut obs = vec![0.0; env.obs_dim()];
        env.reset(&mut rng);
        let t0 = Instant::now();
        for s in 0..steps {
            let a = &actions[s & 4095..(s & 4095) + 1];
            let act = if discrete {
                Act::Discrete(a[0] as usize)
            } else {
                Act::Continuous(a)
            };
            let r = env.step(act);
            if r.done() {
                env.reset(&mut rng);
            }
            env.observe(&mut obs);
            black_box(&obs);
        }
        let single = steps as f64 / t0.elapsed().as_secs_f64();
        // The same through VecEnv (16 copies), as the trainers use it.
        let n = 16;
        let mut venv = VecEnv::new(env.clone(), n, 0)?;
        let batch: Vec<f64> = actions[..n].to_vec();
        let t0 = Instant::now();
        for _ in 0..steps / n {
            black_box(venv.step(&batch));
        }
        let vec = (steps / n * n) as f64 / t0.elapsed().as_secs_f64();
        out.insert(
            name.into(),
            serde_json::json!({"steps_per_s": single, "vec16_steps_per_s": vec}),
        );
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
