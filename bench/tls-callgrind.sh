#!/usr/bin/env bash
# User-space instructions per TLS handshake, HAProxy 2.6 vs haproxide, under callgrind
# (issue 15): a count the machine's load does not change, unlike the CPU time of
# bench/tls-vs-haproxy.sh. Each proxy runs under `valgrind --tool=callgrind`
# (nbthread 1, the same config and certificates as tls-vs-haproxy.sh) in front of the
# tlsload echo backend; after WARM seconds of handshakes the counters are zeroed
# (callgrind_control -z), tlsload runs T seconds more, the counters are dumped, and the
# instructions (Ir) are divided by the handshakes tlsload counted. Kernel work
# (syscalls, TCP) is not in the count.
#
# Usage: bench/tls-callgrind.sh [full-ec|full-rsa|resumed ...]   (default: all three)
# Env:   HAPROXY, HAPROXIDE, TLSLOAD as in tls-vs-haproxy.sh (release builds expected),
#        T=20 (seconds measured), WARM=5, CONNS=4, WHO="haproxy haproxide",
#        TOP=0 (print the TOP costliest functions, inclusive, per proxy and test),
#        KEEP=<dir> (keep the callgrind files there, for callgrind_annotate)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
HAPROXIDE=${HAPROXIDE:-$TARGET/release/haproxide}
LOAD=${TLSLOAD:-$TARGET/release/examples/tlsload}
T=${T:-20} WARM=${WARM:-5} CONNS=${CONNS:-4} WHO=${WHO:-haproxy haproxide} TOP=${TOP:-0}
TESTS=${*:-full-ec full-rsa resumed}
for b in "$HAPROXY" "$HAPROXIDE" "$LOAD" valgrind callgrind_control callgrind_annotate; do
    command -v "$b" >/dev/null || { echo "missing: $b" >&2; exit 2; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/haproxide-tlscg.XXXXXX")
PIDS=()
cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
ECHO=$(port) PEC=$(port) PRSA=$(port)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
tls_bench_files "$TMP" 1 "$ECHO" "$PEC" "$PRSA" 30s 5s
"$LOAD" echo "$ECHO" & PIDS+=($!)

echo "# $(date -u +%FT%TZ) $0 $TESTS (T=$T WARM=$WARM CONNS=$CONNS) at $(cd "$ROOT" && git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| proxy | test | handshakes | instructions per handshake |"
echo "|---|---|---|---|"
for test in $TESTS; do
    target=$(tls_target "$test") || exit 2
    read -r addr extra <<<"$target"
    for who in $WHO; do
        out=$TMP/cg.$who.$test
        if [ "$who" = haproxy ]; then args=("$HAPROXY" -db -f "$TMP/tls.cfg"); else args=("$HAPROXIDE" -f "$TMP/tls.cfg"); fi
        valgrind --tool=callgrind --callgrind-out-file="$out.%p" "${args[@]}" >/dev/null 2>"$TMP/vg.$who" & pid=$!
        PIDS+=($pid)
        for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/$PEC) 2>/dev/null && break; sleep 0.1; done
        "$LOAD" hs "$addr" "$WARM" "$CONNS" $extra >/dev/null
        callgrind_control -z "$pid" >/dev/null
        res=$("$LOAD" hs "$addr" "$T" "$CONNS" $extra)
        callgrind_control -d "$pid" >/dev/null
        sleep 1
        kill "$pid"; wait "$pid" 2>/dev/null || true
        # The dump after -z holds only the measured window (the highest-numbered part).
        f=$(ls -v "$out.$pid".* 2>/dev/null | tail -1)
        ir=$(awk '/^summary:/{print $2}' "$f")
        n=$(sed -n 's/.*handshakes=\([0-9]*\).*/\1/p' <<< "$res")
        echo "| $who | $test | $n | $(( ir / (n > 0 ? n : 1) )) |"
        if [ "$TOP" -gt 0 ]; then
            callgrind_annotate --inclusive=yes "$f" 2>/dev/null | sed -n "/^Ir/,\$p" | sed -n "3,$((TOP + 2))p" >&2
        fi
        if [ -n "${KEEP:-}" ]; then cp "$f" "$KEEP/callgrind.$who.$test"; fi
        rm -f "$out".*
    done
done
