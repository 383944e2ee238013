#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_sigkill: a process with AF_PACKET VIs killed with SIGKILL never
# leaves anything that keeps swallowing its flows. In tcx mode (Linux >=
# 6.6) each VI's tc program hangs on a bpf_link of its process, so the
# kernel detaches it when the process dies; in clsact mode one shared
# filter counts a VI's filters only while its process's heartbeats are
# fresh (500 ms). Three vi_recv processes on IF_B (ANYLOAD_BACKEND=
# afpacket): X holds udp:IP_B:Q for the whole test, Y holds udp:IP_B:P,
# and a kernel socket is bound to P as well.
#  (a) while Y lives, the datagrams to P reach Y and not the kernel socket;
#      two tcx programs are on the interface (clsact: the one filter);
#  (b) Y is killed with SIGKILL while a sender in NS_A sends a datagram
#      every 2 ms, each carrying its send time: the first one the kernel
#      socket gets was sent less than KILL_MS_MAX (1000) ms after the kill
#      (the measured time is printed), and from then on the kernel socket
#      gets every datagram; right after the kill one tcx program is left
#      (X's; clsact: the filter) and X still gets its flow;
#  (c) a new process Z reclaims Y's dead slot (logged), adds Y's filter
#      without -EBUSY and gets the datagrams to P, the kernel socket none;
#  (d) a process restarted at once after a SIGKILL (no other VI on the
#      interface) allocates, takes the same filter and receives;
#  (e) when every process has exited cleanly, no anyload tc program is
#      left and P's datagrams reach the kernel socket.
# Runs in the kernel's default tc mode, or in the one ANYLOAD_AFPACKET_TC
# names (afpacket_clsact.sh runs it in clsact).
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/afpacket_test.sh"

itest_init
itest_build vi_recv
afp_init
ns_setup_pair
export ANYLOAD_BACKEND=afpacket
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent

P=9610
Q=9611
N=30
KILL_MS_MAX=${KILL_MS_MAX:-1000}
UDPTOOL=$REPO/tests/integration/progs/udptool.py

send()
{
	ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port "$1" --count $N \
		--tag "$2"
}

start_vi()
{
	local tag=$1 port=$2

	bg_start "$tag" "$NS_B" env ANYLOAD_LOG=2 "$PROGS/vi_recv" -t 60 "$IF_B"
	bg_wait_line "$tag" '^(READY|ALLOC vi=0 rc=-)' 10 ||
		fail "$tag printed nothing: $(cat "$TMPD/$tag.err")"
	expect_eq "$tag ef_vi_alloc_from_pd" \
		"$(field "$(grep '^ALLOC vi=0' "$TMPD/$tag.out")" rc)" 0
	bg_wait_line "$tag" '^READY' 10 || fail "$tag did not get ready"
	bg_cmd "$tag" "add 0 udp:$IP_B:$port"
	expect_eq "$tag filter_add udp:$IP_B:$port" "$(field "$BG_REPLY" rc)" 0
}

bg_start kp "$NS_B" python3 "$UDPTOOL" recv --bind "$IP_B" --port $P --secs 60
bg_wait_line kp '^READY' 10 || fail "kernel receiver did not start"

log "(a) X holds $Q, Y holds $P"
start_vi x $Q
start_vi y $P
afp_expect_claims "(a) anyload tc programs" "$NS_B" "$IF_B" 2
send $P A
wait_count "$TMPD/y.out" '^RX .*payload=A-' $N 10 ||
	fail "(a) Y got $(count_lines "$TMPD/y.out" '^RX ') of $N"
sleep 0.2
expect_eq "(a) kernel socket while Y lives" \
	"$(count_lines "$TMPD/kp.out" '^GOT')" 0

log "(b) kill -9 Y under a datagram every 2 ms"
# Payload "K-<seq>-<send time>": the kernel socket's first one dates the
# hand-back.
ns_a python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(750):
    s.sendto(b'K-%06d-%.6f' % (i, time.time()), ('$IP_B', $P))
    time.sleep(0.002)
" &
SENDER=$!
sleep 0.5
t_kill=$(date +%s.%N)
bg_kill9 y
expect_eq "(b) Y killed by SIGKILL (128+9)" "$BG_RC" 137
afp_expect_claims "(b) anyload tc programs right after the kill" \
	"$NS_B" "$IF_B" 1
wait "$SENDER"
sleep 0.2
first=$(grep -m1 -o '^GOT K-[0-9]*-[0-9.]*' "$TMPD/kp.out" || true)
[[ -n "$first" ]] || fail "(b) the kernel socket got nothing after the kill"
t_first=${first##*-}
ms=$(awk -v a="$t_kill" -v b="$t_first" 'BEGIN { printf "%d", (b - a) * 1000 }')
log "first datagram back at the kernel socket: sent ${ms} ms after the kill ($AFP_MODE)"
((ms < KILL_MS_MAX)) ||
	fail "(b) flow returned to the kernel ${ms} ms after the kill (limit $KILL_MS_MAX)"
seq_first=$(sed 's/^GOT K-0*\([0-9]*\)-.*/\1/' <<<"$first")
expect_eq "(b) every datagram from the first one on at the kernel socket" \
	"$(grep -c '^GOT K-' "$TMPD/kp.out")" $((750 - seq_first))
send $Q XQ
wait_count "$TMPD/x.out" '^RX .*payload=XQ-' $N 10 ||
	fail "(b) X got $(count_lines "$TMPD/x.out" 'payload=XQ-') of $N after Y's death"

log "(c) Z reclaims Y's slot and filter"
start_vi z $P
grep -q 'reclaiming filter slot' "$TMPD/z.err" ||
	fail "(c) Z did not reclaim the dead slot: $(cat "$TMPD/z.err")"
log "ok: $(grep -m1 'reclaiming filter slot' "$TMPD/z.err")"
before=$(count_lines "$TMPD/kp.out" '^GOT')
send $P C
wait_count "$TMPD/z.out" '^RX .*payload=C-' $N 10 ||
	fail "(c) Z got $(count_lines "$TMPD/z.out" 'payload=C-') of $N"
sleep 0.2
expect_eq "(c) kernel socket while Z holds $P" \
	"$(count_lines "$TMPD/kp.out" '^GOT')" "$before"
bg_stop z
expect_eq "(c) Z exit status" "$BG_RC" 0
bg_stop x
expect_eq "(c) X exit status" "$BG_RC" 0
afp_expect_claims "(c) anyload tc programs after X and Z exited" \
	"$NS_B" "$IF_B" 0

log "(d) restart at once after a SIGKILL"
start_vi w1 $P
bg_kill9 w1
start_vi w2 $P
send $P D
wait_count "$TMPD/w2.out" '^RX .*payload=D-' $N 10 ||
	fail "(d) restarted VI got $(count_lines "$TMPD/w2.out" 'payload=D-') of $N"
bg_stop w2
expect_eq "(d) restarted program exit status" "$BG_RC" 0

log "(e) nothing left"
afp_expect_claims "(e) anyload tc programs" "$NS_B" "$IF_B" 0
send $P E
wait_count "$TMPD/kp.out" '^GOT E-' $N 10 ||
	fail "(e) kernel socket got $(count_lines "$TMPD/kp.out" '^GOT E-') of $N"
bg_stop kp
echo "afpacket_sigkill: PASS"
