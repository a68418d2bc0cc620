#!/usr/bin/env bash
# Benchmark: HTTP proxying (mode http), HAProxy 2.6 vs haproxide, interleaved, on 127.0.0.1,
# in front of one nginx origin (issue 14, "must show" 4):
#   ka     wrk keep-alive, small responses (req/s, p99 latency, proxy CPU per request)
#   close  wrk with Connection: close, one request per connection
#   big    wrk keep-alive, 1 MB responses
#   post   wrk keep-alive, 100 KB POST bodies
#   idle   RSS per idle keep-alive HTTP connection (after one request each)
# Both proxies run the same config: mode http, option httplog to a UDP sink, option
# forwardfor and 3 header rules (FEATURES selects them). Medians of ROUNDS rounds; the order
# of the two proxies alternates every round; per-round ratios are reported too.
#
# Usage: bench/http-vs-haproxy.sh [-r ROUNDS] [--no-build] [-o REPORT.md]
# Env:   HAPROXY (default /usr/sbin/haproxy), HAPROXIDE (skip the build, use this binary),
#        T=5 (seconds per wrk run), CONNS=50 (wrk connections), THREADS=2 (wrk threads),
#        IDLE_CONNS=2000, FEATURES="httplog forwardfor rules" (what the config turns on),
#        SKIP="ka close big post idle", IDLE_DETAIL=1 (idle: RssAnon, malloc stats, after trim)
# Needs: wrk, nginx (apt-get install -y wrk nginx-light), python3.
set -euo pipefail

ROUNDS=3 BUILD=1 REPORT=
CMDLINE="$0 $*"
while [ $# -gt 0 ]; do
    case "$1" in
        -r) ROUNDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -o) REPORT=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
T=${T:-5} CONNS=${CONNS:-50} THREADS=${THREADS:-2} IDLE_CONNS=${IDLE_CONNS:-2000}
FEATURES=${FEATURES:-httplog forwardfor rules} SKIP=${SKIP:-}

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need wrk python3 curl
bench_binary "$BUILD"
bench_tmp hbench

cat >"$TMP/tool.py" <<'PY'
import os, socket, sys, time

def idle(port, count, ready, release, limit):
    # COUNT keep-alive connections, one request answered on each, then held.
    socks = []
    req = b"GET /small HTTP/1.1\r\nHost: bench\r\n\r\n"
    t0 = time.monotonic()
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(req)
        got = b""
        while b"\r\n\r\n" not in got or not got.endswith(b"ok\n"):
            d = s.recv(65536)
            if not d:
                raise SystemExit(f"connection {i}: closed after {got!r}")
            got += d
        socks.append(s)
    open(ready, "w").write(f"{len(socks)} {time.monotonic() - t0:.2f}\n")
    end = time.monotonic() + limit
    while not os.path.exists(release) and time.monotonic() < end:
        time.sleep(0.05)
    for s in socks:
        s.close()

idle(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]))
PY
TOOL="python3 $TMP/tool.py"
read -r P_ORIGIN P_LOG H_FE X_FE <<<"$(free_ports 4)"
has() { [[ " $FEATURES " == *" $1 "* ]]; }

# --- origin: nginx, 2 workers, small and 1 MB answers, POST bodies read; the log sink ---
start_origin "$P_ORIGIN"
start_log_sink "$P_LOG" "$TMP/logcount"

write_cfg() { # FILE FRONTEND_PORT
    {
        cat <<EOF
global
    maxconn 20000
    nbthread 2
    no strict-limits
    log 127.0.0.1:$P_LOG local0 info
defaults
    mode http
    log global
    maxconn 20000
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
frontend fe
    bind 127.0.0.1:$2
EOF
        has httplog && echo "    option httplog"
        has forwardfor && echo "    option forwardfor"
        if has rules; then
            echo "    http-request set-header X-Bench haproxide-bench"
            echo "    http-request del-header X-Remove-Me"
            echo "    http-response set-header X-Served-By proxy"
        fi
        cat <<EOF
    default_backend origin
backend origin
    server o1 127.0.0.1:$P_ORIGIN
EOF
    } >"$1"
}
write_cfg "$TMP/haproxy.cfg" "$H_FE"
write_cfg "$TMP/haproxide.cfg" "$X_FE"

