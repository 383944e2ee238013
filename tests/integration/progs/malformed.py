# SPDX-License-Identifier: BSD-2-Clause
"""malformed.py: the malformed-traffic campaign of
tests/integration/malformed_traffic.sh (issue 5). Not a test by itself.

Runs in the peer's namespace (root): frames made with scapy go out raw on
--ifname (an AF_PACKET socket, byte for byte, paced), to --dst-mac; a
kernel UDP socket on --src:40000 collects the echoes of the datagrams that
must be echoed, another on --src:40001 sends the probe echo after each
batch. The program under test runs in the other namespace and is driven
through its command fifo (--ctl-in, the answers read from --ctl-out, its
command numbers continuing after --seq), as bg_cmd does.

  stack  the stack echo server (progs/stack_echo, echoing on --port, with
         -F if --frags, -I if --icmp, reassembly timeout --reasm-ms). For
         every batch the stack's receive counters must move exactly as a
         model of the XDP filter and of the stack's checks predicts (a
         counted drop per frame, or a delivery whose echo comes back byte
         for byte, or an ICMP outcome), the accounting identities must
         hold, the probe must be echoed; at the end the buffer pool is back
         to its idle level and the RSS within --rss-margin-kb.
  blind  an unmodified UDP echo server on --port under anyload
         (transparent mode; no command channel): per batch the echoes
         byte for byte and the probe; prints "EXPECT name=n ..." (the
         model's receive counters over the whole campaign, probes
         included) for the caller to compare with the counters that the
         server prints at its exit; its RSS within --rss-margin-kb.
  rawvi  a raw VI receiver (progs/vi_recv with a unicast-all filter): every
         frame of every batch arrives as RX or DISCARD, it answers after
         each batch, its RSS stays within the margin.

--backend says which VI backend the program runs on (afxdp, the default,
or afpacket): the model of the filter differs in one place, VLAN tags (the
kernel takes the outer one out of the frame before a packet socket or tc
sees it, and drops a tagged frame under 20 bytes).

Batches: checksums, every header truncated at every length, bogus IHL,
version and lengths, IP options, fragments (overlapping, oversized, tiny,
duplicate, conflicting ends, lone, fragmented ICMP, reassembly memory
bound), ICMP (echo, other types, errors quoting foreign flows and quoting
ours with a bad inner header, a forged fragmentation-needed that must not
lower the path MTU), ARP garbage, VLAN-tagged junk, random bytes.

Prints "BATCH <name> sent=N stack=M ok" per batch, "CMDS <n>" (commands
issued, for the caller's bg_cmd numbering) and "MALFORMED ok"; exits 0,
1 on a failed check (a FAIL line says which), 77 without scapy.
"""
import argparse
import logging
import os
import random
import select
import socket
import struct
import sys
import time

from campaign_common import Ctl, Fail, csum16, delta, drain, send_paced

logging.getLogger("scapy").setLevel(logging.ERROR)
try:
    from scapy.layers.inet import (ICMP, IP, UDP, IPOption_NOP,
                                   IPOption_RR, IPOption_Timestamp)
    from scapy.layers.l2 import ARP, Dot1Q, Ether
    from scapy.packet import Raw
except ImportError as e:
    print("SKIP: scapy cannot be imported (%s)" % e)
    sys.exit(77)
logging.getLogger("scapy").setLevel(logging.ERROR)
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

ECHO_PORT = 40000   # source port of crafted datagrams; their echoes land here
PROBE_PORT = 40001

# The stack's receive-path counters: each batch must move exactly these
# as predicted (anything else here moving is a failure).
RX_COUNTERS = """rx_frames rx_drop_vi_discard rx_drop_no_desc rx_drop_multibuf
rx_drop_eth_trunc rx_drop_not_ip rx_drop_ip_trunc rx_drop_ip_version
rx_drop_ip_ihl rx_drop_ip_len rx_drop_ip_csum rx_drop_ip_frag rx_drop_ip_src
rx_drop_ip_dst rx_drop_ip_proto reasm_frags
reasm_done reasm_drop_dup reasm_drop_overlap reasm_drop_bad
reasm_drop_timeout reasm_drop_evicted reasm_drop_nomem rx_udp_datagrams
rx_udp_zero_csum rx_drop_udp_trunc rx_drop_udp_len rx_drop_udp_csum
rx_drop_udp_no_sock rx_drop_rcvbuf rx_drop_pool_low rx_icmp
rx_drop_icmp_trunc rx_drop_icmp_csum rx_drop_icmp_quote rx_drop_icmp_type
rx_drop_icmp_no_sock icmp_err_hard icmp_err_soft icmp_err_unconnected
icmp_pmtu_learnt icmp_pmtu_ignored icmp_echo_replies""".split()

REASM_DROPS_LATER = ("reasm_drop_evicted", "reasm_drop_timeout")

L3_DROPS = """rx_drop_multibuf rx_drop_eth_trunc rx_drop_not_ip rx_drop_ip_trunc
rx_drop_ip_version rx_drop_ip_ihl rx_drop_ip_len rx_drop_ip_csum
rx_drop_ip_frag rx_drop_ip_src rx_drop_ip_dst rx_drop_ip_proto""".split()
UDP_OUTCOMES = """rx_drop_udp_trunc rx_drop_udp_len rx_drop_udp_csum
rx_drop_udp_no_sock rx_drop_rcvbuf rx_drop_pool_low
rx_udp_datagrams""".split()
ICMP_OUTCOMES = """rx_drop_icmp_trunc rx_drop_icmp_csum rx_drop_icmp_quote
rx_drop_icmp_type rx_drop_icmp_no_sock icmp_err_hard icmp_err_soft
icmp_err_unconnected icmp_echo_replies""".split()


VLAN_TPIDS = (b"\x81\x00", b"\x88\xa8")


def afpacket_vlan_dropped(f):
    """On AF_PACKET (no XDP) the kernel takes a VLAN tag out of the frame
    (skb_vlan_untag) before the packet sockets and tc see it, and drops a
    tagged frame with less than the tag and two bytes after it (20
    bytes): such a frame reaches neither a VI nor the kernel's stack."""
    return f[12:14] in VLAN_TPIDS and len(f) < 20


