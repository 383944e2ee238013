#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_signals: signals and exit around blocking calls on accelerated
# UDP sockets (issue 7), with progs/preload_sig.c in netns+veth, under
# `anyload --interface=IF_A` in NS_A, peers on the kernel in NS_B. Every
# anyload run prints its counters at exit, and the traffic after each
# ordeal must have gone through the stack (check_accel). Checks:
#   1. jump: a SIGALRM handler siglongjmp()s out of a blocking recv,
#      recvfrom, recvmsg, read, poll, ppoll, select and epoll_wait on the
#      socket, 10 times each, while a second thread polls the socket (it
#      must keep getting through the library: no lock left held); then the
#      program echoes 20 datagrams through the stack. Once with the default
#      profile (the calls sleep) and once with the latency profile (they
#      spin, so the signal often lands inside the library's locked steps).
#   2. intr: the program's own handlers run; recv and epoll_wait give
#      EINTR for a handler without SA_RESTART, poll gives EINTR even with
#      SA_RESTART, recv goes on with SA_RESTART and returns the datagram
#      sent after the handler ran, and SIGINT with its default action
#      kills the program (signal 2): the output and the exit status are the
#      kernel's, byte for byte, with the calls sleeping (default profile)
#      and with them spinning all along (EF_POLL_USEC=-1); then the port is
#      the kernel's again.
#   3. exit: exit(7) and _exit(9) from main while three threads are
#      blocked in recv, epoll_wait and recvfrom on accelerated sockets: no
#      hang, no crash, the status is kept, exit() prints the counters (the
#      library's exit handler ran) and leaves no XDP program on IF_A, and
#      after either a kernel socket on the port gets its datagrams.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
itest_build preload_sig
SIG=$PROGS/preload_sig
ns_setup_pair

# port_back PORT WHAT: a kernel socket bound to PORT in NS_A now gets the
# datagrams sent to it (the dead program's filter no longer claims them;
# after a death by signal or _exit the XDP program itself may stay until
# the next stack on the interface reclaims it, as for kill -9).
port_back()
{
	bg_start kr "$NS_A" python3 "$REPO/tests/integration/progs/udptool.py" \
		recv --port "$1" --secs 10
	bg_wait_line kr '^READY' 10 || fail "kernel receiver not ready"
	udp_send "$NS_B" "$IP_A" "$1" "back-$1"
	wait_count "$TMPD/kr.out" "^GOT back-$1 " 1 5 ||
		fail "$2: the kernel socket did not get port $1's datagram"
	bg_stop kr
	log "ok: $2: port $1 is the kernel's again"
}

for profile in default latency; do
	log "---- jump out of blocking calls, profile $profile"
	bg_start jmp "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 timeout 40 "$AL" \
		--profile=$profile --interface="$IF_A" "$SIG" jump 9700 10 20
	bg_wait_line jmp '^READY' 30 ||
		fail "no READY: $(cat "$TMPD/jmp.out" "$TMPD/jmp.err")"
	expect_eq "jumps ($profile)" "$(grep '^JUMPED' "$TMPD/jmp.out")" \
		"JUMPED n=80"
	got=$(ns_b timeout 20 python3 "$PROG" client --dst "$IP_A" \
		--port 9700 --mode blocking --count 20 --secs 15 || true)
	expect_eq "echo after the jumps ($profile)" "$got" "OK n=20"
	bg_wait jmp 10
	expect_eq "exit status ($profile)" "$BG_RC" 0
	check_accel "$TMPD/jmp.err" 20 20
done

# intr_run TAG PREFIX...: run `preload_sig intr` in NS_A (under PREFIX),
# send the datagram when it asks, leave its output in TMPD/TAG.out.
intr_run()
{
	local tag=$1

	shift
	bg_start "$tag" "$NS_A" "$@" "$SIG" intr 9710
	bg_wait_line "$tag" '^SEND' 20 ||
		fail "$tag: no SEND: $(cat "$TMPD/$tag.out" "$TMPD/$tag.err")"
	sleep 0.2
	udp_send "$NS_B" "$IP_A" 9710 hello
	bg_wait "$tag" 20
	expect_eq "$tag: killed by SIGINT (128+2)" "$BG_RC" 130
}
log "---- signals during blocking calls: kernel, then anyload"
intr_run ikern
cat "$TMPD/ikern.out"
expect_eq "kernel run's last line" "$(tail -n 1 "$TMPD/ikern.out")" INT
# Once sleeping in the calls (default profile), once spinning in them all
# along (EF_POLL_USEC=-1: no system call for the signal to interrupt).
for spin in 0 -1; do
	intr_run iany env ANYLOAD_STATS_AT_EXIT=1 EF_POLL_USEC=$spin "$AL" \
		--interface="$IF_A"
	expect_eq "anyload's output vs the kernel's (spin $spin)" \
		"$(cat "$TMPD/iany.out")" "$(cat "$TMPD/ikern.out")"
	grep -q 'UDP not accelerated\|back to the kernel' "$TMPD/iany.err" &&
		fail "socket not accelerated: $(cat "$TMPD/iany.err")"
done
port_back 9710 "after SIGINT"

for how in exit _exit; do
	log "---- $how while threads block in the library"
	bg_start ex "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 timeout 30 "$AL" \
		--interface="$IF_A" "$SIG" exit 9720 10 "$how"
	bg_wait_line ex '^READY' 15 || fail "no READY: $(cat "$TMPD/ex.err")"
	got=$(ns_b timeout 20 python3 "$PROG" client --dst "$IP_A" \
		--port 9720 --mode blocking --count 10 --secs 15 || true)
	expect_eq "echo before $how" "$got" "OK n=10"
	bg_wait ex 15
	grep -q '^THREADS' "$TMPD/ex.out" || fail "no THREADS line"
	grep -q ERROR "$TMPD/ex.out" && fail "$(cat "$TMPD/ex.out")"
	if [[ $how == exit ]]; then
		expect_eq "exit status of exit(7)" "$BG_RC" 7
		check_accel "$TMPD/ex.err" 10 10
		no_xdp_left "$NS_A" "$IF_A" "after exit()"
	else
		expect_eq "exit status of _exit(9)" "$BG_RC" 9
	fi
	port_back 9720 "after $how"
done
log "PASS"
