#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tcp_integrity: bulk TCP transfers between anyload's stack and the
# kernel's TCP over a veth pair, every byte checked by SHA-256 on both
# ends (issue 8, "Data integrity ... against the kernel's TCP over veth").
# The stack's end is bench/stack_tcp_bulk (built by make into BUILD/bin:
# anyload_tcp_* in NS_A, its own SHA-256 from FIPS 180-4 in
# bench/sha256.h); the kernel's end is progs/tcp_hash_peer.py (Python
# sockets and hashlib) in NS_B. Parts:
#   0. the program's SHA-256, both its portable code and the x86 SHA
#      extensions' (used on CPUs that have them), agrees with sha256sum
#      on lengths around the block and padding boundaries (0, 3, 55, 56,
#      63, 64, 65, 119, 120, 1 MiB + 1) and gives FIPS 180-2's digest of
#      "abc";
#   1. anyload client -> kernel server: TCPI_BYTES (1 GiB) of a
#      pseudo-random stream, both ends' digests and byte counts equal;
#   2. kernel client -> anyload server: the same the other way;
#   3. flow control, stack sending: a 16 KiB SO_SNDBUF on the stack, a
#      kernel receiver with a 16 KiB SO_RCVBUF that stops reading for 1 s
#      after every 8 MiB: the stack must see the zero window and probe it
#      (persist_probes > 0; its persist timer starts at the RTO, well
#      under 1 s here), and the digests must agree;
#   4. flow control, stack receiving: an 8 KiB SO_RCVBUF on the stack,
#      which stops reading for 1 s after every 8 MiB: its window closes
#      and reopens with window updates (tx_window_updates > 0), digests
#      agree;
#   5. parts 1 and 2 again, TCPI_AFP_BYTES (128 MiB) each way, with the
#      stack on the AF_PACKET backend (parts 1-4 force AF_XDP);
#   6. part 3's size from the stack with tx checksum offload turned on on
#      its veth: super-frames refused, digests agree;
#   7. part 5's size from the stack, on AF_XDP and on AF_PACKET, with two
#      TX queues on its veth (ethtool -L tx 2): the VI waits until the
#      frames before a super-frame have left the device (they could be
#      overtaken on another queue), digests agree, super-frames flow.
# Parts 1, 5 and 7 also check that most segments left in super-frames
# (ef_vi_transmitv_gso, the kernel's segmentation).
# In every part the stack's checksum, length and transmit-error counters
# stay 0 (a veth pair corrupts nothing). Parts 1, 2 and 5 use 2 MiB
# socket buffers on the stack (it does not autotune, and its 64 KiB
# default send buffer caps a transfer at a few hundred Mbit/s here). The
# throughput of each part (as both ends saw it) and the stack's non-zero
# counters go to the log.
#
# Time: 4-12 s each for parts 1 and 2 on the 2-CPU VM (the SHA
# extensions hash at ~1.5 GB/s), ~4 s each for parts 3 and 4, ~2 s for
# part 5; 37 s in all at a load average of 10. In a sanitizer build
# (itest_sanitized: BUILD/test-cflags has -fsanitize) parts 1 and 2 move
# 256 MiB instead of 1 GiB and part 5 64 MiB instead of 128 MiB: ASan
# makes the stack and the portable SHA-256 several times slower (0.25-1
# Gbit/s here; 20-25 s for the test).
#
# Environment: TCPI_BYTES (1G; 256M in a sanitizer build), TCPI_FLOW_BYTES
# (24M), TCPI_AFP_BYTES (128M; 64M in a sanitizer build), with the
# suffixes K, M, G.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init

BULK=$BUILD/bin/stack_tcp_bulk
PEER=$REPO/tests/integration/progs/tcp_hash_peer.py
[[ -x "$BULK" ]] || skip "$BULK not built"
require_cmd sha256sum

if itest_sanitized; then
	BYTES=${TCPI_BYTES:-256M}
	AFP_BYTES=${TCPI_AFP_BYTES:-64M}
else
	BYTES=${TCPI_BYTES:-1G}
	AFP_BYTES=${TCPI_AFP_BYTES:-128M}
fi
FLOW_BYTES=${TCPI_FLOW_BYTES:-24M}
# Each transfer gives up after this long without progress.
IDLE=20

# --- 0. the SHA-256 implementation ---
for n in 0 3 55 56 63 64 65 119 120 1048577; do
	head -c "$n" /dev/urandom >"$TMPD/sha.in"
	want=$(sha256sum <"$TMPD/sha.in" | cut -d' ' -f1)
	for portable in 0 1; do
		got=$(SHA256_PORTABLE=$portable "$BULK" sha256 <"$TMPD/sha.in")
		[[ "$got" == "$want" ]] ||
			fail "sha256 (SHA256_PORTABLE=$portable) of $n random bytes: $got, sha256sum says $want"
	done
done
for portable in 0 1; do
	expect_eq "sha256(abc), SHA256_PORTABLE=$portable" \
		"$(printf abc | SHA256_PORTABLE=$portable "$BULK" sha256)" \
		ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
