#!/bin/sh
# Epoch time of the 2x400 BBB classifier: elbo (burn flex) against
# scripts/bbb_torch.py on the same CPU, in the same run. Prints the ratio.
# Usage: scripts/bbb_speed.sh [TRAIN_SIZE] [THREADS]   (needs `import torch`)
set -e
N=${1:-20000}
T=${2:-2}
ELBO=${ELBO:-target/release/elbo}
OUT=$(mktemp -d)
RAYON_NUM_THREADS=$T "$ELBO" bbb classify --hidden 400 --epochs 1 --train-size "$N" \
    --test-size 1000 --out "$OUT/elbo" --force > /dev/null
E=$(python3 -c "import json;print(json.load(open('$OUT/elbo/metrics.json'))['epoch_seconds_bbb'])")
P=$(python3 scripts/bbb_torch.py --train-size "$N" --epochs 1 --threads "$T" \
    | python3 -c "import json,sys;print(json.load(sys.stdin)['epoch_seconds'][0])")
python3 -c "print(f'train {$N}, {$T} threads: elbo {$E:.2f} s/epoch, pytorch {$P:.2f} s/epoch, ratio elbo/pytorch {$E/$P:.2f}')"
rm -rf "$OUT"
