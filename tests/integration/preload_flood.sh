#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_flood: stack_flood.sh's UDP flood (issue 5) against an unmodified
# UDP echo server in transparent mode: progs/udp_echod.py under `anyload
# --interface=IF_A`, echoing on port 7000 and holding port 7001 unread, on
# AF_XDP and then on AF_PACKET. After a one-second warm-up flood,
# progs/udp_flood sends from NS_B at the machine's top rate, first for 6 s
# to the unread port, then for 3 s to both ports, while
# progs/flood_probe.py, the server's existing client, sends an echo probe
# to port 7000 every 10 ms from 1 s before to 2 s after each flood.
# Checks:
#   - every probe before a flood is answered; during the first flood at
#     least half of them (the echo socket shares the ring and the stack
#     with the flooded one), during the second at least one (the probes
#     compete with the flood in the echo socket itself, and python echoes
#     a fraction of it); after either every probe from 0.2 s on, and the
#     first answer within 0.5 s;
#   - the server's RSS after the floods is within a margin of its RSS
#     after the warm-up; it exits normally on SIGTERM (no crash);
#   - its counters at exit (ANYLOAD_STATS_AT_EXIT=1) account for every
#     frame: each frame the stack received has one outcome (a datagram
#     queued or one counted drop, the unread socket's rx_drop_rcvbuf among
#     them), and every frame sent (warm-up, floods, probes) reached the
#     stack or is a counted loss (rx_drop_no_desc: the XDP or packet
#     socket's full ring; or dropped by veth); nothing came through the
#     kernel socket.
# Runs in the sanitizer build too (ASan runtime first in LD_PRELOAD); there
# the RSS is only shown: ASan's allocator, preloaded under python, keeps
# in its quarantine the 64 KiB buffer of every recvfrom(65536) python
# frees (the RSS grew by 25 MB in one run, 0 kB in the normal build).
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"
source "$(dirname "$0")/../harness/udp_flood_campaign.sh"

itest_init
preload_launcher_init
itest_build udp_flood
ECHOD=$REPO/tests/integration/progs/udp_echod.py
PROBE=$REPO/tests/integration/progs/flood_probe.py
MARGIN=2048
# ASan's allocator (quarantine, shadow) moves a python server's RSS by a
# few MB whatever the stack does (measured +2.7 MB once under load).
itest_sanitized && MARGIN=8192

ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent

counter()
{
	field "$1" "$2" || echo 0
}

# flood_cmd SECS PORTS: the flood's command line.
flood_cmd()
{
	echo "$PROGS/udp_flood" -i "$IF_B" -s "$IP_B" -d "$IP_A" -S "$MAC_B" \
		-D "$MAC_A" -p "$2" -l 32 -t "$1" -n 2
}

# flood_phase LABEL SECS PORTS MIN_DURING_PERCENT: one flood with probes
# every 10 ms from 1 s before to 2 s after it; FLOOD_SENT and PROBES_SENT
# grow by what was sent.
flood_phase()
{
	local label=$1 secs=$2 ports=$3 pct=$4 out rc=0 during

	log "flood ($label): $secs s to port(s) $ports, probes every 10 ms"
	# shellcheck disable=SC2046
	out=$(ns_b python3 "$PROBE" --src "$IP_B" --dst "$IP_A" --port 7000 \
		--pre 1 --post 2 -- $(flood_cmd "$secs" "$ports") 2>&1) ||
		rc=$?
	echo "$out" | sed 's/^/    /'
	((rc == 0)) || fail "($label) the server did not keep serving:" \
		"$(echo "$out" | grep FAIL | head -n 1)"
	during=$(echo "$out" | grep '^PHASE during')
	(($(field "$during" ok) * 100 >= $(field "$during" sent) * pct)) ||
		fail "($label) fewer than $pct % of the probes answered" \
			"during the flood: $during"
	FLOOD_SENT=$((FLOOD_SENT + $(echo "$out" |
		sed -n 's/^FLOOD sent=\([0-9]*\).*/\1/p')))
	PROBES_SENT=$((PROBES_SENT + $(echo "$out" |
		sed -n 's/^PHASE .* sent=\([0-9]*\) .*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }')))
}