done

ns_setup_pair

# result_of FILE: the RESULT line of a transfer's output.
result_of()
{
	grep -E '^RESULT ' "$1" | tail -n 1
}

# check_pair PART SENDER_OUT RECEIVER_OUT BYTES: both ends report BYTES
# bytes and the same digest; the throughput goes to the log.
check_pair()
{
	local part=$1 s r

	s=$(result_of "$2")
	r=$(result_of "$3")
	[[ -n "$s" ]] || fail "$part: no result from the sender"
	[[ -n "$r" ]] || fail "$part: no result from the receiver"
	expect_eq "$part: bytes sent" "$(field "$s" bytes)" "$4"
	expect_eq "$part: bytes received" "$(field "$r" bytes)" "$4"
	expect_eq "$part: receiver's sha256 = sender's" \
		"$(field "$r" sha256)" "$(field "$s" sha256)"
	log "$part: throughput: sender $(field "$s" gbps) Gbit/s in" \
		"$(field "$s" secs) s, receiver $(field "$r" gbps) Gbit/s"
}

# stat_of FILE NAME: a counter of the stack's STATS line (0 if absent).
stat_of()
{
	field "$(grep -E '^STATS ' "$1" | tail -n 1)" "$2" || echo 0
}

# stack_clean PART FILE: on a veth pair nothing corrupts or cuts a
# segment, and every frame fits the VI: the stack's checksum, length and
# transmit-error counters (its STACK line) must be 0.
stack_clean()
{
	local line c

	line=$(grep -E '^STACK ' "$2" | tail -n 1)
	[[ -n "$line" ]] || fail "$1: no STACK line from the stack program"
	for c in rx_drop_tcp_csum rx_drop_tcp_trunc rx_drop_tcp_doff \
		rx_drop_ip_csum tcp_rx_opt_malformed tx_error_events; do
		[[ "$(field "$line" "$c" || echo 0)" == 0 ]] ||
			fail "$1: stack counter $c = $(field "$line" "$c")"
	done
	log "ok: $1: no checksum, length or transmit errors in the stack"
}

bytes_of()
{
	python3 -c 'import sys; t = sys.argv[1]; m = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1); print(int(t[:-1] if m > 1 else t) * m)' "$1"
}

# stack_to_kernel PART PORT BYTES STACK_ARGS KERNEL_ARGS: the stack in
# NS_A sends BYTES to a kernel receiver in NS_B.
stack_to_kernel()
{
	local part=$1 port=$2 bytes=$3 sargs=$4 kargs=$5 rc=0

	log "$part: anyload client -> kernel server, $bytes bytes" \
		"(stack: $sargs; kernel: $kargs)"
	# shellcheck disable=SC2086
	bg_start "k$port" "$NS_B" python3 "$PEER" recv --listen "$IP_B" \
		--port "$port" --timeout "$IDLE" $kargs
	bg_wait_line "k$port" '^LISTENING' 10 ||
		fail "$part: kernel receiver did not start: $(cat "$TMPD/k$port.err")"
	# shellcheck disable=SC2086
	ns_a timeout --kill-after=5 $((4 * IDLE + 60)) "$BULK" -r "$IP_B" \
		-p "$port" -b "$bytes" -t "$IDLE" $sargs send "$IF_A" \
		>"$TMPD/s$port.out" 2>"$TMPD/s$port.err" || rc=$?
	bg_wait "k$port" $((IDLE + 5))
	cat "$TMPD/s$port.out"
	((rc == 0)) || fail "$part: stack sender exit $rc: $(tail -3 "$TMPD/s$port.err")"
	((BG_RC == 0)) || fail "$part: kernel receiver exit $BG_RC: $(tail -3 "$TMPD/k$port.err")"
	check_pair "$part" "$TMPD/s$port.out" "$TMPD/k$port.out" \
		"$(bytes_of "$bytes")"
	stack_clean "$part" "$TMPD/s$port.out"
	STACK_OUT=$TMPD/s$port.out
}

# kernel_to_stack PART PORT BYTES STACK_ARGS KERNEL_ARGS: a kernel sender
# in NS_B sends BYTES to the stack listening in NS_A.
kernel_to_stack()
{
	local part=$1 port=$2 bytes=$3 sargs=$4 kargs=$5 rc=0

	log "$part: kernel client -> anyload server, $bytes bytes" \
		"(stack: $sargs; kernel: $kargs)"
	# shellcheck disable=SC2086
	bg_start "s$port" "$NS_A" timeout --kill-after=5 $((4 * IDLE + 60)) \
		"$BULK" -l "$IP_A" -p "$port" -t "$IDLE" $sargs recv "$IF_A"
	bg_wait_line "s$port" '^LISTENING' 10 ||
		fail "$part: stack receiver did not start: $(cat "$TMPD/s$port.err")"
	# shellcheck disable=SC2086
	ns_b timeout --kill-after=5 $((4 * IDLE + 60)) python3 "$PEER" send \
		--connect "$IP_A" --port "$port" --bytes "$bytes" \
		--timeout "$IDLE" $kargs >"$TMPD/k$port.out" \
		2>"$TMPD/k$port.err" || rc=$?
	bg_wait "s$port" $((IDLE + 5))
	cat "$TMPD/s$port.out"
	((rc == 0)) || fail "$part: kernel sender exit $rc: $(tail -3 "$TMPD/k$port.err")"
	((BG_RC == 0)) || fail "$part: stack receiver exit $BG_RC: $(tail -3 "$TMPD/s$port.err")"
	check_pair "$part" "$TMPD/k$port.out" "$TMPD/s$port.out" \
		"$(bytes_of "$bytes")"
	stack_clean "$part" "$TMPD/s$port.out"
	STACK_OUT=$TMPD/s$port.out
}

