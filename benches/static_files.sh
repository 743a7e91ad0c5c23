#!/usr/bin/env bash
# Static files, issue 31: the server CPU time per request of a small file's 304 and 200, through
# the static_files example (tower-conditional-fs), tower-http's ServeDir alone (the example's
# --serve-dir) and nginx (when installed), in one run, over HTTP/1.1 keep-alive.
#
# Like for like: one worker each (the example's --threads 1, nginx's worker_processes 1); then
# the example and ServeDir on tokio's default runtime and nginx with worker_processes auto (a
# worker per CPU each).
#
# CPU per request = the server process's user + system time (/proc/PID/stat, summed over nginx's
# processes) over a wrk run, divided by the requests wrk completed. Each run is warmed up 1 s;
# a 304 sends the tag that server issued. The machine is shared and noisy: the 304s are run in
# ROUNDS rounds, each measuring every server back to back, and the ratios are taken within a
# round; the medians over the rounds are printed last, with nginx's own ratio to ServeDir for
# reference (on the machine issue 31 was measured on: 12 µs against 70, 0.17x).
#
# Environment: SECONDS_PER_RUN (default 3), ROUNDS (5), CONNECTIONS (16), SIZE (1024 bytes).
# Needs wrk: installed with apt-get (Debian's wrk) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-16}
SIZE=${SIZE:-1024}
if ! command -v wrk >/dev/null; then
    echo "static_files.sh: installing wrk" >&2
    apt-get install -y wrk >&2 || { apt-get update >&2 && apt-get install -y wrk >&2; }
fi
cargo build --release -p tower-conditional-examples --example static_files >&2
BIN=target/release/examples/static_files
TICKS=$(getconf CLK_TCK)
SITE=$(mktemp -d)
head -c "$SIZE" /dev/urandom | base64 -w 76 | head -c "$SIZE" > "$SITE/small.txt"
PIDS=()
DIRS=("$SITE")
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "${DIRS[@]}"
}
trap cleanup EXIT

start() { # ARGS... -> sets ADDR and PID
    local out; out=$(mktemp)
    "$BIN" --dir "$SITE" --addr 127.0.0.1:0 "$@" > "$out" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.1; done
    ADDR=$(sed 's#listening on http://##' "$out")
    rm -f "$out"
}

cpu() { # PIDS... -> clock ticks of user + system time
    local total=0 pid
    for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
    echo "$total"
}

etag() { curl -sI "http://$1/small.txt" | awk 'tolower($1) == "etag:" {print $2}' | tr -d '\r'; }

run() { # LABEL URL "PIDS" [HEADER] -> one table row
    local label=$1 url=$2 pids=$3 header=${4:-} before after out requests status
    local args=(-t1 -c"$CONNECTIONS")
    if [ -n "$header" ]; then args+=(-H "$header"); fi
    status=$(curl -s -o /dev/null -w '%{http_code}' ${header:+-H "$header"} "$url")
    wrk "${args[@]}" -d1s "$url" > /dev/null # warm-up
    # shellcheck disable=SC2086
    before=$(cpu $pids)
    out=$(wrk "${args[@]}" -d"${SECONDS_PER_RUN}s" "$url")
    # shellcheck disable=SC2086
    after=$(cpu $pids)
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    CPU=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$requests" 'BEGIN {print t / hz * 1e6 / n}')
    printf '| %s | %s | %s | %.0f | %.1f |\n' "$label" "$status" "$requests" \
        "$(awk -v n="$requests" -v s="$SECONDS_PER_RUN" 'BEGIN {print n / s}')" "$CPU"
}

quotient() { awk -v a="$1" -v b="$2" 'BEGIN {print a / b}'; }

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

start --threads 1; OURS=$ADDR; OURS_PID=$PID
start --threads 1 --serve-dir; SERVE_DIR=$ADDR; SERVE_DIR_PID=$PID
start; DEFAULT=$ADDR; DEFAULT_PID=$PID
start --serve-dir; SERVE_DIR_DEFAULT=$ADDR; SERVE_DIR_DEFAULT_PID=$PID
start_nginx() { # WORKERS PORT -> sets NGINX_PIDS (master and workers)
    local dir; dir=$(mktemp -d)
    DIRS+=("$dir")
    # The workers run as this user: the site is in a private temporary directory.
    cat > "$dir/nginx.conf" <<EOF
user $(id -un);
worker_processes $1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$2;
        root $SITE;
        etag on;
    }
}
EOF
    nginx -c "$dir/nginx.conf"
    sleep 0.5
    NGINX_PIDS=$(pgrep -P "$(cat "$dir/nginx.pid")" | tr '\n' ' ')" $(cat "$dir/nginx.pid")"
    PIDS+=("$(cat "$dir/nginx.pid")")
}
NGINX_PIDS=; NGINX_AUTO_PIDS=
if command -v nginx >/dev/null; then
    # One worker, and `auto` (one per CPU, as Debian's nginx.conf ships) for the default rows.
    start_nginx auto 38632; NGINX_AUTO_PIDS=$NGINX_PIDS
    start_nginx 1 38631
