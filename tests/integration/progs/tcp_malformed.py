# SPDX-License-Identifier: BSD-2-Clause
"""tcp_malformed.py: the TCP part of the malformed-traffic campaign of
tests/integration/stack_tcp_malformed.sh (issue 5). Not a test by itself.

Runs in the peer's namespace (root) against progs/stack_tcp_echo
listening on --port in the other namespace, driven through its command
fifo (--ctl-in, answers read from --ctl-out, command numbers continuing
after --seq) as progs/malformed.py drives the UDP server.

Two peers:
  - a real kernel client: a TCP connection from --src to the server,
    opened first; after every batch a message must come back on it
    byte for byte (the server keeps serving an existing connection);
  - a raw peer with an address nobody owns (--vip, reached through the
    other namespace's permanent neighbour entry to --src-mac): its
    segments are built by hand and sent on --ifname through an AF_PACKET
    socket, and the server's answers are read from another one; the
    kernel of this namespace drops them (not its address), so it never
    answers for the raw peer.

Batches (each checks every answer of the server, the state of every raw
connection afterwards, the counters that the segments must move, the
kernel client and the buffer pool):
  options   SYNs with option garbage (bad and zero lengths, truncated
            options, unknown kinds, repeated options, WS > 14, MSS 0 and
            1, options running past the header, EOL then junk) and bad
            data offsets: a valid header gets a SYN-ACK, then the
            handshake completes and 3000 bytes are echoed in segments no
            smaller than 48 bytes (Linux's floor, CVE-2019-11479) and no
            larger than the MSS we announced; a bad data offset is a
            counted drop with no answer;
  listen    the 256 flag combinations to the listening port from fresh
            ports (RFC 9293 §3.10.7.2: RST ignored, ACK answered with
            <SEQ=SEG.ACK><CTL=RST>, SYN without FIN answered with a
            SYN-ACK, the rest dropped);
  syn_sent/KIND/HALF
            the client side: the server connects 128 times (command
            connect) to the raw peer's address, port 9000-9005 (NS_B's
            kernel drops what is not its own: only the raw peer answers),
            and each SYN gets one of 128 flag combinations (HALF 0: 0-127,
            1: 128-255), SEG.SEQ a random ISN and SEG.ACK ISS + 1 (KIND
            good), ISS (low) or ISS + 2 (high). RFC 9293 §3.10.7.3: an
            unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST> unless the
            segment is an RST (then dropped); an RST with an acceptable
            ACK refuses the connection (CLOSED), one without ACK is
            dropped; without SYN nothing happens; a SYN with an acceptable
            ACK: ESTABLISHED and <SEQ=ISS+1><ACK=SEG.SEQ+1> (with a FIN:
            CLOSE_WAIT, the ACK covering it); a SYN without ACK:
            simultaneous open, SYN_RECEIVED and <SEQ=ISS><ACK=SEG.SEQ+1>
            <CTL=SYN,ACK>. Checked: every answer, the state of every
            connection (command cstates) and the counters; then an RST at
            RCV.NXT ends the synchronized ones and the server closes them
            all (cclose). 128 at a time: a connection holds a VI filter of
            its own, and a VI has 256;
  syn_recv, established, close_wait, fin_wait1, fin_wait2, closing,
  last_ack, time_wait
            the 256 combinations on 256 raw connections in that state,
            once with SEG.SEQ = RCV.NXT, once in the window but not
            RCV.NXT, once out of the window (RFC 9293 §3.10.7.4 and RFC
            5961: out of the window an ACK, or nothing for an RST; an RST
            at RCV.NXT ends the connection silently, one elsewhere in the
            window gets a challenge ACK; a SYN gets a challenge ACK; no ACK
            bit: dropped; a FIN at RCV.NXT is acknowledged and the server,
            at the end of the stream, closes; a FIN further on gets an
            ACK); afterwards a probe (an out-of-window ACK) tells whether
            each connection lives (an ACK) or not (the listener's RST).
            How each state is reached (server = the stack):
              fin_wait1  the server closes (closepeer), its FIN stays
                         unacknowledged;
              fin_wait2  then we acknowledge its FIN: a FIN at RCV.NXT
                         is acknowledged and ends in TIME_WAIT (seen by
                         check_idle: the server's connections but the
                         kernel client's are all in TIME_WAIT);
              closing    the server's FIN, then ours without
                         acknowledging it (the FINs cross);
              last_ack   our FIN (hold on: CLOSE_WAIT), then the
                         server closes: its FIN unacknowledged;
              time_wait  fin_wait2, then our FIN.
            In the four the probe works as in the others (the connection
            answers an out-of-window ACK; in CLOSING and LAST_ACK a FIN
            sent again by the server's timer is not an answer); an ACK of
            SND.UNA there moves nothing; a FIN again is acknowledged; an
            RST at RCV.NXT ends the connection silently. In TIME_WAIT a
            SYN above RCV.NXT (in the window or out of it), without ACK,
            RST or FIN, is a new incarnation (RFC 1122 §4.2.2.13, RFC
            6191): TIME_WAIT ends and the listener answers with a SYN-ACK
            whose ISN is above the old SND.NXT; a SYN at RCV.NXT gets a
            challenge ACK (RFC 5961 §4.2). The new incarnations are then
            reset (RST at their RCV.NXT, as a peer that never sent that
            SYN does): each goes back to TIME_WAIT (RFC 1122 §4.2.2.13
            (2), tcp_time_wait_returned) and answers a probe with the old
            connection's sequence numbers.

Prints "BATCH <name> segs=N ok" per batch, "CMDS <n>" and "TCP_MALFORMED
ok"; exits 0, 1 on a failed check (a FAIL line says which).
"""
import argparse
import random
import socket
import struct
import sys
import time

from campaign_common import Ctl, Fail, csum16, delta, drain, send_paced

F_FIN, F_SYN, F_RST, F_PSH, F_ACK, F_URG, F_ECE, F_CWR = (
    1, 2, 4, 8, 16, 32, 64, 128)
