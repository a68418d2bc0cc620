#!/usr/bin/env bash
# A/B of `pgbench -S -c 16 -j 2` through several proxies, interleaved, a fresh proxy
# process per run (nbthread 2, or NBT=N), against a throwaway PostgreSQL 15 cluster.
#   bench/pg-ab.sh ROUNDS SECONDS LABEL=BINARY ...     (BINARY "haproxy" = /usr/sbin/haproxy)
# Prints per run: round, label, tps, proxy CPU ms per 1,000 transactions; then medians.
# PERF=1 adds per-transaction context switches, syscalls, epoll_wait, futex (perf stat);
# THR=1 adds each thread's CPU ticks. Needs root (runs PostgreSQL as `postgres`).
set -euo pipefail
ROUNDS=$1 T=$2; shift 2
PGBIN=/usr/lib/postgresql/15/bin
TMP=$(mktemp -d /tmp/pgab.XXXX); chmod 755 $TMP
PGDATA=$TMP/pg; P_PG=25432; P_X=25433
cleanup() { set +e; timeout 20 runuser -u postgres -- $PGBIN/pg_ctl -D $PGDATA -m immediate -w stop >/dev/null 2>&1; [ -n "${PP:-}" ] && kill -9 $PP 2>/dev/null; rm -rf $TMP; }
trap cleanup EXIT
mkdir -p $PGDATA $TMP/sock && chown postgres: $PGDATA $TMP/sock
runuser -u postgres -- $PGBIN/initdb -D $PGDATA -A trust -U postgres >/dev/null
runuser -u postgres -- $PGBIN/pg_ctl -D $PGDATA -l $PGDATA/log -w -t 30 -o "-c listen_addresses=127.0.0.1 -p $P_PG -c unix_socket_directories=$TMP/sock -c fsync=off -c synchronous_commit=off" start >/dev/null
$PGBIN/pgbench -h 127.0.0.1 -U postgres -p $P_PG -i -s 1 -q postgres >/dev/null 2>&1
cat > $TMP/cfg <<C
global
    maxconn 20000
    nbthread ${NBT:-2}
    no strict-limits
defaults
    mode tcp
    timeout connect 5s
    timeout client 10m
    timeout server 10m
listen pg
    bind 127.0.0.1:$P_X
    server s1 127.0.0.1:$P_PG
C
ulimit -n 20000
for r in $(seq $ROUNDS); do
  for spec in "$@"; do
    label=${spec%%=*}; bin=${spec#*=}; [ "$bin" = haproxy ] && bin=/usr/sbin/haproxy
    $bin -db -f $TMP/cfg >/dev/null 2>&1 & PP=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$P_X) 2>/dev/null && break; sleep 0.05; done
    c0=$(awk '{print $14+$15}' /proc/$PP/stat)
    if [ -n "${PERF:-}" ]; then perf stat -x, -e context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex -p $PP -o $TMP/perf.txt & PF=$!; fi
    out=$($PGBIN/pgbench -h 127.0.0.1 -U postgres -p $P_X -S -c 16 -j 2 -T $T postgres 2>&1)
    c1=$(awk '{print $14+$15}' /proc/$PP/stat)
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    extra=
    if [ -n "${PERF:-}" ]; then kill -INT $PF; wait $PF || true; extra=$(awk -F, -v n=$n '$3!="" {split($3,a,":"); printf " %s=%.2f", a[length(a)], $1/n}' $TMP/perf.txt); fi
    if [ -n "${THR:-}" ]; then extra="$extra thr=$(for t in /proc/$PP/task/*; do awk '{printf "%s:%d,", $2, $14+$15}' $t/stat; done)"; fi
    kill $PP; wait $PP 2>/dev/null || true; PP=
    echo -e "$r\t$label\t$tps\t$(awk -v c=$((c1-c0)) -v n=$n 'BEGIN{printf "%.2f", c*10/(n/1000)}')$extra"
  done
done | tee $TMP/res
echo "== medians (tps, cpu ms per 1k tx)"
python3 - $TMP/res <<'P'
import sys,statistics as st
d={}
for l in open(sys.argv[1]):
    r,lab,tps,cpu=l.split("\t")[:4]; d.setdefault(lab,[]).append((float(tps),float(cpu.split()[0])))
for k,v in d.items(): print(k, round(st.median(x[0] for x in v)), round(st.median(x[1] for x in v),2), "n=",len(v))
P
