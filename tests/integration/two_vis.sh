#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# two_vis: two VIs on one interface.
#  (a) one process, two VIs on queue 0 (they share the process's UMEM):
#      VI 0 holds udp:IP_B:P1, VI 1 holds udp:IP_B:P2; interleaved traffic
#      to both ports; each VI gets exactly its own flow, intact.
#  (b) two processes on a single-queue veth: the kernel allows one UMEM
#      per (interface, queue), so the second process's ef_vi_alloc_from_pd
#      must fail with -EBUSY, cleanly, and the first process's VI must go
#      on receiving (the failed allocation must not disturb the XDP
#      program or the first VI's slot and filters).
#  (c) two processes on a veth with 2 queues (NS_QUEUES=2): process 1 on
#      queue 0 (ef_vi_alloc_from_pd), process 2 on queue 1
#      (ef_vi_set_alloc_from_pd with 2 VIs + ef_vi_alloc_from_set index 1).
#      Both allocations succeed; process 2 adding process 1's filter gets
#      -EBUSY. XPS in NS_A maps CPU 0 to TX queue 0 and CPU 1 to TX queue 1
#      and veth delivers TX queue i to the peer's RX queue i, so a sender
#      pinned to CPU i reaches RX queue i: P1 traffic sent from CPU 0 must
#      reach process 1, P2 traffic sent from CPU 1 must reach process 2.
#      Run with the library's default XDP mode (what users get), after a
#      check that the kernel spreads the flows as described (ethtool -S
#      per-queue counters, native mode, which shows them). In native mode
#      also the filters per queue: one filter held by both processes with
#      EF_FILTER_FLAG_SHARE_QUEUES (each gets its queue's datagrams; -EBUSY
#      when one did not ask; after one removes its part, its queue's are
#      the kernel's); a filter of process 1 refused to process 2 until
#      process 1 is killed; one process with VIs on both queues (vi_recv
#      -A 2) holding one filter on both.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build vi_recv

P1=9100
P2=9200
P3=9300
P4=9400
N=40
UDPTOOL=$REPO/tests/integration/progs/udptool.py

# check_flow TAG VI PORT TAGPREFIX N: the VI got exactly N datagrams, the
# payloads PREFIX-000000.. each once, all to PORT and nothing else.
check_flow()
{
	local tag=$1 vi=$2 port=$3 pfx=$4 n=$5 got want bad

	expect_eq "$tag vi$vi RX events" \
		"$(count_lines "$TMPD/$tag.out" "^RX vi=$vi ")" "$n"
	bad=$(grep "^RX vi=$vi " "$TMPD/$tag.out" |
		grep -Ev " dport=$port csum=1 payload=$pfx-[0-9]{6}\$" |
		head -n 3 || true)
	[[ -z "$bad" ]] || fail "$tag vi$vi: unexpected frames: $bad"
	got=$(grep "^RX vi=$vi " "$TMPD/$tag.out" |
		grep -o "payload=$pfx-[0-9]*" | sort | md5sum)
	want=$(for ((i = 0; i < n; i++)); do
		printf 'payload=%s-%06d\n' "$pfx" $i; done | sort | md5sum)
	expect_eq "$tag vi$vi payloads $pfx-* each once" "$got" "$want"
	expect_eq "$tag discard/no-desc events" \
		"$(count_lines "$TMPD/$tag.out" '^(DISCARD|NODESC|RXPART)')" 0
}

# ---- (a) ----------------------------------------------------------------
log "(a) two VIs in one process"
ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent

bg_start a "$NS_B" "$PROGS/vi_recv" -n 2 -t 60 "$IF_B"
bg_wait_line a '^READY' 10 || fail "vi_recv -n 2: $(cat "$TMPD/a.out" "$TMPD/a.err")"
expect_eq "(a) VI 0 allocation (queue)" \
	"$(field "$(grep '^ALLOC vi=0' "$TMPD/a.out")" rc)" 0
expect_eq "(a) VI 1 allocation (queue)" \
	"$(field "$(grep '^ALLOC vi=1' "$TMPD/a.out")" rc)" 0
bg_cmd a "add 0 udp:$IP_B:$P1"
expect_eq "(a) VI 0 filter_add udp:$IP_B:$P1" "$(field "$BG_REPLY" rc)" 0
bg_cmd a "add 1 udp:$IP_B:$P2"
expect_eq "(a) VI 1 filter_add udp:$IP_B:$P2" "$(field "$BG_REPLY" rc)" 0
bg_cmd a "add 1 udp:$IP_B:$P1"
expect_eq "(a) VI 1 adding VI 0's filter (same process)" \
	"$(field "$BG_REPLY" rc)" -16

ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P1 --count $N --tag A1 &
s1=$!
ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P2 --count $N --tag A2 &
s2=$!
wait $s1 $s2
wait_count "$TMPD/a.out" '^RX ' $((2 * N)) 10 ||
	fail "(a) got $(count_lines "$TMPD/a.out" '^RX ') of $((2 * N)) frames"
