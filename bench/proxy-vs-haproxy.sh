#!/usr/bin/env bash
# Benchmark: TCP proxying, direct vs HAProxy 2.6 vs haproxide, interleaved, on 127.0.0.1.
#   bulk throughput (iperf3, 1 and 8 streams), pgbench -S -c 16 (tps, latency),
#   pgbench -S -C -c 8 (connection churn), a connect/echo/close loop (conn/s),
#   RSS per idle connection, proxy CPU seconds per GB and per 1,000 transactions.
# Medians of ROUNDS rounds; the order of the targets rotates every round.
#
# Usage: bench/proxy-vs-haproxy.sh [-r ROUNDS] [--no-build] [-o REPORT.md]
# Env:   CARGO_TARGET_DIR (honoured), HAPROXY (default /usr/sbin/haproxy),
#        HAPROXIDE (skip the build, use this binary), PGBIN (PostgreSQL bin dir),
#        T_BULK=5 T_PG=8 T_CHURN=5 (seconds per run), IDLE_CONNS=10000 (capped by the fd
#        limit: the proxy needs 2 fds per connection), CHURN_WORKERS=4, SKIP="bulk pg churn idle"
set -euo pipefail

ROUNDS=3 BUILD=1 REPORT=
while [ $# -gt 0 ]; do
    case "$1" in
        -r) ROUNDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -o) REPORT=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
T_BULK=${T_BULK:-5} T_PG=${T_PG:-8} T_CHURN=${T_CHURN:-5}
IDLE_CONNS=${IDLE_CONNS:-10000} CHURN_WORKERS=${CHURN_WORKERS:-4} SKIP=${SKIP:-}
CMDLINE="$0 $*"

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # ROOT, HAPROXY, CLK_TCK, free_ports, wait_port, stop_pid, cpu_ticks, rss_kib, loadavg
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
for tool in iperf3 python3 runuser; do
    command -v $tool >/dev/null || { echo "missing: $tool (apt-get install -y iperf3)" >&2; exit 2; }
done
[ -x "$HAPROXY" ] || { echo "haproxy not found: $HAPROXY" >&2; exit 2; }
[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pgbench" ] || { echo "PostgreSQL not found in $PGBIN" >&2; exit 2; }
id postgres >/dev/null 2>&1 || { echo "needs a 'postgres' user (PostgreSQL refuses root)" >&2; exit 2; }

if [ -z "${HAPROXIDE:-}" ]; then
    TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
    if [ "$BUILD" = 1 ]; then
        (cd "$ROOT" && cargo build --release -q -p haproxide)
    fi
    HAPROXIDE=$TARGET/release/haproxide
fi
[ -x "$HAPROXIDE" ] || { echo "haproxide binary not found: $HAPROXIDE" >&2; exit 2; }

# File descriptors: raise the soft limit to the hard one; the proxy needs 2 per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ $((2 * IDLE_CONNS + 200)) -gt "$NOFILE" ]; then
    NEW=$(((NOFILE - 200) / 2 / 100 * 100))
    echo "note: fd limit $NOFILE (hard) allows $NEW idle connections through a proxy, not $IDLE_CONNS" >&2
    IDLE_CONNS=$NEW
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/haproxide-pbench.XXXXXX")
chmod 755 "$TMP"
PIDS=()          # every background process we start
PGDATA=$TMP/pg
cleanup() {
    set +e
    if [ -f "$PGDATA/postmaster.pid" ]; then
        timeout 20 runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 15 stop >/dev/null 2>&1
        [ -f "$PGDATA/postmaster.pid" ] && kill -9 "$(head -1 "$PGDATA/postmaster.pid")" 2>/dev/null
    fi
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helper: echo/idle server, connect loop, idle-connection holder --------------------------
cat >"$TMP/tool.py" <<'PY'
import os, selectors, signal, socket, sys, time

def serve(port):
    # Echoes what it receives, closes on EOF; holds idle connections forever.
    sel = selectors.DefaultSelector()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port)); ls.listen(4096); ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ, None)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                for _ in range(64):
                    try:
                        c, _a = ls.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        time.sleep(0.01); break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, 1)
            else:
                c = key.fileobj
                try:
                    d = c.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    d = b""
                if d:
                    try:
                        c.send(d)
                    except OSError:
                        pass
                else:
                    sel.unregister(c); c.close()

