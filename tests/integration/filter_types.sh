#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# filter_types: each filter type claims exactly its frames, the most
# specific filter wins, and clashes get the documented errors. One process
# (progs/vi_recv) with two VIs in NS_B; the kernel of NS_A (and raw
# AF_PACKET / raw IP sockets there) sends; kernel sockets in NS_B show what
# the kernel still gets. Static neighbour entries in NS_A, because MAC and
# multicast/broadcast filters also claim ARP.
#   full 5-tuple    only the matching remote port is claimed; another
#                   source port's datagrams reach the kernel socket
#   precedence      full (VI 0) beats local (VI 1) on the same port;
#                   local exact address (VI 0) beats local any-address
#                   (VI 1), which still claims the port on a second address
#   MAC (eth_local) claims every frame to the VI's MAC (raw EtherType
#                   0x88b5 frames and UDP to a kernel port), not frames to
#                   another MAC; an IP filter of VI 1 still beats it
#   multicast-all   claims UDP to 239.1.2.3 (a kernel socket that joined the
#                   group gets none), not unicast; after filter_del the
#                   group member gets them again
#   unicast-all     claims unicast UDP, not multicast; a local filter of
#                   VI 1 beats it
#   ethertype       claims 0x88b5 frames, not 0x88b6, not IPv4
#   ipproto         claims IP protocol 253, not UDP
#   clashes         same VI twice: -EEXIST; another VI of the process:
#                   -EBUSY; a VI of another process (on queue 1 of a
#                   2-queue veth, as two processes cannot share queue 0):
#                   -EBUSY, and 0 once the holder has exited cleanly
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build vi_recv
ns_setup_pair

P=9400		# filtered port
Q=9401		# a kernel-only port
PM=9402		# multicast port
S1=31001	# source ports
S2=31002
IP_B2=198.18.0.3
GROUP=239.1.2.3
GROUP_MAC=01:00:5e:01:02:03
OTHER_MAC=02:00:00:00:00:99
N=20
UDPTOOL=$REPO/tests/integration/progs/udptool.py

ip -n "$NS_B" addr add "$IP_B2/$NS_PREFIX_LEN" dev "$IF_B"
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_A" neigh replace "$IP_B2" lladdr "$MAC_B" dev "$IF_A" nud permanent

bg_start kp "$NS_B" python3 "$UDPTOOL" recv --port $P --secs 90
bg_start kq "$NS_B" python3 "$UDPTOOL" recv --bind "$IP_B" --port $Q --secs 90
bg_start km "$NS_B" python3 "$UDPTOOL" recv --port $PM --join $GROUP \
	--iface-ip "$IP_B" --secs 90
for k in kp kq km; do
	bg_wait_line $k '^READY' 10 || fail "kernel receiver $k did not start"
done
bg_start v "$NS_B" "$PROGS/vi_recv" -n 2 -t 90 "$IF_B"
bg_wait_line v '^READY' 10 || fail "vi_recv: $(cat "$TMPD/v.out" "$TMPD/v.err")"

# add VI SPEC WANT_RC: add a filter, check rc; its id is in FID.
add()
{
	bg_cmd v "add $1 $2"
	expect_eq "VI $1 filter_add $2" "$(field "$BG_REPLY" rc)" "$3"
	FID=$(field "$BG_REPLY" id)
}

del()
{
	bg_cmd v "del $1"
	expect_eq "filter_del id $1" "$(field "$BG_REPLY" rc)" 0
}

udp_send()	# TAG DST PORT [SPORT]
{
	local extra=()

	[[ -n "${4:-}" ]] && extra=(--sport "$4")
	ns_a python3 "$UDPTOOL" send --dst "$2" --port "$3" --count $N \
		--tag "$1" "${extra[@]}"
}

mcast_send()	# TAG
{
	ns_a python3 "$UDPTOOL" send --dst $GROUP --port $PM --count $N \
		--tag "$1" --mcast-if "$IP_A"
}

raw_send()	# TAG DSTMAC ETHERTYPE
{
	ns_a python3 "$UDPTOOL" raw --ifname "$IF_A" --dst "$2" --src "$MAC_A" \
		--ethertype "$3" --count $N --tag "$1"
}

vi_total()
{
	count_lines "$TMPD/v.out" '^RX '
}

# section_wait VI_DELTA KERNEL_LINES...: wait until the VIs have VI_DELTA
# more RX lines than at section_start and each "file:regex:n" is met.
section_start()
{
	log "---- $1"
	SEC_BASE=$(vi_total)
}

