#!/usr/bin/env python3
"""PyTorch's examples/vae (784-400-20 ReLU, Adam 1e-3, batch 128) on IDX data.

The reference for `elbo vae --arch pytorch --no-binarize --batch 128`: the
same network (fc1 784->400, fc21/fc22 400->20, fc3 20->400, fc4 400->784,
sigmoid output), the same loss (binary cross-entropy summed over pixels of
grey levels in [0, 1], plus the analytic KL; one z sample per image), the same
test loss (mean over the test set of that loss, z sampled as in the example).

Differences from the example, for a like-for-like comparison with elbo: the
data are read from IDX files (Fashion-MNIST from Debian's
`dataset-fashion-mnist` by default) instead of torchvision, and
`--drop-last` (default on) drops the incomplete last batch as elbo does.

Prints one JSON object: per-epoch training loss and seconds, the test loss,
the torch version and thread count.

    python3 scripts/vae_torch.py --epochs 10 --threads 2 --out torch.json
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An IDX file (plain or gzipped) as a numpy array."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            opener = gzip.open if p.endswith(".gz") else open
            with opener(p, "rb") as f:
                data = f.read()
            break
    else:
        sys.exit(f"vae_torch.py: {path}[.gz]: no such file")
    _, _, dtype, ndim = struct.unpack(">BBBB", data[:4])
    if dtype != 0x08:
        sys.exit(f"vae_torch.py: {path}: expected unsigned bytes")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(directory, prefix):
    x = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte"))
    return torch.from_numpy(x.reshape(x.shape[0], -1).astype(np.float32) / 255.0)


class VAE(nn.Module):
    """PyTorch examples/vae/main.py, unchanged."""

    def __init__(self, d=784, h=400, latent=20):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.fc21 = nn.Linear(h, latent)
        self.fc22 = nn.Linear(h, latent)
        self.fc3 = nn.Linear(latent, h)
        self.fc4 = nn.Linear(h, d)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=DEFAULT_DIR)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-n", type=int, default=0, help="first N training images (0: all)")
    ap.add_argument("--keep-last", action="store_true", help="keep the incomplete last batch")
    ap.add_argument("--out", default="", help="write the JSON here too")
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    train = load(a.data_dir, "train")
    test = load(a.data_dir, "t10k")
    if a.train_n:
        train = train[: a.train_n]
    model = VAE(d=train.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    n = train.shape[0]
    steps = n // a.batch if not a.keep_last else (n + a.batch - 1) // a.batch
    train_loss, seconds = [], []
    for _ in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total, seen = 0.0, 0
        for s in range(steps):
            x = train[perm[s * a.batch : (s + 1) * a.batch]]
            opt.zero_grad()
            recon, mu, logvar = model(x)
            loss = loss_function(recon, x, mu, logvar)
            loss.backward()
            opt.step()
            total += loss.item()
            seen += x.shape[0]
        seconds.append(time.perf_counter() - t0)
        train_loss.append(total / seen)
    model.eval()
    with torch.no_grad():
        total = 0.0
        for s in range(0, test.shape[0], a.batch):
            x = test[s : s + a.batch]
            recon, mu, logvar = model(x)
            total += loss_function(recon, x, mu, logvar).item()
    result = {
        "framework": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "data_dir": a.data_dir,
        "train_n": n,
        "epochs": a.epochs,
        "batch": a.batch,
        "lr": a.lr,
        "drop_last": not a.keep_last,
        "train_loss": train_loss,
        "epoch_seconds": seconds,
        "mean_epoch_seconds": sum(seconds) / len(seconds),
        "test_loss": total / test.shape[0],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
