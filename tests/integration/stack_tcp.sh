#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# stack_tcp: anyload's TCP on a veth pair against the kernel's TCP on the
# other side, on the default backend (AF_XDP). progs/stack_tcp runs one
# connection over the stack in NS_A (control-plane environment: ARP
# through the kernel); progs/tcp_peer.py is the kernel's side in NS_B.
# Each part moves BYTES (4 MiB) each way at once, and both ends print the
# SHA-256 of what they sent and received, which must match crosswise:
#   1. an anyload client connecting to a kernel server;
#   2. a kernel client connecting to an anyload server;
#   3. part 1 again with a 9000-byte MTU on both ends: an AF_XDP VI
#      carries 3840-byte frames at most (ef_vi_mtu), so the stack must
#      advertise and send segments that fit (it advertised an MSS of 8948
#      and stalled, every full segment a transmit error).
# NS_B's veth sends with checksums finished (ethtool -K tx off, and no
# TSO/GSO: the stack sees MTU-sized segments with complete checksums,
# which it verifies). The stack's counters must show no checksum drop.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build_stack stack_tcp
ns_setup_pair

PEER=$REPO/tests/integration/progs/tcp_peer.py
BYTES=${STACK_TCP_BYTES:-$((4 << 20))}
ns_b ethtool -K "$IF_B" tx off tso off gso off >/dev/null 2>&1 ||
	fail "ethtool -K $IF_B tx off"

# check_pair A_OUT B_OUT: the DONE lines of the two ends must agree.
check_pair()
{
	local a b
	a=$(grep '^DONE' "$1") || fail "no DONE from the stack: $(cat "$1")"
	b=$(grep '^DONE' "$2") || fail "no DONE from the kernel: $(cat "$2")"
	expect_eq "stack sent" "$(field "$a" sent)" "$BYTES"
	expect_eq "kernel received" "$(field "$b" recv)" "$BYTES"
	expect_eq "kernel sent" "$(field "$b" sent)" "$BYTES"
	expect_eq "stack received" "$(field "$a" recv)" "$BYTES"
	expect_eq "stack -> kernel SHA-256" "$(field "$b" recv_sha256)" \
		"$(field "$a" sent_sha256)"
	expect_eq "kernel -> stack SHA-256" "$(field "$a" recv_sha256)" \
		"$(field "$b" sent_sha256)"
	log "stack: $a"
	log "stack: $(grep '^STAT' "$1" || true)"
	log "kernel: $b"
}

# ---- 1. anyload client, kernel server -------------------------------------
bg_start kp "$NS_B" python3 "$PEER" --role server --addr "$IP_B" \
	--port 7100 --bytes "$BYTES" --timeout 50
bg_wait_line kp '^LISTENING' 10 || fail "kernel server did not start"
bg_start sc "$NS_A" "$PROGS/stack_tcp" -t 50 -n "$BYTES" -s 7 \
	-r client "$IF_A" "$IP_B" 7100
bg_wait sc 55
expect_eq "stack client exit status" "$BG_RC" 0
bg_wait kp 10
expect_eq "kernel server exit status" "$BG_RC" 0
check_pair "$TMPD/sc.out" "$TMPD/kp.out"
grep -q '^CONNECTED local=198.18.0.1:' "$TMPD/sc.out" ||
	fail "stack client: $(cat "$TMPD/sc.out")"

# ---- 2. kernel client, anyload server -------------------------------------
bg_start ss "$NS_A" "$PROGS/stack_tcp" -t 50 -n "$BYTES" -s 8 \
	-r server "$IF_A" 0.0.0.0 7101
bg_wait_line ss '^LISTENING' 10 ||
	fail "stack server did not start: $(cat "$TMPD/ss.out" "$TMPD/ss.err")"
bg_start kc "$NS_B" python3 "$PEER" --role client --addr "$IP_A" \
	--port 7101 --bytes "$BYTES" --timeout 50
bg_wait ss 55
expect_eq "stack server exit status" "$BG_RC" 0
bg_wait kc 10
expect_eq "kernel client exit status" "$BG_RC" 0
check_pair "$TMPD/ss.out" "$TMPD/kc.out"
grep -q "^CONNECTED local=198.18.0.1:7101 peer=198.18.0.2:" \
	"$TMPD/ss.out" || fail "stack server: $(cat "$TMPD/ss.out")"

# ---- 3. jumbo MTU -----------------------------------------------------------
ip -n "$NS_A" link set "$IF_A" mtu 9000
ip -n "$NS_B" link set "$IF_B" mtu 9000
bg_start kj "$NS_B" python3 "$PEER" --role server --addr "$IP_B" \
	--port 7102 --bytes "$BYTES" --timeout 25
bg_wait_line kj '^LISTENING' 10 || fail "kernel server did not start"
bg_start sj "$NS_A" "$PROGS/stack_tcp" -t 25 -n "$BYTES" -s 9 \
	-r client "$IF_A" "$IP_B" 7102
bg_wait sj 30
expect_eq "stack client exit status (MTU 9000)" "$BG_RC" 0
bg_wait kj 10
expect_eq "kernel server exit status (MTU 9000)" "$BG_RC" 0
check_pair "$TMPD/sj.out" "$TMPD/kj.out"

log "PASS"
