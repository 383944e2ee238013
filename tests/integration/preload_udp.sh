#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_udp: UDP acceleration by libanyload.so in netns+veth, with
# unmodified programs on one or both ends. NS_A's programs run under
# `anyload --interface=IF_A`, NS_B's on the kernel unless said otherwise.
# Every anyload run prints its counters at exit (ANYLOAD_STATS_AT_EXIT=1),
# and each check requires that the traffic went through the stack
# (udp_accelerated=1, rx_stack/tx_stack = the datagrams, rx_kernel=0), so
# a silent fallback to the kernel fails the test. Checks:
#   1. progs/preload_prog.py echo server under anyload, kernel client, in
#      each mode: blocking, nonblock, select, poll, epoll, asyncio;
#   2. the same client under anyload against a kernel echo server;
#   3. sockperf server under anyload, sockperf ping-pong from the kernel
#      (64 B, 2 s): a latency summary and the server's stack counters;
#      then both ends under anyload (the client in NS_B on IF_B);
#   4. a socat UDP echo under anyload answering a kernel client, and nc -u
#      from NS_B into socat under anyload (skipped with a reason when
#      socat or nc is missing).
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
N=50
ns_setup_pair

# check_accel_udp FILE RX TX: check_accel (preload_test.sh: one
# accelerated socket, RX datagrams received and TX sent through the stack,
# none through the kernel), and the stack's counters in FILE.
check_accel_udp()
{
	check_accel "$@"
	grep -q "stack counters: .*rx_udp_datagrams=" "$1" ||
		fail "no stack counters in $1"
}

for mode in blocking nonblock select poll epoll asyncio; do
	log "---- python echo server under anyload, mode $mode"
	bg_start srv "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 \
		"$AL" --interface="$IF_A" python3 "$PROG" server --port 9500 \
		--mode "$mode" --count $N --secs 20
	bg_wait_line srv '^READY' 15 ||
		fail "server not ready: $(cat "$TMPD/srv.err")"
	got=$(ns_b timeout 30 python3 "$PROG" client --dst "$IP_A" \
		--port 9500 --mode blocking --count $N --secs 20 || true)
	expect_eq "kernel client vs anyload server ($mode)" "$got" "OK n=$N"
	bg_wait srv 10
	expect_eq "server exit ($mode)" "$BG_RC" 0
	grep -q "UDP 0.0.0.0:9500 accelerated on $IF_A" "$TMPD/srv.err" ||
		fail "no fate line: $(cat "$TMPD/srv.err")"
	check_accel_udp "$TMPD/srv.err" $N $N

	log "---- python client under anyload, mode $mode"
	bg_start ksrv "$NS_B" python3 "$PROG" server --port 9501 \
		--mode blocking --count $N --secs 20
	bg_wait_line ksrv '^READY' 15 || fail "kernel server not ready"
	got=$(ns_a env ANYLOAD_STATS_AT_EXIT=1 timeout 30 "$AL" \
		--interface="$IF_A" python3 "$PROG" client --dst "$IP_B" \
		--port 9501 --mode "$mode" --count $N --secs 20 \
		2>"$TMPD/cl.err" || true)
	expect_eq "anyload client vs kernel server ($mode)" "$got" "OK n=$N"
	bg_wait ksrv 10
	check_accel_udp "$TMPD/cl.err" $N $N
done

log "---- sockperf"
require_cmd sockperf
# sockperf_pp TAG CLIENT_PREFIX...: ping-pong against the server on IP_A.
sockperf_pp()
{
	local tag=$1

	shift
	ns_b env ANYLOAD_STATS_AT_EXIT=1 timeout 30 "$@" sockperf ping-pong \
		-i "$IP_A" -p 11111 -m 64 -t 2 >"$TMPD/$tag.out" \
		2>"$TMPD/$tag.err" || true
	grep -E 'Summary: Latency|percentile (50|99)\.000 ' "$TMPD/$tag.out" ||
		fail "sockperf $tag: $(tail -n 5 "$TMPD/$tag.out")"
}
bg_start sps "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 "$AL" --profile=latency \
	--interface="$IF_A" sockperf server -i "$IP_A" -p 11111
bg_wait_line sps 'listen on' 15 || fail "sockperf server: $(cat "$TMPD/sps.err")"
sleep 0.5
sockperf_pp pp1
sockperf_pp pp2 "$AL" --profile=latency --interface="$IF_B"
check_accel_udp "$TMPD/pp2.err" 1000 1000
# SIGINT: sockperf exits normally, so the counters are printed.
kill -INT "${BG_PID[sps]}"
bg_wait sps 10
check_accel_udp "$TMPD/sps.err" 1000 1000

log "---- socat UDP echo under anyload, nc -u from the kernel"
if ! command -v socat >/dev/null || ! command -v nc >/dev/null; then
	log "SKIPPED: socat or nc not installed (scripts/install-deps.sh)"
else
	bg_start so "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 "$AL" \
		--interface="$IF_A" socat -T 5 UDP4-RECVFROM:9600,reuseaddr EXEC:cat
	sleep 1
	got=$(ns_b timeout 10 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"through socat\n", (sys.argv[1], 9600))
print(s.recv(100).decode().strip())' "$IP_A" 2>&1 || true)
	expect_eq "socat UDP echo under anyload" "$got" "through socat"
	bg_wait so 10
	check_accel_udp "$TMPD/so.err" 1 1
	# nc -u from the kernel into socat under anyload (receive only).
	bg_start sr "$NS_A" "$AL" --interface="$IF_A" socat -u -T 3 \
		UDP4-RECV:9602 STDOUT
	sleep 1
	echo "nc datagram" | ns_b timeout 5 nc -u -w 1 -q 1 "$IP_A" 9602 || true
	bg_wait sr 10
	expect_eq "nc -u into socat under anyload" "$(cat "$TMPD/sr.out")" \
		"nc datagram"
fi
log "PASS"
