#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# stack_udp: anyload's UDP stack on a veth pair against the kernel's own
# stack on the other side. One stack (progs/stack_echo, with the control
# plane as its environment, fragments and ICMP claimed) runs in NS_A on
# IF_A; NS_B is a plain kernel (Python sockets, progs/stack_peer.py and
# udptool.py). Neighbour tables are flushed on both sides before each
# part, so ARP goes through the kernels every time. Checks:
#   1. an anyload echo server answered by a kernel client: small
#      datagrams, and 3000-byte ones (fragmented by the kernel, reassembled
#      by the stack, fragmented by the stack, reassembled by the kernel);
#      the kernel of NS_A learnt IP_B's MAC;
#   2. ping to IP_A is answered by the stack (it claims ICMP);
#   3. an anyload client against a kernel echo server, with NS_A's
#      neighbour table empty: the first datagrams wait while the kernel
#      resolves (NTF_USE), and NS_A's table then holds MAC_B;
#   4. a connected anyload socket sending to a port nobody has gets
#      ECONNREFUSED from the kernel's ICMP port unreachable;
#   5. multicast receive after a join: the kernel of NS_A is a member of
#      the group (ip maddr, so it sends the IGMP reports), the stack gets
#      the group's datagrams from NS_B, and the kernel leaves at the leave;
#      multicast send: a kernel member in NS_B gets the stack's datagrams
#      (IP_MULTICAST_IF names the interface, as there is no route);
#   6. a route change honoured: 198.19.0.1 is unreachable (no route, and no
#      default route ever), then `ip route add 198.19.0.0/24 via IP_B`
#      makes the stack send to MAC_B (NS_B holds 198.19.0.1 on lo, so its
#      kernel accepts the frames only if they carry its MAC), then the
#      route's deletion makes it unreachable again;
#   7. the stack's counters agree (no drop for a bad reason) and it exits
#      cleanly.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init

itest_build_stack stack_echo

ns_setup_pair

PEER=$REPO/tests/integration/progs/stack_peer.py
UDPTOOL=$REPO/tests/integration/progs/udptool.py

flush_neigh()
{
	ip -n "$NS_A" neigh flush dev "$IF_A"
	ip -n "$NS_B" neigh flush dev "$IF_B"
}

neigh_mac()
{
	ip -n "$1" neigh show "$2" dev "$3" |
		sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p'
}

# stats: read the stack's counters into STATS (in this shell: bg_cmd
# counts its commands, so it must not run in a subshell).
STATS=
stats()
{
	bg_cmd st stats
	STATS=$BG_REPLY
}

# sv NAME: a counter from the last stats (0 if absent: only non-zero
# counters are printed).
sv()
{
	field "$STATS" "$1" || echo 0
}

bg_start st "$NS_A" "$PROGS/stack_echo" -t 100 -F -I "$IF_A"
bg_wait_line st '^READY' 10 ||
	fail "stack_echo did not start: $(cat "$TMPD/st.out" "$TMPD/st.err")"
log "$(grep '^READY' "$TMPD/st.out")"

# ---- 1. anyload echo server, kernel client --------------------------------
bg_cmd st "open 7000"
expect_eq "bind :7000" "$(field "$BG_REPLY" rc)" 0
SD_ECHO=$(field "$BG_REPLY" sd)
bg_cmd st "echo $SD_ECHO"
flush_neigh
out=$(ns_b python3 "$PEER" echo-client --dst "$IP_A" --port 7000 \
	--count 50 --size 64) || fail "echo client: $out"
expect_eq "kernel client, 64-byte echoes" "$(echo "$out" | tail -n 1)" \
	"CLIENT ok=50 sent=50"
out=$(ns_b python3 "$PEER" echo-client --dst "$IP_A" --port 7000 \
	--count 10 --size 3000) || fail "echo client (3000 bytes): $out"
expect_eq "kernel client, 3000-byte echoes (fragmented)" \
	"$(echo "$out" | tail -n 1)" "CLIENT ok=10 sent=10"
