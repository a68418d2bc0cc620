#!/usr/bin/env bash
# Benchmark: TLS termination in TCP mode (issue 15), HAProxy 2.6 (OpenSSL 3.0) vs
# haproxide (rustls, aws-lc-rs), interleaved, on 127.0.0.1, in front of one echo backend:
#   full-ec   new TLS connection per request, ECDSA P-256 certificate (full handshakes/s)
#   full-rsa  the same with an RSA-2048 certificate
#   resumed   new connection per request, TLS 1.3 session resumption (tickets), ECDSA
#   bulk      TLS bulk MB/s (16 kB writes, echoed), ECDSA
#   idle      RSS per idle TLS connection (IDLE_CONNS connections after one exchange each)
# For each: the rate, and the proxy's CPU per handshake (us, utime+stime from /proc)
# or per MB. Both proxies run the same config (nbthread 2, default TLS settings:
# TLS 1.2-1.3, tickets on). One client for both: crates/haproxide-tls/examples/tlsload.rs
# (rustls, no certificate verification, so the proxy limits the rate).
# Medians of ROUNDS rounds; the order of the two proxies alternates every round.
# Also per run: the echo backend's CPU and the machine's idle CPU (/proc/stat), as %
# of one core: proxy + client + echo + idle near 100 x nproc says where the cores went.
#
# PIN=1: the proxy runs on CPU 0 only (taskset, `nbthread 1`), the client and the
# echo backend on the other CPUs. On a 2-vCPU machine, unpinned, the client takes
# 40-60 % of the cores the proxy would use, so the rate measures proxy + client
# together and a cheaper proxy gains less than its CPU ratio; pinned, each proxy has
# one whole core and the rate is what that core sustains (the client keeps up: it
# needs ~150 us per handshake on its own core). Same pinning for both proxies.
#
# Usage: bench/tls-vs-haproxy.sh [-r ROUNDS] [--no-build]
# Env:   HAPROXY (default /usr/sbin/haproxy), HAPROXIDE (skip the build), TLSLOAD (the
#        load generator, default the example's release build), T=5 (seconds
#        per run), CONNS=16 (concurrent client connections), IDLE_CONNS=1000,
#        SKIP="full-ec full-rsa resumed bulk idle", PIN=0|1, NBTHREAD (default 2, 1
#        with PIN=1)
set -euo pipefail

ROUNDS=3 BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        -r) ROUNDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
T=${T:-5} CONNS=${CONNS:-16} SKIP=${SKIP:-} IDLE_CONNS=${IDLE_CONNS:-1000} PIN=${PIN:-0}
NCPU=$(nproc)
if [ "$PIN" = 1 ]; then
    [ "$NCPU" -ge 2 ] || { echo "PIN=1 needs 2 CPUs" >&2; exit 2; }
    NBTHREAD=${NBTHREAD:-1}
    ON_PROXY=(taskset -c 0) ON_CLIENT=(taskset -c "1-$((NCPU - 1))")
else
    NBTHREAD=${NBTHREAD:-2}
    ON_PROXY=() ON_CLIENT=()
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [ "$BUILD" = 1 ]; then
    (cd "$ROOT" && cargo build --release -q -p haproxide && cargo build --release -q -p haproxide-tls --example tlsload)
fi
HAPROXIDE=${HAPROXIDE:-$TARGET/release/haproxide}
LOAD=${TLSLOAD:-$TARGET/release/examples/tlsload}
for b in "$HAPROXY" "$HAPROXIDE" "$LOAD"; do [ -x "$b" ] || { echo "missing: $b" >&2; exit 2; }; done
command -v openssl >/dev/null || { echo "missing: openssl" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d "${TMPDIR:-/tmp}/haproxide-tlsbench.XXXXXX")
PIDS=()
cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
ECHO=$(port) PEC=$(port) PRSA=$(port)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
tls_bench_files "$TMP" "$NBTHREAD" "$ECHO" "$PEC" "$PRSA" 10s 2s
"${ON_CLIENT[@]}" "$LOAD" echo "$ECHO" & PIDS+=($!)
ECHO_PID=$!
"$HAPROXY" -c -q -f "$TMP/tls.cfg"
"$HAPROXIDE" -c -q -f "$TMP/tls.cfg"

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# The load generator's own CPU (user+system seconds) goes to $TMP/ltime: with both
# programs on 2 vCPUs, proxy % + client % near 200 means the machine, not the
# proxy, caps the rate.
ltime() { "${ON_CLIENT[@]}" /usr/bin/time -f "%U %S" -o "$TMP/ltime" "$@"; }
# The machine's idle jiffies (all CPUs).
idle_ticks() { awk '/^cpu /{print $5+$6}' /proc/stat; }
HZ=$(getconf CLK_TCK)

