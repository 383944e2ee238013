# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# udp_flood_campaign.sh: the UDP flood of issue 5 against the stack echo
# server on one VI backend, shared by tests/integration/stack_flood.sh
# (AF_XDP) and afpacket_flood.sh (AF_PACKET). Source it after netns.sh and
# efvi_test.sh; it runs nothing by itself.
#
#   flood_main BACKEND   the whole test with ANYLOAD_BACKEND=BACKEND (afxdp
#                        or afpacket); prints "stack_flood BACKEND: PASS"
#   flood_veth_drops     frames the veth pair dropped on the way from IF_B
#                        to IF_A so far (see below)
#   flood_rss_kb PID     VmRSS of PID in kB
#
# A flood at the highest rate this machine makes, for a bounded time (6 s),
# against progs/stack_echo on a veth pair of our own namespaces, after a
# one-second warm-up flood. progs/udp_flood sends prebuilt frames from NS_B
# through AF_PACKET sockets (two threads, sendmmsg, no qdisc) to the echo
# port and to a second port whose socket is never read;
# progs/flood_probe.py is the server's existing client: an echo probe every
# 10 ms from before the flood to 2 s after it. Checks:
#   - every probe before the flood is answered, some during it, every one
#     from 0.2 s after it, and the first answer after the flood comes
#     within 0.5 s (it recovers at once);
#   - the counters show the drops and account for every frame the stack
#     received: the unread socket's rx_drop_rcvbuf, the ring's
#     rx_drop_no_desc when the stack fell behind (on AF_XDP the XDP
#     socket's full ring, on AF_PACKET the packet socket's full ring, which
#     the backend reads from PACKET_STATISTICS and reports frame by frame),
#     and every frame sent reached the stack or is one of those losses;
#   - memory stays bounded: the RSS of the server before and after within
#     a margin, and once the unread socket is closed, the buffer pool is
#     back to its idle level.

if [[ -n "${UDP_FLOOD_CAMPAIGN__SOURCED:-}" ]]; then
	return 0
fi
UDP_FLOOD_CAMPAIGN__SOURCED=1

flood_rss_kb()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# flood_veth_drops: the frames that veth_xmit could not hand to IF_A (IF_B's
# tx_dropped: with XDP on IF_A, NAPI ring full; without, the backlog queue
# full) plus IF_A's rx_dropped (frames its XDP path dropped). Neither moved
# in any run on this machine kind; a frame counted on both sides would make
# the accounting below fail loudly rather than pass by chance.
flood_veth_drops()
{
	local b a

	b=$(ip -n "$NS_B" -s -j link show dev "$IF_B")
	a=$(ip -n "$NS_A" -s -j link show dev "$IF_A")
	python3 -c 'import json, sys
b, a = json.loads(sys.argv[1])[0], json.loads(sys.argv[2])[0]
print(b["stats64"]["tx"]["dropped"] + a["stats64"]["rx"]["dropped"])' "$b" "$a"
}

# flood__stats: the server's counters into FLOOD_STATS.
flood__stats()
{
	bg_cmd st stats
	FLOOD_STATS=$BG_REPLY
}

# flood__sv NAME: a counter's change since the warm-up (FLOOD_BASE; the
# stats print non-zero counters only).
flood__sv()
{
	local now base

	now=$(field "$FLOOD_STATS" "$1" || echo 0)
	base=$(field "$FLOOD_BASE" "$1" || echo 0)
	echo $((now - base))
}

