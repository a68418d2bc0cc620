#!/usr/bin/env bash
# End-to-end suite: a real three-node Patroni cluster (etcd + 3 x Patroni/PostgreSQL 15 on
# 127.0.0.1) with a proxy in front using examples/patroni/haproxy.cfg unchanged. Run by
# scripts/test (so by .ci/run) after `cargo test --workspace`.
#
#   examples/patroni/e2e.sh [haproxide] [haproxy] [haproxide-watch]
#
# Default: haproxide, then the real HAProxy 2.6 (/usr/sbin/haproxy) as a second pass over
# the same cluster (E2E_HAPROXY=0 leaves it out), then haproxide with
# haproxy-leader-watch.cfg (the same config plus the opt-in block that follows Patroni's
# leader key in etcd; E2E_WATCH=0 leaves it out), which adds two phases (etcd-outage,
# three-proxies). E2E_SKIP=1 skips the suite (says so).
# Needs root on Debian (lab.sh install: postgresql, etcd-server, Patroni venv).
#
# Per proxy pass, under a continuous probe (e2e-probe.py: a new connection every 100 ms on
# 5000 that reads `inet_server_port(), pg_is_in_recovery()` and writes a sequence number,
# and one every 100 ms on 5001 that reads):
#   startup      proxy launched while the cluster runs (probe from just before the launch)
#   routing      2 s of steady state: 5000 only the leader, 5001 only replicas, both used
#   switchover   Patroni REST switchover to the next node, a session held open on 5000
#   kill-leader  SIGKILL of the leader's Patroni and PostgreSQL, then the node restarted
#   kill-patroni SIGKILL of the leader's Patroni only (its PostgreSQL stays primary) with a
#                session held on 5000: the proxy must cut it when the check fails
#                (on-marked-down shutdown-sessions) and route nothing there afterwards
#   restart      the proxy stopped and started again while the cluster runs
#   etcd-outage  (watch pass) etcd stopped for ETCD_DOWN_S under the probe and started
#                again, then a switchover: routing goes on on checks alone, the watch
#                resumes, the switchover is followed as fast as before
#   three-proxies (watch pass) three haproxide instances with the watch config (ports
#                5100/5101, 5200/5201, 5300/5301), a switchover under a probe of each
#                read-write port every 50 ms: when each first reached the new leader
#   writes       every acknowledged seq must be on the final leader
#
# Hard assertions for haproxide (exit 1 when broken): no start-up or restart connection
# reaches a wrong node (never routes before a server's first check passed); steady-state
# routing exact; the read-write port reaches the new leader after a switchover (within
# SWITCH_S) and a kill-leader (within KILL_S); kill-patroni: the held session is cut while
# its PostgreSQL still runs, within 20 s, the DOWN is logged, nothing routed there after
# it; zero lost acknowledged writes (but for the kill-leader's last commits on the killed
# leader: asynchronous replication, reported apart). Timings and wrong-node counts during
# failovers are recorded, not asserted (they follow the check cadence `inter 3s fall 3
# rise 2`, as in HAProxy; each failover's t = 0 falls at a random point of that 3 s
# cycle). HAProxy's pass is recorded only. PROXY_CFG runs another config (lab.sh).
# The watch pass asserts issue 16's goals on top: switchover first answered by the new
# leader within 1 s of its key (the 3.5 s from the request is reported: it includes
# Patroni's own handover), none to a node in recovery, at most 5 read-only ones to
# the primary; kill-leader on the new leader within 1 s of Patroni's "promoted self to
# leader"; etcd-outage routes on throughout and follows the next switchover; the three
# proxies first reach the new leader within 200 ms of each other; no write lost.
#
# Bounded: the whole run is killed after E2E_TIMEOUT (900 s) and everything the lab
# started is stopped by PID (trap), also on failure. Results: $E2E_OUT
# (default /tmp/haproxide-patroni-e2e): per-phase CSVs, proxy logs, summary.txt.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

if [ "${E2E_SKIP:-0}" = 1 ]; then echo "[e2e] E2E_SKIP=1: Patroni end-to-end suite skipped"; exit 0; fi
if [ "$(id -u)" != 0 ]; then
    echo "[e2e] needs root (installs packages, runs Patroni as postgres); E2E_SKIP=1 skips it" >&2; exit 1
fi
# A hard overall bound: re-run under timeout(1), which signals the whole process group
# (this script, the lab's processes, the probes); the trap below then stops the lab by PID.
# One suite at a time per machine (the lab's ports and state directory are fixed): a
# second run waits for the lock (bounded), it never tears down a running one.
if [ -z "${E2E_INNER:-}" ]; then
    exec flock -w "${E2E_LOCK_WAIT:-900}" -E 75 /tmp/haproxide-patroni-e2e.lock \
        env E2E_INNER=1 timeout -k 120 "${E2E_TIMEOUT:-900}" "$0" "$@"
