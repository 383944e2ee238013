#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_multiqueue: one process's stack holds every queue of a
# multi-queue interface. AF_XDP delivers a frame only to a socket bound to
# the queue it arrived on, and a NIC's RSS spreads flows over its queues:
# a stack on queue 0 alone would leave the other queues' flows to the
# kernel. Here NS_A's veth has 2 queues, and NS_B's kernel sends from CPU 0
# on TX queue 0 and from CPU 1 on TX queue 1 (XPS), which veth delivers to
# RX queue 0 and 1 of IF_A: clients pinned to each CPU reach each queue.
#   1. A UDP echo server under anyload (one process): its stack is up on
#      "queues 0-1" (log and anyload_stackdump), and clients from both CPUs
#      are all answered through the stack (rx_kernel=0).
#   2. A TCP server under anyload: 8 connections from alternating CPUs, all
#      accepted through the stack, none through the kernel, every byte
#      checked (SHA-256). With XPS a connection's segments may change
#      queue as the sending CPU changes; both queues are the same stack's.
#   3. Two processes: the first holds both queues, so the second gets
#      EBUSY, says so, and serves through the kernel (correctly). With
#      ANYLOAD_QUEUES=1 each takes one queue (0 and 1) and gets the flows
#      of its queue.
# Nothing is left on the interface afterwards.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
require_cmd taskset ethtool
if (($(nproc) < 2)); then
	skip "needs 2 CPUs to steer flows to 2 queues with XPS"
fi
N=30
BYTES=200000
NS_QUEUES=2 ns_setup_pair
# XPS on the kernel's side: CPU 0 sends on TX queue 0, CPU 1 on queue 1.
ns_b sh -c "echo 1 > /sys/class/net/$IF_B/queues/tx-0/xps_cpus &&
	echo 2 > /sys/class/net/$IF_B/queues/tx-1/xps_cpus" ||
	skip "cannot set XPS on the veth"

# udp_clients PORT K: K echo clients of N datagrams each to PORT, from CPU
# 0 and CPU 1 in turn (each its own source port).
udp_clients()
{
	local port=$1 k=$2 i got

	for ((i = 0; i < k; i++)); do
		got=$(ns_b taskset -c $((i % 2)) timeout 30 python3 "$PROG" \
			client --dst "$IP_A" --port "$port" --mode blocking \
			--count $N --secs 20 || true)
		expect_eq "UDP client $i (CPU $((i % 2))) to port $port" "$got" "OK n=$N"
	done
}

# stack_up_queues FILE: the queues of the "stack up" line in FILE.
stack_up_queues()
{
	sed -n 's/^.*stack up on [^ ]* (ifindex [0-9]*, queues* \([0-9,-]*\), .*/\1/p' \
		"$1" | tail -n 1
}

rx_queues()
{
	ns_a ethtool -S "$IF_A" | grep -E 'rx_queue_[01]_(xdp_packets|packets)' | xargs
}

log "---- 1. UDP echo server, one process, both queues"
bg_start srv "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 \
	"$AL" --interface="$IF_A" python3 "$PROG" server --port 9500 \
	--mode epoll --count $((4 * N)) --secs 40
bg_wait_line srv '^READY' 20 || fail "server not ready: $(cat "$TMPD/srv.err")"
expect_eq "UDP server's stack queues" "$(stack_up_queues "$TMPD/srv.err")" "0-1"
"$BUILD/bin/anyload_stackdump" --json >"$TMPD/sd.json" ||
	fail "anyload_stackdump: $(cat "$TMPD/sd.json")"
grep -q "\"queues\":\[0,1\]" "$TMPD/sd.json" ||
	fail "anyload_stackdump --json: no stack on queues [0,1]: $(head -c 600 "$TMPD/sd.json")"
pid=$(sed -n 's/^anyload\[\([0-9]*\)\]: stack up on .*/\1/p' "$TMPD/srv.err" | tail -n 1)
"$BUILD/bin/anyload_stackdump" "$pid" >"$TMPD/sd.txt" || true
grep -q "queues 0-1," "$TMPD/sd.txt" ||
	fail "anyload_stackdump: no 'queues 0-1': $(head -n 3 "$TMPD/sd.txt")"
udp_clients 9500 4
bg_wait srv 20
[[ "$BG_RC" == 0 ]] ||
	fail "UDP server exit $BG_RC: $(tail -n 3 "$TMPD/srv.out"; grep -A 20 "ERROR: AddressSanitizer" "$TMPD/srv.err" | head -n 22)"
