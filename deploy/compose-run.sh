#!/usr/bin/env bash
# Runs deploy/docker-compose.yml from `up` to a finished scenario: waits for
# every node to be healthy, asks central (`exec central pairctl status`,
# the operator's certificate is in central's container) until the run is
# finished, writes the run report, takes the cluster down with its volumes,
# and prints the timings deploy/README.md quotes. Needs the image
# (deploy/build-images.sh); the certificates are made by the compose file's
# `certs` service.
#
# Usage: deploy/compose-run.sh [REPORT]          (default /tmp/compose-report.json)
# Environment: PAIRING_DAY_MS (default 50), OTLP_ENDPOINT (see the README),
#   COMPOSE_PROJECT (default counterpart), TIMEOUT_S (default 600), SPANS (a
#   file: run the project's OTLP receiver too, collect the spans there and
#   check them with `pairctl check-traces`, which then needs a pairctl on
#   the host: PAIRCTL, default target/release/pairctl).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
report=${1:-/tmp/compose-report.json}
project=${COMPOSE_PROJECT:-counterpart}
timeout_s=${TIMEOUT_S:-600}
export PAIRING_DAY_MS=${PAIRING_DAY_MS:-50}
pairctl=${PAIRCTL:-$repo/target/release/pairctl}
file="$repo/deploy/docker-compose.yml"

# Users mostly have the v2 plugin; Debian ships docker-compose 1.29.
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null; then
    compose=(docker-compose)
else
    echo "compose-run: neither 'docker compose' nor 'docker-compose' answers" >&2
    exit 1
fi
compose+=(-p "$project" -f "$file")
spans=${SPANS:-}
if [ -n "$spans" ]; then
    compose+=(--profile otlp-sink)
    export OTLP_ENDPOINT=http://otlp-sink:4317
fi
if [ -n "$spans" ] && [ ! -x "$pairctl" ]; then
    echo "compose-run: no pairctl at $pairctl to check the spans (set PAIRCTL)" >&2
    exit 1
fi
# pairctl in central's container: it presents the operator's certificate.
central_pairctl() { "${compose[@]}" exec -T central pairctl "$@"; }

now_ms() { date +%s%3N; }
elapsed_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
down() { "${compose[@]}" down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true; }
trap down EXIT

nodes=$(grep -c '"/pairctl", "probe"' "$file")
echo "==> ${compose[*]} up -d ($nodes nodes, PAIRING_DAY_MS=$PAIRING_DAY_MS)"
started=$(now_ms)
"${compose[@]}" up -d >/dev/null 2>&1 || { "${compose[@]}" up -d; exit 1; }
# up returns once every container is created and started; the provinces
# and cities only after central was healthy.
up_returned=$(now_ms)
echo "==> up returned after $(elapsed_s "$started" "$up_returned") s"

deadline=$(( $(date +%s) + timeout_s ))
while :; do
    healthy=$(docker ps -q --filter "label=com.docker.compose.project=$project" \
        --filter health=healthy | wc -l)
    [ "$healthy" -ge "$nodes" ] && break
    [ "$(date +%s)" -lt "$deadline" ] || { echo "compose-run: $healthy/$nodes healthy at the timeout" >&2; exit 1; }
    sleep 0.2
done
healthy_at=$(now_ms)
echo "==> all $nodes nodes healthy after $(elapsed_s "$started" "$healthy_at") s"

finished() {
    local status
    status=$(central_pairctl status 2>/dev/null) || return 1
    [[ ${status%%$'\n'*} == *"; finished" ]]
}
while ! finished; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "compose-run: not finished at the timeout" >&2; exit 1; }
    sleep 1
done
finished_at=$(now_ms)
echo "==> finished after $(elapsed_s "$started" "$finished_at") s"

central_pairctl status | sed -n 1,2p
# The JSON on stdout, the summary on stderr.
central_pairctl report --out - >"$report"
echo "==> report written to $report"
if [ -n "$spans" ]; then
    # The nodes export in batches every 5 s (the SDK's default): wait for
    # the last one, then stop the sink, which writes the spans on SIGTERM.
    sleep 6
    "${compose[@]}" stop otlp-sink >/dev/null 2>&1
    sink=$(docker ps -aq --filter "label=com.docker.compose.project=$project" \
        --filter "label=com.docker.compose.service=otlp-sink")
    docker cp "$sink:/spans/spans.json" "$spans"
    if verdict=$("$pairctl" check-traces "$spans"); then
        echo "==> spans in $spans: ${verdict##*$'\n'}"
    else
        echo "$verdict"
        echo "compose-run: check-traces found violations in $spans" >&2
        exit 1
    fi
fi
down
trap - EXIT
stopped=$(now_ms)
echo "==> up -> healthy $(elapsed_s "$started" "$healthy_at") s; up -> finished" \
     "$(elapsed_s "$started" "$finished_at") s; up -> down done $(elapsed_s "$started" "$stopped") s"
