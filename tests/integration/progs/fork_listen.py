# SPDX-License-Identifier: BSD-2-Clause
"""fork_listen.py: a listener made by a process that forks and exits, used
by its child (a daemon's pattern), and a client for it
(tests/integration/preload_tcp_follow.sh; not a test by itself).

  fork_listen.py server --ip IP --port P --conns N [--listeners L]
                        [--stay]
      listens on IP:P .. IP:P+L-1 (L: 1), prints "PARENT pid=N", forks
      and exits (--stay: waits for the child instead). The child waits
      (at most 5 s, without --stay) until its parent is gone, prints
      "CHILD pid=N", then waits for a line "go" on stdin (at most 30 s),
      and serves N connections one after the other, the k-th from
      listener k mod L: each echoes what it reads until the peer closes.
      It prints "SERVED k" after each and exits.
  fork_listen.py client --ip IP --port P --bytes B
      connects, prints "CONNECTED", waits for "go" on stdin (at most 30
      s), sends B bytes, reads them back (checked), closes, prints
      "ECHO ok" or "ECHO bad <why>".
Every wait is bounded.
"""
import argparse
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from line_out import say  # noqa: E402


def wait_go(secs):
    end = time.monotonic() + secs
    buf = b""
    while time.monotonic() < end:
        r, _, _ = select.select([sys.stdin], [], [], 0.2)
        if r:
            chunk = os.read(sys.stdin.fileno(), 256)
            if not chunk:
                return False
            buf += chunk
            if b"go" in buf:
                return True
    return False


def serve(a):
    lss = []
    for k in range(a.listeners):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((a.ip, a.port + k))
        ls.listen(16)
        lss.append(ls)
    parent = os.getpid()
    say("PARENT pid=%d" % parent)
    pid = os.fork()
    if pid:
        if a.stay:
            os.waitpid(pid, 0)
        return 0
    end = time.monotonic() + 5
    while not a.stay and os.getppid() == parent and time.monotonic() < end:
        time.sleep(0.01)
    say("CHILD pid=%d" % os.getpid())
    if not wait_go(30):
        say("NO GO")
        return 1
    for ls in lss:
        ls.settimeout(20)
    for k in range(a.conns):
        c, _ = lss[k % a.listeners].accept()
        c.settimeout(20)
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.close()
        say("SERVED %d" % (k + 1))
    return 0


def client(a):
    s = socket.create_connection((a.ip, a.port), timeout=10)
    say("CONNECTED")
    if not wait_go(30):
        say("NO GO")
        return 1
    data = os.urandom(a.bytes)
    s.settimeout(20)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while len(got) < len(data):
        d = s.recv(65536)
        if not d:
            break
        got += d
    s.close()
    say("ECHO ok" if bytes(got) == data else
        "ECHO bad got %d of %d bytes" % (len(got), len(data)))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("server")
    q.add_argument("--ip", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--conns", type=int, default=1)
    q.add_argument("--listeners", type=int, default=1)
    q.add_argument("--stay", action="store_true")
    q = sub.add_parser("client")
    q.add_argument("--ip", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--bytes", type=int, default=100000)
    a = ap.parse_args()
    return serve(a) if a.cmd == "server" else client(a)


if __name__ == "__main__":
    sys.exit(main())
