# SPDX-License-Identifier: BSD-2-Clause
"""preload_tcp_prog.py: an ordinary Python TCP program for the
transparent-mode tests, run unchanged with and without anyload (not a
test by itself).

  server --port P --mode M --conns K --bytes N [--secs S]
      accepts K connections one after the other (the even ones with
      Python's accept, i.e. accept4 with SOCK_CLOEXEC, the odd ones with
      libc's accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC through ctypes;
      each new descriptor's O_NONBLOCK and FD_CLOEXEC must be what was
      asked, whatever the listener's); from each it reads an
      8-byte length (first with MSG_PEEK, then with MSG_WAITALL), that
      many bytes and the end of the stream, then answers the SHA-256 of
      what it read (64 hex characters) and N bytes of its own (seed 2),
      and closes. Prints READY, one "CONN peer=IP" line per connection,
      then DONE conns=K.
  forkserver --port P --bytes N [--secs S]
      serves a first connection in the parent after forking a child that
      looks at it (prints CHILD inherited peer=<ok|errno> peek=<ok|errno>) and
      serves the next one through the inherited listener (CHILD served).
  sleepserver --port P --secs S / ackclient --dst IP --port P --bytes N
      a server that sleeps S seconds after accept (outside the library)
      and a client that prints how much of what it sent is not yet
      acknowledged 1 s later (UNACKED n): the TCP background poller test.
  files --dst IP --port P --bytes N --tmp DIR
      the client's part with socket.sendfile (os.sendfile) and os.splice.
  client --dst IP --port P --mode M --bytes N [--secs S]
      connects (non-blocking with EINPROGRESS, POLLOUT and SO_ERROR in
      every mode but blocking and asyncio), sends the length and N bytes
      (seed 1), shuts down its sending side, reads the answer to the end
      and checks both digests; prints OK bytes=N sha=<first 16 hex> or
      BAD ... . The blocking mode also checks getpeername, TCP_NODELAY,
      SO_KEEPALIVE, TCP_INFO's state and FIONREAD.
M: blocking, nonblock (busy EAGAIN loops), select, poll, epoll (each with
a kernel pipe in the same set), epollet (edge-triggered), asyncio
(streams); at the end of each stream the epoll modes check EPOLLRDHUP and
EPOLLONESHOT (and its re-arming by EPOLL_CTL_MOD). Every loop is bounded
by --secs.
"""
import argparse
import asyncio
import ctypes
import errno
import fcntl
import hashlib
import os
import random
import select
import socket
import struct
import sys
import termios
import time

from line_out import say


def data_of(seed, n):
    return random.Random(seed).randbytes(n)


