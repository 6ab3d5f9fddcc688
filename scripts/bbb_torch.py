#!/usr/bin/env python3
"""Bayes by Backprop in PyTorch, equivalent to `elbo bbb classify`'s BBB net:
784-400-400-10 ReLU, factorised Gaussian q with sigma = softplus(rho),
rho init -5, scale-mixture prior (pi=0.25, sigma1=1, sigma2=e^-6) with the
one-sample Monte-Carlo KL on a separate weight draw (as elbo does after a
local-reparameterisation pass), local reparameterisation for the
likelihood, batch 128, Adam lr 1e-3, KL weight 1/M. Prints seconds per
epoch as JSON. Usage:
  python3 scripts/bbb_torch.py --train-size 20000 --epochs 1 --threads 2
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

DIR = "/usr/share/datasets/fashion-mnist"


def idx_images(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    n, r, c = np.frombuffer(data[4:16], dtype=">u4")
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, r * c).astype(np.float32) / 255.0


def idx_labels(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data[8:], dtype=np.uint8).astype(np.int64)


def find(prefix):
    for name in os.listdir(DIR):
        if name.startswith(prefix):
            return os.path.join(DIR, name)
    raise SystemExit(f"{prefix}* not found in {DIR}")


class BayesLinear(torch.nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.w_mu = torch.nn.Parameter(torch.randn(i, o) * math.sqrt(2.0 / i))
        self.w_rho = torch.nn.Parameter(torch.full((i, o), -5.0))
        self.b_mu = torch.nn.Parameter(torch.zeros(o))
        self.b_rho = torch.nn.Parameter(torch.full((o,), -5.0))

    def forward(self, x):
        ws, bs = F.softplus(self.w_rho), F.softplus(self.b_rho)
        gamma = x @ self.w_mu + self.b_mu
        delta = (x * x) @ (ws * ws) + bs * bs
        return gamma + delta.sqrt() * torch.randn_like(gamma)

    def kl_mc(self, pi, s1, s2):
        out = 0.0
        for mu, rho in ((self.w_mu, self.w_rho), (self.b_mu, self.b_rho)):
            sigma = F.softplus(rho)
            eps = torch.randn_like(mu)
            w = mu + sigma * eps
            ln_q = -(sigma.log() + 0.5 * eps * eps + 0.5 * math.log(2 * math.pi)).sum()
            a = math.log(pi) - math.log(s1) - 0.5 * math.log(2 * math.pi) - w * w / (2 * s1 * s1)
            b = math.log(1 - pi) - math.log(s2) - 0.5 * math.log(2 * math.pi) - w * w / (2 * s2 * s2)
            out = out + ln_q - torch.logaddexp(a, b).sum()
        return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train-size", type=int, default=60000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--hidden", type=int, default=400)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    x = torch.from_numpy(idx_images(find("train-images"))[: a.train_size].copy())
    y = torch.from_numpy(idx_labels(find("train-labels"))[: a.train_size].copy())
    layers = torch.nn.ModuleList(
        [BayesLinear(784, a.hidden), BayesLinear(a.hidden, a.hidden), BayesLinear(a.hidden, 10)]
    )
    opt = torch.optim.Adam(layers.parameters(), lr=1e-3, eps=1e-8)
    n, b = len(y), 128
    m = (n + b - 1) // b
    times = []
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(m):
            idx = perm[i * b : (i + 1) * b]
            h = x[idx]
            for k, l in enumerate(layers):
                h = l(h)
                if k < len(layers) - 1:
                    h = F.relu(h)
            nll = F.cross_entropy(h, y[idx], reduction="sum")
            kl = sum(l.kl_mc(0.25, 1.0, math.exp(-6)) for l in layers)
            loss = nll + kl / m
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"framework": "pytorch", "torch": torch.__version__, "threads": a.threads,
                      "train_size": n, "hidden": a.hidden, "epoch_seconds": times}))


if __name__ == "__main__":
    main()