# The states of b_state, in the order of the batches; those in which the
# peer's FIN is in (RCV.NXT is past it) and those in which the server's
# FIN is sent and unacknowledged (its timer may send it again).
STATES = ("syn_recv", "established", "close_wait", "fin_wait1",
          "fin_wait2", "closing", "last_ack", "time_wait")
PEER_FIN_IN = ("close_wait", "closing", "last_ack", "time_wait")
OUR_FIN_OUT = ("fin_wait1", "closing", "last_ack")
ETH_P_IP = 0x0800
# Connection states of <netinet/tcp.h>, as anyload_tcp_state gives them.
(TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_CLOSE,
 TCP_CLOSE_WAIT) = (1, 2, 3, 7, 8)
PACKET_OUTGOING = 4


def fl(f):
    return "".join(c for c, b in zip("FSRPAUEC", range(8)) if f >> b & 1) \
        or "-"


# ---- the raw peer ------------------------------------------------------------

class Seg:
    __slots__ = ("sport", "dport", "seq", "ack", "flags", "win", "opts",
                 "data")

    def __repr__(self):
        return "<%d->%d %s seq=%d ack=%d len=%d>" % (
            self.sport, self.dport, fl(self.flags), self.seq, self.ack,
            len(self.data))


class Raw:
    def __init__(self, a):
        self.a = a
        self.tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.tx.bind((a.ifname, 0))
        self.rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                socket.htons(ETH_P_IP))
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.rx.bind((a.ifname, ETH_P_IP))
        self.rx.setblocking(False)
        self.eth = (bytes.fromhex(a.dst_mac.replace(":", "")) +
                    bytes.fromhex(a.src_mac.replace(":", "")) + b"\x08\x00")
        self.vip = socket.inet_aton(a.vip)
        self.dst = socket.inet_aton(a.dst)
        self.ipid = 1
        self.sent = 0

    def frame(self, sport, dport, seq, ack, flags, win=65535, opts=b"",
              data=b"", doff=None, src=None):
        src = src or self.vip
        hl = 20 + len(opts)
        if doff is None:
            doff = hl // 4
        th = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff,
                         ack & 0xffffffff, doff << 4, flags, win, 0, 0)
        th += opts + data
        ph = src + self.dst + struct.pack("!BBH", 0, 6, len(th))
        c = csum16(ph + th)
        th = th[:16] + struct.pack("!H", c) + th[18:]
        self.ipid = (self.ipid + 1) & 0xffff
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th), self.ipid,
                         0x4000, 64, 6, 0, src, self.dst)
        ip = ip[:10] + struct.pack("!H", csum16(ip)) + ip[12:]
        return self.eth + ip + th

    def send(self, frames):
        self.sent += send_paced(self.tx, frames, 32)

    def collect(self, secs, want=None, until=None):
        """The server's TCP segments to the raw peer for secs seconds (or
        until want of them came, or until(segments) is true)."""
        return drain(self.rx, secs, self.segment, poll=0.02, want=want,
                     until=until)

    def segment(self, pkt, addr):
        if addr[2] == PACKET_OUTGOING or len(pkt) < 34:
            return None
        ip = pkt[14:]
        if ip[9] != 6 or ip[16:20] != self.vip:
            return None
        hl = (ip[0] & 0xf) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        t = ip[hl:tot]
        s = Seg()
        (s.sport, s.dport, s.seq, s.ack, off, s.flags,
         s.win) = struct.unpack("!HHIIBBH", t[:16])
        s.opts = t[20:(off >> 4) * 4]
        s.data = t[(off >> 4) * 4:]
        return s


def kernel_tcp_out():
    """TCP segments this namespace's kernel has sent (OutSegs does not
    count retransmissions)."""
    with open("/proc/net/snmp") as f:
        rows = [ln.split() for ln in f if ln.startswith("Tcp:")]
    h = dict(zip(rows[0], rows[1]))
    return int(h["OutSegs"]) + int(h["RetransSegs"])


def by_port(segs):
    out = {}
    for s in segs:
        out.setdefault(s.dport, []).append(s)
    return out


def every_port(ports, answers):
    """A collect() end condition: each of ports has a segment for which
    answers(port, segment) is true. A count of segments is not one where
    the server may also send others meanwhile (a FIN or SYN-ACK sent again
    when its timer fires, 200 ms after the first at the least)."""
    def until(segs):
        got = by_port(segs)
        return all(any(answers(p, x) for x in got.get(p, ())) for p in ports)
    return until


# ---- the campaign ------------------------------------------------------------

