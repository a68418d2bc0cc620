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
    res=$(strace_during "$pid" "$TMP/strace.$who" timeout $((T + 30)) wrk -t1 -c "$C" -d "${T}s" "${hdr[@]}" "$url" 2>&1)
    stop_pid "$pid"
    n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$res")
    [ "${n:-0}" -gt 0 ] || { echo "wrk through $who failed: $res" >&2; exit 1; }
    strace_per "$TMP/strace.$who" "$n" "$who" request
done
