# SPDX-License-Identifier: BSD-2-Clause
"""http_churn.py: HTTP/1.1 keep-alive clients that come and go, for the
start-up tests (not a test by itself).

  http_churn.py --dst IP --port P --path /f --secs S [--clients N]
                [--hold MS] [--reqs R]

N threads (default 2) each, until S seconds have passed: connect (a refused
connection is retried 20 ms later: the server may not listen yet), send R
GET requests (default 5) on the connection, reading each whole answer,
spread over about MS milliseconds (default 200), then close. Connections
stay open a while, as a browser's or a load balancer's do. Prints one line:

  DONE ok=A refused=B reset=C timeout=D other=E requests=F first_ok=T

(first_ok: seconds from the start to the first answered request, -1 for
none). Every connect and read has a 3 s timeout; the whole run is bounded
by S + 4 seconds.
"""
import argparse
import socket
import threading
import time

from line_out import say


def read_answer(s, buf):
    """Read one HTTP answer with Content-Length from s; returns what
    follows it in the stream."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed mid-header")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status:
        raise ValueError("status %r" % status)
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    if length is None:
        raise ValueError("no content-length")
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionResetError("closed mid-body")
        rest += chunk
    return rest[length:]


def client(a, start, counts, lock):
    req = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % a.path).encode()
    end = start + a.secs
    while time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        outcome = "ok"
        try:
            s.connect((a.dst, a.port))
            buf = b""
            for _ in range(a.reqs):
                s.sendall(req)
                buf = read_answer(s, buf)
                with lock:
                    counts["requests"] += 1
                    if counts["first_ok"] < 0:
                        counts["first_ok"] = time.monotonic() - start
                time.sleep(a.hold / 1000.0 / a.reqs)
        except ConnectionRefusedError:
            outcome = "refused"
        except (ConnectionResetError, BrokenPipeError):
            outcome = "reset"
        except socket.timeout:
            outcome = "timeout"
        except (OSError, ValueError):
            outcome = "other"
        finally:
            s.close()
        with lock:
            counts[outcome] += 1
        if outcome == "refused":
            time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--secs", type=float, default=5)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--hold", type=float, default=200)
    ap.add_argument("--reqs", type=int, default=5)
    a = ap.parse_args()
    counts = {"ok": 0, "refused": 0, "reset": 0, "timeout": 0, "other": 0,
              "requests": 0, "first_ok": -1.0}
    lock = threading.Lock()
    start = time.monotonic()
    ts = [threading.Thread(target=client, args=(a, start, counts, lock),
                           daemon=True) for _ in range(a.clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(max(0.1, start + a.secs + 4 - time.monotonic()))
    with lock:
        say("DONE ok=%d refused=%d reset=%d timeout=%d other=%d requests=%d "
            "first_ok=%.2f" % (counts["ok"], counts["refused"],
                               counts["reset"], counts["timeout"],
                               counts["other"], counts["requests"],
                               counts["first_ok"]))


if __name__ == "__main__":
    main()
