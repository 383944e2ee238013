#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_tx: the AF_PACKET backend's transmit path (progs/afp_tx.c, a
# TAP program, with ANYLOAD_BACKEND=afpacket in NS_A) against a kernel UDP
# socket in NS_B: a reported TX_ERROR slot is never sent afterwards
# (64 "W" frames and "E1" arrive exactly once each), gather lists of 2 and 6 pieces arrive whole
# ("G2", "G6"), and a burst of 500 frames pushed 50 at a time completes in
# posting order and arrives complete, each payload once.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/afpacket_test.sh"

itest_init
itest_build afp_tx
afp_init
ns_setup_pair

P=9620
bg_start kp "$NS_B" python3 "$REPO/tests/integration/progs/udptool.py" \
	recv --bind "$IP_B" --port $P --secs 60
bg_wait_line kp '^READY' 10 || fail "kernel receiver did not start"

rc=0
ns_a env ANYLOAD_BACKEND=afpacket EFVI_IF="$IF_A" AFP_IP="$IP_B" \
	AFP_PORT=$P AFP_MAC="$MAC_B" "$PROGS/afp_tx" || rc=$?
expect_eq "afp_tx exit status" "$rc" 0
wait_count "$TMPD/kp.out" '^GOT B-' 500 10 ||
	fail "receiver got $(count_lines "$TMPD/kp.out" '^GOT B-') of 500"
sleep 0.2
expect_eq "E1 at the receiver" "$(count_lines "$TMPD/kp.out" '^GOT E1 ')" 1
expect_eq "W frames at the receiver" "$(count_lines "$TMPD/kp.out" '^GOT W-')" 64
expect_eq "distinct W payloads" \
	"$(grep -o '^GOT W-[0-9]*' "$TMPD/kp.out" | sort -u | wc -l)" 64
expect_eq "G2 at the receiver" "$(count_lines "$TMPD/kp.out" '^GOT G2 ')" 1
expect_eq "G6 at the receiver" "$(count_lines "$TMPD/kp.out" '^GOT G6 ')" 1
expect_eq "distinct burst payloads" \
	"$(grep -o '^GOT B-[0-9]*' "$TMPD/kp.out" | sort -u | wc -l)" 500
expect_eq "datagrams in all" "$(count_lines "$TMPD/kp.out" '^GOT ')" 567
bg_stop kp
echo "afpacket_tx: PASS"
