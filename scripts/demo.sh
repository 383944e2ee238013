#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# demo.sh BUILD_DIR: a two-minute tour of anyload for newcomers. It runs a
# short version of the latency benchmark (bench/run.sh) and explains the
# table it prints. The table is also kept in BUILD_DIR/demo/latest.md; the
# results under bench/results are left alone.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_ARG=${1:-build}

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: must run as root: it builds a small test network out of" \
		"two network namespaces and a veth pair." >&2
	exit 1
fi
if [[ ! -d "$BUILD_ARG" ]]; then
	echo "demo: build directory $BUILD_ARG not found (run make first)" >&2
	exit 1
fi
BUILD=$(cd "$BUILD_ARG" && pwd)

export BENCH_ITERS=${BENCH_ITERS:-50000}
export BENCH_WARMUP=${BENCH_WARMUP:-5000}
export BENCH_RESULTS_DIR=${BENCH_RESULTS_DIR:-$BUILD/demo}

cat <<TXT
anyload demo: UDP round-trip latency, kernel sockets against anyload.

Two network namespaces act as two hosts, joined by a veth pair
(198.18.0.1 and 198.18.0.2, a range reserved for benchmarks; no other
address is used). One side sends a small UDP message, the other sends it
straight back, and the sender times each round trip: $BENCH_ITERS times,
after $BENCH_WARMUP warm-ups. Both sides spin on the network instead of
sleeping, each on its own CPU. The same exchange runs four ways:

  kernel_pingpong  ordinary kernel UDP sockets (the reference)
  sockperf         the standard kernel-socket latency tool, as a cross-check
  eflatency        the ef_vi sample program on anyload: packets go through
                   AF_XDP straight to the program, past the kernel's UDP/IP
  eflatency, AF_PACKET   the same on anyload's fallback for machines
                   without AF_XDP: a packet socket's ring, with a tc
                   program keeping the packets from the kernel's UDP/IP

This takes well under a minute...

TXT

rc=0
bash "$REPO/bench/run.sh" "$BUILD" || rc=$?

cat <<'TXT'

How to read it: p50 is the typical round trip, p99 and p99.9 the slow
tail (one in a hundred, one in a thousand). The ratio columns compare
each mode with the kernel reference: below 1.00 is faster than the
kernel. On a virtual machine the p99.9 column is mostly hypervisor noise,
whatever the mode; compare p50 and p99. A veth pair copies packets
between namespaces in software, so this shows the cost of the software
path, not the wire time of a real NIC. A row marked n/a says why it
could not run (for example a program that is not built yet).

Run the full benchmark with `make bench` (results in bench/results/).
TXT
exit "$rc"
