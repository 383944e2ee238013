#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# samples: the ef_vi sample programs end to end between namespaces.
#  eflatency  pong in NS_B, ping in NS_A, -n 2000 -w 200: both exit 0; the
#             ping prints '#' header lines (version, interface, payload 28,
#             iterations 2000, warm-ups 200, the column header) and exactly
#             one data line of 8 numbers (paylen mean min median 95% 99%
#             99.9% max) with paylen 28 and min <= median <= 95% <= 99% <=
#             99.9% <= max, min <= mean <= max
#  efsink     with udp:IP_B:P counts exactly the N datagrams python sends
#             (and 0 discards, 0 no-desc)
#  efsend     -n 1000 from NS_A to efsink in NS_B: "sent 1000 packets",
#             efsink "received 1000 packets"
#  efforward  three namespaces: sender -- [rx veth | forwarder | tx veth]
#             -- receiver; python datagrams from the sender to the
#             receiver's address cross the forwarder (default filters
#             unicast-all + multicast-all) and all N reach a kernel socket
#             in the receiver; efforward reports N forwarded frames
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
BIN=$BUILD/bin
for b in eflatency efsink efsend efforward; do
	[[ -x "$BIN/$b" ]] || skip "$BIN/$b not built"
done
NS_PREFIX_LEN=16 ns_setup_pair
UDPTOOL=$REPO/tests/integration/progs/udptool.py
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent

# ---- eflatency -----------------------------------------------------------
log "---- eflatency"
bg_start pong "$NS_B" "$BIN/eflatency" -n 2000 -w 200 -t 30 pong "$IF_B"
sleep 0.2
rc=0
ns_a timeout 40 "$BIN/eflatency" -n 2000 -w 200 -t 30 ping "$IF_A" \
	>"$TMPD/ping.out" 2>"$TMPD/ping.err" || rc=$?
cat "$TMPD/ping.out" "$TMPD/ping.err"
bg_wait pong 10
expect_eq "eflatency ping exit status" "$rc" 0
expect_eq "eflatency pong exit status" "$BG_RC" 0
out=$TMPD/ping.out
grep -q '^# ef_vi_version_str: ' "$out" || fail "no version header line"
expect_eq "interface header" "$(grep -c "^# interface: $IF_A\$" "$out")" 1
expect_eq "payload header" "$(grep -c '^# udp payload len: 28$' "$out")" 1
expect_eq "iterations header" "$(grep -c '^# iterations: 2000$' "$out")" 1
expect_eq "warm-ups header" "$(grep -c '^# warmups: 200$' "$out")" 1
expect_eq "column header" \
	"$(grep -c "^#$(printf '\t')paylen$(printf '\t')mean$(printf '\t')min$(printf '\t')median$(printf '\t')95%ile$(printf '\t')99%ile$(printf '\t')99.9%ile$(printf '\t')max\$" "$out")" 1
expect_eq "data lines" "$(grep -vc '^#' "$out")" 1
data=$(grep -v '^#' "$out")
check=$(awk '{
	if (NF != 8) { print "fields=" NF; exit }
	for (i = 1; i <= 8; i++)
		if ($i !~ /^[0-9]+(\.[0-9]+)?$/) { print "field " i " not a number: " $i; exit }
	if ($1 != 28) { print "paylen " $1; exit }
	if (!($3 <= $4 && $4 <= $5 && $5 <= $6 && $6 <= $7 && $7 <= $8)) { print "not ordered"; exit }
	if (!($3 <= $2 && $2 <= $8)) { print "mean outside min..max"; exit }
	if ($3 <= 0) { print "min not positive"; exit }
	print "ok" }' <<<"$data")
expect_eq "data line '$data'" "$check" ok

# ---- efsink counting python datagrams ----------------------------------
log "---- efsink"
P=9700
N=500
bg_start sink "$NS_B" "$BIN/efsink" -t 60 "$IF_B" "udp:$IP_B:$P"
bg_wait_line sink '^# filter: ' 10 || fail "efsink: $(cat "$TMPD/sink.out" "$TMPD/sink.err")"
ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P --count $N --tag S \
	--gap 0.0002
sleep 0.5
bg_stop sink
tail -n 3 "$TMPD/sink.out"
expect_eq "efsink exit status" "$BG_RC" 0
expect_eq "efsink summary" "$(grep '^received ' "$TMPD/sink.out" |
	sed 's/ packets.*discards, / packets, /')" \
	"received $N packets, 0 no-desc"
