#!/usr/bin/env bash
# End-to-end benchmark of the store example (issue 4): requests/s and latency percentiles of
#   - 200: GET of one item,
#   - 304: the same GET revalidating with If-None-Match: <current ETag>,
#   - 412: PUT of the same item with a stale If-Match,
# each driven for a bounded time by a load generator over loopback, then a summary table with
# the 304/200 ratio. The store keeps its items in memory, or in the database given by
# `--database URL` (or DATABASE_URL): `sqlite://PATH` or `postgres://...`.
#
# Usage: bash benches/http.sh [--database URL] [STORE FLAG ...]
# Flags after the database go to the store as they are (e.g. --validator-cache).
# benches/storage.sh runs this for memory, SQLite and PostgreSQL in one go.
# Environment (all optional):
#   DURATION=10s      how long each run lasts (oha/wrk syntax)
#   ROUNDS=1          how many times to repeat the three runs, interleaved (medians reported)
#   CONNECTIONS=32    concurrent connections
#   ITEM_BYTES=4096   size of the seeded item (also the body of the 412 PUTs)
#   PORT=0            loopback port for the server; 0 lets the OS pick a free one
#   KINDS="200 304 412"  which of the three paths to drive
#   RESULTS_FILE=F    also append one line per path to FILE: "kind rps server_us db_us"
#                     (db_us: CPU of the PostgreSQL server processes per request, 0 otherwise)
#   LOADGEN=oha       oha (installed with `cargo install oha --locked` if missing) or wrk
#                     (installed with apt-get if missing, or if installing oha fails)
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-1}
CONNECTIONS=${CONNECTIONS:-32}
ITEM_BYTES=${ITEM_BYTES:-4096}
PORT=${PORT:-0}
LOADGEN=${LOADGEN:-oha}
KINDS=${KINDS:-200 304 412}
RESULTS_FILE=${RESULTS_FILE:-}
DATABASE=${DATABASE_URL:-}
case ${1:-} in
    --database) DATABASE=${2:?--database needs a URL}; shift 2 ;;
    --database=*) DATABASE=${1#--database=}; shift ;;
esac
STORE_FLAGS=("$@")
# A key of its own: a database may still hold the items of earlier runs.
KEY=bench-item-$$-$RANDOM

cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "http.sh: $tool is required" >&2; exit 1; }
done

# ----- load generator ---------------------------------------------------------------------
install_wrk() {
    command -v wrk >/dev/null && return 0
    echo "http.sh: installing wrk with apt-get" >&2
    apt-get update >&2 && apt-get install -y wrk >&2
}
if [[ $LOADGEN == oha ]] && ! command -v oha >/dev/null; then
    echo "http.sh: installing oha with cargo install oha --locked" >&2
    if ! cargo install oha --locked >&2; then
        echo "http.sh: installing oha failed, falling back to wrk" >&2
        LOADGEN=wrk
    fi
fi
if [[ $LOADGEN == wrk ]]; then
    install_wrk
fi
command -v "$LOADGEN" >/dev/null || { echo "http.sh: no load generator ($LOADGEN)" >&2; exit 1; }

# ----- server -----------------------------------------------------------------------------
cargo build --release --example store >&2
SERVER_BIN=target/release/examples/store

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SERVER_ARGS=(--addr "127.0.0.1:$PORT")
[[ -z $DATABASE ]] || SERVER_ARGS+=(--database "$DATABASE")
SERVER_ARGS+=("${STORE_FLAGS[@]}")
env -u DATABASE_URL "$SERVER_BIN" "${SERVER_ARGS[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ADDR=
for _ in $(seq 300); do
    if grep -q listening "$WORK/server.log" 2>/dev/null; then
        ADDR=$(grep listening "$WORK/server.log" | grep -oE '127\.0\.0\.1:[0-9]+' | head -n1)
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $ADDR || $ADDR == 127.0.0.1:0 ]]; then
    echo "http.sh: the store did not report a listening address:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
