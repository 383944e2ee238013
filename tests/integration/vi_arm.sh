#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# vi_arm: a driver handle wakes only when its VI is primed, as with a
# NIC's interrupts (vi/vi_arm.c): a fresh VI wakes its handle; a VI that
# is busy-polled and finds frames stops the kernel's per-frame wake-ups;
# ef_vi_prime reports a frame that is already waiting at once, and wakes
# a sleeper for the next one. progs/vi_arm.c does the steps; here on both
# backends (AF_XDP, and AF_PACKET chosen with ANYLOAD_BACKEND).
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build vi_arm
ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent

for backend in afxdp afpacket; do
	out=$(ns_a env ANYLOAD_BACKEND=$backend timeout 30 "$PROGS/vi_arm" \
		"/var/run/netns/$NS_B" "$IF_B" "$IP_B" 9400 2>&1) ||
		fail "$backend: $out"
	expect_eq "$backend: vi_arm" "$(tail -n 1 <<<"$out")" "OK 103 datagrams"
	log "$backend: $(tail -n 1 <<<"$out")"
done