def ip4(a):
    return socket.inet_aton(a)


# ---- the program under test ------------------------------------------------

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise Fail("no VmRSS for pid %d" % pid)


# ---- models: what the XDP filter claims, what the stack does ---------------

def plateau_ok(mtu):
    return 68 <= mtu < 1500


class Model:
    """The stack's receive path for a frame that is not a fragment, as
    src/stack/ip.c, udp_rx.c and icmp.c do it, behind the XDP filter of
    bpf/filter_lookup.h with the stack's filters: the socket's
    ip4_local 0.0.0.0:port, ipproto 17 with -F, ipproto 1 with -I; the
    filter's memory of the datagrams whose first fragment it claimed
    (al_frags), whose later fragments follow; and the ICMP errors about
    the socket's flow, which go to it without -I too."""

    def __init__(self, a):
        self.port = a.port
        self.frags = a.frags
        self.followed = set()
        # First fragments taken in whose datagram never completes (the
        # memory bound or the timeout drops them, or they are in progress
        # at the end).
        self.incomplete = 0
        self.icmp = a.icmp
        self.local = ip4(a.dst)
        self.mac = bytes.fromhex(a.dst_mac.replace(":", ""))
        self.afpacket = a.backend == "afpacket"

    def steered(self, f):
        if len(f) < 14:
            return False
        if self.afpacket and f[12:14] in VLAN_TPIDS:
            if afpacket_vlan_dropped(f):
                return False
            # The kernel has taken the outer tag out of the frame before
            # the socket filter and tc see it: they look through a second
            # tag where XDP looks through one.
            f = f[:12] + f[16:]
        et, l3 = struct.unpack("!H", f[12:14])[0], 14
        if et in (0x8100, 0x88a8):
            if len(f) < 18:
                return False
            et, l3 = struct.unpack("!H", f[16:18])[0], 18
        if et != 0x0800 or len(f) - l3 < 20:
            return False
        ip = f[l3:]
        proto, ihl = ip[9], (ip[0] & 0xf) * 4
        frag = struct.unpack("!H", ip[6:8])[0]
        datagram = (ip[12:16], ip[16:20], ip[4:6], proto)
        if proto in (6, 17) and frag & 0x1fff and datagram in self.followed:
            return True
        if (proto == 1 and not frag & 0x3fff and ihl >= 20 and
                self.icmp_err_ours(ip[ihl:])):
            return True
        if (proto in (6, 17) and not frag & 0x1fff and ihl >= 20 and
                l3 + ihl <= 256 and len(f) >= l3 + ihl + 4):
            dport = struct.unpack("!H", ip[ihl + 2:ihl + 4])[0]
            if proto == 17 and dport == self.port:
                if frag & 0x2000:
                    self.followed.add(datagram)
                return True
        return (proto == 17 and self.frags) or (proto == 1 and self.icmp)

    def icmp_err_ours(self, m):
        """Whether ICMP message m is an error that the filter gives to the
        owner of the flow it quotes (al_match_icmp4_err): the socket's,
        UDP from its port (the quoted header's version, length and
        checksum are not looked at)."""
        if len(m) < 8 + 20 or m[0] not in (3, 11, 12):
            return False
        q = m[8:]
        qihl = (q[0] & 0xf) * 4
        qfrag = struct.unpack("!H", q[6:8])[0]
        if (q[9] not in (6, 17) or qfrag & 0x1fff or qihl < 20 or
                len(q) < qihl + 4):
            return False
        sport = struct.unpack("!H", q[qihl:qihl + 2])[0]
        return q[9] == 17 and sport == self.port

    @staticmethod
    def is_frag(f):
        if len(f) < 34 or f[12:14] != b"\x08\x00":
            return False
        return struct.unpack("!H", f[20:22])[0] & 0x3fff != 0

    def outcome(self, f):
        """(counters, echo payload or None, ICMP echo reply expected) for
        a steered frame that st__rx_frame does not hand to reassembly."""
        c = ["rx_frames"]
        if len(f) < 14:
            return c + ["rx_drop_eth_trunc"], None, False
        if f[12:14] != b"\x08\x00":
            return c + ["rx_drop_not_ip"], None, False
        ip = f[14:]
        if len(ip) < 20:
            return c + ["rx_drop_ip_trunc"], None, False
        if ip[0] >> 4 != 4:
            return c + ["rx_drop_ip_version"], None, False
        hl = (ip[0] & 0xf) * 4
        if hl < 20 or hl > len(ip):
            return c + ["rx_drop_ip_ihl"], None, False
        tot = struct.unpack("!H", ip[2:4])[0]
        if tot < hl or tot > len(ip):
            return c + ["rx_drop_ip_len"], None, False
        if csum16(ip[:hl]) != 0:
            return c + ["rx_drop_ip_csum"], None, False
        frag = struct.unpack("!H", ip[6:8])[0]
        mf, off, pay = frag & 0x2000, (frag & 0x1fff) * 8, tot - hl
        if off + pay > 65535 or (mf and (pay == 0 or pay % 8)):
            return c + ["rx_drop_ip_frag"], None, False
        src, dst, proto = ip[12:16], ip[16:20], ip[9]
        if (src[0] & 0xf0 == 0xe0 or src == b"\xff" * 4 or src[0] == 0 or
                src[0] == 127):
            return c + ["rx_drop_ip_src"], None, False
        if not (dst[0] & 0xf0 == 0xe0 or dst == b"\xff" * 4 or
                f[0:6] == b"\xff" * 6 or dst == self.local):
            return c + ["rx_drop_ip_dst"], None, False
        if proto not in (1, 17):
            return c + ["rx_drop_ip_proto"], None, False
        if mf or off:
            if proto != 17:
                return c + ["rx_drop_ip_proto"], None, False
            if not off and not self.frags:
                # Alone: the later fragments of the random batch, unique
                # identifications, never follow a first one.
                self.incomplete += 1
                return c + ["reasm_frags"], None, False
            raise Fail("model: a fragment needs explicit expectations")
        body = ip[hl:tot]
        if proto == 17:
            return self.udp(c, src, dst, body)
        return self.icmp_msg(c, dst, body)

    def udp(self, c, src, dst, u):
        if len(u) < 8:
            return c + ["rx_drop_udp_trunc"], None, False
        sport, dport, ulen, uc = struct.unpack("!HHHH", u[:8])
        if ulen < 8 or ulen > len(u):
            return c + ["rx_drop_udp_len"], None, False
        u = u[:ulen]
        if uc == 0:
            c = c + ["rx_udp_zero_csum"]
        else:
            ph = src + dst + struct.pack("!BBH", 0, 17, ulen)
            if csum16(ph + u) != 0:
                return c + ["rx_drop_udp_csum"], None, False
        if dport != self.port:
            return c + ["rx_drop_udp_no_sock"], None, False
        if sport != ECHO_PORT or src != ip4(ARGS.src):
            raise Fail("model: a delivered datagram not from the echo port")
        return c + ["rx_udp_datagrams"], u[8:], False

    def icmp_msg(self, c, dst, m):
        c = c + ["rx_icmp"]
        if len(m) < 8:
            return c + ["rx_drop_icmp_trunc"], None, False
        if csum16(m) != 0:
            return c + ["rx_drop_icmp_csum"], None, False
        t, code = m[0], m[1]
        if t == 8:
            if dst != self.local or 20 + len(m) > 1500:
                return c + ["rx_drop_icmp_type"], None, False
            return c + ["icmp_echo_replies"], None, True
        if t not in (3, 11, 12):
            return c + ["rx_drop_icmp_type"], None, False
        q = m[8:]
        if len(q) < 28 or q[0] >> 4 != 4:
            return c + ["rx_drop_icmp_quote"], None, False
        qh = (q[0] & 0xf) * 4
        if qh < 20 or len(q) < qh + 8:
            return c + ["rx_drop_icmp_quote"], None, False
        if struct.unpack("!H", q[6:8])[0] & 0x1fff:
            return c + ["rx_drop_icmp_quote"], None, False
        if q[9] != 17:
            return c + ["rx_drop_icmp_no_sock"], None, False
        if struct.unpack("!H", q[qh:qh + 2])[0] != self.port:
            return c + ["rx_drop_icmp_no_sock"], None, False
        if t == 3 and code == 4:
            mtu = struct.unpack("!H", m[6:8])[0]
            if mtu == 0 or plateau_ok(mtu):
                raise Fail("model: a path MTU would be learnt")
            c = c + ["icmp_pmtu_ignored"]
        # The echo socket is bound to INADDR_ANY and not connected.
        return c + ["icmp_err_unconnected"], None, False


