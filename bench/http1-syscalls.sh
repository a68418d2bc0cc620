#!/usr/bin/env bash
# System calls per HTTP/1 request, HAProxy 2.6 vs haproxide (issue 14): each proxy runs
# with http1-callgrind.sh's configuration (nbthread 2, option httplog to a UDP sink,
# option forwardfor, 3 header rules, one nginx origin); after a 2 s warm-up,
# `strace -c -f -p PID` is attached while wrk -t1 -c C runs for T seconds, and each
# system call's count is divided by the requests wrk completed. With CLOSE=1 (the
# default) wrk sends `Connection: close`: one request per connection, so the figures
# are per connection too. strace slows both proxies alike; the counts per request are
# what matters, not the rate.
#
# Usage: bench/http1-syscalls.sh
# Env:   HAPROXY, HAPROXIDE (default: the release build), C=20, T=5, CLOSE=1,
#        WHO="haproxy haproxide"
set -euo pipefail
C=${C:-20} T=${T:-5} CLOSE=${CLOSE:-1} WHO=${WHO:-haproxy haproxide}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need wrk strace python3
bench_binary 0
bench_tmp h1sys
read -r P_ORIGIN P_LOG P_C <<<"$(free_ports 3)"
start_origin "$P_ORIGIN"
start_log_sink "$P_LOG"
http1_bench_cfg "$TMP/proxy.cfg" "$P_LOG" "$P_C" "$P_ORIGIN"
hdr=()
[ "$CLOSE" = 1 ] && hdr=(-H "Connection: close")
echo "# wrk -t1 -c $C -d ${T}s ${hdr[*]:-}, strace -c -f, load $(loadavg); haproxide $(cd "$ROOT" && git rev-parse --short HEAD)"
for who in $WHO; do
    if [ "$who" = haproxy ]; then prog=$HAPROXY; else prog=$HAPROXIDE; fi
    "$prog" -db -f "$TMP/proxy.cfg" >"$TMP/$who.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_port "$P_C" 30
    url="http://127.0.0.1:$P_C/small"
    wrk -t1 -c "$C" -d 2s "${hdr[@]}" "$url" >/dev/null 2>&1 || true
    strace -c -f -p "$pid" -o "$TMP/strace.$who" &
    spid=$!
    sleep 1
    res=$(timeout $((T + 30)) wrk -t1 -c "$C" -d "${T}s" "${hdr[@]}" "$url" 2>&1 || true)
    sleep 0.5
    kill -INT "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    stop_pid "$pid"
    n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$res")
    [ "${n:-0}" -gt 0 ] || { echo "wrk through $who failed: $res" >&2; exit 1; }
    python3 - "$TMP/strace.$who" "$n" "$who" <<'PY'
import sys
path, n, who = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = []
for line in open(path):
    f = line.split()
    # % time, seconds, usecs/call, calls, [errors], syscall
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        rows.append((int(f[3]), f[-1]))
total = sum(c for c, _ in rows)
rows.sort(reverse=True)
print(f"{who}: {total / n:.2f} syscalls per request over {n} requests")
print("  " + ", ".join(f"{name} {c / n:.2f}" for c, name in rows if c / n >= 0.005))
PY
done
