#!/usr/bin/env bash
# Central's hot paths, two builds side by side (BENCHMARKS.md table 1):
# runs `hot_paths` of build A, then of build B, RUNS times, each run
# starting only once the 1-minute load average is under 1, and keeps each
# run's rows (and the lock's line under each) in OUT.
#
#   cargo build --profile profiling -p counterpart-bench --bin hot_paths
#   cp target/profiling/hot_paths /tmp/hot_paths.before   # and, after the change, .after
#   RUNS=3 bench/scripts/hot_paths_ab.sh out.txt /tmp/hot_paths.before /tmp/hot_paths.after \
#       --paths receipt,report,request
#
# Every argument after the two binaries goes to both.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 OUT BINARY_A BINARY_B [hot_paths arguments...]" >&2
    exit 2
fi
out=$1 a=$2 b=$3
shift 3
runs=${RUNS:-3}
# Waits at most this long for the machine to quieten before each run.
max_wait_s=${MAX_WAIT_S:-600}

quiet() {
    local waited=0
    while ! awk '{ exit !($1 < 1.0) }' /proc/loadavg; do
        if [ "$waited" -ge "$max_wait_s" ]; then
            echo "the load average stayed at 1 or more for ${max_wait_s} s; measuring anyway" >&2
            return
        fi
        sleep 5
        waited=$((waited + 5))
    done
}

for run in $(seq 1 "$runs"); do
    for bin in "$a" "$b"; do
        quiet
        echo "=== $bin run $run $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out"
        "$bin" "$@" 2>/dev/null | grep -E '^ +[0-9]+ \||lock:|^## ' >>"$out"
    done
done
echo "done: $out"
