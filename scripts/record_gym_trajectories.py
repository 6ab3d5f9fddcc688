#!/usr/bin/env python3
"""Record reference trajectories of gymnasium's classic-control environments.

Usage:  pip install gymnasium==1.4.0 numpy
        python3 scripts/record_gym_trajectories.py [--out crates/elbo-rl/tests/data/gym_trajectories.json]

For each environment: a few fixed start states (written straight into
``env.unwrapped.state`` after ``reset``) and fixed action sequences (from a
seeded numpy generator or a simple hand-written controller, so that episodes
reach their goals and terminate, or run into the time limit and truncate).
Each step records the physical state ``env.unwrapped.state`` as float64
(not the float32 observation), the reward, ``terminated`` and ``truncated``.
``crates/elbo-rl/tests/gym_conformance.rs`` replays the same start states and
actions through elbo-rl's environments and requires agreement to 1e-6.

Continuous actions are passed as float64 arrays: gymnasium's arithmetic then
runs in float64, as ours does (with float32 actions numpy 2 would compute
part of MountainCarContinuous's and Pendulum's update in float32).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np

GYMNASIUM_VERSION = "1.4.0"


def heuristic(name: str, s: np.ndarray, rng: np.random.Generator):
    """A controller that reaches the goal (so that episodes terminate)."""
    if name == "CartPole-v1":
        return int(s[2] + 0.5 * s[3] + 0.05 * s[1] > 0)
    if name == "MountainCar-v0":
        return 2 if s[1] >= 0 else 0
    if name == "MountainCarContinuous-v0":
        return [1.5 if s[1] >= 0 else -1.2]  # out of [-1, 1]: tests the clipping
    if name == "Pendulum-v1":
        return [float(np.clip(2.5 * np.sign(s[1]) if s[1] != 0 else 2.5, -3.0, 3.0))]
    if name == "Acrobot-v1":
        return 2 if s[3] >= 0 else 0
    raise ValueError(name)


def random_action(name: str, rng: np.random.Generator):
    if name == "CartPole-v1":
        return int(rng.integers(2))
    if name in ("MountainCar-v0", "Acrobot-v1"):
        return int(rng.integers(3))
    if name == "MountainCarContinuous-v0":
        return [float(rng.uniform(-1.5, 1.5))]
    if name == "Pendulum-v1":
        return [float(rng.uniform(-3.0, 3.0))]
    raise ValueError(name)


# (gymnasium id, elbo-rl name, max_episode_steps, start state, controller, seed)
CASES = [
    ("CartPole-v1", "cartpole", 500, [0.01, -0.02, 0.03, 0.04], "random", 1),
    ("CartPole-v1", "cartpole", 500, [0.0, 0.0, 0.02, 0.0], "heuristic", 2),
    ("CartPole-v1", "cartpole", 120, [-0.03, 0.01, -0.01, 0.02], "heuristic", 3),
    ("MountainCar-v0", "mountaincar", 200, [-0.5, 0.0], "heuristic", 4),
    ("MountainCar-v0", "mountaincar", 200, [-0.45, 0.0], "random", 5),
    ("MountainCar-v0", "mountaincar", 200, [-1.1, -0.03], "heuristic", 6),
    ("MountainCarContinuous-v0", "mountaincar-continuous", 300, [-0.52, 0.0], "heuristic", 7),
    ("MountainCarContinuous-v0", "mountaincar-continuous", 150, [-0.41, 0.0], "random", 8),
    ("Pendulum-v1", "pendulum", 200, [3.0, 0.0], "heuristic", 9),
    ("Pendulum-v1", "pendulum", 200, [7.0, -0.5], "random", 10),
    ("Acrobot-v1", "acrobot", 500, [0.05, -0.03, 0.02, 0.01], "heuristic", 11),
    ("Acrobot-v1", "acrobot", 150, [0.0, 0.0, 0.0, 0.0], "random", 12),
]


def record(case) -> dict:
    gym_id, name, max_steps, start, controller, seed = case
    env = gym.make(gym_id, max_episode_steps=max_steps)
    env.reset(seed=seed)
    env.unwrapped.state = np.array(start, dtype=np.float64)
    rng = np.random.default_rng(seed)
    actions, states, rewards, terminated, truncated = [], [], [], [], []
    for _ in range(max_steps):
        s = np.asarray(env.unwrapped.state, dtype=np.float64)
        a = heuristic(gym_id, s, rng) if controller == "heuristic" else random_action(gym_id, rng)
        step_action = np.array(a, dtype=np.float64) if isinstance(a, list) else a
        _, r, term, trunc, _ = env.step(step_action)
        actions.append(a)
        states.append([float(v) for v in np.asarray(env.unwrapped.state, dtype=np.float64)])
        rewards.append(float(r))
        terminated.append(bool(term))
        truncated.append(bool(trunc))
        if term or trunc:
            break
    env.close()
    return {
        "gym_id": gym_id,
        "env": name,
        "max_episode_steps": max_steps,
        "controller": controller,
        "start": start,
        "actions": actions,
        "states": states,
        "rewards": rewards,
        "terminated": terminated,
        "truncated": truncated,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="crates/elbo-rl/tests/data/gym_trajectories.json")
    args = parser.parse_args()
    if gym.__version__ != GYMNASIUM_VERSION:
        raise SystemExit(f"need gymnasium=={GYMNASIUM_VERSION}, found {gym.__version__}")
    trajectories = [record(c) for c in CASES]
    for t in trajectories:
        end = "terminated" if t["terminated"][-1] else ("truncated" if t["truncated"][-1] else "open")
        print(f'{t["gym_id"]:26} {t["controller"]:9} {len(t["actions"]):4} steps, {end}')
    doc = {
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "script": "scripts/record_gym_trajectories.py",
        "trajectories": trajectories,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
