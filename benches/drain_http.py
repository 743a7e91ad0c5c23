#!/usr/bin/env python3
"""End-to-end cost of draining (issue 11), over loopback only.

Starts the release build of the store example on 127.0.0.1 (a port the OS picks), creates one
item, then on ONE keep-alive connection sends, ROUNDS times:

  PUT /items/bench-item, If-Match: <stale tag>, Content-Length: BODY_MIB MiB, written whole
      before reading (as Python's http.client or Node's http do)  -> expects 412, no
      `Connection: close`
  GET /items/bench-item, If-None-Match: <current tag>             -> expects 304

A reset, an EOF or a `Connection: close` counts as a reconnect (the connection is re-opened and
the loop goes on). The server's CPU time (the sum of its threads' schedstat run time, with
user + system from /proc/PID/stat beside it) is read before and after each phase: first REFERENCE small 304 GETs alone (the per-request cost, no body), then the
PUT/GET pairs; CPU per MiB drained = (pairs' CPU - 2 x ROUNDS x one 304 GET's CPU) / MiB
drained: the PUT's own fixed cost is taken as a small request's. For scale, a floor: a Python
child process reading the same bytes over loopback into one 64 KiB buffer (its own CPU time).

Usage: python3 benches/drain_http.py        (builds nothing: run
       `cargo build --release --example store` first)
Environment: ROUNDS=50 BODY_MIB=8 REFERENCE=20000 STORE=target/release/examples/store
"""

import os
import re
import socket
import subprocess
import sys
import time

