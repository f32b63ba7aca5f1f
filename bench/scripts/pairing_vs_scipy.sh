#!/bin/sh
# Point 2 of the benchmarks: central's min-cost assignment beside SciPy's
# linear_sum_assignment on identical seeded matrices, from 16x19 to 3000x3000.
# Creates a throwaway venv in /tmp (numpy and scipy from PyPI), builds the
# Rust side in release mode, and prints a side-by-side table.
#
#   bench/scripts/pairing_vs_scipy.sh [SIZES]    e.g. 16x19,100x100,1000x1000
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${BENCH_VENV:-/tmp/counterpart-bench-venv}
WORK=$(mktemp -d /tmp/pairing-vs-scipy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet numpy scipy
fi
cd "$ROOT"
cargo build --release --quiet -p counterpart-bench --bin pairing_engine
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/pairing_engine
"$VENV/bin/python" "$ROOT/bench/scripts/pairing_vs_scipy.py" --bin "$BIN" --work "$WORK" \
    --sizes "${1:-16x19,100x100,300x300,1000x1000,2000x2000,3000x3000}"
