#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# stack_sigkill: crash recovery of a stack program (issue 5), as
# sigkill_recovery.sh and afpacket_sigkill.sh test it for bare VIs. The
# stack echo server (progs/stack_echo) serves UDP port P on IF_A; a kernel
# UDP socket in NS_A is bound to P all along (it gets nothing while the
# stack's filter claims the port). Once on the default backend (AF_XDP on
# veth) and once with ANYLOAD_BACKEND=afpacket:
#  (a) the stack answers a kernel echo client in NS_B, the kernel socket
#      gets nothing;
#  (b) kill -9 of the stack while NS_B sends a datagram every 5 ms: the
#      stack echoed the first ones, the kernel socket gets the rest (the
#      port went back to the kernel: no stale program or filter swallows
#      it), up to the last one;
#  (c) a new stack program binds P (no -EADDRINUSE/-EBUSY from the dead
#      one's filter) and serves the echo client; the kernel socket gets
#      none of those datagrams;
#  (d) after its clean exit nothing of anyload is left on the interface
#      (no XDP program; no anyload tc program) and the kernel socket gets
#      P's datagrams;
#  (e) a stack restarted at once after a kill -9 (as a supervisor would)
#      binds P and serves.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/afpacket_test.sh"

itest_init
itest_build_stack stack_echo
afp_init
ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent

P=7100
N=400
PEER=$REPO/tests/integration/progs/stack_peer.py
UDPTOOL=$REPO/tests/integration/progs/udptool.py

# start_stack TAG BACKEND: a stack echo server on P; its socket in SD.
SD=
start_stack()
{
	local tag=$1 backend=$2

	bg_start "$tag" "$NS_A" env ANYLOAD_BACKEND="$backend" ANYLOAD_LOG=2 \
		"$PROGS/stack_echo" -t 50 "$IF_A"
	bg_wait_line "$tag" '^READY' 10 ||
		fail "$tag: $(cat "$TMPD/$tag.out" "$TMPD/$tag.err")"
	bg_cmd "$tag" "open $P"
	expect_eq "$tag binds :$P" "$(field "$BG_REPLY" rc)" 0
	SD=$(field "$BG_REPLY" sd)
	bg_cmd "$tag" "echo $SD"
}

# echo_ok WHAT COUNT: the kernel echo client in NS_B gets COUNT echoes.
echo_ok()
{
	local out

	out=$(ns_b python3 "$PEER" echo-client --dst "$IP_A" --port "$P" \
		--count "$2" --size 64 --timeout 1) || fail "$1: $out"
	expect_eq "$1" "$(echo "$out" | tail -n 1)" "CLIENT ok=$2 sent=$2"
}

kgot()
{
	count_lines "$TMPD/kr.out" "^GOT $1-"
}

# nothing_left BACKEND: no XDP program (AF_XDP) or anyload tc program
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
	local b=$1 t echoed

	log "==== backend $b"
	t=${b:0:2}
	bg_start kr "$NS_A" python3 "$UDPTOOL" recv --bind "$IP_A" --port "$P" \
		--secs 40
	bg_wait_line kr '^READY' 10 || fail "kernel receiver did not start"

	log "(a) a stack serves :$P"
	start_stack s1 "$b"
	echo_ok "(a) echoes from the stack" 20
	ns_b python3 "$UDPTOOL" send --dst "$IP_A" --port "$P" --count 5 \
		--tag "${t}A"
	sleep 0.3
	expect_eq "(a) kernel socket while the stack lives" "$(kgot "${t}A")" 0

	log "(b) kill -9 of the stack mid-traffic"
	bg_start tx "$NS_B" python3 "$UDPTOOL" send --dst "$IP_A" --port "$P" \
		--count "$N" --tag "${t}B" --gap 0.005
	wait_count "$TMPD/s1.out" "^ECHO .*payload=${t}B-" 20 5 ||
		fail "(b) the stack echoed no datagram of the flow"
	bg_kill9 s1
	expect_eq "(b) stack killed by SIGKILL (128+9)" "$BG_RC" 137
	bg_wait tx 20
	expect_eq "(b) sender exit status" "$BG_RC" 0
	wait_count "$TMPD/kr.out" "^GOT ${t}B-$(printf '%06d' $((N - 1))) " 1 5 ||
		fail "(b) the kernel socket did not get the last datagram" \
			"($(kgot "${t}B") of the flow)"
	echoed=$(count_lines "$TMPD/s1.out" "^ECHO .*payload=${t}B-")
	log "ok: (b) of $N datagrams the stack echoed $echoed before the" \
		"kill, the kernel socket got $(kgot "${t}B") after it"
	(($(kgot "${t}B") > 0 && echoed + $(kgot "${t}B") <= N)) ||
		fail "(b) stack $echoed + kernel $(kgot "${t}B") of $N"

	log "(c) a new stack on :$P"
	start_stack s2 "$b"
	echo_ok "(c) echoes from the new stack" 20
	ns_b python3 "$UDPTOOL" send --dst "$IP_A" --port "$P" --count 5 \
		--tag "${t}C"
	sleep 0.3
	expect_eq "(c) kernel socket while the new stack lives" \
		"$(kgot "${t}C")" 0

	log "(d) clean exit"
	bg_cmd s2 quit
	bg_wait s2 10
	expect_eq "(d) new stack exit status" "$BG_RC" 0
	nothing_left "$b" "(d)"
	ns_b python3 "$UDPTOOL" send --dst "$IP_A" --port "$P" --count 10 \
		--tag "${t}D"
	wait_count "$TMPD/kr.out" "^GOT ${t}D-" 10 5 ||
		fail "(d) kernel socket got $(kgot "${t}D") of 10 after the exit"

	log "(e) restart at once after kill -9"
	start_stack s3 "$b"
	bg_kill9 s3
	start_stack s4 "$b"
	echo_ok "(e) echoes from the stack restarted at once" 20
	bg_cmd s4 quit
	bg_wait s4 10
	expect_eq "(e) restarted stack exit status" "$BG_RC" 0
	nothing_left "$b" "(e)"
	bg_stop kr
}

recovery auto
recovery afpacket
echo "stack_sigkill: PASS"
