#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_malformed: the malformed-traffic campaign of issue 5
# (progs/malformed.py, as malformed_traffic.sh runs it against the stack
# echo server) against an unmodified UDP echo server in transparent mode:
# progs/udp_echod.py under `anyload --interface=IF_A`, once on AF_XDP and
# once with ANYLOAD_BACKEND=afpacket. The server has no command channel,
# so:
#   - per batch: every datagram that the model of the filter and of the
#     stack says is delivered comes back byte for byte, nothing else does,
#     and a probe is answered;
#   - the server's RSS stays within a margin over the campaign;
#   - at its exit (SIGTERM, a normal exit) the counters it prints
#     (ANYLOAD_STATS_AT_EXIT=1) equal, counter by counter, the model's sum
#     over every batch and the probes (each frame a counted drop or a
#     delivery), and its socket summary shows one accelerated socket and
#     nothing received through the kernel socket (no frame of the
#     campaign slipped past the stack to the kernel's copy of the port).
# The transparent-mode stack claims neither all UDP nor ICMP: the
# campaign runs as malformed_traffic.sh's "without fragments and ICMP"
# (the fragments that follow a claimed first one still reach the stack).
# Datagrams left incomplete are dropped by the memory bound (64 in
# progress) or the 30 s timeout, or are in progress at the exit: their
# drops must add up to between the model's count less 64 and that count.
# Skipped (77) without scapy. Runs in the sanitizer build too (the ASan
# runtime first in LD_PRELOAD); there the RSS is only shown (ASan's
# allocator keeps what python frees in its quarantine).
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"
source "$(dirname "$0")/../harness/malformed_campaign.sh"

itest_init
preload_launcher_init
malformed_find_python
ECHOD=$REPO/tests/integration/progs/udp_echod.py
MAL=$REPO/tests/integration/progs/malformed.py
PORT=7000
# Python's allocator keeps a few arenas of the largest datagrams it held.
MARGIN=2048
itest_sanitized && MARGIN=-1

ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent

# counter LINE NAME: NAME=... of a counters line, 0 when absent (only
# non-zero counters are printed).
counter()
{
	field "$1" "$2" || echo 0
}

run()
{
	local backend=$1 pid out rc=0 expect got sockets k w g inc

	log "---- udp_echod.py under anyload ($backend)"
	bg_start srv "$NS_A" env ANYLOAD_BACKEND="$backend" \
		ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
		--interface="$IF_A" python3 "$ECHOD" --port "$PORT" --secs 50
	bg_wait_line srv '^READY' 15 ||
		fail "server not ready: $(cat "$TMPD/srv.err")"
	grep -q "UDP 0.0.0.0:$PORT accelerated on $IF_A" "$TMPD/srv.err" ||
		fail "the server's socket is not accelerated: $(cat "$TMPD/srv.err")"
	pid=${BG_PID[srv]}
	out=$(ns_b "$MALFORMED_PY" "$MAL" blind --backend "$backend" \
		--ifname "$IF_B" --src "$IP_B" --dst "$IP_A" \
		--src-mac "$MAC_B" --dst-mac "$MAC_A" --port "$PORT" \
		--pid "$pid" --rss-margin-kb "$MARGIN" 2>&1) || rc=$?
	echo "$out" | sed 's/^/    /'
	((rc != 77)) || skip "$(echo "$out" | tail -n 1)"
	((rc == 0)) || fail "campaign against the server under anyload" \
		"($backend): $(echo "$out" | grep '^FAIL' | head -n 1)"
	kill -TERM "$pid"
	bg_wait srv 10
	expect_eq "server exit status ($backend)" "$BG_RC" 0
	got=$(grep 'stack counters:' "$TMPD/srv.err" | tail -n 1)
	sockets=$(grep 'sockets: ' "$TMPD/srv.err" | tail -n 1)
	[[ -n "$got" && -n "$sockets" ]] ||
		fail "no counters at exit: $(tail -n 5 "$TMPD/srv.err")"
	log "server counters: ${got#*counters: }"
	log "server sockets: ${sockets#*sockets: }"
	expect=$(echo "$out" | sed -n 's/^EXPECT //p')
	[[ -n "$expect" ]] || fail "malformed.py printed no EXPECT line"
	for w in $expect; do
		k=${w%%=*}
		g=$(counter "$got" "$k")
		[[ "$g" == "${w#*=}" ]] ||
			fail "($backend) $k = $g at exit, the model says ${w#*=}"
	done
	inc=$(echo "$out" | sed -n 's/^INCOMPLETE //p')
	[[ -n "$inc" ]] || fail "malformed.py printed no INCOMPLETE line"
	g=$(($(counter "$got" reasm_drop_evicted) + \
		$(counter "$got" reasm_drop_timeout)))
	((g <= inc && g >= inc - 64)) ||
		fail "($backend) $g incomplete datagrams dropped, the model" \
			"says $inc of which up to 64 may be in progress"
	log "ok: ($backend) every receive counter as the model says:" \
		"$(echo "$expect" | tr ' ' '\n' | grep -v '=0$' | tr '\n' ' ')"
	expect_eq "($backend) accelerated sockets" \
		"$(field "$sockets" udp_accelerated)" 1
	expect_eq "($backend) datagrams through the kernel socket" \
		"$(field "$sockets" rx_kernel)" 0
}

run afxdp
run afpacket
echo "preload_malformed: PASS"
