#!/usr/bin/env bash
# Strong and weak scaling of `elbo vgmm --distributed` (CAVI, one allreduce
# of K + K·D + K·D² + 4 numbers per iteration) for P = 1, 2, 4 processes.
#
#   strong: N = $N_STRONG rows in all, N/P per process;
#   weak:   $N_WEAK rows per process, N = P · $N_WEAK.
#
# The rows are generated on the fly by each process (`--data
# synthetic:N,D,K`: shared centres from the seed, points from (seed, rank)),
# so nothing is read from disk. Each process runs single-threaded
# (RAYON_NUM_THREADS=1) so that P processes use P cores; on a 2-core
# machine P = 4 is oversubscribed. Writes $OUT/mpi_scaling.json and
# $OUT/mpi_scaling.svg (scripts/mpi_scaling.py), and one run directory per
# point with its metrics.json (iteration_seconds, allreduce_seconds_per_iteration).
#
# Usage: scripts/mpi_scaling.sh            (N up to 10^7; ~10 minutes on 2 cores)
#        N_STRONG=1000000 N_WEAK=250000 scripts/mpi_scaling.sh   (quick)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-out/mpi-scaling}
N_STRONG=${N_STRONG:-10000000}
N_WEAK=${N_WEAK:-2500000}
D=${D:-8}
K=${K:-8}
ITERS=${ITERS:-10}
PS=${PS:-"1 2 4"}
SEED=${SEED:-0}

# shellcheck source=scripts/mpi_env.sh
source scripts/mpi_env.sh
mkdir -p "$OUT"

run() { # kind P N
    local dir="$OUT/$1-p$2"
    echo "== $1 scaling: P = $2, N = $3, D = $D, K = $K, $ITERS iterations"
    mpirun --oversubscribe -n "$2" "$ELBO" vgmm --distributed \
        --data "synthetic:$3,$D,$K" --k "$K" --tol 0 --max-iter "$ITERS" \
        --seed "$SEED" --out "$dir" --force
}

for P in $PS; do
    run strong "$P" "$N_STRONG"
    run weak "$P" $((P * N_WEAK))
done
python3 scripts/mpi_scaling.py "$OUT" "$PS"
