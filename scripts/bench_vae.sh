#!/usr/bin/env bash
# PyTorch's example VAE (784-400-20 ReLU, Adam 1e-3, batch 128, BCE on grey
# levels) against `elbo vae --arch pytorch` on the same CPU, the same data
# (Fashion-MNIST from Debian's dataset-fashion-mnist) and the same number of
# threads, in one run: epoch times, their ratio elbo/PyTorch, and the test
# losses of both.
#
#   EPOCHS=10 THREADS=1 scripts/bench_vae.sh          # writes out/bench-vae/bench.json
#
# THREADS defaults to 1: on a loaded 2-core machine PyTorch's OpenMP threads
# spin against each other and two threads run several times slower than one.
# Needs `cargo build --release -p elbo-cli` and `python3 -c "import torch"`.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-10}
THREADS=${THREADS:-1}
OUT=${OUT:-out/bench-vae}
ELBO=${ELBO:-target/release/elbo}
SEED=${SEED:-1}
mkdir -p "$OUT"

RAYON_NUM_THREADS=$THREADS "$ELBO" vae --data fashion-mnist --arch pytorch --no-binarize \
    --batch 128 --lr 1e-3 --epochs "$EPOCHS" --eval-k 1 --eval-n 1 --seed "$SEED" \
    --out "$OUT/elbo" --force
python3 scripts/vae_torch.py --epochs "$EPOCHS" --threads "$THREADS" --batch 128 --lr 1e-3 \
    --seed "$SEED" --out "$OUT/torch.json" > /dev/null

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
e = json.load(open(f"{out}/elbo/metrics.json"))
t = json.load(open(f"{out}/torch.json"))
# Steady state: the epochs after the first (allocation, page faults) when there are several.
def steady(v):
    return sum(v[1:]) / len(v[1:]) if len(v) > 1 else v[0]
es, ts = steady(e["epoch_seconds"]), steady(t["epoch_seconds"])
r = {
    "epochs": len(e["epoch_seconds"]),
    "threads": t["threads"],
    "elbo_epoch_seconds": e["epoch_seconds"],
    "torch_epoch_seconds": t["epoch_seconds"],
    "elbo_steady_epoch_seconds": es,
    "torch_steady_epoch_seconds": ts,
    "ratio_elbo_over_torch": es / ts,
    "elbo_test_loss": e["test_loss"],
    "torch_test_loss": t["test_loss"],
    "torch_version": t["torch"],
}
json.dump(r, open(f"{out}/bench.json", "w"), indent=2)
print(f"epoch time (s, steady state): elbo {es:.2f}  pytorch {ts:.2f}  ratio elbo/pytorch {es/ts:.2f}")
print(f"test loss after {r['epochs']} epochs: elbo {e['test_loss']:.2f}  pytorch {t['test_loss']:.2f}")
PY
