# SPDX-License-Identifier: BSD-2-Clause
"""latency_cdf.py: draw the round-trip latency CDFs (UDP and TCP) of a
bench/run.sh run as one SVG (no dependency beyond python3), kernel and
anyload side by side.

  python3 bench/latency_cdf.py OUT.svg TITLE [NAME STATUS KIND RAW OUT]...

The mode arguments are those bench/run.sh gives its table (KIND "ns": one
sample in nanoseconds per line; "sockperf_rtt"/"sockperf_half": sockperf's
--full-log CSV). Modes whose STATUS is not "ok" are left out.

Two panels per pair of modes that do the same thing (the kernel's way and
anyload's): on the left the CDF over the body of the distribution (x up
to the largest p99 of the pair, linear), on the right the tail on a
"nines" scale (y = -log10(1 - p): 1 = p90, 2 = p99, 3 = p99.9), x in µs
on a log scale. Kernel modes are drawn dashed, anyload modes solid.
"""
import math
import re
import sys

PAIRS = [
    ("raw frames vs kernel UDP",
     ["kernel_pingpong", "eflatency", "eflatency_afpacket"]),
    ("UDP sockets: kernel vs anyload's stack",
     ["kernel_pingpong", "stack_pingpong"]),
    ("sockperf: kernel vs transparent mode",
     ["sockperf", "sockperf_anyload"]),
    ("TCP: kernel vs anyload's stack",
     ["kernel_pingpong_tcp", "stack_tcp_pingpong",
      "stack_tcp_ping_kernel_pong"]),
    ("sockperf --tcp: kernel vs transparent mode",
     ["sockperf_tcp", "sockperf_tcp_anyload"]),
]
LABELS = {
    "kernel_pingpong": "kernel UDP (kernel_pingpong)",
    "eflatency": "anyload AF_XDP (eflatency)",
    "eflatency_afpacket": "anyload AF_PACKET (eflatency)",
    "stack_pingpong": "anyload stack (stack_pingpong)",
    "sockperf": "kernel UDP (sockperf)",
    "sockperf_anyload": "sockperf under anyload",
    "kernel_pingpong_tcp": "kernel TCP (kernel_pingpong -T)",
    "stack_tcp_pingpong": "anyload TCP, both ends",
    "stack_tcp_ping_kernel_pong": "anyload TCP ping, kernel pong",
    "sockperf_tcp": "kernel TCP (sockperf --tcp)",
    "sockperf_tcp_anyload": "sockperf --tcp under anyload",
}
KERNEL = {"kernel_pingpong", "sockperf", "kernel_pingpong_tcp",
          "sockperf_tcp"}
COLORS = {
    "kernel_pingpong": "#444444",
    "sockperf": "#444444",
    "eflatency": "#d62728",
    "eflatency_afpacket": "#ff7f0e",
    "stack_pingpong": "#1f77b4",
    "sockperf_anyload": "#2ca02c",
    "kernel_pingpong_tcp": "#444444",
    "sockperf_tcp": "#444444",
    "stack_tcp_pingpong": "#1f77b4",
    "stack_tcp_ping_kernel_pong": "#9467bd",
    "sockperf_tcp_anyload": "#2ca02c",
}
POINTS = 400          # points per curve
NINES = ["p0", "p90", "p99", "p99.9", "p99.99"]


def load(kind, path):
    """Round-trip samples in microseconds."""
    out = []
    with open(path) as f:
        if kind == "ns":
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    out.append(float(line) / 1000.0)
        else:
            scale = 2.0 if kind == "sockperf_half" else 1.0
            for line in f:
                if re.match(r"^\d+,", line):
                    out.append(float(line.split(",")[3]) * scale)
    return sorted(out)


def pct(s, p):
    """Nearest-rank percentile of sorted samples (p in 0..1)."""
    rank = min(max(math.ceil(p * len(s) - 1e-9), 1), len(s))
    return s[rank - 1]