fi

echo "small file: $SIZE bytes; wrk -t1 -c$CONNECTIONS -d${SECONDS_PER_RUN}s per row; $(nproc) CPUs;"
echo "one worker thread each unless the row says otherwise"
echo
echo "| server, request | status | requests | req/s | server CPU µs/req |"
echo "|---|---:|---:|---:|---:|"
NGINX=http://127.0.0.1:38631/small.txt
NGINX_AUTO=http://127.0.0.1:38632/small.txt
VS_SERVE_DIR=(); VS_NGINX=(); VS_DEFAULT=(); VS_SERVE_DIR_DEFAULT=(); NGINX_VS_SERVE_DIR=()
for round in $(seq "$ROUNDS"); do
    run "static_files, 304 (round $round)" "http://$OURS/small.txt" "$OURS_PID" \
        "If-None-Match: $(etag "$OURS")"
    ours=$CPU
    run "ServeDir, 304 (round $round)" "http://$SERVE_DIR/small.txt" "$SERVE_DIR_PID" \
        "If-None-Match: $(etag "$SERVE_DIR")"
    VS_SERVE_DIR+=("$(quotient "$ours" "$CPU")")
    serve_dir=$CPU
    if [ -n "$NGINX_PIDS" ]; then
        run "nginx, 304 (round $round)" "$NGINX" "$NGINX_PIDS" "If-None-Match: $(etag 127.0.0.1:38631)"
        VS_NGINX+=("$(quotient "$ours" "$CPU")")
        NGINX_VS_SERVE_DIR+=("$(quotient "$CPU" "$serve_dir")")
    fi
    run "static_files, default runtime, 304 (round $round)" "http://$DEFAULT/small.txt" \
        "$DEFAULT_PID" "If-None-Match: $(etag "$DEFAULT")"
    ours_default=$CPU
    if [ -n "$NGINX_AUTO_PIDS" ]; then
        run "nginx, worker_processes auto, 304 (round $round)" "$NGINX_AUTO" "$NGINX_AUTO_PIDS" \
            "If-None-Match: $(etag 127.0.0.1:38632)"
        VS_DEFAULT+=("$(quotient "$ours_default" "$CPU")")
    fi
    run "ServeDir, default runtime, 304 (round $round)" "http://$SERVE_DIR_DEFAULT/small.txt" \
        "$SERVE_DIR_DEFAULT_PID" "If-None-Match: $(etag "$SERVE_DIR_DEFAULT")"
    VS_SERVE_DIR_DEFAULT+=("$(quotient "$ours_default" "$CPU")")
done
run "static_files, 200" "http://$OURS/small.txt" "$OURS_PID"
ours=$CPU
run "ServeDir, 200" "http://$SERVE_DIR/small.txt" "$SERVE_DIR_PID"
ok_vs_serve_dir=$(quotient "$ours" "$CPU")
[ -z "$NGINX_PIDS" ] || run "nginx, 200" "$NGINX" "$NGINX_PIDS"
run "static_files, default runtime, 200" "http://$DEFAULT/small.txt" "$DEFAULT_PID"
ours_default=$CPU
run "ServeDir, default runtime, 200" "http://$SERVE_DIR_DEFAULT/small.txt" "$SERVE_DIR_DEFAULT_PID"
ok_default=$(quotient "$ours_default" "$CPU")

echo
echo "304, median over $ROUNDS rounds of the ratio within a round:"
ratio() { echo "  $1: $(printf '%s\n' "${@:2}" | median) (rounds: ${*:2})"; }
ratio "static_files / ServeDir, one thread" "${VS_SERVE_DIR[@]}"
ratio "static_files / ServeDir, default runtime" "${VS_SERVE_DIR_DEFAULT[@]}"
if [ -n "$NGINX_PIDS" ]; then
    ratio "static_files, one thread / nginx, one worker" "${VS_NGINX[@]}"
    ratio "static_files, default runtime / nginx, worker_processes auto" "${VS_DEFAULT[@]}"
    # The reference for the ServeDir ratio: what this machine makes of nginx's own 304.
    ratio "nginx, one worker / ServeDir, one thread" "${NGINX_VS_SERVE_DIR[@]}"
fi
echo "200: static_files / ServeDir: $ok_vs_serve_dir (one thread), $ok_default (default runtime)"
