#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""fork_prog.py: a TCP server that hands each connection to another
process while bytes are in every queue, and the client that checks every
byte (tests/integration/preload_tcp_fork.sh).

server --mode MODE: for each of --conns connections, accept, wait until
the client's request (--req bytes) is all received but unread (FIONREAD),
and with --mode closewait also the client's FIN (POLLRDHUP); then queue
as much of the greeting (--greet bytes) as the send buffer takes without
blocking (so that bytes are unacknowledged and unsent), and then:
  fork      fork: the child serves the connection; the parent closes its
            fd once the child has read the request (the child's first use
            comes before the parent's close; closewait too)
  closefirst  the same, but the parent closes its fd first and then lets
            the child start (the child uses a connection that the parent
            has closed)
  exec      fork, and the child execs this program's `handler` on the fd
  execself  (one connection) exec `handler` in this very process
The handler (child or new image): read the request and check it (with
closewait, then expect the end of the stream), send the rest of the
greeting and the reply (--reply bytes), shut down writing, read until
the client closes. Exit status 0 only if every handler did all that.

client: --conns connections one after another: send the request (and
shut down writing with --mode closewait), wait --pause s without reading
(the server's greeting fills the windows), then read the greeting and the
reply to the end of the stream and check them. Prints OK lines, exits 0
only if all are right. Every stream is random.Random(seed).randbytes.
"""
import argparse
import array
import fcntl
import hashlib
import os
import select
import socket
import sys
import termios
import time

from line_out import say


SEED_REQ, SEED_GREET, SEED_REPLY = 1, 2, 3


def stream(seed, n):
    import random
    return random.Random(seed).randbytes(n)


def recv_exact(s, n):
    out = bytearray()
    while len(out) < n:
        b = s.recv(min(65536, n - len(out)))
        if not b:
            break
        out += b
    return bytes(out)


def fionread(fd):
    buf = array.array('i', [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf, True)
    return buf[0]


def handler(s, a, queued, used=None):
    """Serve a connection whose greeting has `queued` bytes queued; call
    used() once the request is read."""
    req = recv_exact(s, a.req)
    if used:
        used()
    if req != stream(SEED_REQ, a.req):
        say(f'FAIL request: {len(req)} bytes, wrong content')
        return 1
    if a.mode == 'closewait':
        extra = s.recv(10)
        if extra != b'':
            say(f'FAIL no end of stream after the request: {extra!r}')
            return 1
    s.sendall(stream(SEED_GREET, a.greet)[queued:])
    s.sendall(stream(SEED_REPLY, a.reply))
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()
    say(f'HANDLED pid={os.getpid()} queued={queued}')
    return 0


def wait_ready(c, a, deadline):
    """The request is all in (unread); with closewait, the FIN too."""
    p = select.poll()
    p.register(c, select.POLLIN | select.POLLRDHUP)
    while time.monotonic() < deadline:
        p.poll(50)
        if fionread(c.fileno()) >= a.req:
            if a.mode != 'closewait':
                return True
            if any(ev & select.POLLRDHUP for _, ev in p.poll(0)):
                return True
    return False


def queue_greeting(c, a):
    """Send without blocking as much of the greeting as fits."""
    data = stream(SEED_GREET, a.greet)
    c.setblocking(False)
    sent = 0
    try:
        while sent < len(data):
            sent += c.send(data[sent:sent + 65536])
    except BlockingIOError:
        pass
    c.setblocking(True)
    return sent


def exec_handler(c, a, queued):
    """This process becomes the handler of connection c (its fd kept)."""
    os.set_inheritable(c.fileno(), True)
    os.execv(sys.executable,
             [sys.executable, __file__, 'handler', '--fd', str(c.fileno()),
              '--queued', str(queued), '--req', str(a.req),
              '--greet', str(a.greet), '--reply', str(a.reply),
              '--mode', a.mode])


def server(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('0.0.0.0', a.port))
    ls.listen(16)
    say('READY')
    deadline = time.monotonic() + a.secs
    kids, bad = [], 0
    sync_used = a.mode in ('fork', 'closewait')
    for i in range(a.conns):
        c, peer = ls.accept()
        if not wait_ready(c, a, deadline):
            say(f'FAIL conn {i}: request not in: {fionread(c.fileno())}')
            return 1
        queued = queue_greeting(c, a)
        say(f'QUEUED conn={i} greeting={queued}')
        if a.mode == 'execself':
            exec_handler(c, a, queued)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r if sync_used else w)
            if a.mode == 'closefirst':
                os.read(r, 1)   # the parent closed its fd
            if a.mode == 'exec':
                exec_handler(c, a, queued)
            ls.close()
            used = (lambda: os.write(w, b'u')) if sync_used else None
            os._exit(handler(c, a, queued, used))
        os.close(w if sync_used else r)
        if sync_used:
            os.read(r, 1)       # the child has used the connection
            os.close(r)
            c.close()
        else:
            c.close()
            if a.mode == 'closefirst':
                os.write(w, b'g')
            os.close(w)
        kids.append(pid)
    for pid in kids:
        _, st = os.waitpid(pid, 0)
        if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
            say(f'FAIL child {pid}: status {st}')
            bad += 1
    say(f'DONE conns={a.conns} failed={bad}')
    return 1 if bad else 0


def client(a):
    want = hashlib.sha256(stream(SEED_GREET, a.greet) +
                          stream(SEED_REPLY, a.reply)).hexdigest()
    for i in range(a.conns):
        s = socket.create_connection((a.dst, a.port), timeout=a.secs)
        s.sendall(stream(SEED_REQ, a.req))
        if a.mode == 'closewait':
            s.shutdown(socket.SHUT_WR)
        time.sleep(a.pause)
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        s.close()
        sha = hashlib.sha256(got).hexdigest()
        if len(got) != a.greet + a.reply or sha != want:
            say(f'FAIL conn {i}: {len(got)} bytes, sha {sha}')
            return 1
        say(f'OK conn={i} bytes={len(got)} sha={sha}')
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument('role', choices=['server', 'client', 'handler'])
    p.add_argument('--mode', default='fork',
                   choices=['fork', 'exec', 'execself', 'closewait',
                            'closefirst'])
    p.add_argument('--port', type=int, default=9720)
    p.add_argument('--dst', default='')
    p.add_argument('--conns', type=int, default=1)
    p.add_argument('--req', type=int, default=40000)
    p.add_argument('--greet', type=int, default=4 << 20)
    p.add_argument('--reply', type=int, default=100000)
    p.add_argument('--pause', type=float, default=1.0)
    p.add_argument('--secs', type=float, default=30)
    p.add_argument('--fd', type=int, default=-1)
    p.add_argument('--queued', type=int, default=0)
    a = p.parse_args()
    if a.role == 'server':
        return server(a)
    if a.role == 'client':
        return client(a)
    s = socket.socket(fileno=a.fd)
    return handler(s, a, a.queued)


if __name__ == '__main__':
    sys.exit(main())
