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

# Part 1: the main job of anyload. The same unmodified sockperf binaries
# on both ends, first on the kernel (spinning, --nonblocked), then under
# `anyload --profile=latency` (transparent mode), on a veth pair of our
# own; sockperf prints one-way latency (half the round trip).
demo_sockperf()
{
	local al=$BUILD/bin/anyload t=${DEMO_SOCKPERF_TIME:-3} m tag
	local -A p50 p99

	if ! command -v sockperf >/dev/null || [[ ! -x "$al" ]]; then
		echo "(sockperf or $al missing: part 1 skipped)"
		return 0
	fi
	(
		source "$REPO/tests/harness/netns.sh"
		ns_setup_pair >/dev/null
		for m in kernel anyload; do
			if [[ $m == kernel ]]; then
				srv=(sockperf server --nonblocked)
				cli=(sockperf ping-pong --nonblocked)
			else
				srv=("$al" --profile=latency --interface="$IF_B"
					sockperf server)
				cli=("$al" --profile=latency --interface="$IF_A"
					sockperf ping-pong)
			fi
			# Each end on a CPU of its own, as bench/run.sh does.
			if (($(nproc) >= 2)) && command -v taskset >/dev/null; then
				srv=(taskset -c 1 "${srv[@]}")
				cli=(taskset -c 0 "${cli[@]}")
			fi
			timeout 60 ip netns exec "$NS_B" "${srv[@]}" -i "$IP_B" \
				-p 11111 >/dev/null 2>&1 &
			sleep 1
			timeout 60 ip netns exec "$NS_A" "${cli[@]}" -i "$IP_B" \
				-p 11111 -m 64 -t "$t" 2>&1 |
				awk -v m=$m '/percentile 50.000/ { a = $NF }
					/percentile 99.000 / { b = $NF }
					END { print m, a, b }'
			ns_kill_procs "$NS_B"
		done
	) >"$BUILD/demo/sockperf.txt"
	while read -r tag a b; do
		p50[$tag]=$a
		p99[$tag]=$b
	done <"$BUILD/demo/sockperf.txt"
	printf '%-34s %10s %10s\n' "sockperf ping-pong, UDP 64 B" "p50 µs" \
		"p99 µs"
	printf '%-34s %10s %10s\n' "kernel (--nonblocked, both ends)" \
		"${p50[kernel]:-n/a}" "${p99[kernel]:-n/a}"
	printf '%-34s %10s %10s\n' "under anyload (both ends)" \
		"${p50[anyload]:-n/a}" "${p99[anyload]:-n/a}"
	awk -v a="${p50[anyload]:-0}" -v k="${p50[kernel]:-0}" \
		-v b="${p99[anyload]:-0}" -v j="${p99[kernel]:-0}" 'BEGIN {
		if (k > 0 && j > 0 && a > 0)
			printf "%-34s %10.2f %10.2f\n", "ratio anyload/kernel", a / k, b / j }'
}

mkdir -p "$BUILD/demo"
cat <<TXT
anyload demo, part 1: an unmodified program, accelerated.

sockperf, the standard UDP latency tool, runs on two "hosts" (network
namespaces joined by a veth pair, addresses 198.18.0.1 and 198.18.0.2):
first on the kernel's sockets, then started as
  anyload --profile=latency --interface=IF sockperf ...
which preloads libanyload.so: sockperf's UDP sockets then run through
anyload's user-space stack over AF_XDP, nothing else changes for it.

TXT
demo_sockperf
echo

cat <<TXT
anyload demo, part 2: UDP round-trip latency, kernel sockets against anyload.

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
