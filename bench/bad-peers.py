#!/usr/bin/env python3
"""Bad peers against a running proxy: haproxide and HAProxy 2.6 side by side.

Issue 4 asks that a client sending 10 GB, slowloris clients, a backend that resets
mid-stream and 10,000 concurrent clients beyond maxconn leave the proxy up, its memory
bounded and the other sessions unaffected. Each scenario runs against each proxy in
turn, with the same configuration, while a "witness" client keeps an interactive echo
session open through the proxy and measures its round trips (one every 20 ms). The
proxy's RSS is sampled every 50 ms from /proc.

With --http (issue 14), the same harness in `mode http`: slowloris headers (each client
must get HAProxy's 408 at `timeout http-request`), a chunked upload of --gb GiB (streamed:
the server counts what arrives, the proxy's RSS stays flat), 10,000 pipelined requests on
one connection, request heads over tune.bufsize (400), a backend answering garbage (502)
and one closing mid-body (the client's connection must be closed, not left hanging); the
witness is an HTTP keep-alive client (one GET every 20 ms). Each outcome is printed for
both proxies and marked when haproxide's differs from HAProxy's.

Usage: bench/bad-peers.py [--haproxide BIN] [--haproxy BIN] [--gb 10] [--clients 10000]
                          [--slow 2000] [--resets 200] [--only haproxide|haproxy]
       bench/bad-peers.py --http [--gb 1] [--slow 500] [--pipelined 10000] [--only ...]

Output: one Markdown table (per scenario and proxy: outcome, peak RSS, RSS after, witness
round trips p50/max), the command line, and a non-zero exit if any proxy died or a hard
property failed (the witness lost its session, the proxy stopped answering, a scenario's
sessions were not all served).
"""

import argparse
import asyncio
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CHUNK = 1 << 20


# --- servers (a separate process so their CPU is not the clients') ----------------------

async def serve_echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def serve_sink(reader, writer):
    n = 0
    try:
        while True:
            data = await reader.read(1 << 18)
            if not data:
                break
            n += len(data)
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.write(f"{n}\n".encode())
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        writer.close()


async def serve_reset(reader, writer):
    """Reads 64 KiB, answers a little, then resets the connection (SO_LINGER 0)."""
    try:
        await reader.readexactly(65536)
        writer.write(b"x" * 1000)
        await writer.drain()
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        pass
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    writer.transport.abort()


async def servers_main(ports):
    echo = await asyncio.start_server(serve_echo, "127.0.0.1", ports[0], backlog=4096)
    sink = await asyncio.start_server(serve_sink, "127.0.0.1", ports[1], backlog=1024)
    rst = await asyncio.start_server(serve_reset, "127.0.0.1", ports[2], backlog=1024)
    print("ready", flush=True)
    async with echo, sink, rst:
        await asyncio.Event().wait()


# --- measurement helpers --------------------------------------------------------------------

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop_ev = pid, 0, threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            r = rss_kib(self.pid)
            if r:
                self.peak = max(self.peak, r)
            time.sleep(0.05)


