#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_sigkill: crash recovery in transparent mode (issue 5), as
# stack_sigkill.sh tests it for a program on the stack's API. An unmodified
# UDP echo server (progs/udp_echod.py) runs under `anyload
# --interface=IF_A` on port P; once on AF_XDP and once with
# ANYLOAD_BACKEND=afpacket:
#  (a) it is accelerated and answers a kernel echo client in NS_B;
#  (b) it is killed with SIGKILL while NS_B sends a datagram to P every
#      5 ms; a kernel UDP socket bound to P right after the kill (the dead
#      program's kernel socket released the port) gets the rest of the
#      stream up to its last datagram (no stale XDP program, tc program or
#      filter swallows the port), and a kernel echo server on P answers
#      the echo client;
#  (c) a new anyload run on P, started as soon as the kernel server has
#      gone, is accelerated (no -EADDRINUSE/-EBUSY from the dead one's
#      filter), serves the client, and at its clean exit (SIGTERM) its
#      counters show the datagrams through the stack and none through the
#      kernel socket; after it nothing of anyload is left on IF_A;
#  (d) an anyload run started at once after another one was killed with
#      SIGKILL (as a supervisor restarts it) is accelerated and serves.
# Runs in the sanitizer build too (ASan runtime first in LD_PRELOAD).
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"
source "$(dirname "$0")/../harness/afpacket_test.sh"

itest_init
preload_launcher_init
afp_init
ECHOD=$REPO/tests/integration/progs/udp_echod.py
PEER=$REPO/tests/integration/progs/stack_peer.py
UDPTOOL=$REPO/tests/integration/progs/udptool.py
P=7200
N=400

ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent

# start_al TAG BACKEND: udp_echod.py under anyload on P, accelerated.
start_al()
{
	local tag=$1 backend=$2

	bg_start "$tag" "$NS_A" env ANYLOAD_BACKEND="$backend" \
		ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
		--interface="$IF_A" python3 "$ECHOD" --port "$P" --secs 40
	bg_wait_line "$tag" '^READY' 15 ||
		fail "$tag not ready: $(cat "$TMPD/$tag.err")"
	grep -q "UDP 0.0.0.0:$P accelerated on $IF_A" "$TMPD/$tag.err" ||
		fail "$tag: the socket is not accelerated: $(cat "$TMPD/$tag.err")"
	log "ok: $tag: UDP 0.0.0.0:$P accelerated on $IF_A"
}

# echo_ok WHAT COUNT: the kernel echo client in NS_B gets COUNT echoes.
echo_ok()
{
	local out

	out=$(ns_b python3 "$PEER" echo-client --dst "$IP_A" --port "$P" \
		--count "$2" --size 64 --timeout 1) || fail "$1: $out"
	expect_eq "$1" "$(echo "$out" | tail -n 1)" "CLIENT ok=$2 sent=$2"
}

# stop_al TAG: SIGTERM (a normal exit), then its counters: the echoes went
# through the stack, none through the kernel socket.
stop_al()
{
	local tag=$1 sockets

	kill -TERM "${BG_PID[$tag]}"
	bg_wait "$tag" 10
	expect_eq "$tag exit status" "$BG_RC" 0
	sockets=$(grep 'sockets: ' "$TMPD/$tag.err" | tail -n 1)
	[[ -n "$sockets" ]] || fail "$tag: no counters at exit"
	log "$tag: ${sockets#*sockets: }"
	(($(field "$sockets" rx_stack) >= 20)) ||
		fail "$tag: fewer than 20 datagrams through the stack"
	expect_eq "$tag: datagrams through the kernel socket" \
		"$(field "$sockets" rx_kernel)" 0
}

# nothing_left BACKEND WHAT: no XDP program (AF_XDP) or anyload tc program
# (AF_PACKET) on IF_A.
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
	local b=$1 t got

	t=${b:0:2}
	log "==== backend $b"
	log "(a) udp_echod.py under anyload on :$P"
	start_al s1 "$b"
	echo_ok "(a) echoes from the server under anyload" 20

	log "(b) kill -9 mid-traffic, a kernel socket on :$P right after"
	bg_start tx "$NS_B" python3 "$UDPTOOL" send --dst "$IP_A" --port "$P" \
		--count "$N" --tag "${t}B" --gap 0.005
	sleep 0.3
	bg_kill9 s1
	expect_eq "(b) killed by SIGKILL (128+9)" "$BG_RC" 137
	bg_start kr "$NS_A" python3 "$UDPTOOL" recv --bind "$IP_A" \
		--port "$P" --secs 20
	bg_wait_line kr '^READY' 10 ||
		fail "(b) the kernel socket cannot bind :$P: $(cat "$TMPD/kr.err")"
	bg_wait tx 20
	expect_eq "(b) sender exit status" "$BG_RC" 0
	wait_count "$TMPD/kr.out" "^GOT ${t}B-$(printf '%06d' $((N - 1))) " 1 5 ||
		fail "(b) the kernel socket did not get the last datagram" \
			"($(count_lines "$TMPD/kr.out" "^GOT ${t}B-") of the flow)"
	got=$(count_lines "$TMPD/kr.out" "^GOT ${t}B-")
	log "ok: (b) the kernel socket bound :$P after the kill and got the" \
		"last $got of $N datagrams"
	bg_stop kr
	bg_start ks "$NS_A" python3 "$PEER" echo-server --bind "$IP_A" \
		--port "$P" --secs 20
	bg_wait_line ks '^READY' 10 || fail "(b) kernel echo server"
	echo_ok "(b) echoes from a kernel server on the port" 20
	bg_stop ks

	log "(c) a new anyload run on :$P at once"
	start_al s2 "$b"
	echo_ok "(c) echoes from the new server under anyload" 20
	stop_al s2
	nothing_left "$b" "(c) after its clean exit"

	log "(d) restart at once after kill -9"
	start_al s3 "$b"
	bg_kill9 s3
	start_al s4 "$b"
	echo_ok "(d) echoes from the server restarted at once" 20
	stop_al s4
	nothing_left "$b" "(d) after its clean exit"
}

recovery afxdp
recovery afpacket
echo "preload_sigkill: PASS"