fi

LAB="$HERE/lab.sh"
PROBE="$HERE/e2e-probe.py"
OUT=${E2E_OUT:-/tmp/haproxide-patroni-e2e}
export LAB_DIR=${LAB_DIR:-/tmp/haproxide-patroni-lab}
VENV=${PATRONI_VENV:-/opt/haproxide-patroni-venv}
STARTUP_S=${STARTUP_S:-6}
SWITCH_S=${SWITCH_S:-16}
KILL_S=${KILL_S:-40}
KP_S=${KP_S:-14}
ETCD_DOWN_S=${ETCD_DOWN_S:-2}
WATCH_CFG="$HERE/haproxy-leader-watch.cfg"

KINDS=("$@")
if [ ${#KINDS[@]} -eq 0 ]; then
    KINDS=(haproxide)
    [ "${E2E_HAPROXY:-1}" = 0 ] || KINDS+=(haproxy)
    [ "${E2E_WATCH:-1}" = 0 ] || KINDS+=(haproxide-watch)
fi

say() { printf '[e2e %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
failures=()
# check KIND CONDITION MESSAGE: a hard assertion for haproxide, a note for HAProxy.
check() {
    local kind=$1 msg=$3
    if eval "$2"; then return 0; fi
    if [ "$kind" != haproxy ]; then failures+=("$kind: $msg"); say "FAIL: $msg"; else say "note ($kind): $msg"; fi
}

bg_pids=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p
    for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then say "KEEP=1: lab left running ($LAB down stops it)"; else "$LAB" down || true; fi
    for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    say "total $((SECONDS)) s"
    exit $rc
}
trap cleanup EXIT
trap 'say "interrupted (timeout?)"; exit 124' INT TERM

# Run a probe in the background and wait for it (a signal interrupts `wait` at once).
probe() { # probe CSV T0_MS DURATION_MS SEQ_BASE [--hold PORT] TARGET...
    local csv=$1 t0=$2 dur=$3 base=$4; shift 4
    "$VENV/bin/python" "$PROBE" probe --out "$csv" --t0-ms "$t0" --duration-ms "$dur" --seq-base "$base" "$@" &
    local p=$!; bg_pids+=("$p")
    wait "$p"
}
probe_bg() { # like probe, leaves its PID in $probe_pid
    local csv=$1 t0=$2 dur=$3 base=$4; shift 4
    "$VENV/bin/python" "$PROBE" probe --out "$csv" --t0-ms "$t0" --duration-ms "$dur" --seq-base "$base" "$@" &
    probe_pid=$!; bg_pids+=("$probe_pid")
}
analyze() { "$VENV/bin/python" "$PROBE" analyze "$@"; }
sql() { PGCONNECT_TIMEOUT=3 psql -X -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atq -c "$2"; }
pg_port() { echo $((15431 + $1)); }
leader() { "$LAB" leader; }
sleep_until() { local d=$(( $1 - $(now_ms) )); [ "$d" -le 0 ] || sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"; }

# Start the proxy and stamp its server state changes (its log has no time) into
# $OUT/$kind/events.csv as "epoch_ms,Server ... is UP|DOWN".
start_proxy() {
    local kind=$1
    if [ "$kind" = haproxide-watch ]; then PROXY_CFG="$WATCH_CFG" "$LAB" proxy haproxide; else "$LAB" proxy "$kind"; fi
    local pp; pp=$(cat "$LAB_DIR/pids/proxy.pid")
    stamp_events "$pp" "$LAB_DIR/logs/proxy.log" "$OUT/$kind/events.csv"
}
# stamp_events PID LOG CSV: server state changes and [DCS] lines of a proxy's log, stamped
# with the time they were read (every 50 ms).
stamp_events() {
    ( tail -n +1 -s 0.05 --pid="$1" -F "$2" 2>/dev/null | while IFS= read -r l; do
          case "$l" in
              "[DCS]"*) echo "$(now_ms),${l}" ;;
              *"Server "*" is "*) echo "$(now_ms),Server ${l#*Server }" ;;
          esac
      done >> "$3" ) &
    bg_pids+=("$!")
}
# event_after EPOCH_MS REGEX: ms after EPOCH_MS of the first matching proxy event (or -1).
event_after() {
    awk -F, -v t0="$1" -v re="$2" '$1 >= t0 && $0 ~ re { print $1 - t0; found = 1; exit } END { if (!found) print -1 }' "$OUT/$kind/events.csv"
}
events_since() {
    awk -F, -v t0="$1" '$1 >= t0 - 500 { l = $0; sub(/^[^,]*,/, "", l); sub(/[.,] [0-9]+ active.*$/, "", l); sub(/, reason:.*$/, "", l); if (l == prev) next; prev = l; printf "      %6d ms  %s\n", $1 - t0, l }' "$OUT/$kind/events.csv"
}

# ---------------------------------------------------------------- phases
# Start-up (also used for the restart): probe from just before the launch.
phase_startup() { # phase_startup KIND NAME SEQ_BASE
    local kind=$1 name=$2 base=$3 csv="$OUT/$1/$2.csv" l t0
    l=$(leader)
    t0=$(now_ms)
    probe_bg "$csv" "$t0" $((STARTUP_S * 1000)) "$base" 5000:100:w 5001:100
    local p=$probe_pid
    start_proxy "$kind"
    wait "$p"
    eval "$(analyze --csv "$csv" --leader-port "$(pg_port "$l")" --prefix s_)"
    say "$name: first answer from the leader on 5000 at ${s_rw_first_end} ms, from a replica on 5001 at ${s_ro_first_end} ms (t=0: proxy launched; longest wait of an answered connection ${s_wait_max} ms); wrong node: 5000 ${s_rw_in_recovery} of ${s_rw_n} to a node in recovery, 5001 ${s_ro_on_primary} of ${s_ro_n} to the primary; failed ${s_rw_failed} + ${s_ro_failed}"
    R["$kind.$name"]="first answer: 5000 from the leader ${s_rw_first_end} ms, 5001 from a replica ${s_ro_first_end} ms (longest wait ${s_wait_max} ms); to a wrong node: 5000 ${s_rw_in_recovery}/${s_rw_n}, 5001 ${s_ro_on_primary}/${s_ro_n}; failed 5000 ${s_rw_failed}, 5001 ${s_ro_failed}"
    check "$kind" '[ "$s_rw_in_recovery" = 0 ] && [ "$s_ro_on_primary" = 0 ]' "$name: connections reached a wrong node before the first checks"
    check "$kind" '[ "$s_rw_first" -ge 0 ] && [ "$s_ro_first" -ge 0 ]' "$name: a port did not route within ${STARTUP_S} s"
}

phase_routing() {
    local kind=$1 base=$2 csv="$OUT/$1/routing.csv" l
    l=$(leader)
    probe "$csv" "$(now_ms)" 2000 "$base" 5000:100:w 5001:100
    eval "$(analyze --csv "$csv" --leader-port "$(pg_port "$l")" --prefix r_)"
    say "routing: 5000 ${r_rw_n} connections, reached the leader from the first: $([ "$r_rw_fully" = "$r_rw_first" ] && echo yes || echo NO); 5001 ${r_ro_n} connections, ${r_ro_on_primary} on the primary, ${r_ro_failed} failed, over ${r_ro_replicas} replicas"
    R["$kind.routing"]="5000 $([ "$r_rw_fully" = "$r_rw_first" ] && echo all || echo NOT all) ${r_rw_n} to the leader; 5001 ${r_ro_n} to replicas over ${r_ro_replicas}, ${r_ro_on_primary} to the primary, ${r_ro_failed} failed"
    check "$kind" '[ "$r_rw_first" -ge 0 ] && [ "$r_rw_fully" = "$r_rw_first" ] && [ "$r_rw_failed" = 0 ]' "routing: 5000 reached something other than the leader"
    check "$kind" '[ "$r_ro_on_primary" = 0 ] && [ "$r_ro_failed" = 0 ] && [ "$r_ro_replicas" = 2 ]' "routing: 5001 not spread over exactly the two replicas"
}

# A failover under the probe; $1 = switchover | kill-leader.
phase_failover() {
    local kind=$1 what=$2 base=$3 dur=$4 csv="$OUT/$1/$2.csv" old new t0 ev
    old=$(leader)
    # t0 at a random point of the proxies' 3 s check cycle (the suite's fixed pace would
    # otherwise put it at the same phase every run, which decides 0-3 s of each number).
    t0=$(( $(now_ms) + 500 + RANDOM % 3000 ))   # the held session opens before t0
    probe_bg "$csv" "$t0" $((dur * 1000)) "$base" --hold 5000 5000:100:w 5001:100
    local p=$probe_pid
    sleep_until "$t0"
    if [ "$what" = switchover ]; then
        "$LAB" switchover "node$(( old % 3 + 1 ))" > "$OUT/$kind/$what.out" 2>&1 || true
    else
        "$LAB" kill-leader > "$OUT/$kind/$what.out" 2>&1 || true
    fi
    wait "$p"
    echo "$t0" > "${csv%.csv}.t0"
    new=$(leader) || new=0
    eval "$(analyze --csv "$csv" --leader-port "$(pg_port "$new")" --prefix f_)"
    local down up
    up=$(event_after "$t0" "primary/node$new is UP")
    down=$(event_after "$t0" "primary/node$old is DOWN")
    say "$what node$old -> node$new (t=0: request): 5000 first reached the new leader at ${f_rw_first} ms, only it from ${f_rw_fully} ms; 5000 to a node in recovery ${f_rw_in_recovery} of ${f_rw_n}, failed ${f_rw_failed}; 5001 to the primary ${f_ro_on_primary} of ${f_ro_n}, failed ${f_ro_failed}; session held on node$old cut at ${f_hold_cut} ms; primary/node$new UP at ${up} ms, primary/node$old DOWN at ${down} ms"
    events_since "$t0"
    R["$kind.$what"]="new leader first ${f_rw_first} ms (answered ${f_rw_first_end} ms) ($( [ "$up" -ge 0 ] && echo "$((f_rw_first - up))" || echo "?") ms after its UP), only it from ${f_rw_fully} ms; old session cut ${f_hold_cut} ms; UP ${up} / old DOWN ${down} ms; 5000 to recovery ${f_rw_in_recovery}/${f_rw_n} (failed ${f_rw_failed}); 5001 to primary ${f_ro_on_primary}/${f_ro_n} (failed ${f_ro_failed})"
    check "$kind" '[ "$new" != 0 ] && [ "$new" != "$old" ] && [ "$f_rw_first" -ge 0 ]' "$what: 5000 never reached a new leader within ${dur} s"
    FAILED_RW["$kind.$what"]=$f_rw_failed
    if [ "$kind" = haproxide-watch ]; then
        if [ "$what" = switchover ] || [ "$what" = etcd-outage ]; then
            # Answer times (a connection may wait in the backend queue for the new leader).
            # What the proxy owes: the first answer within 1 s of the new leader key it
            # saw (asserted). Issue 16's goal, within 3.5 s of the request, also counts
            # Patroni's own handover (2.7-3.5 s on a loaded CI machine): reported.
            local lk; lk=$(event_after "$t0" "leader key .* -> node$new")
            say "$what: the new leader key seen at ${lk} ms, first answer from node$new $((f_rw_first_end - lk)) ms later ($([ "$f_rw_first_end" -ge 0 ] && [ "$f_rw_first_end" -le 3500 ] && echo "within" || echo "NOT within") issue 16's 3.5 s of the request)"
            R["$kind.$what"]+="; key seen ${lk} ms, first answer $((f_rw_first_end - lk)) ms later"
            # The promotion fence: when the REST API said the new leader left recovery,
            # when the new leader came into rotation, and the first answer after that.
            local pr; pr=$(event_after "$t0" "node$new is promoted")
            local el; el=$(event_after "$t0" "primary/node$new is back in rotation for role leader")
            say "$what: node$new's promotion seen on its REST API at ${pr} ms, in rotation at ${el} ms, first answer $((f_rw_first_end - el)) ms after that"
            R["$kind.$what"]+="; promotion seen ${pr} ms, in rotation ${el} ms, first answer $((f_rw_first_end - el)) ms after"
            check "$kind" '[ "$lk" -ge 0 ] && [ "$f_rw_first_end" -ge 0 ] && [ $((f_rw_first_end - lk)) -le 1000 ]' "$what: 5000 first answered by the new leader $((f_rw_first_end - lk)) ms after its key was seen (over 1 s)"
            check "$kind" '[ "$f_rw_in_recovery" = 0 ]' "$what: ${f_rw_in_recovery} read-write connections reached a node in recovery"
            check "$kind" '[ "$f_ro_on_primary" -le 5 ]' "$what: ${f_ro_on_primary} read-only connections reached the primary (more than 5)"
        else
            # Patroni's own log: when the new leader took the key and promoted.
            local promo pm_line
            pm_line=$(grep -h 'promoted self to leader' "$LAB_DIR/logs/node$new.log" 2>/dev/null | tail -n 1 | cut -c1-23)
            promo=-1
            [ -z "$pm_line" ] || promo=$(( $(date -u -d "${pm_line/,/.}" +%s%3N) - t0 ))
            say "$what: Patroni promoted node$new at ${promo} ms; 5000 first answered by it $((f_rw_first_end - promo)) ms later"
            R["$kind.$what"]+="; Patroni promoted node$new at ${promo} ms, first 5000 answer from it $((f_rw_first_end - promo)) ms later"
            check "$kind" '[ "$promo" -ge 0 ] && [ $((f_rw_first_end - promo)) -le 1000 ]' "$what: 5000 first answered by node$new $((f_rw_first_end - promo)) ms after Patroni promoted it (over 1 s)"
        fi
    fi
    if [ "$what" = kill-leader ]; then KILLED_PORT=$(pg_port "$old"); "$LAB" start-node "$old" >/dev/null; fi
    "$LAB" wait-ready 120 || { "$LAB" status; return 1; }
}

phase_kill_patroni() {
    local kind=$1 base=$2 csv="$OUT/$1/kill-patroni.csv" old t0 down pm
    old=$(leader)
    t0=$(( $(now_ms) + 500 + RANDOM % 3000 ))   # random phase, as in phase_failover
    probe_bg "$csv" "$t0" $((KP_S * 1000)) "$base" --hold 5000 5000:100:w 5001:100
    local p=$probe_pid
    sleep_until "$t0"
    "$LAB" kill-patroni > "$OUT/$kind/kill-patroni.out" 2>&1 || true
    wait "$p"
    echo "$t0" > "${csv%.csv}.t0"
    pm=$("$LAB" pg-pid "$old") || pm=""
    down=$(event_after "$t0" "primary/node$old is DOWN")
    eval "$(analyze --csv "$csv" --leader-port "$(pg_port "$old")" --old-port "$(pg_port "$old")" --after-ms $(( down < 0 ? 1000000 : down + 300 )) --prefix k_)"
    say "kill-patroni node$old (t=0: SIGKILL of Patroni): primary/node$old DOWN at ${down} ms, held session cut at ${k_hold_cut} ms (its PostgreSQL still running: ${pm:-NO}); 5000 connections to node$old launched after the DOWN: ${k_rw_to_old_after}; 5000 failed ${k_rw_failed} of ${k_rw_n}"
    events_since "$t0"
    R["$kind.kill-patroni"]="DOWN ${down} ms; held session cut ${k_hold_cut} ms ($( [ "$down" -ge 0 ] && echo "$((k_hold_cut - down))" || echo "?") ms after the DOWN) (PostgreSQL still up: $([ -n "$pm" ] && echo yes || echo no)); 5000 to node$old after DOWN: ${k_rw_to_old_after}"
    check "$kind" '[ "$down" -ge 0 ]' "kill-patroni: primary/node$old never marked DOWN within ${KP_S} s"
    check "$kind" '[ "${k_hold_cut:--1}" -ge 0 ] && [ "$k_hold_cut" -le 20000 ] && [ -n "$pm" ]' "kill-patroni: the session on node$old was not cut by the proxy within 20 s while its PostgreSQL ran"
    check "$kind" '[ "$down" -lt 0 ] || [ "$k_hold_cut" -ge $((down - 200)) ]' "kill-patroni: the session was cut before the DOWN (not by shutdown-sessions)"
    check "$kind" '[ "${k_rw_to_old_after:-1}" = 0 ]' "kill-patroni: 5000 still routed to node$old after its DOWN"
    # Patroni adopts the PostgreSQL it left running.
    "$LAB" start-node "$old" >/dev/null
    "$LAB" wait-ready 120 || { "$LAB" status; return 1; }
}

# Every acknowledged write of every phase must be on the final leader, except, in
# kill-leader, the last ones the SIGKILLed leader acknowledged but had not streamed yet:
# Patroni's default replication is asynchronous, so those are lost whatever the proxy
# does (counted apart as "async").
phase_writes() {
    local kind=$1 l f res acked lost async first killed
    l=$(leader)
    R["$kind.writes"]=""
    for f in startup routing switchover kill-leader kill-patroni etcd-outage restart three-proxies; do
        [ -f "$OUT/$kind/$f.csv" ] || continue
        killed=0; [ "$f" = kill-leader ] && killed=${KILLED_PORT:-0}
        res=$("$VENV/bin/python" "$PROBE" lost --port "$(pg_port "$l")" --killed-port "$killed" --csv "$OUT/$kind/$f.csv")
        read -r acked lost async first <<< "$res"
        say "writes $f: ${acked} acknowledged, ${lost} missing on the final leader node$l$([ "$async" = 0 ] || echo " + $async acknowledged by the killed leader just before its SIGKILL (asynchronous replication)") ${first:+(missing: $first)}"
        R["$kind.writes"]+="$f ${lost}/${acked}$([ "$async" = 0 ] || echo " (+${async} async)"); "
        check "$kind" '[ "$lost" = 0 ]' "writes: $lost acknowledged writes of $f missing on the final leader"
    done
}

# etcd stopped under the probe, started again, then a switchover (watch pass): routing
# must go on on checks alone, the watch resume, the switchover be followed at once.
phase_etcd_outage() {
    local kind=$1 base=$2 csv="$OUT/$1/etcd-outage.csv" l t0 new back
    l=$(leader)
    # Start from a steady proxy: 5000 answered by the leader (bounded).
    local until_ms=$(( $(now_ms) + 20000 ))
    until [ "$(sql 5000 'SELECT inet_server_port()' 2>/dev/null)" = "$(pg_port "$l")" ] || [ "$(now_ms)" -gt "$until_ms" ]; do sleep 0.2; done
    t0=$(( $(now_ms) + 500 ))
    probe_bg "$csv" "$t0" $(( (ETCD_DOWN_S + 30) * 1000 )) "$base" 5000:100:w 5001:100
    local p=$probe_pid
    sleep_until "$t0"
    "$LAB" etcd-stop > "$OUT/$kind/etcd-outage.out" 2>&1 || true
    sleep "$ETCD_DOWN_S"
    "$LAB" etcd-start >> "$OUT/$kind/etcd-outage.out" 2>&1 || true
    back=$(( $(now_ms) - t0 ))
    # Let Patroni settle on the DCS again, then switch over: the proxy must follow it.
    "$LAB" wait-ready 30 >/dev/null 2>&1 || true
    # Patroni (failsafe mode) was seen to take 14-18 s over a switchover asked for
    # right after etcd came back: give it time to settle first.
    sleep 10
    local ts; ts=$(( $(now_ms) - t0 ))
    "$LAB" switchover "node$(( l % 3 + 1 ))" >> "$OUT/$kind/etcd-outage.out" 2>&1 || true
    wait "$p"
    echo "$t0" > "${csv%.csv}.t0"
    new=$(leader) || new=0
    # Routing during the outage: up to the switchover request, on the old leader.
    eval "$(analyze --csv "$csv" --leader-port "$(pg_port "$l")" --prefix o_)"
    local before_bad
    before_bad=$(awk -F, -v ts="$ts" -v good="$(pg_port "$l")|f" '$1 != "hold" && $2 == 5000 && $1 < ts - 200 && $3 != good { n++ } END { print n + 0 }' "$csv")
    # The switchover, measured from its request.
    awk -F, -v ts="$ts" 'BEGIN { OFS = "," } $1 != "hold" && $1 >= ts { $1 -= ts; $4 -= ts; print }' "$csv" > "$OUT/$kind/etcd-outage-switch.csv"
    eval "$(analyze --csv "$OUT/$kind/etcd-outage-switch.csv" --leader-port "$(pg_port "$new")" --prefix f_)"
    local resumed lost
    lost=$(grep -c '\[DCS\] patroni .*: lost ' "$OUT/$kind/events.csv" || true)
    resumed=$(grep -c 'watching .* again, resumed from revision' "$OUT/$kind/events.csv" || true)
    say "etcd-outage: etcd down 0-${back} ms; 5000 before the switchover: ${before_bad} of them not on node$l; DCS lost ${lost}x, watch resumed ${resumed}x; switchover node$l -> node$new at ${ts} ms: 5000 first answered by node$new ${f_rw_first_end} ms after the request, to a node in recovery ${f_rw_in_recovery}, 5001 to the primary ${f_ro_on_primary}"
    events_since "$t0"
    R["$kind.etcd-outage"]="etcd down ${back} ms: 5000 not on the leader meanwhile ${before_bad} (failed 5000 ${o_rw_failed}, 5001 ${o_ro_failed}); watch lost ${lost}x / resumed ${resumed}x; next switchover: new leader first answered ${f_rw_first_end} ms, 5000 to recovery ${f_rw_in_recovery}/${f_rw_n} (failed ${f_rw_failed}), 5001 to primary ${f_ro_on_primary}/${f_ro_n}"
    check "$kind" '[ "$before_bad" = 0 ]' "etcd-outage: ${before_bad} read-write connections missed the leader while etcd was down"
    check "$kind" '[ "$resumed" -ge 1 ]' "etcd-outage: the watch did not resume from its revision"
    # Patroni may take long to elect after an outage (seen: 14 s): what the proxy owes
    # is to follow the new leader key at once, seen by the resumed watch.
    local lk; lk=$(event_after "$((t0 + ts))" "leader key .* -> node$new")
    say "etcd-outage: the resumed watch saw the leader key -> node$new at ${lk} ms after the request; first answer from node$new $((f_rw_first_end - lk)) ms later"
    R["$kind.etcd-outage"]+="; leader key -> node$new seen ${lk} ms after the request, first answer from it $((f_rw_first_end - lk)) ms later"
    check "$kind" '[ "$new" != 0 ] && [ "$new" != "$l" ] && [ "$lk" -ge 0 ] && [ "$f_rw_first_end" -ge 0 ] && [ $((f_rw_first_end - lk)) -le 1000 ]' "etcd-outage: after the outage the new leader node$new was first answered $((f_rw_first_end - lk)) ms after its key was seen (over 1 s)"
    check "$kind" '[ "$f_rw_in_recovery" = 0 ]' "etcd-outage: ${f_rw_in_recovery} read-write connections reached a node in recovery"
    "$LAB" wait-ready 120 || { "$LAB" status; return 1; }
}

# Three haproxide instances with the watch config (one per node in the tutorial's
# layout; here three processes on other ports), a switchover: when each first routes
# read-write to the new leader.
phase_three() {
    local kind=$1 base=$2 csv="$OUT/$1/three-proxies.csv" i old new t0 cfgs=() pids=()
    for i in 1 2 3; do
        sed -e "s/127.0.0.1:5000/127.0.0.1:5${i}00/; s/127.0.0.1:5001/127.0.0.1:5${i}01/; s/127.0.0.1:7000/127.0.0.1:7${i}00/" \
            "$WATCH_CFG" > "$OUT/$kind/three-$i.cfg"
        "$HAPROXIDE_BIN" -db -f "$OUT/$kind/three-$i.cfg" --allow-unsupported > "$OUT/$kind/three-$i.log" 2>&1 </dev/null &
        pids+=("$!"); bg_pids+=("$!")
        stamp_events "$!" "$OUT/$kind/three-$i.log" "$OUT/$kind/three-$i.events.csv"
    done
    local deadline=$(( SECONDS + 20 ))
    for i in 1 2 3; do
        until [ -n "$(PGCONNECT_TIMEOUT=2 psql -X -h 127.0.0.1 -p "5${i}00" -U postgres -d postgres -Atq -c 'SELECT 1' 2>/dev/null)" ]; do
            [ "$SECONDS" -lt "$deadline" ] || { say "three-proxies: instance $i does not route"; break; }
            sleep 0.2
        done
    done
    old=$(leader)
    t0=$(( $(now_ms) + 500 + RANDOM % 3000 ))
    probe_bg "$csv" "$t0" $((SWITCH_S * 1000)) "$base" 5100:50:w 5200:50 5300:50
    local p=$probe_pid
    sleep_until "$t0"
    "$LAB" switchover "node$(( old % 3 + 1 ))" > "$OUT/$kind/three-proxies.out" 2>&1 || true
    wait "$p"
    echo "$t0" > "${csv%.csv}.t0"
    new=$(leader) || new=0
    eval "$("$VENV/bin/python" "$PROBE" first --csv "$csv" --leader-port "$(pg_port "$new")" --ports 5100 5200 5300 --prefix t_)"
    local lo hi
    lo=$(printf '%s\n' "$t_first_5100" "$t_first_5200" "$t_first_5300" | sort -n | head -n 1)
    hi=$(printf '%s\n' "$t_first_5100" "$t_first_5200" "$t_first_5300" | sort -n | tail -n 1)
    eval "$(analyze --csv "$csv" --rw 5100 --leader-port "$(pg_port "$new")" --prefix f_)"
    # When each proxy started routing to the new leader, from its own log: its DCS
    # line if the check was already UP, else its next check UP line (stamped when read,
    # every 50 ms). The probe's first answers add the client's own delays (a loaded
    # machine: a new PostgreSQL connection can take hundreds of ms).
    local r=() rlo rhi
    for i in 1 2 3; do
        r+=("$(awk -F, -v t0="$t0" -v n="node$new" '
            $1 >= t0 && index($0, "[DCS] Server primary/" n " is back in rotation") { if (index($0, "check is UP")) { print $1 - t0; f = 1; exit } w = 1; next }
            w && $1 >= t0 && index($0, "Server primary/" n " is UP") { print $1 - t0; f = 1; exit }
            END { if (!f) print -1 }' "$OUT/$kind/three-$i.events.csv")")
    done
    rlo=$(printf '%s\n' "${r[@]}" | sort -n | head -n 1); rhi=$(printf '%s\n' "${r[@]}" | sort -n | tail -n 1)
    say "three-proxies node$old -> node$new: each proxy routes to node$new from ${r[0]} / ${r[1]} / ${r[2]} ms (its log; spread $((rhi - rlo)) ms); the probe's first answers from node$new ${t_first_5100} / ${t_first_5200} / ${t_first_5300} ms (spread $((hi - lo)) ms); instance 1: to a node in recovery ${f_rw_in_recovery}, failed ${f_rw_failed}"
    R["$kind.three-proxies"]="switchover node$old -> node$new: each proxy routes to the new leader from ${r[0]} / ${r[1]} / ${r[2]} ms (spread $((rhi - rlo)) ms; probe's first answers ${t_first_5100} / ${t_first_5200} / ${t_first_5300} ms, spread $((hi - lo)) ms); 5100 to recovery ${f_rw_in_recovery}/${f_rw_n}"
    check "$kind" '[ "$rlo" -ge 0 ] && [ $((rhi - rlo)) -le 200 ]' "three-proxies: routed to the new leader from ${r[0]} / ${r[1]} / ${r[2]} ms (spread over 200 ms)"
    check "$kind" '[ "$f_rw_in_recovery" = 0 ]' "three-proxies: ${f_rw_in_recovery} read-write connections reached a node in recovery"
    for i in "${pids[@]}"; do kill -TERM "$i" 2>/dev/null || true; done
    for i in "${pids[@]}"; do wait "$i" 2>/dev/null || true; done
    "$LAB" wait-ready 120 || { "$LAB" status; return 1; }
}

run_pass() { # run_pass KIND PASS_INDEX
    local kind=$1 b=$(( $2 * 10000000 )) t=$SECONDS
    mkdir -p "$OUT/$kind"
    : > "$OUT/$kind/events.csv"
    say "=== pass: $kind ==="
    "$LAB" proxy-stop
    phase_startup "$kind" startup $((b + 100000))
    phase_routing "$kind" $((b + 200000))
    phase_failover "$kind" switchover $((b + 300000)) "$SWITCH_S"
    phase_failover "$kind" kill-leader $((b + 400000)) "$KILL_S"
    phase_kill_patroni "$kind" $((b + 500000))
    if [ "$kind" = haproxide-watch ]; then
        phase_etcd_outage "$kind" $((b + 700000))
        phase_three "$kind" $((b + 800000))
    fi
    "$LAB" proxy-stop
    phase_startup "$kind" restart $((b + 600000))
    phase_writes "$kind"
    cp "$LAB_DIR/logs/proxy.log" "$OUT/$kind/proxy.log" 2>/dev/null || true
    "$LAB" proxy-stop
    say "pass $kind: $((SECONDS - t)) s"
}

# ---------------------------------------------------------------- main
declare -A R=() FAILED_RW=()
rm -rf "$OUT"; mkdir -p "$OUT"
t=$SECONDS
"$LAB" install
say "install: $((SECONDS - t)) s"
if [ -z "${HAPROXIDE_BIN:-}" ]; then
    # The binary `cargo test --workspace` already built (debug); build it if missing.
    HAPROXIDE_BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/haproxide"
    [ -x "$HAPROXIDE_BIN" ] || (cd "$REPO" && cargo build -q -p haproxide)
fi
export HAPROXIDE_BIN
for k in "${KINDS[@]}"; do
    case "$k" in
        haproxide|haproxide-watch) [ -x "$HAPROXIDE_BIN" ] || { say "no haproxide binary at $HAPROXIDE_BIN"; exit 1; } ;;
        haproxy) [ -x /usr/sbin/haproxy ] || { say "no /usr/sbin/haproxy (scripts/install-deps installs it)"; exit 1; } ;;
        *) say "unknown proxy kind: $k"; exit 2 ;;
    esac