def esc(t):
    return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Panel:
    """One plot area: data coordinates to SVG coordinates, axes, curves."""

    def __init__(self, x, y, w, h, xlo, xhi, ylo, yhi, xlog):
        self.x, self.y, self.w, self.h = x, y, w, h
        self.xlo, self.xhi, self.ylo, self.yhi, self.xlog = (
            xlo, xhi, ylo, yhi, xlog)
        self.parts = []

    def px(self, v):
        if self.xlog:
            v, lo, hi = math.log10(v), math.log10(self.xlo), math.log10(self.xhi)
        else:
            lo, hi = self.xlo, self.xhi
        return self.x + (v - lo) / (hi - lo) * self.w

    def py(self, v):
        return self.y + self.h - (v - self.ylo) / (self.yhi - self.ylo) * self.h

    def frame(self, title, xlabel, yticks):
        p = self.parts
        p.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
                 'fill="none" stroke="#000"/>' % (self.x, self.y, self.w,
                                                  self.h))
        p.append('<text x="%.1f" y="%.1f" text-anchor="middle" '
                 'font-size="13">%s</text>' % (self.x + self.w / 2,
                                               self.y - 8, esc(title)))
        p.append('<text x="%.1f" y="%.1f" text-anchor="middle" '
                 'font-size="11">%s</text>' % (self.x + self.w / 2,
                                               self.y + self.h + 32,
                                               esc(xlabel)))
        for v, label in yticks:
            yy = self.py(v)
            p.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" '
                     'stroke="#ddd"/>' % (self.x, yy, self.x + self.w, yy))
            p.append('<text x="%.1f" y="%.1f" text-anchor="end" '
                     'font-size="10">%s</text>' % (self.x - 4, yy + 3, label))
        for v in self.xticks():
            xx = self.px(v)
            p.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" '
                     'stroke="#ddd"/>' % (xx, self.y, xx, self.y + self.h))
            p.append('<text x="%.1f" y="%.1f" text-anchor="middle" '
                     'font-size="10">%g</text>' % (xx, self.y + self.h + 14,
                                                   v))

    def xticks(self):
        if self.xlog:
            out = []
            d = 10 ** math.floor(math.log10(self.xlo))
            while d <= self.xhi:
                for m in (1, 2, 5):
                    if self.xlo <= d * m <= self.xhi:
                        out.append(d * m)
                d *= 10
            return out
        span = self.xhi - self.xlo
        step = 10 ** math.floor(math.log10(span / 4))
        for m in (1, 2, 5, 10):
            if span / (step * m) <= 6:
                step *= m
                break
        v = math.ceil(self.xlo / step) * step
        out = []
        while v <= self.xhi + 1e-9:
            out.append(round(v, 6))
            v += step
        return out

    def curve(self, pts, color, dashed):
        inside = [(self.px(x), self.py(y)) for x, y in pts
                  if self.xlo <= x <= self.xhi and self.ylo <= y <= self.yhi]
        if len(inside) < 2:
            return
        d = "M" + " L".join("%.1f,%.1f" % q for q in inside)
        self.parts.append('<path d="%s" fill="none" stroke="%s" '
                          'stroke-width="1.6"%s/>' % (
                              d, color,
                              ' stroke-dasharray="6,3"' if dashed else ""))


def body_points(s, xhi):
    pts = []
    for k in range(POINTS + 1):
        p = k / POINTS
        pts.append((pct(s, max(p, 1.0 / len(s))), p))
    return [(x, y) for x, y in pts if x <= xhi]


def tail_points(s, nines):
    pts = []
    for k in range(POINTS + 1):
        z = nines * k / POINTS
        p = 1 - 10 ** (-z)
        pts.append((pct(s, max(p, 1.0 / len(s))), z))
    return pts


def main():
    out, title = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    data = {}
    for i in range(0, len(args) - 4, 5):
        name, status, kind, raw = args[i:i + 4]
        if status != "ok":
            continue
        try:
            s = load(kind, raw)
        except (OSError, ValueError):
            continue
        if s:
            data[name] = s
    rows = [(t, [m for m in ms if m in data]) for t, ms in PAIRS]
    rows = [(t, ms) for t, ms in rows if ms]
    if not rows:
        print("latency_cdf: no samples to draw", file=sys.stderr)
        return 1
    pw, ph, ml, gap, top, rowh = 380, 220, 60, 70, 60, 330
    width = ml + 2 * pw + gap + 30
    height = top + rowh * len(rows) + 10
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" '
             'height="%d" font-family="sans-serif">' % (width, height),
             '<rect width="100%" height="100%" fill="#fff"/>',
             '<text x="%d" y="24" text-anchor="middle" font-size="15">%s'
             '</text>' % (width / 2, esc(title))]
    for r, (rtitle, ms) in enumerate(rows):
        y0 = top + r * rowh
        xhi = max(pct(data[m], 0.99) for m in ms) * 1.05
        xlo = min(data[m][0] for m in ms) * 0.95
        body = Panel(ml, y0 + 20, pw, ph, xlo, xhi, 0.0, 1.0, False)
        body.frame(rtitle + ": CDF", "round trip (µs)",
                   [(v / 10, "%.1f" % (v / 10)) for v in range(0, 11, 2)])
        nines = 4 if min(len(data[m]) for m in ms) >= 10000 else 3
        tlo = min(data[m][0] for m in ms) * 0.9
        thi = max(data[m][-1] for m in ms) * 1.1
        tail = Panel(ml + pw + gap, y0 + 20, pw, ph, tlo, thi, 0.0, nines,
                     True)
        tail.frame(rtitle + ": tail", "round trip (µs, log scale)",
                   [(z, NINES[z]) for z in range(0, nines + 1)])
        for k, m in enumerate(ms):
            color, dashed = COLORS.get(m, "#000"), m in KERNEL
            body.curve(body_points(data[m], xhi), color, dashed)
            tail.curve(tail_points(data[m], nines), color, dashed)
            ly = y0 + 20 + ph + 48 + 14 * (k // 2)
            lx = ml + (k % 2) * (pw + gap)
            parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" '
                         'stroke-width="2"%s/>' % (
                             lx, ly - 4, lx + 24, ly - 4, color,
                             ' stroke-dasharray="6,3"' if dashed else ""))
            parts.append('<text x="%d" y="%d" font-size="11">%s, p50 %.2f '
                         'µs, p99 %.2f µs</text>' % (
                             lx + 30, ly, esc(LABELS.get(m, m)),
                             pct(data[m], 0.5), pct(data[m], 0.99)))
        parts += body.parts + tail.parts
    parts.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
