# SPDX-License-Identifier: BSD-2-Clause
"""stack_peer.py: the kernel-stack peer of the anyload stack's integration
tests (tests/integration/stack_udp.sh, stack_udp_more.sh). Not a test by
itself.

  echo-server --bind IP --port P --secs S
        prints READY once bound, echoes every datagram to its sender and
        prints "ECHOED <len> <ip>:<port>" per datagram, until --secs pass
        or SIGTERM
  echo-client --dst IP --port P --count N --size S [--timeout T]
        sends N datagrams of S bytes ("E-000000" padded with '.'), each
        after the echo of the previous one (or its timeout) and checks
        that the echo is byte for byte the datagram; prints
        "CLIENT ok=K sent=N" and exits 0 if K == N, else 1
  ping --dst IP --count N
        N ICMP echo requests through a raw socket, each waiting 1 s for
        its reply (identifier, sequence and data checked); prints
        "PING ok=K" and exits 0 if K == N, else 1
  sniff --ifname IF --port P --secs S
        a packet socket on IF; prints READY once bound, then for every
        incoming IPv4 UDP frame to port P
        "FRAME dmac=MAC src=IP:PORT dst=IP:PORT payload=TEXT" (flushed),
        until --secs pass or SIGTERM, then "TOTAL n"
Every loop is bounded by its count or its time.
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys
import time

from campaign_common import csum16


def cmd_echo_server(a):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, a.port))
    s.setblocking(False)
    print("READY", flush=True)
    deadline = time.monotonic() + a.secs
    while not stop and time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], 0.1)
        if not r:
            continue
        try:
            data, peer = s.recvfrom(65536)
        except BlockingIOError:
            continue
        s.sendto(data, peer)
        print("ECHOED %d %s:%d" % (len(data), peer[0], peer[1]), flush=True)


def cmd_echo_client(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    ok = 0
    for i in range(a.count):
        msg = ("E-%06d" % i).encode()
        msg += b"." * max(0, a.size - len(msg))
        s.sendto(msg, (a.dst, a.port))
        try:
            data, peer = s.recvfrom(65536)
        except socket.timeout:
            print("TIMEOUT %d" % i, flush=True)
            continue
        if data == msg and peer == (a.dst, a.port):
            ok += 1
        else:
            print("MISMATCH %d len=%d from %s" % (i, len(data), peer),
                  flush=True)
    print("CLIENT ok=%d sent=%d" % (ok, a.count), flush=True)
    return 0 if ok == a.count else 1


def cmd_ping(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xffff
    ok = 0
    for seq in range(a.count):
        data = b"anyload-%04d" % seq
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        hdr = hdr[:2] + struct.pack("!H", csum16(hdr + data)) + hdr[4:]
        s.sendto(hdr + data, (a.dst, 0))
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], 0.1)
            if not r:
                continue
            pkt, peer = s.recvfrom(65536)
            ihl = (pkt[0] & 0xf) * 4
            icmp = pkt[ihl:]
            if len(icmp) < 8 or peer[0] != a.dst:
                continue
            t, _, _, i, q = struct.unpack("!BBHHH", icmp[:8])
            if t == 0 and i == ident and q == seq and icmp[8:] == data:
                ok += 1
                break
    print("PING ok=%d" % ok, flush=True)
    return 0 if ok == a.count else 1


def cmd_sniff(a):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((a.ifname, 0))
    s.setblocking(False)
    print("READY", flush=True)
    deadline = time.monotonic() + a.secs
    n = 0
    while not stop and time.monotonic() < deadline:
        try:
            r, _, _ = select.select([s], [], [], 0.05)
        except InterruptedError:
            continue
        if not r:
            continue
        while True:
            try:
                f, addr = s.recvfrom(65536)
            except BlockingIOError:
                break
            # addr[2] is the packet type: skip what this host sends.
            if addr[2] == socket.PACKET_OUTGOING or len(f) < 42:
                continue
            if f[12:14] != b"\x08\x00" or f[23] != 17:
                continue
            ihl = (f[14] & 0xf) * 4
            u = 14 + ihl
            if len(f) < u + 8:
                continue
            sport, dport = struct.unpack("!HH", f[u:u + 4])
            if dport != a.port:
                continue
            n += 1
            pay = f[u + 8:u + 8 + 32].split(b".")[0]
            print("FRAME dmac=%s src=%s:%d dst=%s:%d payload=%s" % (
                ":".join("%02x" % b for b in f[0:6]),
                socket.inet_ntoa(f[26:30]), sport,
                socket.inet_ntoa(f[30:34]), dport,
                pay.decode(errors="replace")), flush=True)
    print("TOTAL %d" % n, flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo-server")
    e.add_argument("--bind", required=True)
    e.add_argument("--port", type=int, required=True)
    e.add_argument("--secs", type=float, default=60)
    c = sub.add_parser("echo-client")
    c.add_argument("--dst", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--count", type=int, default=10)
    c.add_argument("--size", type=int, default=32)
    c.add_argument("--timeout", type=float, default=2.0)
    g = sub.add_parser("ping")
    g.add_argument("--dst", required=True)
    g.add_argument("--count", type=int, default=3)
    f = sub.add_parser("sniff")
    f.add_argument("--ifname", required=True)
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--secs", type=float, default=30)
    a = p.parse_args()
    if a.cmd == "sniff":
        cmd_sniff(a)
        return 0
    if a.cmd == "ping":
        return cmd_ping(a)
    if a.cmd == "echo-server":
        cmd_echo_server(a)
        return 0
    return cmd_echo_client(a)


if __name__ == "__main__":
    sys.exit(main())
