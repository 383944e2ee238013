# SPDX-License-Identifier: BSD-2-Clause
"""flood_phases.py: what the flood probes (flood_probe.py for UDP,
tcp_flood_probe.py for TCP) share. Not a program.

  add_flood_args   the options both take (interval, timeout, pre, post,
                   settle, min-during) and the flood command after "--"
  parse_flood_args the options parsed; an error without a flood command
  run_flood        probes at their interval before, during and after the
                   flood command, which it starts and waits for
  pct              a percentile of a list of numbers
  print_phase      the PHASE line of one phase
  print_recovery   the RECOVERY line
"""
import argparse
import subprocess
import sys
import time


def add_flood_args(p, post, settle):
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--timeout", type=float, default=0.2)
    p.add_argument("--pre", type=float, default=1.0)
    p.add_argument("--post", type=float, default=post)
    p.add_argument("--settle", type=float, default=settle)
    p.add_argument("--min-during", type=int, default=1)


def parse_flood_args(p):
    p.add_argument("flood", nargs=argparse.REMAINDER)
    a = p.parse_args()
    if a.flood and a.flood[0] == "--":
        a.flood = a.flood[1:]
    if not a.flood:
        p.error("no flood command")
    return a


def run_flood(a, probe):
    """Calls probe() (which sends one probe, waits for its answer up to
    a.timeout and returns the time it sent it) every a.interval seconds;
    starts the flood command a.pre seconds after the first and stops
    a.post seconds after the command ended (its output copied to stdout),
    or a minute later at the most. Returns (rc, flood, start, end): rc 1
    if the command failed (a FAIL line printed), else 0; flood the
    command's Popen if it is still running (the caller kills it and
    fails), else None; start and end the times of the flood."""
    t0 = time.monotonic()
    flood = None
    flood_start = flood_end = None
    hard_end = t0 + a.pre + 60 + a.post
    while time.monotonic() < hard_end:
        now = time.monotonic()
        if flood is None and flood_end is None and now - t0 >= a.pre:
            flood = subprocess.Popen(a.flood, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
            flood_start = time.monotonic()
        if flood is not None and flood.poll() is not None:
            flood_end = time.monotonic()
            out = flood.stdout.read().decode(errors="replace")
            sys.stdout.write(out)
            if flood.returncode != 0:
                print("FAIL: the flood command failed (%d)" %
                      flood.returncode)
                return 1, None, flood_start, flood_end
            flood = None
        if flood_end is not None and now - flood_end >= a.post:
            break
        sent = probe()
        left = a.interval - (time.monotonic() - sent)
        if left > 0:
            time.sleep(left)
    return 0, flood, flood_start, flood_end


def pct(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def print_phase(name, sent, ok_ms):
    """ok_ms: the round trips in ms of the answered probes of the phase."""
    print("PHASE %s sent=%d ok=%d lost=%d med_ms=%.3f p99_ms=%.3f "
          "max_ms=%.3f" % (name, sent, len(ok_ms), sent - len(ok_ms),
                           pct(ok_ms, 0.5), pct(ok_ms, 0.99),
                           max(ok_ms) if ok_ms else 0.0))


def print_recovery(rec):
    print("RECOVERY first_ok_ms=%s" %
          ("%.1f" % (rec * 1000) if rec is not None else "none"))