def churn(port, seconds, workers):
    # WORKERS processes, each: connect, send 1 byte, read the echo, close; for SECONDS.
    r, w = os.pipe()
    kids = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            n = err = 0
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    s.sendall(b"x")
                    if s.recv(1) == b"x":
                        n += 1
                    else:
                        err += 1
                    s.close()
                except OSError:
                    err += 1
            os.write(w, f"{n} {err}\n".encode())
            os._exit(0)
        kids.append(pid)
    os.close(w)
    t0 = time.monotonic()
    for pid in kids:
        os.waitpid(pid, 0)
    el = time.monotonic() - t0
    n = err = 0
    for line in os.fdopen(r).read().split("\n"):
        if line:
            a, b = line.split(); n += int(a); err += int(b)
    print(f"{n} {err} {el:.3f}")

def idle(port, count, ready, release, limit):
    # Opens COUNT connections, each exchanges one byte (so the proxy has connected the
    # server side), then holds them until RELEASE exists (at most LIMIT s).
    socks = []
    t0 = time.monotonic()
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"x")
        if s.recv(1) != b"x":
            raise SystemExit(f"connection {i}: no echo")
        socks.append(s)
    with open(ready, "w") as f:
        f.write(f"{len(socks)} {time.monotonic() - t0:.2f}\n")
    end = time.monotonic() + limit
    while not os.path.exists(release) and time.monotonic() < end:
        time.sleep(0.05)
    for s in socks:
        s.close()

cmd = sys.argv[1]
if cmd == "serve": serve(int(sys.argv[2]))
elif cmd == "churn": churn(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
elif cmd == "idle": idle(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6]))
PY
TOOL="python3 $TMP/tool.py"

# --- ports: backends, then one frontend per service per proxy ---------------------------------
read -r P_IPERF P_PG P_ECHO H_BULK H_PG H_ECHO X_BULK X_PG X_ECHO H_IDLE X_IDLE <<<"$(free_ports 11)"


write_cfg() { # FILE BULK PG ECHO   (ports; 0 = leave out)
    {
        cat <<EOF
global
    maxconn 20000
    nbthread 2
    # the fd hard limit may be below 2 x maxconn (HAProxy 2.6 refuses to start then)
    no strict-limits
defaults
    mode tcp
    maxconn 20000
    timeout connect 5s
    timeout client 10m
    timeout server 10m
EOF
        [ "$2" = 0 ] || printf 'listen bulk\n    bind 127.0.0.1:%s\n    server s1 127.0.0.1:%s\n' "$2" "$P_IPERF"
        [ "$3" = 0 ] || printf 'listen pg\n    bind 127.0.0.1:%s\n    server s1 127.0.0.1:%s\n' "$3" "$P_PG"
        [ "$4" = 0 ] || printf 'listen echo\n    bind 127.0.0.1:%s\n    server s1 127.0.0.1:%s\n' "$4" "$P_ECHO"
    } >"$1"
}
write_cfg "$TMP/haproxy.cfg" "$H_BULK" "$H_PG" "$H_ECHO"
write_cfg "$TMP/haproxide.cfg" "$X_BULK" "$X_PG" "$X_ECHO"
write_cfg "$TMP/haproxy-idle.cfg" 0 0 "$H_IDLE"
write_cfg "$TMP/haproxide-idle.cfg" 0 0 "$X_IDLE"

start_proxy() { # NAME CFG PORT -> echoes PID
    local bin=$HAPROXY
    [ "$1" = haproxide ] && bin=$HAPROXIDE
    "$bin" -db -f "$2" >>"$TMP/$1.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_port "$3" 15 >&2 || { cat "$TMP/$1.log" >&2; exit 1; }
    START_PID=$pid
}

# --- backends -------------------------------------------------------------------------------
echo "== starting backends (iperf3 :$P_IPERF, postgres :$P_PG, echo :$P_ECHO)" >&2
iperf3 -s -p "$P_IPERF" -B 127.0.0.1 >"$TMP/iperf3-server.log" 2>&1 &
PIDS+=($!)
$TOOL serve "$P_ECHO" &
PIDS+=($!)

if [[ " $SKIP " != *" pg "* ]]; then
    mkdir -p "$PGDATA" "$TMP/pgsock" && chown postgres: "$PGDATA" "$TMP/pgsock"
    timeout 120 runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres >"$TMP/initdb.log" 2>&1
    timeout 60 runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $P_PG -c unix_socket_directories=$TMP/pgsock -c max_connections=100 -c fsync=off -c synchronous_commit=off" \
        start >/dev/null
    PGBENCH="$PGBIN/pgbench -h 127.0.0.1 -U postgres"
    timeout 120 $PGBENCH -p "$P_PG" -i -s 1 -q postgres >"$TMP/pgbench-init.log" 2>&1
