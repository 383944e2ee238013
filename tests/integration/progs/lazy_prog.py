#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""lazy_prog.py: a server that forks a helper which never uses its
sockets, as redis-server forks for BGSAVE, and the client that checks
every byte (tests/integration/preload_tcp_lazy.sh).

server: an echo server on --port (selectors: epoll). Once it has echoed
--conns * --size bytes (the client's first round on every connection), it
forks a child that, with --child sleep, sleeps --child-secs and exits
(_exit, as redis's child), or with --child close first closes every
inherited socket (the listener and the connections), then sleeps and
exits. The parent goes on echoing meanwhile and after. It exits once
--conns + --new connections have come and gone, printing
`DONE child_status=N`; 0 only if the child exited 0.

client: --conns connections; round 1 on all (--size bytes each way,
sends and receives interleaved, the echo checked byte for byte), a
pause (the fork), round 2 while the child lives, a pause until it is
gone, round 3, then --new more connections and round 4 on every one.
Prints `OK round=N conns=M`; exits 0 only if every round was right.

forkclient: connects twice to an echo server at --dst (connect()ed
connections: each has a filter of its own in the stack), forks; the
parent closes the first connection at once and then lets the child go;
the child echoes --size bytes on that connection (checked) and exits;
the parent echoes on the second one after the child is gone. Prints
`OK child` and `OK parent`; exits 0 only if both were right.
"""
import argparse
import hashlib
import os
import random
import select
import selectors
import socket
import sys
import time

from line_out import say



def server(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('0.0.0.0', a.port))
    ls.listen(16)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    pending = {}            # conn -> bytes to echo back
    conns, echoed, gone = [], 0, 0
    child, status = None, None
    say('READY')
    deadline = time.monotonic() + a.secs
    while gone < a.conns + a.new and time.monotonic() < deadline:
        for key, ev in sel.select(0.2):
            s = key.fileobj
            if s is ls:
                c, _ = ls.accept()
                c.setblocking(False)
                conns.append(c)
                pending[c] = b''
                sel.register(c, selectors.EVENT_READ)
                continue
            if ev & selectors.EVENT_READ:
                try:
                    b = s.recv(65536)
                except BlockingIOError:
                    b = None
                if b == b'':
                    sel.unregister(s)
                    s.close()
                    del pending[s]
                    gone += 1
                    continue
                if b:
                    pending[s] += b
            if s in pending and pending[s]:
                try:
                    n = s.send(pending[s])
                except BlockingIOError:
                    n = 0
                pending[s] = pending[s][n:]
                echoed += n
                sel.modify(s, selectors.EVENT_READ |
                           (selectors.EVENT_WRITE if pending[s] else 0))
        if child is None and echoed >= a.conns * a.size:
            child = os.fork()
            if child == 0:
                if a.child == 'close':
                    for c in conns:
                        c.close()
                    ls.close()
                time.sleep(a.child_secs)
                os._exit(0)
            say(f'FORKED pid={child}')
        if child and status is None:
            pid, st = os.waitpid(child, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(st)
                say(f'CHILD status={status}')
    if child and status is None:
        _, st = os.waitpid(child, 0)
        status = os.waitstatus_to_exitcode(st)
    say(f'DONE child_status={status} gone={gone}')
    return 0 if status == 0 and gone == a.conns + a.new else 1


def echo_round(conns, size, seed):
    """Send size random bytes on each connection and read them back."""
    data = {s: random.Random(seed + i).randbytes(size)
            for i, s in enumerate(conns)}
    sent = {s: 0 for s in conns}
    got = {s: bytearray() for s in conns}
    end = time.monotonic() + 20
    while any(len(got[s]) < size for s in conns):
        if time.monotonic() > end:
            return False
        ws = [s for s in conns if sent[s] < size]
        r, w, _ = select.select(conns, ws, [], 1)
        for s in w:
            sent[s] += s.send(data[s][sent[s]:sent[s] + 65536])
        for s in r:
            b = s.recv(65536)
            if not b:
                return False
            got[s] += b
    return all(hashlib.sha256(got[s]).digest() ==
               hashlib.sha256(data[s]).digest() for s in conns)


def client(a):
    def connect():
        s = socket.create_connection((a.dst, a.port), timeout=20)
        s.setblocking(False)
        return s

    conns = [connect() for _ in range(a.conns)]
    rounds = [(conns, 0.5), (conns, a.child_secs + 0.5), (conns, 0), (None, 0)]
    for k, (cs, pause) in enumerate(rounds, 1):
        if cs is None:
            conns += [connect() for _ in range(a.new)]
            cs = conns
        if not echo_round(cs, a.size, 1000 * k):
            say(f'FAIL round={k}')
            return 1
        say(f'OK round={k} conns={len(cs)}')
        time.sleep(pause)
    for s in conns:
        s.close()
    return 0


def echo_blocking(s, size, seed):
    s.setblocking(False)
    return echo_round([s], size, seed)


def forkclient(a):
    c1 = socket.create_connection((a.dst, a.port), timeout=20)
    c2 = socket.create_connection((a.dst, a.port), timeout=20)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        c2.close()
        os.read(r, 1)          # the parent closed its c1
        ok = echo_blocking(c1, a.size, 1)
        say('OK child' if ok else 'FAIL child')
        c1.close()
        os._exit(0 if ok else 1)
    os.close(r)
    c1.close()
    os.write(w, b'g')
    os.close(w)
    _, st = os.waitpid(pid, 0)
    ok = echo_blocking(c2, a.size, 2)
    say('OK parent' if ok else 'FAIL parent')
    c2.close()
    return 0 if ok and os.waitstatus_to_exitcode(st) == 0 else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument('role', choices=['server', 'client', 'forkclient'])
    p.add_argument('--port', type=int, default=9800)
    p.add_argument('--dst', default='')
    p.add_argument('--conns', type=int, default=4)
    p.add_argument('--new', type=int, default=2)
    p.add_argument('--size', type=int, default=200000)
    p.add_argument('--child', choices=['sleep', 'close'], default='sleep')
    p.add_argument('--child-secs', type=float, default=1.5)
    p.add_argument('--secs', type=float, default=40)
    a = p.parse_args()
    if a.role == 'forkclient':
        return forkclient(a)
    return server(a) if a.role == 'server' else client(a)


if __name__ == '__main__':
    sys.exit(main())
