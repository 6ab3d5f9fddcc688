#!/usr/bin/env python3
"""Steps per second: elbo-rl's environments against gymnasium's, same run.

Usage:  python3 scripts/bench_envs.py [--steps N] [--gym-steps N]

Builds and runs `cargo run --release -p elbo-rl --example bench_envs` (one
copy stepped with pre-drawn actions, automatic reset, observation written
each step; and 16 copies through VecEnv), then times gymnasium (pinned
1.4.0) on the same environments: the raw class (`env.unwrapped.step`) and
what `gym.make` returns (with TimeLimit, OrderEnforcing and
PassiveEnvChecker wrappers). Prints a table and the ratios; `--json` for
machine-readable output.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time

import gymnasium as gym
import numpy as np

ENVS = {
    "cartpole": "CartPole-v1",
    "mountaincar": "MountainCar-v0",
    "mountaincar-continuous": "MountainCarContinuous-v0",
    "pendulum": "Pendulum-v1",
    "acrobot": "Acrobot-v1",
}


def gym_rate(gym_id: str, steps: int, unwrapped: bool) -> float:
    env = gym.make(gym_id)
    env.reset(seed=0)
    step_env = env.unwrapped if unwrapped else env
    rng = np.random.default_rng(0)
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
        actions = [int(a) for a in rng.integers(space.n, size=4096)]
    else:
        actions = [np.array([a], dtype=np.float32) for a in rng.uniform(space.low[0], space.high[0], size=4096)]
    t0 = time.perf_counter()
    for s in range(steps):
        _, _, term, trunc, _ = step_env.step(actions[s & 4095])
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2_000_000, help="steps per env for elbo-rl")
    parser.add_argument("--gym-steps", type=int, default=50_000, help="steps per env for gymnasium")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ours = json.loads(
        subprocess.run(
            ["cargo", "run", "-q", "--release", "-p", "elbo-rl", "--example", "bench_envs", "--", str(args.steps)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    rows = []
    for name, gym_id in ENVS.items():
        raw = gym_rate(gym_id, args.gym_steps, unwrapped=True)
        made = gym_rate(gym_id, args.gym_steps, unwrapped=False)
        o = ours[name]
        rows.append(
            {
                "env": name,
                "elbo_rl": o["steps_per_s"],
                "elbo_rl_vec16": o["vec16_steps_per_s"],
                "gymnasium_unwrapped": raw,
                "gymnasium_make": made,
                "ratio_vs_unwrapped": o["steps_per_s"] / raw,
                "ratio_vs_make": o["steps_per_s"] / made,
            }
        )
    if args.json:
        print(json.dumps({"gymnasium": gym.__version__, "rows": rows}, indent=1))
        return
    print(f"gymnasium {gym.__version__}, numpy {np.__version__}")
    print(f"{'env':24} {'elbo-rl':>12} {'VecEnv×16':>12} {'gym raw':>10} {'gym.make':>10} {'×raw':>7} {'×make':>7}")
    for r in rows:
        print(
            f"{r['env']:24} {r['elbo_rl']:12.3e} {r['elbo_rl_vec16']:12.3e} {r['gymnasium_unwrapped']:10.3e} "
            f"{r['gymnasium_make']:10.3e} {r['ratio_vs_unwrapped']:7.0f} {r['ratio_vs_make']:7.0f}"
        )


if __name__ == "__main__":
    main()