# ---- frames ----------------------------------------------------------------

class Frames:
    def __init__(self, a):
        self.a = a
        self.eth = Ether(src=a.src_mac, dst=a.dst_mac)
        self.ids = 1000

    def ip(self, **kw):
        kw.setdefault("src", self.a.src)
        kw.setdefault("dst", self.a.dst)
        return IP(**kw)

    def udp(self, payload, dport=None, ip=None, **ukw):
        return bytes(self.eth / (ip or self.ip()) /
                     UDP(sport=ECHO_PORT, dport=dport or self.a.port,
                         **ukw) / Raw(payload))

    def echo_req(self, payload, ident=0x77, seq=1, ip=None, **kw):
        return bytes(self.eth / (ip or self.ip()) /
                     ICMP(type=8, id=ident, seq=seq, **kw) / Raw(payload))

    def quote(self, src, dst, sport, dport, proto=17, ihl=None, tot=None,
              frag=0, version=4, cut=None):
        q = IP(src=src, dst=dst, proto=proto, id=7, frag=frag, ttl=1)
        if tot is not None:
            q.len = tot
        if ihl is not None:
            q.ihl = ihl
            if ihl > 5:
                q.options = [IPOption_NOP()] * ((ihl - 5) * 4)
        if version != 4:
            q.version = version
        b = bytes(q) + struct.pack("!HHHH", sport, dport, 16, 0)
        return b if cut is None else b[:cut]

    def icmp_err(self, t, code, quoted, rest=0):
        m = struct.pack("!BBHI", t, code, 0, rest) + quoted
        m = m[:2] + struct.pack("!H", csum16(m)) + m[4:]
        return bytes(self.eth / self.ip(proto=1) / Raw(m))

    def next_id(self):
        self.ids += 1
        return self.ids

    def udp_datagram(self, payload, ident):
        """The UDP bytes (header and payload, checksum over the
        pseudo-header) of a datagram to be sent in fragments."""
        full = bytes(self.ip(id=ident) / UDP(sport=ECHO_PORT,
                                             dport=self.a.port) /
                     Raw(payload))
        return full[20:]

    def frag(self, ident, off, chunk, mf, proto=17):
        fl = "MF" if mf else 0
        return bytes(self.eth / self.ip(id=ident, flags=fl, frag=off // 8,
                                        proto=proto) / Raw(chunk))


# ---- batches ---------------------------------------------------------------
#
# A batch is a list of items (frame, expect): expect None means "as the
# model says" (for frames the stack sees), or a dict for fragments:
# {"counters": {name: n}, "echo": [payloads], "sum": [(names, n)]}
# attached to the batch as a whole through batch-level entries.

def b_checksums(fr, a):
    items = [(fr.udp(b"ck-good"), None)]
    items.append((fr.udp(b"ck-badudp", chksum=0x1234), None))
    items.append((fr.udp(b"ck-zero", chksum=0), None))
    items.append((fr.udp(b"ck-badip", ip=fr.ip(chksum=0x4321)), None))
    p = bytearray(fr.udp(b"ck-flip"))
    p[-1] ^= 0x01                        # payload bit flip: UDP sum wrong
    items.append((bytes(p), None))
    items.append((fr.echo_req(b"ck-icmp-bad", chksum=0x1111), None))
    items.append((fr.echo_req(b"ck-icmp-good"), None))
    return items, {}


