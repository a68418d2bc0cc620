#!/usr/bin/env bash
# Wake-ups per HTTP/2 request of every process in the h2c bench, HAProxy 2.6 vs haproxide
# (issue 15): each proxy runs h2-vs-haproxy.sh's h2c configuration (nbthread 2, option
# httplog to a UDP sink, one nginx origin with 2 workers); after a warm-up (h2load -n 2000),
# `perf stat` counts, while `h2load -n N -c C -m M` runs over the clear `proto h2` bind,
# the context switches, system calls and epoll_wait calls of: the proxy, the nginx workers,
# the log sink, and h2load itself. Each count is divided by N. A process that sleeps in
# epoll_wait once per request where it could for several shows here; so does a proxy that
# makes its peers do so (as the HTTP/1 analysis of docs/performance.md, "Session 16").
# The proxy's user and system CPU per request (from /proc) split where its time goes.
# Each proxy runs ROUNDS times, in turn.
#
# Usage: bench/h2-wakeups.sh
# Env:   HAPROXY, HAPROXIDE (default: the release build), N=50000, C=20, M=10, ROUNDS=2,
#        WHO="haproxy haproxide", URLPATH=/small, PERF=0 (no perf stat: its tracepoints
#        slow every process; only the rates and the proxy's user and system CPU)
set -euo pipefail
N=${N:-50000} C=${C:-20} M=${M:-10} ROUNDS=${ROUNDS:-2} WHO=${WHO:-haproxy haproxide} PERF=${PERF:-1}
URLPATH=${URLPATH:-/small}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need h2load perf python3
bench_binary 0
bench_tmp h2wake
read -r P_ORIGIN P_LOG P_C <<<"$(free_ports 3)"
start_origin "$P_ORIGIN"
nginx_master=${PIDS[-1]}
start_log_sink "$P_LOG"
sink=${PIDS[-1]}
h2_bench_cfg "$TMP/proxy.cfg" "$P_LOG" "$P_ORIGIN" "bind 127.0.0.1:$P_C proto h2"
# The nginx workers (the master forks them after its listening socket is up).
workers=""
for _ in $(seq 50); do
    workers=$(pgrep -d, -P "$nginx_master" || true)
    [ -n "$workers" ] && break
    sleep 0.1
done
[ -n "$workers" ] || { echo "no nginx workers" >&2; exit 1; }
EV=context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait,task-clock

# Voluntary and involuntary context switches of every thread of a process.
ctxt() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v + 0, n + 0}'; }

per_request() { # FILE N LABEL
    python3 - "$@" <<'PY'
import sys
path, n, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
got = {}
for line in open(path):
    f = line.strip().split(",")
    if len(f) > 2:
        try:
            got[f[2]] = float(f[0])
        except ValueError:
            pass
short = {"context-switches": "cs", "raw_syscalls:sys_enter": "syscalls",
         "syscalls:sys_enter_epoll_wait": "epoll_wait", "task-clock": "cpu_us"}
out = []
for k, v in got.items():
    name = short.get(k, k)
    # task-clock is in ms.
    per = v * 1000 / n if name == "cpu_us" else v / n
    out.append(f"{name} {per:.2f}")
print(f"  {label:<8} " + "  ".join(out))
PY
}

echo "# h2load -n $N -c $C -m $M $URLPATH (h2c), per request, load $(loadavg); haproxide $(cd "$ROOT" && git rev-parse --short HEAD)"
for round in $(seq "$ROUNDS"); do
    for who in $WHO; do
        if [ "$who" = haproxy ]; then prog=$HAPROXY; else prog=$HAPROXIDE; fi
        url="http://127.0.0.1:$P_C$URLPATH"
        start_h2_proxy "$prog" "$P_C" "$url"
        pid=$PROXY_PID
        perfs=() pre=()
        if [ "$PERF" = 1 ]; then
            for t in proxy:"$pid" nginx:"$workers" sink:"$sink"; do
                perf stat -x, -e "$EV" -p "${t#*:}" -o "$TMP/perf.${t%%:*}" 2>/dev/null &
                perfs+=($!)
            done
            pre=(perf stat -x, -e "$EV" -o "$TMP/perf.h2load" --)
        fi
        sleep 0.5
        read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
        read -r v0 n0 < <(ctxt "$pid")
        res=$("${pre[@]}" timeout 300 h2load -n "$N" -c "$C" -m "$M" "$url" 2>&1 || true)
        read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
        read -r v1 n1 < <(ctxt "$pid")
        for p in "${perfs[@]}"; do kill -INT "$p" 2>/dev/null || true; done
        for p in "${perfs[@]}"; do wait "$p" 2>/dev/null || true; done
        stop_pid "$pid"
        ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$res")
        [ "${ok:-0}" = "$N" ] || { echo "h2load through $who failed: $res" >&2; exit 1; }
        rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$res")
        echo "$who round $round: $rps req/s; proxy user $(((u1 - u0) * 1000000 / CLK_TCK * 100 / N))e-2 us, system $(((s1 - s0) * 1000000 / CLK_TCK * 100 / N))e-2 us per request; context switches $(((v1 - v0) * 1000 / N))e-3 voluntary, $(((n1 - n0) * 1000 / N))e-3 involuntary per request"
        if [ "$PERF" = 1 ]; then
            for t in proxy nginx sink h2load; do per_request "$TMP/perf.$t" "$N" "$t"; done
        fi
    done
done