flood_main()
{
	local backend=$1 margin pid sd sd_sink idle rss0 rss1 veth0 veth1
	local out rc=0 sent probes frames nodesc vdrops outcomes c k

	itest_init
	itest_build_stack stack_echo
	itest_build udp_flood

	ns_setup_pair
	export ANYLOAD_BACKEND=$backend
	ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" \
		nud permanent
	ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" \
		nud permanent

	if itest_sanitized; then
		margin=2048
	else
		margin=1024
	fi

	bg_start st "$NS_A" "$PROGS/stack_echo" -t 50 "$IF_A"
	bg_wait_line st '^READY' 10 ||
		fail "stack_echo: $(cat "$TMPD/st.out" "$TMPD/st.err")"
	pid=$(field "$(grep '^READY' "$TMPD/st.out")" pid)
	bg_cmd st "open 7000"
	expect_eq "bind :7000" "$(field "$BG_REPLY" rc)" 0
	sd=$(field "$BG_REPLY" sd)
	bg_cmd st "echoq $sd"
	bg_cmd st "open 7001"
	expect_eq "bind :7001 (never read)" "$(field "$BG_REPLY" rc)" 0
	sd_sink=$(field "$BG_REPLY" sd)
	bg_cmd st info
	idle=$BG_REPLY
	# A one-second flood first, so that every buffer and the pages behind
	# them have been touched: the RSS compared below is that of a warm
	# server.
	ns_b "$PROGS/udp_flood" -i "$IF_B" -s "$IP_B" -d "$IP_A" -S "$MAC_B" \
		-D "$MAC_A" -p 7000,7001 -l 32 -t 1 -n 2 >/dev/null ||
		fail "warm-up flood failed"
	sleep 0.3
	rss0=$(flood_rss_kb "$pid")
	flood__stats
	FLOOD_BASE=$FLOOD_STATS
	veth0=$(flood_veth_drops)

	log "flood ($backend): 6 s from NS_B, probes every 10 ms"
	out=$(ns_b python3 "$REPO/tests/integration/progs/flood_probe.py" \
		--src "$IP_B" --dst "$IP_A" --port 7000 --pre 1 --post 2 -- \
		"$PROGS/udp_flood" -i "$IF_B" -s "$IP_B" -d "$IP_A" \
		-S "$MAC_B" -D "$MAC_A" -p 7000,7001 -l 32 -t 6 -n 2 2>&1) ||
		rc=$?
	echo "$out" | sed 's/^/    /'
	((rc == 0)) ||
		fail "the server did not keep serving: $(echo "$out" |
			grep FAIL | head -n 1)"
	veth1=$(flood_veth_drops)

	sleep 0.3
	flood__stats
	log "stack counters: $FLOOD_STATS"
	bg_cmd st echostat
	log "quiet echoes: $BG_REPLY"
	sent=$(echo "$out" | sed -n 's/^FLOOD sent=\([0-9]*\).*/\1/p')
	probes=$(echo "$out" | sed -n 's/^PHASE .* sent=\([0-9]*\) .*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }')
	frames=$(flood__sv rx_frames)
	nodesc=$(flood__sv rx_drop_no_desc)
	vdrops=$((veth1 - veth0))
	log "flood sent $sent frames and $probes probes; the stack received" \
		"$frames, its ring lost $nodesc (rx_drop_no_desc), veth" \
		"dropped $vdrops"
	(($(flood__sv rx_drop_rcvbuf) > 0)) ||
		fail "no rx_drop_rcvbuf although a socket was flooded and" \
			"never read"
	# Every frame the stack received has one outcome (no fragments here):
	# a datagram queued, one counted drop, or an ICMP error (about an
	# echo to a port that closed; udp_flood keeps its ports open half a
	# second after the flood, so there should be none).
	outcomes=0
	for c in rx_udp_datagrams rx_drop_rcvbuf rx_drop_pool_low \
		rx_drop_udp_no_sock rx_drop_udp_csum rx_drop_udp_len \
		rx_drop_udp_trunc rx_drop_not_ip rx_drop_ip_csum rx_drop_ip_len \
		rx_drop_ip_dst rx_drop_ip_src rx_drop_ip_proto rx_icmp; do
		outcomes=$((outcomes + $(flood__sv "$c")))
	done
	expect_eq "frames received = their outcomes" "$outcomes" "$frames"
	# ...and every frame sent reached the stack or is a counted loss.
	expect_eq "frames sent = received + lost in the ring + lost in veth" \
		"$((sent + probes + $(flood__sv rx_icmp)))" \
		"$((frames + nodesc + vdrops))"

	# Memory: bounded while the unread socket still holds its receive
	# buffer, back to idle once it is closed.
	rss1=$(flood_rss_kb "$pid")
	log "RSS before $rss0 kB, after $rss1 kB"
	((rss1 - rss0 <= margin)) ||
		fail "RSS grew by $((rss1 - rss0)) kB (margin $margin kB)"
	bg_cmd st info
	log "info after the flood: $BG_REPLY"
	(($(field "$BG_REPLY" pkt_sock_rxq) <= 212992 * 2 / 2048 + 1)) ||
		fail "the unread socket holds more than its receive buffer"
	bg_cmd st "close $sd_sink"
	bg_cmd st info
	for k in pkt_free pkt_rx_ring pkt_sock_rxq pkt_reasm pkt_neigh_wait; do
		expect_eq "idle $k after the flood" "$(field "$BG_REPLY" "$k")" \
			"$(field "$idle" "$k")"
	done
	bg_cmd st quit
	bg_wait st 10
	expect_eq "stack_echo exit status" "$BG_RC" 0
	echo "stack_flood $backend: PASS"
}
