# SPDX-License-Identifier: BSD-2-Clause
"""tcp_flood_probe.py: the clients of tests/integration/stack_tcp_synflood.sh
(not a test by itself), TCP's counterpart of flood_probe.py.

  tcp_flood_probe.py --dst IP --port P [--pre S] [--post S] -- FLOOD...

Opens one TCP connection to the echo server at IP:P (the existing
client) and, from --pre seconds before the flood command (the arguments
after "--") starts until --post seconds after it ended:
  - sends a 16-byte probe on that connection every --interval seconds and
    waits up to --timeout for its echo (a late echo is recognised and
    skipped later; every probe must come back, in order, as TCP
    retransmits what the flood made the server drop);
  - in --new-threads other threads, each every --new-every seconds, opens
    a new connection (connect timeout 3 s: the kernel sends its SYN again
    after 1 s when the flood made the server's ring lose it), has 16
    bytes echoed on it (2 s) and closes it.
Prints per phase (before, during, after the flood)
  PHASE <name> sent=N ok=K lost=L med_ms=M p99_ms=P max_ms=X
  NEWCONN <name> tried=N ok=K
the flood command's output, and
  RECOVERY first_ok_ms=T
and exits 0 when every probe and new connection before the flood
succeeded, at least --min-during probes and --min-new-during new
connections during it, every one started --settle seconds or more after
it, and every echo of the existing connection came back in the end;
else 1 with a FAIL line. Every loop is bounded by time.
"""
import argparse
import select
import socket
import sys
import threading
import time

from flood_phases import (add_flood_args, parse_flood_args, print_phase,
                          print_recovery, run_flood)


class NewConns(threading.Thread):
    def __init__(self, a, idx):
        super().__init__(daemon=True)
        self.a = a
        self.idx = idx
        self.results = []       # (start time, ok)
        self.stop = False

    def one(self, k):
        try:
            s = socket.create_connection((self.a.dst, self.a.port),
                                         timeout=3.0)
        except OSError:
            return False
        try:
            s.settimeout(2.0)
            msg = b"new-conn-%d-%04d\n" % (self.idx, k)
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = s.recv(len(msg) - len(got))
                if not d:
                    break
                got += d
            return got == msg
        except OSError:
            return False
        finally:
            s.close()

    def run(self):
        k = 0
        while not self.stop:
            t = time.monotonic()
            k += 1
            self.results.append((t, self.one(k)))
            left = self.a.new_every - (time.monotonic() - t)
            if left > 0:
                time.sleep(left)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    add_flood_args(p, post=3.0, settle=1.0)
    p.add_argument("--new-every", type=float, default=0.1)
    p.add_argument("--new-threads", type=int, default=4)
    p.add_argument("--min-new-during", type=int, default=1)
    a = parse_flood_args(p)

    s = socket.create_connection((a.dst, a.port), timeout=2)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setblocking(False)
    ncs = [NewConns(a, k) for k in range(a.new_threads)]
    for nc in ncs:
        nc.start()
    results = []            # [send time, rtt or None]
    sent_at = {}
    buf = b""

    def take(now):
        nonlocal buf
        while True:
            try:
                d = s.recv(65536)
            except BlockingIOError:
                break
            if not d:
                raise ConnectionError("the server closed the connection")
            buf += d
        while len(buf) >= 16:
            k = int(buf[6:15])
            buf = buf[16:]
            i = sent_at.pop(k, None)
            if i is not None and results[i][1] is None:
                results[i][1] = now - results[i][0]

    def probe():
        n = len(results) + 1
        msg = b"probe-%09d\n" % n
        sent = time.monotonic()
        results.append([sent, None])
        sent_at[n] = len(results) - 1
        s.send(msg)
        while time.monotonic() - sent < a.timeout and n in sent_at:
            select.select([s], [], [], 0.01)
            take(time.monotonic())
        return sent

    rc, flood, flood_start, flood_end = run_flood(a, probe)
    if rc:
        return rc
    # Whatever is still on its way comes back in the end (TCP).
    deadline = time.monotonic() + 5
    while sent_at and time.monotonic() < deadline:
        select.select([s], [], [], 0.05)
        take(time.monotonic())
    for nc in ncs:
        nc.stop = True
    for nc in ncs:
        nc.join(6)
    new_results = sorted(r for nc in ncs for r in nc.results)
    if flood is not None:
        flood.kill()
        print("FAIL: the flood did not end")
        return 1

    def phase(t):
        if t < flood_start:
            return "before"
        return "during" if t < flood_end else "after"

    fails = []
    for name in ("before", "during", "after"):
        ph = [(t, r) for t, r in results if phase(t) == name]
        print_phase(name, len(ph), [r * 1000 for _, r in ph
                                    if r is not None and r <= a.timeout])
        nr = [(t, ok) for t, ok in new_results if phase(t) == name]
        print("NEWCONN %s tried=%d ok=%d" %
              (name, len(nr), sum(1 for _, ok in nr if ok)))
    first = [t for t, r in results if t >= flood_end and r is not None and
             r <= a.timeout]
    rec = (first[0] - flood_end) if first else None
    print_recovery(rec)
    if sent_at:
        fails.append("%d probes never came back" % len(sent_at))
    before = [r for t, r in results if phase(t) == "before"]
    if not before or any(r is None or r > a.timeout for r in before):
        fails.append("a probe before the flood was not answered in time")
    if sum(1 for t, r in results if phase(t) == "during" and
           r is not None and r <= a.timeout) < a.min_during:
        fails.append("fewer than %d probes answered during the flood" %
                     a.min_during)
    late = [r for t, r in results if t - flood_end >= a.settle]
    if not late or any(r is None or r > a.timeout for r in late):
        fails.append("a probe %.1f s or more after the flood was not "
                     "answered in time" % a.settle)
    nb = [ok for t, ok in new_results if phase(t) == "before"]
    if any(not ok for ok in nb):
        fails.append("a new connection failed before the flood")
    if sum(1 for t, ok in new_results if phase(t) == "during" and ok) < \
            a.min_new_during:
        fails.append("fewer than %d new connections during the flood" %
                     a.min_new_during)
    na = [ok for t, ok in new_results if t - flood_end >= a.settle]
    if not na or not all(na):
        fails.append("a new connection %.1f s or more after the flood "
                     "failed" % a.settle)
    s.close()
    for f in fails:
        print("FAIL: %s" % f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
