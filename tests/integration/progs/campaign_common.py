# SPDX-License-Identifier: BSD-2-Clause
"""campaign_common.py: what the malformed-traffic campaigns (malformed.py
for UDP/IP, tcp_malformed.py for TCP) share. Not a program.

  Fail        the exception a failed check raises (the campaign prints
              "FAIL: ..." and exits 1)
  csum16      the Internet checksum (RFC 1071) of a byte string
  Ctl         the command channel of the program under test: commands
              into its stdin fifo, numbered answers ("R<n> ...") read back
              from its stdout file, as tests/harness/efvi_test.sh's bg_cmd
  delta       the change of a counter dict between two snapshots
  send_paced  frames out of a raw (AF_PACKET) socket, a pause every burst
  drain       what a non-blocking socket receives for some seconds
"""
import os
import select
import struct
import time


class Fail(Exception):
    pass


def csum16(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


class Ctl:
    """Commands through the program's stdin fifo, answers from its
    stdout file ("R<n> ..."), command numbers continuing after seq."""

    def __init__(self, fifo, out, seq):
        self.fd = os.open(fifo, os.O_WRONLY)
        self.out = out
        self.seq = seq
        self.issued = 0

    def cmd(self, line, timeout=10.0):
        self.seq += 1
        self.issued += 1
        os.write(self.fd, (line + "\n").encode())
        want = "R%d " % self.seq
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.out, errors="replace") as f:
                for ln in f:
                    # Only a whole line: stdio may write a long answer
                    # in pieces, and a half-read one lacks counters.
                    if ln.startswith(want) and ln.endswith("\n"):
                        return ln.strip()
            time.sleep(0.02)
        raise Fail("no answer to '%s' in %.0f s" % (line, timeout))

    def kv(self, line):
        """The answer's key=value words (numbers as ints)."""
        out = {}
        for w in self.cmd(line).split()[2:]:
            if "=" in w:
                k, v = w.split("=", 1)
                out[k] = int(v) if v.lstrip("-").isdigit() else v
        return out


def delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0)
            for k in set(before) | set(after)}


def send_paced(sock, frames, burst):
    """Sends every frame on sock, sleeping 1 ms after each burst of them
    (the receiver's rings are not flooded); returns the number sent."""
    sent = 0
    for k, f in enumerate(frames):
        try:
            sock.send(f)
            sent += 1
        except OSError as e:
            raise Fail("cannot send a %d-byte frame: %s" % (len(f), e))
        if k % burst == burst - 1:
            time.sleep(0.001)
    return sent


def drain(sock, secs, parse, poll=0.05, want=None, until=None):
    """What the non-blocking sock receives for secs seconds (or until want
    items came, or until(items) is true): parse(data, addr) of each packet,
    those not None."""
    got = []
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], poll)
        if not r:
            continue
        while True:
            try:
                data, addr = sock.recvfrom(65536)
            except BlockingIOError:
                break
            item = parse(data, addr)
            if item is not None:
                got.append(item)
        if want is not None and len(got) >= want:
            break
        if until is not None and until(got):
            break
    return got
