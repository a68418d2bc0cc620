#!/usr/bin/env bash
# A three-node Patroni cluster (PostgreSQL + Patroni + etcd) on one machine, on 127.0.0.1
# only, with haproxide (or HAProxy) in front using examples/patroni/haproxy.cfg.
#
#   lab.sh install                 install what is missing (never upgrades anything)
#   lab.sh up                      etcd, then node1 (wait until it leads), then node2/node3
#                                  (wait for one leader + two streaming replicas)
#   lab.sh status                  role of each node from Patroni's REST API
#   lab.sh proxy [haproxide|haproxy]   start a proxy in front (ports 5000 rw, 5001 ro)
#   lab.sh proxy-stop              stop the proxy started by `proxy`
#   lab.sh build                   build haproxide (honours CARGO_TARGET_DIR), print its path;
#                                  `proxy haproxide` builds unless HAPROXIDE_BIN is set
#   lab.sh switchover [CANDIDATE]  planned switchover to CANDIDATE (node1..3; default: next node)
#   lab.sh kill-leader             SIGKILL the leader's Patroni and PostgreSQL
#   lab.sh kill-patroni            SIGKILL the leader's Patroni only (PostgreSQL keeps running)
#   lab.sh start-node N            (re)start Patroni on node N (1..3)
#   lab.sh leader                  print the leader's node number (exit 1 if none)
#   lab.sh wait-ready [SECONDS]    wait (default 90 s) for one leader + two streaming replicas
#   lab.sh pg-pid N                print node N's postmaster PID if it runs (exit 1 if not)
#   lab.sh etcd-stop | etcd-start  stop etcd (SIGTERM, by PID) / start it again on its data
#   lab.sh down                    stop every process the lab started (by PID), remove the state dir
#
# Ports: PostgreSQL 15432-15434, Patroni REST 18008-18010, etcd 12379 (peer 12380),
# proxy 5000 (read-write), 5001 (read-only), 7000 (stats, HAProxy only).
# State (configs, data, logs, PID files) lives in $LAB_DIR (default /tmp/haproxide-patroni-lab).
# Every wait is bounded; every process started is recorded by PID in $LAB_DIR/pids.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB_DIR=${LAB_DIR:-/tmp/haproxide-patroni-lab}
VENV=${PATRONI_VENV:-/opt/haproxide-patroni-venv}
PROXY_CFG=${PROXY_CFG:-$HERE/haproxy.cfg}
SCOPE=haproxide-lab
PG_USER=postgres

pg_port()   { echo $((15431 + $1)); }
rest_port() { echo $((18007 + $1)); }

log() { printf '[lab %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || die "no PostgreSQL server under /usr/lib/postgresql (run: lab.sh install)"
    echo "$d"
}

# HTTP status code of GET http://127.0.0.1:<rest port of node $1>$2 ("000" when refused).
rest_code() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$(rest_port "$1")$2" 2>/dev/null || true
}

role() {
    local p r
    p=$(rest_code "$1" /primary)
    if [ "$p" = 200 ]; then echo leader; return; fi
    r=$(rest_code "$1" /replica)
    if [ "$r" = 200 ]; then echo replica; return; fi
    if [ "$p" = 000 ] || [ -z "$p" ]; then echo down; else echo "not-ready"; fi
}

leader() {
    local n
    for n in 1 2 3; do
        if [ "$(rest_code "$n" /primary)" = 200 ]; then echo "$n"; return 0; fi
    done
    return 1
}

