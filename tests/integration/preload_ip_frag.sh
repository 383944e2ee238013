#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_ip_frag: a path with a smaller MTU on the way. UDP datagrams
# and TCP segments that arrive in IPv4 fragments reach accelerated
# sockets whole, as they reach the kernel's; and an accelerated TCP
# sender learns the path MTU from the router's "fragmentation needed"
# (which the filter gives to the stack, as an error about its flow)
# instead of retransmitting full segments into a black hole.
#
# The path: a sender S (the kernel's TCP and UDP, path MTU discovery off
# with net.ipv4.ip_no_pmtu_disc=1, so DF is clear) -> router R1 -> a link
# of MTU 1000 -> router R2 -> A, where the programs run under
# `anyload --interface=IF_A`. Every link but R1-R2 has MTU 1500, so both
# ends announce MSS 1460 and R1 fragments every full segment, as a tunnel
# or an old WAN link does; UDP datagrams above 1500 bytes are fragmented
# by S already. Four namespaces, three veth pairs, 198.18.0.0/22, one
# route per namespace towards the far side (no default route).
#
# For each backend (AF_XDP, AF_PACKET):
#   - TCP: progs/tcp_hash_peer.py recv under anyload in A, send from S,
#     two connections of 8 MiB: the SHA-256 of both ends match; the
#     stack's exit counters show reassembled segments (tcp_rx_reassembled)
#     and the kernel of A reassembled nothing meanwhile (its ReasmOKs).
#   - TCP the other way: tcp_hash_peer.py send under anyload in A (DF set,
#     MSS 1460), recv on S's kernel: the digests match, and the stack
#     counted the router's errors (tcp_icmp_frag_needed, icmp_pmtu_learnt).
#   - UDP: progs/udp_echod.py under anyload in A; S sends 100 datagrams of
#     1480 to 9000 bytes one at a time and gets each back byte for byte
#     (the stack fragments the echoes at 1500, R2 again at 1000; smaller
#     echoes would leave whole with DF, as the kernel's do, and take a
#     path MTU discovery round of their own).
# First the same TCP transfer to A's kernel proves that the path
# fragments (A's ReasmOKs grows). Last, ICMP errors for UDP: a connected
# socket under anyload sending to a closed port on S gets ECONNREFUSED
# from recv, through its stack (icmp_err_hard), as on the kernel; one that
# set IP_RECVERR (the stack has no error queue) stays with the kernel and
# reads the errors from its error queue, as on the kernel.
# test-timeout: 240
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
HASH=$REPO/tests/integration/progs/tcp_hash_peer.py
ECHOD=$REPO/tests/integration/progs/udp_echod.py
BYTES=8M

# A (198.18.0.1) - R2 (198.18.0.2)
ns_setup_pair
A_NS=$NS_A A_IF=$IF_A A_IP=$IP_A R2_NS=$NS_B
# R1 (198.18.2.1) - S (198.18.2.2)
NS_IP_A=198.18.2.1 NS_IP_B=198.18.2.2 ns_setup_pair
R1_NS=$NS_A S_NS=$NS_B S_IP=$IP_B
# The functions of the harness speak of NS_A: the accelerated side.
NS_A=$A_NS IF_A=$A_IF IP_A=$A_IP NS_B=$S_NS IP_B=$S_IP

# R2 (198.18.1.1) - R1 (198.18.1.2), MTU 1000: created inside the
# namespaces, deleted with them.
ip link add name "${R2_NS}n" mtu 1000 netns "$R2_NS" type veth \
	peer name "${R1_NS}n" mtu 1000 netns "$R1_NS" ||
	fail "cannot create the narrow link"
for end in "$R2_NS:198.18.1.1" "$R1_NS:198.18.1.2"; do
	ns=${end%%:*}
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.${ns}n.disable_ipv6=1" \
		2>/dev/null || true
	ip -n "$ns" addr add "${end#*:}/24" dev "${ns}n"
	ip -n "$ns" link set "${ns}n" up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
done
ip -n "$A_NS" route add 198.18.2.0/24 via 198.18.0.2
ip -n "$R2_NS" route add 198.18.2.0/24 via 198.18.1.2
ip -n "$R1_NS" route add 198.18.0.0/24 via 198.18.1.1
ip -n "$S_NS" route add 198.18.0.0/24 via 198.18.2.1
ip netns exec "$S_NS" sysctl -qw net.ipv4.ip_no_pmtu_disc=1
# S answers every datagram to a closed port (the ICMP test below runs
# four times in a few seconds; the kernel limits per destination).
ip netns exec "$S_NS" sysctl -qw net.ipv4.icmp_ratelimit=0
# reasm_oks: A's kernel's count of reassembled datagrams.
reasm_oks()
{
	ip netns exec "$A_NS" awk '/^Ip:/ { if (n++) { for (i = 1; i <= NF; i++)
		if (h[i] == "ReasmOKs") print $i } else for (i = 1; i <= NF; i++)
		h[i] = $i }' /proc/net/snmp
}

