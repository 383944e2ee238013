#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_events: readiness and timeout semantics of accelerated UDP
# sockets against the kernel's (issue 7), with progs/preload_evt.c in
# netns+veth: the same program runs in NS_A on the kernel, then under
# `anyload --interface=IF_A`, each time against a fresh kernel peer in
# NS_B that sends datagrams on request, and both runs must print the same
# lines:
#   - EPOLLET: one event per arrival, none while datagrams stay queued or
#     after a read, one after EPOLL_CTL_MOD with data queued; EPOLLONESHOT
#     (no event for a new arrival until MOD re-arms); level-triggered;
#   - recvmmsg: the timeout checked after each datagram and updated with
#     the time left; MSG_WAITFORONE;
#   - select: the timeval updated with the time left (0 after a timeout);
#   - ppoll, pselect, epoll_pwait: the sigmask in force during the call
#     only (a pending SIGUSR1 it unblocks interrupts the call, one it keeps
#     blocked does not, and it is blocked again afterwards).
# The anyload run's 13 datagrams received and 12 sent must have gone
# through the stack.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
itest_build preload_evt
EVT=$PROGS/preload_evt
ns_setup_pair

# evt_run TAG PREFIX...: the program in NS_A under PREFIX, a new peer.
evt_run()
{
	local tag=$1

	shift
	bg_start peer "$NS_B" "$EVT" peer 9741
	bg_wait_line peer '^READY' 10 || fail "peer not ready"
	ns_a timeout 40 "$@" "$EVT" run "$IP_B" 9741 9740 \
		>"$TMPD/$tag.out" 2>"$TMPD/$tag.err" ||
		fail "$tag: exit $?: $(cat "$TMPD/$tag.out" "$TMPD/$tag.err")"
	udp_send "$NS_B" "$IP_B" 9741 QUIT
	bg_wait peer 5
	grep -q '^DONE' "$TMPD/$tag.out" || fail "$tag: no DONE"
}

log "---- on the kernel"
evt_run kern
cat "$TMPD/kern.out"
log "---- under anyload"
evt_run any env ANYLOAD_STATS_AT_EXIT=1 "$AL" --interface="$IF_A"
if ! diff -u "$TMPD/kern.out" "$TMPD/any.out"; then
	fail "anyload's lines differ from the kernel's (above)"
fi
log "ok: the same $(wc -l <"$TMPD/kern.out") lines"
check_accel "$TMPD/any.err" 13 12
log "PASS"
