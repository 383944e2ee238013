# SPDX-License-Identifier: BSD-2-Clause
"""udptool.py: the kernel-stack peer of the ef_vi integration tests.

Sends and receives through the kernel's own sockets, so that each test
checks anyload against the standard stack. Not a test by itself.

  send   --dst IP --port P --count N --tag T [--sport S] [--src IP]
         [--mcast-if IP] [--gap SECS] [--linger SECS]
         N UDP datagrams with payloads "T-000000", "T-000001", ...; with
         --linger the socket stays open SECS after the last, so that
         replies die in it instead of drawing ICMP port unreachable
  recv   --port P [--bind IP] [--secs S] [--join GROUP --iface-ip IP]
         prints READY once bound, then "GOT <payload> <srcip>:<srcport>"
         per datagram (flushed), until --secs pass or SIGTERM
  raw    --ifname IF --dst MAC --src MAC --ethertype 0xXXXX --count N --tag T
         N raw Ethernet frames through an AF_PACKET socket, payload
         "T-000000"..., padded with '.' to the 60-byte minimum
  rawip  --dst IP --proto N --count N --tag T
         N IPv4 datagrams of protocol N through a raw IP socket
Every loop is bounded by its count or its time.
"""
import argparse
import select
import signal
import socket
import struct
import sys
import time


def payload(tag, i):
    return ("%s-%06d" % (tag, i)).encode()


def cmd_send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if a.sport or a.src:
        s.bind((a.src or "0.0.0.0", a.sport or 0))
    if a.mcast_if:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                     socket.inet_aton(a.mcast_if))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    for i in range(a.count):
        s.sendto(payload(a.tag, i), (a.dst, a.port))
        if a.gap:
            time.sleep(a.gap)
    if a.linger:
        time.sleep(a.linger)
    s.close()


def cmd_recv(a):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    if a.join:
        mreq = socket.inet_aton(a.join) + socket.inet_aton(a.iface_ip)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
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
                data, src = s.recvfrom(65536)
            except BlockingIOError:
                break
            n += 1
            print("GOT %s %s:%d" % (data.decode(errors="replace"),
                                    src[0], src[1]), flush=True)
    print("TOTAL %d" % n, flush=True)


def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(":"))


def cmd_raw(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.ifname, 0))
    hdr = mac_bytes(a.dst) + mac_bytes(a.src) + struct.pack(
        "!H", int(a.ethertype, 0))
    for i in range(a.count):
        f = hdr + payload(a.tag, i)
        if len(f) < 60:
            f += b"." * (60 - len(f))
        s.send(f)
        if a.gap:
            time.sleep(a.gap)
    s.close()


def cmd_rawip(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, a.proto)
    for i in range(a.count):
        s.sendto(payload(a.tag, i), (a.dst, 0))
        if a.gap:
            time.sleep(a.gap)
    s.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("send")
    q.add_argument("--dst", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--tag", default="x")
    q.add_argument("--sport", type=int, default=0)
    q.add_argument("--src", default="")
    q.add_argument("--mcast-if", default="")
    q.add_argument("--gap", type=float, default=0.0005)
    q.add_argument("--linger", type=float, default=0.0)
    q = sub.add_parser("recv")
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--bind", default="0.0.0.0")
    q.add_argument("--secs", type=float, default=30)
    q.add_argument("--join", default="")
    q.add_argument("--iface-ip", default="0.0.0.0")
    q = sub.add_parser("raw")
    q.add_argument("--ifname", required=True)
    q.add_argument("--dst", required=True)
    q.add_argument("--src", required=True)
    q.add_argument("--ethertype", default="0x88b5")
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--tag", default="x")
    q.add_argument("--gap", type=float, default=0.0005)
    q = sub.add_parser("rawip")
    q.add_argument("--dst", required=True)
    q.add_argument("--proto", type=int, required=True)
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--tag", default="x")
    q.add_argument("--gap", type=float, default=0.0005)
    a = p.parse_args()
    {"send": cmd_send, "recv": cmd_recv, "raw": cmd_raw,
     "rawip": cmd_rawip}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
