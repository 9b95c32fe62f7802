#!/usr/bin/env bash
# Start a local PostgreSQL for aidflow's tests: Debian's `postgresql` package, one
# cluster listening on 127.0.0.1 only, role `aidflow` (password `aidflow`) owning the
# database `aidflow_test`. Idempotent: installs the package only when the server
# binaries are missing, creates the cluster only when absent, starts it only when down.
#
# Progress goes to stderr; stdout is one line to eval:
#     eval "$(scripts/start-postgres.sh)"    # sets AIDFLOW_TEST_POSTGRES
# Needs root (or sudo) for apt-get and pg_ctlcluster.
#
# Settings (environment): AIDFLOW_PG_CLUSTER (default: main), AIDFLOW_PG_PORT (default:
# the cluster's port, 5432 for a new one), AIDFLOW_PG_USER / AIDFLOW_PG_PASSWORD
# (aidflow / aidflow), AIDFLOW_PG_DB (aidflow_test).
set -euo pipefail

cluster="${AIDFLOW_PG_CLUSTER:-main}"
user="${AIDFLOW_PG_USER:-aidflow}"
password="${AIDFLOW_PG_PASSWORD:-aidflow}"
db="${AIDFLOW_PG_DB:-aidflow_test}"

log() { printf 'start-postgres: %s\n' "$*" >&2; }
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

server_version() {
    # Highest installed server major version (Debian lays them out under /usr/lib/postgresql).
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V); do
        basename "$(dirname "$(dirname "$dir")")"
    done | tail -n 1
}

# 1. The server package.
version="$(server_version)"
if [ -z "$version" ] || ! command -v pg_ctlcluster >/dev/null || ! command -v pg_createcluster >/dev/null; then
    log "installing Debian's postgresql package"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    version="$(server_version)"
fi
if [ -z "$version" ]; then
    log "no PostgreSQL server binaries found under /usr/lib/postgresql after installing"
    exit 1
fi

cluster_field() {  # cluster_field N: column N of this cluster's pg_lsclusters row
    pg_lsclusters -h 2>/dev/null | awk -v v="$version" -v c="$cluster" -v n="$1" '$1 == v && $2 == c { print $n }'
}

# 2. The cluster (the package's postinst may already have created "main").
if [ -z "$(cluster_field 2)" ]; then
    log "creating cluster $version/$cluster"
    as_root pg_createcluster ${AIDFLOW_PG_PORT:+--port "$AIDFLOW_PG_PORT"} "$version" "$cluster" >&2
fi
# A drop-in under conf.d (included by Debian's postgresql.conf) wins over the main file.
printf "listen_addresses = '127.0.0.1'\n" | as_root tee "/etc/postgresql/$version/$cluster/conf.d/aidflow.conf" >/dev/null
if [ -n "${AIDFLOW_PG_PORT:-}" ] && [ "$(cluster_field 3)" != "$AIDFLOW_PG_PORT" ]; then
    as_root pg_conftool -- "$version" "$cluster" set port "$AIDFLOW_PG_PORT" >&2
    if [ "$(cluster_field 4)" = online ]; then as_root pg_ctlcluster "$version" "$cluster" stop >&2; fi
fi
port="$(cluster_field 3)"

# 3. Running, and listening on 127.0.0.1 only.
psql_admin() {
    as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres "$@"
}
if [ "$(cluster_field 4)" = online ]; then
    listening="$(psql_admin -Atc 'SHOW listen_addresses')"
    if [ "$listening" != 127.0.0.1 ]; then
        log "restarting $version/$cluster to listen on 127.0.0.1 only (was: $listening)"
        as_root pg_ctlcluster "$version" "$cluster" restart >&2
    else
        log "cluster $version/$cluster already running on port $port"
    fi
else
    log "starting cluster $version/$cluster on 127.0.0.1:$port"
    as_root pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$port"; then break; fi
    sleep 0.5
done
if ! pg_isready -h 127.0.0.1 -p "$port" >&2; then
    log "PostgreSQL did not become ready on 127.0.0.1:$port"
    exit 1
fi

# 4. Role and database.
psql_admin -v user="$user" -v password="$password" <<'SQL' >&2
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'user', :'password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'user', :'password') \gexec
SQL
psql_admin -v user="$user" -v db="$db" <<'SQL' >&2
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL

url="postgresql://${user}:${password}@127.0.0.1:${port}/${db}"
PGPASSWORD="$password" psql -X -q -h 127.0.0.1 -p "$port" -U "$user" -d "$db" -Atc 'SELECT 1' >/dev/null
log "ready: postgresql://${user}:***@127.0.0.1:${port}/${db}"
printf 'export AIDFLOW_TEST_POSTGRES=%q\n' "$url"