expect_eq "NS_B neighbour entry for $IP_A" \
	"$(neigh_mac "$NS_B" "$IP_A" "$IF_B")" "$MAC_A"
expect_eq "NS_A neighbour entry for $IP_B" \
	"$(neigh_mac "$NS_A" "$IP_B" "$IF_A")" "$MAC_B"
stats
(($(sv reasm_done) >= 10)) || fail "the stack reassembled no datagram"
(($(sv tx_fragmented) >= 10)) || fail "the stack fragmented no datagram"

# ---- 2. ping answered by the stack ---------------------------------------
out=$(ns_b python3 "$PEER" ping --dst "$IP_A" --count 3) ||
	fail "ping $IP_A: $out"
expect_eq "echo requests answered" "$(echo "$out" | tail -n 1)" "PING ok=3"
stats
expect_eq "echo replies sent by the stack" "$(sv icmp_echo_replies)" 3

# ---- 3. anyload client, kernel echo server --------------------------------
bg_start ke "$NS_B" python3 "$PEER" echo-server --bind "$IP_B" --port 7001 \
	--secs 80
bg_wait_line ke '^READY' 10 || fail "kernel echo server did not start"
flush_neigh
[[ -z "$(neigh_mac "$NS_A" "$IP_B" "$IF_A")" ]] ||
	fail "NS_A's neighbour table was not flushed"
stats
queued0=$(sv neigh_queued)
bg_cmd st "open"
SD_C=$(field "$BG_REPLY" sd)
bg_cmd st "send $SD_C $IP_B 7001 20 C"
expect_eq "anyload client: sent" "$BG_REPLY" "R${BG_SEQ[st]} send sent=20 rc=0"
bg_cmd st "expect $SD_C 20 10"
expect_eq "anyload client: echoes" "$(field "$BG_REPLY" got)" 20
got=$(grep -c "^GOT sd=$SD_C len=8 from=$IP_B:7001 payload=C-0000[01][0-9]\$" \
	"$TMPD/st.out" || true)
expect_eq "echoes from $IP_B:7001, intact" "$got" 20
stats
(($(sv neigh_queued) > queued0)) ||
	fail "no datagram waited for ARP although the table was empty"
expect_eq "NS_A neighbour entry for $IP_B (resolved by the kernel)" \
	"$(neigh_mac "$NS_A" "$IP_B" "$IF_A")" "$MAC_B"
bg_cmd st "sendsz $SD_C $IP_B 7001 5 3000"
expect_eq "anyload client: 3000-byte datagrams sent" \
	"$(field "$BG_REPLY" sent)" 5
bg_cmd st "expect $SD_C 5 10"
expect_eq "anyload client: 3000-byte echoes" "$(field "$BG_REPLY" got)" 5
expect_eq "kernel echo server: datagrams" \
	"$(count_lines "$TMPD/ke.out" '^ECHOED ')" 25

# ---- 4. ICMP port unreachable ---------------------------------------------
bg_cmd st "open"
SD_X=$(field "$BG_REPLY" sd)
bg_cmd st "connect $SD_X $IP_B 7009"
expect_eq "connect to $IP_B:7009" "$(field "$BG_REPLY" rc)" 0
bg_cmd st "send $SD_X - 0 1 U"
expect_eq "send to a closed port" "$(field "$BG_REPLY" sent)" 1
bg_cmd st "expect $SD_X 1 3"
grep -q "^RECVERR sd=$SD_X rc=-111\$" "$TMPD/st.out" ||
	fail "no ECONNREFUSED on the connected socket: $(tail -3 "$TMPD/st.out")"
log "ok: ECONNREFUSED from the kernel's port unreachable"

# ---- 5. multicast receive -------------------------------------------------
GROUP=239.1.1.1
bg_cmd st "open 7002"
SD_M=$(field "$BG_REPLY" sd)
bg_cmd st "join $SD_M $GROUP"
expect_eq "join $GROUP" "$(field "$BG_REPLY" rc)" 0
ip -n "$NS_A" maddr show dev "$IF_A" | grep -Eq "inet +$GROUP\$" ||
	fail "the kernel of NS_A is not a member of $GROUP:" \
		"$(ip -n "$NS_A" maddr show dev "$IF_A")"