def b_truncation(fr, a):
    bases = [
        fr.udp(b"trunc-udp"),
        fr.udp(b"trunc-opt", ip=fr.ip(options=[IPOption_NOP()] * 12)),
        fr.echo_req(b"trunc-icmp"),
        fr.icmp_err(3, 3, fr.quote(a.dst, a.src, a.port, ECHO_PORT)),
        bytes(Ether(src=a.src_mac, dst=a.dst_mac) / Dot1Q(vlan=5) /
              fr.ip() / UDP(sport=ECHO_PORT, dport=a.port) / Raw(b"v")),
    ]
    items = []
    for b in bases:
        for n in range(14, len(b)):
            items.append((b[:n], None))
    # Consistent lengths: the IP total length says the header is cut.
    for k in range(0, 8):
        u = bytes(UDP(sport=ECHO_PORT, dport=a.port, len=8, chksum=0))[:k]
        items.append((bytes(fr.eth / fr.ip(proto=17) / Raw(u)), None))
        m = struct.pack("!BBHHH", 8, 0, 0, 1, 1)[:k]
        items.append((bytes(fr.eth / fr.ip(proto=1) / Raw(m)), None))
    return items, {}


def b_lengths(fr, a):
    items = []
    base = fr.udp(b"len-base!")
    for ihl in range(0, 16):
        b = bytearray(base)
        b[14] = 0x40 | ihl
        b[24:26] = b"\0\0"
        h = max(ihl * 4, 20)
        b[24:26] = struct.pack("!H", csum16(bytes(b[14:14 + h])))
        items.append((bytes(b), None))
    for ver in (0, 5, 6, 15):
        b = bytearray(base)
        b[14] = (ver << 4) | 5
        items.append((bytes(b), None))
    n = len(base) - 14
    for tot in (0, 19, 20, 21, 27, n - 1, n + 1, 1500, 65535):
        items.append((fr.udp(b"len-base!", ip=fr.ip(len=tot)), None))
    # Ethernet padding after the datagram: delivered, padding ignored.
    items.append((fr.udp(b"len-padded") + b"\0" * 30, None))
    items.append((fr.udp(b"len-padded2") + b"\xee" * 7, None))
    # UDP length fields.
    for ulen in (0, 7, 8, 12, 100, 65535):
        items.append((fr.udp(b"udplen-0123456789", len=ulen, chksum=0),
                      None))
    # Martian sources, a foreign destination, unclaimed protocols.
    for src in ("224.0.0.1", "255.255.255.255", "0.0.0.0", "127.0.0.1"):
        items.append((fr.udp(b"martian", ip=fr.ip(src=src)), None))
    items.append((fr.udp(b"not-ours", ip=fr.ip(dst="198.18.0.77")), None))
    items.append((bytes(fr.eth / fr.ip(proto=17, dst="198.18.0.77") /
                        UDP(sport=ECHO_PORT, dport=9) / Raw(b"x")), None))
    items.append((fr.udp(b"no-socket", dport=a.port + 1), None))
    return items, {}


def b_options(fr, a):
    opts = [
        [IPOption_NOP()] * 4,
        [IPOption_RR(routers=["198.18.0.9", "198.18.0.10"])],
        [IPOption_Timestamp(flg=0)],
        [IPOption_NOP()] * 40,
    ]
    items = []
    for k, o in enumerate(opts):
        items.append((fr.udp(b"opt-%d" % k, ip=fr.ip(options=o)), None))
    # Raw options: a bad option length, loose source route, only EOL.
    for k, raw in enumerate([bytes([7, 200, 4, 0]),
                             bytes([131, 7, 4]) + ip4("198.18.0.9") +
                             b"\0",
                             b"\0" * 8]):
        b = fr.udp(b"rawopt-%d" % k)
        ihl = 5 + len(raw) // 4
        ip = bytearray(b[14:34]) + raw
        ip[0] = 0x40 | ihl
        ip[2:4] = struct.pack("!H", len(b) - 14 + len(raw))
        ip[10:12] = b"\0\0"
        ip[10:12] = struct.pack("!H", csum16(bytes(ip)))
        items.append((b[:14] + bytes(ip) + b[34:], None))
    items.append((fr.echo_req(b"opt-ping", ip=fr.ip(
        options=[IPOption_NOP()] * 8)), None))
    return items, {}


