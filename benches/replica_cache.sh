#!/usr/bin/env bash
# Two instances of the inventory example (axum + sqlx, the validator cache invalidated through
# tower-conditional-postgres) on one PostgreSQL, release build: writes through A, revalidates
# through B with the replaced tag until the 200, and prints p50/p99/max of the window from A's
# answer to B's first 200 (examples/tests/inventory_replicas.rs, which also checks that no 304
# was sent after the notification went out).
#
# Usage: bash benches/replica_cache.sh
# PostgreSQL: DATABASE_URL when it is a postgres:// URL, else a throwaway server started like
# CI's (.ci/postgres.sh: needs PostgreSQL installed).
# Environment: WRITES (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/postgres.sh
start_postgres >&2
if [[ -z ${DATABASE_URL:-} ]]; then
    echo "replica_cache.sh: no PostgreSQL" >&2
    exit 1
fi

# `cargo test --test NAME` does not build the examples: build the one it starts first.
cargo build --release -p tower-conditional-examples --example inventory >&2
INVENTORY_WRITES=${WRITES:-300} cargo test --release -p tower-conditional-examples \
    --test inventory_replicas -- --nocapture 2>&1 | tee /dev/stderr | grep '^inventory, two instances:'
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
