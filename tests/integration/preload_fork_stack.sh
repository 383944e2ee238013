#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_fork_stack: a forked child lets go of its copy of the parent's
# stack at the fork (anyload_stack_forget), so that it can make a stack
# of its own once the interface queue is free. progs/fork_stack.py under
# anyload in NS_A, with a UDP echo server (the kernel's) in NS_B; on each
# backend:
#   1. --mode exit (a daemon's first process): the parent, whose stack is
#      up, forks and exits; the child's new UDP socket gets a stack of the
#      child's (logged "stack up" with the child's pid) and its 5 echoes
#      go through it (its counters at exit). Before the child let go of
#      its copy, AF_XDP kept the queue taken by the inherited socket for
#      as long as the child lived.
#   2. --mode stay: the parent keeps its stack; the child's socket finds
#      the queue taken (AF_XDP: "in use by process <parent>" at once;
#      AF_PACKET: a stack of its own) and its 5 echoes work either way.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
ns_setup_pair
FPROG=$REPO/tests/integration/progs/fork_stack.py
ECHOD=$REPO/tests/integration/progs/udp_echod.py
PORT=9850

for p in $PORT $((PORT + 1)); do
	bg_start "echo$p" "$NS_B" python3 "$ECHOD" --port "$p" --secs 120
	bg_wait_line "echo$p" '^READY' 10 || fail "echo server $p not ready"
done

# child_line OUT: the child's line, waited for (the parent may exit
# first), bounded.
child_line()
{
	wait_count "$1" '^CHILD ' 1 10 || fail "no line from the child: $(cat "$1")"
	grep '^CHILD ' "$1"
}

# counters ERR PID: the sockets line that process PID printed at exit.
counters()
{
	wait_count "$1" "anyload\[$2\]: sockets:" 1 5 || true
	grep "anyload\[$2\]: sockets:" "$1" | tail -n 1
}

for backend in afxdp afpacket; do
	for mode in exit stay; do
		log "---- $backend, parent ${mode}s"
		out=$TMPD/$backend-$mode.out
		err=$TMPD/$backend-$mode.err
		ns_a env ANYLOAD_BACKEND="$backend" ANYLOAD_STATS_AT_EXIT=1 \
			ANYLOAD_LOG=2 timeout 30 "$AL" --interface="$IF_A" \
			python3 "$FPROG" --ip "$IP_A" --peer "$IP_B" \
			--port "$PORT" --mode "$mode" >"$out" 2>"$err" ||
			fail "fork_stack.py: $(cat "$out" "$err")"
		line=$(child_line "$out")
		parent=$(sed -n 's/^PARENT pid=\([0-9]*\).*/\1/p' "$out")
		child=$(sed -n 's/^CHILD pid=\([0-9]*\).*/\1/p' <<<"$line")
		expect_eq "the child's echoes" "${line##*echoes=}" 5
		grep -q "anyload\[$parent\]: stack up" "$err" ||
			fail "the parent's stack: $(cat "$err")"
		c=$(counters "$err" "$child")
		[[ -n "$c" ]] || fail "no counters from the child: $(cat "$err")"
		log "child: ${c#*sockets: }"
		if [[ $mode == exit || $backend == afpacket ]]; then
			grep -q "anyload\[$child\]: stack up" "$err" ||
				fail "no stack in the child: $(cat "$err")"
			[[ $(field "$c" udp_accelerated) -ge 1 &&
				$(field "$c" rx_stack) -ge 5 ]] ||
				fail "the child's echoes did not go through its stack: $c"
		else
			grep -q "queue 0 of ifindex [0-9]* is in use by process $parent" \
				"$err" || fail "no queue-taken line: $(cat "$err")"
			# The counters start from the parent's at the fork.
			[[ $(field "$c" udp_kernel) -ge 1 &&
				$(field "$c" rx_stack) -eq 0 ]] ||
				fail "the child's socket was not the kernel's: $c"
		fi
	done
done
for p in $PORT $((PORT + 1)); do
	bg_stop "echo$p"
done
log "PASS"