expect_eq "efsink discards" "$(grep -c '^received .* 0 discards, 0 no-desc$' "$TMPD/sink.out")" 1

# ---- efsend -> efsink ----------------------------------------------------
log "---- efsend -> efsink"
P2=9701
bg_start sink2 "$NS_B" "$BIN/efsink" -t 60 "$IF_B" "udp:$IP_B:$P2"
bg_wait_line sink2 '^# filter: ' 10 || fail "efsink: $(cat "$TMPD/sink2.out" "$TMPD/sink2.err")"
rc=0
ns_a timeout 30 "$BIN/efsend" -n 1000 -r 20000 -s 64 -m "$MAC_B" "$IF_A" \
	"$IP_B" $P2 >"$TMPD/send.out" 2>&1 || rc=$?
tail -n 2 "$TMPD/send.out"
expect_eq "efsend exit status" "$rc" 0
expect_eq "efsend summary" "$(grep '^sent ' "$TMPD/send.out")" "sent 1000 packets"
sleep 0.5
bg_stop sink2
tail -n 1 "$TMPD/sink2.out"
expect_eq "efsink exit status" "$BG_RC" 0
expect_eq "efsink count of efsend's datagrams" \
	"$(grep -c '^received 1000 packets, 106000 bytes, 0 discards, 0 no-desc$' "$TMPD/sink2.out")" 1

# ---- efforward -----------------------------------------------------------
log "---- efforward (three namespaces)"
# Pair 1 (already up): sender NS_A -- NS_B, whose IF_B is the forwarder's
# RX interface. Pair 2: its A end moves into NS_B as the forwarder's TX
# interface; its B end is the receiver. /16 prefixes put both pairs'
# addresses on one link from the hosts' point of view.
S_NS=$NS_A S_IF=$IF_A
F_NS=$NS_B F_RX=$IF_B
NS_IP_A=198.18.1.1 NS_IP_B=198.18.1.2 NS_PREFIX_LEN=16 ns_setup_pair
F_TX=$IF_A
R_NS=$NS_B R_IF=$IF_B R_IP=$IP_B R_MAC=$MAC_B
ip -n "$NS_A" link set dev "$F_TX" netns "$F_NS"
ip -n "$F_NS" link set dev "$F_TX" up
ip -n "$S_NS" neigh replace "$R_IP" lladdr "$R_MAC" dev "$S_IF" nud permanent
for ((i = 0; i < 50; i++)); do
	ip -n "$F_NS" -o link show dev "$F_TX" | grep -q LOWER_UP && break
	sleep 0.1
done

PF=9702
NF=200
bg_start kr "$R_NS" python3 "$UDPTOOL" recv --bind "$R_IP" --port $PF --secs 60
bg_wait_line kr '^READY' 10 || fail "receiver did not start"
bg_start fwd "$F_NS" "$BIN/efforward" -n $NF -t 30 "$F_RX" "$F_TX"
bg_wait_line fwd '^# filter: multicast-all' 10 ||
	fail "efforward: $(cat "$TMPD/fwd.out" "$TMPD/fwd.err")"
ip netns exec "$S_NS" python3 "$UDPTOOL" send --dst "$R_IP" --port $PF \
	--count $NF --tag F --gap 0.0005
wait_count "$TMPD/kr.out" '^GOT F-' $NF 10 ||
	fail "receiver got $(count_lines "$TMPD/kr.out" '^GOT F-') of $NF forwarded datagrams; efforward: $(tail -3 "$TMPD/fwd.out")"
bg_wait fwd 10
tail -n 2 "$TMPD/fwd.out"
expect_eq "efforward exit status" "$BG_RC" 0
expect_eq "efforward summary" "$(grep '^forwarded ' "$TMPD/fwd.out")" \
	"forwarded $NF frames"
sleep 0.2
expect_eq "datagrams at the receiver" "$(count_lines "$TMPD/kr.out" '^GOT F-')" $NF
expect_eq "distinct datagrams at the receiver" \
	"$(grep -o '^GOT F-[0-9]*' "$TMPD/kr.out" | sort -u | wc -l)" $NF
bg_stop kr
echo "samples: PASS"
