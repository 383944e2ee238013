#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tcp_hash_peer: the kernel's end of a bulk TCP transfer, hashed with
hashlib's SHA-256 (the other end is bench/stack_tcp_bulk on anyload's
stack, with its own SHA-256: the two digests must match).

  recv [--listen IP] --port P [--rcvbuf N] [--pause MS:BYTES] [--no-hash]
      listen, print "LISTENING port=P", accept one connection, read until
      the end of the stream (stopping MS ms after every BYTES when
      --pause), close.
  send --connect IP --port P --bytes N [--sndbuf N] [--seed S] [--no-hash]
      connect (retried while refused), send N bytes, shut down the write
      side, wait for the peer to close (so everything was received).

The data sent: 1 MiB slices at random, unaligned offsets of a 32 MiB
random pool (random.Random(seed)), so that no two slices are alike and a
segment misplaced by the other end changes the digest; cheaper than
os.urandom, which would make the sender the bottleneck.

Output: "RESULT role=send|recv bytes=N sha256=HEX secs=S gbps=G", as the
C program's; secs from the connection's establishment to the end. Every
blocking call has a timeout (--timeout, default 20 s). Exit 0 on success.
"""
import argparse
import hashlib
import random
import socket
import sys
import time

CHUNK = 1 << 20
POOL = 32 << 20


def size(text):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    return int(text[:-1] if mult > 1 else text) * mult


def result(role, nbytes, digest, secs):
    gbps = nbytes * 8 / secs / 1e9 if secs > 0 else 0.0
    print("RESULT role=%s bytes=%d sha256=%s secs=%.3f gbps=%.3f"
          % (role, nbytes, digest, secs, gbps), flush=True)


def do_recv(a):
    h = hashlib.sha256() if a.hash else None
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    ls.bind((a.listen, a.port))
    ls.listen(1)
    ls.settimeout(a.timeout)
    print("LISTENING port=%d" % a.port, flush=True)
    s, _ = ls.accept()
    ls.close()
    s.settimeout(a.timeout)
    t0 = time.monotonic()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    next_pause = a.pause_every or None
    while True:
        want = CHUNK
        if next_pause is not None:
            if total >= next_pause:
                time.sleep(a.pause_ms / 1000.0)
                next_pause += a.pause_every
            want = min(want, next_pause - total)
        n = s.recv_into(view[:want])
        if n == 0:
            break
        if h:
            h.update(view[:n])
        total += n
    secs = time.monotonic() - t0
    s.close()
    result("recv", total, h.hexdigest() if h else "-", secs)


def connect(a):
    deadline = time.monotonic() + a.timeout
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if a.sndbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, a.sndbuf)
        s.settimeout(a.timeout)
        try:
            s.connect((a.connect, a.port))
            return s
        except ConnectionRefusedError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def do_send(a):
    h = hashlib.sha256() if a.hash else None
    rnd = random.Random(a.seed)
    pool = memoryview(rnd.randbytes(POOL + CHUNK))
    s = connect(a)
    t0 = time.monotonic()
    left = a.bytes
    while left:
        off = rnd.randrange(POOL)
        n = min(CHUNK, left)
        piece = pool[off:off + n]
        if h:
            h.update(piece)
        s.sendall(piece)
        left -= n
    s.shutdown(socket.SHUT_WR)
    extra = s.recv(1)
    secs = time.monotonic() - t0
    s.close()
    if extra:
        print("tcp_hash_peer: unexpected data from the receiver",
              file=sys.stderr)
        return 1
    result("send", a.bytes, h.hexdigest() if h else "-", secs)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["send", "recv"])
    p.add_argument("--listen", default="0.0.0.0")
    p.add_argument("--connect")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bytes", type=size, default=0)
    p.add_argument("--rcvbuf", type=size, default=0)
    p.add_argument("--sndbuf", type=size, default=0)
    p.add_argument("--pause", default="")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-hash", dest="hash", action="store_false")
    p.add_argument("--timeout", type=float, default=20.0)
    a = p.parse_args()
    a.pause_ms, a.pause_every = 0, 0
    if a.pause:
        ms, every = a.pause.split(":")
        a.pause_ms, a.pause_every = int(ms), size(every)
    if a.mode == "recv":
        do_recv(a)
        return 0
    if not a.connect or not a.bytes:
        p.error("send needs --connect and --bytes")
    return do_send(a)


if __name__ == "__main__":
    sys.exit(main())