class Campaign:
    def __init__(self, a, ctl):
        self.a = a
        self.ctl = ctl
        self.raw = Raw(a)
        self.port = a.port
        self.next_port = 20000
        self.rnd = random.Random(a.seed)
        self.kc = socket.create_connection((a.dst, a.port), timeout=3)
        self.kc.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.kn = 0
        self.idle = None

    def ports(self, n):
        p = self.next_port
        self.next_port += n
        if self.next_port > 60000:
            raise Fail("out of source ports")
        return list(range(p, p + n))

    def kernel_client(self):
        """The existing connection still echoes, byte for byte."""
        self.kn += 1
        msg = b"kernel-client-%06d" % self.kn
        self.kc.sendall(msg)
        got = b""
        deadline = time.monotonic() + 3
        while len(got) < len(msg) and time.monotonic() < deadline:
            try:
                got += self.kc.recv(len(msg) - len(got))
            except socket.timeout:
                break
        if got != msg:
            raise Fail("the kernel client got %r for %r" % (got, msg))

    # -- raw connections --

    def handshake(self, n, complete=True, opts=None):
        """n raw connections: SYNs, SYN-ACKs, and (complete) the ACKs.
        Returns [[port, our next seq, the server's SND.UNA, its
        SND.NXT]]."""
        ports = self.ports(n)
        isn = {p: self.rnd.getrandbits(32) for p in ports}
        mss = opts if opts is not None else struct.pack("!BBH", 2, 4, 1400)
        self.raw.send([self.raw.frame(p, self.port, isn[p], 0, F_SYN,
                                      opts=mss) for p in ports])
        got = by_port(self.raw.collect(
            3, until=every_port(ports, lambda p, x: x.flags & (F_SYN | F_ACK)
                                == F_SYN | F_ACK)))
        conns = []
        for p in ports:
            sa = [s for s in got.get(p, []) if s.flags & (F_SYN | F_ACK)
                  == F_SYN | F_ACK]
            if not sa or sa[0].ack != (isn[p] + 1) & 0xffffffff:
                raise Fail("handshake: no SYN-ACK for port %d (%s)" %
                           (p, got.get(p)))
            s1 = (sa[0].seq + 1) & 0xffffffff
            conns.append([p, (isn[p] + 1) & 0xffffffff, s1, s1])
        if complete:
            self.send_settled([self.raw.frame(p, self.port, c, s, F_ACK)
                               for p, c, s, _ in conns], "handshake")
        return conns

    def send_settled(self, frames, what):
        """Sends frames that get no answer and waits (5 s at most) until
        the stack has taken every one: a counter snapshot taken at once
        could come before the last of them and count them in the next
        batch (fin_wait2 failed so, 33-65 segments too many)."""
        s0 = self.ctl.kv("stats")
        self.raw.send(frames)
        end = time.time() + 5
        while True:
            d = delta(s0, self.ctl.kv("stats")).get("rx_tcp_segs", 0)
            if d >= len(frames):
                return
            if time.time() > end:
                raise Fail("%s: the stack took %d of %d segments in 5 s" %
                           (what, d, len(frames)))
            time.sleep(0.01)

    def alive(self, conns, secs=1.0):
        """Which raw connections live: an out-of-window ACK gets an ACK
        from a connection, an RST from the listener when there is none."""
        frames = [self.raw.frame(p, self.port, c + (1 << 30), una, F_ACK)
                  for p, c, una, _ in conns]
        self.raw.send(frames)
        # The answer to the probe: an RST, or an ACK without FIN (a FIN
        # is our FIN sent again, which may come first).
        got = by_port(self.raw.collect(secs, until=every_port(
            [cn[0] for cn in conns],
            lambda p, x: x.flags & F_RST or not x.flags & F_FIN)))
        out = {}
        for p, c, _, _ in conns:
            segs = got.get(p, [])
            if any(x.flags & F_RST for x in segs):
                out[p] = False
            elif any(x.flags & F_ACK for x in segs):
                out[p] = True
            else:
                raise Fail("probe: no answer on port %d" % p)
        return out

    def rsts(self, conns):
        """An RST at RCV.NXT for each of conns."""
        return [self.raw.frame(cn[0], self.port, cn[1], 0, F_RST)
                for cn in conns]

    def reset(self, conns):
        self.raw.send(self.rsts(conns))

    def check_idle(self, name):
        """The server has no connection of the raw peer left and the pool
        is back to its idle level."""
        deadline = time.monotonic() + 5
        while True:
            info = self.ctl.kv("info")
            # The kernel client's connection and those in TIME_WAIT
            # (after fin_wait1's FIN exchanges).
            if (info["tcp_connections"] - info["tcp_time_wait"] == 1 and
                    info["pkt_free"] == self.idle["pkt_free"] and
                    info["tcp_buf_bytes"] == self.idle["tcp_buf_bytes"]):
                return info
            if time.monotonic() > deadline:
                raise Fail("%s: not back to idle: %s (idle: %s)" %
                           (name, info, self.idle))
            time.sleep(0.1)

    # -- batches --

    def b_listen(self):
        ports = self.ports(256)
        frames, want, cnt = [], {}, {}
        for f in range(256):
            p = ports[f]
            seq, ack = self.rnd.getrandbits(32), self.rnd.getrandbits(32)
            frames.append(self.raw.frame(p, self.port, seq, ack, f))
            # RFC 9293 §3.10.7.2, in this order.
            if f & F_RST:
                want[p] = ("none",)
                cnt["tcp_rx_drop_listen_rst"] = \
                    cnt.get("tcp_rx_drop_listen_rst", 0) + 1
            elif f & F_ACK:
                want[p] = ("rst", ack)
                cnt["tcp_rx_drop_listen_ack"] = \
                    cnt.get("tcp_rx_drop_listen_ack", 0) + 1
            elif f & F_SYN and not f & F_FIN:
                want[p] = ("synack", seq + 1)
            else:
                want[p] = ("none",)
                cnt["tcp_rx_drop_listen_other"] = \
                    cnt.get("tcp_rx_drop_listen_other", 0) + 1
        cnt["rx_tcp_segs"] = 256
        before = self.ctl.kv("stats")
        self.raw.send(frames)
        got = by_port(self.raw.collect(1.0))
        after = self.ctl.kv("stats")
        d = delta(before, after)
        synacks = []
        for f in range(256):
            p = ports[f]
            segs = got.get(p, [])
            w = want[p]
            if w[0] == "none":
                ok = not segs
            elif w[0] == "rst":
                ok = (len(segs) == 1 and segs[0].flags & F_RST and
                      segs[0].seq == w[1])
            else:
                ok = (len(segs) >= 1 and all(
                    s.flags & (F_SYN | F_ACK | F_RST) == F_SYN | F_ACK and
                    s.ack == w[1] & 0xffffffff for s in segs))
                if ok:
                    synacks.append([p, w[1] & 0xffffffff])
            if not ok:
                raise Fail("listen: flags %s: got %s, expected %s" %
                           (fl(f), segs, w[0]))
        self.check_counters("listen", d, cnt)
        # The embryonic connections: an RST at RCV.NXT ends each.
        self.reset(synacks)
        return 256

    def b_closed_port(self):
        """The 256 combinations to a port nobody listens on: the stack has
        no filter there, so they are the kernel's (RFC 9293 §3.10.7.1: an
        RST is dropped; otherwise <SEQ=SEG.ACK><CTL=RST> with ACK, else
        <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>), and the stack sees
        none of them."""
        ports = self.ports(256)
        closed = self.port + 1
        frames, want = [], {}
        for f in range(256):
            seq, ack = self.rnd.getrandbits(32), self.rnd.getrandbits(32)
            frames.append(self.raw.frame(ports[f], closed, seq, ack, f))
            seglen = (1 if f & F_SYN else 0) + (1 if f & F_FIN else 0)
            if f & F_RST:
                want[ports[f]] = None
            elif f & F_ACK:
                want[ports[f]] = (F_RST, ack, None)
            else:
                want[ports[f]] = (F_RST | F_ACK, 0,
                                  (seq + seglen) & 0xffffffff)
        before = self.ctl.kv("stats")
        self.raw.send(frames)
        got = {}
        for x in self.raw.collect(1.0):
            if x.sport == closed:
                got.setdefault(x.dport, []).append(x)
        d = delta(before, self.ctl.kv("stats"))
        if d.get("rx_frames", 0):
            raise Fail("closed port: the stack received %d frames" %
                       d["rx_frames"])
        for f in range(256):
            segs, w = got.get(ports[f], []), want[ports[f]]
            if w is None:
                ok = not segs
            else:
                ok = (len(segs) == 1 and
                      segs[0].flags & (F_RST | F_ACK | F_SYN | F_FIN) == w[0]
                      and segs[0].seq == w[1] and
                      (w[2] is None or segs[0].ack == w[2]))
            if not ok:
                raise Fail("closed port: flags %s: got %s" % (fl(f), segs))
        return 256

    def syn_sent_model(self, f, kind):
        """The answer of a connection in SYN_SENT to a segment of flags f
        whose ACK field is ISS + 1 (kind "good"), ISS ("low") or ISS + 2
        ("high"), RFC 9293 §3.10.7.3 in its order: (answer, state,
        counters). answer: none | rst (<SEQ=SEG.ACK><CTL=RST>) | ack
        (<SEQ=ISS+1><ACK=SEG.SEQ+1>) | ack2 (the same acknowledging a FIN
        too) | synack (<SEQ=ISS><ACK=SEG.SEQ+1><CTL=SYN,ACK>)."""
        syn, rst, ack, fin = f & F_SYN, f & F_RST, f & F_ACK, f & F_FIN
        if ack and kind != "good":
            # An unacceptable ACK: an RST, unless the segment is one.
            return ("none" if rst else "rst", TCP_SYN_SENT,
                    {"tcp_rx_drop_bad_ack": 1, "tcp_tx_rst": 0 if rst else 1})
        if rst:
            # With an acceptable ACK the connection is refused; without
            # ACK the RST is dropped (RFC 5961 §3.2 leaves SYN_SENT so).
            if ack:
                return "none", TCP_CLOSE, {"tcp_rx_rst": 1,
                                           "tcp_connect_refused": 1}
            return "none", TCP_SYN_SENT, {"tcp_rx_drop_rst_bad": 1}
        if not syn:
            return "none", TCP_SYN_SENT, {"tcp_rx_drop_syn_sent_other": 1}
        if ack:
            # A SYN-ACK: ESTABLISHED; a FIN with it (no data) is taken at
            # once: CLOSE_WAIT (RFC 9293 §3.10.7.3 goes on to the FIN).
            if fin:
                return "ack2", TCP_CLOSE_WAIT, {}
            return "ack", TCP_ESTABLISHED, {}
        # A SYN without ACK: simultaneous open (RFC 9293 §3.5 figure 8), a
        # FIN with it is dropped (the peer sends it again).
        return "synack", TCP_SYN_RECV, {"tcp_simultaneous_opens": 1}

    def b_syn_sent(self, kind, half):
        """The stack connects 128 times to the raw peer (an address and
        port only the raw peer answers for: NS_B's kernel drops what is
        not its own), which answers each SYN with one of the flag
        combinations 128 * half to 128 * half + 127, SEG.SEQ a random
        ISN, SEG.ACK after kind (see syn_sent_model). 128 at a time: each
        connection holds a filter of its own, and a VI has 256. Checked:
        each answer on the wire, each connection's state afterwards, the
        counters."""
        n = 128
        rport = 9000 + 2 * ("good", "low", "high").index(kind) + half
        flags = range(128 * half, 128 * half + 128)
        what = "syn_sent/%s/%d" % (kind, half)
        r = self.ctl.kv("connect %s %d %d" % (self.a.vip, rport, n))
        if r.get("n") != n or r.get("rc") != 0:
            raise Fail("%s: connect: %s" % (what, r))
        syns = {}
        deadline = time.monotonic() + 3
        while len(syns) < n and time.monotonic() < deadline:
            for x in self.raw.collect(0.2):
                if x.dport == rport and x.flags == F_SYN and not x.data:
                    syns.setdefault(x.sport, x.seq)
        st0 = self.ctl.kv("cstates")
        ports = sorted(int(k) for k in st0 if k.isdigit())
        if (len(ports) != n or set(ports) != set(syns) or
                any(st0[str(p)] != TCP_SYN_SENT for p in ports)):
            raise Fail("%s: %d SYNs for %d connections (%s)" %
                       (what, len(syns), len(ports), st0))
        frames, want, cnt = [], {}, {"rx_tcp_segs": n,
                                     "tcp_rx_conn_segs": n}
        peer = {}
        for f, p in zip(flags, ports):
            iss = syns[p]
            seq = self.rnd.getrandbits(32)
            ack = {"good": iss + 1, "low": iss, "high": iss + 2}[kind]
            peer[p] = (f, iss, seq)
            frames.append(self.raw.frame(rport, p, seq, ack, f))
            answer, state, c = self.syn_sent_model(f, kind)
            want[p] = (answer, state, ack)
            for k, v in c.items():
                cnt[k] = cnt.get(k, 0) + v
        # What must not move is checked too.
        for k in ("tcp_rx_drop_bad_ack", "tcp_tx_rst", "tcp_rx_rst",
                  "tcp_connect_refused", "tcp_rx_drop_rst_bad",
                  "tcp_rx_drop_syn_sent_other", "tcp_simultaneous_opens",
                  "tcp_challenge_acks", "tcp_rx_drop_out_of_window",
                  "tcp_rx_listen_segs", "rx_drop_tcp_no_sock"):
            cnt.setdefault(k, 0)
        before = self.ctl.kv("stats")
        self.raw.send(frames)
        got = {}
        for x in self.raw.collect(1.0):
            if x.dport == rport:
                got.setdefault(x.sport, []).append(x)
        after = self.ctl.kv("stats")
        self.check_counters(what, delta(before, after), cnt)
        states = self.ctl.kv("cstates")
        reset = []
        for p in ports:
            f, iss, seq = peer[p]
            answer, state, ack = want[p]
            w = "%s flags %s" % (what, fl(f))
            # The SYN again when its timer fires (1 s): not an answer.
            segs = [x for x in got.get(p, [])
                    if not (x.flags == F_SYN and x.seq == iss)]
            if answer == "none":
                ok = not segs
            elif answer == "rst":
                ok = (len(segs) == 1 and segs[0].flags == F_RST and
                      segs[0].seq == ack & 0xffffffff and not segs[0].data)
            elif answer in ("ack", "ack2"):
                ok = (len(segs) == 1 and segs[0].flags == F_ACK and
                      segs[0].seq == (iss + 1) & 0xffffffff and
                      segs[0].ack == (seq + (1 if answer == "ack" else 2))
                      & 0xffffffff and not segs[0].data)
            else:
                # The SYN-ACK, and again if its timer fired.
                ok = (len(segs) >= 1 and all(
                    x.flags == F_SYN | F_ACK and x.seq == iss and
                    x.ack == (seq + 1) & 0xffffffff and not x.data
                    for x in segs))
            if not ok:
                raise Fail("%s: expected %s, got %s" % (w, answer, segs))
            if states.get(str(p)) != state:
                raise Fail("%s: state %s, expected %d" %
                           (w, states.get(str(p)), state))
            if state in (TCP_ESTABLISHED, TCP_SYN_RECV):
                reset.append((p, seq + 1))
            elif state == TCP_CLOSE_WAIT:
                reset.append((p, seq + 2))
        # Clean-up: an RST at RCV.NXT ends each synchronized connection
        # (ECONNRESET, ECONNREFUSED for SYN_RECV), then the program closes
        # them all (those in SYN_SENT go at once).
        self.raw.send([self.raw.frame(rport, p, rcv, 0, F_RST)
                       for p, rcv in reset])
        deadline = time.monotonic() + 3
        while True:
            left = [p for p, v in self.ctl.kv("cstates").items()
                    if p.isdigit() and v in (TCP_ESTABLISHED, TCP_SYN_RECV,
                                             TCP_CLOSE_WAIT)]
            if not left:
                break
            if time.monotonic() > deadline:
                raise Fail("%s: not reset: ports %s" % (what, left[:8]))
            time.sleep(0.05)
        r = self.ctl.kv("cclose")
        if r.get("n") != n:
            raise Fail("%s: closed %s of %d" % (what, r.get("n"), n))
        return n

    def check_counters(self, name, d, cnt):
        for k, v in cnt.items():
            if d.get(k, 0) != v:
                raise Fail("%s: %s moved by %d, expected %d (all: %s)" %
                           (name, k, d.get(k, 0), v,
                            {x: y for x, y in d.items() if y}))

    def model(self, state, f, kind):
        """The answer to a segment of flags f and no data in state
        (syn_recv, established, close_wait, fin_wait1), its sequence
        number at RCV.NXT (exact), in the window beyond it (inwin) or out
        of the window (out), its ACK field SND.UNA: (answer, fate,
        counter). answer: none | ack (SEQ=SND.NXT, ACK=RCV.NXT) | finack
        (an ACK of our FIN, then the server's own FIN) | ack1 (an ACK of
        our FIN alone) | synack (the listener's, for a new incarnation of
        a connection in TIME_WAIT); fate: alive | dead | closing (the FINs
        crossed or the server closed its end) | time_wait (FIN_WAIT_2
        went to TIME_WAIT) | new (TIME_WAIT ended, a new connection in
        SYN_RECEIVED). The states: see STATES; in CLOSING and LAST_ACK
        our FIN is in and the server's unacknowledged, in FIN_WAIT_2 and
        TIME_WAIT the server's FIN is acknowledged."""
        syn, rst, ack, fin = f & F_SYN, f & F_RST, f & F_ACK, f & F_FIN
        if (state == "time_wait" and kind != "exact" and syn and
                not (ack or rst or fin)):
            # A SYN beyond RCV.NXT in TIME_WAIT: a new incarnation (RFC
            # 1122 §4.2.2.13, RFC 6191 without timestamps): TIME_WAIT ends
            # and the listener answers (with an ISN above the old SND.NXT,
            # RFC 1122 §4.2.2.13 (1)). Out of the window too: the stack takes
            # any SYN above RCV.NXT, as Linux does.
            return "synack", "new", "tcp_time_wait_reused"
        if kind == "out":
            # RFC 9293 §3.10.7.4 first check.
            if rst:
                return "none", "alive", "tcp_rx_drop_rst_out_of_window"
            return "ack", "alive", "tcp_rx_drop_out_of_window"
        if rst:
            # RFC 5961 §3.2.
            if kind == "exact":
                return "none", "dead", "tcp_rx_rst"
            return "ack", "alive", "tcp_challenge_acks"
        if syn:
            # RFC 5961 §4.2.
            return "ack", "alive", "tcp_challenge_acks"
        if not ack:
            return "none", "alive", "tcp_rx_drop_no_ack"
        if fin:
            if state in PEER_FIN_IN or kind != "exact":
                # A FIN again (a retransmission: the peer's FIN is in), or
                # one beyond RCV.NXT (out of order): acknowledged with
                # RCV.NXT; in TIME_WAIT it also restarts the 2 MSL timer.
                return "ack", "alive", None
            if state == "fin_wait1":
                # Simultaneous close: CLOSING.
                return "ack1", "closing", None
            if state == "fin_wait2":
                # Our FIN acknowledged, the peer's at RCV.NXT: TIME_WAIT.
                return "ack1", "time_wait", None
            return "finack", "closing", None
        # An ACK of SND.UNA: nothing new acknowledged (in CLOSING and
        # LAST_ACK our FIN stays unacknowledged), no answer.
        return "none", "alive", None

    def peer_fin(self, conns, state):
        """Our FIN at RCV.NXT on each connection, acknowledging SND.UNA;
        the server acknowledges it (ACK=our FIN + 1, SEQ=SND.NXT)."""
        n = len(conns)
        self.raw.send([self.raw.frame(p, self.port, c, una, F_FIN | F_ACK)
                       for p, c, una, _ in conns])
        fin_acked = {cn[0]: ((cn[1] + 1) & 0xffffffff, cn[3]) for cn in conns}
        acks = by_port(self.raw.collect(2, until=every_port(
            fin_acked, lambda p, x: (x.ack, x.seq) == fin_acked[p] and
            not x.flags & (F_SYN | F_RST))))
        for cn in conns:
            if not any(x.ack == (cn[1] + 1) & 0xffffffff and
                       x.seq == cn[3] and not x.flags & (F_SYN | F_RST)
                       for x in acks.get(cn[0], [])):
                raise Fail("%s: our FIN on port %d not acknowledged (%s)" %
                           (state, cn[0], acks.get(cn[0])))
            cn[1] = (cn[1] + 1) & 0xffffffff

    def server_fin(self, conns, state):
        """The server closes every raw connection (closepeer): a FIN from
        each, at SND.NXT."""
        n = len(conns)
        time.sleep(0.2)
        r = self.ctl.kv("closepeer %s" % self.a.vip)
        if r.get("n") != n:
            raise Fail("%s: closed %s connections of %d" %
                       (state, r.get("n"), n))
        fins = by_port(self.raw.collect(2, until=every_port(
            [cn[0] for cn in conns],
            lambda p, x: x.flags & F_FIN)))
        for cn in conns:
            if not any(x.flags & F_FIN and x.seq == cn[3]
                       for x in fins.get(cn[0], [])):
                raise Fail("%s: no FIN on port %d" % (state, cn[0]))
            cn[3] = (cn[3] + 1) & 0xffffffff

    def b_state(self, state, kind):
        n = 256
        conns = self.handshake(n, complete=state != "syn_recv")
        if state in ("close_wait", "last_ack"):
            # Our FIN: the server (hold on) stays in CLOSE_WAIT.
            self.peer_fin(conns, state)
        if state in ("fin_wait1", "fin_wait2", "closing", "last_ack",
                     "time_wait"):
            # The server closes: its FIN.
            self.server_fin(conns, state)
        if state in ("fin_wait2", "time_wait"):
            # We acknowledge the server's FIN: FIN_WAIT_2.
            self.send_settled([self.raw.frame(p, self.port, c, nxt, F_ACK)
                               for p, c, _, nxt in conns], state)
            for cn in conns:
                cn[2] = cn[3]
        if state in ("closing", "time_wait"):
            # Our FIN: in FIN_WAIT_1 it crosses the server's (we do not
            # acknowledge it): CLOSING; in FIN_WAIT_2: TIME_WAIT.
            self.peer_fin(conns, state)
        if state in ("syn_recv", "established"):
            self.raw.collect(0.2)
        off = {"exact": 0, "inwin": 1000, "out": 1 << 30}[kind]
        frames, want, cnt = [], {}, {"rx_tcp_segs": n}
        for f, (p, c, una, _) in zip(range(256), conns):
            frames.append(self.raw.frame(p, self.port, c + off, una, f))
            want[p] = self.model(state, f, kind)
            k = want[p][2]
            if k:
                cnt[k] = cnt.get(k, 0) + 1
        before = self.ctl.kv("stats")
        self.raw.send(frames)
        got = by_port(self.raw.collect(1.0))
        after = self.ctl.kv("stats")
        self.check_counters("%s/%s" % (state, kind), delta(before, after),
                            cnt)
        probe, new = [], []
        for f, (p, c, una, nxt) in zip(range(256), conns):
            segs = got.get(p, [])
            if state == "syn_recv":
                # The SYN-ACK again, when its timer fires: not an answer.
                segs = [x for x in segs if not (x.flags & F_SYN and
                                                x.seq == (una - 1) &
                                                0xffffffff)]
            if state in OUR_FIN_OUT:
                # The FIN again, when its timer fires: not an answer.
                segs = [x for x in segs if not (x.flags & F_FIN and
                                                x.seq == una)]
            answer, fate, _ = want[p]
            what = "%s/%s flags %s" % (state, kind, fl(f))
            if any(x.flags & F_RST for x in segs):
                raise Fail("%s: an RST: %s" % (what, segs))
            if answer == "none" and segs:
                raise Fail("%s: expected no answer, got %s" % (what, segs))
            if answer in ("ack", "ack1"):
                want_ack = c if answer == "ack" else (c + 1) & 0xffffffff
                if (len(segs) != 1 or segs[0].flags & (F_SYN | F_FIN) or
                        not segs[0].flags & F_ACK or segs[0].data or
                        segs[0].seq != nxt or segs[0].ack != want_ack):
                    raise Fail("%s: expected one ACK seq=%d ack=%d, got %s"
                               % (what, nxt, want_ack, segs))
            if answer == "synack":
                isn = segs[0].seq if segs else 0
                if (not segs or any(x.flags & (F_SYN | F_ACK | F_RST | F_FIN)
                                    != F_SYN | F_ACK or x.seq != isn or
                                    x.ack != (c + off + 1) & 0xffffffff
                                    for x in segs) or
                        not 0 < (isn - nxt) & 0xffffffff < 1 << 31):
                    raise Fail("%s: expected a SYN-ACK ack=%d with an ISN "
                               "above %d, got %s" %
                               (what, (c + off + 1) & 0xffffffff, nxt,
                                segs))
                new.append([p, (c + off + 1) & 0xffffffff])
            if answer == "finack":
                if (not segs or any(x.ack != (c + 1) & 0xffffffff
                                    for x in segs) or
                        not any(x.flags & F_FIN for x in segs)):
                    raise Fail("%s: expected the ACK of our FIN and the "
                               "server's FIN, got %s" % (what, segs))
            if fate in ("alive", "time_wait"):
                # A connection in TIME_WAIT answers the probe too (that it
                # is in TIME_WAIT, not FIN_WAIT_2, check_idle sees).
                probe.append((p, c, una, nxt))
        live = self.alive(probe)
        dead = [p for p, v in live.items() if not v]
        if dead:
            raise Fail("%s/%s: connections ended that must live: flags %s"
                       % (state, kind,
                          [fl(f) for f, cn in zip(range(256), conns)
                           if cn[0] in dead][:8]))
        for f, cn in zip(range(256), conns):
            if want[cn[0]][1] == "dead" and self.alive([cn])[cn[0]]:
                raise Fail("%s/%s flags %s: the connection lives after "
                           "an RST at RCV.NXT" % (state, kind, fl(f)))
        # Clean-up: the connections whose FINs crossed get the last ACK
        # (they end, or wait in TIME_WAIT); an RST at RCV.NXT ends every
        # other one left.
        last = []
        for p, c, una, nxt in conns:
            if want[p][1] == "closing":
                fin_end = nxt if state == "fin_wait1" else (nxt + 1)
                last.append(self.raw.frame(p, self.port, c + 1,
                                           fin_end & 0xffffffff, F_ACK))
        # Settled: the counters of the step below must not see them (121
        # RSTs counted where 16 were expected, in CI).
        last += self.rsts([cn for cn in conns if want[cn[0]][1] == "alive"])
        self.send_settled(last, "%s/%s clean-up" % (state, kind))
        # The new incarnations, in SYN_RECEIVED: an RST at RCV.NXT, as a
        # peer that never sent their SYN answers the SYN-ACK. Each goes
        # back to TIME_WAIT (RFC 1122 §4.2.2.13 (2)) with the old
        # sequence numbers.
        if new:
            before = self.ctl.kv("stats")
            self.reset(new)
            deadline = time.monotonic() + 3
            while True:
                d = delta(before, self.ctl.kv("stats"))
                if d.get("tcp_time_wait_returned", 0) >= len(new) or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.check_counters("%s/%s back to TIME_WAIT" % (state, kind),
                                d, {"tcp_time_wait_returned": len(new),
                                    "tcp_rx_rst": len(new)})
            back = set(p for p, _ in new)
            old = [cn for cn in conns if cn[0] in back]
            self.raw.send([self.raw.frame(p, self.port, c + (1 << 30), una,
                                          F_ACK) for p, c, una, _ in old])
            got = by_port(self.raw.collect(1.0, want=len(old)))
            for p, c, _, nxt in old:
                segs = got.get(p, [])
                if (len(segs) != 1 or segs[0].flags != F_ACK or
                        segs[0].seq != nxt or segs[0].ack != c):
                    raise Fail("%s/%s: port %d not back in TIME_WAIT: a "
                               "probe got %s, expected ACK seq=%d ack=%d"
                               % (state, kind, p, segs, nxt, c))
        return n

    def b_options(self):
        """SYNs with option garbage. Each (options, expect a SYN-ACK)."""
        # (options, the largest data segment the echo may use: the MSS we
        # announce, 536 without one (RFC 9293 §3.7.1), 1460 where the
        # options leave it open).
        cases = [
            (b"", 536),
            (bytes([2, 4]) + struct.pack("!H", 0), 536),          # MSS 0
            (bytes([2, 4]) + struct.pack("!H", 1), 60),           # MSS 1
            (bytes([2, 4, 5, 180, 2, 4, 0, 100]), 1460),          # twice
            (bytes([3, 3, 15, 1]), 536),                          # WS 15
            (bytes([3, 3, 255, 1]), 536),                         # WS 255
            (bytes([3, 3, 14, 1, 3, 3, 2, 1]), 536),              # WS twice
            (bytes([2, 0, 1, 1]), 536),                           # len 0
            (bytes([2, 1, 1, 1]), 536),                           # len 1
            (bytes([2, 5, 5, 180, 0, 1, 1, 1]), 1460),            # len 5
            (bytes([8, 9]) + b"\x00" * 6, 536),                   # TS short
            (bytes([8, 10]) + b"\x00" * 6, 536),                  # TS cut
            (bytes([4, 3, 1, 1]), 536),                           # SACKOK 3
            (bytes([5, 2, 1, 1]), 536),                           # SACK 2
            (bytes([99, 2, 1, 1]), 536),                          # unknown
            (bytes([99, 40, 1, 1]), 536),                         # past end
            (bytes([254, 4, 0xf9, 0x89]), 536),                   # exp
            (bytes([0, 2, 4, 5, 180, 1, 1, 1]), 536),             # EOL junk
            (bytes([1] * 40), 536),                               # 40 NOPs
            (bytes([2, 4, 5, 180, 3, 3, 7, 8, 10]) +
             struct.pack("!II", 1, 0) + bytes([4, 2, 1, 1]), 1460),  # all
            (bytes([2, 4, 0, 1, 8, 10]) + struct.pack("!II", 1, 0) +
             bytes([1, 1]), 60),                                  # MSS 1+TS
        ]
        ports = self.ports(len(cases) + 3)
        isn = {p: self.rnd.getrandbits(32) for p in ports}
        frames = [self.raw.frame(p, self.port, isn[p], 0, F_SYN, opts=o)
                  for p, (o, _) in zip(ports, cases)]
        # Bad data offsets: below 5, past the segment, past the frame.
        bad = ports[len(cases):]
        frames.append(self.raw.frame(bad[0], self.port, isn[bad[0]], 0,
                                     F_SYN, doff=4))
        frames.append(self.raw.frame(bad[1], self.port, isn[bad[1]], 0,
                                     F_SYN, doff=15))
        frames.append(self.raw.frame(bad[2], self.port, isn[bad[2]], 0,
                                     F_SYN, opts=bytes([1] * 4), doff=8))
        before = self.ctl.kv("stats")
        self.raw.send(frames)
        got = by_port(self.raw.collect(1.0, until=every_port(
            ports[:len(cases)], lambda p, x: x.flags & (F_SYN | F_ACK)
            == F_SYN | F_ACK)))
        d = delta(before, self.ctl.kv("stats"))
        for p in bad:
            if got.get(p):
                raise Fail("options: a bad data offset answered: %s" %
                           got[p])
        if d.get("rx_drop_tcp_doff", 0) + d.get("rx_drop_tcp_trunc", 0) \
                != 3:
            raise Fail("options: 3 bad data offsets, counters %s" %
                       {k: v for k, v in d.items() if v})
        conns = []
        for p, (o, exp) in zip(ports, cases):
            sa = [s for s in got.get(p, []) if s.flags & (F_SYN | F_ACK)
                  == F_SYN | F_ACK]
            if not sa:
                raise Fail("options %s: no SYN-ACK" % o.hex())
            conns.append((p, o, (isn[p] + 1) & 0xffffffff,
                          (sa[0].seq + 1) & 0xffffffff))
        # Complete each handshake and have 3000 bytes echoed, sent in
        # segments of 500 bytes; the echo comes back in segments of
        # between 48 bytes (Linux's floor, CVE-2019-11479) and the MSS.
        for (p, o, c, s), (_, maxseg) in zip(conns, cases):
            self.raw.send([self.raw.frame(p, self.port, c, s, F_ACK)])
            data = bytes((p + k) & 0xff for k in range(3000))
            self.raw.send([self.raw.frame(p, self.port, c + k, s,
                                          F_ACK | F_PSH,
                                          data=data[k:k + 500])
                           for k in range(0, 3000, 500)])
            echo, segs, rcv = b"", [], c + 3000
            deadline = time.monotonic() + 3
            while len(echo) < 3000 and time.monotonic() < deadline:
                for x in self.raw.collect(0.1):
                    if x.dport != p or not x.data:
                        continue
                    segs.append(len(x.data))
                    off = (x.seq - s) & 0xffffffff
                    if off == len(echo):
                        echo += x.data
                    # Acknowledge what came, in order.
                    self.raw.send([self.raw.frame(
                        p, self.port, rcv, s + len(echo), F_ACK)])
            if echo != data:
                raise Fail("options %s: %d of 3000 bytes echoed (segments "
                           "%s)" % (o.hex(), len(echo), segs[:10]))
            if any(n > maxseg for n in segs) or \
                    any(n < 48 for n in segs[:-1]):
                raise Fail("options %s: echo in segments of %s bytes" %
                           (o.hex(), sorted(set(segs))))
            self.raw.send([self.raw.frame(p, self.port, rcv, s + 3000,
                                          F_RST)])
        return len(frames)

    def run(self):
        # The kernel client's handshake has reached the server first.
        time.sleep(0.2)
        k0 = kernel_tcp_out()
        s0 = self.ctl.kv("stats")
        self.kernel_client()
        time.sleep(0.2)
        self.idle = self.ctl.kv("info")
        batches = [("options", self.b_options), ("listen", self.b_listen),
                   ("closed_port", self.b_closed_port)]
        # SYN_SENT first: its connections need slots, which the TIME_WAIT
        # connections of the later batches hold for 60 s.
        for kind in ("good", "low", "high"):
            for half in (0, 1):
                batches.append(("syn_sent/%s/%d" % (kind, half),
                                lambda k=kind, h=half: self.b_syn_sent(k, h)))
        for state in STATES:
            for kind in ("exact", "inwin", "out"):
                batches.append(("%s/%s" % (state, kind),
                                lambda s=state, k=kind: self.b_state(s, k)))
        for name, fn in batches:
            held = name.startswith(("close_wait", "last_ack"))
            if held:
                self.ctl.cmd("hold 1")
            n = fn()
            if held:
                self.ctl.cmd("hold 0")
            self.kernel_client()
            info = self.check_idle(name)
            print("BATCH %s segs=%d pkt_free=%d tcp_buf_bytes=%d ok" %
                  (name, n, info["pkt_free"], info["tcp_buf_bytes"]),
                  flush=True)
        # Every frame sent to the server (ours and those of this
        # namespace's kernel) was received by the stack, or lost in its
        # full ring (rx_drop_no_desc).
        time.sleep(0.3)
        d = delta(s0, self.ctl.kv("stats"))
        k = kernel_tcp_out() - k0
        if self.raw.sent - 256 + k != d.get("rx_frames", 0) + \
                d.get("rx_drop_no_desc", 0):
            raise Fail("%d frames sent to the server (%d raw, %d by the "
                       "kernel), the stack received %d and lost %d (%s)" %
                       (self.raw.sent - 256 + k, self.raw.sent - 256, k,
                        d.get("rx_frames", 0), d.get("rx_drop_no_desc", 0),
                        {x: y for x, y in d.items() if y}))
        if d.get("rx_frames", 0) != d.get("rx_tcp_segs", 0):
            raise Fail("frames that are not TCP segments: %s" % d)
        print("TOTAL raw=%d (256 to the closed port) kernel=%d "
              "rx_frames=%d" % (self.raw.sent, k, d.get("rx_frames", 0)),
              flush=True)
        self.kc.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ifname", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--vip", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--src-mac", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ctl-in", required=True)
    p.add_argument("--ctl-out", required=True)
    p.add_argument("--seq", type=int, required=True)
    p.add_argument("--seed", type=int, default=9)
    a = p.parse_args()
    ctl = Ctl(a.ctl_in, a.ctl_out, a.seq)
    try:
        Campaign(a, ctl).run()
    except Fail as e:
        print("FAIL: %s" % e, flush=True)
        print("CMDS %d" % ctl.issued, flush=True)
        return 1
    print("CMDS %d" % ctl.issued, flush=True)
    print("TCP_MALFORMED ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