done
"$LAB" down >/dev/null 2>&1 || true
t=$SECONDS
"$LAB" up >/dev/null
say "cluster up in $((SECONDS - t)) s"
sql "$(pg_port "$(leader)")" "CREATE TABLE e2e_writes (seq bigint PRIMARY KEY, port int, at timestamptz DEFAULT now())"
"$LAB" wait-ready 60

i=0
for k in "${KINDS[@]}"; do run_pass "$k" "$i"; i=$((i + 1)); done

{
    echo "=== Patroni e2e ($(git -C "$REPO" describe --always --dirty 2>/dev/null), $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $SECONDS s) ==="
    for k in "${KINDS[@]}"; do
        echo "[$k]"
        for ph in startup routing switchover kill-leader kill-patroni etcd-outage three-proxies restart writes; do
            if [ -z "${R[$k.$ph]:-}" ] && [ "$k" != haproxide-watch ] && { [ "$ph" = etcd-outage ] || [ "$ph" = three-proxies ]; }; then continue; fi
            printf '  %-13s %s\n' "$ph" "${R[$k.$ph]:-not run}"
        done
    done
} | tee "$OUT/summary.txt"
# Issue 16: with the watch, no more failed read-write connections in a switchover than HAProxy.
if [ -n "${FAILED_RW[haproxide-watch.switchover]:-}" ] && [ -n "${FAILED_RW[haproxy.switchover]:-}" ]; then
    say "switchover: failed read-write connections: haproxide-watch ${FAILED_RW[haproxide-watch.switchover]}, HAProxy ${FAILED_RW[haproxy.switchover]}"
    check haproxide-watch '[ "${FAILED_RW[haproxide-watch.switchover]}" -le "${FAILED_RW[haproxy.switchover]}" ]' "switchover: more failed read-write connections than HAProxy"
fi
if [ ${#failures[@]} -gt 0 ]; then
    say "FAILED (${#failures[@]}):"; printf '  %s\n' "${failures[@]}"
    exit 1
fi
say "PASS"
