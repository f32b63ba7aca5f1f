#!/bin/sh
# Point 5 of the benchmarks: what exporting spans over OTLP costs. Starts a
# local receiver (`pairctl otlp-sink`), then runs the hot paths (point 1)
# without and with export, and the hubei-2020 end-to-end run (point 3)
# alternating without and with export. Stops the receiver however it ends.
#
#   bench/scripts/tracing_overhead.sh [E2E_RUNS] [E2E_DAY_MS]
#
# The end-to-end runs use --day-ms 10 unless told: at 1 and 5 most runs end
# with cases still open on a loaded 2-core machine (see BENCHMARKS.md).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
cargo build --release --quiet -p pairctl -p counterpart-bench
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
PORT=${OTLP_PORT:-4327}
SPANS=$(mktemp /tmp/counterpart-spans.XXXXXX)
LOGS=$(mktemp -d /tmp/counterpart-tracing.XXXXXX)
"$BIN/pairctl" otlp-sink --listen "127.0.0.1:$PORT" --out "$SPANS" >"$LOGS/sink.log" 2>&1 &
SINK=$!
stop_sink() {
    kill -INT "$SINK" 2>/dev/null || true
    wait "$SINK" 2>/dev/null || true
    rm -f "$SPANS"
}
trap stop_sink EXIT
trap 'exit 130' INT TERM
sleep 1
echo "== hot paths, OTLP export off (central's log in $LOGS/hot-off.log)"
"$BIN/hot_paths" --seconds 3 --levels 1,32 2>"$LOGS/hot-off.log"
echo
echo "== hot paths, OTLP export on to 127.0.0.1:$PORT (log in $LOGS/hot-on.log)"
"$BIN/hot_paths" --seconds 3 --levels 1,32 --otlp "http://127.0.0.1:$PORT" 2>"$LOGS/hot-on.log"
echo
echo "== hubei-2020 end to end, alternating export off / on"
"$BIN/e2e_hubei" --pairctl "$BIN/pairctl" --runs "${1:-3}" --day-ms "${2:-10}" \
    --compare --otlp "http://127.0.0.1:$PORT"