URL="http://$ADDR/items/$KEY"
echo "http.sh: store (pid $SERVER_PID) listening on $ADDR" >&2

# ----- seed and check the three paths -------------------------------------------------------
head -c "$ITEM_BYTES" /dev/urandom >"$WORK/item"
status() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }
expect() {
    local want=$1 what=$2
    shift 2
    local got
    got=$(status "$@")
    if [[ $got != "$want" ]]; then
        echo "http.sh: $what answered $got, expected $want" >&2
        exit 1
    fi
    echo "http.sh: $what -> $got" >&2
}
expect 201 "PUT (create, If-None-Match: *)" -X PUT -H 'If-None-Match: *' \
    -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/item" "$URL"
ETAG=$(curl -sS -D - -o /dev/null "$URL" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }')
[[ -n $ETAG ]] || { echo "http.sh: GET returned no ETag" >&2; exit 1; }
STALE='"0000000000000000000000000000dead"'
[[ $ETAG != "$STALE" ]]
echo "http.sh: current ETag $ETAG" >&2
expect 200 "GET" "$URL"
expect 304 "GET If-None-Match: current" -H "If-None-Match: $ETAG" "$URL"
expect 412 "PUT If-Match: stale" -X PUT -H "If-Match: $STALE" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/item" "$URL"

# ----- load -------------------------------------------------------------------------------
# One run: prints "rps p50_ms p90_ms p99_ms p999_ms responses statuses errors" for kind $1.
run_oha() {
    local kind=$1 out=$WORK/$1.json
    local args=(--no-tui --output-format json -z "$DURATION" -c "$CONNECTIONS" -o "$out")
    case $kind in
        200) ;;
        304) args+=(-H "If-None-Match: $ETAG") ;;
        412) args+=(-m PUT -H "If-Match: $STALE" -T application/octet-stream -D "$WORK/item") ;;
    esac
    oha "${args[@]}" "$URL" >/dev/null
    # Requests/s counts completed responses only: oha's own figure also counts errors (for
    # instance connections the server closed rather than read a large unread PUT body).
    jq -r '[
        (([.statusCodeDistribution[]] | add // 0) / .summary.total),
        (.latencyPercentiles.p50 * 1000), (.latencyPercentiles.p90 * 1000),
        (.latencyPercentiles.p99 * 1000), (.latencyPercentiles["p99.9"] * 1000),
        ([.statusCodeDistribution[]] | add),
        (.statusCodeDistribution | to_entries | map("\(.key)x\(.value)") | join(",")),
        ((.errorDistribution // {}) | to_entries
            | map(select(.key != "aborted due to deadline") | .value) | add // 0)
    ] | map(tostring) | join(" ")' "$out"
}

run_wrk() {
    local kind=$1 script=$WORK/$1.lua
    {
        echo 'local body_file = io.open(os.getenv("WRK_BODY"), "rb")'
        echo 'local body = body_file:read("*a"); body_file:close()'
        echo 'statuses = {}'
        case $kind in
            200) ;;
            304) echo "wrk.headers[\"If-None-Match\"] = '$ETAG'" ;;
            412)
                echo 'wrk.method = "PUT"; wrk.body = body'
                echo "wrk.headers[\"If-Match\"] = '$STALE'"
                echo 'wrk.headers["Content-Type"] = "application/octet-stream"'
                ;;
        esac
        cat <<'LUA'
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %f %f %f %f %f %d %s %d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
        summary.requests, "non2xx3xx=" .. e.status, e.connect + e.read + e.write + e.timeout))
end
LUA
    } >"$script"
    WRK_BODY="$WORK/item" wrk -t 2 -c "$CONNECTIONS" -d "$DURATION" -s "$script" "$URL" |
        awk '$1 == "RESULT" { $1 = ""; sub(/^ /, ""); print }'
}