ROUNDS = int(os.environ.get("ROUNDS", "50"))
BODY_MIB = int(os.environ.get("BODY_MIB", "8"))
REFERENCE = int(os.environ.get("REFERENCE", "20000"))
STORE = os.environ.get("STORE", "target/release/examples/store")
STALE = '"0000000000000000000000000000dead"'
PATH = "/items/bench-item"
TIMEOUT = 20.0

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """CPU time of the process, in seconds, from /proc/PID/stat (utime + stime, whole clock
    ticks, so 10 ms steps) and, finer, the sum of its threads' /proc/PID/task/TID/schedstat
    (nanoseconds on a CPU); returns the pair (stat, schedstat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the comm field.
    ticks = (int(fields[11]) + int(fields[12])) / CLK_TCK
    ns = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
        except FileNotFoundError:
            pass  # the thread ended meanwhile
    return ticks, ns / 1e9


def cpu_since(pid, before):
    after = cpu_seconds(pid)
    return after[0] - before[0], after[1] - before[1]


class Conn:
    def __init__(self, addr):
        self.addr = addr
        self.sock = None
        self.buf = b""
        self.opened = 0
        self.open()

    def open(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = socket.create_connection(self.addr, timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.opened += 1

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("EOF")
        self.buf += data

    def response(self):
        """Reads one response; returns (status, headers dict lower-cased, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def request(self, head, body=b""):
        self.sock.sendall(head.encode("latin-1"))
        if body:
            self.sock.sendall(body)  # the whole body before reading anything
        return self.response()


def sink(listener, total, report):
    """Child process: accepts one connection and reads `total` bytes into one 64 KiB buffer,
    then reports its own CPU time: the floor of receiving those bytes over loopback."""
    conn, _ = listener.accept()
    buffer = bytearray(65536)
    view = memoryview(buffer)
    start = time.process_time()
    left = total
    while left:
        n = conn.recv_into(view, min(left, len(buffer)))
        if not n:
            break
        left -= n
    report.put((time.process_time() - start, total - left))
    conn.sendall(b"k")
    conn.close()


def sink_floor(total, body, rounds):
    """CPU seconds a Python process spends receiving `rounds` x `body` over loopback."""
    import multiprocessing

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    report = multiprocessing.Queue()
    child = multiprocessing.Process(target=sink, args=(listener, total, report))
    child.start()
    with socket.create_connection(listener.getsockname(), timeout=TIMEOUT) as client:
        for _ in range(rounds):
            client.sendall(body)
        client.recv(1)
    cpu, received = report.get(timeout=TIMEOUT)
    child.join(timeout=TIMEOUT)
    listener.close()
    assert received == total, (received, total)
    return cpu


def head(method, extra, length=None):
    lines = [f"{method} {PATH} HTTP/1.1", "Host: 127.0.0.1"]
    lines += extra
    if length is not None:
        lines += ["Content-Type: application/octet-stream", f"Content-Length: {length}"]
    return "\r\n".join(lines) + "\r\n\r\n"


def main():
    server = subprocess.Popen(
        [STORE, "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        line = server.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not match:
            sys.exit(f"drain_http.py: no listening address in {line!r}")
        addr = ("127.0.0.1", int(match.group(1)))
        conn = Conn(addr)

        status, _, _ = conn.request(head("PUT", ["If-None-Match: *"], 5), b"hello")
        assert status == 201, status
        status, headers, _ = conn.request(head("GET", []))
        assert status == 200, status
        etag = headers["etag"]
        get_304 = head("GET", [f"If-None-Match: {etag}"])

        # Reference: small 304 GETs alone (per-request cost without a body).
        for _ in range(50):
            conn.request(get_304)
        before = cpu_seconds(server.pid)
        start = time.perf_counter()
        for _ in range(REFERENCE):
            status, _, _ = conn.request(get_304)
            assert status == 304, status
        ref_wall = time.perf_counter() - start
        ref_ticks, ref_cpu = cpu_since(server.pid, before)

        body = b"\x5a" * (BODY_MIB * 1024 * 1024)
        put = head("PUT", [f"If-Match: {STALE}"], len(body))
        statuses = {}
        reconnects = 0
        closes = 0
        opened_before = conn.opened
        before = cpu_seconds(server.pid)
        start = time.perf_counter()
        for _ in range(ROUNDS):
            try:
                status, headers, _ = conn.request(put, body)
                statuses[status] = statuses.get(status, 0) + 1
                if headers.get("connection", "").lower() == "close":
                    closes += 1
                    conn.open()
                    continue
                status, _, _ = conn.request(get_304)
                statuses[status] = statuses.get(status, 0) + 1
            except (ConnectionError, socket.timeout, OSError) as error:
                statuses[type(error).__name__] = statuses.get(type(error).__name__, 0) + 1
                conn.open()
        wall = time.perf_counter() - start
        ticks, cpu = cpu_since(server.pid, before)
        reconnects = conn.opened - opened_before

        mib = ROUNDS * BODY_MIB
        per_request = ref_cpu / REFERENCE
        drain_cpu = cpu - 2 * ROUNDS * per_request
        print(f"store (pid {server.pid}) on {addr[0]}:{addr[1]}; clock ticks {CLK_TCK}/s")
        print(
            f"reference: {REFERENCE} x 304 GET on one connection: server CPU {ref_cpu:.3f} s "
            f"(stat: {ref_ticks:.2f} s) = {per_request * 1e6:.1f} us/request, wall {ref_wall:.3f} s"
        )
        print(
            f"drain: {ROUNDS} x (PUT {BODY_MIB} MiB stale If-Match + GET 304) on one connection: "
            f"statuses {statuses}, Connection: close {closes}, reconnects {reconnects}"
        )
        print(
            f"  server CPU {cpu:.3f} s (stat: {ticks:.2f} s) for {mib} MiB; minus {2 * ROUNDS} x {per_request * 1e6:.1f} us "
            f"= {drain_cpu:.3f} s -> {drain_cpu / mib * 1e3:.3f} ms CPU per MiB drained "
            f"({mib / drain_cpu if drain_cpu > 0 else float('inf'):.0f} MiB per CPU-second); "
            f"wall {wall:.3f} s ({mib / wall:.0f} MiB/s incl. client)"
        )
        floor = sink_floor(len(body) * ROUNDS, body, ROUNDS)
        print(
            f"floor: a Python sink reading the same {mib} MiB over loopback into a 64 KiB buffer: "
            f"{floor:.3f} s CPU -> {floor / mib * 1e3:.3f} ms per MiB; server drain / floor "
            f"{drain_cpu / floor:.2f}x"
        )
        print(
            f"RESULT ms_per_mib={drain_cpu / mib * 1e3:.4f} floor_ms_per_mib={floor / mib * 1e3:.4f} reconnects={reconnects} closes={closes} "
            f"ok={statuses.get(412, 0)}x412,{statuses.get(304, 0)}x304"
        )
        return 0 if reconnects == 0 and statuses.get(412) == ROUNDS else 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
