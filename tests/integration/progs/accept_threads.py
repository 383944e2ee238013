# SPDX-License-Identifier: BSD-2-Clause
"""accept_threads.py: the server and clients of
tests/integration/preload_tcp_accept_threads.sh (on the kernel, or as an
unmodified program under anyload; not a test by itself).

  server --bind IP --port P --threads T --expect N --secs S
        listens (blocking socket, no timeout) and starts T threads that
        each loop: accept(), print "ACCEPT t=<thread> peer=<ip>:<port>",
        echo the connection until its end, close it. Prints READY once
        listening. Ends when N connections were accepted and ended, or
        after S seconds, printing "DONE accepted=K ended=E per_thread=..."
        and exiting 0 when K == E == N (the threads still blocked in
        accept() end with the process).
  client --dst IP --port P --count N --parallel J
        makes N connections, J at a time (a thread each), each with a
        16-byte message of its own echoed (3 s timeouts), then closed;
        prints "FAILED <k> <why>" for each failure and "CLIENT ok=K
        sent=N", exits 0 if K == N.
  hold --dst IP --port P
        for each line "open K" on stdin: opens K more connections at once
        (the server's queue then holds them all), then has a message
        echoed on each, printing "R<n> ok" or "R<n> fail <why>" (n counts
        the lines); "close": closes them all, "R<n> ok". Ends at the end
        of its input.
Every loop is bounded by its count or its time.
"""
import argparse
import socket
import sys
import threading
import time

out_lock = threading.Lock()


def say(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def echo_once(s, msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(len(msg) - len(got))
        if not d:
            raise ConnectionError("closed by the server")
        got += d
    if got != msg:
        raise ValueError("echo differs")


def cmd_server(a):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    s.listen(64)
    state = {"accepted": 0, "ended": 0}
    per_thread = [0] * a.threads
    cond = threading.Condition()

    def worker(t):
        while True:
            c, peer = s.accept()
            with cond:
                state["accepted"] += 1
                per_thread[t] += 1
            say("ACCEPT t=%d peer=%s:%d" % (t, peer[0], peer[1]))
            c.settimeout(a.secs)
            try:
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    c.sendall(d)
            except OSError:
                pass
            c.close()
            with cond:
                state["ended"] += 1
                cond.notify()

    for t in range(a.threads):
        threading.Thread(target=worker, args=(t,), daemon=True).start()
    say("READY")
    end = time.monotonic() + a.secs
    with cond:
        while state["ended"] < a.expect and time.monotonic() < end:
            cond.wait(0.2)
        k, e = state["accepted"], state["ended"]
    say("DONE accepted=%d ended=%d per_thread=%s" %
        (k, e, ",".join(str(x) for x in per_thread)))
    return 0 if k == e == a.expect else 1


def cmd_client(a):
    ok = [0]
    lock = threading.Lock()
    next_k = [0]

    def run():
        while True:
            with lock:
                k = next_k[0]
                next_k[0] += 1
            if k >= a.count:
                return
            try:
                with socket.create_connection((a.dst, a.port),
                                              timeout=3.0) as s:
                    s.settimeout(3.0)
                    echo_once(s, b"conn-%010d\n" % k)
                with lock:
                    ok[0] += 1
            except (OSError, ValueError) as e:
                say("FAILED %d %s" % (k, e))

    ts = [threading.Thread(target=run) for _ in range(a.parallel)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    say("CLIENT ok=%d sent=%d" % (ok[0], a.count))
    return 0 if ok[0] == a.count else 1


def cmd_hold(a):
    held = []
    n = 0
    for line in sys.stdin:
        n += 1
        cmd = line.strip()
        try:
            if cmd.startswith("open "):
                new = []
                for _ in range(int(cmd[5:])):
                    s = socket.create_connection((a.dst, a.port),
                                                 timeout=3.0)
                    s.settimeout(3.0)
                    held.append(s)
                    new.append(s)
                for k, s in enumerate(new):
                    echo_once(s, b"held-%05d-%04d\n" % (n, k))
            elif cmd == "close":
                for s in held:
                    s.close()
                held = []
            else:
                raise ValueError("unknown command %r" % cmd)
            say("R%d ok" % n)
        except (OSError, ValueError) as e:
            say("R%d fail %s" % (n, e))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=("server", "client", "hold"))
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--dst")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--expect", type=int, default=1)
    p.add_argument("--secs", type=float, default=30.0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--parallel", type=int, default=1)
    a = p.parse_args()
    return {"server": cmd_server, "client": cmd_client,
            "hold": cmd_hold}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
