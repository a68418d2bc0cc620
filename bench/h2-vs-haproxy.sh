#!/usr/bin/env bash
# Benchmark: HTTP/2 clients through the proxy to an HTTP/1.1 nginx origin, HAProxy 2.6 vs
# haproxide, interleaved, on 127.0.0.1 (issue 15, "h2 requests per second (h2load)"):
#   h2c   h2load over a clear `proto h2` bind (prior knowledge), small responses
#   h2tls h2load over `ssl crt ... alpn h2,http/1.1` (ECDSA P-256), small responses
# h2load: C connections, M concurrent streams each, N requests in total. Reported per
# proxy: requests/s (h2load's), CPU per request (utime+stime of the proxy over the run),
# and the ratio haproxide / HAProxy; medians of ROUNDS rounds, the order alternating.
# Both proxies run the same config: mode http, option httplog to a UDP sink, nbthread 2.
#
# Usage: bench/h2-vs-haproxy.sh [-r ROUNDS] [--no-build]
# Env:   HAPROXY (default /usr/sbin/haproxy), HAPROXIDE (skip the build, use this binary),
#        N=100000 requests per run, C=20 connections, M=10 streams per connection,
#        SKIP="h2c h2tls"
# Needs: h2load (nghttp2-client), nginx, openssl, python3 (scripts/install-deps).
set -euo pipefail

ROUNDS=3 BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        -r) ROUNDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
N=${N:-100000} C=${C:-20} M=${M:-10} SKIP=${SKIP:-}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need h2load openssl python3
bench_binary "$BUILD"
bench_tmp h2bench
read -r P_ORIGIN P_LOG P_C P_T <<<"$(free_ports 4)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/k.pem" \
    -out "$TMP/c.pem" -subj /CN=localhost -days 2 2>/dev/null
cat "$TMP/c.pem" "$TMP/k.pem" >"$TMP/srv.pem"

start_origin "$P_ORIGIN"
start_log_sink "$P_LOG"

h2_bench_cfg "$TMP/proxy.cfg" "$P_LOG" "$P_ORIGIN" "bind 127.0.0.1:$P_C proto h2" \
    "bind 127.0.0.1:$P_T ssl crt $TMP/srv.pem alpn h2,http/1.1"

run_one() { # PROG TEST -> "rps cpu_us_per_req"
    local prog=$1 test=$2 pid url out ticks0 ticks1 rps ok
    "$prog" -db -f "$TMP/proxy.cfg" >"$TMP/proxy.log" 2>&1 &
    pid=$!
    wait_port "$P_C" 10
    wait_port "$P_T" 10
    if [ "$test" = h2c ]; then url="http://127.0.0.1:$P_C/small"; else url="https://127.0.0.1:$P_T/small"; fi
    # Warm-up, then the measured run.
    h2load -n 2000 -c "$C" -m "$M" "$url" >/dev/null 2>&1 || true
    ticks0=$(cpu_ticks $pid)
    out=$(timeout 300 h2load -n "$N" -c "$C" -m "$M" "$url" 2>&1 || true)
    ticks1=$(cpu_ticks $pid)
    kill $pid; wait $pid 2>/dev/null || true
    rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
    ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
    if [ -z "$rps" ] || [ "${ok:-0}" != "$N" ]; then
        echo "h2load through $prog ($test) failed: $out" >&2
        echo "0 0"; return
    fi
    python3 -c "print('%.0f %.1f' % ($rps, ($ticks1 - $ticks0) * 1e6 / $CLK_TCK / $N))"
}

median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

echo "# h2load -n $N -c $C -m $M, $ROUNDS rounds, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-10s %12s %14s\n' test proxy "req/s" "CPU us/req"
for test in h2c h2tls; do
    [[ " $SKIP " == *" $test "* ]] && continue
    H_R=() H_C=() X_R=() X_C=()
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then order="haproxy haproxide"; else order="haproxide haproxy"; fi
        for who in $order; do
            if [ $who = haproxy ]; then read -r a b <<<"$(run_one "$HAPROXY" $test)"; H_R+=("$a"); H_C+=("$b")
            else read -r a b <<<"$(run_one "$HAPROXIDE" $test)"; X_R+=("$a"); X_C+=("$b"); fi
        done
    done
    hr=$(median "${H_R[@]}") hc=$(median "${H_C[@]}") xr=$(median "${X_R[@]}") xc=$(median "${X_C[@]}")
    printf '%-6s %-10s %12.0f %14.1f\n' $test haproxy "$hr" "$hc"
    printf '%-6s %-10s %12.0f %14.1f\n' $test haproxide "$xr" "$xc"
    python3 -c "print('%-6s ratio      %12.2fx %13.2fx   (rounds: haproxy %s, haproxide %s)' % ('$test', $xr / max($hr, 1), $xc / max($hc, 0.001), '${H_R[*]}', '${X_R[*]}'))"
done
echo "# load average at the end: $(loadavg); haproxide $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo ?)"