log "ok: the kernel joined $GROUP (it sends the IGMP reports)"
ns_b python3 "$UDPTOOL" send --dst "$GROUP" --port 7002 --count 10 --tag M \
	--mcast-if "$IP_B"
bg_cmd st "expect $SD_M 10 10"
expect_eq "multicast datagrams received" "$(field "$BG_REPLY" got)" 10
# ...and multicast send: a kernel member in NS_B gets the stack's datagrams.
bg_start km "$NS_B" python3 "$UDPTOOL" recv --port 7004 --join "$GROUP" \
	--iface-ip "$IP_B" --secs 60
bg_wait_line km '^READY' 10 || fail "kernel multicast receiver did not start"
bg_cmd st "mcastif $SD_C $IP_A"
expect_eq "IP_MULTICAST_IF $IP_A" "$(field "$BG_REPLY" rc)" 0
bg_cmd st "send $SD_C $GROUP 7004 10 G"
expect_eq "multicast datagrams sent" "$(field "$BG_REPLY" sent)" 10
wait_count "$TMPD/km.out" "^GOT G-[0-9]{6} $IP_A:" 10 10 ||
	fail "the kernel member got $(count_lines "$TMPD/km.out" '^GOT') of 10"
log "ok: the kernel member of $GROUP got the stack's 10 datagrams"
bg_stop km
bg_cmd st "leave $SD_M $GROUP"
expect_eq "leave $GROUP" "$(field "$BG_REPLY" rc)" 0
if ip -n "$NS_A" maddr show dev "$IF_A" | grep -Eq "inet +$GROUP\$"; then
	fail "the kernel of NS_A is still a member of $GROUP after the leave"
fi

# ---- 6. a route change ----------------------------------------------------
FAR=198.19.0.1
bg_cmd st "send $SD_C $FAR 7003 1 X"
expect_eq "send to $FAR without a route" "$BG_REPLY" \
	"R${BG_SEQ[st]} send sent=0 rc=-101"
ip -n "$NS_B" addr add "$FAR/32" dev lo
bg_start kr "$NS_B" python3 "$UDPTOOL" recv --bind "$FAR" --port 7003 --secs 60
bg_wait_line kr '^READY' 10 || fail "kernel receiver on $FAR did not start"
ip -n "$NS_A" route add 198.19.0.0/24 via "$IP_B"
sleep 0.2
bg_cmd st "send $SD_C $FAR 7003 10 R"
expect_eq "send to $FAR via $IP_B" "$BG_REPLY" \
	"R${BG_SEQ[st]} send sent=10 rc=0"
wait_count "$TMPD/kr.out" '^GOT R-' 10 10 ||
	fail "NS_B got $(count_lines "$TMPD/kr.out" '^GOT') of 10 datagrams to $FAR"
ip -n "$NS_A" route del 198.19.0.0/24 via "$IP_B"
sleep 0.2
bg_cmd st "send $SD_C $FAR 7003 1 Y"
expect_eq "send to $FAR after the route's deletion" "$BG_REPLY" \
	"R${BG_SEQ[st]} send sent=0 rc=-101"

# ---- 7. counters and exit -------------------------------------------------
bg_cmd st stats
log "stack counters: $BG_REPLY"
for c in rx_drop_ip_csum rx_drop_udp_csum rx_drop_ip_len rx_drop_multibuf \
	rx_drop_no_desc reasm_drop_overlap reasm_drop_bad tx_error_events \
	neigh_drop_timeout neigh_drop_failed filter_add_err; do
	v=$(field "$BG_REPLY" "$c" || echo 0)
	expect_eq "counter $c" "$v" 0
done
if grep -q '^ECHOFAIL' "$TMPD/st.out"; then
	fail "an echo failed: $(grep '^ECHOFAIL' "$TMPD/st.out" | head -3)"
fi
bg_cmd st quit
bg_wait st 10
expect_eq "stack_echo exit status" "$BG_RC" 0
bg_stop ke
bg_stop kr
echo "stack_udp: PASS"
