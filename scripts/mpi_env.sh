# Sourced by the MPI benchmark scripts (mpi_scaling.sh, mpi_deep_scaling.sh):
# the elbo binary built with MPI ($ELBO, built here unless given), Open MPI's
# settings for containers (root allowed, no ptrace single-copy, oversubscribe),
# and one thread per process so that P processes use P cores.
if [ -z "${ELBO:-}" ]; then
    cargo build --release -p elbo-cli --features mpi
    ELBO="${CARGO_TARGET_DIR:-target}/release/elbo"
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1
export RAYON_NUM_THREADS=1
