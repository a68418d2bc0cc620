#!/usr/bin/env bash
# End-to-end smoke test: a real three-node Patroni cluster with a proxy in front using
# examples/patroni/haproxy.cfg (not wired into CI yet).
#
#   examples/patroni/e2e-smoke.sh [haproxide|haproxy]      (default haproxide)
#
# 1. lab.sh install, lab.sh up, lab.sh proxy <kind>
# 2. start-up: a new connection on 5000 every 100 ms from just before the proxy starts, for
#    STARTUP_S (12) s; when it first / from then on only reaches the leader, and how many
#    connections reached a node in recovery meanwhile
# 3. routing: 10 connections on 5000 must all reach the leader (pg_is_in_recovery() = f),
#    10 on 5001 must all reach replicas (t), never the leader
# 4. switchover to the next node under a probe for SWITCH_S (25) s: a new connection on 5000
#    every 100 ms and one on 5001 every 200 ms, each in the background (a slow connection
#    does not delay the next); measures when 5000 first / from then on only reaches the new
#    leader, and counts connections that reached a wrong node (5000 on a node in recovery,
#    5001 on the primary)
# 5. lab.sh down (also on failure; KEEP=1 keeps the lab running)
#
# Each probe asks `SELECT inet_server_port(), pg_is_in_recovery()` on a new connection
# (psql for the routing checks, e2e-probe.py for the timed phases). Results (per-probe CSV, logs) go to $E2E_OUT
# (default /tmp/haproxide-patroni-e2e). Exit 0 when the routing checks pass and the
# read-write port reached the new leader within the bound.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/lab.sh"
KIND=${1:-haproxide}
OUT=${E2E_OUT:-/tmp/haproxide-patroni-e2e}
export LAB_DIR=${LAB_DIR:-/tmp/haproxide-patroni-lab}
VENV=${PATRONI_VENV:-/opt/haproxide-patroni-venv}