check_accel "$TMPD/srv.err" $((4 * N)) $((4 * N))
log "RX queues of $IF_A: $(rx_queues)"

log "---- 2. TCP server, one process, connections on both queues"
tcp_srv_start tsrv blocking 8 "$AL" --interface="$IF_A"
for ((i = 0; i < 8; i++)); do
	got=$(ns_b taskset -c $((i % 2)) timeout 40 python3 "$TPROG" client \
		--dst "$IP_A" --port 9700 --mode blocking --bytes $BYTES \
		--secs 30 || true)
	[[ "$got" == "OK bytes=$BYTES sha="* ]] ||
		fail "TCP client $i (CPU $((i % 2))): '$got'"
done
tcp_srv_done tsrv 8
n_acc=$(grep -c "accepted, accelerated" "$TMPD/tsrv.err" || true)
n_kern=$(grep -c "accepted through the kernel" "$TMPD/tsrv.err" || true)
expect_eq "connections accepted through the stack" "$n_acc" 8
expect_eq "connections accepted through the kernel" "$n_kern" 0
check_tcp "$TMPD/tsrv.err" $((8 * (BYTES + 8))) $((8 * (BYTES + 64)))
log "RX queues of $IF_A: $(rx_queues)"

log "---- 3. two processes: the first holds both queues"
bg_start s1 "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 \
	"$AL" --interface="$IF_A" python3 "$PROG" server --port 9501 \
	--mode blocking --count $((2 * N)) --secs 40
bg_wait_line s1 '^READY' 20 || fail "server 1 not ready: $(cat "$TMPD/s1.err")"
bg_start s2 "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 \
	"$AL" --interface="$IF_A" python3 "$PROG" server --port 9502 \
	--mode blocking --count $((2 * N)) --secs 40
bg_wait_line s2 '^READY' 20 || fail "server 2 not ready: $(cat "$TMPD/s2.err")"
grep -q "cannot start the stack on $IF_A: Device or resource busy; sockets stay with the kernel" \
	"$TMPD/s2.err" || fail "server 2: no EBUSY line: $(cat "$TMPD/s2.err")"
udp_clients 9501 2
udp_clients 9502 2
bg_wait s1 20
expect_eq "server 1 exit" "$BG_RC" 0
bg_wait s2 20
expect_eq "server 2 exit" "$BG_RC" 0
check_accel "$TMPD/s1.err" $((2 * N)) $((2 * N))
line=$(grep -E 'sockets: ' "$TMPD/s2.err" | tail -n 1)
expect_eq "server 2's accelerated sockets" "$(field "$line" udp_accelerated)" 0

log "---- 3b. two processes with ANYLOAD_QUEUES=1: one queue each"
bg_start q1 "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 \
	ANYLOAD_QUEUES=1 "$AL" --interface="$IF_A" python3 "$PROG" server \
	--port 9503 --mode blocking --count $N --secs 40
bg_wait_line q1 '^READY' 20 || fail "server q1 not ready: $(cat "$TMPD/q1.err")"
bg_start q2 "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 \
	ANYLOAD_QUEUES=1 "$AL" --interface="$IF_A" python3 "$PROG" server \
	--port 9504 --mode blocking --count $N --secs 40
bg_wait_line q2 '^READY' 20 || fail "server q2 not ready: $(cat "$TMPD/q2.err")"
expect_eq "first process's queue" "$(stack_up_queues "$TMPD/q1.err")" 0
expect_eq "second process's queue" "$(stack_up_queues "$TMPD/q2.err")" 1
# Each server's client sends from the CPU of its queue.
got=$(ns_b taskset -c 0 timeout 30 python3 "$PROG" client --dst "$IP_A" \
	--port 9503 --mode blocking --count $N --secs 20 || true)
expect_eq "client of the queue-0 process" "$got" "OK n=$N"
got=$(ns_b taskset -c 1 timeout 30 python3 "$PROG" client --dst "$IP_A" \
	--port 9504 --mode blocking --count $N --secs 20 || true)
expect_eq "client of the queue-1 process" "$got" "OK n=$N"
bg_wait q1 20
expect_eq "server q1 exit" "$BG_RC" 0
bg_wait q2 20
expect_eq "server q2 exit" "$BG_RC" 0
check_accel "$TMPD/q1.err" $N $N
check_accel "$TMPD/q2.err" $N $N
no_xdp_left "$NS_A" "$IF_A" "after every process ended"
log "PASS"
