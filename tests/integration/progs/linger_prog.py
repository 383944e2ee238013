#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""linger_prog.py: the two ends of a lingering close (SO_LINGER on with a
timeout) for tests/integration/preload_tcp_linger.sh. Times are
time.monotonic() (CLOCK_MONOTONIC, the same clock in every network
namespace), printed with 6 decimals.

  server --port P --rcvbuf B --delay D --chunk C --interval I --mark M
      listens (SO_RCVBUF B before listen), prints READY, accepts one
      connection, sleeps D s, then reads C bytes every I s until the end
      of the stream; prints
      DONE total=N sha=HEX first=T mark=T eof=T
      (first: the first read; mark: when the bytes read reached N - M;
      eof: the end of the stream).
  client --dst A --port P --bytes N --sndbuf S --linger L [--nonblock]
         [--hold H]
      connects (SO_SNDBUF S before), sets SO_LINGER {1, L} (L < 0: off),
      sends N bytes of a fixed pattern, optionally makes the socket
      non-blocking, closes, prints
      CLOSE start=T end=T sha=HEX
      and sleeps H s before it exits (under anyload the connection lives
      in the process).
"""
import argparse
import hashlib
import socket
import struct
import sys
import time


def pattern(n):
    block = bytes(range(251)) * 64
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])


def server(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(1)
    print("READY", flush=True)
    ls.settimeout(a.secs)
    c, _ = ls.accept()
    c.settimeout(a.secs)
    time.sleep(a.delay)
    h = hashlib.sha256()
    total, first, mark, mark_at = 0, None, None, None
    while True:
        d = c.recv(a.chunk)
        now = time.monotonic()
        if first is None:
            first = now
        if not d:
            break
        total += len(d)
        h.update(d)
        if mark is None and a.expect and total >= a.expect - a.mark:
            mark = now
        time.sleep(a.interval)
    eof = time.monotonic()
    print("DONE total=%d sha=%s first=%.6f mark=%.6f eof=%.6f" %
          (total, h.hexdigest(), first, mark if mark else 0.0, eof),
          flush=True)
    c.close()
    ls.close()


def client(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, a.sndbuf)
    s.settimeout(a.secs)
    s.connect((a.dst, a.port))
    if a.linger >= 0:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, a.linger))
    data = pattern(a.bytes)
    s.sendall(data)
    if a.nonblock:
        s.setblocking(False)
    start = time.monotonic()
    s.close()
    end = time.monotonic()
    print("CLOSE start=%.6f end=%.6f sha=%s" %
          (start, end, hashlib.sha256(data).hexdigest()), flush=True)
    time.sleep(a.hold)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--port", type=int, default=9710)
    p.add_argument("--dst", default="")
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--rcvbuf", type=int, default=16384)
    p.add_argument("--sndbuf", type=int, default=262144)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--chunk", type=int, default=16384)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--mark", type=int, default=262144)
    p.add_argument("--linger", type=int, default=-1)
    p.add_argument("--nonblock", action="store_true")
    p.add_argument("--hold", type=float, default=0.0)
    p.add_argument("--secs", type=float, default=20.0)
    a = p.parse_args()
    if a.role == "server":
        server(a)
    else:
        client(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