section_wait()
{
	local want=$1 spec file re n

	shift
	wait_count "$TMPD/v.out" '^RX ' $((SEC_BASE + want)) 10 ||
		fail "VIs got $(($(vi_total) - SEC_BASE)) frames, expected $want"
	for spec in "$@"; do
		IFS='|' read -r file re n <<<"$spec"
		wait_count "$TMPD/$file.out" "$re" "$n" 10 ||
			fail "$file got $(count_lines "$TMPD/$file.out" "$re") of $n lines matching $re"
	done
	sleep 0.3
	expect_eq "frames on the VIs in this section" \
		$(($(vi_total) - SEC_BASE)) "$want"
}

# vi_got VI TAG N [EXTRA_REGEX]
vi_got()
{
	expect_eq "VI $1 frames tagged $2" \
		"$(count_lines "$TMPD/v.out" "^RX vi=$1 .*${4:-}.*payload=$2-")" "$3"
	expect_eq "VI $1 distinct $2 payloads" \
		"$(grep "^RX vi=$1 " "$TMPD/v.out" | grep -o "payload=$2-[0-9]*" |
			sort -u | wc -l)" "$3"
}

k_got()		# FILE TAG N
{
	expect_eq "kernel socket $1 datagrams tagged $2" \
		"$(count_lines "$TMPD/$1.out" "^GOT $2-")" "$3"
}

# ---- full 5-tuple -----------------------------------------------------
section_start "full 5-tuple"
add 0 "udp:$IP_B:$P,$IP_A:$S1" 0
F_FULL=$FID
add 0 "udp:$IP_B:$P,$IP_A:$S1" -17
add 1 "udp:$IP_B:$P,$IP_A:$S1" -16
udp_send F1 "$IP_B" $P $S1
udp_send F2 "$IP_B" $P $S2
section_wait $N "kp|^GOT F2-|$N"
vi_got 0 F1 $N "sport=$S1 dport=$P csum=1"
k_got kp F2 $N
k_got kp F1 0

# ---- precedence: full over local ----------------------------------------
section_start "precedence: full (VI 0) over local (VI 1)"
add 1 "udp:$IP_B:$P" 0
F_LOCAL=$FID
udp_send G1 "$IP_B" $P $S1
udp_send G2 "$IP_B" $P $S2
section_wait $((2 * N))
vi_got 0 G1 $N "sport=$S1"
vi_got 1 G2 $N "sport=$S2"
k_got kp G1 0
k_got kp G2 0
del "$F_FULL"
del "$F_LOCAL"

# ---- precedence: local exact address over any address ---------------------
section_start "local 3-tuple: exact address (VI 0) over any address (VI 1)"
add 0 "udp:$IP_B:$P" 0
F_EXACT=$FID
add 1 "udp:*:$P" 0
F_ANY=$FID
udp_send H1 "$IP_B" $P
udp_send H2 "$IP_B2" $P
section_wait $((2 * N))
vi_got 0 H1 $N "daddr=$IP_B "
vi_got 1 H2 $N "daddr=$IP_B2 "
del "$F_EXACT"
del "$F_ANY"
section_start "no filter: the port is the kernel's again"
udp_send H3 "$IP_B" $P
section_wait 0 "kp|^GOT H3-|$N"
k_got kp H3 $N

# ---- MAC ----------------------------------------------------------------
section_start "MAC filter (eth_local $MAC_B)"
add 0 "eth:$MAC_B" 0
F_MAC=$FID
add 1 "udp:$IP_B:$P" 0
F_IP=$FID
raw_send E1 "$MAC_B" 0x88b5
raw_send E2 "$OTHER_MAC" 0x88b5
udp_send E3 "$IP_B" $Q
udp_send E4 "$IP_B" $P
section_wait $((3 * N))
vi_got 0 E1 $N "dst=$MAC_B src=$MAC_A type=0x88b5"
vi_got 0 E3 $N "dport=$Q"
vi_got 1 E4 $N "dport=$P"
vi_got 0 E2 0
vi_got 1 E2 0
k_got kq E3 0
k_got kp E4 0
del "$F_MAC"
del "$F_IP"
section_start "MAC filter removed"
udp_send E5 "$IP_B" $Q
section_wait 0 "kq|^GOT E5-|$N"
k_got kq E5 $N

