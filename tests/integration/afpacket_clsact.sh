#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_clsact: the AF_PACKET backend's mode for kernels without tcx
# (forced here with ANYLOAD_AFPACKET_TC=clsact): one shared clsact ingress
# filter, and per-slot heartbeats that a thread of each process refreshes.
#  (a) afpacket_filters.sh, afpacket_sigkill.sh and afpacket_tx.sh pass in
#      this mode (claims keep the kernel from answering; a killed
#      process's flows come back within 1 s; transmit);
#  (b) a clsact qdisc that was there before (with a foreign filter on it)
#      stays when the last VI goes; only anyload's filter is removed;
#  (c) a qdisc anyload made goes with the last VI;
#  (d) when the last process is killed, the filter stays but claims
#      nothing once the heartbeats are stale (the kernel gets the flow);
#      the next VI takes the filter over and its clean exit removes filter
#      and qdisc;
#  (e) a stopped process (SIGSTOP) has its flows go to the kernel after the
#      heartbeat timeout (and not also to its VI's ring), and back to its
#      VI after SIGCONT.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/afpacket_test.sh"

itest_init
itest_build vi_recv
export ANYLOAD_AFPACKET_TC=clsact ANYLOAD_BACKEND=afpacket
afp_init
DIR=$(cd "$(dirname "$0")" && pwd)

log "(a) the AF_PACKET tests in clsact mode"
for t in afpacket_filters afpacket_sigkill afpacket_tx; do
	rc=0
	BUILD="$BUILD" timeout --kill-after=5 60 bash "$DIR/$t.sh" \
		</dev/null >"$TMPD/$t.log" 2>&1 || rc=$?
	if ((rc != 0)); then
		tail -n 25 "$TMPD/$t.log"
		fail "(a) $t in clsact mode: exit $rc"
	fi
	log "ok: $t in clsact mode"
	grep -h 'first datagram back' "$TMPD/$t.log" || true
done

ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
P=9630
N=20
UDPTOOL=$REPO/tests/integration/progs/udptool.py

clsact_qdisc()
{
	ip netns exec "$NS_B" tc qdisc show dev "$IF_B" | grep -c 'qdisc clsact' ||
		true
}

noports()
{
	ip netns exec "$NS_B" awk '
		$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "Udp:" && h { print $col["NoPorts"]; exit }' /proc/net/snmp
}

start_vi()
{
	local tag=$1

	bg_start "$tag" "$NS_B" env ANYLOAD_LOG=2 "$PROGS/vi_recv" -t 60 "$IF_B"
	bg_wait_line "$tag" '^READY' 10 ||
		fail "$tag did not start: $(cat "$TMPD/$tag.out" "$TMPD/$tag.err")"
	bg_cmd "$tag" "add 0 udp:$IP_B:$P"
	expect_eq "$tag filter_add" "$(field "$BG_REPLY" rc)" 0
}

send()
{
	ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P --count $N \
		--tag "$1"
}

log "(b) a clsact qdisc that was there before"
ip netns exec "$NS_B" tc qdisc add dev "$IF_B" clsact
ip netns exec "$NS_B" tc filter add dev "$IF_B" ingress prio 10 handle 7 \
	bpf bytecode '1,6 0 0 0,'
start_vi b
expect_eq "(b) anyload tc programs" "$(afp_claims "$NS_B" "$IF_B")" 1
send B
wait_count "$TMPD/b.out" '^RX .*payload=B-' $N 10 ||
	fail "(b) VI got $(count_lines "$TMPD/b.out" 'payload=B-') of $N"
bg_stop b
expect_eq "(b) exit status" "$BG_RC" 0
expect_eq "(b) anyload tc programs after the exit" \
	"$(afp_claims "$NS_B" "$IF_B")" 0
expect_eq "(b) the clsact qdisc stays" "$(clsact_qdisc)" 1
expect_eq "(b) the foreign filter stays" \
	"$(ip netns exec "$NS_B" tc filter show dev "$IF_B" ingress |
		grep -c 'handle 0x7 ' || true)" 1
ip netns exec "$NS_B" tc qdisc del dev "$IF_B" clsact

log "(c) a qdisc anyload made"
start_vi c
expect_eq "(c) clsact qdisc while the VI lives" "$(clsact_qdisc)" 1
bg_stop c
expect_eq "(c) exit status" "$BG_RC" 0
expect_eq "(c) clsact qdisc after the exit" "$(clsact_qdisc)" 0

log "(d) the last process killed"
start_vi d1
n0=$(noports)
bg_kill9 d1
expect_eq "(d) the filter stays after the kill" \
	"$(afp_claims "$NS_B" "$IF_B")" 1
sleep 0.7	# past the heartbeat timeout
send D1
sleep 0.3
expect_eq "(d) datagrams at NS_B's kernel (Udp NoPorts)" \
	"$(($(noports) - n0))" $N
start_vi d2
grep -q 'reclaiming filter slot' "$TMPD/d2.err" ||
	fail "(d) no reclaim: $(cat "$TMPD/d2.err")"
send D2
wait_count "$TMPD/d2.out" '^RX .*payload=D2-' $N 10 ||
	fail "(d) VI got $(count_lines "$TMPD/d2.out" 'payload=D2-') of $N"
bg_stop d2
expect_eq "(d) exit status" "$BG_RC" 0
expect_eq "(d) anyload tc programs after the exit" \
	"$(afp_claims "$NS_B" "$IF_B")" 0
expect_eq "(d) clsact qdisc after the exit" "$(clsact_qdisc)" 0

log "(e) a stopped process"
start_vi e
kill -STOP "${BG_PID[e]}"
sleep 0.7
n0=$(noports)
send E1
sleep 0.3
expect_eq "(e) datagrams at NS_B's kernel while stopped" \
	"$(($(noports) - n0))" $N
kill -CONT "${BG_PID[e]}"
sleep 0.3
send E2
wait_count "$TMPD/e.out" '^RX .*payload=E2-' $N 10 ||
	fail "(e) VI got $(count_lines "$TMPD/e.out" 'payload=E2-') of $N after SIGCONT"
expect_eq "(e) E1 datagrams at the VI" \
	"$(count_lines "$TMPD/e.out" 'payload=E1-')" 0
bg_stop e
expect_eq "(e) exit status" "$BG_RC" 0
expect_eq "(e) anyload tc programs after the exit" \
	"$(afp_claims "$NS_B" "$IF_B")" 0
echo "afpacket_clsact: PASS"
