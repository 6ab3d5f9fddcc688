#!/usr/bin/env bash
# What CI runs for the MPI feature: install Open MPI (and libclang, which the
# `mpi` crate's bindgen needs), then the distributed tests of elbo-cli:
# `elbo vgmm/svi-gmm --distributed` under `mpirun --oversubscribe -n P` for
# P = 1, 2, 4 against the single-process runs, the failure cases, and the
# data-parallel `elbo vae` / `elbo bbb classify --distributed` training curves
# (P = 1, 2, 3) against single-process training.
# From a cargo cache warm with the default elbo-cli build (what .ci/run builds
# first): mpi-sys (bindgen) and elbo-cli with `mpi` in ~2-3 minutes on 2 cores,
# the eight tests in ~30 s. From a cold cache add elbo-cli's own dependencies
# (burn, via elbo-deep: ~15 minutes on 2 busy cores).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mpirun >/dev/null 2>&1 || ! dpkg -s libopenmpi-dev libclang-dev >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        libopenmpi-dev openmpi-bin libclang-dev >/dev/null
fi

# Containers often run as root and without ptrace-based single-copy transfers.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1

# --workspace keeps the feature set of the main test run, so nothing but
# mpi-sys and elbo-cli is rebuilt.
timeout 900 cargo test --workspace --features elbo-cli/mpi --test distributed --locked -- --test-threads=1
