#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_et_arrivals: EPOLLET on an accelerated TCP connection gives
# an event for every arrival, as the kernel's does, also to a program
# that reads once per event and never meets EAGAIN (nginx reads once when
# recv returns less than its buffer). progs/et_once.py serves 50 requests
# of a kernel client in NS_B that way, pausing 5 ms after each answer so
# that the next request is taken in by the stack before the program waits
# again (the readiness it sees then never went low): on the kernel, then
# under `anyload --interface=IF_A` (accelerated: its counters show the
# bytes through the stack). A missing event stalls the server ("STALL").
# Then nginx (one process, keep-alive, EPOLLET) under anyload answers wrk
# for 2 s with 2 connections: at least 2000 requests, none failed (it
# stalled after a few hundred before the fix).
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"
source "$(dirname "$0")/../harness/nginx.sh"

preload_test_init
require_cmd nginx wrk
ET=$REPO/tests/integration/progs/et_once.py
ROUNDS=50

nginx_cleanup()
{
	if [[ -s "${TMPD:-}/ng/nginx.pid" ]]; then
		kill -KILL "$(cat "$TMPD/ng/nginx.pid")" 2>/dev/null || true
	fi
	itest__cleanup
}
# Before ns_setup_pair, which chains it after its own (set after, it
# replaced the namespaces' removal: every run left its pair behind).
trap nginx_cleanup EXIT
ns_setup_pair

# serve TAG PORT [PREFIX...]: et_once's server (under PREFIX) in NS_A,
# its client in NS_B; both must finish every round.
serve()
{
	local tag=$1 port=$2 out

	shift 2
	bg_start "$tag" "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 "$@" \
		python3 "$ET" server --port "$port" --rounds "$ROUNDS" --pause-ms 5
	bg_wait_line "$tag" '^READY' 15 ||
		fail "$tag: server not ready: $(cat "$TMPD/$tag.err")"
	out=$(ns_b timeout 60 python3 "$ET" client --dst "$IP_A" --port "$port" \
		--rounds "$ROUNDS") || fail "$tag: client: $out; server: $(cat "$TMPD/$tag.out")"
	bg_wait "$tag" 15
	expect_eq "$tag: server" "$(tail -n 1 "$TMPD/$tag.out")" "DONE rounds=$ROUNDS"
	expect_eq "$tag: server's exit status" "$BG_RC" 0
}

log "---- read once per EPOLLET event: kernel"
serve kernel 9810
log "---- the same under anyload"
serve anyload 9811 "$AL" --interface="$IF_A"
check_tcp "$TMPD/anyload.err" $((16 * ROUNDS)) $((16 * ROUNDS))

log "---- nginx (one process, keep-alive) under anyload, wrk 2 connections"
D=$TMPD/ng
mkdir -p "$D/www" "$D/tmp"
head -c 1024 /dev/urandom >"$D/www/small.bin"
chmod -R a+rX "$D"
nginx_conf_write "$D/nginx.conf" "$D" off off 1 "$D/nginx.pid" "stderr warn" 8090
bg_start ng "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 "$AL" --interface="$IF_A" \
	nginx -p "$D" -c "$D/nginx.conf" -e stderr
for ((i = 0; i < 100; i++)); do
	ns_a ss -ltn | grep -q ":8090 " && break
	sleep 0.1
done
ns_b timeout 20 wrk -t 1 -c 2 -d 2s "http://$IP_A:8090/small.bin" \
	>"$TMPD/wrk.out" 2>&1 || fail "wrk: $(cat "$TMPD/wrk.out")"
log "wrk: $(grep -E 'requests in|Requests/sec' "$TMPD/wrk.out" | xargs)"
requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$TMPD/wrk.out")
((requests >= 2000)) ||
	fail "nginx answered $requests requests in 2 s: $(cat "$TMPD/wrk.out")"
if grep -qE 'Socket errors|Non-2xx' "$TMPD/wrk.out"; then
	fail "wrk saw errors: $(cat "$TMPD/wrk.out")"
fi
kill -TERM "${BG_PID[ng]}"
bg_wait ng 10
check_tcp "$TMPD/ng.err" 1 $((requests * 1024))
log "PASS"
