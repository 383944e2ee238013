# SPDX-License-Identifier: BSD-2-Clause
"""udp_echod.py: an ordinary UDP echo server, for the transparent-mode
robustness tests (tests/integration/preload_malformed.sh,
preload_flood.sh, preload_sigkill.sh), run unchanged under anyload (not a
test by itself).

  udp_echod.py --port P [--sink Q] [--secs S]

Echoes every datagram that reaches port P (bound to 0.0.0.0, blocking
with a 0.2 s timeout) back to its sender; with --sink it also binds port Q
and never reads it. Prints READY when bound; runs until SIGTERM or SIGINT
(which end it normally, so that exit handlers run) or S seconds (default
60); prints DONE echoed=N failed=F at the end (F: echoes that found no
room to be sent within the timeout).
"""
import argparse
import signal
import socket
import time


def stop(signum, frame):
    raise SystemExit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sink", type=int, default=0)
    ap.add_argument("--secs", type=float, default=60)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.port))
    sink = None
    if a.sink:
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("0.0.0.0", a.sink))
    s.settimeout(0.2)
    print("READY", flush=True)
    deadline = time.monotonic() + a.secs
    n = failed = 0
    try:
        while time.monotonic() < deadline:
            try:
                data, peer = s.recvfrom(65536)
            except socket.timeout:
                continue
            try:
                s.sendto(data, peer)
                n += 1
            except (socket.timeout, BlockingIOError):
                failed += 1     # no room to send within the timeout
    finally:
        print("DONE echoed=%d failed=%d" % (n, failed), flush=True)
        if sink is not None:
            sink.close()
        s.close()


if __name__ == "__main__":
    main()