start_proxy() { # NAME PORT -> START_PID
    local bin=$HAPROXY
    [ "$1" = haproxide ] && bin=$HAPROXIDE
    "$bin" -db -f "$TMP/$1.cfg" >>"$TMP/$1.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_port "$2" 15 >&2 || { echo "$1 did not start:" >&2; cat "$TMP/$1.log" >&2; exit 1; }
    START_PID=$pid
}
start_proxy haproxy "$H_FE"; HPID=$START_PID
start_proxy haproxide "$X_FE"; XPID=$START_PID
port_of() { if [ "$1" = haproxy ]; then echo "$H_FE"; else echo "$X_FE"; fi; }
pid_of() { if [ "$1" = haproxy ]; then echo "$HPID"; else echo "$XPID"; fi; }

# Sanity: both answer, both log.
for t in haproxy haproxide; do
    got=$(curl -sS --max-time 5 "http://127.0.0.1:$(port_of $t)/small" || true)
    [ "$got" = ok ] || { echo "$t: /small answered '$got'" >&2; cat "$TMP/$t.log" >&2; exit 1; }
done

RES=$TMP/results.tsv
: >"$RES"
LOADS=()
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$1" "$2" "$3" "$4" >>"$RES"; }

cat >"$TMP/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("p", 102400)
wrk.headers["Content-Type"] = "application/octet-stream"
EOF

