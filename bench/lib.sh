# Shared prelude of the HAProxy-vs-haproxide benches (source it from bench/*.sh, after
# `set -euo pipefail`). It defines:
#   ROOT HAPROXY NGINX CLK_TCK          the checkout, the binaries, clock ticks per second
#   bench_need TOOL...                  exit 2 naming the first missing tool
#   bench_binary BUILD                  sets HAPROXIDE: $HAPROXIDE if set, else the release
#                                       binary, built first when BUILD=1
#   bench_tmp NAME                      sets TMP (a fresh temp dir) and an EXIT trap that
#                                       stops every pid in PIDS and removes TMP
#   free_ports N                        N free loopback ports below the ephemeral range
#   wait_port PORT SECONDS              until 127.0.0.1:PORT accepts (fails after SECONDS)
#   stop_pid PID                        TERM, then KILL after 5 s
#   cpu_ticks PID / rss_kib PID         utime+stime in ticks / VmRSS in KiB
#   loadavg                             the 1, 5 and 15 minute load averages
#   start_origin PORT                   nginx (2 workers, no access log) answering
#                                       /small ("ok\n"), /1mb (1 MiB) and /post (body read)
#   start_log_sink PORT [COUNT_FILE]    a UDP syslog sink (counts datagrams into COUNT_FILE)
#   h2_bench_cfg FILE LOG ORIGIN BIND.. the HTTP/2 benches' proxy configuration
#   start_h2_proxy PROG PORT URL        PROG on $TMP/proxy.cfg, waited for on PORT, warmed up
#                                       (h2load -n 2000 -c C -m M URL); sets PROXY_PID
#   tls_bench_files DIR ...             the TLS benches' certificates and configuration
#   strace_during PID FILE COMMAND...   COMMAND's output, `strace -c -f -p PID -o FILE` meanwhile
#   strace_per FILE N LABEL UNIT        an `strace -c` summary as system calls per UNIT
#   tls_target TEST                     `tlsload hs` arguments of a TLS bench test
# Every process started goes into PIDS; every wait is bounded.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
NGINX=${NGINX:-/usr/sbin/nginx}
CLK_TCK=$(getconf CLK_TCK)
PIDS=()

bench_need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "missing: $t (scripts/install-deps installs it)" >&2; exit 2; }
    done
    [ -x "$HAPROXY" ] || { echo "haproxy not found: $HAPROXY" >&2; exit 2; }
}

bench_binary() { # BUILD
    if [ -z "${HAPROXIDE:-}" ]; then
        if [ "$1" = 1 ]; then (cd "$ROOT" && cargo build --release -q -p haproxide); fi
        HAPROXIDE=${CARGO_TARGET_DIR:-$ROOT/target}/release/haproxide
    fi
    [ -x "$HAPROXIDE" ] || { echo "haproxide binary not found: $HAPROXIDE (cargo build --release -p haproxide)" >&2; exit 2; }
    # Both proxies may hold thousands of connections.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

bench_cleanup() {
    set +e
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    [ -n "${TMP:-}" ] && rm -rf "$TMP"
}

bench_tmp() { # NAME
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/haproxide-$1.XXXXXX")
    chmod 755 "$TMP" # nginx workers may run as another user
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

free_ports() { # N
    python3 - "$1" <<'PY'
import random, socket, sys
# Below the ephemeral range: no outgoing connection can take one before a proxy binds it.
n = int(sys.argv[1])
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
cands = list(range(10000, max(lo, 10000 + 4 * n)))
random.shuffle(cands)
ports = []
for p in cands:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); ports.append(p)
    except OSError:
        pass
    finally:
        s.close()
    if len(ports) == n:
        break
print(" ".join(map(str, ports)))
PY
}

wait_port() { # PORT SECONDS
    local end=$((SECONDS + $2))
    while [ $SECONDS -lt $end ]; do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 did not open within $2 s" >&2
    return 1
}

stop_pid() { # PID
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
    kill -9 "$1" 2>/dev/null || true
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

start_origin() { # PORT
    [ -x "$NGINX" ] || { echo "nginx not found: $NGINX (apt-get install -y nginx-light)" >&2; exit 2; }
    mkdir -p "$TMP/www" "$TMP/nginx"
    head -c 1048576 /dev/zero | tr '\0' 'x' >"$TMP/www/1mb"
    cat >"$TMP/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body; proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fcgi; uwsgi_temp_path $TMP/nginx/uwsgi; scgi_temp_path $TMP/nginx/scgi;
    keepalive_requests 1000000; keepalive_timeout 300s;
    client_max_body_size 10m; client_body_buffer_size 1m;
    server {
        # reuseport: each worker its own accept queue, the kernel spreading the
        # proxy's server connections by their addresses. Without it one nginx worker
        # took most of a burst of connections (measured 40/10, 45/5, 39/11, 37/13 of
        # the 50 keep-alive server connections, for both proxies): that worker, not
        # the proxy, set the tail latency of the round.
        listen 127.0.0.1:$1 reuseport;
        location = /small { default_type text/plain; return 200 "ok\n"; }
        location = /1mb { root $TMP/www; rewrite ^ /1mb break; default_type application/octet-stream; }
        # nginx reads and discards the body of a POST answered by 'return'.
        location = /post { default_type text/plain; return 200 "ok\n"; }
    }
}
EOF
    "$NGINX" -c "$TMP/nginx.conf" -p "$TMP/nginx" >"$TMP/nginx.log" 2>&1 &
    PIDS+=($!)
    wait_port "$1" 10
}

start_h2_proxy() { # PROG PORT URL
    "$1" -db -f "$TMP/proxy.cfg" >"$TMP/proxy.log" 2>&1 &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    wait_port "$2" 30
    h2load -n 2000 -c "${C:-20}" -m "${M:-10}" "$3" >/dev/null 2>&1 || true
}

start_log_sink() { # PORT [COUNT_FILE]
    python3 - "$1" "${2:-/dev/null}" <<'PY' &
import socket, sys, time
# Counts the datagrams, writes the count every 0.5 s.
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.settimeout(0.5)
n, last = 0, 0.0
while True:
    try:
        s.recv(65536); n += 1
    except socket.timeout:
        pass
    if time.monotonic() - last > 0.5 and sys.argv[2] != "/dev/null":
        open(sys.argv[2], "w").write(str(n)); last = time.monotonic()
PY
    PIDS+=($!)
}

# The total instructions of a callgrind dump and its calls to malloc (bench/*-callgrind.sh).
callgrind_count() { # CALLGRIND_FILE -> "instructions malloc_calls"
    python3 - "$1" <<'PY'
import re, sys
names, tot, ir, target, take = {}, 0, 0, None, False
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3).strip()
        if m.group(1) == "cfn":
            target = names.get(m.group(2))
        continue
    if line.startswith("summary:") or line.startswith("totals:"):
        ir = int(line.split()[1])
    if line.startswith("calls=") and target == "malloc":
        tot += int(line.split("=")[1].split()[0])
print(ir, tot)
PY
}

