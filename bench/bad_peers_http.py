"""HTTP hostile peers for bench/bad-peers.py --http (issue 14, "must show" 5).

Scenarios, each against haproxide and HAProxy 2.6 in turn with the same configuration,
while an HTTP keep-alive witness sends one GET every 20 ms through its own frontend and
the proxy's RSS is sampled:
  - slowloris headers: clients send a head one header line per second; each must get
    HAProxy's 408 at `timeout http-request` (5 s) and be closed;
  - a chunked upload of --gb GiB (1 MiB chunks): streamed, the server counts the body
    bytes it received, the proxy's memory stays bounded;
  - --pipelined requests written back to back on one connection, all answered in order;
  - request heads over tune.bufsize (16 KB): 400 each;
  - a backend answering garbage: 502 each;
  - a backend closing mid-body: the client gets the head and part of the body, then the
    proxy closes its connection (nothing left hanging).
Outcomes are compared between the two proxies (the "= HAProxy" column).
"""

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CONFIG = """global
    maxconn 4000
    tune.bufsize 16384
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 5s
frontend witness
    bind 127.0.0.1:{p_wit}
    default_backend ok
frontend main
    bind 127.0.0.1:{p_main}
    default_backend ok
frontend garbage
    bind 127.0.0.1:{p_garbage}
    default_backend garbage
frontend cut
    bind 127.0.0.1:{p_cut}
    default_backend cut
backend ok
    server s 127.0.0.1:{s_ok}
backend garbage
    server s 127.0.0.1:{s_garbage}
backend cut
    server s 127.0.0.1:{s_cut}
"""


# --- servers (their own process) -----------------------------------------------------------