class Waiter:
    """Waits for one socket (and a never-ready kernel pipe) with the
    mode's multiplexer."""

    def __init__(self, mode, deadline):
        self.mode = mode
        self.deadline = deadline
        self.pr, self.pw = os.pipe()

    def close(self):
        os.close(self.pr)
        os.close(self.pw)

    def left(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def wait(self, s, write=False):
        left = min(self.left(), 1.0)
        fd = s.fileno()
        if self.mode == "nonblock":
            time.sleep(0.0001)
            return
        if self.mode == "select":
            if write:
                select.select([self.pr], [s], [], left)
            else:
                select.select([s, self.pr], [], [], left)
        elif self.mode == "poll":
            p = select.poll()
            p.register(fd, select.POLLOUT if write else select.POLLIN)
            p.register(self.pr, select.POLLIN)
            for f, ev in p.poll(left * 1000):
                if f == self.pr:
                    raise RuntimeError("pipe readable")
        elif self.mode in ("epoll", "epollet"):
            e = select.epoll()
            ev = select.EPOLLOUT if write else select.EPOLLIN
            if self.mode == "epollet":
                ev |= select.EPOLLET
            e.register(fd, ev | select.EPOLLRDHUP)
            e.register(self.pr, select.EPOLLIN)
            try:
                for f, _ in e.poll(left):
                    if f == self.pr:
                        raise RuntimeError("pipe readable")
            finally:
                e.close()


def check_eof_events(s, mode):
    """At the end of the stream, in the epoll modes: EPOLLRDHUP is
    reported, EPOLLONESHOT reports once until EPOLL_CTL_MOD re-arms."""
    if mode not in ("epoll", "epollet"):
        return
    e = select.epoll()
    ev = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLONESHOT
    if mode == "epollet":
        ev |= select.EPOLLET
    try:
        e.register(s.fileno(), ev)
        got = [x for _, x in e.poll(1)]
        if len(got) != 1 or not got[0] & select.EPOLLRDHUP:
            raise RuntimeError("no EPOLLRDHUP at the end: %r" % got)
        if e.poll(0):
            raise RuntimeError("EPOLLONESHOT reported twice")
        e.modify(s.fileno(), ev)
        if not e.poll(1):
            raise RuntimeError("EPOLL_CTL_MOD did not re-arm")
    finally:
        e.close()


def recv_all_until_eof(s, w, limit):
    h = hashlib.sha256()
    n = 0
    while True:
        try:
            b = s.recv(65536)
        except BlockingIOError:
            w.wait(s)
            continue
        if not b:
            check_eof_events(s, w.mode)
            return h, n
        h.update(b)
        n += len(b)
        if n > limit:
            raise RuntimeError("too much data")


def recv_exact(s, w, n, flags=0):
    buf = b""
    while len(buf) < n:
        try:
            b = s.recv(n - len(buf), flags)
        except BlockingIOError:
            w.wait(s)
            continue
        if not b:
            raise RuntimeError("early end of stream")
        buf += b
    return buf


def send_all(s, w, data):
    view = memoryview(data)
    while view:
        try:
            k = s.send(view[:262144])
        except BlockingIOError:
            w.wait(s, write=True)
            continue
        view = view[k:]


LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.accept4.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_int]


def accept_checked(ls, raw):
    """ls.accept(), or with raw libc's accept4(SOCK_NONBLOCK |
    SOCK_CLOEXEC) (the preloaded one when run under anyload); raises
    BlockingIOError as accept does, and RuntimeError when the new
    descriptor's flags are not what was asked."""
    if raw:
        fd = LIBC.accept4(ls.fileno(), None, None,
                          socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        if fd < 0:
            e = ctypes.get_errno()
            if e in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise BlockingIOError(e, os.strerror(e))
            raise OSError(e, "accept4: " + os.strerror(e))
        fl = fcntl.fcntl(fd, fcntl.F_GETFL)
        fdfl = fcntl.fcntl(fd, fcntl.F_GETFD)
        c = socket.socket(fileno=fd)
        peer = c.getpeername()
    else:
        c, peer = ls.accept()
        fl = fcntl.fcntl(c.fileno(), fcntl.F_GETFL)
        fdfl = fcntl.fcntl(c.fileno(), fcntl.F_GETFD)
    if bool(fl & os.O_NONBLOCK) != raw:
        raise RuntimeError("accept%s: O_NONBLOCK is %s" %
                           ("4(SOCK_NONBLOCK)" if raw else "",
                            "set" if fl & os.O_NONBLOCK else "clear"))
    if not fdfl & fcntl.FD_CLOEXEC:
        raise RuntimeError("accept4(SOCK_CLOEXEC): no FD_CLOEXEC")
    return c, peer


def serve_one(c, a, w):
    if a.mode == "blocking":
        c.settimeout(None)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                     struct.pack("ll", int(a.secs), 0))
        hdr = c.recv(8, socket.MSG_PEEK | socket.MSG_WAITALL)
        hdr2 = c.recv(8, socket.MSG_WAITALL)
        if hdr != hdr2:
            raise RuntimeError("MSG_PEEK and MSG_WAITALL disagree")
    else:
        c.setblocking(False)
        hdr = recv_exact(c, w, 8)
    n = struct.unpack("!Q", hdr)[0]
    h, got = recv_all_until_eof(c, w, n)
    if got != n:
        raise RuntimeError("got %d bytes, expected %d" % (got, n))
    send_all(c, w, h.hexdigest().encode() + data_of(2, a.bytes))
    c.close()


