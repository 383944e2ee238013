#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_more: more TCP through libanyload.so in netns+veth with
# progs/preload_tcp_prog.py (as preload_tcp.sh: counters at exit prove
# the stack carried the bytes, SHA-256 each way):
#   1. both ends under anyload (NS_B's on IF_B);
#   2. an accelerated listener also takes a loopback connection (through
#      its kernel socket) next to an accelerated one;
#   3. sendfile and splice through an accelerated connection;
#   4. fork after listen and accept (forkserver), ANYLOAD_TCP_HANDOVER=1:
#      the listener is handed to the kernel and serves the child's
#      connection, the accelerated connection is handed to the kernel too
#      (the parent serves it after the fork; the child's getpeername and
#      MSG_PEEK on it work); with
#      ANYLOAD_TCP_HANDOVER=0 it stays the parent's, accelerated, and the
#      child gets ENOTCONN;
#   5. the TCP background poller: a server under anyload sleeps (outside
#      the library) after accept, and the kernel client's 30 kB are all
#      acknowledged 1 s after it sent them; with ANYLOAD_TCP_POLLER=0 they
#      are not (nothing polls the stack), which shows that the check can
#      fail;
#   6. a connection to a loopback address from an anyload program goes to
#      the kernel (fate logged).
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
BYTES=200000
ns_setup_pair

OK="OK bytes=$BYTES sha="
log "---- both ends under anyload"
tcp_srv_start srv epoll 1 "$AL" --interface="$IF_A"
got=$(ns_b env ANYLOAD_STATS_AT_EXIT=1 timeout 30 "$AL" --interface="$IF_B" \
	python3 "$TPROG" client --dst "$IP_A" --port 9700 --mode poll \
	--bytes $BYTES --secs 20 2>"$TMPD/cl2.err" || true)
[[ "$got" == "$OK"* ]] || fail "anyload to anyload: $got $(tail -n 5 "$TMPD/cl2.err")"
tcp_srv_done srv 1
check_tcp "$TMPD/srv.err" $BYTES $BYTES
check_tcp "$TMPD/cl2.err" $BYTES $BYTES

log "---- accelerated listener, one veth and one loopback connection"
tcp_srv_start srv select 2 "$AL" --interface="$IF_A"
got=$(ns_a timeout 30 python3 "$TPROG" client --dst 127.0.0.1 --port 9700 \
	--mode blocking --bytes $BYTES --secs 20 2>&1 || true)
[[ "$got" == "$OK"* ]] || fail "loopback client: $got"
got=$(ns_b timeout 30 python3 "$TPROG" client --dst "$IP_A" --port 9700 \
	--mode blocking --bytes $BYTES --secs 20 || true)
[[ "$got" == "$OK"* ]] || fail "veth client after the loopback one: $got"
tcp_srv_done srv 2
grep -q "accepted through the kernel" "$TMPD/srv.err" ||
	fail "loopback connection not seen: $(cat "$TMPD/srv.err")"
check_tcp "$TMPD/srv.err" $BYTES $BYTES

log "---- sendfile and splice through an accelerated connection"
tcp_srv_start srv blocking 1
got=$(ns_b env ANYLOAD_STATS_AT_EXIT=1 timeout 30 "$AL" --interface="$IF_B" \
	python3 "$TPROG" files --dst "$IP_A" --port 9700 --bytes $BYTES \
	--tmp "$TMPD" --secs 20 2>"$TMPD/files.err" || true)
[[ "$got" == "$OK"* ]] || fail "sendfile/splice: $got $(tail -n 5 "$TMPD/files.err")"
tcp_srv_done srv 1
check_tcp "$TMPD/files.err" $BYTES $BYTES