say() { printf '[e2e %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

cleanup() {
    local rc=$?
    if [ "${KEEP:-0}" = 1 ]; then say "KEEP=1: lab left running ($LAB down stops it)"; else "$LAB" down || true; fi
    exit $rc
}

# probe PORT -> "15433|f" (server port | in recovery) or "ERR"
probe() {
    local r
    r=$(PGCONNECT_TIMEOUT=1 timeout 5 psql -X -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atq \
        -c "SELECT inet_server_port(), pg_is_in_recovery()" 2>/dev/null | tr -d '\n') || r=ERR
    [ -n "$r" ] || r=ERR
    echo "$r"
}

# probe_loop FILE T0_MS DURATION_MS PORT:INTERVAL_MS...: a new connection every INTERVAL_MS
# per port, each in its own thread (e2e-probe.py, with the lab's Patroni venv and psycopg2);
# appends "launch_ms,port,result,end_ms" relative to T0_MS.
probe_loop() {
    local file=$1 t0=$2 duration=$3; shift 3
    "$VENV/bin/python" "$HERE/e2e-probe.py" --out "$file" --t0-ms "$t0" --duration-ms "$duration" "$@"
}

# analyze FILE PORT GOOD: prints "n first_good last_not_good in_recovery primary failed"
# (times in ms of launch; -1 when none). GOOD is the exact result wanted ("15433|f").
analyze() {
    sort -t, -k1,1n "$1" | awk -F, -v port="$2" -v good="$3" '
        $2 != port { next }
        { n++ }
        $3 == good { if (first == "") first = $1; next }
        { last = $1 }
        $3 ~ /\|t$/ { rec++ } $3 ~ /\|f$/ { pri++ } $3 == "ERR" { err++ }
        END { printf "%d %s %s %d %d %d\n", n, (first == "" ? -1 : first), (last == "" ? -1 : last), rec, pri, err }'
}

fail() { say "FAIL: $*"; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT"
"$LAB" install
# Build before anything is timed (a build during the start-up window would skew it).
if [ "$KIND" = haproxide ] && [ -z "${HAPROXIDE_BIN:-}" ]; then HAPROXIDE_BIN=$("$LAB" build); export HAPROXIDE_BIN; fi
"$LAB" down >/dev/null 2>&1 || true
trap cleanup EXIT
"$LAB" up

leader=$("$LAB" leader) || fail "no leader after up"
leader_port=$((15431 + leader))
say "leader: node$leader (PostgreSQL $leader_port)"

# ---------------------------------------------------------------- 2. proxy start-up
# Probe 5000 every 100 ms from just before the proxy starts, for STARTUP_S seconds.
STARTUP_S=${STARTUP_S:-12}
: > "$OUT/startup.csv"
t0=$(now_ms)
probe_loop "$OUT/startup.csv" "$t0" $((STARTUP_S * 1000)) 5000:100 &
loop_pid=$!
"$LAB" proxy "$KIND"
listening_ms=$(( $(now_ms) - t0 ))
# Timestamp the proxy's server state changes (its log has no time): "epoch_ms,line".
# tail --pid ends with the proxy, so this stops by itself at `down`.
proxy_pid=$(cat "$LAB_DIR/pids/proxy.pid")
( tail -n +1 -s 0.1 --pid="$proxy_pid" -F "$LAB_DIR/logs/proxy.log" 2>/dev/null | while IFS= read -r l; do
      case "$l" in *"Server "*" is "*) echo "$(now_ms),Server ${l#*Server }" ;; esac
  done >> "$OUT/proxy-events.csv" ) &
wait "$loop_pid"
read -r s_n s_first s_last s_rec s_pri s_err <<< "$(analyze "$OUT/startup.csv" 5000 "$leader_port|f")"
say "start-up: both ports routed by ${listening_ms} ms; 5000 first reached the leader at ${s_first} ms, last reached something else at ${s_last} ms (-1: never); ${s_rec} of ${s_n} connections reached a node in recovery, ${s_err} failed"
[ "$s_first" -ge 0 ] || fail "5000 never reached the leader within ${STARTUP_S} s of the proxy start"

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
SWITCH_S=${SWITCH_S:-25}
new=$(( leader % 3 + 1 )); new_port=$((15431 + new))
say "switchover node$leader -> node$new under probe for ${SWITCH_S} s (5000 every 100 ms, 5001 every 200 ms)"
: > "$OUT/switchover.csv"
t0=$(now_ms); sw_t0=$t0
probe_loop "$OUT/switchover.csv" "$t0" $((SWITCH_S * 1000)) 5000:100 5001:200 &
probe_pid=$!
"$LAB" switchover "node$new" > "$OUT/switchover.out" 2>&1 || true
sw_done_ms=$(( $(now_ms) - t0 ))
wait "$probe_pid"
say "switchover answer after ${sw_done_ms} ms: $(grep -v '^\[lab' "$OUT/switchover.out" | head -n 1)"
read -r w_n w_first w_last w_rec w_pri w_err <<< "$(analyze "$OUT/switchover.csv" 5000 "$new_port|f")"
# For 5001 every replica is good: count what reached the primary or failed.
read -r r_n _ _ r_rec r_pri r_err <<< "$(analyze "$OUT/switchover.csv" 5001 "none")"
"$LAB" status
[ "$w_first" -ge 0 ] || fail "5000 never reached the new leader node$new within ${SWITCH_S} s"

cat <<SUMMARY | tee "$OUT/summary.txt"
=== e2e-smoke ($KIND$( [ "$KIND" = haproxide ] && echo " at $(git -C "$HERE/../.." describe --always --dirty 2>/dev/null)"), $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d" " -f1-3 /proc/loadavg), $(nproc) cores) ===
start-up (t=0: proxy launched; both ports routed by ${listening_ms} ms), 5000 every 100 ms:
  first reached the leader at ${s_first} ms; $( [ "$s_last" = -1 ] && echo "every later connection reached it too" || echo "only the leader after ${s_last} ms")
  connections to a node in recovery: ${s_rec} of ${s_n}; failed: ${s_err}
routing: 5000 -> leader 10/10; 5001 -> replicas 10/10 over ${#ro_ports[@]} replica(s)
switchover node$leader -> node$new (t=0: request sent; Patroni answered at ${sw_done_ms} ms):
  5000 first reached the new leader at:      ${w_first} ms
  5000 only the new leader after:            ${w_last} ms
  5000 connections to a node in recovery:    ${w_rec} of ${w_n} (failed: ${w_err}; old primary before the switch: ${w_pri})
  5001 connections to the primary:           ${r_pri} of ${r_n} (failed: ${r_err})
per-probe CSV (launch_ms,port,result,end_ms): $OUT/switchover.csv, $OUT/startup.csv
SUMMARY
echo "proxy server state changes around the switchover (ms after the request; stamped when logged, so up to the check duration late):"
awk -F, -v t0="$sw_t0" '$1 >= t0 - 1000 { l = $0; sub(/^[^,]*,/, "", l); sub(/\. [0-9]+ active.*$/, "", l); if (l == prev) next; prev = l; printf "  %6d ms  %s\n", $1 - t0, l }' "$OUT/proxy-events.csv" | tee -a "$OUT/summary.txt"
cp "$LAB_DIR/logs/proxy.log" "$OUT/proxy.log" 2>/dev/null || true
say "PASS"
