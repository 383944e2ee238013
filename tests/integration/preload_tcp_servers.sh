#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_servers: unmodified servers under anyload in netns+veth,
# loaded from the kernel side (NS_B):
#   1. nginx with its defaults `daemon on` and a master with 2 workers
#      (fork after listen) running as nobody: the fork shares the listener
#      with the child (logged; ANYLOAD_TCP_HANDOVER=2); before a worker
#      drops its privileges it takes the listener from the parent's stack
#      into a stack of its own (tcp_follow.c), the other worker serves
#      from the kernel socket; a 1 MB file fetched by curl (SHA-256) and
#      wrk for 3 s without errors, also from loopback, and the responses
#      through veth counted in one worker's stack;
#   2. the same with `daemon off` (nginx in a container): the master's
#      stack, which held the listener alone, goes when a worker takes it;
#   3. nginx with `master_process off; daemon off;` (one process):
#      accelerated (its counters at exit: the bytes of every response went
#      through the stack), sendfile on, keepalive; curl and wrk as above;
#   4. redis-server under anyload and redis-benchmark -t set,get -n 20000
#      from NS_B: every request answered, no error, and the server's
#      counters show the traffic through the stack.
# Every server has a private prefix in the test's temporary directory and
# is stopped by its pid in the trap.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"
source "$(dirname "$0")/../harness/nginx.sh"

preload_test_init
require_cmd nginx curl wrk redis-server redis-benchmark

servers_cleanup()
{
	nginx_stop_pidfile "$TMPD/ng1/nginx.pid" || true
	nginx_stop_pidfile "$TMPD/ng2/nginx.pid" || true
	nginx_stop_pidfile "$TMPD/ng3/nginx.pid" || true
	itest__cleanup
}
trap servers_cleanup EXIT
ns_setup_pair


# nginx_conf DIR MASTER DAEMON: a private nginx prefix in DIR.
nginx_conf()
{
	local d=$1

	mkdir -p "$d/www" "$d/tmp"
	head -c 1048576 /dev/urandom >"$d/www/f.bin"
	chmod -R a+rX "$d"
	nginx_conf_write "$d/nginx.conf" "$d" "$2" "$3" 2 "$d/nginx.pid" \
		"$d/error.log info" 8080
}

wait_port()
{
	local i

	for ((i = 0; i < 100; i++)); do
		ns_a ss -ltn | grep -q ":$1 " && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1"
}

# fetch_and_load DIR: curl the file (checksum) from NS_B and from
# loopback, then wrk for 3 s from NS_B without errors.
fetch_and_load()
{
	local d=$1 want got

	want=$(sha256sum <"$d/www/f.bin")
	got=$(ns_b timeout 20 curl -sS "http://$IP_A:8080/f.bin" | sha256sum)
	expect_eq "curl of the file through veth" "$got" "$want"
	got=$(ns_a timeout 20 curl -sS "http://127.0.0.1:8080/f.bin" | sha256sum)
	expect_eq "curl of the file through loopback" "$got" "$want"
	nginx_wrk "$TMPD/wrk.out" 3 "http://$IP_A:8080/f.bin"
}

# check_worker_stack LOG ERR: the workers (user nobody) claimed the
# listener before they dropped their privileges; one of them listens in a
# stack of its own, the other found the interface queue taken and serves
# from the kernel socket. Every response through veth ($requests of the
# last wrk run) went through that worker's stack (its counters at exit,
# in nginx's error log LOG; ERR: nginx's own stderr, for the message).
check_worker_stack()
{
	local max_tx=0 tx line

	grep -q "TCP listener 0.0.0.0:8080 accelerated again, in this process's stack" \
		"$1" || fail "no worker took the listener into its stack: \
$(grep -h anyload "$2" "$1" | grep -v accepted)"
	while read -r line; do
		tx=$(field "$line" tcp_tx_bytes)
		((tx > max_tx)) && max_tx=$tx
	done < <(grep -E 'sockets: .* tcp_accelerated=' "$1")
	((max_tx >= requests * 1048576)) ||
		fail "no worker sent the $requests responses through its stack \
(largest tcp_tx_bytes $max_tx): $(grep -h 'sockets:' "$1")"
	log "the accelerated worker sent $max_tx bytes through its stack"
	# The worker could not detach the XDP program at its exit (user
	# nobody); the master, which had let its stack go, tidied it at its.
	no_xdp_left "$NS_A" "$IF_A" "after nginx"
}

log "---- nginx, daemon on, master + 2 workers"
D=$TMPD/ng1
nginx_conf "$D" on on
ns_a env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" --interface="$IF_A" \
	nginx -p "$D" -c "$D/nginx.conf" -e "$D/error.log" 2>"$TMPD/ng1.err" ||
	fail "nginx: $(cat "$TMPD/ng1.err" "$D/error.log")"
