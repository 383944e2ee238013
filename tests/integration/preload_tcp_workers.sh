#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_workers: every worker of a pre-forking server accelerated, one
# per interface queue. nginx with its defaults (`daemon on`, a master and 2
# workers running as nobody) under anyload on a veth with 2 queues: the
# first worker takes queue 0 into its stack, the second finds it taken and
# takes queue 1 (ANYLOAD_STACK_F_ANY_QUEUE); both listen on port 8080 in
# their stacks, sharing the listener's filter across the queues
# (EF_FILTER_FLAG_SHARE_QUEUES). veth delivers its TX queue i to the
# peer's RX queue i, and the kernel of NS_B picks a TCP connection's TX
# queue by the hash of the socket (no XPS here): each connection stays on
# one queue, as RSS keeps a flow on a NIC, and the connections spread over
# both. (XPS would not do: it moves a connection to the queue of the CPU
# that sends, e.g. the ACK of a SYN-ACK from a softirq on another CPU, and
# the other queue's worker does not know that connection.) curl gets the
# 1 MiB file whole (SHA-256) 4 times, wrk with 16 connections runs 3 s
# without errors, and the workers' counters at exit show that both served
# through their stacks, together every response. Loopback still reaches
# the kernel socket. Nothing is left on the interface afterwards. Then
# again with one worker killed (SIGKILL): its queue's connections go to
# the kernel socket, every curl and wrk request is still answered.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"
source "$(dirname "$0")/../harness/nginx.sh"

preload_test_init
require_cmd nginx curl wrk

D=$TMPD/ng
workers_cleanup()
{
	nginx_stop_pidfile "$D/nginx.pid" || true
	itest__cleanup
}
trap workers_cleanup EXIT

NS_QUEUES=2 ns_setup_pair
mkdir -p "$D/www" "$D/tmp"
head -c 1048576 /dev/urandom >"$D/www/f.bin"
chmod -R a+rX "$D"
nginx_conf_write "$D/nginx.conf" "$D" on on 2 "$D/nginx.pid" \
	"$D/error.log info" 8080

# start_nginx N: start nginx under anyload (a daemon) and wait until N
# workers in all (in this test's error log) have taken the listener into
# stacks of their own, which they do before they serve (they claim it
# before they drop their privileges).
start_nginx()
{
	ns_a env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" --interface="$IF_A" \
		nginx -p "$D" -c "$D/nginx.conf" -e "$D/error.log" 2>"$TMPD/ng.err" ||
		fail "nginx: $(cat "$TMPD/ng.err" "$D/error.log")"
	wait_count "$D/error.log" \
		"TCP listener 0.0.0.0:8080 accelerated again, in this process's stack" "$1" 10 ||
		fail "not both workers accelerated: $(grep -h anyload "$D/error.log" | grep -v accepted)"
}

log "---- nginx, daemon on, master + 2 workers, 2-queue veth"
start_nginx 2

# worker_on Q: the pid of the worker whose stack is on queue Q.
worker_on()
{
	sed -n "s/^.*anyload\[\([0-9]*\)\]: stack up on $IF_A (ifindex [0-9]*, queue $1, .*/\1/p" \
		"$D/error.log" | tail -n 1
}
w0=$(worker_on 0)
w1=$(worker_on 1)
[[ -n "$w0" && -n "$w1" && "$w0" != "$w1" ]] ||
	fail "want one worker per queue, got queue 0: '$w0', queue 1: '$w1': \
$(grep -h 'stack up' "$D/error.log")"
log "worker $w0 on queue 0, worker $w1 on queue 1"
# anyload_stackdump shows each worker's stack on its queue.
for q in 0 1; do
	w=$w0
	((q == 0)) || w=$w1
	"$BUILD/bin/anyload_stackdump" --json "$w" >"$TMPD/sd$q.json" ||
		fail "anyload_stackdump $w: $(cat "$TMPD/sd$q.json")"
	expect_eq "anyload_stackdump: worker $w's queue" \
		"$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d[0]["queue"] if isinstance(d, list) else d["queue"])' "$TMPD/sd$q.json")" $q
done

want=$(sha256sum <"$D/www/f.bin")
for i in 1 2 3 4; do
	got=$(ns_b timeout 20 curl -sS "http://$IP_A:8080/f.bin" | sha256sum)
	expect_eq "curl $i of the file through veth" "$got" "$want"
done
got=$(ns_a timeout 20 curl -sS "http://127.0.0.1:8080/f.bin" | sha256sum)
expect_eq "curl of the file through loopback" "$got" "$want"

nginx_wrk "$TMPD/wrk.out" 3 "http://$IP_A:8080/f.bin"
requests=$WRK_REQUESTS
log "RX queues of $IF_A: $(ns_a ethtool -S "$IF_A" | grep -E 'rx_queue_[01]_xdp_packets' | xargs)"

nginx_stop_pidfile "$D/nginx.pid" || fail "nginx did not stop in 10 s"
rm -f "$D/nginx.pid"

# tx_of PID: the bytes that process sent through its stack (at its exit).
tx_of()
{
	local line

	line=$(grep "anyload\[$1\]: sockets: " "$D/error.log" | tail -n 1)
	[[ -n "$line" ]] || fail "no counters of process $1 at its exit"
	field "$line" tcp_tx_bytes
}
tx0=$(tx_of "$w0")
tx1=$(tx_of "$w1")
log "through their stacks: worker $w0 (queue 0) sent $tx0 bytes, worker $w1 (queue 1) $tx1"
# 1 MiB per response: every worker served, and together all 4 + wrk's.
((tx0 >= 1048576 && tx1 >= 1048576)) ||
	fail "a worker served nothing through its stack ($tx0, $tx1 bytes)"
((tx0 + tx1 >= (requests + 4) * 1048576)) ||
	fail "the workers' stacks sent $((tx0 + tx1)) bytes, fewer than the \
$((requests + 4)) responses through veth"
no_xdp_left "$NS_A" "$IF_A" "after nginx"

# A worker killed (SIGKILL: no exit handler): the connections that reach
# its queue find no socket there and go to the kernel, whose listener
# every worker shares; the master starts a new worker. Every client still
# gets the whole file, wrk sees no error, and nothing is left afterwards.
log "---- nginx again; a worker killed with SIGKILL"
start_nginx 4
w1=$(worker_on 1)
kill -KILL "$w1"
wait_count "$D/error.log" "worker process $w1 exited on signal 9" 1 10 ||
	fail "nginx did not see worker $w1 die: $(tail -n 5 "$D/error.log")"
for i in 1 2 3 4 5 6 7 8; do
	got=$(ns_b timeout 20 curl -sS "http://$IP_A:8080/f.bin" | sha256sum)
	expect_eq "curl $i after the kill" "$got" "$want"
done
nginx_wrk "$TMPD/wrk2.out" 2 "http://$IP_A:8080/f.bin"
log "the new worker: $(grep -h 'anyload\[' "$D/error.log" | grep -v accepted | tail -n 3 | tr '\n' ' ')"
nginx_stop_pidfile "$D/nginx.pid" || fail "nginx did not stop in 10 s"
rm -f "$D/nginx.pid"
no_xdp_left "$NS_A" "$IF_A" "after nginx with a killed worker"
echo "preload_tcp_workers: PASS"
