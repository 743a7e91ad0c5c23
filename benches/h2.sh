#!/usr/bin/env bash
# HTTP/2 (h2c, prior knowledge) end to end, issue 20: h2load drives benches/h2_server.rs with and
# without the conditional layer, in one run, and reports requests/s and the server's CPU time per
# request (from /proc: user + system):
#   - bare 200, layer 200 (a GET without conditional fields), layer 304 (If-None-Match current);
#   - a 16 MiB PUT: bare (the handler reads the body, 204) and layer (stale If-Match: the body is
#     drained, then 412).
# Environment: REQUESTS (default 200000), CLIENTS (32), STREAMS (10 per connection),
# UPLOADS (200 16 MiB PUTs, 4 connections, 1 stream each).
# Needs h2load (Debian's nghttp2-client: apt-get install nghttp2-client).
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-32}
STREAMS=${STREAMS:-10}
UPLOADS=${UPLOADS:-200}
command -v h2load >/dev/null || { echo "h2.sh: h2load is required (nghttp2-client)" >&2; exit 1; }
cargo build --release --bench h2_server >&2
BIN=$(cargo bench --bench h2_server --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*h2_server[^"]*"' | tail -1 | cut -d'"' -f4)
TICKS=$(getconf CLK_TCK)
UPLOAD=$(mktemp)
head -c $((16 << 20)) /dev/zero > "$UPLOAD"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$UPLOAD"' EXIT

start() { # MODE -> sets ADDR, PID
    local out; out=$(mktemp)
    "$BIN" serve "$1" > "$out" &
    PIDS+=($!)
    for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
    ADDR=$(awk '{print $3}' "$out" | sed 's#http://##'); PID=$(awk '{print $5}' "$out")
    rm -f "$out"
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # LABEL PID N h2load-args...
    local label=$1 pid=$2 n=$3; shift 3
    local before after out rps
    before=$(cpu "$pid")
    out=$(h2load -n "$n" "$@" 2>&1)
    after=$(cpu "$pid")
    rps=$(grep -o 'finished in [^,]*, [0-9.]* req/s' <<<"$out" | awk '{print $4}')
    status=$(grep -o 'status codes: .*' <<<"$out")
    us=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
    printf '| %s | %s | %s | %s |\n' "$label" "$rps" "$us" "$status"
}

start bare; BARE=$ADDR; BARE_PID=$PID
start layer; LAYER=$ADDR; LAYER_PID=$PID
echo "| path | req/s | server µs/req | h2load status codes |"
echo "|---|---:|---:|---|"
run "bare 200" "$BARE_PID" "$REQUESTS" -c "$CLIENTS" -m "$STREAMS" "http://$BARE/item"
run "layer 200" "$LAYER_PID" "$REQUESTS" -c "$CLIENTS" -m "$STREAMS" "http://$LAYER/item"
run "layer 304" "$LAYER_PID" "$REQUESTS" -c "$CLIENTS" -m "$STREAMS" -H 'if-none-match: "v1"' "http://$LAYER/item"
run "bare 200 (again)" "$BARE_PID" "$REQUESTS" -c "$CLIENTS" -m "$STREAMS" "http://$BARE/item"
run "bare 16 MiB PUT, read by the handler (204)" "$BARE_PID" "$UPLOADS" -c 4 -m 1 -d "$UPLOAD" -H ':method: PUT' "http://$BARE/item"
run "layer 16 MiB PUT, drained, 412" "$LAYER_PID" "$UPLOADS" -c 4 -m 1 -d "$UPLOAD" -H ':method: PUT' -H 'if-match: "stale"' "http://$LAYER/item"