def b_fragments(fr, a):
    """Fragments: expectations by hand (reassembly keeps state)."""
    items, exp, echoes, sums = [], {}, [], []
    frames = 0

    def add(name, n=1):
        exp[name] = exp.get(name, 0) + n

    def send(f, claimed):
        nonlocal frames
        items.append((f, "frag"))
        if claimed:
            frames += 1

    # The filter sees ports in first fragments only, and remembers the
    # datagram of one it claims: later fragments that come after it follow
    # it; those before it are the kernel's (with -F: the stack's anyway).
    claimed = set()

    def first(f, ident):
        send(f, True)
        claimed.add(ident)
        add("reasm_frags")

    def followed(ident):
        return a.frags or ident in claimed

    def later(f, ident):
        send(f, followed(ident))
        if followed(ident):
            add("reasm_frags")

    # Tiny: 8-byte fragments, the UDP header alone in the first.
    pay = b"tiny-fragments-0123456789abcdef"
    ident = fr.next_id()
    u = fr.udp_datagram(pay, ident)
    for off in range(0, len(u), 8):
        f = fr.frag(ident, off, u[off:off + 8], off + 8 < len(u))
        first(f, ident) if off == 0 else later(f, ident)
    add("reasm_done")
    add("rx_udp_datagrams")
    echoes.append(pay)
    # Reversed order and a duplicate: without -F only the first fragment,
    # sent last, reaches the stack, and waits for the others in vain.
    pay = b"reversed-and-duplicated-fragments-" * 3
    ident = fr.next_id()
    u = fr.udp_datagram(pay, ident)
    parts = [(off, u[off:off + 32], off + 32 < len(u))
             for off in range(0, len(u), 32)]
    for off, chunk, mf in reversed(parts):
        f = fr.frag(ident, off, chunk, mf)
        first(f, ident) if off == 0 else later(f, ident)
        if off == 32:
            later(f, ident)
            if a.frags:
                add("reasm_drop_dup")
    incomplete = 0
    if a.frags:
        add("reasm_done")
        add("rx_udp_datagrams")
        echoes.append(pay)
    else:
        incomplete += 1
    # Overlap: the second fragment starts inside the first.
    ident = fr.next_id()
    u = fr.udp_datagram(b"o" * 48, ident)
    first(fr.frag(ident, 0, u[:24], True), ident)
    later(fr.frag(ident, 16, u[16:40], True), ident)
    add("reasm_drop_overlap")
    # Two last fragments with different ends; a fragment past the end.
    ident = fr.next_id()
    u = fr.udp_datagram(b"e" * 56, ident)
    first(fr.frag(ident, 0, u[:16], True), ident)
    later(fr.frag(ident, 32, u[32:40], False), ident)
    later(fr.frag(ident, 16, u[16:24], False), ident)
    add("reasm_drop_bad")
    ident = fr.next_id()
    later(fr.frag(ident, 16, u[16:24], False), ident)
    later(fr.frag(ident, 24, u[24:32], True), ident)
    if a.frags:
        add("reasm_drop_bad")
    # Oversized: ending past 65535; MF with a length not a multiple of 8,
    # or empty: IP-level drops wherever they come from.
    ident = fr.next_id()
    u = fr.udp_datagram(b"big" * 10, ident)
    send(fr.frag(ident, 8189 * 8, b"z" * 40, False), a.frags)
    if a.frags:
        add("rx_drop_ip_frag")
    # The filter claims (and remembers) this first fragment, which the
    # stack then refuses: the next one follows it all the same.
    send(fr.frag(ident, 0, u[:13], True), True)
    claimed.add(ident)
    add("rx_drop_ip_frag")
    send(fr.frag(ident, 64, b"", True), True)
    add("rx_drop_ip_frag")
    # A lone first and a lone middle fragment: the timeout (or, below,
    # the memory bound) drops them.
    ident = fr.next_id()
    u = fr.udp_datagram(b"lone" * 16, ident)
    first(fr.frag(ident, 0, u[:32], True), ident)
    incomplete += 1
    ident = fr.next_id()
    later(fr.frag(ident, 32, u[32:48], True), ident)
    if followed(ident):
        incomplete += 1
    # Fragmented ICMP: dropped by the stack when it claims ICMP.
    ident = fr.next_id()
    m = bytes(ICMP(type=8, id=9, seq=9) / Raw(b"p" * 40))
    for off in (0, 24):
        send(fr.frag(ident, off, m[off:off + 24], off == 0, proto=1),
             a.icmp)
        if a.icmp:
            add("rx_drop_ip_proto")
    # The memory bound: 70 incomplete datagrams (64 may be in progress):
    # the oldest are evicted, the rest time out.
    for k in range(70):
        ident = fr.next_id()
        u = fr.udp_datagram(b"m" * 40, ident)
        first(fr.frag(ident, 0, u[:24], True), ident)
        incomplete += 1
    sums.append((("reasm_drop_evicted", "reasm_drop_timeout"), incomplete))
    exp["rx_frames"] = frames
    # Fragments reach the stack with or without -F: wait for the timeout.
    return items, {"counters": exp, "echo": echoes, "sum": sums,
                   "wait_reasm": True, "incomplete": incomplete}


def b_icmp(fr, a):
    items = []
    items.append((fr.echo_req(b"ping-small"), None))
    items.append((fr.echo_req(b"P" * 1000, seq=2), None))
    items.append((fr.echo_req(b"ping-foreign",
                              ip=fr.ip(dst="198.18.0.77")), None))
    for t, code in ((0, 0), (5, 1), (13, 0), (200, 7), (4, 0)):
        q = fr.quote(a.dst, a.src, a.port, ECHO_PORT)
        items.append((fr.icmp_err(t, code, q), None))
    # Errors quoting foreign flows: other ports, TCP, another host's
    # datagram; a forged fragmentation-needed towards our peer.
    foreign = [fr.quote(a.dst, a.src, 5555, 53),
               fr.quote("198.18.0.9", a.src, 4444, 80),
               fr.quote(a.dst, a.src, a.port, ECHO_PORT, proto=6)]
    for q in foreign:
        for t, code, rest in ((3, 3, 0), (3, 4, 576), (11, 0, 0),
                              (12, 0, 20 << 24), (3, 13, 0)):
            items.append((fr.icmp_err(t, code, q, rest), None))
    # Errors quoting our flow with a bad inner header.
    bad = [fr.quote(a.dst, a.src, a.port, ECHO_PORT, ihl=3),
           fr.quote(a.dst, a.src, a.port, ECHO_PORT, version=6),
           fr.quote(a.dst, a.src, a.port, ECHO_PORT, cut=24),
           fr.quote(a.dst, a.src, a.port, ECHO_PORT, ihl=15, cut=60),
           fr.quote(a.dst, a.src, a.port, ECHO_PORT, frag=10),
           fr.quote(a.dst, a.src, a.port, ECHO_PORT, tot=4)]
    for q in bad:
        items.append((fr.icmp_err(3, 3, q), None))
    # Valid errors about our (unconnected) socket; fragmentation needed
    # with an MTU that changes nothing.
    ours = fr.quote(a.dst, a.src, a.port, ECHO_PORT, tot=1500)
    for t, code, rest in ((3, 3, 0), (11, 0, 0), (12, 0, 0), (3, 4, 2000),
                          (3, 4, 20)):
        items.append((fr.icmp_err(t, code, ours, rest), None))
    return items, {"pmtu_check": True}


