#!/usr/bin/env bash
# System calls per full TLS handshake, HAProxy 2.6 vs haproxide (issue 15): each proxy
# runs tls-callgrind.sh's configuration (nbthread 1, TCP mode, one `bind ... ssl crt`
# per certificate type, the tlsload echo backend); after a 2 s warm-up,
# `strace -c -f -p PID` is attached while `tlsload hs` (a new connection per handshake,
# 1 byte echoed, close) runs for T seconds, and each system call's count is divided by
# the handshakes tlsload completed. The kernel time behind these calls is in the CPU per
# handshake bench/tls-vs-haproxy.sh measures (utime+stime) but not in callgrind's count.
# strace slows both proxies alike; the counts per handshake are what matters.
#
# Usage: bench/tls-syscalls.sh [full-ec|full-rsa|resumed ...]   (default: full-ec full-rsa)
# Env:   HAPROXY, HAPROXIDE, TLSLOAD (release builds), T=5, CONNS=4,
#        WHO="haproxy haproxide"
set -euo pipefail
T=${T:-5} CONNS=${CONNS:-4} WHO=${WHO:-haproxy haproxide}
TESTS=${*:-full-ec full-rsa}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need strace python3 openssl
bench_binary 0
LOAD=${TLSLOAD:-${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/tlsload}
[ -x "$LOAD" ] || { echo "missing: $LOAD (cargo build --release -p haproxide-tls --example tlsload)" >&2; exit 2; }
bench_tmp tlssys
read -r ECHO PEC PRSA <<<"$(free_ports 3)"
tls_bench_files "$TMP" 1 "$ECHO" "$PEC" "$PRSA" 30s 5s
"$LOAD" echo "$ECHO" &
PIDS+=($!)
echo "# tlsload hs, CONNS=$CONNS, T=${T}s, strace -c -f, load $(loadavg); haproxide $(cd "$ROOT" && git rev-parse --short HEAD)"
for test in $TESTS; do
    target=$(tls_target "$test") || exit 2
    read -r addr extra <<<"$target"
    for who in $WHO; do
        if [ "$who" = haproxy ]; then prog=$HAPROXY; else prog=$HAPROXIDE; fi
        "$prog" -db -f "$TMP/tls.cfg" >"$TMP/$who.log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        wait_port "$PEC" 30
        "$LOAD" hs "$addr" 2 "$CONNS" $extra >/dev/null
        res=$(strace_during "$pid" "$TMP/strace.$who.$test" timeout $((T + 30)) "$LOAD" hs "$addr" "$T" "$CONNS" $extra)
        stop_pid "$pid"
        n=$(sed -n 's/.*handshakes=\([0-9]*\).*/\1/p' <<<"$res")
        [ "${n:-0}" -gt 0 ] || { echo "tlsload through $who failed: $res" >&2; exit 1; }
        strace_per "$TMP/strace.$who.$test" "$n" "$who $test" handshake
    done
done