def cmd_server(a):
    if a.mode == "asyncio":
        return asyncio.run(async_server(a))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(16)
    w = Waiter(a.mode, time.monotonic() + a.secs)
    if a.mode != "blocking":
        ls.setblocking(False)
    say("READY")
    for i in range(a.conns):
        while True:
            try:
                c, peer = accept_checked(ls, i % 2 == 1)
                break
            except BlockingIOError:
                w.wait(ls)
        say("CONN peer=%s" % peer[0])
        serve_one(c, a, w)
    w.close()
    say("DONE conns=%d" % a.conns)


async def async_server(a):
    done = asyncio.get_running_loop().create_future()
    n = [0]

    async def handle(r, wr):
        hdr = await r.readexactly(8)
        want = struct.unpack("!Q", hdr)[0]
        h = hashlib.sha256()
        got = 0
        while True:
            b = await r.read(65536)
            if not b:
                break
            h.update(b)
            got += len(b)
        if got != want:
            raise RuntimeError("short")
        say("CONN peer=%s" % wr.get_extra_info("peername")[0])
        wr.write(h.hexdigest().encode() + data_of(2, a.bytes))
        await wr.drain()
        wr.close()
        await wr.wait_closed()
        n[0] += 1
        if n[0] == a.conns and not done.done():
            done.set_result(True)

    srv = await asyncio.start_server(handle, "0.0.0.0", a.port)
    say("READY")
    await asyncio.wait_for(done, a.secs)
    srv.close()
    say("DONE conns=%d" % n[0])


def check_features(s, a):
    """The blocking client's extra checks (socket API through anyload)."""
    if s.getpeername() != (a.dst, a.port):
        raise RuntimeError("getpeername %r" % (s.getpeername(),))
    if s.getsockname()[1] == 0:
        raise RuntimeError("getsockname port 0")
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if not s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
        raise RuntimeError("TCP_NODELAY not set")
    if not s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE):
        raise RuntimeError("SO_KEEPALIVE not set")
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    if info[0] != 1:
        raise RuntimeError("TCP_INFO state %d" % info[0])
    buf = bytearray(4)
    fcntl.ioctl(s.fileno(), termios.FIONREAD, buf)
    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
        raise RuntimeError("SO_ERROR")


def cmd_client(a):
    if a.mode == "asyncio":
        return asyncio.run(async_client(a))
    data = data_of(1, a.bytes)
    w = Waiter(a.mode, time.monotonic() + a.secs)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if a.mode == "blocking":
        s.settimeout(None)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                     struct.pack("ll", int(a.secs), 0))
        s.connect((a.dst, a.port))
        check_features(s, a)
    else:
        s.setblocking(False)
        rc = s.connect_ex((a.dst, a.port))
        if rc not in (0, 115):   # EINPROGRESS
            raise RuntimeError("connect_ex %d" % rc)
        while rc == 115:
            if a.mode == "nonblock":
                p = select.poll()
                p.register(s, select.POLLOUT)
                if p.poll(1000):
                    rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            else:
                w.wait(s, write=True)
                p = select.poll()
                p.register(s, select.POLLOUT)
                if p.poll(0):
                    rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            w.left()
        if rc:
            raise RuntimeError("connect: %s" % os.strerror(rc))
    send_all(s, w, struct.pack("!Q", len(data)) + data)
    s.shutdown(socket.SHUT_WR)
    answer = recv_exact(s, w, 64)
    h, got = recv_all_until_eof(s, w, a.bytes)
    s.close()
    w.close()
    report(answer, h, got, data, a)


def report(answer, h, got, data, a):
    mine = hashlib.sha256(data).hexdigest()
    theirs = hashlib.sha256(data_of(2, a.bytes)).hexdigest()
    if answer.decode() == mine and got == a.bytes and h.hexdigest() == theirs:
        say("OK bytes=%d sha=%s" % (a.bytes, mine[:16]))
    else:
        say("BAD answer=%s got=%d" % (answer[:16], got))


async def async_client(a):
    data = data_of(1, a.bytes)
    r, w = await asyncio.wait_for(asyncio.open_connection(a.dst, a.port),
                                  a.secs)
    w.write(struct.pack("!Q", len(data)) + data)
    await w.drain()
    w.write_eof()
    answer = await asyncio.wait_for(r.readexactly(64), a.secs)
    h = hashlib.sha256()
    got = 0
    while True:
        b = await asyncio.wait_for(r.read(65536), a.secs)
        if not b:
            break
        h.update(b)
        got += len(b)
    w.close()
    report(answer, h, got, data, a)