class Witness(threading.Thread):
    """An interactive session through the proxy: 16 bytes out, 16 back, every 20 ms."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.rtts, self.error, self.stop_ev = port, [], None, threading.Event()

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not self.stop_ev.is_set():
                t = time.monotonic()
                s.sendall(b"0123456789abcdef")
                got = b""
                while len(got) < 16:
                    d = s.recv(16 - len(got))
                    if not d:
                        raise ConnectionError("witness session closed by the proxy")
                    got += d
                self.rtts.append(time.monotonic() - t)
                time.sleep(0.02)
            s.close()
        except Exception as e:  # noqa: BLE001 - any failure of the witness is the result
            self.error = repr(e)


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"ping")
            return s.recv(4) == b"ping"
    except OSError:
        return False


# --- scenarios ---------------------------------------------------------------------------------

def big_upload(port, gb):
    """One client sends `gb` GiB to the sink backend; returns (sent, acknowledged, seconds)."""
    total = gb << 30
    buf = b"\x5a" * CHUNK
    t = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = 0
    while sent < total:
        s.sendall(buf)
        sent += len(buf)
    s.shutdown(socket.SHUT_WR)
    ack = b""
    while True:
        d = s.recv(100)
        if not d:
            break
        ack += d
    s.close()
    return sent, int(ack.strip() or b"0"), time.monotonic() - t


async def slowloris(port, n, seconds):
    """n clients each trickle one byte every second; count those still open at the end."""
    conns = []
    for _ in range(n):
        try:
            conns.append(await asyncio.open_connection("127.0.0.1", port))
        except OSError:
            pass
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _, w in conns:
            try:
                w.write(b"a")
            except (ConnectionError, OSError):
                pass
        await asyncio.sleep(1)
    alive = 0
    for r, w in conns:
        try:
            w.write(b"b")
            await w.drain()
            d = await asyncio.wait_for(r.read(1), 5)
            alive += bool(d)
        except (ConnectionError, OSError, asyncio.TimeoutError):
            pass
        w.close()
    return len(conns), alive


async def resets(port, n):
    """n sessions whose server resets after 64 KiB; count how many the proxy closed."""
    async def one():
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(b"y" * 65536)
            await w.drain()
            while await asyncio.wait_for(r.read(65536), 10):
                pass
            w.close()
            return True
        except (ConnectionError, OSError):
            return True  # a reset passed on to the client is a correct outcome too
        except asyncio.TimeoutError:
            return False  # the proxy left the client hanging
    res = await asyncio.gather(*(one() for _ in range(n)))
    return n, sum(res)


async def crowd(port, n):
    """n clients at once (beyond maxconn): each sends 4 bytes and waits for the echo."""
    sem_open = asyncio.Semaphore(2000)  # pace the SYNs a little; all stay connected

    async def one(i):
        async with sem_open:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            except (OSError, asyncio.TimeoutError):
                return None
        try:
            w.write(b"%04d" % (i % 10000))
            await w.drain()
            d = await asyncio.wait_for(r.readexactly(4), 60)
            w.close()
            return d == b"%04d" % (i % 10000)
        except (ConnectionError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            return False
    t = time.monotonic()
    res = await asyncio.gather(*(one(i) for i in range(n)))
    return n, sum(1 for x in res if x), sum(1 for x in res if x is None), time.monotonic() - t


# --- proxies -----------------------------------------------------------------------------------

CONFIG = """global
    maxconn {maxconn}
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout queue 60s
frontend witness
    bind 127.0.0.1:{p_wit}
    maxconn 10
    default_backend echo
frontend bulk
    bind 127.0.0.1:{p_bulk}
    default_backend sink
frontend slow
    bind 127.0.0.1:{p_slow}
    timeout client 10s
    default_backend echo
frontend resets
    bind 127.0.0.1:{p_rst}
    default_backend rst
frontend crowd
    bind 127.0.0.1:{p_crowd}
    backlog 16384
    maxconn 1000
    default_backend echo
backend echo
    server e 127.0.0.1:{s_echo}
backend sink
    server s 127.0.0.1:{s_sink}
backend rst
    server r 127.0.0.1:{s_rst}
