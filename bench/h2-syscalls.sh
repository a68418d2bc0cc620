#!/usr/bin/env bash
# System calls per HTTP/2 request, HAProxy 2.6 vs haproxide (issue 15): each proxy runs
# with h2-callgrind.sh's h2c configuration (nbthread 2, option httplog to a UDP sink,
# one nginx origin); after a warm-up (h2load -n 2000), `strace -c -f -p PID` is
# attached while `h2load -n N -c C -m M` runs over the clear `proto h2` bind, and each
# system call's count is divided by N. strace slows both proxies alike; the counts per
# request are what matters, not the rate (CPU per request counts kernel time, and what
# a proxy batches into one write or one epoll_wait shows here). Then, without strace's
# slowdown (which lets more streams gather per read and write), a second run under
# `perf stat -e raw_syscalls:sys_enter,context-switches -p PID` (when perf can read the
# tracepoint) gives the total system calls and context switches per request.
#
# Usage: bench/h2-syscalls.sh
# Env:   HAPROXY, HAPROXIDE (default: the release build), N=20000, C=20, M=10,
#        WHO="haproxy haproxide"
set -euo pipefail
N=${N:-20000} C=${C:-20} M=${M:-10} WHO=${WHO:-haproxy haproxide}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need h2load strace python3
bench_binary 0
bench_tmp h2sys
read -r P_ORIGIN P_LOG P_C <<<"$(free_ports 3)"
start_origin "$P_ORIGIN"
start_log_sink "$P_LOG"
h2_bench_cfg "$TMP/proxy.cfg" "$P_LOG" "$P_ORIGIN" "bind 127.0.0.1:$P_C proto h2"

echo "# h2load -n $N -c $C -m $M (h2c), strace -c -f, load $(loadavg); haproxide $(cd "$ROOT" && git rev-parse --short HEAD)"
for who in $WHO; do
    if [ "$who" = haproxy ]; then prog=$HAPROXY; else prog=$HAPROXIDE; fi
    url="http://127.0.0.1:$P_C/small"
    start_h2_proxy "$prog" "$P_C" "$url"
    pid=$PROXY_PID
    res=$(strace_during "$pid" "$TMP/strace.$who" timeout 300 h2load -n "$N" -c "$C" -m "$M" "$url" 2>&1)
    stop_pid "$pid"
    ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$res")
    [ "${ok:-0}" = "$N" ] || { echo "h2load through $who failed: $res" >&2; exit 1; }
    strace_per "$TMP/strace.$who" "$N" "$who" request
    start_h2_proxy "$prog" "$P_C" "$url"
    pid=$PROXY_PID
    perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$pid" -o "$TMP/perf.$who" 2>/dev/null &
    ppid=$!
    sleep 1
    timeout 300 h2load -n "$N" -c "$C" -m "$M" "$url" >/dev/null 2>&1 || true
    sleep 0.5
    kill -INT "$ppid" 2>/dev/null || true
    wait "$ppid" 2>/dev/null || true
    stop_pid "$pid"
    python3 - "$TMP/perf.$who" "$N" "$who" <<'PY'
import sys
path, n, who = sys.argv[1], int(sys.argv[2]), sys.argv[3]
got = {}
for line in open(path):
    f = line.strip().split(",")
    if len(f) > 2 and f[0].isdigit():
        got[f[2]] = int(f[0])
if got:
    print(f"{who} (perf stat, no strace): " + ", ".join(f"{k} {v / n:.2f}" for k, v in got.items()) + " per request")
PY
done
