#!/usr/bin/env bash
# End-to-end smoke test: a real three-node Patroni cluster with a proxy in front using
# examples/patroni/haproxy.cfg (not wired into CI yet).
#
#   examples/patroni/e2e-smoke.sh [haproxide|haproxy]      (default haproxide)
#
# 1. lab.sh install, lab.sh up, lab.sh proxy <kind>
# 2. start-up: a probe every 100 ms on 5000 until it has reached the leader 10 times in a
#    row (bounded); counts connections that reached a node in recovery meanwhile
# 3. routing: 10 connections on 5000 must all reach the leader (pg_is_in_recovery() = f),
#    10 on 5001 must all reach replicas (t), never the leader
# 4. switchover to the next node under a probe: a new connection on 5000 every 100 ms and
#    one on 5001 every 200 ms; measures when 5000 first / from then on only reaches the new
#    leader, and counts connections that reached a wrong node (5000 on a node in recovery,
#    5001 on the primary)
# 5. lab.sh down (also on failure; KEEP=1 keeps the lab running)
#
# Each probe is `psql -h 127.0.0.1 -p PORT -c "SELECT inet_server_port(), pg_is_in_recovery()"`
# with a 1 s connect timeout. Results (per-probe CSV, logs) go to $E2E_OUT
# (default /tmp/haproxide-patroni-e2e). Exit 0 when the routing checks pass and the
# read-write port reached the new leader within the bound.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/lab.sh"
KIND=${1:-haproxide}
OUT=${E2E_OUT:-/tmp/haproxide-patroni-e2e}
SWITCH_MIN_S=${SWITCH_MIN_S:-20}   # probe at least this long after the switchover starts
SWITCH_MAX_S=${SWITCH_MAX_S:-60}   # and at most this long
export LAB_DIR=${LAB_DIR:-/tmp/haproxide-patroni-lab}

say() { printf '[e2e %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

cleanup() {
    local rc=$?
    if [ "${KEEP:-0}" = 1 ]; then say "KEEP=1: lab left running ($LAB down stops it)"; else "$LAB" down || true; fi
    exit $rc
}

# probe PORT -> "15433|f" (server port | in recovery) or "ERR"
probe() {
    local r
    r=$(PGCONNECT_TIMEOUT=1 psql -X -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atq \
        -c "SELECT inet_server_port(), pg_is_in_recovery()" 2>/dev/null | tr -d '\n') || r=ERR
    [ -n "$r" ] || r=ERR
    echo "$r"
}

fail() { say "FAIL: $*"; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT"
"$LAB" install
"$LAB" down >/dev/null 2>&1 || true
trap cleanup EXIT
"$LAB" up

leader=$("$LAB" leader) || fail "no leader after up"
leader_port=$((15431 + leader))
say "leader: node$leader (PostgreSQL $leader_port)"

# ---------------------------------------------------------------- 2. proxy start-up
"$LAB" proxy "$KIND"
start=$(now_ms)
ok_run=0; startup_wrong=0; startup_err=0; first_ok=""
echo "t_ms,port,result" > "$OUT/startup.csv"
next=$start
while [ $(( $(now_ms) - start )) -lt 30000 ]; do
    r=$(probe 5000); t=$(( $(now_ms) - start ))
    echo "$t,5000,$r" >> "$OUT/startup.csv"
    case "$r" in
        "$leader_port|f") ok_run=$((ok_run + 1)); [ -n "$first_ok" ] || first_ok=$t ;;
        *"|t") startup_wrong=$((startup_wrong + 1)); ok_run=0 ;;
        *) startup_err=$((startup_err + 1)); ok_run=0 ;;
    esac
    [ "$ok_run" -ge 10 ] && break
    next=$((next + 100)); d=$((next - $(now_ms))); [ "$d" -gt 0 ] && sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
done
[ "$ok_run" -ge 10 ] || fail "5000 did not reach the leader 10 times in a row within 30 s of the proxy start"
say "start-up: 5000 first reached the leader at ${first_ok} ms; before that ${startup_wrong} connection(s) reached a node in recovery, ${startup_err} failed"

# ---------------------------------------------------------------- 3. routing
rw_bad=0; ro_bad=0; declare -A ro_ports=()
for i in $(seq 1 10); do
    r=$(probe 5000); [ "$r" = "$leader_port|f" ] || { rw_bad=$((rw_bad + 1)); say "5000 -> $r"; }
