#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# stack_tcp_sigkill: crash recovery of a TCP server on anyload's stack
# (issue 5), as stack_sigkill.sh tests it for UDP. progs/stack_tcp_echo
# listens on port P of IP_A; once on AF_XDP and once with
# ANYLOAD_BACKEND=afpacket:
#  (a) a kernel client in NS_B (progs/tcp_echo_peer.py keep) holds a
#      connection to it and gets its echoes;
#  (b) the server is killed with SIGKILL; at once a kernel TCP echo server
#      listens on P in NS_A: a new kernel connection to P is served by it
#      (the port went back to the kernel: no stale XDP program, tc program
#      or filter swallows it), and the held connection's next segment is
#      answered by NS_A's kernel with an RST (it reaches the kernel, which
#      knows no such connection);
#  (c) once the kernel server is gone, a new stack server listens on P
#      (no -EADDRINUSE/-EBUSY from the dead one's filter) and serves; after
#      its clean exit nothing of anyload is left on IF_A;
#  (d) a stack server restarted at once after a kill -9 (as a supervisor
#      would) listens on P and serves.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/afpacket_test.sh"

itest_init
itest_build_stack stack_tcp_echo
afp_init
ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent
P=8100
PEER=$REPO/tests/integration/progs/tcp_echo_peer.py

# start_stack TAG BACKEND: a stack TCP echo server listening on P.
start_stack()
{
	local tag=$1 backend=$2

	bg_start "$tag" "$NS_A" env ANYLOAD_BACKEND="$backend" ANYLOAD_LOG=2 \
		"$PROGS/stack_tcp_echo" -t 60 "$IF_A"
	bg_wait_line "$tag" '^READY' 10 ||
		fail "$tag: $(cat "$TMPD/$tag.out" "$TMPD/$tag.err")"
	bg_cmd "$tag" "listen $P 64"
	expect_eq "$tag listens on :$P" "$(field "$BG_REPLY" rc)" 0
}

# client_ok WHAT: a new kernel connection to P gets 10 echoes.
client_ok()
{
	local out

	out=$(ns_b python3 "$PEER" client --dst "$IP_A" --port "$P" \
		--count 10) || fail "$1: $out"
	expect_eq "$1" "$(echo "$out" | tail -n 1)" "CLIENT ok=10 sent=10"
}

# served_by TAG WHAT: the stack server TAG accepted a connection (the one
# client_ok made).
served_by()
{
	(($(count_lines "$TMPD/$1.out" '^ACCEPT ') > 0)) ||
		fail "$2: the stack server $1 accepted nothing"
}

nothing_left()
{
	if [[ "$1" == afpacket ]]; then
		afp_expect_claims "$2: anyload tc programs on $IF_A" "$NS_A" \
			"$IF_A" 0
	elif ip -n "$NS_A" link show dev "$IF_A" | grep -q xdp; then
		fail "$2: an XDP program is left on $IF_A"
	else
		log "ok: $2: no XDP program on $IF_A"
	fi
}

recovery()
{
	local b=$1

	log "==== backend $b"
	log "(a) a held kernel connection to the stack server on :$P"
	start_stack s1 "$b"
	bg_start kc "$NS_B" python3 "$PEER" keep --dst "$IP_A" --port "$P"
	bg_wait_line kc '^CONNECTED' 10 ||
		fail "(a) no connection: $(cat "$TMPD/kc.out" "$TMPD/kc.err")"
	echo ping >&"${BG_FD[kc]}"
	wait_count "$TMPD/kc.out" '^PING ' 1 5 || fail "(a) no ping answer"
	expect_eq "(a) echo on the held connection" \
		"$(grep '^PING ' "$TMPD/kc.out" | tail -n 1)" "PING ok"

	log "(b) kill -9; a kernel server on :$P at once"
	bg_kill9 s1
	expect_eq "(b) killed by SIGKILL (128+9)" "$BG_RC" 137
	bg_start ks "$NS_A" python3 "$PEER" server --bind "$IP_A" --port "$P" \
		--secs 30
	bg_wait_line ks '^READY' 10 ||
		fail "(b) the kernel cannot listen on :$P: $(cat "$TMPD/ks.err")"
	client_ok "(b) a new connection served by the kernel"
	echo ping >&"${BG_FD[kc]}"
	wait_count "$TMPD/kc.out" '^PING ' 2 5 || fail "(b) no ping answer"
	expect_eq "(b) the held connection after the kill (the kernel's RST)" \
		"$(grep '^PING ' "$TMPD/kc.out" | tail -n 1)" "PING reset"
	bg_stop kc
	bg_stop ks

	log "(c) a new stack server on :$P"
	start_stack s2 "$b"
	client_ok "(c) a new connection served by the new stack"
	served_by s2 "(c)"
	bg_cmd s2 quit
	bg_wait s2 10
	expect_eq "(c) exit status" "$BG_RC" 0
	nothing_left "$b" "(c)"

	log "(d) restart at once after kill -9"
	start_stack s3 "$b"
	bg_kill9 s3
	start_stack s4 "$b"
	client_ok "(d) a new connection served by the restarted stack"
	served_by s4 "(d)"
	bg_cmd s4 quit
	bg_wait s4 10
	expect_eq "(d) exit status" "$BG_RC" 0
	nothing_left "$b" "(d)"
}

recovery afxdp
recovery afpacket
echo "stack_tcp_sigkill: PASS"