sleep 0.3
check_flow a 0 $P1 A1 $N
check_flow a 1 $P2 A2 $N
bg_stop a
expect_eq "(a) vi_recv exit status" "$BG_RC" 0

# ---- (b) ----------------------------------------------------------------
log "(b) two processes, single-queue veth"
bg_start b1 "$NS_B" "$PROGS/vi_recv" -t 60 "$IF_B"
bg_wait_line b1 '^READY' 10 || fail "process 1: $(cat "$TMPD/b1.out" "$TMPD/b1.err")"
bg_cmd b1 "add 0 udp:$IP_B:$P1"
expect_eq "(b) process 1 filter_add" "$(field "$BG_REPLY" rc)" 0

bg_start b2 "$NS_B" "$PROGS/vi_recv" -t 60 "$IF_B"
bg_wait_line b2 '^ALLOC' 10 || fail "process 2 printed nothing: $(cat "$TMPD/b2.err")"
bg_stop b2
expect_eq "(b) process 2 ef_vi_alloc_from_pd on the busy queue" \
	"$(field "$(grep '^ALLOC vi=0' "$TMPD/b2.out")" rc)" -16
expect_eq "(b) process 2 exit status (10: allocation failed, no crash)" \
	"$BG_RC" 10

ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P1 --count $N --tag B1
wait_count "$TMPD/b1.out" '^RX ' $N 10 ||
	fail "(b) process 1 got $(count_lines "$TMPD/b1.out" '^RX ') of $N after process 2's failed allocation"
sleep 0.3
check_flow b1 0 $P1 B1 $N
bg_stop b1
expect_eq "(b) process 1 exit status" "$BG_RC" 0
if ip -n "$NS_B" link show dev "$IF_B" | grep -q xdp; then
	fail "(b) XDP program left on $IF_B after both processes ended"
fi

# ---- (c) ----------------------------------------------------------------
log "(c) two processes, 2-queue veth, queues 0 and 1"
NS_QUEUES=2 ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
# XPS: CPU 0 sends on TX queue 0, CPU 1 on TX queue 1.
ns_a sh -c "echo 1 > /sys/class/net/$IF_A/queues/tx-0/xps_cpus &&
	echo 2 > /sys/class/net/$IF_A/queues/tx-1/xps_cpus" ||
	skip "cannot set XPS on the veth"
if (($(nproc) < 2)); then
	skip "needs 2 CPUs to steer flows to 2 queues with XPS"
fi

# send_by_queue PORT TAG0 TAG1: N datagrams to PORT from CPU 0 (RX queue 0
# of IF_B) tagged TAG0, then N from CPU 1 (queue 1) tagged TAG1.
send_by_queue()
{
	ns_a taskset -c 0 python3 "$UDPTOOL" send --dst "$IP_B" --port "$1" \
		--count $N --tag "$2"
	ns_a taskset -c 1 python3 "$UDPTOOL" send --dst "$IP_B" --port "$1" \
		--count $N --tag "$3"
}

# rx_q_packets Q: XDP packets seen on RX queue Q of IF_B (native mode).
rx_q_packets()
{
	ns_b ethtool -S "$IF_B" |
		sed -n "s/^ *rx_queue_$1_xdp_packets: //p"
}

