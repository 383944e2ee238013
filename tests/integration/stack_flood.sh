#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# stack_flood: a UDP flood at the highest rate this machine makes, for a
# bounded time (6 s), against the stack echo server (progs/stack_echo) on
# a veth pair of our own namespaces (issue 5), after a one-second warm-up
# flood. progs/udp_flood sends
# prebuilt frames from NS_B through AF_PACKET sockets (two threads,
# sendmmsg, no qdisc) to the echo port and to a second port whose socket is
# never read; progs/flood_probe.py is the server's existing client: an echo
# probe every 10 ms from before the flood to 2 s after it. Checks:
#   - every probe before the flood is answered, some during it, every one
#     from 0.2 s after it, and the first answer after the flood comes
#     within 0.5 s (it recovers at once);
#   - the counters show the drops and account for every frame the stack
#     received: the unread socket's rx_drop_rcvbuf, the ring's
#     rx_drop_no_desc when the stack fell behind, echoes refused by a full
#     transmit ring (tx_eagain);
#   - memory stays bounded: the RSS of the server before and after within
#     a margin, and once the unread socket is closed, the buffer pool is
#     back to its idle level.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
extra=()
if [[ -s "$BUILD/test-cflags" ]]; then
	read -r -a extra <"$BUILD/test-cflags" || true
fi
cc -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE "${extra[@]}" \
	-I"$REPO/include" -o "$PROGS/stack_echo" \
	"$REPO/tests/integration/progs/stack_echo.c" \
	"$BUILD/lib/libanyvi.a" -lmnl -lbpf -lelf -lz -lpthread -lm ||
	fail "cannot build progs/stack_echo.c"
itest_build udp_flood

ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent

if itest_sanitized; then
	MARGIN=2048
else
	MARGIN=1024
fi

rss_kb()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

STATS=
stats()
{
	bg_cmd st stats
	STATS=$BG_REPLY
}

# sv NAME: a counter's change since the warm-up (BASE; the stats print
# non-zero counters only).
BASE=
sv()
{
	local now base

	now=$(field "$STATS" "$1" || echo 0)
	base=$(field "$BASE" "$1" || echo 0)
	echo $((now - base))
}

bg_start st "$NS_A" "$PROGS/stack_echo" -t 50 "$IF_A"
bg_wait_line st '^READY' 10 ||
	fail "stack_echo: $(cat "$TMPD/st.out" "$TMPD/st.err")"
PID=$(field "$(grep '^READY' "$TMPD/st.out")" pid)
bg_cmd st "open 7000"
expect_eq "bind :7000" "$(field "$BG_REPLY" rc)" 0
SD=$(field "$BG_REPLY" sd)
bg_cmd st "echoq $SD"
bg_cmd st "open 7001"
expect_eq "bind :7001 (never read)" "$(field "$BG_REPLY" rc)" 0
SD_SINK=$(field "$BG_REPLY" sd)
bg_cmd st info
IDLE=$BG_REPLY
# A one-second flood first, so that every buffer and the pages behind them
# have been touched: the RSS compared below is that of a warm server.
ns_b "$PROGS/udp_flood" -i "$IF_B" -s "$IP_B" -d "$IP_A" -S "$MAC_B" \
	-D "$MAC_A" -p 7000,7001 -l 32 -t 1 -n 2 >/dev/null ||
	fail "warm-up flood failed"
sleep 0.3
RSS0=$(rss_kb "$PID")
stats
BASE=$STATS
# veth_drops: frames the veth pair dropped on the way (IF_B's transmit,
# IF_A's receive): they never reached the stack's ring.
veth_drops()
{
	local b a

	b=$(ip -n "$NS_B" -s -j link show dev "$IF_B")
	a=$(ip -n "$NS_A" -s -j link show dev "$IF_A")
	python3 -c 'import json, sys
b, a = json.loads(sys.argv[1])[0], json.loads(sys.argv[2])[0]
print(b["stats64"]["tx"]["dropped"] + a["stats64"]["rx"]["dropped"])' "$b" "$a"
}
VETH0=$(veth_drops)

log "flood: 6 s from NS_B, probes every 10 ms"
out=$(ns_b python3 "$REPO/tests/integration/progs/flood_probe.py" \
	--src "$IP_B" --dst "$IP_A" --port 7000 --pre 1 --post 2 -- \
	"$PROGS/udp_flood" -i "$IF_B" -s "$IP_B" -d "$IP_A" -S "$MAC_B" \
	-D "$MAC_A" -p 7000,7001 -l 32 -t 6 -n 2 2>&1) || rc=$?
echo "$out" | sed 's/^/    /'
((${rc:-0} == 0)) ||
	fail "the server did not keep serving: $(echo "$out" | grep FAIL |
		head -n 1)"
VETH1=$(veth_drops)

sleep 0.3
stats
log "stack counters: $STATS"
bg_cmd st echostat
log "quiet echoes: $BG_REPLY"
sent=$(echo "$out" | sed -n 's/^FLOOD sent=\([0-9]*\).*/\1/p')
probes=$(echo "$out" | sed -n 's/^PHASE .* sent=\([0-9]*\) .*/\1/p' |
	awk '{ n += $1 } END { print n + 0 }')
frames=$(sv rx_frames)
nodesc=$(sv rx_drop_no_desc)
vdrops=$((VETH1 - VETH0))
log "flood sent $sent frames and $probes probes; the stack received" \
	"$frames, its ring lost $nodesc (rx_drop_no_desc), veth dropped $vdrops"
(($(sv rx_drop_rcvbuf) > 0)) ||
	fail "no rx_drop_rcvbuf although a socket was flooded and never read"
# Every frame the stack received has one outcome (no fragments, no ICMP
# here): a datagram queued, or one counted drop.
outcomes=0
for c in rx_udp_datagrams rx_drop_rcvbuf rx_drop_pool_low rx_drop_udp_no_sock \
	rx_drop_udp_csum rx_drop_udp_len rx_drop_udp_trunc rx_drop_not_ip \
	rx_drop_ip_csum rx_drop_ip_len rx_drop_ip_dst rx_drop_ip_src \
	rx_drop_ip_proto rx_drop_ip_frag_unclaimed; do
	outcomes=$((outcomes + $(sv "$c")))
done
expect_eq "frames received = their outcomes" "$outcomes" "$frames"
# ...and every frame sent reached the stack or is a counted loss.
expect_eq "frames sent = received + lost in the ring + lost in veth" \
	"$((sent + probes))" "$((frames + nodesc + vdrops))"

# Memory: bounded while the unread socket still holds its receive buffer,
# back to idle once it is closed.
RSS1=$(rss_kb "$PID")
log "RSS before $RSS0 kB, after $RSS1 kB"
((RSS1 - RSS0 <= MARGIN)) ||
	fail "RSS grew by $((RSS1 - RSS0)) kB (margin $MARGIN kB)"
bg_cmd st info
log "info after the flood: $BG_REPLY"
(($(field "$BG_REPLY" pkt_sock_rxq) <= 212992 * 2 / 2048 + 1)) ||
	fail "the unread socket holds more than its receive buffer"
bg_cmd st "close $SD_SINK"
bg_cmd st info
for k in pkt_free pkt_rx_ring pkt_sock_rxq pkt_reasm pkt_neigh_wait; do
	expect_eq "idle $k after the flood" "$(field "$BG_REPLY" "$k")" \
		"$(field "$IDLE" "$k")"
done
bg_cmd st quit
bg_wait st 10
expect_eq "stack_echo exit status" "$BG_RC" 0
echo "stack_flood: PASS"