# forkserver_run TAG CHILD_RE ENV...: the forkserver under anyload (ENV
# added): the parent serves a first client after forking, the child the
# next one through the inherited listener; the child's view of the
# shared connection must match CHILD_RE.
forkserver_run()
{
	local tag=$1 child_re=$2 fc1

	shift 2
	bg_start "$tag" "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$@" \
		"$AL" --interface="$IF_A" python3 "$TPROG" forkserver --port 9702 \
		--bytes $BYTES --secs 20
	bg_wait_line "$tag" '^READY' 15 ||
		fail "forkserver: $(cat "$TMPD/$tag.err")"
	ns_b timeout 30 python3 "$TPROG" client --dst "$IP_A" --port 9702 \
		--mode blocking --bytes $BYTES --secs 20 >"$TMPD/${tag}c1.out" &
	fc1=$!
	bg_wait_line "$tag" '^CHILD inherited' 15 ||
		fail "forkserver child: $(cat "$TMPD/$tag.out" "$TMPD/$tag.err")"
	got=$(ns_b timeout 30 python3 "$TPROG" client --dst "$IP_A" \
		--port 9702 --mode blocking --bytes $BYTES --secs 20 || true)
	[[ "$got" == "$OK"* ]] || fail "client of the forked child: $got"
	wait $fc1 || true
	[[ $(cat "$TMPD/${tag}c1.out") == "$OK"* ]] ||
		fail "client of the parent: $(cat "$TMPD/${tag}c1.out")"
	bg_wait "$tag" 15
	expect_eq "forkserver exit" "$BG_RC" 0
	grep -Eq "^CHILD inherited $child_re\$" "$TMPD/$tag.out" ||
		fail "child's view of the connection: $(cat "$TMPD/$tag.out")"
	grep -q "^DONE child=0" "$TMPD/$tag.out" ||
		fail "forkserver: $(cat "$TMPD/$tag.out")"
	grep -q "TCP listener handed to the kernel at fork" "$TMPD/$tag.err" ||
		fail "no hand-over line: $(cat "$TMPD/$tag.err")"
}

# Eagerly (ANYLOAD_TCP_HANDOVER=1): lazily, the parent may have served
# and shut down its connection before the child probes it, and a
# connection past our FIN cannot move (ENOTCONN in the child; the lazy
# cases are preload_tcp_fork.sh and preload_tcp_lazy.sh).
log "---- fork after accept, eagerly: the listener and the connection go to the kernel"
forkserver_run fs 'peer=ok peek=(ok|EAGAIN)' ANYLOAD_TCP_HANDOVER=1
grep -q "TCP connection .* handed to the kernel at fork:" "$TMPD/fs.err" ||
	fail "no connection hand-over line: $(cat "$TMPD/fs.err")"

log "---- the same with ANYLOAD_TCP_HANDOVER=0: the connection stays the parent's"
forkserver_run fs0 'peer=ENOTCONN peek=ENOTCONN' ANYLOAD_TCP_HANDOVER=0
check_tcp "$TMPD/fs0.err" $BYTES $BYTES

log "---- the background poller ACKs while the program sleeps"
# poller_run ENV...: a server under anyload (ENV added) that sleeps 2.5 s
# after accept, and a kernel client whose UNACKED line (1 s after it
# sent) goes to $TMPD/ack.out.
poller_run()
{
	bg_start slp "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 "$@" "$AL" \
		--interface="$IF_A" python3 "$TPROG" sleepserver --port 9703 \
		--secs 2.5
	bg_wait_line slp '^READY' 15 || fail "sleepserver: $(cat "$TMPD/slp.err")"
	ns_b timeout 20 python3 "$TPROG" ackclient --dst "$IP_A" --port 9703 \
		--bytes 30000 --secs 10 >"$TMPD/ack.out" || true
	bg_wait slp 15
	grep -q "^DONE bytes=30000" "$TMPD/slp.out" ||
		fail "sleepserver: $(cat "$TMPD/slp.out" "$TMPD/slp.err")"
	check_tcp "$TMPD/slp.err" 30000 0
}
poller_run
expect_eq "unacknowledged while the server sleeps (poller on)" \
	"$(cat "$TMPD/ack.out")" "UNACKED 0"
poller_run ANYLOAD_TCP_POLLER=0
[[ $(cat "$TMPD/ack.out") =~ ^UNACKED\ [1-9] ]] ||
	fail "with ANYLOAD_TCP_POLLER=0 the segments should wait: $(cat "$TMPD/ack.out")"

log "---- loopback destination from an anyload program: the kernel's"
tcp_srv_start srv blocking 1
got=$(ns_a env ANYLOAD_LOG=2 timeout 30 "$AL" --interface="$IF_A" \
	python3 "$TPROG" client --dst 127.0.0.1 --port 9700 --mode blocking \
	--bytes $BYTES --secs 20 2>"$TMPD/lo.err" || true)
[[ "$got" == "$OK"* ]] || fail "loopback client under anyload: $got"
tcp_srv_done srv 1
grep -q "TCP not accelerated: loopback destination" "$TMPD/lo.err" ||
	fail "no fate line: $(cat "$TMPD/lo.err")"
log "PASS"
