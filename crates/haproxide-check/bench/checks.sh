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
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; }

served() { awk '/^served/{n=$2} END{print n+0}' "$TMP/responder.err"; }

measure() { # name pid
  local name=$1 pid=$2
  sleep "$WARMUP"
  if [ ! -e "/proc/$pid/stat" ]; then
    echo "| $name | $N | ${INTER}ms | exited early | | | |"
    tail -5 "$TMP"/*.err >&2 || true
    return 0
  fi
  local c0; c0=$(cpu_ticks "$pid"); local s0; s0=$(served)
  sleep "$SECS"
  local c1; c1=$(cpu_ticks "$pid"); local s1; s1=$(served)
  local cpu; cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v s="$SECS" 'BEGIN{printf "%.2f", (b-a)/t*60/s}')
  local rate=$(( (s1 - s0) / SECS ))
  echo "| $name | $N | ${INTER}ms | $rate | $cpu | $(( $(rss_kb "$pid") / 1024 )) MiB | $(( $(hwm_kb "$pid") / 1024 )) MiB |"
}

"$BIN/bench_responder" "$PORT0" "$PORTS" 2>"$TMP/responder.err" & PIDS+=($!)
sleep 1

echo "| checker | servers | inter | checks/s | CPU s/min | RSS | peak RSS |"
echo "|---|---|---|---|---|---|---|"

"$BIN/bench_checker" "$N" "$INTER" "$PORT0" "$PORTS" 2>"$TMP/haproxide.err" & HX=$!; PIDS+=($HX)
measure "haproxide ($(nproc) threads)" "$HX"
kill "$HX"; wait "$HX" 2>/dev/null || true

if [ -x /usr/sbin/haproxy ]; then
  {
    printf 'global\n'
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
  echo "| HAProxy | not installed | | | | | |"
fi
echo
echo "machine: $(nproc) CPUs, $(uname -r); haproxide log: $(tail -1 "$TMP/haproxide.err" 2>/dev/null || true)"