wait_port 8080
fetch_and_load "$D"
requests=$WRK_REQUESTS
# nginx forks (daemon) before it sends stderr to its error log.
grep -q "TCP listener 0.0.0.0:8080 accelerated" "$TMPD/ng1.err" ||
	fail "no listener line: $(cat "$TMPD/ng1.err")"
grep -qE "fork: [0-9]+ accelerated TCP sockets? shared with the child" "$TMPD/ng1.err" ||
	fail "no line of the fork sharing the listener: $(cat "$TMPD/ng1.err")"
nginx_stop_pidfile "$D/nginx.pid" || fail "nginx did not stop in 10 s"
check_worker_stack "$D/error.log" "$TMPD/ng1.err"

log "---- nginx, master + 2 workers, daemon off (as in a container)"
D=$TMPD/ng3
nginx_conf "$D" on off
bg_start ng3 "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
	--interface="$IF_A" nginx -p "$D" -c "$D/nginx.conf" -e "$D/error.log"
wait_port 8080
# Until a worker takes the listener, the master's stack holds it, and a
# connection that the master's stack queued is reset when the listener
# leaves it (a known gap: README, "Pre-forking servers"): the clients
# come once a worker has it.
wait_count "$D/error.log" "accelerated again, in this process's stack" 1 10 ||
	true   # check_worker_stack below says what is missing
fetch_and_load "$D"
requests=$WRK_REQUESTS
nginx_stop_pidfile "$D/nginx.pid" || fail "nginx did not stop in 10 s"
bg_wait ng3 10
expect_eq "nginx's exit status" "$BG_RC" 0
# The master's stack held the listener alone: it went when a worker took
# the listener, so that the worker could have the interface queue.
grep -q "stack on $IF_A released: no socket left in it" \
	"$TMPD/ng3.err" "$D/error.log" ||
	fail "the master kept its stack: $(grep -h anyload "$TMPD/ng3.err" \
"$D/error.log" | grep -v accepted)"
check_worker_stack "$D/error.log" "$TMPD/ng3.err"

log "---- nginx, master_process off, daemon off: accelerated"
D=$TMPD/ng2
nginx_conf "$D" off off
bg_start ng "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
	--interface="$IF_A" nginx -p "$D" -c "$D/nginx.conf" -e "$D/error.log"
wait_port 8080
fetch_and_load "$D"
requests=$WRK_REQUESTS
nginx_stop_pidfile "$D/nginx.pid" || fail "nginx did not stop in 10 s"
bg_wait ng 10
expect_eq "nginx's exit status" "$BG_RC" 0
# The listener's line comes before nginx sends stderr to its error log.
grep -q "TCP listener 0.0.0.0:8080 accelerated" "$TMPD/ng.err" "$D/error.log" ||
	fail "nginx listener: $(grep -h anyload "$TMPD/ng.err" "$D/error.log")"
check_tcp "$D/error.log" 0 $(((requests + 1) * 1048576))

log "---- redis-server under anyload, redis-benchmark from the kernel"
R=$TMPD/redis
mkdir -p "$R"
bg_start rd "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
	--interface="$IF_A" redis-server --port 6390 --bind "$IP_A" \
	--save "" --appendonly no --daemonize no --dir "$R" \
	--protected-mode no --logfile ""
wait_port 6390
ns_b timeout 40 redis-benchmark -h "$IP_A" -p 6390 -t set,get -n 20000 \
	-c 20 -q >"$TMPD/rb.out" 2>&1 || fail "redis-benchmark: $(cat "$TMPD/rb.out")"
tr '\r' '\n' <"$TMPD/rb.out" | grep -E '^(SET|GET): [0-9.]+ requests' ||
	fail "redis-benchmark: $(cat "$TMPD/rb.out")"
for t in SET GET; do
	# Not `tr | grep -q`: with pipefail, tr dies of SIGPIPE when grep -q
	# stops at its match, and the check fails although the line is there.
	grep -qE "^$t: [0-9.]+ requests per second" < <(tr '\r' '\n' <"$TMPD/rb.out") ||
		fail "no $t result: $(cat "$TMPD/rb.out")"
done
if grep -qiE 'error|refused|reset' "$TMPD/rb.out"; then
	fail "redis-benchmark errors: $(cat "$TMPD/rb.out")"
fi
kill -TERM "${BG_PID[rd]}"
bg_wait rd 10
expect_eq "redis-server's exit status" "$BG_RC" 0
check_tcp "$TMPD/rd.err" 40000 40000
log "PASS"