psql_at() { # psql_at PORT SQL  -- one-line, unaligned output
    PGCONNECT_TIMEOUT=2 psql -X -h 127.0.0.1 -p "$1" -U "$PG_USER" -d postgres -Atq -c "$2" 2>/dev/null
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
read_pid() { [ -f "$1" ] && head -n 1 "$1" | tr -dc '0-9' || true; }

# Wait until a command succeeds, at most $1 seconds (checks every 0.2 s).
wait_for() {
    local timeout=$1 what=$2; shift 2
    local deadline=$(( $(date +%s%N) + timeout * 1000000000 ))
    while ! "$@"; do
        if [ "$(date +%s%N)" -ge "$deadline" ]; then
            log "timed out after ${timeout}s waiting for: $what"; return 1
        fi
        sleep 0.2
    done
}

# Stop one PID: TERM, wait up to $2 s (default 15), then KILL.
stop_pid() {
    local pid=$1 grace=${2:-15} i
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    log "PID $pid still alive after ${grace}s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
}

# ---------------------------------------------------------------- install
cmd_install() {
    local pkgs=()
    ls -d /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || pkgs+=(postgresql)
    command -v etcd >/dev/null 2>&1 || pkgs+=(etcd-server)
    # etcdctl: crates/haproxide-dcs/tests/etcd_tls.rs makes users and roles with it, as an operator would.
    command -v etcdctl >/dev/null 2>&1 || pkgs+=(etcd-client)
    command -v psql >/dev/null 2>&1 || pkgs+=(postgresql-client)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || pkgs+=(python3-venv)
    if [ ${#pkgs[@]} -gt 0 ]; then
        log "apt-get install ${pkgs[*]}"
        # Keep Debian's maintainer scripts from starting etcd/postgresql services on the
        # default ports: a policy-rc.d that says 101 while we install (restored after).
        local made_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            made_policy=1
        fi
        local rc=0
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade "${pkgs[@]}" || rc=$?
        if [ "$rc" -ne 0 ]; then
            apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade "${pkgs[@]}" || rc=$?
        fi
        [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
        [ "$rc" -eq 0 ] || [ -n "$(command -v etcd)" ] || die "apt-get install failed"
    fi
    if [ ! -x "$VENV/bin/patroni" ]; then
        # Patroni runs as the postgres user: the venv must come from the system Python and
        # sit in a world-readable place (a Python under /root is not readable by postgres).
        # Pinned to the versions measured here (override with PATRONI_PIP).
        local spec
        read -ra spec <<< "${PATRONI_PIP:-patroni[etcd3]==4.1.5 psycopg2-binary==2.9.13}"
        log "creating $VENV with ${spec[*]}"
        /usr/bin/python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check "${spec[@]}"
        chmod -R a+rX "$VENV"
    fi
    log "installed: $(etcd --version 2>/dev/null | head -n 1); $("$(pg_bindir)/postgres" --version); patroni $("$VENV/bin/patroni" --version 2>/dev/null | awk '{print $2}')"
}

# ---------------------------------------------------------------- up
write_node_config() {
    local n=$1 bindir=$2
    local d="$LAB_DIR/node$n"
    mkdir -p "$d"
    cat > "$LAB_DIR/node$n.yml" <<EOF
scope: $SCOPE
namespace: /$SCOPE/
name: node$n

restapi:
  listen: 127.0.0.1:$(rest_port "$n")
  connect_address: 127.0.0.1:$(rest_port "$n")

etcd3:
  hosts: 127.0.0.1:12379

bootstrap:
  dcs:
    ttl: 20
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    # Keep the primary running while etcd is unreachable (Patroni >= 3.0: the members
    # answer each other over REST instead); e2e.sh's etcd-outage phase stops etcd.
    failsafe_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: "on"
  initdb:
    - encoding: UTF8
    - data-checksums

postgresql:
  listen: 127.0.0.1:$(pg_port "$n")
  connect_address: 127.0.0.1:$(pg_port "$n")
  data_dir: $d/data
  bin_dir: $bindir
  pgpass: $d/pgpass
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
    rewind:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: '$d'
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust

tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
EOF
    chown -R "$PG_USER:" "$d" "$LAB_DIR/node$n.yml"
    chmod 700 "$d"
}

start_etcd() {
    local pid
    pid=$(read_pid "$LAB_DIR/pids/etcd.pid")
    if pid_alive "$pid"; then log "etcd already running (PID $pid)"; return; fi
    command -v etcd >/dev/null || die "etcd not installed (run: lab.sh install)"
    mkdir -p "$LAB_DIR/etcd"
    log "starting etcd on 127.0.0.1:12379"
    etcd --name lab --data-dir "$LAB_DIR/etcd" \
        --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
        --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
        --initial-cluster lab=http://127.0.0.1:12380 --initial-cluster-state new \
        --initial-cluster-token "$SCOPE" \
        >"$LAB_DIR/logs/etcd.log" 2>&1 </dev/null &
    echo $! > "$LAB_DIR/pids/etcd.pid"
    wait_for 20 "etcd healthy" etcd_healthy || { tail -n 20 "$LAB_DIR/logs/etcd.log" >&2; die "etcd did not start"; }
}
etcd_healthy() { curl -s -m 1 http://127.0.0.1:12379/health 2>/dev/null | grep -q '"health":"true"'; }

cmd_start_node() {
    local n=${1:-}
    case "$n" in 1|2|3) ;; *) die "usage: lab.sh start-node 1|2|3" ;; esac
    [ -x "$VENV/bin/patroni" ] || die "Patroni not installed in $VENV (run: lab.sh install)"
    [ -f "$LAB_DIR/node$n.yml" ] || write_node_config "$n" "$(pg_bindir)"
    local pid
    pid=$(read_pid "$LAB_DIR/pids/node$n.pid")
    if pid_alive "$pid"; then log "node$n: Patroni already running (PID $pid)"; return; fi
    log "starting node$n (PostgreSQL $(pg_port "$n"), REST $(rest_port "$n"))"
    # setpriv execs Patroni directly, so $! is Patroni's own PID (runuser/su would fork).
    ( cd "$LAB_DIR/node$n" && exec env -i PATH=/usr/bin:/bin HOME="$LAB_DIR/node$n" LANG=C.UTF-8 \
        setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups \
        "$VENV/bin/patroni" "$LAB_DIR/node$n.yml" ) >>"$LAB_DIR/logs/node$n.log" 2>&1 </dev/null &
    echo $! > "$LAB_DIR/pids/node$n.pid"
}

cluster_ready() {
    local l n streaming replicas=0
    l=$(leader) || return 1
    for n in 1 2 3; do
        [ "$n" = "$l" ] && continue
        [ "$(rest_code "$n" /primary)" = 200 ] && return 1
        [ "$(rest_code "$n" /replica)" = 200 ] && replicas=$((replicas + 1))
    done
    [ "$replicas" = 2 ] || return 1
    streaming=$(psql_at "$(pg_port "$l")" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") || return 1
    [ "$streaming" = 2 ]
}

node1_leads() { [ "$(rest_code 1 /primary)" = 200 ]; }

cmd_up() {
    local t0=$SECONDS
    [ -x "$VENV/bin/patroni" ] || die "Patroni not installed in $VENV (run: lab.sh install)"
    local bindir; bindir=$(pg_bindir)
    mkdir -p "$LAB_DIR/pids" "$LAB_DIR/logs"
    chmod 755 "$LAB_DIR"
    start_etcd
    local n
    for n in 1 2 3; do [ -f "$LAB_DIR/node$n.yml" ] || write_node_config "$n" "$bindir"; done
    cmd_start_node 1
    wait_for 60 "node1 leads" node1_leads || { tail -n 30 "$LAB_DIR/logs/node1.log" >&2; die "node1 did not become leader"; }
    cmd_start_node 2
    cmd_start_node 3
    wait_for 120 "one leader and two streaming replicas" cluster_ready || {
        tail -n 15 "$LAB_DIR/logs/node2.log" "$LAB_DIR/logs/node3.log" >&2; cmd_status; die "cluster not ready"; }
    log "cluster ready in $((SECONDS - t0)) s"
    cmd_status
}

# ---------------------------------------------------------------- status
cmd_status() {
    local n pid
    for n in 1 2 3; do
        pid=$(read_pid "$LAB_DIR/pids/node$n.pid")
        pid_alive "$pid" || pid="-"
        printf 'node%s  pg 127.0.0.1:%s  rest %s  /primary %s  /replica %s  role %-8s patroni PID %s\n' \
            "$n" "$(pg_port "$n")" "$(rest_port "$n")" "$(rest_code "$n" /primary)" \
            "$(rest_code "$n" /replica)" "$(role "$n")" "$pid"
    done
    pid=$(read_pid "$LAB_DIR/pids/proxy.pid")
    if pid_alive "$pid"; then echo "proxy: $(cat "$LAB_DIR/pids/proxy.kind" 2>/dev/null) PID $pid"; else echo "proxy: not running"; fi
}

# ---------------------------------------------------------------- failures
cmd_switchover() {
    local l c=${1:-}
    l=$(leader) || die "no leader"
    if [ -z "$c" ]; then c="node$(( l % 3 + 1 ))"; fi
    case "$c" in node[123]) ;; [123]) c="node$c" ;; *) die "candidate must be node1..node3" ;; esac
    log "switchover node$l -> $c"
    # Patroni's REST API; it answers when the switchover is done (or failed).
    curl -s -m 60 -X POST -H 'Content-Type: application/json' \
        -d "{\"leader\": \"node$l\", \"candidate\": \"$c\"}" \
        "http://127.0.0.1:$(rest_port "$l")/switchover"
    echo
}

postmaster_pid() { read_pid "$LAB_DIR/node$1/data/postmaster.pid"; }

cmd_kill_leader() {
    local l pp pm
    l=$(leader) || die "no leader"
    pp=$(read_pid "$LAB_DIR/pids/node$l.pid")
    pm=$(postmaster_pid "$l")
    log "SIGKILL node$l: Patroni PID ${pp:-?}, postmaster PID ${pm:-?}"
    [ -n "$pp" ] && kill -KILL "$pp" 2>/dev/null || true
    [ -n "$pm" ] && kill -KILL "$pm" 2>/dev/null || true
    echo "$l"
}

cmd_kill_patroni() {
    local l pp
    l=$(leader) || die "no leader"
    pp=$(read_pid "$LAB_DIR/pids/node$l.pid")
    log "SIGKILL node$l's Patroni (PID ${pp:-?}); its PostgreSQL keeps running as primary"
    [ -n "$pp" ] && kill -KILL "$pp" 2>/dev/null || true
    echo "$l"
}

# ---------------------------------------------------------------- proxy
proxy_listening() { (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/5001) 2>/dev/null; }

cmd_proxy_stop() {
    local pid
    pid=$(read_pid "$LAB_DIR/pids/proxy.pid")
    if pid_alive "$pid"; then log "stopping proxy PID $pid"; stop_pid "$pid" 10; fi
    rm -f "$LAB_DIR/pids/proxy.pid" "$LAB_DIR/pids/proxy.kind"
}

# Build haproxide from this repository; print the binary's path.
cmd_build() {
    log "building haproxide (cargo build --release -p haproxide)"
    (cd "$REPO" && cargo build --release -q -p haproxide) >&2 || die "cargo build failed"
    local bin="${CARGO_TARGET_DIR:-$REPO/target}/release/haproxide"
    [ -x "$bin" ] || die "no haproxide binary at $bin"
    echo "$bin"
}

cmd_proxy() {
    local kind=${1:-haproxide} bin
    mkdir -p "$LAB_DIR/pids" "$LAB_DIR/logs"
    cmd_proxy_stop
    case "$kind" in
        haproxide)
            bin=${HAPROXIDE_BIN:-}
            [ -n "$bin" ] || bin=$(cmd_build)
            log "starting $bin -db -f $PROXY_CFG --allow-unsupported"
            "$bin" -db -f "$PROXY_CFG" --allow-unsupported >"$LAB_DIR/logs/proxy.log" 2>&1 </dev/null &
            ;;
        haproxy)
            bin=$(command -v haproxy || true)
            if [ -z "$bin" ]; then
                DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade haproxy >&2
                bin=$(command -v haproxy)
            fi
            log "starting $bin -db -f $PROXY_CFG"
            "$bin" -db -f "$PROXY_CFG" >"$LAB_DIR/logs/proxy.log" 2>&1 </dev/null &
            ;;
        *) die "usage: lab.sh proxy [haproxide|haproxy]" ;;
    esac
    echo $! > "$LAB_DIR/pids/proxy.pid"
    echo "$kind" > "$LAB_DIR/pids/proxy.kind"
    local started_ms=$(( $(date +%s%N) / 1000000 ))
    wait_for 10 "proxy listening on 5000/5001" proxy_listening || { cat "$LAB_DIR/logs/proxy.log" >&2; die "proxy did not start"; }
    log "$kind listening on 127.0.0.1:5000 (read-write) and 127.0.0.1:5001 (read-only), PID $(cat "$LAB_DIR/pids/proxy.pid")"
    # haproxide routes to a server only once its first check passed (first checks are
    # spread over up to `inter`), so right after the start a port may close connections.
    wait_for 20 "5000 and 5001 answer a query" proxy_routes || log "warning: the proxy does not route both ports yet"
    log "5000 and 5001 route ($(( $(date +%s%N) / 1000000 - started_ms )) ms after the start)"
}
proxy_routes() { [ -n "$(psql_at 5000 'SELECT 1')" ] && [ -n "$(psql_at 5001 'SELECT 1')" ]; }

