#!/usr/bin/env bash
# Data-parallel training on MPI: seconds per epoch of `elbo vae
# --distributed` (PyTorch's example network 784-400-20 on Fashion-MNIST) and
# `elbo bbb prune --distributed` (Bayes by Backprop 2x400, scale-mixture
# prior, local reparameterisation; the prune experiment trains BBB alone) for
# P = 1, 2 processes, one thread each (RAYON_NUM_THREADS=1), at global
# batches of 128 and 1024, with the time process 0 spent in the gradient
# allreduce (`allreduce_seconds`, waiting for the slowest process included)
# and the floats summed per step. Writes $OUT/mpi_deep_scaling.json and
# prints a table (docs/src/mpi.md, "Cost model for the deep models").
#
# Usage: scripts/mpi_deep_scaling.sh          (~3 minutes on 2 cores)
#        TRAIN=10000 BATCHES=256 scripts/mpi_deep_scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-out/mpi-deep-scaling}
PS=${PS:-"1 2"}
TRAIN=${TRAIN:-20000}
SEED=${SEED:-0}
BATCHES=${BATCHES:-"128 1024"}

# shellcheck source=scripts/mpi_env.sh
source scripts/mpi_env.sh
mkdir -p "$OUT"

for B in $BATCHES; do
    for P in $PS; do
        echo "== vae, P = $P, batch $B"
        mpirun --oversubscribe -n "$P" "$ELBO" vae --distributed --data fashion-mnist \
            --arch pytorch --epochs 1 --batch "$B" --train-n "$TRAIN" --eval-n 10 \
            --eval-k 10 --seed "$SEED" --out "$OUT/vae-b$B-p$P" --force
        echo "== bbb, P = $P, batch $B"
        mpirun --oversubscribe -n "$P" "$ELBO" bbb prune --distributed --hidden 400 \
            --epochs 1 --batch-size "$B" --train-size "$TRAIN" --test-size 200 \
            --seed "$SEED" --out "$OUT/bbb-b$B-p$P" --force
    done
done

python3 - "$OUT" "$BATCHES" $PS <<'EOF'
import json, sys
out, batches = sys.argv[1], [int(b) for b in sys.argv[2].split()]
ps = [int(p) for p in sys.argv[3:]]
rows = []
for model, key in [("vae", "mean_epoch_seconds"), ("bbb", "epoch_seconds_bbb")]:
  for b in batches:
    for p in ps:
        m = json.load(open(f"{out}/{model}-b{b}-p{p}/metrics.json"))
        rows.append({
            "model": model, "batch": b, "processes": p, "epoch_seconds": m[key],
            "allreduce_seconds": m["allreduce_seconds"],
            "allreduce_calls": m["allreduce_calls"],
            "allreduce_floats": m["allreduce_floats"],
            "first_epoch_bound": m["elbo_trace"][0],
        })
t1 = {(r["model"], r["batch"]): r["epoch_seconds"] for r in rows if r["processes"] == 1}
print("| model | batch | P | s / epoch | speed-up | s in allreduce | per call (ms) | floats per call |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    per = 1e3 * r["allreduce_seconds"] / max(r["allreduce_calls"], 1)
    print(f"| {r['model']} | {r['batch']} | {r['processes']} | {r['epoch_seconds']:.2f} | "
          f"{t1[(r['model'], r['batch'])] / r['epoch_seconds']:.2f} | {r['allreduce_seconds']:.2f} | "
          f"{per:.2f} | {r['allreduce_floats']} |")
json.dump(rows, open(f"{out}/mpi_deep_scaling.json", "w"), indent=1)
EOF
