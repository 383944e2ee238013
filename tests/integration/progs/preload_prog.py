# SPDX-License-Identifier: BSD-2-Clause
"""preload_prog.py: an ordinary Python program for the transparent-mode
tests, run unchanged with and without anyload (not a test by itself).

  local                       loopback UDP and TCP, select/poll/epoll with
                              mixed fds, dup2, fork, a subprocess (exec),
                              fcntl O_NONBLOCK, FIONREAD, recvmsg/sendmsg;
                              prints one deterministic line per check
  server --port P --mode M --count N [--secs S]
                              UDP echo server (M: blocking, nonblock,
                              select, poll, epoll, asyncio); prints READY,
                              echoes N datagrams, prints DONE n=N
  client --dst IP --port P --mode M --count N [--secs S]
                              sends N datagrams, waits for each echo (M as
                              above for the receive side); prints
                              OK n=N when every echo matched
Every loop is bounded by its count or its time.
"""
import argparse
import asyncio
import fcntl
import os
import select
import socket
import struct
import subprocess
import sys
import termios
import time

from line_out import say


def wait_readable(s, mode, deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    if mode == "select":
        r, _, _ = select.select([s], [], [], left)
        return bool(r)
    if mode == "poll":
        p = select.poll()
        p.register(s, select.POLLIN)
        return bool(p.poll(left * 1000))
    if mode == "epoll":
        e = select.epoll()
        e.register(s.fileno(), select.EPOLLIN)
        try:
            return bool(e.poll(left))
        finally:
            e.close()
    if mode == "nonblock":
        return True
    return True


def recv_one(s, mode, deadline):
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        if not wait_readable(s, mode, deadline):
            continue
        try:
            return s.recvfrom(65536)
        except BlockingIOError:
            if mode == "nonblock":
                time.sleep(0.0001)
            continue


def setup(s, mode, secs):
    if mode == "blocking":
        s.settimeout(None)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                     struct.pack("ll", int(secs), 0))
    else:
        s.setblocking(False)


def cmd_server(a):
    if a.mode == "asyncio":
        return asyncio.run(async_server(a))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.port))
    setup(s, a.mode, a.secs)
    say("READY")
    deadline = time.monotonic() + a.secs
    for i in range(a.count):
        data, peer = recv_one(s, a.mode, deadline)
        s.sendto(data, peer)
    say("DONE n=%d" % a.count)


async def async_server(a):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    n = [0]

    class P(asyncio.DatagramProtocol):
        def connection_made(self, t):
            self.t = t

        def datagram_received(self, data, peer):
            self.t.sendto(data, peer)
            n[0] += 1
            if n[0] == a.count and not done.done():
                done.set_result(True)

    t, _ = await loop.create_datagram_endpoint(
        P, local_addr=("0.0.0.0", a.port))
    say("READY")
    await asyncio.wait_for(done, a.secs)
    t.close()
    say("DONE n=%d" % n[0])


def cmd_client(a):
    if a.mode == "asyncio":
        return asyncio.run(async_client(a))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    setup(s, a.mode, a.secs)
    deadline = time.monotonic() + a.secs
    ok = 0
    for i in range(a.count):
        msg = b"E-%06d" % i
        s.sendto(msg, (a.dst, a.port))
        data, peer = recv_one(s, a.mode, deadline)
        if data == msg and peer[0] == a.dst:
            ok += 1
    say("OK n=%d" % ok)


async def async_client(a):
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()

    class P(asyncio.DatagramProtocol):
        def datagram_received(self, data, peer):
            q.put_nowait(data)

    t, _ = await loop.create_datagram_endpoint(
        P, remote_addr=(a.dst, a.port))
    ok = 0
    for i in range(a.count):
        msg = b"E-%06d" % i
        t.sendto(msg)
        data = await asyncio.wait_for(q.get(), a.secs)
        ok += data == msg
    t.close()
    say("OK n=%d" % ok)


def cmd_local(a):
    # UDP over loopback, blocking and with every multiplexer.
    u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u1.bind(("127.0.0.1", 0))
    u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u2.connect(u1.getsockname())
    u2.send(b"one")
    say("udp recv", u1.recvfrom(100)[0])
    u2.send(b"two")
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    spare.listen(1)
    say("udp select", select.select([u1, spare], [], [], 2)[0] == [u1])
    p = select.poll()
    p.register(u1, select.POLLIN)
    say("udp poll", [ev for _, ev in p.poll(2000)])
    e = select.epoll()
    e.register(u1.fileno(), select.EPOLLIN)
    e2 = select.epoll()
    e2.register(u1.fileno(), select.EPOLLIN)
    e3 = select.epoll()
    e3.register(e.fileno(), select.EPOLLIN)
    say("udp epoll", [ev for _, ev in e.poll(2)],
        [ev for _, ev in e2.poll(2)], [ev for _, ev in e3.poll(2)])
    buf = bytearray(100)
    fcntl.ioctl(u1.fileno(), termios.FIONREAD, buf)
    say("udp fionread", struct.unpack("i", buf[:4])[0])
    say("udp recvmsg", u1.recvmsg(100)[0])
    u1.setblocking(False)
    try:
        u1.recv(10)
        say("udp nonblock: got data")
    except BlockingIOError:
        say("udp nonblock EAGAIN")
    # dup2 over a socket, then use the duplicate.
    d = os.dup(u1.fileno())
    os.dup2(u2.fileno(), d)
    os.write(d, b"three")
    u1.setblocking(True)
    say("udp via dup2", u1.recv(100))
    os.close(d)
    # TCP over loopback.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    c = socket.create_connection(ls.getsockname())
    sv, _ = ls.accept()
    c.sendall(b"tcp hello")
    say("tcp", sv.recv(100))
    # fork: the child uses the inherited socket, the parent reads.
    pid = os.fork()
    if pid == 0:
        u2.send(b"from child")
        os._exit(0)
    os.waitpid(pid, 0)
    say("fork", u1.recv(100))
    # exec: a subprocess that uses the network itself.
    r = subprocess.run([sys.executable, "-c",
                        "import socket,sys;s=socket.socket(socket.AF_INET,"
                        "socket.SOCK_DGRAM);s.sendto(b'from exec',"
                        "('127.0.0.1',%d));print('child ok')"
                        % u1.getsockname()[1]],
                       capture_output=True, text=True, timeout=20)
    say("exec", r.stdout.strip(), u1.recv(100))
    # The resolver (DNS sockets are glibc's own).
    say("resolve", socket.getaddrinfo("localhost", 80,
                                      socket.AF_INET)[0][4][0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dst", default="")
    ap.add_argument("--mode", default="blocking")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--secs", type=float, default=20)
    a = ap.parse_args()
    {"local": cmd_local, "server": cmd_server, "client": cmd_client}[a.cmd](a)


if __name__ == "__main__":
    main()
