#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# stack_tcp_synflood: a SYN flood at the highest rate this machine makes,
# for a bounded time (5 s), against a TCP echo server on anyload's stack
# (progs/stack_tcp_echo listening on port 8000 of IP_A, SYN queue 128) on
# AF_XDP (issue 5), after a one-second warm-up flood. progs/syn_flood sends
# SYNs from NS_B through AF_PACKET sockets (two threads, sendmmsg, no
# qdisc), from 198.18.0.3 (an address nobody owns: the SYN-ACKs die in
# NS_B's kernel), each from a random port with a random ISN.
# progs/tcp_flood_probe.py is the server's clients: an existing kernel
# connection with a probe echoed every 10 ms, and four threads that each
# open a new kernel connection every 100 ms (or when the last one is
# done). Checks:
#   - every probe and new connection before the flood succeeds; during it
#     some probes are answered in time and some new connections succeed
#     (SYN cookies answer once the SYN queue is full: tcp_syncookies_sent
#     moves); every probe comes back in the end, and every probe and new
#     connection from 1 s after the flood succeeds;
#   - every frame sent (the flood's and the segments of NS_B's kernel:
#     OutSegs + RetransSegs of its /proc/net/snmp) reached the stack
#     (rx_frames = rx_tcp_segs) or is a counted loss (rx_drop_no_desc, or
#     dropped by veth);
#   - memory stays bounded: the embryonic connections never exceed the
#     SYN queue (tcp_connections), the RSS is within a margin of the warm
#     server's, and the buffer pool is at its idle level afterwards.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/udp_flood_campaign.sh"

itest_init
itest_build_stack stack_tcp_echo
itest_build syn_flood
ns_setup_pair
VIP=198.18.0.3
PORT=8000
BACKLOG=128
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_A" neigh replace "$VIP" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent
# RSS margin: the stack allocates nothing per segment. Under ASan its
# quarantine keeps what is freed (256 MB by default), so the buffers of
# each connection opened and closed stay in the RSS: there the RSS is only
# shown, LeakSanitizer checks for leaks at exit, and the stack's own
# accounting (buffer pool, TCP buffers, connections) is checked as in the
# normal build.
MARGIN=1024

# kernel_tcp_out: TCP segments NS_B's kernel has sent (OutSegs counts
# neither retransmissions nor, here, anything but segments to IP_A).
kernel_tcp_out()
{
	ns_b awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i;
		h = 1 } else print $n["OutSegs"] + $n["RetransSegs"] }' \
		/proc/net/snmp
}

STATS=
BASE=
sv()
{
	local now base

	now=$(field "$STATS" "$1" || echo 0)
	base=$(field "$BASE" "$1" || echo 0)
	echo $((now - base))
}

flood_cmd()
{
	echo "$PROGS/syn_flood" -i "$IF_B" -s "$VIP" -d "$IP_A" -S "$MAC_B" \
		-D "$MAC_A" -p "$PORT" -t "$1" -n 2
}

bg_start st "$NS_A" "$PROGS/stack_tcp_echo" -t 100 "$IF_A"
bg_wait_line st '^READY' 10 ||
	fail "stack_tcp_echo: $(cat "$TMPD/st.out" "$TMPD/st.err")"
PID=$(field "$(grep '^READY' "$TMPD/st.out")" pid)
bg_cmd st "listen $PORT $BACKLOG"
expect_eq "listen :$PORT" "$(field "$BG_REPLY" rc)" 0
bg_cmd st info
IDLE=$BG_REPLY
# shellcheck disable=SC2046
ns_b $(flood_cmd 1) >/dev/null || fail "warm-up flood failed"
sleep 0.3
RSS0=$(flood_rss_kb "$PID")
bg_cmd st stats
BASE=$BG_REPLY
VETH0=$(flood_veth_drops)
K0=$(kernel_tcp_out)

log "SYN flood: 5 s from NS_B, probes every 10 ms, new connections from" \
	"4 threads"
rc=0
# shellcheck disable=SC2046
out=$(ns_b python3 "$REPO/tests/integration/progs/tcp_flood_probe.py" \
	--dst "$IP_A" --port "$PORT" --pre 1 --post 6 --settle 4 -- \
	$(flood_cmd 5) 2>&1) || rc=$?
echo "$out" | sed 's/^/    /'
((rc == 0)) || fail "the server did not keep serving: $(echo "$out" |
	grep FAIL | head -n 1)"
sleep 0.3
VETH1=$(flood_veth_drops)
K1=$(kernel_tcp_out)
bg_cmd st stats
STATS=$BG_REPLY
log "stack counters: $STATS"
bg_cmd st info
log "info after the flood: $BG_REPLY"

sent=$(echo "$out" | sed -n 's/^FLOOD sent=\([0-9]*\).*/\1/p')
frames=$(sv rx_frames)
log "flood sent $sent SYNs, NS_B's kernel $((K1 - K0)) segments; the" \
	"stack received $frames, its ring lost $(sv rx_drop_no_desc), veth" \
	"dropped $((VETH1 - VETH0)); SYN cookies sent $(sv \
	tcp_syncookies_sent), good $(sv tcp_syncookies_ok)"
(($(sv tcp_syncookies_sent) > 0)) ||
	fail "no SYN cookie although the SYN queue must have overflowed"
expect_eq "frames received = TCP segments received" "$(sv rx_tcp_segs)" \
	"$frames"
expect_eq "frames sent = received + lost in the ring + lost in veth" \
	"$((sent + K1 - K0))" \
	"$((frames + $(sv rx_drop_no_desc) + VETH1 - VETH0))"
conns=$(field "$BG_REPLY" tcp_connections)
((conns <= BACKLOG + 8)) ||
	fail "$conns TCP connections: more than the SYN queue ($BACKLOG)" \
		"and the clients"
expect_eq "idle pkt_free after the flood" "$(field "$BG_REPLY" pkt_free)" \
	"$(field "$IDLE" pkt_free)"
RSS1=$(flood_rss_kb "$PID")
log "RSS of the warm server $RSS0 kB, after the flood $RSS1 kB"
itest_sanitized || ((RSS1 - RSS0 <= MARGIN)) ||
	fail "RSS grew by $((RSS1 - RSS0)) kB (margin $MARGIN kB)"
bg_cmd st quit
bg_wait st 10
expect_eq "stack_tcp_echo exit status" "$BG_RC" 0
echo "stack_tcp_synflood: PASS"