# run NAME PROG TEST -> appends "name test rate cpu_us_per_unit" to $TMP/results
run() {
    local name=$1 prog=$2 test=$3 pid out c0 c1 n secs
    # Foreground, one process: HAProxy's -db; haproxide stays in the foreground
    # without -D.
    if [ "$name" = haproxy ]; then
        "${ON_PROXY[@]}" "$prog" -db -f "$TMP/tls.cfg" >/dev/null 2>&1 & pid=$!
    else
        "${ON_PROXY[@]}" "$prog" -f "$TMP/tls.cfg" >/dev/null 2>&1 & pid=$!
    fi
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PEC) 2>/dev/null && break; sleep 0.05; done
    sleep 0.3
    if [ "$test" = idle ]; then
        local r0 r1 fifo=$TMP/idle.$name
        r0=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
        rm -f "$fifo"; mkfifo "$fifo"
        "${ON_CLIENT[@]}" "$LOAD" idle 127.0.0.1:$PEC "$IDLE_CONNS" 3 > "$fifo" & local lp=$!
        read -r out < "$fifo"
        sleep 1
        r1=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
        wait $lp || true
        kill $pid; wait $pid 2>/dev/null || true
        local n=${out#open=}
        echo "$name idle $n $(( (r1 - r0) * 1024 / (n > 0 ? n : 1) ))" >> "$TMP/results"
        return
    fi
    c0=$(cpu_ticks $pid) e0=$(cpu_ticks $ECHO_PID) i0=$(idle_ticks)
    case $test in
        full-ec) out=$(ltime "$LOAD" hs 127.0.0.1:$PEC "$T" "$CONNS") ;;
        full-rsa) out=$(ltime "$LOAD" hs 127.0.0.1:$PRSA "$T" "$CONNS") ;;
        resumed) out=$(ltime "$LOAD" hs 127.0.0.1:$PEC "$T" "$CONNS" resume) ;;
        bulk) out=$(ltime "$LOAD" bulk 127.0.0.1:$PEC "$T" 4) ;;
    esac
    c1=$(cpu_ticks $pid) e1=$(cpu_ticks $ECHO_PID) i1=$(idle_ticks)
    kill $pid; wait $pid 2>/dev/null || true
    python3 - "$name" "$test" "$out" "$((c1 - c0))" "$HZ" "$(cat "$TMP/ltime")" \
        "$((e1 - e0))" "$((i1 - i0))" >> "$TMP/results" <<'PY'
import sys
name, test, out, ticks, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
client = sum(float(x) for x in sys.argv[6].split())
echo, idle = int(sys.argv[7]) / hz, int(sys.argv[8]) / hz
kv = dict(x.split("=") for x in out.split())
secs = float(kv["secs"])
cpu = ticks / hz
# proxy, client, echo CPU and the machine's idle as % of one core over the run
share = f"{cpu/secs*100:.0f} {client/secs*100:.0f} {echo/secs*100:.0f} {idle/secs*100:.0f}"
if test == "bulk":
    mb = int(kv["bytes"]) / 1e6
    print(f"{name} {test} {mb/secs:.1f} {cpu/mb*1e6:.0f} {share}")
else:
    n = int(kv["handshakes"])
    note = f" resumed={kv.get('resumed')}" if test == "resumed" else ""
    print(f"{name} {test} {n/secs:.0f} {cpu/max(n,1)*1e6:.0f} {share}{note}")
PY
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
TESTS=""
for t in full-ec full-rsa resumed bulk idle; do case " $SKIP " in *" $t "*) ;; *) TESTS="$TESTS $t" ;; esac; done
for r in $(seq "$ROUNDS"); do
    for t in $TESTS; do
        if [ $((r % 2)) = 1 ]; then order="haproxy haproxide"; else order="haproxide haproxy"; fi
        for who in $order; do
            if [ $who = haproxy ]; then run haproxy "$HAPROXY" $t; else run haproxide "$HAPROXIDE" $t; fi
        done
    done
done
echo "# $(date -u +%FT%TZ) $0 -r $ROUNDS (T=$T CONNS=$CONNS PIN=$PIN nbthread $NBTHREAD, $NCPU CPUs) at $(cd "$ROOT" && git rev-parse --short HEAD), load $LOAD0 at the start, $(cut -d" " -f1-3 /proc/loadavg) at the end"
cat "$TMP/results"
python3 - "$TMP/results" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
print("| test | haproxy rate | haproxide rate | rate ratio | haproxy CPU | haproxide CPU | CPU ratio | CPU % proxy/client/echo/idle: haproxy, haproxide |")
print("|---|---|---|---|---|---|---|---|")
for t in dict.fromkeys(r[1] for r in rows):
    h = [r for r in rows if r[1] == t and r[0] == "haproxy"]
    x = [r for r in rows if r[1] == t and r[0] == "haproxide"]
    hr, xr = st.median(float(r[2]) for r in h), st.median(float(r[2]) for r in x)
    hc, xc = st.median(float(r[3]) for r in h), st.median(float(r[3]) for r in x)
    unit = {"bulk": "MB/s", "idle": "conns"}.get(t, "/s")
    cu = {"bulk": "us/MB", "idle": "B/conn"}.get(t, "us/hs")
    # idle rows have no CPU shares
    sh = lambda rs: "/".join(f"{st.median(float(r[i]) for r in rs):.0f}" for i in (4, 5, 6, 7)) if len(rs[0]) > 7 else "-"
    print(f"| {t} | {hr:.0f} {unit} | {xr:.0f} {unit} | {xr/hr:.2f}x | {hc:.0f} {cu} | {xc:.0f} {cu} | {xc/hc:.2f}x | {sh(h)}, {sh(x)} |")
PY