# CPU time (user + system, clock ticks) the server has used so far: the load generator runs
# on the same cores, so requests/s alone understates what the server saves on a 304.
server_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
# The same for every PostgreSQL server process on the machine (0 when the store is not on
# PostgreSQL): the database's share of the work, which the store's own CPU does not show.
db_ticks() {
    if [[ $DATABASE != postgres* ]]; then
        echo 0
        return
    fi
    local pid total=0
    for pid in $(pgrep -x postgres); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

declare -A RESULTS=()
for round in $(seq "$ROUNDS"); do
    for kind in $KINDS; do
        echo "http.sh: round $round/$ROUNDS, $kind for $DURATION, $CONNECTIONS connections" >&2
        before=$(server_ticks)
        db_before=$(db_ticks)
        line=$("run_$LOADGEN" "$kind")
        after=$(server_ticks)
        db_after=$(db_ticks)
        # Column 9: server CPU microseconds per request (after column 8, the error count);
        # column 10: the database server's.
        n=$(awk '{ print $6 }' <<<"$line")
        cpu=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
        db_cpu=$(awk -v t=$((db_after - db_before)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
        RESULTS[$kind]+="$line $cpu $db_cpu"$'\n'
    done
done

# ----- summary ----------------------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column_of() { printf '%s' "${RESULTS[$1]}" | awk -v c="$2" 'NF { print $c }'; }

echo
echo "store example over $(sed -E 's#//[^@/]*@#//#' <<<"${DATABASE:-memory}"), $ITEM_BYTES-byte item, $CONNECTIONS connections, $DURATION x $ROUNDS round(s), $LOADGEN, loopback"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-36s %12s %16s %9s %9s %9s %9s %10s %7s %14s  %s\n' path 'req/s (med)' 'req/s min..max' 'p50 ms' 'p90 ms' 'p99 ms' 'p99.9 ms' responses errors 'server us/req' statuses
for kind in $KINDS; do
    case $kind in
        200) label="200 GET" ;;
        304) label="304 GET If-None-Match (current)" ;;
        412) label="412 PUT If-Match (stale)" ;;
    esac
    rps=$(column_of "$kind" 1 | median)
    range="$(column_of "$kind" 1 | sort -g | head -n1 | xargs printf '%.0f')..$(column_of "$kind" 1 | sort -g | tail -n1 | xargs printf '%.0f')"
    cpu=$(column_of "$kind" 9 | median)
    printf '%-36s %12.0f %16s %9.3f %9.3f %9.3f %9.3f %10.0f %7.0f %14.2f  %s\n' "$label" "$rps" "$range" \
        "$(column_of "$kind" 2 | median)" "$(column_of "$kind" 3 | median)" \
        "$(column_of "$kind" 4 | median)" "$(column_of "$kind" 5 | median)" \
        "$(column_of "$kind" 6 | median)" "$(column_of "$kind" 8 | median)" "$cpu" \
        "$(column_of "$kind" 7 | sort -u | paste -sd' ')"
    declare "RPS_$kind=$rps" "CPU_$kind=$cpu"
    if [[ -n $RESULTS_FILE ]]; then
        echo "$kind $rps $cpu $(column_of "$kind" 10 | median)" >>"$RESULTS_FILE"
    fi
done
echo
if [[ $KINDS == *200* && $KINDS == *304* ]]; then
    awk -v a="$RPS_304" -v b="$RPS_200" 'BEGIN { printf "304/200 requests/s ratio: %.2f (budget: >= 1.5)\n", a / b }'
    awk -v a="$CPU_200" -v b="$CPU_304" 'BEGIN { printf "server CPU per request, 200/304: %.2f (what the server saves, load generator excluded)\n", a / b }'
fi
if [[ $KINDS == *200* && $KINDS == *412* ]]; then
    awk -v a="$RPS_412" -v b="$RPS_200" 'BEGIN { printf "412/200 requests/s ratio: %.2f\n", a / b }'
fi
