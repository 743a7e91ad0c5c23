#!/usr/bin/env bash
# The store example's 200 and 304 paths over each of its storages, in one run: process memory,
# a SQLite file and PostgreSQL (loopback), one after the other with the same load, then one
# table: requests/s, the store's CPU per request and, for PostgreSQL, the database server's.
#
# Usage: bash benches/storage.sh
# PostgreSQL: DATABASE_URL when it is a postgres:// URL, else a throwaway server started like CI's
# (.ci/postgres.sh: needs PostgreSQL installed; without it that row is skipped).
# Environment: as benches/http.sh (DURATION, ROUNDS, CONNECTIONS, ITEM_BYTES, LOADGEN).
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d)
source .ci/postgres.sh
# start_postgres registers stop_postgres on exit; this trap replaces it and cleans up too.
start_postgres >&2
trap 'stop_postgres; rm -rf "$WORK"' EXIT
POSTGRES_URL=${DATABASE_URL:-}
unset DATABASE_URL

run() {
    local label=$1
    shift
    echo "storage.sh: $label" >&2
    KINDS="200 304" RESULTS_FILE="$WORK/$label" bash benches/http.sh "$@" >"$WORK/$label.log"
    cat "$WORK/$label.log" >&2
}
run memory
run sqlite --database "sqlite://$WORK/items.db"
run sqlite+cache --database "sqlite://$WORK/items.db" --validator-cache
if [[ -n $POSTGRES_URL ]]; then
    run postgres --database "$POSTGRES_URL"
    run postgres+cache --database "$POSTGRES_URL" --validator-cache
fi

echo
echo "store example, ${ITEM_BYTES:-4096}-byte item, ${CONNECTIONS:-32} connections, ${DURATION:-10s} x ${ROUNDS:-1} round(s) per path, ${LOADGEN:-oha}, loopback"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
printf '%-10s %-5s %12s %16s %16s\n' storage path 'req/s' 'store us/req' 'database us/req'
for label in memory sqlite sqlite+cache postgres postgres+cache; do
    [[ -f $WORK/$label ]] || continue
    while read -r kind rps cpu db; do
        [[ $label == postgres* ]] || db=-
        printf '%-10s %-5s %12.0f %16s %16s\n' "$label" "$kind" "$rps" "$cpu" "$db"
    done <"$WORK/$label"
done

# The validator cache (issue 24): each cached storage's 304 against the memory store's 304 (CPU
# per request) and against the same storage's 304 without the cache (requests per second).
field() { awk -v kind="$2" -v col="$3" '$1 == kind { print $col }' "$WORK/$1"; }
echo
for storage in sqlite postgres; do
    [[ -f $WORK/$storage+cache ]] || continue
    awk -v s="$storage" \
        -v cached_cpu="$(field "$storage+cache" 304 3)" -v memory_cpu="$(field memory 304 3)" \
        -v cached_rps="$(field "$storage+cache" 304 2)" -v plain_rps="$(field "$storage" 304 2)" \
        -v cached_200="$(field "$storage+cache" 200 3)" -v plain_200="$(field "$storage" 200 3)" \
        'BEGIN { printf "%s 304 with the cache: %.2fx the memory store'"'"'s CPU per request, %.2fx the req/s without it; its 200: %.2fx the CPU without it\n", s, cached_cpu / memory_cpu, cached_rps / plain_rps, cached_200 / plain_200 }'
done