fi
wait_port "$P_IPERF" 10
wait_port "$P_ECHO" 10

start_proxy haproxy "$TMP/haproxy.cfg" "$H_ECHO"; HPID=$START_PID
start_proxy haproxide "$TMP/haproxide.cfg" "$X_ECHO"; XPID=$START_PID

RES=$TMP/results.tsv    # round test target metric value
: >"$RES"
LOADS=()
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$1" "$2" "$3" "$4" >>"$RES"; }

port_of() { # TARGET SERVICE
    case "$1:$2" in
        direct:bulk) echo "$P_IPERF" ;; direct:pg) echo "$P_PG" ;; direct:echo) echo "$P_ECHO" ;;
        haproxy:bulk) echo "$H_BULK" ;; haproxy:pg) echo "$H_PG" ;; haproxy:echo) echo "$H_ECHO" ;;
        haproxide:bulk) echo "$X_BULK" ;; haproxide:pg) echo "$X_PG" ;; haproxide:echo) echo "$X_ECHO" ;;
    esac
}
pid_of() { case "$1" in haproxy) echo "$HPID" ;; haproxide) echo "$XPID" ;; *) echo "" ;; esac; }

# Runs a measurement and records the proxy's CPU (ticks) around it into CPU_S.
with_cpu() { # TARGET -- command...
    local target=$1; shift
    local pid c0 c1
    pid=$(pid_of "$target")
    [ -n "$pid" ] && c0=$(cpu_ticks "$pid")
    "$@"
    if [ -n "$pid" ]; then
        c1=$(cpu_ticks "$pid")
        CPU_S=$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" 'BEGIN {printf "%.3f", (b - a) / t}')
    else
        CPU_S=
    fi
}

run_bulk() { # TARGET STREAMS
    local port out
    port=$(port_of "$1" bulk)
    out=$TMP/iperf.json
    with_cpu "$1" timeout $((T_BULK + 30)) iperf3 -c 127.0.0.1 -p "$port" -P "$2" -t "$T_BULK" -J >"$out"
    read -r gbps bytes < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
e = j["end"]["sum_received"]
print("%.3f %d" % (e["bits_per_second"] / 1e9, e["bytes"]))' "$out")
    rec "bulk$2" "$1" gbit_s "$gbps"
    [ -n "$CPU_S" ] && rec "bulk$2" "$1" cpu_s_per_gb "$(awk -v c="$CPU_S" -v b="$bytes" 'BEGIN {printf "%.4f", c / (b / 1e9)}')"
    echo "  bulk x$2 $1: $gbps Gbit/s${CPU_S:+, proxy CPU $CPU_S s}" >&2
}

run_pg() { # TARGET
    local port out tps lat n
    port=$(port_of "$1" pg)
    out=$TMP/pgbench.out
    with_cpu "$1" timeout $((T_PG + 30)) $PGBENCH -p "$port" -S -c 16 -j 2 -T "$T_PG" postgres >"$out" 2>&1
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -1)
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out" | head -1)
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    rec pgS "$1" tps "$tps"
    rec pgS "$1" latency_ms "$lat"
    [ -n "$CPU_S" ] && rec pgS "$1" cpu_s_per_1k_tx "$(awk -v c="$CPU_S" -v n="$n" 'BEGIN {printf "%.5f", c / (n / 1000)}')"
    echo "  pgbench -S -c16 $1: $tps tps, $lat ms${CPU_S:+, proxy CPU $CPU_S s}" >&2
}

run_pgC() { # TARGET
    local port out tps n
    port=$(port_of "$1" pg)
    out=$TMP/pgbench.out
    with_cpu "$1" timeout $((T_PG + 30)) $PGBENCH -p "$port" -S -C -c 8 -j 2 -T "$T_PG" postgres >"$out" 2>&1
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -1)
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    rec pgC "$1" tps "$tps"
    [ -n "$CPU_S" ] && rec pgC "$1" cpu_s_per_1k_tx "$(awk -v c="$CPU_S" -v n="$n" 'BEGIN {printf "%.5f", c / (n / 1000)}')"
    echo "  pgbench -S -C -c8 $1: $tps tps${CPU_S:+, proxy CPU $CPU_S s}" >&2
}