# run_c MODE: both processes, both flows; results in c1.out / c2.out.
run_c()
{
	local mode=$1

	bg_start c1 "$NS_B" env ANYLOAD_XDP_MODE="$mode" ANYLOAD_LOG=2 \
		"$PROGS/vi_recv" -t 60 "$IF_B"
	bg_wait_line c1 '^READY' 10 || fail "(c) process 1: $(cat "$TMPD/c1.out" "$TMPD/c1.err")"
	bg_start c2 "$NS_B" env ANYLOAD_XDP_MODE="$mode" ANYLOAD_LOG=2 \
		"$PROGS/vi_recv" -S 2:1 -t 60 "$IF_B"
	bg_wait_line c2 '^(READY|ALLOC vi=0 rc=-)' 10 ||
		fail "(c) process 2: $(cat "$TMPD/c2.out" "$TMPD/c2.err")"
	expect_eq "(c/$mode) process 1 VI queue" \
		"$(field "$(grep '^ALLOC vi=0' "$TMPD/c1.out")" rc)" 0
	expect_eq "(c/$mode) process 2 VI queue (set member 1)" \
		"$(field "$(grep '^ALLOC vi=0' "$TMPD/c2.out")" rc)" 1
	bg_cmd c1 "add 0 udp:$IP_B:$P1"
	expect_eq "(c/$mode) process 1 filter_add udp:$IP_B:$P1" \
		"$(field "$BG_REPLY" rc)" 0
	bg_cmd c2 "add 0 udp:$IP_B:$P2"
	expect_eq "(c/$mode) process 2 filter_add udp:$IP_B:$P2" \
		"$(field "$BG_REPLY" rc)" 0
	bg_cmd c2 "add 0 udp:$IP_B:$P1"
	expect_eq "(c/$mode) process 2 adding process 1's filter" \
		"$(field "$BG_REPLY" rc)" -16
	bg_cmd c1 "add 0 udp:$IP_B:$P2"
	expect_eq "(c/$mode) process 1 adding process 2's filter" \
		"$(field "$BG_REPLY" rc)" -16

	ns_a taskset -c 0 python3 "$UDPTOOL" send --dst "$IP_B" --port $P1 \
		--count $N --tag C1
	ns_a taskset -c 1 python3 "$UDPTOOL" send --dst "$IP_B" --port $P2 \
		--count $N --tag C2
	wait_count "$TMPD/c1.out" '^RX ' $N 5 || true
	wait_count "$TMPD/c2.out" '^RX ' $N 5 || true
	sleep 0.3
}

# First the kernel's side of the claim: in native mode veth counts XDP
# packets per RX queue, so check that CPU i's traffic lands on queue i.
q0=$(rx_q_packets 0)
q1=$(rx_q_packets 1)
run_c native
d0=$(($(rx_q_packets 0) - ${q0:-0}))
d1=$(($(rx_q_packets 1) - ${q1:-0}))
log "native mode: RX queue 0 saw $d0 frames, queue 1 saw $d1"
((d0 >= N && d1 >= N)) || skip "XPS did not spread the flows over both queues (q0 +$d0, q1 +$d1)"
check_flow c1 0 $P1 C1 $N
check_flow c2 0 $P2 C2 $N

# A filter shared across queues (EF_FILTER_FLAG_SHARE_QUEUES): each
# process gets what arrives on its queue. Sharing needs both to ask.
log "(c/native) one filter, shared by the processes on queues 0 and 1"
bg_cmd c1 "sadd 0 udp:$IP_B:$P3"
expect_eq "(c) process 1 shared filter_add udp:$IP_B:$P3" "$(field "$BG_REPLY" rc)" 0
bg_cmd c2 "add 0 udp:$IP_B:$P3"
expect_eq "(c) process 2 adding it without sharing" "$(field "$BG_REPLY" rc)" -16
bg_cmd c2 "sadd 0 udp:$IP_B:$P3"
expect_eq "(c) process 2 shared filter_add udp:$IP_B:$P3" "$(field "$BG_REPLY" rc)" 0
s2id=$(field "$BG_REPLY" id)
bg_cmd c2 "sadd 0 udp:$IP_B:$P3"
expect_eq "(c) process 2 adding it twice" "$(field "$BG_REPLY" rc)" -17
send_by_queue $P3 S0 S1
wait_count "$TMPD/c1.out" "payload=S0-" $N 5 || true
wait_count "$TMPD/c2.out" "payload=S1-" $N 5 || true
sleep 0.3
expect_eq "(c) queue 0's datagrams to process 1" \
	"$(count_lines "$TMPD/c1.out" "^RX vi=0 .* dport=$P3 csum=1 payload=S0-")" $N
expect_eq "(c) queue 1's datagrams to process 2" \
	"$(count_lines "$TMPD/c2.out" "^RX vi=0 .* dport=$P3 csum=1 payload=S1-")" $N
expect_eq "(c) queue 1's datagrams to process 1" \
	"$(count_lines "$TMPD/c1.out" 'payload=S1-')" 0
expect_eq "(c) queue 0's datagrams to process 2" \
	"$(count_lines "$TMPD/c2.out" 'payload=S0-')" 0
# Process 2 lets go: queue 1's datagrams are the kernel's (counted as
# matched on a queue without an owner), queue 0's still process 1's.
bg_cmd c2 "del $s2id"
expect_eq "(c) process 2 removes its share" "$(field "$BG_REPLY" rc)" 0
send_by_queue $P3 T0 T1
wait_count "$TMPD/c1.out" "payload=T0-" $N 5 || true
sleep 0.3
expect_eq "(c) after the removal, queue 0's to process 1" \
	"$(count_lines "$TMPD/c1.out" 'payload=T0-')" $N