http1_bench_cfg() { # FILE LOG_PORT FRONTEND_PORT ORIGIN_PORT
    # The HTTP/1 per-request measurements' proxy configuration (http1-callgrind.sh,
    # http1-syscalls.sh): the bench's features (httplog, forwardfor, 3 header rules),
    # the same for both proxies.
    cat >"$1" <<CFG
global
    maxconn 5000
    nbthread 2
    log 127.0.0.1:$2 local0 info
defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:$3
    http-request set-header X-Bench haproxide-bench
    http-request del-header X-Remove-Me
    http-response set-header X-Served-By proxy
    default_backend be
backend be
    server o1 127.0.0.1:$4
CFG
}

h2_bench_cfg() { # FILE LOG_PORT ORIGIN_PORT BIND_LINE...
    # The HTTP/2 benches' proxy configuration (h2-vs-haproxy.sh, h2-callgrind.sh,
    # h2-syscalls.sh): httplog to the UDP sink, nbthread 2, one origin; each
    # BIND_LINE a `bind` line of the frontend. The same for both proxies.
    local file=$1 log=$2 origin=$3 binds
    shift 3
    binds=$(printf '    %s\n' "$@")
    cat >"$file" <<CFG
global
    maxconn 5000
    nbthread 2
    no strict-limits
    log 127.0.0.1:$log local0 info
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
$binds
    default_backend be
backend be
    server o1 127.0.0.1:$origin
CFG
}

tls_bench_files() { # DIR NBTHREAD ECHO_PORT EC_PORT RSA_PORT TIMEOUT CONNECT_TIMEOUT
    # The TLS benches' certificates (self-signed ECDSA P-256 and RSA-2048, CN
    # bench.example: DIR/ec.pem, DIR/rsa.pem) and proxy configuration (DIR/tls.cfg:
    # TCP mode, one `bind ... ssl crt` per certificate type in front of the echo
    # backend, default TLS settings), the same for both proxies
    # (tls-vs-haproxy.sh, tls-callgrind.sh, tls-syscalls.sh).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ec.key" \
        -out "$1/ec.crt" -subj /CN=bench.example -days 2 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/rsa.key" -out "$1/rsa.crt" \
        -subj /CN=bench.example -days 2 2>/dev/null
    cat "$1/ec.crt" "$1/ec.key" >"$1/ec.pem"
    cat "$1/rsa.crt" "$1/rsa.key" >"$1/rsa.pem"
    cat >"$1/tls.cfg" <<CFG
global
    nbthread $2
    maxconn 4000
defaults
    mode tcp
    timeout client $6
    timeout server $6
    timeout connect $7
frontend ec
    bind 127.0.0.1:$4 ssl crt $1/ec.pem
    default_backend echo
frontend rsa
    bind 127.0.0.1:$5 ssl crt $1/rsa.pem
    default_backend echo
backend echo
    server s 127.0.0.1:$3
CFG
}

tls_target() { # TEST -> "ADDR [resume]" (with tls_bench_files' EC and RSA ports in PEC, PRSA)
    case $1 in
        full-ec) echo "127.0.0.1:$PEC" ;;
        full-rsa) echo "127.0.0.1:$PRSA" ;;
        resumed) echo "127.0.0.1:$PEC resume" ;;
        *) echo "unknown test: $1" >&2; return 2 ;;
    esac
}

strace_during() { # PID STRACE_C_FILE COMMAND...
    strace -c -f -p "$1" -o "$2" 2>/dev/null &
    local spid=$!
    shift 2
    sleep 1
    "$@" || true
    sleep 0.5
    kill -INT "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
}

strace_per() { # STRACE_C_FILE N LABEL UNIT
    # `strace -c -o FILE` divided by N (requests, handshakes): the total and each
    # call at 0.005 or more per UNIT, with how many of them failed (EAGAIN...).
    python3 - "$@" <<'PY'
import sys
path, n, label, unit = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = []
for line in open(path):
    f = line.split()
    # % time, seconds, usecs/call, calls, [errors], syscall
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        errs = int(f[4]) if len(f) == 6 else 0
        rows.append((int(f[3]), errs, f[-1]))
total = sum(c for c, _, _ in rows)
rows.sort(reverse=True)
print(f"{label}: {total / n:.2f} syscalls per {unit} over {n} {unit}s")
print("  " + ", ".join(
    f"{name} {c / n:.2f}" + (f" ({e / n:.2f} failed)" if e else "")
    for c, e, name in rows if c / n >= 0.005))
PY
}
