//! Our environments against gymnasium 1.4.0: the same start states and
//! actions give the same states, rewards and episode ends to 1e-6.
//!
//! Reference data: `tests/data/gym_trajectories.json`, written by
//! `scripts/record_gym_trajectories.py` (gymnasium from PyPI, pinned).

use elbo_rl::env::{Act, AnyEnv, Env};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Doc {
    gymnasium: String,
    trajectories: Vec<Trajectory>,
}

#[derive(Deserialize)]
struct Trajectory {
    gym_id: String,
    env: String,
    max_episode_steps: usize,
    controller: String,
    start: Vec<f64>,
    actions: Vec<serde_json::Value>,
    states: Vec<Vec<f64>>,
    rewards: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
}

const TOL: f64 = 1e-6;

fn load() -> Doc {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gym_trajectories.json"
    );
    let text =
        std::fs::read_to_string(path).expect("reference trajectories are committed with the crate");
    serde_json::from_str(&text).expect("the recording script writes this schema")
}

/// Replay `t` through the environment `name`; returns the largest absolute
/// state and reward deviations, and asserts the episode ends agree.
fn replay(t: &Trajectory, name: &str, check_reward: bool) -> (f64, f64) {
    let mut env = AnyEnv::by_name(name)
        .unwrap()
        .with_max_steps(t.max_episode_steps)
        .unwrap(); // names and limits come from the recording script
    env.set_state(&t.start).unwrap(); // finite and of the right length (recorded from gymnasium)
    let (mut dev_s, mut dev_r) = (0.0f64, 0.0f64);
    for (k, a) in t.actions.iter().enumerate() {
        let comps: Vec<f64>;
        let act = match a {
            serde_json::Value::Array(v) => {
                comps = v
                    .iter()
                    .map(|x| x.as_f64().expect("numeric action"))
                    .collect();
                Act::Continuous(&comps)
            }
            v => Act::Discrete(v.as_u64().expect("integer action") as usize),
        };
        let out = env.step(act);
        for (ours, theirs) in env.state().iter().zip(&t.states[k]) {
            dev_s = dev_s.max((ours - theirs).abs());
        }
        assert!(
            dev_s <= TOL,
            "{} ({}) step {k}: state {:?} vs gymnasium {:?}",
            name,
            t.controller,
            env.state(),
            t.states[k]
        );
        if check_reward {
            dev_r = dev_r.max((out.reward - t.rewards[k]).abs());
            assert!(
                dev_r <= TOL,
                "{name} step {k}: reward {} vs {}",
                out.reward,
                t.rewards[k]
            );
        }
        assert_eq!(
            out.terminated, t.terminated[k],
            "{name} ({}) step {k}: terminated",
            t.controller
        );
        assert_eq!(
            out.truncated, t.truncated[k],
            "{name} ({}) step {k}: truncated",
            t.controller
        );
    }
    (dev_s, dev_r)
}

#[test]
fn trajectories_match_gymnasium() {
    let doc = load();
    assert_eq!(doc.gymnasium, "1.4.0");
    let mut worst: BTreeMap<String, (f64, f64, usize)> = BTreeMap::new();
    for t in &doc.trajectories {
        let (ds, dr) = replay(t, &t.env, true);
        let e = worst.entry(t.gym_id.clone()).or_insert((0.0, 0.0, 0));
        *e = (e.0.max(ds), e.1.max(dr), e.2 + t.actions.len());
    }
    for (id, (ds, dr, n)) in &worst {
        println!("{id:26} {n:4} steps  max |Δstate| {ds:.1e}  max |Δreward| {dr:.1e}");
    }
    assert_eq!(worst.len(), 5, "every gymnasium environment is covered");
}

/// The sparse variants follow the same dynamics; their reward is 1 exactly
/// on the terminating (goal) step.
#[test]
fn sparse_variants_reward_only_the_goal() {
    let doc = load();
    let mut goals = 0;
    for t in &doc.trajectories {
        let sparse = match t.env.as_str() {
            "mountaincar" => "mountaincar-sparse",
            "mountaincar-continuous" => "mountaincar-continuous-sparse",
            "acrobot" => "acrobot-sparse",
            _ => continue,
        };
        replay(t, sparse, false);
        let mut env = AnyEnv::by_name(sparse)
            .unwrap()
            .with_max_steps(t.max_episode_steps)
            .unwrap(); // listed names
        env.set_state(&t.start).unwrap(); // recorded from gymnasium
        for (k, a) in t.actions.iter().enumerate() {
            let comps: Vec<f64>;
            let act = match a {
                serde_json::Value::Array(v) => {
                    comps = v
                        .iter()
                        .map(|x| x.as_f64().expect("numeric action"))
                        .collect();
                    Act::Continuous(&comps)
                }
                v => Act::Discrete(v.as_u64().expect("integer action") as usize),
            };
            let r = env.step(act).reward;
            assert_eq!(r, f64::from(u8::from(t.terminated[k])), "{sparse} step {k}");
            goals += usize::from(t.terminated[k]);
        }
    }
    assert!(
        goals >= 3,
        "the reference data reaches the goal in each sparse environment"
    );
}
