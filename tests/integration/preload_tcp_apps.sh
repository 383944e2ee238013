#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_apps: TCP acceleration by libanyload.so for unmodified
# tools in netns+veth: a socat relay, sockperf --tcp and iperf3. Each
# anyload run prints its counters at exit (ANYLOAD_STATS_AT_EXIT=1), and
# each check requires the bytes to have gone through the stack. Checks:
#   1. socat TCP relay under anyload in NS_A (it accepts an accelerated
#      connection from NS_B and opens an accelerated one to a kernel
#      server in NS_B); the Python client's data and the server's answer
#      are checked by SHA-256 through it, half-close included;
#   2. sockperf server --tcp and sockperf ping-pong --tcp, both under
#      anyload (the client in NS_B on IF_B), 2 s: a latency summary,
#      both ends' TCP counters;
#   3. iperf3 server and client, both under anyload, 3 s: the bytes the
#      client reports (JSON) arrive, and the server's stack received them;
#      the client's selects (on two accelerated connections) ask the
#      kernel only to sleep, never when the stack has a socket ready;
#      again with -w 2M, for which the server listens again on its port
#      while the control connection lives on.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
require_cmd socat sockperf iperf3
BYTES=300000
ns_setup_pair


log "---- socat TCP relay under anyload"
bg_start ksrv "$NS_B" python3 "$TPROG" server --port 9801 --mode blocking \
	--conns 1 --bytes $BYTES --secs 20
bg_wait_line ksrv '^READY' 15 || fail "kernel server not ready"
bg_start relay "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
	--interface="$IF_A" socat -t 10 -T 20 TCP4-LISTEN:9800,reuseaddr \
	"TCP4:$IP_B:9801"
for ((i = 0; i < 50; i++)); do
	ns_a ss -ltn | grep -q ':9800 ' && break
	sleep 0.1
done
got=$(ns_b timeout 30 python3 "$TPROG" client --dst "$IP_A" --port 9800 \
	--mode blocking --bytes $BYTES --secs 20 || true)
[[ "$got" == "OK bytes=$BYTES sha="* ]] ||
	fail "through the socat relay: $got $(tail -n 5 "$TMPD/relay.err")"
bg_wait ksrv 10
bg_wait relay 15
expect_eq "socat's exit status" "$BG_RC" 0
grep -q "TCP connection from $IP_B:[0-9]* accepted, accelerated" \
	"$TMPD/relay.err" || fail "relay accept: $(cat "$TMPD/relay.err")"
grep -q "TCP $IP_A:[0-9]* -> $IP_B:9801 accelerated" "$TMPD/relay.err" ||
	fail "relay connect: $(cat "$TMPD/relay.err")"
check_tcp "$TMPD/relay.err" $((2 * BYTES)) $((2 * BYTES))

log "---- sockperf --tcp, both ends under anyload"
bg_start sps "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 "$AL" --profile=latency \
	--interface="$IF_A" sockperf server --tcp -i "$IP_A" -p 11112
bg_wait_line sps 'listen on' 15 || fail "sockperf server: $(cat "$TMPD/sps.err")"
ns_b env ANYLOAD_STATS_AT_EXIT=1 timeout 30 "$AL" --profile=latency \
	--interface="$IF_B" sockperf ping-pong --tcp -i "$IP_A" -p 11112 \
	-m 64 -t 2 >"$TMPD/spc.out" 2>"$TMPD/spc.err" || true
grep -E 'Summary: Latency|percentile (50|99)\.000 ' "$TMPD/spc.out" ||
	fail "sockperf --tcp: $(tail -n 5 "$TMPD/spc.out" "$TMPD/spc.err")"
check_tcp "$TMPD/spc.err" 64000 64000
# The server is back in accept, spinning (latency profile): SIGINT ends
# its accept with EINTR as the kernel's would (no SA_RESTART).
kill -INT "${BG_PID[sps]}"
bg_wait sps 10
expect_eq "sockperf server's exit status" "$BG_RC" 0
check_tcp "$TMPD/sps.err" 64000 64000

# iperf_run PORT SECS CLIENT_ARGS...: iperf3 server and client, both under
# anyload, for SECS seconds; the bytes the client reports must have gone
# through both stacks.
iperf_run()
{
	local port=$1 secs=$2 sent recvd i

	shift 2
	bg_start "ips$port" "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 "$AL" \
		--interface="$IF_A" iperf3 -s -1 -B "$IP_A" -p "$port"
	for ((i = 0; i < 50; i++)); do
		ns_a ss -ltn | grep -q ":$port " && break
		sleep 0.1
	done
	ns_b env ANYLOAD_STATS_AT_EXIT=1 timeout 30 "$AL" --interface="$IF_B" \
		iperf3 -c "$IP_A" -p "$port" -t "$secs" -J "$@" \
		>"$TMPD/ipc$port.json" 2>"$TMPD/ipc$port.err" || true
	read -r sent recvd < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
if "error" in j:
    print(0, 0, j["error"])
else:
    print(int(j["end"]["sum_sent"]["bytes"]),
          int(j["end"]["sum_received"]["bytes"]))' "$TMPD/ipc$port.json" \
		2>&1 || echo 0 0)
	log "iperf3 $*: sent $sent received $recvd bytes"
	((recvd > 1000000)) ||
		fail "iperf3 $*: $(tail -n 5 "$TMPD/ipc$port.json" \
			"$TMPD/ipc$port.err")"
	bg_wait "ips$port" 15
	expect_eq "iperf3 server's exit status" "$BG_RC" 0
	check_tcp "$TMPD/ips$port.err" "$recvd" 0
	check_tcp "$TMPD/ipc$port.err" 0 "$recvd"
}

log "---- iperf3, both ends under anyload"
iperf_run 5211 3
# The client's select() watches its control and data connections, both
# accelerated: when the stack has one ready, the library answers from the
# stack alone (it used to ask the kernel too, a system call per such
# select); it asks the kernel only to sleep.
line=$(grep -E 'sockets: .* waits=' "$TMPD/ipc5211.err" | tail -n 1)
waits=$(field "$line" waits)
log "iperf3 client: $waits selects, $(field "$line" wait_kernel_polls)" \
	"kernel polls, $(field "$line" wait_ready_kernel_polls) of them with" \
	"a socket ready in the stack"
((waits > 100)) || fail "iperf3 client: only $waits selects"
expect_eq "iperf3 client: kernel polls with a socket ready in the stack" \
	"$(field "$line" wait_ready_kernel_polls)" 0
# With -w the server closes its listener and listens again (to set the
# buffer first) while the control connection it accepted lives on.
log "---- iperf3 -w 2M (the server listens again)"
iperf_run 5212 2 -w 2M
log "PASS"