expect_eq "(c) after the removal, queue 1's to nobody (the kernel's)" \
	"$(( $(count_lines "$TMPD/c1.out" 'payload=T1-') + \
	     $(count_lines "$TMPD/c2.out" 'payload=T1-') ))" 0
# A holder that dies (SIGKILL) gives up its part: a filter that process 1
# held on queue 0 without sharing is refused to process 2 while process 1
# lives, and is process 2's on queue 1 once it is dead; queue 0's
# datagrams are then the kernel's.
bg_cmd c1 "add 0 udp:$IP_B:$P4"
expect_eq "(c) process 1 filter_add udp:$IP_B:$P4 (not shared)" "$(field "$BG_REPLY" rc)" 0
bg_cmd c2 "add 0 udp:$IP_B:$P4"
expect_eq "(c) process 2 adding it while process 1 lives" "$(field "$BG_REPLY" rc)" -16
bg_kill9 c1
bg_cmd c2 "add 0 udp:$IP_B:$P4"
expect_eq "(c) process 2 adding it after process 1 was killed" "$(field "$BG_REPLY" rc)" 0
send_by_queue $P4 K0 K1
wait_count "$TMPD/c2.out" "payload=K1-" $N 5 || true
sleep 0.3
expect_eq "(c) queue 1's datagrams to process 2" \
	"$(count_lines "$TMPD/c2.out" "^RX vi=0 .* dport=$P4 csum=1 payload=K1-")" $N
expect_eq "(c) queue 0's datagrams to process 2 (the kernel's)" \
	"$(count_lines "$TMPD/c2.out" 'payload=K0-')" 0
bg_stop c2
expect_eq "(c/native) process 2 exit status" "$BG_RC" 0

# One process with VIs on both queues (as a VI set's members) holds one
# filter on both without asking to share: each VI gets its queue's.
log "(c/native) one process, VIs on queues 0 and 1, one filter on both"
bg_start c3 "$NS_B" env ANYLOAD_XDP_MODE=native "$PROGS/vi_recv" -A 2 \
	-t 60 "$IF_B"
bg_wait_line c3 '^READY' 10 || fail "(c) vi_recv -A 2: $(cat "$TMPD/c3.out" "$TMPD/c3.err")"
expect_eq "(c) VI 1's queue" "$(field "$(grep '^ALLOC vi=1' "$TMPD/c3.out")" rc)" 1
bg_cmd c3 "add 0 udp:$IP_B:$P3"
expect_eq "(c) VI 0 filter_add udp:$IP_B:$P3" "$(field "$BG_REPLY" rc)" 0
bg_cmd c3 "add 1 udp:$IP_B:$P3"
expect_eq "(c) VI 1 (same process, queue 1) adds it too" "$(field "$BG_REPLY" rc)" 0
send_by_queue $P3 U0 U1
wait_count "$TMPD/c3.out" "payload=U[01]-" $((2 * N)) 5 || true
sleep 0.3
expect_eq "(c) queue 0's datagrams to VI 0" \
	"$(count_lines "$TMPD/c3.out" "^RX vi=0 .* dport=$P3 csum=1 payload=U0-")" $N
expect_eq "(c) queue 1's datagrams to VI 1" \
	"$(count_lines "$TMPD/c3.out" "^RX vi=1 .* dport=$P3 csum=1 payload=U1-")" $N
expect_eq "(c) datagrams of the other queue" \
	"$(count_lines "$TMPD/c3.out" "^RX vi=0 .*payload=U1-|^RX vi=1 .*payload=U0-")" 0
bg_stop c3
expect_eq "(c/native) vi_recv -A 2 exit status" "$BG_RC" 0

# Now what users get by default.
run_c auto
log "default mode: $(grep -h 'attached XDP' "$TMPD/c1.err" || echo 'see ANYLOAD_LOG')"
check_flow c1 0 $P1 C1 $N
check_flow c2 0 $P2 C2 $N
bg_stop c2
expect_eq "(c) process 2 exit status" "$BG_RC" 0
bg_stop c1
expect_eq "(c) process 1 exit status" "$BG_RC" 0
if ip -n "$NS_B" link show dev "$IF_B" | grep -q xdp; then
	fail "(c) XDP program left on $IF_B after both processes ended"
fi
echo "two_vis: PASS"