def b_arp(fr, a):
    mac = "02:ab:cd:ef:00:01"
    zero = "00:00:00:00:00:00"
    eth = Ether(src=a.src_mac, dst=a.dst_mac, type=0x0806)
    items = []
    # Garbage about other addresses only: the peer's own entry in the
    # other namespace is permanent anyway.
    for arp in (ARP(op=1, hwsrc=mac, psrc="198.18.0.66", hwdst=zero,
                    pdst=a.dst),
                ARP(op=2, hwsrc=mac, psrc="198.18.0.67", pdst=a.dst,
                    hwdst=a.dst_mac),
                ARP(op=99, hwsrc=mac, psrc="198.18.0.68", hwdst=zero,
                    pdst=a.dst),
                ARP(op=1, hwlen=8, plen=4, hwsrc=mac, psrc="198.18.0.69",
                    hwdst=zero, pdst=a.dst),
                ARP(op=1, ptype=0x86dd, hwsrc=mac, psrc="198.18.0.70",
                    hwdst=zero, pdst=a.dst)):
        b = bytes(eth / arp)
        items.append((b, None))
        items.append((b[:14 + 9], None))
    items.append((bytes(eth) + b"\0\1\x08\0" + b"\xff" * 40, None))
    items.append((bytes(eth) + os.urandom(28), None))
    return items, {}


def b_vlan(fr, a):
    eth = Ether(src=a.src_mac, dst=a.dst_mac)
    items = []
    for vid in (0, 5, 4095):
        items.append((bytes(eth / Dot1Q(vlan=vid) / fr.ip() /
                            UDP(sport=ECHO_PORT, dport=a.port) /
                            Raw(b"vlan")), None))
    items.append((bytes(eth / Dot1Q(vlan=5) / fr.ip(proto=1) /
                        ICMP(type=8) / Raw(b"vping")), None))
    items.append((bytes(eth / Dot1Q(vlan=5) /
                        ARP(hwsrc=a.src_mac, psrc="198.18.0.71",
                            hwdst="00:00:00:00:00:00", pdst=a.dst)), None))
    q = Ether(src=a.src_mac, dst=a.dst_mac, type=0x88a8)
    items.append((bytes(q / Dot1Q(vlan=6) / Dot1Q(vlan=7) / fr.ip() /
                        UDP(sport=ECHO_PORT, dport=a.port) /
                        Raw(b"qinq")), None))
    items.append((bytes(eth / Dot1Q(vlan=5, type=0x0800)) + b"\x45\0",
                  None))
    items.append((bytes(eth)[:12] + b"\x81\x00\x00", None))
    for k in range(16):
        items.append((bytes(eth)[:12] + b"\x81\x00" + os.urandom(40 + k),
                      None))
    return items, {}


def b_random(fr, a):
    rnd = random.Random(a.seed)
    eth = bytes(Ether(src=a.src_mac, dst=a.dst_mac))[:12]
    udp_hdr = bytes(fr.ip() / UDP(sport=ECHO_PORT, dport=a.port))
    items = []
    for k in range(300):
        n = rnd.randrange(0, 200 if k % 3 else 1500)
        body = bytes(rnd.getrandbits(8) for _ in range(n))
        kind = k % 3
        if kind == 0:
            f = eth + bytes(rnd.getrandbits(8) for _ in range(2)) + body
        elif kind == 1:
            # IPv4 from our peer: random after the addresses.
            hdr = bytearray(udp_hdr[:20])
            hdr[0] = 0x40 | rnd.choice((5, 5, 5, 6, 15, rnd.randrange(16)))
            hdr[2:12] = bytes(rnd.getrandbits(8) for _ in range(10))
            f = eth + b"\x08\x00" + bytes(hdr) + body
        else:
            # UDP to the port from our peer, random lengths and payload.
            hdr = bytearray(udp_hdr)
            hdr[2:4] = struct.pack("!H", rnd.randrange(20, 28 + n + 16))
            # An identification of its own: no fragment here belongs to
            # another's datagram.
            hdr[4:6] = struct.pack("!H", fr.next_id())
            hdr[6:8] = bytes([rnd.choice((0, 0x20, 0x40)), rnd.randrange(4)])
            hdr[24:26] = struct.pack("!H", rnd.randrange(65536))
            hdr[26:28] = rnd.choice((b"\0\0", os.urandom(2)))
            hdr[10:12] = b"\0\0"
            hdr[10:12] = struct.pack("!H", csum16(bytes(hdr[:20])))
            f = eth + b"\x08\x00" + bytes(hdr) + body
        items.append((f[:1514], "random"))
    # A UDP first fragment to the port makes later ones of its datagram
    # follow it, with or without -F.
    return items, {"wait_reasm": True}


BATCHES = [("checksums", b_checksums), ("truncation", b_truncation),
           ("lengths", b_lengths), ("options", b_options),
           ("fragments", b_fragments), ("icmp", b_icmp), ("arp", b_arp),
           ("vlan", b_vlan), ("random", b_random)]


# ---- the campaign ----------------------------------------------------------

class Wire:
    def __init__(self, a):
        self.raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.raw.bind((a.ifname, 0))
        self.echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.echo.bind((a.src, ECHO_PORT))
        self.echo.setblocking(False)
        self.probe_s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.probe_s.bind((a.src, PROBE_PORT))
        self.icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                  socket.IPPROTO_ICMP)
        self.icmp.setblocking(False)
        self.a = a
        self.n_probe = 0

    def send(self, frames):
        return send_paced(self.raw, frames, 16)

    def drain_echoes(self, secs):
        return drain(self.echo, secs, self.echo_from_server)

    def echo_from_server(self, data, peer):
        if peer != (self.a.dst, self.a.port):
            raise Fail("an echo from %s:%d" % peer)
        return data

    def drain_icmp(self):
        n = 0
        while True:
            try:
                pkt, peer = self.icmp.recvfrom(65536)
            except BlockingIOError:
                return n
            ihl = (pkt[0] & 0xf) * 4
            if peer[0] == self.a.dst and pkt[ihl] == 0:
                n += 1

    def probe(self, timeout=1.0, tries=3):
        for _ in range(tries):
            self.n_probe += 1
            msg = b"probe-%06d" % self.n_probe
            t0 = time.monotonic()
            self.probe_s.sendto(msg, (self.a.dst, self.a.port))
            while time.monotonic() - t0 < timeout:
                r, _, _ = select.select([self.probe_s], [], [], 0.05)
                if not r:
                    continue
                data, peer = self.probe_s.recvfrom(65536)
                if data == msg:
                    return time.monotonic() - t0
        raise Fail("no answer to %d probes" % tries)