def cmd_files(a):
    """socket.sendfile (os.sendfile) and os.splice through one connection
    to the server of this program: client side."""
    data = data_of(1, a.bytes)
    path = os.path.join(a.tmp, "sendfile.bin")
    with open(path, "wb") as f:
        f.write(struct.pack("!Q", len(data)) + data)
    s = socket.create_connection((a.dst, a.port), timeout=a.secs)
    with open(path, "rb") as f:
        sent = s.sendfile(f)
    if sent != len(data) + 8:
        raise RuntimeError("sendfile sent %d" % sent)
    s.shutdown(socket.SHUT_WR)
    # The answer through a pipe: socket -> pipe with splice, pipe read.
    s.settimeout(None)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                 struct.pack("ll", int(a.secs), 0))
    pr, pw = os.pipe()
    h = hashlib.sha256()
    answer = b""
    got = 0
    while True:
        k = os.splice(s.fileno(), pw, 65536)
        if k == 0:
            break
        b = os.read(pr, k)
        if len(answer) < 64:
            take = 64 - len(answer)
            answer += b[:take]
            b = b[take:]
        h.update(b)
        got += len(b)
    os.close(pr)
    os.close(pw)
    s.close()
    report(answer, h, got, data, a)


def cmd_forkserver(a):
    """fork after listen and accept: the child looks at the connection it
    shares with the parent (getpeername, a MSG_PEEK: usable after the
    hand-over to the kernel, ENOTCONN with ANYLOAD_TCP_HANDOVER=0), serves
    the next connection through the inherited listener and exits; the
    parent serves its connection after the fork."""
    import errno
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(16)
    say("READY")
    c, peer = ls.accept()
    w = Waiter("blocking", time.monotonic() + a.secs)
    pid = os.fork()
    if pid == 0:
        res = []
        # Probes that leave the stream alone: the connection is shared
        # with the parent, which serves it.
        for name, op in (("peer", lambda: c.getpeername() == peer),
                         ("peek", lambda: c.recv(1, socket.MSG_PEEK |
                                                 socket.MSG_DONTWAIT))):
            try:
                op()
                res.append("%s=ok" % name)
            except OSError as e:
                res.append("%s=%s" % (name, errno.errorcode.get(e.errno)))
        c.close()
        say("CHILD inherited " + " ".join(res))
        c2, _ = ls.accept()
        serve_one(c2, a, w)
        say("CHILD served")
        os._exit(0)
    serve_one(c, a, w)
    say("PARENT served")
    _, st = os.waitpid(pid, 0)
    say("DONE child=%d" % st)


def cmd_sleepserver(a):
    """accepts one connection, then sleeps --secs outside any socket call
    (the stack is not polled by the program meanwhile), then reads it to
    the end; prints READY, SLEEPING, then DONE bytes=N."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(4)
    say("READY")
    c, _ = ls.accept()
    say("SLEEPING")
    time.sleep(a.secs)
    n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    say("DONE bytes=%d" % n)


def cmd_ackclient(a):
    """connects, waits 0.3 s (the server is asleep by then), sends --bytes,
    waits 1 s and prints how many of its segments the peer has not
    acknowledged (TCP_INFO tcpi_unacked), then closes."""
    s = socket.create_connection((a.dst, a.port), timeout=a.secs)
    time.sleep(0.3)
    s.sendall(data_of(1, a.bytes))
    time.sleep(1.0)
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    say("UNACKED %d" % struct.unpack_from("I", info, 24)[0])
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dst", default="")
    ap.add_argument("--mode", default="blocking")
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--bytes", type=int, default=100000)
    ap.add_argument("--secs", type=float, default=20)
    ap.add_argument("--tmp", default="/tmp")
    a = ap.parse_args()
    {"server": cmd_server, "client": cmd_client, "files": cmd_files,
     "forkserver": cmd_forkserver, "sleepserver": cmd_sleepserver,
     "ackclient": cmd_ackclient}[a.cmd](a)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line the test can show
        say("ERROR %s: %s" % (type(e).__name__, e))
        sys.exit(1)