done
for i in $(seq 1 10); do
    r=$(probe 5001)
    case "$r" in
        "$leader_port|"*|*"|f"|ERR) ro_bad=$((ro_bad + 1)); say "5001 -> $r" ;;
        *) ro_ports[${r%%|*}]=1 ;;
    esac
done
say "routing: 5000 leader-only ($((10 - rw_bad))/10), 5001 replicas-only ($((10 - ro_bad))/10) over ${#ro_ports[@]} replica(s): ${!ro_ports[*]}"
[ "$rw_bad" = 0 ] || fail "read-write port reached something other than the leader"
[ "$ro_bad" = 0 ] || fail "read-only port reached the leader or failed"

# ---------------------------------------------------------------- 4. switchover under probe
new=$(( leader % 3 + 1 )); new_port=$((15431 + new))
say "switchover node$leader -> node$new under probe (5000 every 100 ms, 5001 every 200 ms)"
echo "t_ms,port,result" > "$OUT/switchover.csv"
t0=$(now_ms)
"$LAB" switchover "node$new" > "$OUT/switchover.out" 2>&1 &
sw_pid=$!
sw_done_ms=""; first_new=""; last_not_new=0; rw_wrong=0; ro_wrong=0; rw_err=0; ro_err=0; rw_n=0; ro_n=0
tick=0; next=$t0; new_run=0
while :; do
    t=$(( $(now_ms) - t0 ))
    [ "$t" -ge $((SWITCH_MAX_S * 1000)) ] && break
    if [ -z "$sw_done_ms" ] && ! kill -0 "$sw_pid" 2>/dev/null; then sw_done_ms=$t; fi
    [ -n "$sw_done_ms" ] && [ "$t" -ge $((SWITCH_MIN_S * 1000)) ] && [ "$new_run" -ge 30 ] && break
    r=$(probe 5000); tr=$(( $(now_ms) - t0 )); rw_n=$((rw_n + 1))
    echo "$t,5000,$r" >> "$OUT/switchover.csv"
    if [ "$r" = "$new_port|f" ]; then
        [ -n "$first_new" ] || first_new=$t
        new_run=$((new_run + 1))
    else
        new_run=0; last_not_new=$tr
        case "$r" in
            *"|t") rw_wrong=$((rw_wrong + 1)) ;;
            ERR) rw_err=$((rw_err + 1)) ;;
        esac
    fi
    if [ $((tick % 2)) = 0 ]; then
        r=$(probe 5001); ro_n=$((ro_n + 1))
        echo "$t,5001,$r" >> "$OUT/switchover.csv"
        case "$r" in
            *"|f") ro_wrong=$((ro_wrong + 1)) ;;
            ERR) ro_err=$((ro_err + 1)) ;;
        esac
    fi
    tick=$((tick + 1))
    next=$((next + 100)); d=$((next - $(now_ms))); [ "$d" -gt 0 ] && sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
done
wait "$sw_pid" || true
say "switchover answer: $(grep -v '^\[lab' "$OUT/switchover.out" | head -n 1)"
[ -n "$first_new" ] || fail "5000 never reached the new leader node$new within ${SWITCH_MAX_S} s"
"$LAB" status

cat <<EOF | tee "$OUT/summary.txt"
=== e2e-smoke ($KIND, $(date -u +%Y-%m-%dT%H:%M:%SZ)) ===
start-up: 5000 first reached the leader at ${first_ok} ms after the proxy listened; connections to a node in recovery before that: ${startup_wrong}; failed: ${startup_err}
routing: 5000 -> leader 10/10; 5001 -> replicas 10/10 over ${#ro_ports[@]} replica(s)
switchover node$leader -> node$new (Patroni answered after ${sw_done_ms:-?} ms):
  5000 first reached the new leader at:      ${first_new} ms
  5000 last reached another node/failed at:  ${last_not_new} ms (only the new leader after)
  5000 connections to a node in recovery:    ${rw_wrong} of ${rw_n} (failed: ${rw_err})
  5001 connections to the primary:           ${ro_wrong} of ${ro_n} (failed: ${ro_err})
per-probe CSV: $OUT/switchover.csv, $OUT/startup.csv
EOF
cp "$LAB_DIR/logs/proxy.log" "$OUT/proxy.log" 2>/dev/null || true
say "PASS"