def check_identities(d, name):
    l3 = sum(d.get(k, 0) for k in L3_DROPS)
    udp = sum(d.get(k, 0) for k in UDP_OUTCOMES)
    icmp = sum(d.get(k, 0) for k in ICMP_OUTCOMES)
    lhs = d.get("rx_frames", 0) + d.get("reasm_done", 0)
    rhs = l3 + d.get("reasm_frags", 0) + udp + d.get("rx_icmp", 0)
    if lhs != rhs:
        raise Fail("%s: frames + reassembled (%d) != drops + fragments + "
                   "UDP outcomes + ICMP (%d): %s" % (name, lhs, rhs, d))
    if icmp != d.get("rx_icmp", 0):
        raise Fail("%s: %d ICMP messages, %d outcomes" %
                   (name, d.get("rx_icmp", 0), icmp))


def run_stack(a, ctl, wire):
    model = Model(a)
    fr = Frames(a)
    idle = ctl.kv("info")
    rss0 = rss_kb(a.pid)
    total_sent = total_stack = 0
    wire.probe()
    for name, gen in BATCHES:
        items, extra = gen(fr, a)
        want = {}
        echoes = list(extra.get("echo", []))
        pings = 0
        stack_frames = 0
        for f, how in items:
            if how is None and model.steered(f):
                stack_frames += 1
                if model.is_frag(f) and model.frags:
                    raise Fail("%s: an unexpected fragment" % name)
                cs, echo, ping = model.outcome(f)
                for c in cs:
                    want[c] = want.get(c, 0) + 1
                if echo is not None:
                    echoes.append(echo)
                pings += ping
        for k, v in extra.get("counters", {}).items():
            want[k] = want.get(k, 0) + v
        stack_frames += extra.get("counters", {}).get("rx_frames", 0)
        before = ctl.kv("stats")
        tx_frag0 = before.get("tx_fragmented", 0)
        wire.drain_icmp()
        sent = wire.send([f for f, _ in items])
        got = wire.drain_echoes(0.3)
        if extra.get("wait_reasm"):
            time.sleep(a.reasm_ms / 1000.0 + 0.3)
            got += wire.drain_echoes(0.1)
        after = ctl.kv("stats")
        d = delta(before, after)
        check_identities(d, name)
        if name != "random":
            d.setdefault("rx_frames", 0)
            for k in RX_COUNTERS:
                w = want.get(k, 0)
                if any(k in names for names, _ in extra.get("sum", [])):
                    continue
                if d.get(k, 0) != w:
                    raise Fail("%s: %s moved by %d, expected %d (all: %s)"
                               % (name, k, d.get(k, 0), w,
                                  {x: y for x, y in d.items() if y}))
            for names, n in extra.get("sum", []):
                if sum(d.get(k, 0) for k in names) != n:
                    raise Fail("%s: %s add up to %d, expected %d" %
                               (name, "+".join(names),
                                sum(d.get(k, 0) for k in names), n))
            if sorted(got) != sorted(echoes):
                raise Fail("%s: echoes %s, expected %s" %
                           (name, sorted(got)[:8], sorted(echoes)[:8]))
            if a.icmp and wire.drain_icmp() != pings:
                raise Fail("%s: echo replies differ from the %d expected" %
                           (name, pings))
        if extra.get("pmtu_check") and a.icmp:
            # The forged fragmentation-needed messages (about foreign flows
            # towards our peer) must not have lowered its path MTU: an echo
            # of 1400 bytes leaves unfragmented.
            wire.echo.sendto(b"M" * 1400, (a.dst, a.port))
            if wire.drain_echoes(0.5) != [b"M" * 1400]:
                raise Fail("icmp: no echo of the 1400-byte datagram")
            s = ctl.kv("stats")
            if s.get("tx_fragmented", 0) != tx_frag0:
                raise Fail("icmp: the echo went out in fragments: a forged "
                           "fragmentation-needed lowered the path MTU")
        rtt = wire.probe()
        total_sent += sent
        total_stack += stack_frames
        print("BATCH %s sent=%d stack=%s probe_ms=%.2f ok" %
              (name, sent, stack_frames if name != "random" else
               d.get("rx_frames", 0), rtt * 1000), flush=True)
    # Idle again: the pool is back, nothing held, memory bounded.
    time.sleep(0.2)
    info = ctl.kv("info")
    for k in ("pkt_sock_rxq", "pkt_reasm", "pkt_neigh_wait",
              "reasm_datagrams", "neigh_waits"):
        if info.get(k, 0) != 0:
            raise Fail("after the campaign %s=%s (%s)" % (k, info[k], info))
    if info["pkt_free"] != idle["pkt_free"] or \
            info["pkt_rx_ring"] != idle["pkt_rx_ring"]:
        raise Fail("buffer pool not back to its idle level: %s, idle %s" %
                   (info, idle))
    rss1 = rss_kb(a.pid)
    print("RSS before=%d after=%d kB" % (rss0, rss1), flush=True)
    if rss1 - rss0 > a.rss_margin_kb:
        raise Fail("RSS grew by %d kB (margin %d)" %
                   (rss1 - rss0, a.rss_margin_kb))
    print("TOTAL sent=%d stack=%d" % (total_sent, total_stack), flush=True)