def parse_head(head):
    lines = head.split(b"\r\n")
    hdrs = {}
    for line in lines[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return hdrs


async def skip(reader, n):
    while n:
        d = await reader.read(min(n, 1 << 20))
        if not d:
            raise ConnectionError("eof in body")
        n -= len(d)


async def read_body(reader, hdrs):
    """Reads and discards the body; returns its length."""
    if b"chunked" in hdrs.get(b"transfer-encoding", b"").lower():
        total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return total
            await skip(reader, size)
            await reader.readexactly(2)
            total += size
    n = int(hdrs.get(b"content-length", b"0") or 0)
    await skip(reader, n)
    return n


async def serve_ok(reader, writer):
    """Keep-alive: answers each request with the number of body bytes it received."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            hdrs = parse_head(head)
            if hdrs.get(b"expect", b"").lower() == b"100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            n = await read_body(reader, hdrs)
            body = b"received=%d\n" % n
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError, ValueError):
        pass
    writer.close()


async def serve_garbage(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"garbage\r\n\r\n")
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
        pass
    writer.close()


async def serve_cut(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"c" * 1000)
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
        pass
    writer.close()


async def servers_main(ports):
    a = await asyncio.start_server(serve_ok, "127.0.0.1", ports[0], backlog=4096, limit=1 << 16)
    b = await asyncio.start_server(serve_garbage, "127.0.0.1", ports[1], backlog=1024)
    c = await asyncio.start_server(serve_cut, "127.0.0.1", ports[2], backlog=1024)
    print("ready", flush=True)
    async with a, b, c:
        await asyncio.Event().wait()


# --- clients -------------------------------------------------------------------------------

GET = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def read_response(s):
    """Reads one Content-Length response from a blocking socket: (status, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed before a response head")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    n = int(parse_head(head).get(b"content-length", b"0"))
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed in a response body")
        rest += d
    return status, rest[:n]


class Witness(threading.Thread):
    """An HTTP keep-alive client: one GET every 20 ms on one connection."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.rtts, self.error, self.stop_ev = port, [], None, threading.Event()

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not self.stop_ev.is_set():
                t = time.monotonic()
                s.sendall(GET)
                status, _ = read_response(s)
                if status != 200:
                    raise ConnectionError(f"witness got {status}")
                self.rtts.append(time.monotonic() - t)
                time.sleep(0.02)
            s.close()
        except Exception as e:  # noqa: BLE001 - any failure of the witness is the result
            self.error = repr(e)


def http_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(GET)
            return read_response(s)[0] == 200
    except (OSError, ValueError, IndexError):
        return False


def complete(buf):
    """Whether `buf` holds a whole Content-Length response."""
    if b"\r\n\r\n" not in buf:
        return False
    head, rest = buf.split(b"\r\n\r\n", 1)
    cl = parse_head(head).get(b"content-length")
    return cl is not None and cl.isdigit() and len(rest) >= int(cl)


async def first_status(r, within, wait_close=False):
    """Reads until EOF, a whole response (unless `wait_close`) or `within` s: (status of
    the first response or 0, bytes, closed)."""
    got, closed = b"", False
    end = time.monotonic() + within
    try:
        while time.monotonic() < end:
            d = await asyncio.wait_for(r.read(65536), max(0.01, end - time.monotonic()))
            if not d:
                closed = True
                break
            got += d
            if not wait_close and complete(got):
                break
    except (asyncio.TimeoutError, ConnectionError, OSError):
        pass
    status = 0
    if got.startswith(b"HTTP/1."):
        try:
            status = int(got.split(b" ", 2)[1])
        except (ValueError, IndexError):
            pass
    return status, got, closed


async def slowloris(port, n, seconds):
    """n clients send a head one header line per second; count 408s and closes."""
    async def one():
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return None
        w.write(b"GET / HTTP/1.1\r\nHost: bench\r\n")

        async def trickle():
            for i in range(seconds):
                await asyncio.sleep(1)
                try:
                    w.write(b"X-Slow-%d: x\r\n" % i)
                except (ConnectionError, OSError):
                    return
        t = asyncio.create_task(trickle())
        status, _, closed = await first_status(r, seconds + 5, wait_close=True)
        t.cancel()
        w.close()
        return status, closed
    t0 = time.monotonic()
    res = await asyncio.gather(*(one() for _ in range(n)))
    got = [x for x in res if x]
    return (n, sum(1 for st, c in got if st == 408 and c), len(got), time.monotonic() - t0)


def upload(port, gb):
    """One chunked POST of `gb` GiB in 1 MiB chunks; the server says what it received."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    t = time.monotonic()
    s.sendall(b"POST /up HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"100000\r\n" + b"\x5a" * (1 << 20) + b"\r\n"
    for _ in range(gb << 10):
        s.sendall(chunk)
    s.sendall(b"0\r\n\r\n")
    status, body = read_response(s)
    s.close()
    got = int(body.split(b"=")[1]) if body.startswith(b"received=") else -1
    return gb << 30, status, got, time.monotonic() - t


def pipelined(port, n):
    """n requests written back to back on one connection; count the 200s read back."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    req = b"GET /p HTTP/1.1\r\nHost: bench\r\n\r\n"
    t = time.monotonic()

    def writer():
        try:
            for i in range(0, n, 100):
                s.sendall(req * min(100, n - i))
        except OSError:
            pass
    th = threading.Thread(target=writer, daemon=True)
    th.start()
    count, tail, end = 0, b"", time.monotonic() + 60
    marker = b"HTTP/1.1 200 "
    try:
        while count < n and time.monotonic() < end:
            d = s.recv(1 << 16)
            if not d:
                break
            buf = tail + d
            count += buf.count(marker)
            tail = buf[-(len(marker) - 1):]
    except OSError:
        pass
    s.close()
    th.join(5)
    return n, count, time.monotonic() - t


async def many(port, n, make_request, within=10):
    """n clients (50 at a time) each send one request: [(status, bytes, closed)]."""
    sem = asyncio.Semaphore(50)

    async def one(i):
        async with sem:
            try:
                r, w = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return (-1, b"", False)
            try:
                w.write(make_request(i))
                await w.drain()
            except (ConnectionError, OSError):
                pass
            res = await first_status(r, within)
            w.close()
            return res
    return await asyncio.gather(*(one(i) for i in range(n)))


def big_head(i):
    return b"GET /h HTTP/1.1\r\nHost: bench\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n"


def judge(sname, res):
    if isinstance(res, str):
        return False, res
    if sname.startswith("slowloris"):
        n, ok408, connected, secs = res
        return ok408 == n, f"{ok408}/{n} got 408 and were closed ({connected} connected) in {secs:.1f} s"
    if sname.startswith("chunked upload"):
        sent, status, got, secs = res
        return status == 200 and got == sent, \
            f"status {status}, server received {got >> 20} of {sent >> 20} MiB, {sent / secs / 1e9:.2f} GB/s"
    if sname.startswith("pipelined"):
        n, count, secs = res
        return count == n, f"{count}/{n} answered 200 in {secs:.1f} s"
    kind, statuses = res
    n = len(statuses)
    if kind == "400":
        ok = sum(1 for st, _, _ in statuses if st == 400)
        return ok == n, f"{ok}/{n} answered 400"
    if kind == "502":
        ok = sum(1 for st, _, _ in statuses if st == 502)
        return ok == n, f"{ok}/{n} answered 502"
    closed = sum(1 for st, b, c in statuses if st == 200 and c and len(b) < 1000000)
    return closed == n, f"{closed}/{n} got 200 + part of the body, then a close"


def main(a, rss_kib, Sampler, free_ports):
    sp = free_ports(3)
    servers = subprocess.Popen([sys.executable, __file__, "--servers", *map(str, sp)],
                               stdout=subprocess.PIPE)
    procs, failed, rows, outcomes = [servers], [], [], {}
    try:
        if servers.stdout.readline().strip() != b"ready":
            sys.exit("servers did not start")
        pp = free_ports(4)
        cfg = CONFIG.format(p_wit=pp[0], p_main=pp[1], p_garbage=pp[2], p_cut=pp[3],
                            s_ok=sp[0], s_garbage=sp[1], s_cut=sp[2])
        tmp = tempfile.mkdtemp(prefix="haproxide-badpeers-http.")
        cfg_path = os.path.join(tmp, "bad-peers-http.cfg")
        with open(cfg_path, "w") as f:
            f.write(cfg)
        targets = [("haproxide", [a.haproxide]), ("haproxy", [a.haproxy])]
        if a.only:
            targets = [t for t in targets if t[0] == a.only]
        scen = [
            ("slowloris headers x%d" % a.slow, lambda: asyncio.run(slowloris(pp[1], a.slow, 8))),
            ("chunked upload %d GiB" % a.gb, lambda: upload(pp[1], a.gb)),
            ("pipelined x%d" % a.pipelined, lambda: pipelined(pp[1], a.pipelined)),
            ("head over tune.bufsize x100", lambda: ("400", asyncio.run(many(pp[1], 100, big_head)))),
            ("backend garbage x200",
             lambda: ("502", asyncio.run(many(pp[2], 200, lambda i: GET)))),
            ("backend closes mid-body x200",
             lambda: ("cut", asyncio.run(many(pp[3], 200, lambda i: GET)))),
        ]
        for sname, run in scen:
            for tname, cmd in targets:
                p = subprocess.Popen(cmd + ["-db", "-f", cfg_path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
                procs.append(p)
                deadline = time.monotonic() + 10
                while not http_answers(pp[0]):
                    if p.poll() is not None or time.monotonic() > deadline:
                        sys.exit(f"{tname} did not start: {p.stderr.read().decode(errors='replace') if p.poll() is not None else 'no answer'}")
                    time.sleep(0.1)
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
                alive = p.poll() is None and http_answers(pp[0])
                rss1 = rss_kib(p.pid) or 0
                ok, outcome = judge(sname, res)
                outcomes[(sname, tname)] = outcome
                rtt = wit.rtts
                rows.append([sname, tname, outcome, f"{secs:.1f}", rss0 or 0, sam.peak, rss1,
                             f"{1000 * statistics.median(rtt):.2f}" if rtt else "-",
                             f"{1000 * max(rtt):.1f}" if rtt else "-",
                             "yes" if alive else "NO", wit.error or "kept"])
                print(" | ".join(map(str, rows[-1])), file=sys.stderr, flush=True)
                if not alive or wit.error or not ok:
                    failed.append(f"{tname}: {sname}: alive={alive} witness={wit.error} {outcome}")
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        print("| scenario | proxy | outcome | s | RSS before KiB | peak KiB | after KiB "
              "| witness RTT p50 ms | max ms | proxy up | witness session | = HAProxy |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            theirs = outcomes.get((r[0], "haproxy"))
            # Timings differ run to run: compare the outcome up to its " in N s" / rate tail.
            def core(o):
                return o.split(" in ")[0].split(", ")[0] if o else o
            same = "-" if r[1] == "haproxy" or theirs is None else (
                "yes" if core(theirs) == core(r[2]) else "**no**")
            print("| " + " | ".join(map(str, r + [same])) + " |")
        print(f"\ncommand: {' '.join(sys.argv)}")
        for f in failed:
            print("FAILED:", f)
        return 1 if failed else 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--servers":
        import resource
        import signal
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        asyncio.run(servers_main([int(x) for x in sys.argv[2:5]]))
