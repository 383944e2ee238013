# SPDX-License-Identifier: BSD-2-Clause
"""fork_stack.py: a process with a stack forks; the child makes a UDP
socket of its own (tests/integration/preload_fork_stack.sh; not a test by
itself).

  fork_stack.py --ip IP --peer IP --port P --mode exit|stay

The parent binds a UDP socket to IP:P and sends one datagram to the
echo server at PEER:P (so that its stack is up), then forks. --mode exit:
the parent exits at once (a daemon's first process); the child waits
(at most 5 s) until it is gone. --mode stay: the parent waits for the
child. The child binds IP:P+1 and makes 5 round trips with the echo
server (1 s timeout each), then prints "CHILD pid=N echoes=K". The
parent prints "PARENT pid=N" before the fork. Bounded throughout.
"""
import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from line_out import say  # noqa: E402


def echoes(ip, peer, port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(1.0)
    got = 0
    for i in range(n):
        msg = ("round-%d" % i).encode()
        s.sendto(msg, (peer, port))
        try:
            data, _ = s.recvfrom(2048)
            got += data == msg
        except socket.timeout:
            pass
    s.close()
    return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ip", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=("exit", "stay"), required=True)
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.ip, a.port))
    s.sendto(b"parent", (a.peer, a.port))
    parent = os.getpid()
    say("PARENT pid=%d" % parent)
    pid = os.fork()
    if pid:
        if a.mode == "stay":
            os.waitpid(pid, 0)
        s.close()
        return 0
    end = time.monotonic() + 5
    while a.mode == "exit" and os.getppid() == parent and \
            time.monotonic() < end:
        time.sleep(0.01)
    n = echoes(a.ip, a.peer, a.port + 1, 5)
    say("CHILD pid=%d echoes=%d" % (os.getpid(), n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
