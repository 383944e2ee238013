#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_follow: a listener follows the process that uses it
# (src/preload/tcp_follow.c). progs/fork_listen.py's server under anyload
# in NS_A listens, forks and exits (a daemon's first process); its child
# then accepts. Clients are the kernel's, in NS_B. On each backend:
#   1. the child's first accept takes the listener into a stack of its own
#      (logged "accelerated again"); a client's 100000 bytes echo back
#      (checked byte for byte) through the child's stack (its counters at
#      exit);
#   2. the parent stays, listening on two ports (nginx with master and
#      workers, `daemon off`, two `listen`s): the child's first accept
#      claims both listeners, the parent's stack, holding nothing else,
#      goes (logged), and both listeners follow into the child's stack;
#      a client on each port echoes through it;
#   3. a client connects through the interface before the child first uses
#      the listener: the kernel holds that connection (in its accept
#      queue), so the child leaves the listener to the kernel (logged: 1
#      connection in the kernel's hands), and that client's echo and a
#      second client's, both through the kernel, are whole.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
ns_setup_pair
FL=$REPO/tests/integration/progs/fork_listen.py
PORT=9870

# server_start TAG CONNS BACKEND [ARGS...]: the server under anyload;
# waits for its child's line (without --stay the parent is gone then).
server_start()
{
	local tag=$1 conns=$2 backend=$3

	shift 3
	bg_start "$tag" "$NS_A" env ANYLOAD_BACKEND="$backend" \
		ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" --interface="$IF_A" \
		python3 "$FL" server --ip "$IP_A" --port "$PORT" --conns "$conns" \
		"$@"
	set -- "$tag"
	# Generous: under ASan on a machine whose python3 is a pyenv shim,
	# some 25 processes with the instrumented library start first (a CI
	# run took more than 15 s).
	bg_wait_line "$1" '^CHILD pid=' 45 ||
		fail "no child line: $(cat "$TMPD/$1.out" "$TMPD/$1.err")"
}

# client_start TAG [PORT]: a client in NS_B, connected.
client_start()
{
	bg_start "$1" "$NS_B" python3 "$FL" client --ip "$IP_A" \
		--port "${2:-$PORT}" --bytes 100000
	bg_wait_line "$1" '^CONNECTED' 10 ||
		fail "$1 did not connect: $(cat "$TMPD/$1.out" "$TMPD/$1.err")"
}

# client_echo TAG: tell the client to go; its echo must be whole.
client_echo()
{
	echo go >&"${BG_FD[$1]}"
	bg_wait_line "$1" '^ECHO ' 25 || fail "$1: no echo: $(cat "$TMPD/$1.err")"
	grep -q '^ECHO ok' "$TMPD/$1.out" || fail "$1: $(cat "$TMPD/$1.out")"
	bg_stop "$1"
}

# server_done TAG N CHILD: the server's child served N connections and
# exited (its counters are out); its first process had exited at once.
server_done()
{
	bg_wait_line "$1" "^SERVED $2" 20 ||
		fail "$1: $(cat "$TMPD/$1.out" "$TMPD/$1.err")"
	wait_count "$TMPD/$1.err" "anyload\[$3\]: sockets:" 1 10 ||
		fail "$1: no counters from the child: $(cat "$TMPD/$1.err")"
	bg_wait "$1" 10
	expect_eq "the first process's exit status" "$BG_RC" 0
}

for backend in afxdp afpacket; do
	log "---- $backend: the child takes the listener into its stack"
	server_start s1 1 "$backend"
	child=$(sed -n 's/^CHILD pid=\([0-9]*\).*/\1/p' "$TMPD/s1.out")
	echo go >&"${BG_FD[s1]}"
	# Its first accept takes the listener, before the client comes.
	wait_count "$TMPD/s1.err" \
		"anyload\[$child\]: fd [0-9]*: TCP listener .* accelerated again" 1 10 ||
		fail "the child did not take the listener: $(cat "$TMPD/s1.err")"
	client_start c1
	client_echo c1
	server_done s1 1 "$child"
	c=$(grep "anyload\[$child\]: sockets:" "$TMPD/s1.err" | tail -n 1)
	[[ -n "$c" && $(field "$c" tcp_rx_bytes) -ge 100000 &&
		$(field "$c" tcp_tx_bytes) -ge 100000 ]] ||
		fail "the echo did not go through the child's stack: $c"
	log "child: ${c#*sockets: }"

	log "---- $backend: the parent stays, two listeners follow the child"
	server_start s3 2 "$backend" --stay --listeners 2
	parent=$(sed -n 's/^PARENT pid=\([0-9]*\).*/\1/p' "$TMPD/s3.out")
	child=$(sed -n 's/^CHILD pid=\([0-9]*\).*/\1/p' "$TMPD/s3.out")
	echo go >&"${BG_FD[s3]}"
	for p in $PORT $((PORT + 1)); do
		wait_count "$TMPD/s3.err" \
			"anyload\[$child\]: fd [0-9]*: TCP listener $IP_A:$p accelerated again" 1 10 ||
			fail "listener $p did not follow: $(cat "$TMPD/s3.err")"
	done
	grep -q "anyload\[$parent\]: stack on $IF_A released" "$TMPD/s3.err" ||
		fail "the parent kept its stack: $(cat "$TMPD/s3.err")"
	client_start c1
	client_echo c1
	client_start c2 $((PORT + 1))
	client_echo c2
	server_done s3 2 "$child"
	c=$(grep "anyload\[$child\]: sockets:" "$TMPD/s3.err" | tail -n 1)
	[[ $(field "$c" tcp_rx_bytes) -ge 200000 ]] ||
		fail "the echoes did not go through the child's stack: $c"

	log "---- $backend: a connection in the kernel's hands keeps the listener there"
	server_start s2 2 "$backend"
	child=$(sed -n 's/^CHILD pid=\([0-9]*\).*/\1/p' "$TMPD/s2.out")
	client_start c1
	echo go >&"${BG_FD[s2]}"
	client_echo c1
	client_start c2
	client_echo c2
	server_done s2 2 "$child"
	grep -q "anyload\[$child\]: fd [0-9]*: TCP listener stays the kernel's in this process: 1 connection through the interface in the kernel's hands" \
		"$TMPD/s2.err" || fail "no line of the listener kept with the \
kernel: $(cat "$TMPD/s2.err")"
	if grep -q "anyload\[$child\]: .*accelerated again" "$TMPD/s2.err"; then
		fail "the child took the listener: $(cat "$TMPD/s2.err")"
	fi
done
log "PASS"
