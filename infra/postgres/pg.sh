#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for development and tests, under var/postgres/ (git-ignored), on 127.0.0.1:55432.
#
#   infra/postgres/pg.sh start    # installs PostgreSQL if missing, starts the cluster, prints DATABASE_URL=...
#   infra/postgres/pg.sh stop
#   infra/postgres/pg.sh url      # the DATABASE_URL alone: export DATABASE_URL=$(infra/postgres/pg.sh url)
#   infra/postgres/pg.sh status   # exit 0 when it runs
#
# PG_BIN=/path/to/bin picks a PostgreSQL installation other than the one found on PATH or in /usr/lib/postgresql.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="$REPO/var/postgres"
DATA="$STATE/data"
LOG="$STATE/server.log"
CREDENTIALS="$STATE/credentials"
HOST=127.0.0.1
PORT=55432
DB_NAME=discharge
DB_USER=discharge
# initdb refuses to run as root, so root hands the cluster to this system user.
OS_USER=postgres

say() { printf '[postgres] %s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

find_pg_bin() {
    if [[ -n "${PG_BIN:-}" ]]; then
        [[ -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/initdb" ]] || die "PG_BIN=$PG_BIN holds no initdb/pg_ctl"
        echo "$PG_BIN"
        return
    fi
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return
    fi
    # Debian keeps server binaries off PATH, one folder per major version; take the newest.
    local candidate
    candidate="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
    if [[ -n "$candidate" && -x "$candidate/pg_ctl" && -x "$candidate/initdb" ]]; then
        echo "$candidate"
    fi
}

install_postgres() {
    command -v apt-get >/dev/null ||
        die "PostgreSQL (initdb, pg_ctl) is not installed and this is no Debian/Ubuntu machine: install the" \
            "PostgreSQL server from your package manager, then run this again (or set PG_BIN to its bin folder)"
    [[ "$(id -u)" == 0 ]] ||
        die "PostgreSQL is not installed: run 'sudo apt-get install -y postgresql', then run this again"
    say "PostgreSQL is not installed; installing it from Debian's packages (once) ..."
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine often has no package lists yet; update only when the plain install fails.
    if ! apt-get install -y -q postgresql >&2; then
        apt-get update -q >&2 || die "apt-get update failed (no network to the Debian mirrors?)"
        apt-get install -y -q postgresql >&2 || die "apt-get install -y postgresql failed (output above)"
    fi
}

# Runs a PostgreSQL program as the cluster's owner.
as_owner() {
    if [[ "$(id -u)" != 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null; then
        (cd / && runuser -u "$OS_USER" -- "$@")
    else
        (cd / && su -s /bin/sh "$OS_USER" -c "$(printf '%q ' "$@")")
    fi
}

ensure_os_user() {
    [[ "$(id -u)" == 0 ]] || return 0
    if ! id -u "$OS_USER" >/dev/null 2>&1; then
        say "creating the system user '$OS_USER' to own the cluster (initdb refuses to run as root)"
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash "$OS_USER" ||
            die "could not create the system user '$OS_USER'; create it, or run this script as a non-root user"
    fi
}

running() {
    [[ -f "$DATA/PG_VERSION" ]] && as_owner "$PG/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

port_taken() {
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

database_url() {
    [[ -f "$CREDENTIALS" ]] || die "no cluster yet: run 'infra/postgres/pg.sh start'"
    local password
    password="$(sed -n 's/^DB_PASSWORD=//p' "$CREDENTIALS")"
    echo "postgresql+asyncpg://$DB_USER:$password@$HOST:$PORT/$DB_NAME"
}

new_password() {
    od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}

init_cluster() {
    # A folder without PG_VERSION is a half-made cluster from an interrupted start: nothing in it is worth keeping.
    rm -rf "$DATA"
    mkdir -p "$DATA"
    chmod 700 "$DATA"
    local superuser_password db_password pwfile
    superuser_password="$(new_password)"
    db_password="$(new_password)"
    pwfile="$STATE/.initdb-password"
    printf '%s\n' "$superuser_password" >"$pwfile"
    chmod 600 "$pwfile"
    if [[ "$(id -u)" == 0 ]]; then
        chown "$OS_USER:" "$DATA" "$pwfile"
        as_owner test -w "$DATA" ||
            die "the OS user '$OS_USER' cannot reach $DATA (a parent folder is not searchable by others):" \
                "'chmod o+x' the parent folders, or run this script as a non-root user"
    fi
    say "creating a cluster in $DATA ..."
    if ! as_owner "$PG/initdb" -D "$DATA" --username=postgres --pwfile="$pwfile" --auth=scram-sha-256 \
        --encoding=UTF8 --locale=C >"$STATE/initdb.log" 2>&1; then
        rm -f "$pwfile"
        cat "$STATE/initdb.log" >&2
        die "initdb failed (output above)"
    fi
    rm -f "$pwfile"
    # TCP on loopback only and no Unix socket: a socket path under a deep checkout can pass the 107-byte limit.
    # fsync off: the cluster is throwaway, and tests would otherwise wait on the disk for every commit.
    cat >>"$DATA/postgresql.conf" <<EOF

# infra/postgres/pg.sh: a throwaway development cluster
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = ''
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    (
        umask 077
        printf 'SUPERUSER_PASSWORD=%s\nDB_PASSWORD=%s\n' "$superuser_password" "$db_password" >"$CREDENTIALS"
    )
}

# Role and database are checked on every start so a cluster interrupted between initdb and here heals itself.
ensure_database() {
    local superuser_password db_password
    superuser_password="$(sed -n 's/^SUPERUSER_PASSWORD=//p' "$CREDENTIALS")"
    db_password="$(sed -n 's/^DB_PASSWORD=//p' "$CREDENTIALS")"
    psql_super() {
        PGPASSWORD="$superuser_password" "$PG/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U postgres \
            -d postgres "$@"
    }
    if [[ -z "$(psql_super -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" ]]; then
        psql_super -c "CREATE ROLE $DB_USER LOGIN PASSWORD '$db_password'" >&2
    fi
    if [[ -z "$(psql_super -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]]; then
        psql_super -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >&2
    fi
}

start() {
    PG="$(find_pg_bin)"
    if [[ -z "$PG" ]]; then
        install_postgres
        PG="$(find_pg_bin)"
        [[ -n "$PG" ]] || die "PostgreSQL was installed but no initdb/pg_ctl was found; set PG_BIN to its bin folder"
    fi
    mkdir -p "$STATE"
    # Two callers at once (two test sessions) must not both run initdb on the same folder.
    exec 9>"$STATE/.lock"
    command -v flock >/dev/null && flock 9
    ensure_os_user
    if running; then
        say "already running on $HOST:$PORT; nothing changed ('infra/postgres/pg.sh stop' stops it)"
        echo "DATABASE_URL=$(database_url)"
        return
    fi
    local version
    version="$("$PG/pg_ctl" --version | awk '{print $3}' | cut -d. -f1)"
    if [[ -f "$DATA/PG_VERSION" && "$(cat "$DATA/PG_VERSION")" != "$version" ]]; then
        die "$DATA was made by PostgreSQL $(cat "$DATA/PG_VERSION") but this machine runs $version;" \
            "it is throwaway: 'rm -rf $STATE' and start again"
    fi
    if [[ ! -f "$DATA/PG_VERSION" || ! -f "$CREDENTIALS" ]]; then
        init_cluster
    fi
    if port_taken; then
        die "port $PORT on $HOST is taken by another process; stop it ('ss -ltnp | grep $PORT' names it)"
    fi
    touch "$LOG"
    if [[ "$(id -u)" == 0 ]]; then
        chown "$OS_USER:" "$LOG"
    fi
    # 9>&-: the server must not inherit the lock, or every later start would wait on it for the server's lifetime.
    if ! as_owner "$PG/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 >/dev/null 9>&-; then
        tail -n 30 "$LOG" >&2
        die "PostgreSQL did not start (last lines of $LOG above)"
    fi
    ensure_database
    say "PostgreSQL $version listening on $HOST:$PORT, database '$DB_NAME' (stop it with: infra/postgres/pg.sh stop)"
    echo "DATABASE_URL=$(database_url)"
}

stop() {
    PG="$(find_pg_bin)"
    if [[ -z "$PG" ]] || ! running; then
        say "not running; nothing to stop"
        return
    fi
    as_owner "$PG/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >/dev/null || die "pg_ctl stop failed; see $LOG"
    say "stopped"
}

status() {
    PG="$(find_pg_bin)"
    if [[ -n "$PG" ]] && running; then
        say "running on $HOST:$PORT"
        return 0
    fi
    say "stopped"
    return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
url) database_url ;;
status) status ;;
*)
    echo "usage: $0 start|stop|url|status" >&2
    exit 2
    ;;
esac