run_churn() { # TARGET
    local port n err el rate
    port=$(port_of "$1" echo)
    with_cpu "$1" eval 'read -r n err el < <(timeout $((T_CHURN + 30)) $TOOL churn "$port" "$T_CHURN" "$CHURN_WORKERS")'
    rate=$(awk -v n="$n" -v e="$el" 'BEGIN {printf "%.0f", n / e}')
    rec churn "$1" conn_s "$rate"
    rec churn "$1" errors "$err"
    [ -n "$CPU_S" ] && rec churn "$1" cpu_s_per_1k_conn "$(awk -v c="$CPU_S" -v n="$n" 'BEGIN {printf "%.5f", c / (n / 1000)}')"
    echo "  connect/echo/close $1: $rate conn/s ($err errors)${CPU_S:+, proxy CPU $CPU_S s}" >&2
}

run_idle() { # TARGET (haproxy|haproxide): a fresh proxy process each time
    local cfg port pid r0 r1 ready release cpid
    if [ "$1" = haproxy ]; then port=$H_IDLE; else port=$X_IDLE; fi
    start_proxy "$1" "$TMP/$1-idle.cfg" "$port"; pid=$START_PID
    sleep 0.5
    r0=$(rss_kib "$pid")
    ready=$TMP/idle.ready release=$TMP/idle.release
    rm -f "$ready" "$release"
    $TOOL idle "$port" "$IDLE_CONNS" "$ready" "$release" 120 &
    cpid=$!
    PIDS+=("$cpid")
    for _ in $(seq 1200); do [ -f "$ready" ] && break; kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    if [ -f "$ready" ]; then
        sleep 1
        r1=$(rss_kib "$pid")
        rec idle "$1" rss_before_kib "$r0"
        rec idle "$1" rss_after_kib "$r1"
        rec idle "$1" bytes_per_conn "$(awk -v a="$r0" -v b="$r1" -v n="$IDLE_CONNS" 'BEGIN {printf "%.0f", (b - a) * 1024 / n}')"
        echo "  idle x$IDLE_CONNS $1: RSS $r0 -> $r1 KiB (opened in $(cut -d' ' -f2 "$ready") s)" >&2
    else
        echo "  idle $1: FAILED (see $1.log)" >&2
        rec idle "$1" failed 1
    fi
    touch "$release"
    for _ in $(seq 300); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$cpid"
    stop_pid "$pid"
}

# --- machine facts --------------------------------------------------------------------------
FACTS=$TMP/facts.md
{
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "- kernel: $(uname -r)"
    echo "- haproxy: $("$HAPROXY" -v | head -1)"
    echo "- haproxide: $("$HAPROXIDE" -v 2>/dev/null | head -1) ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
    echo "- PostgreSQL: $("$PGBIN/postgres" -V); $("$PGBIN/pgbench" -V); $(iperf3 --version | head -1)"
    echo "- durations: bulk ${T_BULK}s, pgbench ${T_PG}s, connect loop ${T_CHURN}s x $CHURN_WORKERS workers; idle connections: $IDLE_CONNS; fd limit $NOFILE"
} >"$FACTS"
cat "$FACTS" >&2

TARGETS=(direct haproxy haproxide)
for ROUND in $(seq "$ROUNDS"); do
    LOADS+=("$(loadavg)")
    # rotate the order of the targets every round
    ORDER=()
    for i in 0 1 2; do ORDER+=("${TARGETS[$(((i + ROUND - 1) % 3))]}"); done
    echo "== round $ROUND/$ROUNDS (order: ${ORDER[*]}; load $(loadavg))" >&2
    if [[ " $SKIP " != *" bulk "* ]]; then
        for t in "${ORDER[@]}"; do run_bulk "$t" 1; done
        for t in "${ORDER[@]}"; do run_bulk "$t" 8; done
    fi
    if [[ " $SKIP " != *" pg "* ]]; then
        for t in "${ORDER[@]}"; do run_pg "$t"; done
        for t in "${ORDER[@]}"; do run_pgC "$t"; done
    fi
    if [[ " $SKIP " != *" churn "* ]]; then
        for t in "${ORDER[@]}"; do run_churn "$t"; done
    fi
    if [[ " $SKIP " != *" idle "* ]]; then
        for t in "${ORDER[@]}"; do [ "$t" = direct ] || run_idle "$t"; done
    fi
done
LOADS+=("$(loadavg)")

