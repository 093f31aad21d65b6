#!/usr/bin/env bash
# Services the integration tests use, started when the machine has none.
#
#   scripts/services.sh postgres   PostgreSQL on 127.0.0.1:5432 (Debian's `postgresql` package,
#                                  installed with apt-get when missing), plus what the tests need:
#                                  the `postgres` role reachable over TCP without a password, and
#                                  a password-checked role (marketlake_auth) for the login-failure
#                                  test.
#   scripts/services.sh nats       NATS with JetStream on 127.0.0.1:4222 (Debian's `nats-server`),
#                                  for the streaming tests.
#   scripts/services.sh chromium   Debian's Chromium and ChromeDriver (/usr/bin/chromium), for the
#                                  dashboard and report tests in a real browser. Never a
#                                  downloaded browser.
#   scripts/services.sh all        all of the above.
#
# Idempotent: run it before every `make test`. Needs root (or sudo) only when it installs or
# configures the server.
set -euo pipefail

PG_HOST=${MARKETLAKE_TEST_PG_HOST:-127.0.0.1}
PG_PORT=${MARKETLAKE_TEST_PG_PORT:-5432}
AUTH_ROLE=marketlake_auth
# Not a secret: the role can only log in to an empty test server, and only with this password.
AUTH_PASSWORD=marketlake-auth-test

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

pg_ready() {
    command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
}

install_postgres() {
    apt_install postgresql
}

start_postgres() {
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    [ -n "$version" ] || die "no cluster under /etc/postgresql after installing postgresql"
    say "starting PostgreSQL $version (cluster main)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do
        pg_ready && return 0
        sleep 1
    done
    die "PostgreSQL did not start on $PG_HOST:$PG_PORT; see /var/log/postgresql/"
}

hba_file() {
    as_postgres psql -XAtqc "show hba_file"
}

configure_postgres() {
    # The tests connect over TCP as `postgres` without a password (trust on localhost), and
    # check a wrong password is refused with a role that needs one.
    local hba changed=0
    hba=$(hba_file)
    if ! as_root grep -qE "^host\s+all\s+$AUTH_ROLE\s" "$hba"; then
        as_root sed -i "0,/^host/s//host    all             $AUTH_ROLE      127.0.0.1\/32            scram-sha-256\n&/" "$hba"
        changed=1
    fi
    if ! as_root grep -qE "^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust" "$hba"; then
        echo "host    all             all             127.0.0.1/32            trust" | as_root tee -a "$hba" >/dev/null
        changed=1
    fi
    if [ "$changed" = 1 ]; then
        as_postgres psql -XAtqc "select pg_reload_conf()" >/dev/null
    fi
    as_postgres psql -Xq -v ON_ERROR_STOP=1 <<SQL
do \$\$ begin
    if not exists (select from pg_roles where rolname = '$AUTH_ROLE') then
        create role $AUTH_ROLE login password '$AUTH_PASSWORD';
    end if;
end \$\$;
SQL
}

postgres() {
    if ! pg_ready; then
        command -v pg_ctlcluster >/dev/null 2>&1 || install_postgres
        start_postgres
    fi
    if [ "$PG_HOST" = 127.0.0.1 ] || [ "$PG_HOST" = localhost ]; then
        configure_postgres  # a remote server is the user's to configure
    fi
    say "PostgreSQL ready on $PG_HOST:$PG_PORT"
}

NATS_HOST=${MARKETLAKE_TEST_NATS_HOST:-127.0.0.1}
NATS_PORT=${MARKETLAKE_TEST_NATS_PORT:-4222}
NATS_STORE=${MARKETLAKE_TEST_NATS_STORE:-/var/lib/nats-server}

apt_install() {
    say "installing $* (apt-get install)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

nats_ready() {
    (exec 3<>"/dev/tcp/$NATS_HOST/$NATS_PORT") 2>/dev/null
}

nats() {
    if ! nats_ready; then
        command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || apt_install nats-server
        local bin
        bin=$(command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)
        as_root mkdir -p "$NATS_STORE"
        say "starting NATS with JetStream on $NATS_HOST:$NATS_PORT (store $NATS_STORE)"
        as_root start-stop-daemon --start --oknodo --background --make-pidfile \
            --pidfile "/run/marketlake-nats-$NATS_PORT.pid" --exec "$bin" -- \
            -a "$NATS_HOST" -p "$NATS_PORT" -js -sd "$NATS_STORE" -l /var/log/nats-server.log
        for _ in $(seq 1 30); do
            nats_ready && break
            sleep 0.5
        done
        nats_ready || die "NATS did not start on $NATS_HOST:$NATS_PORT; see /var/log/nats-server.log"
    fi
    say "NATS ready on $NATS_HOST:$NATS_PORT"
}

chromium() {
    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        apt_install chromium chromium-driver
    fi
    [ -x /usr/bin/chromium ] || die "no /usr/bin/chromium after apt-get install chromium"
    say "Chromium ready: /usr/bin/chromium"
}

case "${1:-}" in
    postgres) postgres ;;
    nats) nats ;;
    chromium) chromium ;;
    all) postgres; nats; chromium ;;
    *) die "usage: $0 postgres|nats|chromium|all" ;;
esac