# ---- multicast-all -------------------------------------------------------
section_start "multicast-all"
add 0 multicast-all 0
F_MC=$FID
add 0 multicast-all -17
add 1 multicast-all -16
mcast_send M1
udp_send M2 "$IP_B" $Q
section_wait $N "kq|^GOT M2-|$N"
vi_got 0 M1 $N "dst=$GROUP_MAC .*daddr=$GROUP .*dport=$PM"
k_got km M1 0
k_got kq M2 $N
del "$F_MC"
section_start "multicast-all removed"
mcast_send M3
section_wait 0 "km|^GOT M3-|$N"
k_got km M3 $N

# ---- unicast-all --------------------------------------------------------
section_start "unicast-all"
add 0 unicast-all 0
F_UC=$FID
add 1 "udp:$IP_B:$P" 0
F_IP=$FID
udp_send U1 "$IP_B" $Q
mcast_send U2
udp_send U3 "$IP_B" $P
section_wait $((2 * N)) "km|^GOT U2-|$N"
vi_got 0 U1 $N "dst=$MAC_B .*dport=$Q"
vi_got 1 U3 $N "dport=$P"
vi_got 0 U2 0
k_got kq U1 0
k_got km U2 $N
k_got kp U3 0
del "$F_UC"
del "$F_IP"

# ---- ethertype ----------------------------------------------------------
section_start "ethertype 0x88b5"
add 0 ethertype:0x88b5 0
F_ET=$FID
raw_send T1 "$MAC_B" 0x88b5
raw_send T2 "$MAC_B" 0x88b6
udp_send T3 "$IP_B" $Q
section_wait $N "kq|^GOT T3-|$N"
vi_got 0 T1 $N "type=0x88b5"
vi_got 0 T2 0
k_got kq T3 $N
del "$F_ET"

# ---- ipproto ------------------------------------------------------------
section_start "ipproto 253"
add 0 ipproto:253 0
F_PROTO=$FID
ns_a python3 "$UDPTOOL" rawip --dst "$IP_B" --proto 253 --count $N --tag I1
udp_send I2 "$IP_B" $Q
section_wait $N "kq|^GOT I2-|$N"
vi_got 0 I1 $N "proto=253 saddr=$IP_A daddr=$IP_B"
k_got kq I2 $N
del "$F_PROTO"

expect_eq "discard/no-desc events" \
	"$(count_lines "$TMPD/v.out" '^(DISCARD|NODESC|RXPART)')" 0
bg_stop v
expect_eq "vi_recv exit status" "$BG_RC" 0
for k in kp kq km; do
	bg_stop $k
done

# ---- clash between processes -------------------------------------------
log "---- clash between processes (2-queue veth)"
NS_QUEUES=2 ns_setup_pair
bg_start x1 "$NS_B" "$PROGS/vi_recv" -t 60 "$IF_B"
bg_wait_line x1 '^READY' 10 || fail "process 1: $(cat "$TMPD/x1.out" "$TMPD/x1.err")"
bg_start x2 "$NS_B" "$PROGS/vi_recv" -S 2:1 -t 60 "$IF_B"
bg_wait_line x2 '^(READY|ALLOC vi=0 rc=-)' 10 ||
	fail "process 2: $(cat "$TMPD/x2.out" "$TMPD/x2.err")"
expect_eq "process 2 VI on queue" \
	"$(field "$(grep '^ALLOC vi=0' "$TMPD/x2.out")" rc)" 1
bg_cmd x1 "add 0 udp:$IP_B:$P"
expect_eq "process 1 filter_add udp:$IP_B:$P" "$(field "$BG_REPLY" rc)" 0
bg_cmd x2 "add 0 udp:$IP_B:$P"
expect_eq "process 2 adds process 1's filter" "$(field "$BG_REPLY" rc)" -16
bg_cmd x2 "add 0 udp:$IP_B:$Q"
expect_eq "process 2 filter_add udp:$IP_B:$Q" "$(field "$BG_REPLY" rc)" 0
bg_cmd x2 "add 0 udp:$IP_B:$Q"
expect_eq "process 2 adds its filter twice" "$(field "$BG_REPLY" rc)" -17
bg_cmd x1 "add 0 udp:$IP_B:$Q"
expect_eq "process 1 adds process 2's filter" "$(field "$BG_REPLY" rc)" -16
bg_stop x1
expect_eq "process 1 exit status" "$BG_RC" 0
bg_cmd x2 "add 0 udp:$IP_B:$P"
expect_eq "process 2 adds the filter after process 1 exited" \
	"$(field "$BG_REPLY" rc)" 0
bg_stop x2
expect_eq "process 2 exit status" "$BG_RC" 0
echo "filter_types: PASS"
