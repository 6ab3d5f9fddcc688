//! Criterion benchmark of one environment step (with observation) for each
//! classic-control environment; `scripts/bench_envs.py` compares with
//! gymnasium.

use criterion::{Criterion, criterion_group, criterion_main};
use elbo_rl::env::{Act, ActionSpace, AnyEnv, Env, EnvRng};
use rand::SeedableRng;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    for name in [
        "cartpole",
        "mountaincar",
        "mountaincar-continuous",
        "pendulum",
        "acrobot",
        "cartpole-swingup",
    ] {
        let mut env = AnyEnv::by_name(name).expect("a listed name");
        let mut rng = EnvRng::seed_from_u64(0);
        env.reset(&mut rng);
        let mut obs = vec![0.0; env.obs_dim()];
        let space = env.action_space();
        let mut k = 0usize;
        c.bench_function(&format!("step/{name}"), |b| {
            b.iter(|| {
                k += 1;
                let cont = [((k % 7) as f64 - 3.0) / 3.0];
                let act = match space {
                    ActionSpace::Discrete(n) => Act::Discrete(k % n),
                    ActionSpace::Box { .. } => Act::Continuous(&cont),
                };
                if env.step(act).done() {
                    env.reset(&mut rng);
                }
                env.observe(&mut obs);
                black_box(&obs);
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
