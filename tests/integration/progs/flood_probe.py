# SPDX-License-Identifier: BSD-2-Clause
"""flood_probe.py: the existing client of tests/integration/stack_flood.sh
(not a test by itself). It sends an echo probe every --interval seconds
from --src:40001 to --dst:--port and waits up to --timeout for its echo,
for --pre seconds, then while the flood command (the arguments after
"--") runs, then for --post seconds after it ended. Prints per phase

  PHASE <before|during|after> sent=N ok=K lost=L med_ms=M p99_ms=P max_ms=X

the flood command's own output, and

  RECOVERY first_ok_ms=T   (from the flood's end to the first answered
                            probe sent after it)

and exits 0 when every probe before the flood was answered, at least
--min-during probes during it, every probe sent --settle seconds or more
after it, and the first answer after it came within --recover seconds;
else 1 with a FAIL line. Every loop is bounded by time.
"""
import argparse
import select
import socket
import sys
import time

from flood_phases import (add_flood_args, parse_flood_args, print_phase,
                          print_recovery, run_flood)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    add_flood_args(p, post=2.0, settle=0.2)
    p.add_argument("--recover", type=float, default=0.5)
    a = parse_flood_args(p)

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.src, 40001))
    s.setblocking(False)
    results = []            # (send time, rtt or None)

    def probe():
        msg = b"probe-%06d" % (len(results) + 1)
        sent = time.monotonic()
        s.sendto(msg, (a.dst, a.port))
        rtt = None
        while time.monotonic() - sent < a.timeout:
            r, _, _ = select.select([s], [], [], 0.01)
            if not r:
                continue
            try:
                data, _ = s.recvfrom(65536)
            except BlockingIOError:
                continue
            if data == msg:
                rtt = time.monotonic() - sent
                break
        results.append((sent, rtt))
        return sent

    rc, flood, flood_start, flood_end = run_flood(a, probe)
    if rc:
        return rc
    if flood is not None:
        flood.kill()
        print("FAIL: the flood did not end")
        return 1

    phases = {"before": [], "during": [], "after": []}
    for t, rtt in results:
        if t < flood_start:
            phases["before"].append((t, rtt))
        elif t < flood_end:
            phases["during"].append((t, rtt))
        else:
            phases["after"].append((t, rtt))
    for name in ("before", "during", "after"):
        print_phase(name, len(phases[name]),
                    [r * 1000 for _, r in phases[name] if r is not None])
    first = [t for t, r in phases["after"] if r is not None]
    rec = (first[0] - flood_end) if first else None
    print_recovery(rec)
    fails = []
    if any(r is None for _, r in phases["before"]) or not phases["before"]:
        fails.append("a probe before the flood was not answered")
    if sum(1 for _, r in phases["during"] if r is not None) < a.min_during:
        fails.append("fewer than %d probes answered during the flood" %
                     a.min_during)
    late = [r for t, r in phases["after"] if t - flood_end >= a.settle]
    if not late or any(r is None for r in late):
        fails.append("a probe %.1f s or more after the flood was not "
                     "answered" % a.settle)
    if rec is None or rec > a.recover:
        fails.append("no answer within %.1f s of the flood's end" %
                     a.recover)
    for f in fails:
        print("FAIL: %s" % f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
