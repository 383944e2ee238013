# SPDX-License-Identifier: BSD-2-Clause
"""tcp_echo_peer.py: the TCP echo server and clients of
tests/integration/stack_tcp_sigkill.sh and preload_tcp_robust.sh (on the
kernel, or as an unmodified program under anyload; not a test by itself).

  server --bind IP --port P --secs S
        a kernel TCP echo server: prints READY once listening, echoes
        every connection (a thread each) until --secs pass or SIGTERM
  sserver --bind IP --port P --secs S
        the same, single-threaded: one selectors loop for the listener and
        every connection (non-blocking sockets)
  client --dst IP --port P --count N
        connects (1 s timeout), has N 16-byte messages echoed one after
        the other (1 s timeout each), prints "CLIENT ok=K sent=N", exits
        0 if K == N, else 1
  keep --dst IP --port P
        connects, has one message echoed, prints CONNECTED; then for each
        line "ping" read on stdin sends a message and prints
        "PING ok" (echoed within 1 s), "PING reset" (ECONNRESET or EPIPE:
        the other end answered with an RST) or "PING timeout"; ends at
        the end of its input
Every loop is bounded by its count or its time.
"""
import argparse
import selectors
import signal
import socket
import sys
import threading
import time


def echo_conn(c):
    c.settimeout(1.0)
    try:
        while True:
            try:
                d = c.recv(65536)
            except socket.timeout:
                continue
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    finally:
        c.close()


def cmd_server(a):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(64)
    s.settimeout(0.1)
    print("READY", flush=True)
    end = time.monotonic() + a.secs
    while not stop and time.monotonic() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        threading.Thread(target=echo_conn, args=(c,), daemon=True).start()
    s.close()


def cmd_sserver(a):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(64)
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    print("READY", flush=True)
    end = time.monotonic() + a.secs
    while not stop and time.monotonic() < end:
        for key, _ in sel.select(0.1):
            if key.fileobj is s:
                try:
                    c, _ = s.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            c = key.fileobj
            try:
                d = c.recv(65536)
                if d:
                    c.setblocking(True)
                    c.settimeout(1.0)
                    c.sendall(d)
                    c.setblocking(False)
                    continue
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                pass
            sel.unregister(c)
            c.close()
    s.close()


def echo_once(s, k):
    msg = b"tcp-peer-%06d\n" % k
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(len(msg) - len(got))
        if not d:
            break
        got += d
    return got == msg


def cmd_client(a):
    ok = 0
    try:
        s = socket.create_connection((a.dst, a.port), timeout=1.0)
        for k in range(a.count):
            ok += echo_once(s, k)
        s.close()
    except OSError as e:
        print("ERROR %s" % e, flush=True)
    print("CLIENT ok=%d sent=%d" % (ok, a.count), flush=True)
    return 0 if ok == a.count else 1


def cmd_keep(a):
    s = socket.create_connection((a.dst, a.port), timeout=1.0)
    if not echo_once(s, 0):
        print("FAIL no echo", flush=True)
        return 1
    print("CONNECTED", flush=True)
    k = 0
    for line in sys.stdin:
        if line.strip() != "ping":
            continue
        k += 1
        try:
            print("PING ok" if echo_once(s, k) else "PING closed",
                  flush=True)
        except (ConnectionResetError, BrokenPipeError):
            print("PING reset", flush=True)
        except socket.timeout:
            print("PING timeout", flush=True)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=("server", "sserver", "client", "keep"))
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--dst")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--secs", type=float, default=30)
    a = p.parse_args()
    return {"server": cmd_server, "sserver": cmd_sserver,
            "client": cmd_client, "keep": cmd_keep}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
