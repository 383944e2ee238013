#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tcp_peer.py: the kernel's side of one TCP connection for the
integration tests (progs/stack_tcp.c is the stack's side): as a server it
accepts one connection, as a client it connects; then it sends BYTES
random bytes while it receives until the peer's end of stream, shuts its
side down once all is sent, and prints

    DONE sent=N sent_sha256=HEX recv=N recv_sha256=HEX secs=S

Every wait is bounded by --timeout (exit 3); errors exit 1.

    tcp_peer.py --role server|client --addr IP --port PORT
                [--bytes N] [--timeout SECS]
"""
import argparse
import hashlib
import os
import socket
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("server", "client"), required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bytes", type=int, default=1 << 20)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    start = time.monotonic()
    if a.role == "server":
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((a.addr, a.port))
        ls.listen(1)
        print("LISTENING", flush=True)
        ls.settimeout(a.timeout)
        s, _ = ls.accept()
        ls.close()
    else:
        s = socket.create_connection((a.addr, a.port), timeout=a.timeout)
    s.settimeout(a.timeout)
    print("CONNECTED", flush=True)
    tx = hashlib.sha256()
    errors = []

    def sender():
        try:
            left = a.bytes
            while left:
                chunk = os.urandom(min(left, 65536))
                s.sendall(chunk)
                tx.update(chunk)
                left -= len(chunk)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=sender)
    t.start()
    rx = hashlib.sha256()
    got = 0
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            rx.update(b)
            got += len(b)
    except socket.timeout:
        print("tcp_peer: timed out", file=sys.stderr)
        sys.exit(3)
    t.join(a.timeout)
    if errors or t.is_alive():
        print("tcp_peer: send failed: %s" % (errors or "timeout"),
              file=sys.stderr)
        sys.exit(1)
    s.close()
    print("DONE sent=%d sent_sha256=%s recv=%d recv_sha256=%s secs=%.3f" %
          (a.bytes, tx.hexdigest(), got, rx.hexdigest(),
           time.monotonic() - start), flush=True)


if __name__ == "__main__":
    main()