# ---------------------------------------------------------------- down
cmd_down() {
    [ -d "$LAB_DIR" ] || { log "nothing to stop ($LAB_DIR does not exist)"; return 0; }
    local n pid
    cmd_proxy_stop
    # Patroni first (it stops its PostgreSQL), then any PostgreSQL left behind (after a
    # kill-patroni), then etcd.
    for n in 3 2 1; do
        pid=$(read_pid "$LAB_DIR/pids/node$n.pid")
        if pid_alive "$pid"; then log "stopping node$n Patroni PID $pid"; stop_pid "$pid" 30 & fi
    done
    wait
    for n in 1 2 3; do
        pid=$(postmaster_pid "$n")
        if pid_alive "$pid"; then log "stopping node$n PostgreSQL PID $pid"; stop_pid "$pid" 15; fi
    done
    pid=$(read_pid "$LAB_DIR/pids/etcd.pid")
    if pid_alive "$pid"; then log "stopping etcd PID $pid"; stop_pid "$pid" 10; fi
    rm -rf "$LAB_DIR"
    log "down: $LAB_DIR removed"
}

usage() { sed -n '2,/^set -e/{/^set -e/d;p}' "$0" | sed 's/^# \{0,1\}//'; }

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    install) cmd_install ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    leader) leader ;;
    wait-ready) wait_for "${1:-90}" "one leader and two streaming replicas" cluster_ready ;;
    pg-pid) p=$(postmaster_pid "${1:-0}"); pid_alive "$p" && echo "$p" ;;
    etcd-stop) p=$(read_pid "$LAB_DIR/pids/etcd.pid"); if pid_alive "$p"; then log "stopping etcd PID $p"; stop_pid "$p" 10; fi ;;
    etcd-start) start_etcd ;;
    switchover) cmd_switchover "$@" ;;
    kill-leader) cmd_kill_leader ;;
    kill-patroni) cmd_kill_patroni ;;
    start-node) cmd_start_node "$@" ;;
    proxy) cmd_proxy "$@" ;;
    proxy-stop) cmd_proxy_stop ;;
    build) cmd_build ;;
    -h|--help|help|"") usage ;;
    *) usage; exit 2 ;;
esac
