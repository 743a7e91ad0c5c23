# Sourced by .ci/run (and usable by hand: `source .ci/postgres.sh && start_postgres`).
#
# start_postgres: if DATABASE_URL already names a PostgreSQL database, uses it. Otherwise, if a
# PostgreSQL server is installed (/usr/lib/postgresql/*/bin/initdb), starts a throwaway one (as
# the `postgres` user when run as root, else as the current user): data directory and socket in
# a fresh temporary directory, listening on a free port on 127.0.0.1 only, trust authentication,
# fsync off (test data only).
# Creates the database `store_test`, exports DATABASE_URL, and registers stop_postgres to run on
# exit. Without PostgreSQL it says so and returns 0: the PostgreSQL tests then skip, and say so.
# PG_ROOT (default /usr/lib/postgresql) is where the versions' bin/ directories are looked for.

# Runs a PostgreSQL program as the user owning the data directory.
as_postgres() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

stop_postgres() {
    if [[ -n ${PG_DIR:-} ]]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
        PG_DIR=
    fi
}

start_postgres() {
    if [[ ${DATABASE_URL:-} == postgres://* || ${DATABASE_URL:-} == postgresql://* ]]; then
        echo "postgres: using DATABASE_URL from the environment"
        return 0
    fi
    local initdb
    initdb=$(ls -d "${PG_ROOT:-/usr/lib/postgresql}"/*/bin/initdb 2>/dev/null | sort -V | tail -n1 || true)
    if [[ -z $initdb ]] || { [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; }; then
        echo "postgres: no PostgreSQL server installed (/usr/lib/postgresql/*/bin/initdb); the PostgreSQL tests will be skipped"
        return 0
    fi
    PG_BIN=$(dirname "$initdb")
    PG_DIR=$(mktemp -d)
    [[ $(id -u) != 0 ]] || chown postgres: "$PG_DIR"
    chmod 700 "$PG_DIR"
    trap stop_postgres EXIT
    # A loopback port nothing listens on (PostgreSQL cannot be given port 0).
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 30000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    done
    as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
        { cat "$PG_DIR/initdb.log"; return 1; }
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$PG_DIR/server.log"; return 1; }
    as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres store_test
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/store_test"
    echo "postgres: $("$PG_BIN/postgres" --version) on 127.0.0.1:$port, DATABASE_URL=$DATABASE_URL"
}
