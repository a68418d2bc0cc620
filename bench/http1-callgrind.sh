#!/usr/bin/env bash
# User-space instructions and malloc calls per keep-alive HTTP/1 request, HAProxy 2.6 vs
# haproxide, under callgrind (issue 14): counts the machine's load does not change, unlike
# the CPU time of bench/http-vs-haproxy.sh. Each proxy runs under `valgrind
# --tool=callgrind --instr-atstart=no` with http-vs-haproxy.sh's configuration (nbthread
# 2, option httplog to a UDP sink, option forwardfor, 3 header rules, one nginx origin);
# after a warm-up (h2load --h1 -n 2000) instrumentation is switched on, h2load --h1 -n N
# -c C runs (keep-alive HTTP/1.1, one request at a time per connection), the counters are
# dumped, and the instructions (Ir) and the calls to glibc's malloc are divided by N.
# Kernel work is not counted. A haproxide built with jemalloc shows 0 malloc calls.
#
# CLOSE=1 measures one request per connection instead (`Connection: close`, what
# http-vs-haproxy.sh's "close" test sends): wrk drives it for T seconds after a 3 s
# warm-up, and the counts are divided by the requests wrk completed (the few it
# abandons at its end make the figures ~0.1 % high, for both proxies alike).
#
# Usage: bench/http1-callgrind.sh
# Env:   HAPROXY, HAPROXIDE (default: the release build), N=10000, C=20, CLOSE=1, T=20,
#        WHO="haproxy haproxide", KEEP=<dir> (keep the callgrind files, for
#        callgrind_annotate)
set -euo pipefail
N=${N:-10000} C=${C:-20} M=1 WHO=${WHO:-haproxy haproxide} CLOSE=${CLOSE:-0} T=${T:-20}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need h2load wrk valgrind callgrind_control python3
bench_binary 0
bench_tmp h1cg
read -r P_ORIGIN P_LOG P_C <<<"$(free_ports 3)"
start_origin "$P_ORIGIN"
start_log_sink "$P_LOG"
http1_bench_cfg "$TMP/proxy.cfg" "$P_LOG" "$P_C" "$P_ORIGIN"

if [ "$CLOSE" = 1 ]; then
    what="wrk -c $C -d ${T}s -H 'Connection: close' (one request per connection)"
else
    what="h2load --h1 -n $N -c $C (HTTP/1.1 keep-alive)"
fi
echo "# $what, callgrind, load $(loadavg); haproxide $(cd "$ROOT" && git rev-parse --short HEAD)"
printf '%-10s %12s %10s %8s\n' proxy "Ir/req" "malloc/req" requests
for who in $WHO; do
    if [ "$who" = haproxy ]; then prog=$HAPROXY; else prog=$HAPROXIDE; fi
    out="$TMP/cg.$who"
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
        "$prog" -db -f "$TMP/proxy.cfg" >"$TMP/$who.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_port "$P_C" 60
    url="http://127.0.0.1:$P_C/small"
    if [ "$CLOSE" = 1 ]; then
        wrk -t1 -c "$C" -d 3s -H "Connection: close" "$url" >/dev/null 2>&1 || true
        callgrind_control -i on "$pid" >/dev/null 2>&1
        res=$(timeout $((T + 60)) wrk -t1 -c "$C" -d "${T}s" -H "Connection: close" "$url" 2>&1 || true)
        n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$res")
        bad=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' <<<"$res")
        [ "${n:-0}" -gt 0 ] && [ -z "$bad" ] || { echo "wrk through $who failed: $res" >&2; exit 1; }
    else
        h2load --h1 -n 2000 -c "$C" -m "$M" "$url" >/dev/null 2>&1 || true
        callgrind_control -i on "$pid" >/dev/null 2>&1
        res=$(timeout 600 h2load --h1 -n "$N" -c "$C" -m "$M" "$url" 2>&1 || true)
        n=$N
        ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$res")
        [ "${ok:-0}" = "$N" ] || { echo "h2load through $who failed: $res" >&2; exit 1; }
    fi
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    dump=$(ls -t "$out".* | head -1)
    read -r ir mallocs <<<"$(callgrind_count "$dump")"
    printf '%-10s %12d %10.1f %8d\n' "$who" $((ir / n)) "$(python3 -c "print($mallocs / $n)")" "$n"
    if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$dump" "$KEEP/$who.callgrind"; fi
    rm -f "$out" "$out".*
done
