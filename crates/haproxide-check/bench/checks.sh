#!/usr/bin/env bash
# Health-check scale benchmark: N servers checked with `option httpchk` at
# `inter` against a local HTTP/1.0 responder, by haproxide and by HAProxy with
# the same settings. Reports CPU seconds per minute (utime+stime of the
# checker process only; the responder is a separate process) and RSS.
# Usage: crates/haproxide-check/bench/checks.sh [servers] [inter-ms] [seconds]
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${1:-10000}
INTER=${2:-1000}
SECS=${3:-60}
WARMUP=${WARMUP:-10}
PORT0=24000
PORTS=10
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-check}
ulimit -n 65536 || true
cargo build -q --release -p haproxide-check --example bench_responder --example bench_checker
BIN="$CARGO_TARGET_DIR/release/examples"
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
TCK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; }

served() { awk '/^served/{n=$2} END{print n+0}' "$TMP/responder.err"; }

# Average last check duration, from haproxide's log line or HAProxy's
# `show stat` (needs python3 for the stats socket; "-" otherwise).
check_ms() { # name
  case $1 in
    haproxide*) sed -n 's/.*last check duration avg \([0-9.]*\) ms.*/\1/p' "$TMP/haproxide.err" | tail -1 ;;
    *) command -v python3 >/dev/null && python3 - "$TMP/haproxy.sock" <<'PY' || echo "-"
import csv, io, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
d = b""
while True:
    x = s.recv(65536)
    if not x:
        break
    d += x
rows = list(csv.reader(io.StringIO(d.decode().lstrip("# "))))
i = rows[0].index("check_duration")
v = [int(r[i]) for r in rows[1:] if len(r) > i and r[i].isdigit()]
print("%.1f" % (sum(v) / max(len(v), 1)))
PY
    ;;
  esac
}

measure() { # name pid
  local name=$1 pid=$2
  sleep "$WARMUP"
  if [ ! -e "/proc/$pid/stat" ]; then
    echo "| $name | $N | ${INTER}ms | exited early | | | | | | |"
    tail -5 "$TMP"/*.err >&2 || true
    return 0
  fi
  local c0; c0=$(cpu_ticks "$pid"); local s0; s0=$(served); local u0; u0=$(user_ticks "$pid")
  sleep "$SECS"
  local c1; c1=$(cpu_ticks "$pid"); local s1; s1=$(served); local u1; u1=$(user_ticks "$pid")
  local cpu; cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v s="$SECS" 'BEGIN{printf "%.2f", (b-a)/t*60/s}')
  local rate=$(( (s1 - s0) / SECS ))
  local user; user=$(awk -v a="$u0" -v b="$u1" -v t="$TCK" -v s="$SECS" 'BEGIN{printf "%.2f", (b-a)/t*60/s}')
  local per; per=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v n="$((s1 - s0))" 'BEGIN{ if (n > 0) printf "%.1f", (b-a)/t*1e6/n; else print "-" }')
  echo "| $name | $N | ${INTER}ms | $rate | $(check_ms "$name") ms | $cpu | $user | $per | $(( $(rss_kb "$pid") / 1024 )) MiB | $(( $(hwm_kb "$pid") / 1024 )) MiB |"
}

"$BIN/bench_responder" "$PORT0" "$PORTS" 2>"$TMP/responder.err" & RP=$!; PIDS+=($RP)
sleep 1
if ! kill -0 "$RP" 2>/dev/null; then
  echo "bench: the responder could not start (ports $PORT0.. in use?):" >&2
  cat "$TMP/responder.err" >&2
  exit 1
fi

echo "| checker | servers | inter | checks/s done | avg check duration | CPU s/min (user+sys) | of which user | CPU µs/check | RSS | peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"

"$BIN/bench_checker" "$N" "$INTER" "$PORT0" "$PORTS" 2>"$TMP/haproxide.err" & HX=$!; PIDS+=($HX)
measure "haproxide ($(nproc) threads)" "$HX"
kill "$HX"; wait "$HX" 2>/dev/null || true

if [ -x /usr/sbin/haproxy ]; then
  {
    printf 'global\n  stats socket %s\n' "$TMP/haproxy.sock"
    printf 'defaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\n  timeout check 5s\n'
    printf 'frontend f\n  bind 127.0.0.1:%d\n  default_backend be0\n' $((PORT0 + PORTS + 1))
    for ((i = 0; i < N; i++)); do
      if (( i % 1000 == 0 )); then printf 'backend be%d\n  option httpchk\n' $((i / 1000)); fi
      printf '  server s%d 127.0.0.1:%d check inter %dms\n' "$i" $((PORT0 + i % PORTS)) "$INTER"
    done
  } > "$TMP/haproxy.cfg"
  /usr/sbin/haproxy -db -f "$TMP/haproxy.cfg" >/dev/null 2>"$TMP/haproxy.err" & HP=$!; PIDS+=($HP)
  measure "HAProxy $(/usr/sbin/haproxy -v | awk 'NR==1{print $3}')" "$HP"
else
  echo "| HAProxy | not installed | | | | | | | | |"
fi
echo
echo "machine: $(nproc) CPUs, $(uname -r), load average at end: $(cut -d' ' -f1-3 /proc/loadavg); haproxide log: $(tail -1 "$TMP/haproxide.err" 2>/dev/null || true)"
