#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_memcached: memcached, a multi-threaded server (a listener thread
# that hands each connection to one of 4 worker threads, each sleeping in
# its own epoll set through libevent), unmodified under `anyload
# --interface=IF_A`, listening on IP_A and on loopback:
#   1. 8 kernel clients in NS_B store 40 keys each (1 B to 300 KB) through
#      the interface (accelerated), and a client in NS_A 40 more each
#      through loopback (the kernel's connections to the same server);
#   2. each side reads back the other's keys with multi-gets and compares
#      every byte (memcache_client.py);
#   3. memcaslap from NS_B: 32 connections for 3 s with 20% of the gets
#      verified: requests made, no verification failure;
# then memcached exits 0 on TERM, and its counters show the bytes of
# step 1-2 through the stack.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
require_cmd memcached memcaslap
ns_setup_pair
P=11311
MC=$REPO/tests/integration/progs/memcache_client.py

bg_start mc "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
	--interface="$IF_A" memcached -u root -t 4 -p "$P" -U 0 -c 1024 \
	-m 256 -l "$IP_A,127.0.0.1"
for ((i = 0; i < 100; i++)); do
	ns_a ss -ltn | grep -q "$IP_A:$P " && break
	sleep 0.1
done
ns_a ss -ltn | grep -q "$IP_A:$P " || fail "memcached does not listen"

# mc FROM OP PREFIX SEED: memcache_client.py OP (set or get) of 8
# connections x 40 keys named PREFIX, values from SEED, from NS_B through
# the interface (FROM=veth) or from NS_A through loopback (FROM=lo); its
# byte count in MC_BYTES.
mc()
{
	local ns=ns_b dst=$IP_A out

	if [[ $1 == lo ]]; then
		ns=ns_a
		dst=127.0.0.1
	fi
	out=$($ns timeout 60 python3 "$MC" "$2" --dst "$dst" --port "$P" \
		--prefix "$3" --conns 8 --keys 40 --seed "$4") ||
		fail "$2 through $1: $out"
	log "$2 through $1: $out"
	MC_BYTES=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<<"$out")
}

log "---- stores through the interface and through loopback"
mc veth set veth 7
in_bytes=$MC_BYTES
mc lo set lo 8

log "---- each reads the other's keys back"
mc veth get lo 8
out_bytes=$MC_BYTES
mc lo get veth 7

log "---- memcaslap, 32 connections, 3 s"
ns_b timeout 30 memcaslap -s "$IP_A:$P" -T 2 -c 32 -t 3s --verify=0.2 \
	>"$TMPD/ms.out" 2>&1 || fail "memcaslap: $(cat "$TMPD/ms.out")"
log "memcaslap: $(grep -E '^Run time' "$TMPD/ms.out")"
grep -qE '^Run time: .* Ops: [1-9][0-9]* ' "$TMPD/ms.out" ||
	fail "memcaslap made no request: $(cat "$TMPD/ms.out")"
grep -qE '^verify_failed: 0$' "$TMPD/ms.out" ||
	fail "memcaslap verification: $(grep -E 'verify|miss' "$TMPD/ms.out")"

kill -TERM "${BG_PID[mc]}"
bg_wait mc 10
expect_eq "memcached's exit status" "$BG_RC" 0
grep -q "TCP listener $IP_A:$P accelerated" "$TMPD/mc.err" ||
	fail "listener not accelerated: $(grep anyload "$TMPD/mc.err" | head)"
# Through the stack: the stores of NS_B in, the loopback keys out.
check_tcp "$TMPD/mc.err" "$in_bytes" "$out_bytes"
log "PASS"