# --- report ---------------------------------------------------------------------------------
OUT=$TMP/report.md
{
    echo "Command: \`$CMDLINE\` (T_BULK=$T_BULK T_PG=$T_PG T_CHURN=$T_CHURN IDLE_CONNS=$IDLE_CONNS CHURN_WORKERS=$CHURN_WORKERS)"
    echo
    cat "$FACTS"
    echo "- load average (1/5/15 min) at each round start and at the end: $(IFS='|'; echo "${LOADS[*]}" | sed 's/|/; /g')"
    echo
    python3 - "$RES" "$ROUNDS" <<'PY'
import statistics, sys
from collections import defaultdict
rows = defaultdict(list)
by_round = {}
for line in open(sys.argv[1]):
    r, test, target, metric, value = line.rstrip("\n").split("\t")
    if value != "":
        rows[(test, metric, target)].append(float(value))
        by_round[(test, metric, target, r)] = float(value)
spec = [
    ("bulk1", "gbit_s", "bulk, 1 stream: Gbit/s", "higher"),
    ("bulk8", "gbit_s", "bulk, 8 streams: Gbit/s", "higher"),
    ("pgS", "tps", "pgbench -S -c 16: tps", "higher"),
    ("pgS", "latency_ms", "pgbench -S -c 16: latency ms", "lower"),
    ("pgC", "tps", "pgbench -S -C -c 8: tps (conn/s)", "higher"),
    ("churn", "conn_s", "connect/echo/close loop: conn/s", "higher"),
    ("idle", "bytes_per_conn", "RSS per idle connection: bytes", "lower"),
    ("idle", "rss_after_kib", "RSS with the idle connections: KiB", "lower"),
    ("bulk1", "cpu_s_per_gb", "proxy CPU s per GB, 1 stream", "lower"),
    ("bulk8", "cpu_s_per_gb", "proxy CPU s per GB, 8 streams", "lower"),
    ("pgS", "cpu_s_per_1k_tx", "proxy CPU s per 1k tx, pgbench -S", "lower"),
    ("pgC", "cpu_s_per_1k_tx", "proxy CPU s per 1k tx, pgbench -S -C", "lower"),
    ("churn", "cpu_s_per_1k_conn", "proxy CPU s per 1k conn, connect loop", "lower"),
]
def fmt(v):
    if v is None: return "–"
    a = abs(v)
    return f"{v:.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.2f}" if a >= 1 else f"{v:.4f}"
def cell(vals):
    if not vals: return "–", None
    m = statistics.median(vals)
    if len(vals) > 1:
        return f"{fmt(m)} [{fmt(min(vals))}–{fmt(max(vals))}]", m
    return fmt(m), m
def paired(test, metric):
    # Within a round HAProxy and haproxide run back to back: the ratio of each round
    # cancels the machine's slower drifts (other VMs on the host).
    rs = sorted({k[3] for k in by_round if k[:2] == (test, metric)})
    v = [by_round[(test, metric, "haproxide", r)] / by_round[(test, metric, "haproxy", r)]
         for r in rs if by_round.get((test, metric, "haproxy", r)) and (test, metric, "haproxide", r) in by_round]
    if not v: return "–"
    m = statistics.median(v)
    return f"{m:.2f} [{min(v):.2f}–{max(v):.2f}]" if len(v) > 1 else f"{m:.2f}"
print(f"Medians of {sys.argv[2]} rounds [min–max]. Ratio = haproxide / HAProxy (of the medians; "
      "per round: the median of each round's ratio [min–max]); "
      "the goal is ≥ 1.00 where higher is better and ≤ 1.00 where lower is better.")
print()
print("| metric | better | direct | HAProxy 2.6 | haproxide | haproxide / HAProxy | per round |")
print("|---|---|---|---|---|---|---|")
for test, metric, label, better in spec:
    cells = [cell(rows.get((test, metric, t), [])) for t in ("direct", "haproxy", "haproxide")]
    if all(c[1] is None for c in cells): continue
    h, x = cells[1][1], cells[2][1]
    ratio = f"{x / h:.2f}" if h and x is not None else "–"
    if ratio != "–":
        ok = (x / h >= 0.995) if better == "higher" else (x / h <= 1.005)
        ratio = ratio if ok else f"**{ratio}**"
    print(f"| {label} | {better} | {cells[0][0]} | {cells[1][0]} | {cells[2][0]} | {ratio} | {paired(test, metric)} |")
errs = {t: sum(rows.get(("churn", "errors", t), [])) for t in ("direct", "haproxy", "haproxide")}
if any(errs.values()):
    print(); print(f"Connect-loop errors (sum over rounds): {errs}")
fails = {t: sum(rows.get(("idle", "failed", t), [])) for t in ("haproxy", "haproxide")}
if any(fails.values()):
    print(); print(f"Idle-connection runs that failed: {fails}")
print()
print("Bold ratio: haproxide worse than HAProxy on that metric.")
PY
} >"$OUT"
echo >&2
cat "$OUT"
if [ -n "$REPORT" ]; then cp "$OUT" "$REPORT"; echo "report written to $REPORT" >&2; fi
