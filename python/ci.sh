#!/usr/bin/env bash
# CI for the Python package: Rust checks of python/ (its own crate, outside
# the workspace), then the wheel built into a fresh virtual environment and
# the pytest suite (scikit-learn's estimator checks and the comparisons).
# Run from the repository root: bash python/ci.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON="${PYTHON:-python3}"
VENV="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$VENV")"' EXIT
export CARGO_TARGET_DIR="$PWD/target"

echo "== python: cargo fmt, clippy, test (elbo-python)"
cargo fmt --check
cargo clippy --release --locked --all-targets -- -D warnings
cargo test --release --locked

echo "== python: venv and pinned packages"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check \
    maturin==1.16.0 numpy==2.4.6 scikit-learn==1.9.1 pytest==9.2.0 pandas==3.1.1

echo "== python: wheel"
rm -rf dist
"$VENV/bin/maturin" build --release --locked --interpreter "$VENV/bin/python" --out dist
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps dist/elbo-*.whl

echo "== python: pytest"
# the pytest script (not `python -m pytest`) keeps ./elbo, the sources
# without the compiled module, off sys.path: the tests import the wheel
"$VENV/bin/pytest" -q -p no:cacheprovider tests
