# SPDX-License-Identifier: BSD-2-Clause
"""et_once.py: the programs of tests/integration/preload_tcp_et_arrivals.sh
(not a test by itself).

  server --port P --rounds N --pause-ms MS
      accepts one connection and serves it as nginx does with EPOLLET:
      on each event it reads once with a buffer larger than any request
      (recv returns less than asked, so, like nginx, it does not read on
      to EAGAIN), answers the request back, sleeps MS milliseconds (the
      next request arrives and is taken in meanwhile) and waits for the
      next event. An event must come for every request: a wait of 3 s
      without one prints "STALL round=K" and exits 1. Prints READY, then
      DONE rounds=N.
  client --dst IP --port P --rounds N
      sends N 16-byte requests one after the other, each after the
      answer to the previous one (5 s timeout), checks every answer;
      prints OK rounds=N or BAD/TIMEOUT and exits 1.
"""
import argparse
import select
import socket
import sys
import time


def cmd_server(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(4)
    print("READY", flush=True)
    ls.settimeout(20)
    c, _ = ls.accept()
    c.setblocking(False)
    ep = select.epoll()
    ep.register(c.fileno(), select.EPOLLIN | select.EPOLLRDHUP |
                select.EPOLLET)
    for k in range(a.rounds):
        got = b""
        while not got:
            if not ep.poll(3.0):
                print(f"STALL round={k}", flush=True)
                return 1
            try:
                got = c.recv(65536)   # once: less than asked is "all"
            except BlockingIOError:
                continue              # an event with nothing new
            if not got:
                print(f"EOF round={k}", flush=True)
                return 1
        c.setblocking(True)
        c.sendall(got)
        c.setblocking(False)
        time.sleep(a.pause_ms / 1000.0)
    print(f"DONE rounds={a.rounds}", flush=True)
    c.close()
    return 0


def cmd_client(a):
    s = socket.create_connection((a.dst, a.port), timeout=5)
    for k in range(a.rounds):
        msg = b"req%013d" % k
        s.sendall(msg)
        got = b""
        try:
            while len(got) < len(msg):
                d = s.recv(len(msg) - len(got))
                if not d:
                    break
                got += d
        except socket.timeout:
            print(f"TIMEOUT round={k}", flush=True)
            return 1
        if got != msg:
            print(f"BAD round={k} got={got!r}", flush=True)
            return 1
    print(f"OK rounds={a.rounds}", flush=True)
    s.close()
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["server", "client"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--pause-ms", type=float, default=5)
    p.add_argument("--dst")
    a = p.parse_args()
    return cmd_server(a) if a.cmd == "server" else cmd_client(a)


if __name__ == "__main__":
    sys.exit(main())