"""


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def start_proxy(cmd, cfg_path, port):
    p = subprocess.Popen(cmd + ["-db", "-f", cfg_path], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited: {p.stderr.read().decode(errors='replace')}")
        if answers(port):
            return p
        time.sleep(0.1)
    p.kill()
    raise RuntimeError(f"{cmd[0]} did not answer within 10 s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--haproxide", default=os.environ.get("HAPROXIDE", "target/release/haproxide"))
    ap.add_argument("--haproxy", default=os.environ.get("HAPROXY", "/usr/sbin/haproxy"))
    ap.add_argument("--gb", type=int, default=10)
    ap.add_argument("--clients", type=int, default=10000)
    ap.add_argument("--slow", type=int, default=2000)
    ap.add_argument("--slow-seconds", type=int, default=15)
    ap.add_argument("--resets", type=int, default=200)
    ap.add_argument("--only", choices=["haproxide", "haproxy"])
    ap.add_argument("--http", action="store_true", help="the HTTP scenarios (bad_peers_http.py)")
    ap.add_argument("--pipelined", type=int, default=10000)
    a = ap.parse_args()
    if a.http:
        import bad_peers_http
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        return bad_peers_http.main(a, rss_kib, Sampler, free_ports)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = a.clients + 500  # the clients' sockets; the proxy holds at most maxconn 1000 of them
    if hard < need:
        sys.exit(f"fd limit {hard} < {need}: raise it (ulimit -Hn) or lower --clients")

    sp = free_ports(3)
    servers = subprocess.Popen([sys.executable, __file__, "--servers", *map(str, sp)],
                               stdout=subprocess.PIPE)
    procs = [servers]
    failed = []
    rows = []
    try:
        if servers.stdout.readline().strip() != b"ready":
            sys.exit("servers did not start")
        pp = free_ports(5)
        cfg = CONFIG.format(maxconn=4000, p_wit=pp[0], p_bulk=pp[1], p_slow=pp[2],
                            p_rst=pp[3], p_crowd=pp[4], s_echo=sp[0], s_sink=sp[1], s_rst=sp[2])
        tmp = tempfile.mkdtemp(prefix="haproxide-badpeers.")
        cfg_path = os.path.join(tmp, "bad-peers.cfg")
        with open(cfg_path, "w") as f:
            f.write(cfg)
        targets = [("haproxide", [a.haproxide]), ("haproxy", [a.haproxy])]
        if a.only:
            targets = [t for t in targets if t[0] == a.only]
        scen = [
            ("upload %d GiB" % a.gb, lambda: big_upload(pp[1], a.gb)),
            ("slowloris %d x 1 B/s" % a.slow,
             lambda: asyncio.run(slowloris(pp[2], a.slow, a.slow_seconds))),
            ("server resets x%d" % a.resets, lambda: asyncio.run(resets(pp[3], a.resets))),
            ("%d clients, maxconn 1000" % a.clients,
             lambda: asyncio.run(crowd(pp[4], a.clients))),
        ]
        for sname, run in scen:
            for tname, cmd in targets:
                p = start_proxy(cmd, cfg_path, pp[0])
                procs.append(p)
                rss0 = rss_kib(p.pid)
                sam, wit = Sampler(p.pid), Witness(pp[0])
                sam.start()
                wit.start()
                time.sleep(0.2)
                t = time.monotonic()
                try:
                    res = run()
                except Exception as e:  # noqa: BLE001 - reported as the outcome
                    res = f"error: {e!r}"
                secs = time.monotonic() - t
                time.sleep(0.5)
                wit.stop_ev.set()
                wit.join(10)
                sam.stop_ev.set()
                sam.join(2)
                alive = p.poll() is None and answers(pp[0])
                rss1 = rss_kib(p.pid) or 0
                ok, outcome = judge(sname, res)
                rtt = wit.rtts
                row = (sname, tname, outcome, f"{secs:.1f}", rss0 or 0, sam.peak, rss1,
                       f"{1000 * statistics.median(rtt):.2f}" if rtt else "-",
                       f"{1000 * max(rtt):.1f}" if rtt else "-",
                       "yes" if alive else "NO", wit.error or "kept")
                rows.append(row)
                print(" | ".join(map(str, row)), file=sys.stderr, flush=True)
                if not alive or wit.error or not ok:
                    failed.append(f"{tname}: {sname}: alive={alive} witness={wit.error} {outcome}")
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        print("| scenario | proxy | outcome | s | RSS before KiB | peak KiB | after KiB "
              "| witness RTT p50 ms | max ms | proxy up | witness session |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print("| " + " | ".join(map(str, r)) + " |")
        print(f"\ncommand: {' '.join(sys.argv)}")
        for f in failed:
            print("FAILED:", f)
        return 1 if failed else 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def judge(sname, res):
    if isinstance(res, str):
        return False, res
    if sname.startswith("upload"):
        sent, ack, secs = res
        return ack == sent, f"{sent >> 20} MiB sent, {ack >> 20} MiB received, {sent / secs / 1e9:.2f} GB/s"
    if sname.startswith("slowloris"):
        n, alive = res
        # 1 byte per second keeps each client within `timeout client 10s`: all stay served.
        return alive == n, f"{n} connected, {alive} still served"
    if sname.startswith("server resets"):
        n, closed = res
        return closed == n, f"{closed}/{n} clients closed by the proxy"
    n, served, unconnected, secs = res
    return served == n, f"{served}/{n} served ({unconnected} not connected) in {secs:.1f} s"


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--servers":
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        asyncio.run(servers_main([int(x) for x in sys.argv[2:5]]))
    else:
        sys.exit(main())