run_wrk() { # TEST TARGET PATH [wrk args...]
    local test=$1 target=$2 path=$3; shift 3
    local pid port out c0 c1 rps p99 n non2xx errs cpu
    pid=$(pid_of "$target"); port=$(port_of "$target")
    out=$TMP/wrk.out
    c0=$(cpu_ticks "$pid")
    # The origin's balance: server connections per nginx worker, 1 s into the run
    # (keep-alive tests: the proxy's connections to nginx live through the run).
    (sleep 1; ss -tnpH state established "( sport = :$P_ORIGIN or dport = :$P_ORIGIN )" 2>/dev/null |
        awk -v o=":$P_ORIGIN" -v p="pid=$pid," '
            $3 ~ o"$" { match($0, /pid=[0-9]+/); w[$4] = substr($0, RSTART, RLENGTH) }  # nginx side: peer -> worker
            $4 ~ o"$" && index($0, p) { mine[$3] = 1 }                                  # this proxy: its local address
            END { for (a in mine) if (a in w) n[w[a]]++; for (k in n) printf "%d ", n[k] }' >"$TMP/split") &
    local probe=$!
    timeout $((T + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${T}s" --latency "$@" "http://127.0.0.1:$port$path" >"$out" 2>&1 || true
    c1=$(cpu_ticks "$pid")
    wait "$probe" 2>/dev/null || true
    read -r rps p99 n non2xx errs < <(python3 - "$out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else float("nan")
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
p99 = re.search(r"^\s+99%\s+(\S+)", t, re.M)
n = re.search(r"(\d+) requests in", t)
non = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
print(rps.group(1) if rps else "nan", ms(p99.group(1)) if p99 else "nan", n.group(1) if n else 0,
      non.group(1) if non else 0, sum(map(int, errs.groups())) if errs else 0)
PY
)
    cpu=$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" 'BEGIN {printf "%.3f", (b - a) / t}')
    rec "$test" "$target" req_s "$rps"
    rec "$test" "$target" p99_ms "$p99"
    [ "$n" -gt 0 ] && rec "$test" "$target" cpu_us_per_req "$(awk -v c="$cpu" -v n="$n" 'BEGIN {printf "%.2f", c * 1e6 / n}')"
    rec "$test" "$target" bad "$((non2xx + errs))"
    echo "  $test $target: $rps req/s, p99 $p99 ms, CPU $cpu s for $n requests, non-2xx+errors $((non2xx + errs)), origin connections per nginx worker: $(cat "$TMP/split" 2>/dev/null)" >&2
}

rss_anon_kib() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }

# IDLE_DETAIL=1: where an idle connection's bytes are. Anonymous RSS alone (no
# binary pages), the glibc heap's bytes in use vs held (malloc_stats(3), all
# arenas, called through gdb: it prints on the proxy's stderr), then the
# anonymous RSS once malloc_trim(0) gave back the free pages it can.
idle_detail() { # TARGET PID ANON_KIB_BEFORE
    local a1 log=$TMP/$1.log
    a1=$(rss_anon_kib "$2")
    echo "    $1: RssAnon $3 -> $a1 KiB = $(( (a1 - $3) * 1024 / IDLE_CONNS )) B per connection" >&2
    command -v gdb >/dev/null || return 0
    timeout 60 gdb -q -batch -p "$2" -ex 'call (void) malloc_stats()' \
        -ex 'call (int) malloc_trim(0)' >/dev/null 2>&1 || true
    echo "    $1: malloc_stats total: $(grep -A2 '^Total (incl. mmap)' "$log" | tail -2 | tr -s ' \n' ' ');" \
        "RssAnon after malloc_trim(0): $(rss_anon_kib "$2") KiB" >&2
}

run_idle() { # TARGET: a fresh proxy process
    local port pid r0 r1 ready release cpid
    stop_pid "$(pid_of "$1")"
    start_proxy "$1" "$(port_of "$1")"; pid=$START_PID
    if [ "$1" = haproxy ]; then HPID=$pid; else XPID=$pid; fi
    port=$(port_of "$1")
    # Warm-up: a few requests first, so that the code serving them is paged in
    # before the baseline. Without it the first-use page faults of the binary's
    # text (file-backed, counted in VmRSS) landed in the per-connection figure:
    # ~650 B per connection for haproxide's larger binary, ~0 for HAProxy's.
    for _ in $(seq 20); do curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$port/small" || true; done
    sleep 1.5
    r0=$(rss_kib "$pid")
    a0=$(rss_anon_kib "$pid")
    ready=$TMP/idle.ready release=$TMP/idle.release
    rm -f "$ready" "$release"
    $TOOL "$port" "$IDLE_CONNS" "$ready" "$release" 120 &
    cpid=$!; PIDS+=("$cpid")
    for _ in $(seq 1200); do [ -f "$ready" ] && break; kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    if [ -f "$ready" ]; then
        sleep 1
        r1=$(rss_kib "$pid")
        rec idle "$1" bytes_per_conn "$(awk -v a="$r0" -v b="$r1" -v n="$IDLE_CONNS" 'BEGIN {printf "%.0f", (b - a) * 1024 / n}')"
        echo "  idle x$IDLE_CONNS $1: RSS $r0 -> $r1 KiB" >&2
        if [ -n "${IDLE_DETAIL:-}" ]; then idle_detail "$1" "$pid" "$a0"; fi
    else
        echo "  idle $1: FAILED" >&2; rec idle "$1" failed 1
    fi
    touch "$release"
    for _ in $(seq 300); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$cpid"
}

FACTS=$TMP/facts.md
{
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "- haproxy: $("$HAPROXY" -v | head -1)"
    echo "- haproxide: $("$HAPROXIDE" -v 2>/dev/null | head -1) ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
    echo "- origin: $("$NGINX" -v 2>&1); $(wrk -v 2>&1 | head -1)"
    echo "- wrk: ${T}s per run, $THREADS threads, $CONNS connections; idle keep-alive connections: $IDLE_CONNS"
    echo "- config on both proxies: mode http, nbthread 2, features: $FEATURES"
} >"$FACTS"
cat "$FACTS" >&2

for ROUND in $(seq "$ROUNDS"); do
    LOADS+=("$(loadavg)")
    if [ $((ROUND % 2)) = 1 ]; then ORDER=(haproxy haproxide); else ORDER=(haproxide haproxy); fi
    echo "== round $ROUND/$ROUNDS (order: ${ORDER[*]}; load $(loadavg))" >&2
    [[ " $SKIP " == *" ka "* ]] || for t in "${ORDER[@]}"; do run_wrk ka "$t" /small; done
    [[ " $SKIP " == *" close "* ]] || for t in "${ORDER[@]}"; do run_wrk close "$t" /small -H "Connection: close"; done
    [[ " $SKIP " == *" big "* ]] || for t in "${ORDER[@]}"; do CONNS=8 run_wrk big "$t" /1mb; done
    [[ " $SKIP " == *" post "* ]] || for t in "${ORDER[@]}"; do run_wrk post "$t" /post -s "$TMP/post.lua"; done
    [[ " $SKIP " == *" idle "* ]] || for t in "${ORDER[@]}"; do run_idle "$t"; done
done
LOADS+=("$(loadavg)")

OUT=$TMP/report.md
{
    echo "Command: \`$CMDLINE\` (T=$T CONNS=$CONNS THREADS=$THREADS IDLE_CONNS=$IDLE_CONNS FEATURES=\"$FEATURES\")"
    echo
    cat "$FACTS"
    echo "- log lines received by the sink: $(cat "$TMP/logcount" 2>/dev/null || echo 0)"
    echo "- load average at each round start and at the end: $(IFS='|'; echo "${LOADS[*]}" | sed 's/|/; /g')"
    echo
    python3 - "$RES" "$ROUNDS" <<'PY'
import math, statistics, sys
from collections import defaultdict
rows, by_round = defaultdict(list), {}
for line in open(sys.argv[1]):
    r, test, target, metric, value = line.rstrip("\n").split("\t")
    try:
        v = float(value)
    except ValueError:
        continue
    if math.isnan(v):
        continue
    rows[(test, metric, target)].append(v)
    by_round[(test, metric, target, r)] = v
spec = []
for test, label in [("ka", "keep-alive, small"), ("close", "1 request per connection"),
                    ("big", "keep-alive, 1 MB responses (8 conns)"), ("post", "keep-alive, 100 KB POST")]:
    spec += [(test, "req_s", f"{label}: req/s", "higher"),
             (test, "cpu_us_per_req", f"{label}: proxy CPU µs per request", "lower"),
             (test, "p99_ms", f"{label}: p99 latency ms", "lower")]
spec.append(("idle", "bytes_per_conn", "RSS per idle keep-alive connection: bytes", "lower"))
def fmt(v):
    a = abs(v)
    return f"{v:.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.2f}" if a >= 1 else f"{v:.3f}"
def cell(vals):
    if not vals: return "–", None
    m = statistics.median(vals)
    return (f"{fmt(m)} [{fmt(min(vals))}–{fmt(max(vals))}]" if len(vals) > 1 else fmt(m)), m
def paired(test, metric):
    rs = sorted({k[3] for k in by_round if k[:2] == (test, metric)})
    v = [by_round[(test, metric, "haproxide", r)] / by_round[(test, metric, "haproxy", r)]
         for r in rs if by_round.get((test, metric, "haproxy", r)) and (test, metric, "haproxide", r) in by_round]
    if not v: return "–"
    m = statistics.median(v)
    return f"{m:.2f} [{min(v):.2f}–{max(v):.2f}]" if len(v) > 1 else f"{m:.2f}"
print(f"Medians of {sys.argv[2]} rounds [min–max]. Ratio = haproxide / HAProxy; per round: the median "
      "of each round's ratio [min–max]. Goal: ≥ 1.00 where higher is better, ≤ 1.00 where lower is better.")
print()
print("| metric | better | HAProxy 2.6 | haproxide | haproxide / HAProxy | per round |")
print("|---|---|---|---|---|---|")
for test, metric, label, better in spec:
    (hc, h), (xc, x) = cell(rows.get((test, metric, "haproxy"), [])), cell(rows.get((test, metric, "haproxide"), []))
    if h is None and x is None: continue
    ratio = f"{x / h:.2f}" if h and x is not None else "–"
    if ratio != "–":
        ok = (x / h >= 0.995) if better == "higher" else (x / h <= 1.005)
        ratio = ratio if ok else f"**{ratio}**"
    print(f"| {label} | {better} | {hc} | {xc} | {ratio} | {paired(test, metric)} |")
bad = {t: sum(v for (te, m, tt), vs in rows.items() for v in vs if m == "bad" and tt == t) for t in ("haproxy", "haproxide")}
print()
print(f"Non-2xx answers + socket errors over all wrk runs: HAProxy {bad['haproxy']:.0f}, haproxide {bad['haproxide']:.0f}.")
print("Bold ratio: haproxide worse than HAProxy on that metric.")
PY
} >"$OUT"
echo >&2
cat "$OUT"
if [ -n "$REPORT" ]; then cp "$OUT" "$REPORT"; echo "report written to $REPORT" >&2; fi