# stack_stat FILE NAME: a counter of the stack's STACK line (0 if absent).
stack_stat()
{
	field "$(grep -E '^STACK ' "$1" | tail -n 1)" "$2" || echo 0
}

# gso_used PART: the stack's data left in super-frames
# (ef_vi_transmitv_gso): most of its segments.
gso_used()
{
	local gso_segs all_segs

	gso_segs=$(stack_stat "$STACK_OUT" tcp_tx_gso_segs)
	all_segs=$(stack_stat "$STACK_OUT" tcp_tx_segs)
	((gso_segs * 2 > all_segs)) ||
		fail "$1: $gso_segs of $all_segs segments in super-frames"
	log "ok: $1: $gso_segs of $all_segs segments in" \
		"$(stack_stat "$STACK_OUT" tcp_tx_gso_frames) super-frames" \
		"($(stack_stat "$STACK_OUT" tcp_tx_gso_fallback) refused)"
}

# --- 1, 2: the big transfers ---
export ANYLOAD_BACKEND=afxdp
stack_to_kernel "part 1" 5201 "$BYTES" "-S 2M -R 2M -x 11" ""
gso_used "part 1"
kernel_to_stack "part 2" 5202 "$BYTES" "-S 2M -R 2M" "--seed 12"

# --- 3: the stack probes a closed window ---
stack_to_kernel "part 3" 5203 "$FLOW_BYTES" "-S 16K -x 13" \
	"--rcvbuf 16K --pause 1000:8M"
probes=$(stat_of "$STACK_OUT" persist_probes)
((probes > 0)) || fail "part 3: the stack sent no zero-window probe"
log "ok: part 3: $probes zero-window probes"

# --- 4: the stack's window closes and reopens ---
kernel_to_stack "part 4" 5204 "$FLOW_BYTES" "-R 8K -P 1000:8M" "--seed 14"
updates=$(stat_of "$STACK_OUT" tx_window_updates)
((updates > 0)) || fail "part 4: the stack sent no window update"
log "ok: part 4: $updates window updates"

# --- 5: the same over AF_PACKET ---
export ANYLOAD_BACKEND=afpacket
stack_to_kernel "part 5 (AF_PACKET)" 5205 "$AFP_BYTES" "-S 2M -R 2M -x 15" ""
gso_used "part 5 (AF_PACKET)"
kernel_to_stack "part 5 (AF_PACKET)" 5206 "$AFP_BYTES" "-S 2M -R 2M" \
	"--seed 16"

# --- 6: a veth that leaves TX checksums unfinished takes no super-frame
# (its peer would see unfinished checksums): the VI refuses them, every
# segment goes through the AF_XDP ring, and the data still arrives whole.
export ANYLOAD_BACKEND=afxdp
ns_a ethtool -K "$IF_A" tx on >/dev/null || fail "ethtool -K $IF_A tx on"
stack_to_kernel "part 6 (tx csum on)" 5207 "$FLOW_BYTES" "-S 2M -R 2M -x 17" ""
ns_a ethtool -K "$IF_A" tx off >/dev/null || fail "ethtool -K $IF_A tx off"
expect_eq "part 6: super-frames" "$(stack_stat "$STACK_OUT" tcp_tx_gso_frames)" 0

# --- 7: two TX queues on the stack's veth (its peer keeps one, so that
# everything reaches the stack's queue 0): the kernel may give a
# super-frame another queue than the frames before it, so the VI sends one
# only once those have left (AF_XDP: completed; AF_PACKET: its socket's
# send queue empty). The data arrives whole, super-frames still flow.
ns_a ethtool -L "$IF_A" tx 2 >/dev/null || fail "ethtool -L $IF_A tx 2"
for backend in afxdp afpacket; do
	export ANYLOAD_BACKEND=$backend
	stack_to_kernel "part 7 ($backend, 2 TX queues)" 5208 "$AFP_BYTES" \
		"-S 2M -R 2M -x 19" ""
	gso_used "part 7 ($backend, 2 TX queues)"
done
ns_a ethtool -L "$IF_A" tx 1 >/dev/null || fail "ethtool -L $IF_A tx 1"

log "PASS"
