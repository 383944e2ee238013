# SPDX-License-Identifier: BSD-2-Clause
"""memcache_client.py: a memcached text-protocol client for
tests/integration/preload_memcached.sh (not a test by itself).

  set --dst IP --port P --prefix X --conns C --keys K --seed S
        C connections at once (a thread each); connection c stores keys
        X-c-0 .. X-c-(K-1), each with a value of its own (sizes from 1
        byte to 200 KB, from the seed), one request at a time, and checks
        each "STORED". Prints "SET ok=<n> bytes=<b>".
  get  (same arguments)
        fetches the same keys over C connections, several per request
        (a multi-get), and compares every value byte for byte with the
        one `set` made from the same seed. Prints "GET ok=<n> bytes=<b>".
Either prints "FAILED <why>" and exits 1 at the first difference, error
or timeout (10 s per reply). Every loop is bounded by its counts.
"""
import argparse
import random
import socket
import sys
import threading


def value(seed, prefix, c, k):
    """The value of key prefix-c-k: deterministic from the seed."""
    rnd = random.Random(f"{seed}/{prefix}/{c}/{k}")
    size = rnd.choice([1, 7, 100, 1400, 1500, 4096, 65536, 200000,
                       rnd.randint(1, 300000)])
    return rnd.randbytes(size)


class Conn:
    def __init__(self, dst, port):
        self.s = socket.create_connection((dst, port), timeout=10)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise RuntimeError("connection closed by the server")
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(max(65536, n - len(self.buf)))
            if not d:
                raise RuntimeError("connection closed by the server")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def do_set(a, c, out):
    conn = Conn(a.dst, a.port)
    n = b = 0
    for k in range(a.keys):
        key = f"{a.prefix}-{c}-{k}"
        v = value(a.seed, a.prefix, c, k)
        conn.s.sendall(f"set {key} {k} 0 {len(v)}\r\n".encode() + v +
                       b"\r\n")
        r = conn.line()
        if r != b"STORED":
            raise RuntimeError(f"set {key}: {r!r}")
        n += 1
        b += len(v)
    conn.s.close()
    out[c] = (n, b)


def do_get(a, c, out):
    conn = Conn(a.dst, a.port)
    n = b = 0
    batch = 5
    for first in range(0, a.keys, batch):
        ks = list(range(first, min(first + batch, a.keys)))
        keys = [f"{a.prefix}-{c}-{k}" for k in ks]
        conn.s.sendall(("get " + " ".join(keys) + "\r\n").encode())
        for k, key in zip(ks, keys):
            hdr = conn.line().split()
            if len(hdr) != 4 or hdr[0] != b"VALUE" or hdr[1] != key.encode():
                raise RuntimeError(f"get {key}: {hdr!r}")
            if int(hdr[2]) != k:
                raise RuntimeError(f"get {key}: flags {hdr[2]!r}")
            v = conn.exact(int(hdr[3]) + 2)
            want = value(a.seed, a.prefix, c, k)
            if v[:-2] != want or v[-2:] != b"\r\n":
                raise RuntimeError(f"get {key}: value differs "
                                   f"({len(v) - 2} bytes, {len(want)} set)")
            n += 1
            b += len(want)
        end = conn.line()
        if end != b"END":
            raise RuntimeError(f"get {keys}: {end!r} instead of END")
    conn.s.close()
    out[c] = (n, b)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["set", "get"])
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--keys", type=int, default=50)
    p.add_argument("--seed", default="1")
    a = p.parse_args()
    out, errs = {}, []
    fn = do_set if a.cmd == "set" else do_get

    def run(c):
        try:
            fn(a, c, out)
        except Exception as e:   # reported below, one line per failure
            errs.append(f"conn {c}: {e}")

    ts = [threading.Thread(target=run, args=(c,)) for c in range(a.conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        print("FAILED " + "; ".join(errs))
        return 1
    n = sum(v[0] for v in out.values())
    b = sum(v[1] for v in out.values())
    print(f"{a.cmd.upper()} ok={n} bytes={b}")
    return 0 if n == a.conns * a.keys else 1


if __name__ == "__main__":
    sys.exit(main())