# tcp_run TAG CONNS [PREFIX...]: CONNS transfers of BYTES from S to A's
# receiver (under PREFIX), one after the other; the digests must match.
tcp_run()
{
	local tag=$1 conns=$2 c sent got

	shift 2
	for ((c = 0; c < conns; c++)); do
		bg_start "$tag$c" "$A_NS" env ANYLOAD_STATS_AT_EXIT=1 "$@" \
			python3 "$HASH" recv --port $((9400 + c)) --timeout 60
		bg_wait_line "$tag$c" '^LISTENING' 15 ||
			fail "$tag: receiver not ready: $(cat "$TMPD/$tag$c.err")"
		sent=$(ip netns exec "$S_NS" timeout 90 python3 "$HASH" send \
			--connect "$A_IP" --port $((9400 + c)) --bytes "$BYTES" \
			--seed $((c + 1)) --timeout 60) ||
			fail "$tag: sender: $sent; receiver: $(cat "$TMPD/$tag$c.err")"
		bg_wait "$tag$c" 30
		expect_eq "$tag: receiver's exit status" "$BG_RC" 0
		got=$(grep '^RESULT' "$TMPD/$tag$c.out")
		expect_eq "$tag: SHA-256 received (connection $c)" \
			"$(field "$got" sha256)" "$(field "$sent" sha256)"
		log "$tag: connection $c: $(field "$got" bytes) bytes," \
			"$(field "$got" gbps) Gbit/s"
	done
}

# udp_run TAG: 100 datagrams from S to udp_echod under anyload in A, each
# echoed byte for byte.
udp_run()
{
	local tag=$1 out

	shift
	bg_start "$tag" "$A_NS" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$@" \
		python3 "$ECHOD" --port 9500 --secs 60
	bg_wait_line "$tag" '^READY' 15 ||
		fail "$tag: echo server not ready: $(cat "$TMPD/$tag.err")"
	out=$(ip netns exec "$S_NS" timeout 60 python3 -c '
import os, random, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)
rnd = random.Random(5)
ok = 0
for k in range(100):
    d = os.urandom(rnd.randrange(1480, 9001))
    s.sendto(d, (sys.argv[1], 9500))
    try:
        got, _ = s.recvfrom(65536)
    except socket.timeout:
        print("LOST %d len=%d" % (k, len(d)))
        sys.exit(1)
    if got != d:
        print("BAD %d len=%d got=%d" % (k, len(d), len(got)))
        sys.exit(1)
    ok += 1
print("OK echoes=%d" % ok)' "$A_IP") ||
		fail "$tag: $out; server: $(tail -n 5 "$TMPD/$tag.err")"
	expect_eq "$tag: echoes" "$out" "OK echoes=100"
	kill -TERM "${BG_PID[$tag]}"
	bg_wait "$tag" 15
	expect_eq "$tag: server's exit status" "$BG_RC" 0
}

# stack_counter FILE NAME: NAME in the last "stack counters:" line of FILE.
stack_counter()
{
	local line

	line=$(grep 'stack counters:' "$1" | tail -n 1)
	field "$line" "$2" || echo 0
}

log "---- TCP from S to A's kernel: the path fragments"
before=$(reasm_oks)
tcp_run kernel 1
after=$(reasm_oks)
log "A's kernel reassembled $((after - before)) datagrams"
((after - before > 1000)) ||
	fail "the path did not fragment: ReasmOKs $before -> $after"