def run_blind(a, wire):
    """An unmodified server under anyload (transparent mode): it has no
    command channel, so its counters are read once, at its exit, by the
    caller. Per batch: every datagram the model says is delivered comes
    back byte for byte (and nothing else), and the probe is answered. The
    model's counters summed over every batch (the random one too: without
    fragments or ICMP claimed it is exact) and the probes are printed as
    EXPECT for the caller to compare with the exit counters, except the
    drops of incomplete datagrams, whose count is printed as INCOMPLETE
    (timing decides which drop takes each, or whether it is still in
    progress at the exit)."""
    model = Model(a)
    fr = Frames(a)
    rss0 = rss_kb(a.pid)
    total = {}
    total_sent = total_stack = 0

    def add(k, n=1):
        total[k] = total.get(k, 0) + n

    wire.probe()
    for name, gen in BATCHES:
        items, extra = gen(fr, a)
        echoes = list(extra.get("echo", []))
        stack_frames = 0
        for f, how in items:
            if how == "frag" or not model.steered(f):
                continue
            stack_frames += 1
            cs, echo, _ = model.outcome(f)
            for c in cs:
                add(c)
            if echo is not None:
                echoes.append(echo)
        for k, v in extra.get("counters", {}).items():
            add(k, v)
        model.incomplete += extra.get("incomplete", 0)
        stack_frames += extra.get("counters", {}).get("rx_frames", 0)
        sent = wire.send([f for f, _ in items])
        got = wire.drain_echoes(0.3)
        if sorted(got) != sorted(echoes):
            raise Fail("%s: echoes %s, expected %s" %
                       (name, sorted(got)[:8], sorted(echoes)[:8]))
        rtt = wire.probe()
        total_sent += sent
        total_stack += stack_frames
        print("BATCH %s sent=%d stack=%d echoes=%d probe_ms=%.2f ok" %
              (name, sent, stack_frames, len(got), rtt * 1000), flush=True)
    rss1 = rss_kb(a.pid)
    print("RSS before=%d after=%d kB" % (rss0, rss1), flush=True)
    if a.rss_margin_kb >= 0 and rss1 - rss0 > a.rss_margin_kb:
        raise Fail("RSS grew by %d kB (margin %d)" %
                   (rss1 - rss0, a.rss_margin_kb))
    # Each probe is one more datagram delivered.
    add("rx_frames", wire.n_probe)
    add("rx_udp_datagrams", wire.n_probe)
    print("TOTAL sent=%d stack=%d probes=%d" %
          (total_sent, total_stack, wire.n_probe), flush=True)
    # Incomplete datagrams: the memory bound (at most reasm_max_datagrams
    # in progress) or the timeout drops them, or they are still in
    # progress at the exit; which, the timing decides.
    print("EXPECT " + " ".join("%s=%d" % (k, total.get(k, 0))
                               for k in RX_COUNTERS
                               if k not in REASM_DROPS_LATER), flush=True)
    print("INCOMPLETE %d" % model.incomplete, flush=True)


def vlan_cut(f):
    """A frame that no VI sees, whatever its filters: on AF_XDP the XDP
    filter's "malformed", a VLAN tag cut short (bpf/filter_lookup.h passes
    it to the kernel); on AF_PACKET one that the kernel drops before any
    socket or tc program sees it (afpacket_vlan_dropped)."""
    if ARGS.backend == "afpacket":
        return afpacket_vlan_dropped(f)
    return f[12:14] in VLAN_TPIDS and len(f) < 18


def run_rawvi(a, ctl, wire):
    fr = Frames(a)
    rss0 = rss_kb(a.pid)
    total = 0
    for name, gen in BATCHES:
        items, _ = gen(fr, a)
        want = sum(1 for f, _ in items if not vlan_cut(f))
        n0 = ctl.kv("count")["vi0"]
        d0 = discards(a.ctl_out)
        sent = wire.send([f for f, _ in items])
        deadline = time.monotonic() + 5
        while True:
            n1 = ctl.kv("count")["vi0"]
            d1 = discards(a.ctl_out)
            if n1 - n0 + d1 - d0 >= want or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.1)
        n1 = ctl.kv("count")["vi0"]
        d1 = discards(a.ctl_out)
        if n1 - n0 + d1 - d0 != want:
            raise Fail("%s: %d of the %d frames sent are for the VI, it "
                       "got %d RX + %d DISCARD" %
                       (name, want, sent, n1 - n0, d1 - d0))
        total += sent
        print("BATCH %s sent=%d rx=%d discard=%d ok" %
              (name, sent, n1 - n0, d1 - d0), flush=True)
    with open(a.ctl_out, errors="replace") as f:
        if any(ln.startswith("NODESC") for ln in f):
            raise Fail("the VI ran out of posted buffers")
    rss1 = rss_kb(a.pid)
    print("RSS before=%d after=%d kB" % (rss0, rss1), flush=True)
    if rss1 - rss0 > a.rss_margin_kb:
        raise Fail("RSS grew by %d kB (margin %d)" %
                   (rss1 - rss0, a.rss_margin_kb))
    print("TOTAL sent=%d" % total, flush=True)


def discards(path):
    with open(path, errors="replace") as f:
        return sum(1 for ln in f if ln.startswith("DISCARD "))


ARGS = None


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("stack", "rawvi", "blind"))
    p.add_argument("--ifname", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--src-mac", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--port", type=int, default=7000)
    p.add_argument("--frags", action="store_true")
    p.add_argument("--icmp", action="store_true")
    p.add_argument("--reasm-ms", type=int, default=500)
    p.add_argument("--ctl-in")
    p.add_argument("--ctl-out")
    p.add_argument("--seq", type=int, default=0)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--rss-margin-kb", type=int, default=1024,
                   help="blind mode: -1 only shows the RSS")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--backend", choices=("afxdp", "afpacket"),
                   default="afxdp",
                   help="the VI backend: how the filter sees VLAN tags")
    a = p.parse_args()
    ARGS = a
    if a.mode == "blind":
        if a.frags or a.icmp:
            p.error("blind: the server claims neither fragments nor ICMP")
        ctl = None
    else:
        if not a.ctl_in or not a.ctl_out:
            p.error("%s needs --ctl-in and --ctl-out" % a.mode)
        ctl = Ctl(a.ctl_in, a.ctl_out, a.seq)
    wire = Wire(a)
    try:
        if a.mode == "stack":
            run_stack(a, ctl, wire)
        elif a.mode == "rawvi":
            run_rawvi(a, ctl, wire)
        else:
            run_blind(a, wire)
    except Fail as e:
        print("FAIL: %s" % e, flush=True)
        print("CMDS %d" % (ctl.issued if ctl else 0), flush=True)
        return 1
    print("CMDS %d" % (ctl.issued if ctl else 0), flush=True)
    print("MALFORMED ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
