#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# filter_park: a filter handed from one process to another through a
# parked XDP entry (anyload_vi_filter_park, bpf/filter_shared.h), on a
# one-queue veth, against a kernel UDP socket bound to the same port:
#   1. process 1 holds udp:IP_B:P: its datagrams reach its VI, none the
#      kernel socket;
#   2. process 1 parks the filter for 20 s and exits (its queue is free):
#      datagrams sent now reach nobody (dropped by XDP, not the kernel's);
#   3. process 2 makes a VI on the queue and adds the same filter (the
#      parked entry is its to take, without sharing flags): it gets the
#      datagrams, the kernel socket none;
#   4. process 2 parks it for 1 s and exits (the XDP program stays for the
#      parked filter): once that second has passed the kernel socket gets
#      the datagrams again (bounded wait), and the next VI's exit removes
#      the program;
#   5. bad calls: a park of more than 60 s is refused (-EINVAL) and
#      leaves the filter in place; parking a removed filter is -EINVAL.
# Nothing is left on the interface afterwards.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build vi_recv
P=9650
N=20
UDPTOOL=$REPO/tests/integration/progs/udptool.py
ns_setup_pair

bg_start kq "$NS_B" python3 "$UDPTOOL" recv --bind "$IP_B" --port $P --secs 90
bg_wait_line kq '^READY' 10 || fail "kernel receiver on $P did not start"

send()
{
	ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P --count $N --tag "$1"
}

# start_vi TAG: vi_recv on IF_B, ready.
start_vi()
{
	bg_start "$1" "$NS_B" env ANYLOAD_LOG=2 "$PROGS/vi_recv" -t 80 "$IF_B"
	bg_wait_line "$1" '^READY' 10 ||
		fail "vi_recv $1 did not start: $(cat "$TMPD/$1.out" "$TMPD/$1.err")"
}

# got TAG WHAT: the N datagrams tagged WHAT reach vi_recv TAG.
got()
{
	wait_count "$TMPD/$1.out" "payload=$2-" $N 10 ||
		fail "$1 got $(count_lines "$TMPD/$1.out" "payload=$2-") of $N $2"
}

# hold TAG WHAT: vi_recv TAG adds udp:IP_B:P (its id in ID) and gets the N
# datagrams tagged WHAT sent then.
hold()
{
	bg_cmd "$1" "add 0 udp:$IP_B:$P"
	expect_eq "$1 filter_add udp:$IP_B:$P" "$(field "$BG_REPLY" rc)" 0
	ID=$(field "$BG_REPLY" id)
	send "$2"
	got "$1" "$2"
}

log "---- 1. process 1 holds udp:$IP_B:$P"
start_vi p1
hold p1 A
id1=$ID

log "---- 5a. a park of more than 60 s is refused, the filter stays"
bg_cmd p1 "park $id1 60001"
expect_eq "park for 60001 ms" "$(field "$BG_REPLY" rc)" -22
send A2
got p1 A2

log "---- 2. process 1 parks it (20 s) and exits"
bg_cmd p1 "park $id1 20000"
expect_eq "process 1 park" "$(field "$BG_REPLY" rc)" 0
bg_cmd p1 "park $id1 1000"
expect_eq "parking it again" "$(field "$BG_REPLY" rc)" -22
bg_cmd p1 quit
bg_wait p1 10
expect_eq "process 1 exit" "$BG_RC" 0
send B
sleep 0.5

log "---- 3. process 2 takes the parked filter"
start_vi p2
hold p2 C
id2=$ID
expect_eq "datagrams sent while parked that reached the kernel socket" \
	"$(count_lines "$TMPD/kq.out" '^GOT B-')" 0
expect_eq "... or process 2" "$(count_lines "$TMPD/p2.out" 'payload=B-')" 0
expect_eq "kernel socket's datagrams while a process held the filter" \
	"$(count_lines "$TMPD/kq.out" '^GOT [AC]')" 0

log "---- 4. process 2 parks it for 1 s and exits: then the kernel's again"
bg_cmd p2 "park $id2 1000"
expect_eq "process 2 park" "$(field "$BG_REPLY" rc)" 0
bg_cmd p2 quit
bg_wait p2 10
expect_eq "process 2 exit" "$BG_RC" 0
got=0
for ((i = 0; i < 20 && got == 0; i++)); do
	send "D$i"
	sleep 0.5
	got=$(count_lines "$TMPD/kq.out" '^GOT D')
done
((got > 0)) || fail "the kernel socket got nothing 10 s after the parking ended"
log "the kernel socket got datagrams again after $i rounds of $N"
# The program stayed for the parked filter; the next VI's exit removes it.
start_vi p3
bg_cmd p3 quit
bg_wait p3 10
if ip -n "$NS_B" link show dev "$IF_B" | grep -q xdp; then
	fail "an XDP program is left on $IF_B"
fi
log "PASS"