for backend in afxdp afpacket; do
	log "---- TCP through the fragmenting path to anyload ($backend)"
	before=$(reasm_oks)
	tcp_run "tcp-$backend-" 2 env ANYLOAD_BACKEND="$backend" \
		"$AL" --interface="$A_IF"
	after=$(reasm_oks)
	for c in 0 1; do
		f=$TMPD/tcp-$backend-$c.err
		check_tcp "$f" $((8 << 20)) 0
		n=$(stack_counter "$f" tcp_rx_reassembled)
		((n > 1000)) ||
			fail "$backend: connection $c: $n reassembled segments: $(grep 'stack counters' "$f")"
		log "$backend: connection $c: tcp_rx_reassembled=$n" \
			"reasm_done=$(stack_counter "$f" reasm_done)"
	done
	expect_eq "$backend: datagrams reassembled by A's kernel meanwhile" \
		"$((after - before))" 0

	log "---- TCP from anyload in A to S's kernel: path MTU discovery ($backend)"
	bg_start "recv-$backend" "$S_NS" python3 "$HASH" recv --port 9450 \
		--timeout 60
	bg_wait_line "recv-$backend" '^LISTENING' 15 ||
		fail "receiver on S not ready: $(cat "$TMPD/recv-$backend.err")"
	f=$TMPD/send-$backend.err
	sent=$(ip netns exec "$A_NS" timeout 90 env ANYLOAD_BACKEND="$backend" \
		ANYLOAD_STATS_AT_EXIT=1 "$AL" --interface="$A_IF" python3 "$HASH" \
		send --connect "$S_IP" --port 9450 --bytes "$BYTES" --seed 9 \
		--timeout 30 2>"$f") ||
		fail "$backend: sender under anyload: $sent $(tail -n 3 "$f")"
	bg_wait "recv-$backend" 30
	expect_eq "$backend: receiver's exit status" "$BG_RC" 0
	got=$(grep '^RESULT' "$TMPD/recv-$backend.out")
	expect_eq "$backend: SHA-256 received on S" "$(field "$got" sha256)" \
		"$(field "$sent" sha256)"
	check_tcp "$f" 0 $((8 << 20))
	n=$(stack_counter "$f" tcp_icmp_frag_needed)
	((n >= 1)) || fail "$backend: no fragmentation-needed reached the" \
		"stack: $(grep 'stack counters' "$f")"
	expect_eq "$backend: path MTUs learnt" \
		"$(stack_counter "$f" icmp_pmtu_learnt)" 1
	log "$backend: $(field "$sent" gbps) Gbit/s, tcp_icmp_frag_needed=$n"

	log "---- UDP datagrams of up to 9000 bytes, echoed ($backend)"
	udp_run "udp-$backend" env ANYLOAD_BACKEND="$backend" \
		"$AL" --interface="$A_IF"
	f=$TMPD/udp-$backend.err
	check_accel "$f" 100 100
	n=$(stack_counter "$f" reasm_done)
	((n >= 100)) || fail "$backend: $n datagrams reassembled by the stack"
	log "$backend: reasm_done=$n tx_fragmented=$(stack_counter "$f" tx_fragmented)"
done
log "---- ICMP port unreachable for accelerated UDP, with and without IP_RECVERR"
cat >"$TMPD/refused.py" <<'END'
import socket, sys, time
recverr = sys.argv[2] == "recverr"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if recverr:
    s.setsockopt(socket.IPPROTO_IP, 11, 1)   # IP_RECVERR (not in python)
s.connect((sys.argv[1], 9999))
# The error queue never blocks; recv waits at most 20 ms at a time.
s.settimeout(0 if recverr else 0.02)
got = []
for k in range(3):
    s.send(b"anyone?")
    what = "nothing"
    for tries in range(50):      # the error queue does not block: 1 s
        try:
            if recverr:
                data, anc, fl, _ = s.recvmsg(100, 512, socket.MSG_ERRQUEUE)
                what = "errqueue" if anc else "nothing"
            else:
                s.recv(100)
                what = "data"
            break
        except ConnectionRefusedError:
            what = "refused"
            break
        except (BlockingIOError, socket.timeout):
            time.sleep(0.02)
    got.append(what)
print(" ".join(got))
END
for mode in plain recverr; do
	f=$TMPD/refused-$mode.err
	rc=0
	out=$(ip netns exec "$A_NS" timeout 30 env ANYLOAD_STATS_AT_EXIT=1 \
		ANYLOAD_LOG=2 "$AL" --interface="$A_IF" python3 \
		"$TMPD/refused.py" "$S_IP" "$mode" 2>"$f") || rc=$?
	((rc == 0)) || fail "$mode: exit $rc $out $(grep -v "sockets:" "$f")"
	kout=$(ip netns exec "$A_NS" timeout 30 python3 "$TMPD/refused.py" \
		"$S_IP" "$mode")
	expect_eq "$mode: on the kernel" "$kout" \
		"$([[ $mode == plain ]] && echo refused refused refused ||
			echo errqueue errqueue errqueue)"
	expect_eq "$mode: under anyload as on the kernel" "$out" "$kout"
done
grep -q 'sockets: udp_accelerated=1' "$TMPD/refused-plain.err" ||
	fail "plain: the socket was not accelerated: $(cat "$TMPD/refused-plain.err")"
expect_eq "plain: errors taken by the stack" \
	"$(stack_counter "$TMPD/refused-plain.err" icmp_err_hard)" 3
grep -q 'not accelerated' "$TMPD/refused-recverr.err" ||
	fail "recverr: no hand-over to the kernel logged: $(cat "$TMPD/refused-recverr.err")"
echo "preload_ip_frag: PASS"
