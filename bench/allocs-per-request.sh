#!/usr/bin/env bash
# Heap allocations per keep-alive HTTP request (issue 14): haproxide under heaptrack, in
# front of the nginx origin of bench/http-vs-haproxy.sh, with that bench's configuration
# (option httplog to a UDP sink, option forwardfor, 3 header rules), driven by wrk
# keep-alive on /small. Load does not change the count, so it is a fair before/after
# figure on a busy machine. Prints the total, the count per request, and the top
# allocation sites (heaptrack_print) per request.
#
# Usage: bench/allocs-per-request.sh [--no-build] [-n TOP]
# Env:   HAPROXIDE (skip the build, use this binary), T=4 (seconds of wrk), CONNS=50,
#        CLOSE=1 (one request per connection: wrk sends Connection: close)
# Needs: heaptrack (apt-get install -y heaptrack), wrk, nginx, python3.
set -euo pipefail

BUILD=1 TOP=25
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) BUILD=0; shift ;;
        -n) TOP=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
T=${T:-4} CONNS=${CONNS:-50} CLOSE=${CLOSE:-0}
WRK_HDR=()
[ "$CLOSE" = 1 ] && WRK_HDR=(-H "Connection: close")
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need wrk heaptrack heaptrack_print python3 curl
bench_binary "$BUILD"
bench_tmp allocs
read -r P_ORIGIN P_LOG P_FE <<<"$(free_ports 3)"
start_origin "$P_ORIGIN"
start_log_sink "$P_LOG"
cat >"$TMP/haproxide.cfg" <<EOF
global
    maxconn 4000
    nbthread 2
    log 127.0.0.1:$P_LOG local0 info
defaults
    mode http
    log global
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
frontend fe
    bind 127.0.0.1:$P_FE
    option httplog
    option forwardfor
    http-request set-header X-Bench haproxide-bench
    http-request del-header X-Remove-Me
    http-response set-header X-Served-By proxy
    default_backend origin
backend origin
    server o1 127.0.0.1:$P_ORIGIN
EOF
# One run: the proxy under heaptrack, SECONDS of wrk (0: none), stopped; sets N (requests),
# TOTAL (allocation calls over the process life) and PRINT (heaptrack_print's report).
ht_run() { # NAME SECONDS
    local ht f out
    heaptrack -o "$TMP/$1" "$HAPROXIDE" -db -f "$TMP/haproxide.cfg" >"$TMP/$1.log" 2>&1 &
    ht=$!
    PIDS+=("$ht")
    wait_port "$P_FE" 60 || { cat "$TMP/$1.log" >&2; exit 1; }
    N=0
    if [ "$2" != 0 ]; then
        out=$(timeout $(($2 + 30)) wrk -t2 -c"$CONNS" -d"$2s" "${WRK_HDR[@]}" "http://127.0.0.1:$P_FE/small" 2>&1 || true)
        N=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
    fi
    # SIGTERM to the proxy alone (heaptrack's other children write its file).
    kill -TERM $(ps -o pid=,args= --ppid "$ht" | awk -v b="$HAPROXIDE" '$2 == b {print $1}') 2>/dev/null || true
    for _ in $(seq 600); do kill -0 "$ht" 2>/dev/null || break; sleep 0.1; done
    f=$(ls "$TMP/$1".*zst "$TMP/$1".*gz 2>/dev/null | head -1 || true)
    [ -n "$f" ] || { echo "no heaptrack output:" >&2; cat "$TMP/$1.log" >&2; exit 1; }
    PRINT=$TMP/$1.txt
    heaptrack_print -f "$f" -a 0 -p 0 -T 0 --flamegraph-cost-type allocations -F "$TMP/$1.stacks" >"$PRINT" 2>/dev/null || true
    STACKS=$TMP/$1.stacks
    TOTAL=$(sed -n 's/^calls to allocation functions: *\([0-9]*\).*/\1/p' "$PRINT" | head -1)
}
# The start and stop alone, then with T seconds of requests: the difference is the
# requests' (and their CONNS connections', amortized).
ht_run idle 0; T0=$TOTAL
ht_run run "$T"; n=$N
echo "# $(date -u '+%F %H:%M UTC') $0: $("$HAPROXIDE" -v 2>/dev/null | head -1), wrk ${T}s + 1s warm-up, $CONNS conns$([ "$CLOSE" = 1 ] && echo ", Connection: close"); load $(loadavg)"
echo "requests: $n; allocation calls: $TOTAL with them, $T0 without (start and stop only)"
echo "allocations per request: $(awk -v a="$TOTAL" -v b="$T0" -v n="$n" 'BEGIN {printf "%.1f", (a - b) / n}')"
echo "by the innermost haproxide frame (per request, the whole run):"
python3 - "$STACKS" "${n:-0}" "$TOP" <<'PY'
import collections, re, sys
n, top = int(sys.argv[2]), int(sys.argv[3])
by = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    stack, _, count = line.rstrip("\n").rpartition(" ")
    if not count.isdigit():
        continue
    frames = stack.split(";")
    own = [f for f in frames if re.match(r"^(<)?haproxide", f)]
    key = own[-1] if own else (frames[-1] if frames else "?")
    by[re.sub(r"::\{\{closure\}\}|::h[0-9a-f]{16}\b", "", key)[:150]] += int(count)
for k, v in by.most_common(top):
    print(f"{v / max(n, 1):7.2f}  {k}")
PY
