#!/usr/bin/env bash
# User-space instructions and malloc calls per HTTP/2 request, HAProxy 2.6 vs haproxide,
# under callgrind (issue 15): counts the machine's load does not change, unlike the CPU
# time of bench/h2-vs-haproxy.sh. Each proxy runs under `valgrind --tool=callgrind
# --instr-atstart=no` with h2-vs-haproxy.sh's h2c config (nbthread 2, option httplog to
# a UDP sink, one nginx origin); after a warm-up (h2load -n 2000) instrumentation is
# switched on, h2load -n N -c C -m M runs, the counters are dumped, and the instructions
# (Ir) and the calls to glibc's malloc are divided by N. Kernel work is not counted.
#
# With TLS=1 h2load goes over a TLS bind (ECDSA P-256, `alpn h2,http/1.1`, as
# h2-vs-haproxy.sh's h2tls test): the counted run opens its C connections anew, so
# its C handshakes are in the count (20 over 10,000 requests).
#
# Usage: bench/h2-callgrind.sh
# Env:   HAPROXY, HAPROXIDE (default: the release build), N=10000, C=20, M=10,
#        TLS=0, WHO="haproxy haproxide", KEEP=<dir> (keep the callgrind files,
#        for callgrind_annotate), CGOPTS (more valgrind options, e.g. --dump-instr=yes
#        for bench/atomics-per-request.py)
set -euo pipefail
N=${N:-10000} C=${C:-20} M=${M:-10} TLS=${TLS:-0} WHO=${WHO:-haproxy haproxide}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need h2load valgrind callgrind_control python3
bench_binary 0
bench_tmp h2cg
read -r P_ORIGIN P_LOG P_C <<<"$(free_ports 3)"
start_origin "$P_ORIGIN"
start_log_sink "$P_LOG"
bind="bind 127.0.0.1:$P_C proto h2"
url="http://127.0.0.1:$P_C/small"
test=h2c
if [ "$TLS" = 1 ]; then
    bench_need openssl
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/k.pem" \
        -out "$TMP/c.pem" -subj /CN=localhost -days 2 2>/dev/null
    cat "$TMP/c.pem" "$TMP/k.pem" >"$TMP/srv.pem"
    bind="bind 127.0.0.1:$P_C ssl crt $TMP/srv.pem alpn h2,http/1.1"
    url="https://127.0.0.1:$P_C/small"
    test=h2tls
fi
h2_bench_cfg "$TMP/proxy.cfg" "$P_LOG" "$P_ORIGIN" "$bind"

echo "# h2load -n $N -c $C -m $M ($test), callgrind, load $(loadavg); haproxide $(cd "$ROOT" && git rev-parse --short HEAD)"
printf '%-10s %12s %10s\n' proxy "Ir/req" "malloc/req"
for who in $WHO; do
    if [ "$who" = haproxy ]; then prog=$HAPROXY; else prog=$HAPROXIDE; fi
    out="$TMP/cg.$who"
    # shellcheck disable=SC2086 # CGOPTS: several options
    valgrind --tool=callgrind --instr-atstart=no ${CGOPTS:-} --callgrind-out-file="$out" \
        "$prog" -db -f "$TMP/proxy.cfg" >"$TMP/$who.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_port "$P_C" 60
    h2load -n 2000 -c "$C" -m "$M" "$url" >/dev/null 2>&1 || true
    callgrind_control -i on "$pid" >/dev/null 2>&1
    res=$(timeout 600 h2load -n "$N" -c "$C" -m "$M" "$url" 2>&1 || true)
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$res")
    [ "${ok:-0}" = "$N" ] || { echo "h2load through $who failed: $res" >&2; exit 1; }
    dump=$(ls -t "$out".* | head -1)
    read -r ir mallocs <<<"$(callgrind_count "$dump")"
    printf '%-10s %12d %10.1f\n' "$who" $((ir / N)) "$(python3 -c "print($mallocs / $N)")"
    if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$dump" "$KEEP/$who.callgrind"; fi
    rm -f "$out" "$out".*
done