run()
{
	local backend=$1 pid warm rss0 rss1 veth0 veth1
	local got sockets frames nodesc vdrops outcomes c

	log "---- udp_echod.py under anyload ($backend)"
	veth0=$(flood_veth_drops)
	bg_start srv "$NS_A" env ANYLOAD_BACKEND="$backend" \
		ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
		--interface="$IF_A" python3 "$ECHOD" --port 7000 --sink 7001 \
		--secs 50
	bg_wait_line srv '^READY' 15 ||
		fail "server not ready: $(cat "$TMPD/srv.err")"
	for c in 7000 7001; do
		grep -q "UDP 0.0.0.0:$c accelerated on $IF_A" "$TMPD/srv.err" ||
			fail "port $c not accelerated: $(cat "$TMPD/srv.err")"
	done
	pid=${BG_PID[srv]}
	# shellcheck disable=SC2046
	warm=$(ns_b $(flood_cmd 1 7000,7001) |
		sed -n 's/^FLOOD sent=\([0-9]*\).*/\1/p')
	[[ -n "$warm" ]] || fail "warm-up flood failed"
	sleep 0.3
	rss0=$(flood_rss_kb "$pid")
	FLOOD_SENT=$warm
	PROBES_SENT=0
	# The unread socket flooded: the echo socket shares the ring and the
	# stack with it, and most probes must get through.
	flood_phase "$backend, the unread port" 6 7001 50
	# The echo port itself flooded too: the python server echoes a
	# fraction of what arrives (the rest are counted drops); probes
	# compete with the flood in its socket, so only some get through
	# during it, all after.
	flood_phase "$backend, both ports" 3 7000,7001 0
	rss1=$(flood_rss_kb "$pid")
	log "RSS after the warm-up $rss0 kB, after the flood $rss1 kB"
	itest_sanitized || ((rss1 - rss0 <= MARGIN)) ||
		fail "($backend) RSS grew by $((rss1 - rss0)) kB (margin" \
			"$MARGIN kB)"

	kill -TERM "$pid"
	bg_wait srv 10
	expect_eq "($backend) server exit status" "$BG_RC" 0
	log "server: $(cat "$TMPD/srv.out" | tail -n 1)"
	veth1=$(flood_veth_drops)
	got=$(grep 'stack counters:' "$TMPD/srv.err" | tail -n 1)
	sockets=$(grep 'sockets: ' "$TMPD/srv.err" | tail -n 1)
	[[ -n "$got" && -n "$sockets" ]] ||
		fail "no counters at exit: $(tail -n 5 "$TMPD/srv.err")"
	log "server counters: ${got#*counters: }"
	log "server sockets: ${sockets#*sockets: }"

	frames=$(counter "$got" rx_frames)
	nodesc=$(counter "$got" rx_drop_no_desc)
	vdrops=$((veth1 - veth0))
	log "($backend) sent $FLOOD_SENT frames and $PROBES_SENT probes; the" \
		"stack received $frames, its ring lost $nodesc, veth dropped" \
		"$vdrops"
	(($(counter "$got" rx_drop_rcvbuf) > 0)) ||
		fail "($backend) no rx_drop_rcvbuf although a socket was" \
			"flooded and never read"
	outcomes=0
	for c in rx_udp_datagrams rx_drop_rcvbuf rx_drop_pool_low \
		rx_drop_udp_no_sock rx_drop_udp_csum rx_drop_udp_len \
		rx_drop_udp_trunc rx_drop_not_ip rx_drop_ip_csum rx_drop_ip_len \
		rx_drop_ip_dst rx_drop_ip_src rx_drop_ip_proto rx_icmp; do
		outcomes=$((outcomes + $(counter "$got" "$c")))
	done
	expect_eq "($backend) frames received = their outcomes" "$outcomes" \
		"$frames"
	# Exact, in the sanitizer build too: at exit the library takes in the
	# frames still in the ring and the kernel's latest drop count before
	# it prints the counters (anyload_stack_sync).
	expect_eq "($backend) frames sent = received + ring and veth losses" \
		"$((FLOOD_SENT + PROBES_SENT + $(counter "$got" rx_icmp)))" \
		"$((frames + nodesc + vdrops))"
	expect_eq "($backend) datagrams through the kernel socket" \
		"$(field "$sockets" rx_kernel)" 0
}

run afxdp
run afpacket
echo "preload_flood: PASS"
