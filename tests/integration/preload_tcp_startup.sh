#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_startup: a pre-forking server that starts under load. nginx
# with a master and 2 workers, `daemon off` (as in a container), under
# anyload while HTTP keep-alive clients (progs/http_churn.py, 3 of them,
# each holding a connection ~300 ms for 5 requests) knock from before it
# listens until 6 s later. The master listens in its stack; the first
# worker to use the listener takes it: the master's stack closes it and
# lets the queue go, and the worker makes a stack of its own and listens
# there. In that gap the listener's filter stays parked (anyload_tcp_park):
# SYNs are dropped, and sent again a second later, instead of reaching the
# kernel socket, whose connections would keep the worker off its stack for
# good (it does not listen in the stack next to kernel connections on the
# port). The connections that the master's stack (or, with `daemon on`,
# the stack of the process that listened, at its exit) had queued for
# accept go with the listener to the worker's stack (tcp_share_queue.c).
# Checks: a worker listens in its stack; no client connection hangs (3 s
# timeouts), is reset or fails otherwise; after the start wrk runs 2 s
# without errors and every one of its responses goes through that
# worker's stack.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"
source "$(dirname "$0")/../harness/nginx.sh"

preload_test_init
require_cmd nginx wrk

D=$TMPD/ng-off
startup_cleanup()
{
	nginx_stop_pidfile "$D/nginx.pid" || true
	itest__cleanup
}
trap startup_cleanup EXIT
ns_setup_pair

# run DAEMON: nginx (`daemon DAEMON`) started under the clients' load.
run()
{
	local daemon=$1 line l tx max_tx=0 requests

	D=$TMPD/ng-$daemon
	mkdir -p "$D/www" "$D/tmp"
	head -c 1024 /dev/urandom >"$D/www/small.bin"
	chmod -R a+rX "$D"
	nginx_conf_write "$D/nginx.conf" "$D" on "$daemon" 2 "$D/nginx.pid" \
		"$D/error.log info" 8080
	log "---- nginx, daemon $daemon, master + 2 workers, started under load"
	bg_start churn "$NS_B" python3 \
		"$REPO/tests/integration/progs/http_churn.py" --dst "$IP_A" \
		--port 8080 --path /small.bin --secs 6 --clients 3 --hold 300 \
		--reqs 5
	sleep 0.5   # the clients knock before nginx listens (refused)
	if [[ $daemon == off ]]; then
		bg_start ng "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 \
			"$AL" --interface="$IF_A" nginx -p "$D" \
			-c "$D/nginx.conf" -e "$D/error.log"
	else
		# The process that listens forks the master and exits.
		ns_a env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
			--interface="$IF_A" nginx -p "$D" -c "$D/nginx.conf" \
			-e "$D/error.log" 2>"$TMPD/ng.err" ||
			fail "nginx: $(cat "$TMPD/ng.err" "$D/error.log")"
	fi
	wait_count "$D/error.log" \
		"TCP listener 0.0.0.0:8080 accelerated again, in this process's stack" 1 10 ||
		fail "no worker listens in its stack: $(grep -h anyload \
"$D/error.log" "$TMPD/ng.err" | grep -E 'stays|listener|stack' | head -n 20)"
	bg_wait churn 15
	expect_eq "clients' exit" "$BG_RC" 0
	line=$(grep '^DONE' "$TMPD/churn.out") ||
		fail "clients: $(cat "$TMPD/churn.out" "$TMPD/churn.err")"
	log "clients: $line"
	expect_eq "client connections that hung" "$(field "$line" timeout)" 0
	expect_eq "client connections that failed otherwise" \
		"$(field "$line" other)" 0
	# The connections that the stack of the master (`daemon off`) or of
	# the process that listened and exited (`daemon on`) had queued go to
	# the worker that listens in its stack (tcp_share_queue.c): none is
	# reset.
	grep -h "queued in the" "$D/error.log" "$TMPD/ng.err" 2>/dev/null |
		sed 's/^/    /' || true
	expect_eq "client connections reset" "$(field "$line" reset)" 0
	(($(field "$line" requests) > 0)) || fail "no request answered: $line"
	(($(field "$line" ok) > 0)) || fail "no connection served whole: $line"

	nginx_wrk "$TMPD/wrk.out" 2 "http://$IP_A:8080/small.bin"
	requests=$WRK_REQUESTS
	nginx_stop_pidfile "$D/nginx.pid" || fail "nginx did not stop in 10 s"
	if [[ $daemon == off ]]; then
		bg_wait ng 10
		expect_eq "nginx's exit status" "$BG_RC" 0
	fi
	while read -r l; do
		tx=$(field "$l" tcp_tx_bytes)
		((tx > max_tx)) && max_tx=$tx
	done < <(grep -hE 'sockets: .* tcp_accelerated=' "$D/error.log" \
		"$TMPD/ng.err")
	((max_tx >= requests * 1024)) ||
		fail "no worker sent wrk's $requests responses through its stack \
(largest tcp_tx_bytes $max_tx): $(grep -h 'sockets:' "$D/error.log" "$TMPD/ng.err")"
	log "the accelerated worker sent $max_tx bytes through its stack"
	no_xdp_left "$NS_A" "$IF_A" "after nginx"
}

run off
run on
log "PASS"
