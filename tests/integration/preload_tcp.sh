#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp: TCP acceleration by libanyload.so in netns+veth with an
# unmodified Python program (progs/preload_tcp_prog.py). NS_A's programs
# run under `anyload --interface=IF_A`, NS_B's on the kernel. Every
# anyload run prints its counters at exit (ANYLOAD_STATS_AT_EXIT=1) and
# each check requires that the connection went through the stack
# (check_tcp: tcp_accelerated >= 1, tcp_rx_bytes and tcp_tx_bytes at
# least the bytes each way), so a silent fallback to the kernel fails the
# test. Data is checked by SHA-256 each way. Checks, in each mode
# (blocking, nonblock, select, poll, epoll, epollet, asyncio; the epoll
# modes also check EPOLLRDHUP and EPOLLONESHOT at the end of a stream):
#   1. server under anyload, kernel client, 2 connections of 200 kB each
#      way (the listener's and the accepted connections' fate lines);
#   2. client under anyload (non-blocking connect with EINPROGRESS, POLLOUT
#      and SO_ERROR in every mode but blocking and asyncio; the blocking
#      mode checks getpeername, TCP_NODELAY, SO_KEEPALIVE, TCP_INFO and
#      FIONREAD) against a kernel server.
# preload_tcp_more.sh has the rest.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
BYTES=200000
ns_setup_pair

OK="OK bytes=$BYTES sha="
for mode in blocking nonblock select poll epoll epollet asyncio; do
	log "---- python TCP server under anyload, mode $mode"
	tcp_srv_start srv "$mode" 2 "$AL" --interface="$IF_A"
	for i in 1 2; do
		got=$(ns_b timeout 30 python3 "$TPROG" client --dst "$IP_A" \
			--port 9700 --mode blocking --bytes $BYTES --secs 20 || true)
		[[ "$got" == "$OK"* ]] ||
			fail "kernel client vs anyload server ($mode): $got"
	done
	tcp_srv_done srv 2
	grep -q "TCP listener 0.0.0.0:9700 accelerated on $IF_A" \
		"$TMPD/srv.err" || fail "no fate line: $(cat "$TMPD/srv.err")"
	grep -q "TCP connection from $IP_B:[0-9]* accepted, accelerated" \
		"$TMPD/srv.err" || fail "no accept line: $(cat "$TMPD/srv.err")"
	check_tcp "$TMPD/srv.err" $((2 * BYTES)) $((2 * BYTES))

	log "---- python TCP client under anyload, mode $mode"
	bg_start ksrv "$NS_B" python3 "$TPROG" server --port 9701 \
		--mode blocking --conns 1 --bytes $BYTES --secs 20
	bg_wait_line ksrv '^READY' 15 || fail "kernel server not ready"
	got=$(ns_a env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 timeout 30 "$AL" \
		--interface="$IF_A" python3 "$TPROG" client --dst "$IP_B" \
		--port 9701 --mode "$mode" --bytes $BYTES --secs 20 \
		2>"$TMPD/cl.err" || true)
	[[ "$got" == "$OK"* ]] ||
		fail "anyload client vs kernel server ($mode): $got $(tail -n 5 "$TMPD/cl.err")"
	bg_wait ksrv 10
	grep -q "TCP $IP_A:[0-9]* -> $IP_B:9701 accelerated on $IF_A" \
		"$TMPD/cl.err" || fail "no fate line: $(cat "$TMPD/cl.err")"
	check_tcp "$TMPD/cl.err" $BYTES $BYTES
done

log "PASS"
