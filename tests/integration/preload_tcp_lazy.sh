#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test-timeout: 240
#
# preload_tcp_lazy: the lazy hand-over at fork (ANYLOAD_TCP_HANDOVER=2,
# the default; src/preload/tcp_share.c): a server that forks a helper
# which never uses its sockets keeps them all accelerated.
#   1. progs/lazy_prog.py's echo server in NS_A, under anyload (and on the
#      kernel, to check the program), with 4 established connections from
#      NS_B forks a child that sleeps 1.5 s and exits (redis's BGSAVE
#      pattern), then a child that first closes every inherited socket.
#      The client's echo rounds (200000 bytes each way per connection,
#      checked byte for byte) run before, during and after the child's
#      life, then on 2 new connections too. Under anyload: the fork shared
#      the 5 sockets (log), no socket went to the kernel (no hand-over
#      line, tcp_detached 0 at exit, tcp_kernel 0), every connection old
#      and new was accelerated, and the bytes went through the stack.
#   2. redis-server under anyload: redis-benchmark, BGSAVE (redis forks
#      its child, which writes the dump and exits) while a client keeps a
#      connection open, then that client's commands and redis-benchmark
#      again: nothing went to the kernel, the dump was written.
#   3. a client under anyload with two connect()ed connections (filters
#      of their own) forks; the parent closes the first one at once: it
#      goes to the kernel then (the child may hold it), and the child
#      echoes on it (checked) after; the second stays accelerated and
#      echoes in the parent after the child is gone.
# The server that closes an accepted connection while the child uses it is
# tests/integration/preload_tcp_fork.sh (closefirst).
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
require_cmd redis-server redis-cli redis-benchmark
ns_setup_pair
LPROG=$REPO/tests/integration/progs/lazy_prog.py
PORT=9800
CONNS=4
NEW=2

# expect_untouched FILE CONNS: stderr FILE of a server under anyload
# (ANYLOAD_LOG=2, ANYLOAD_STATS_AT_EXIT=1) whose forks shared its
# sockets and whose children never used them.
expect_untouched()
{
	local f=$1 conns=$2 line

	[[ $(count_lines "$f" 'fork: [0-9]+ accelerated TCP sockets? shared') -ge 1 ]] ||
		fail "$f: no fork shared its sockets: $(tail -n 20 "$f")"
	if grep -q 'handed to the kernel' "$f"; then
		fail "$f: a socket went to the kernel: $(grep -E 'handed to the kernel|fork|first used' "$f")"
	fi
	expect_eq "$f: children's uses" \
		"$(count_lines "$f" 'first used in this forked child')" 0
	line=$(grep 'stack counters:' "$f" | tail -n 1)
	[[ -n "$line" ]] || fail "$f: no stack counters: $(tail -n 5 "$f")"
	expect_eq "$f: tcp_detached" "$(field "$line" tcp_detached)" ""
	line=$(grep -E 'sockets: .* tcp_accelerated=' "$f" | tail -n 1)
	expect_eq "$f: tcp_kernel" "$(field "$line" tcp_kernel)" 0
	[[ $(field "$line" tcp_accelerated) -ge $((conns + 1)) ]] ||
		fail "$f: fewer than $((conns + 1)) accelerated: $line"
}

# run_echo TAG WHERE CHILD: lazy_prog.py's server (WHERE: anyload or
# kernel) and client, the child mode CHILD (sleep or close).
run_echo()
{
	local tag=$1 where=$2 child=$3 pre=() clrc=0

	PORT=$((PORT + 1))
	if [[ "$where" == anyload ]]; then
		pre=(env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL"
			--interface="$IF_A")
	fi
	bg_start "$tag" "$NS_A" "${pre[@]}" python3 "$LPROG" server \
		--port "$PORT" --conns "$CONNS" --new "$NEW" --child "$child"
	bg_wait_line "$tag" '^READY' 15 ||
		fail "$tag: server not ready: $(cat "$TMPD/$tag.err")"
	ns_b timeout 60 python3 "$LPROG" client --dst "$IP_A" --port "$PORT" \
		--conns "$CONNS" --new "$NEW" >"$TMPD/$tag.cl" 2>&1 || clrc=$?
	bg_wait "$tag" 30
	log "$tag: client rc=$clrc server rc=$BG_RC"
	[[ $clrc -eq 0 && $BG_RC -eq 0 ]] ||
		fail "$tag: $(cat "$TMPD/$tag.cl" "$TMPD/$tag.out") $(tail -n 20 "$TMPD/$tag.err")"
	expect_eq "$tag echo rounds" "$(count_lines "$TMPD/$tag.cl" '^OK round=')" 4
	grep -q '^FORKED' "$TMPD/$tag.out" || fail "$tag: no fork"
	if [[ "$where" == anyload ]]; then
		expect_untouched "$TMPD/$tag.err" $((CONNS + NEW))
		expect_eq "$tag accelerated connections" \
			"$(count_lines "$TMPD/$tag.err" 'TCP connection from .* accelerated')" \
			$((CONNS + NEW))
		expect_eq "$tag fork shared the listener and $CONNS connections" \
			"$(count_lines "$TMPD/$tag.err" "fork: $((CONNS + 1)) accelerated TCP sockets shared")" 1
		check_tcp "$TMPD/$tag.err" $((4 * CONNS * 200000)) \
			$((4 * CONNS * 200000))
	fi
}

for where in kernel anyload; do
	log "---- $where: the child sleeps and exits"
	run_echo "s$where" "$where" sleep
	log "---- $where: the child closes every inherited socket first"
	run_echo "c$where" "$where" close
done

log "---- a client forks; the parent closes a shared connection first"
PORT=$((PORT + 1))
bg_start echo "$NS_B" socat "TCP-LISTEN:$PORT,reuseaddr,fork" EXEC:cat
for ((i = 0; i < 100; i++)); do
	ns_b ss -ltn | grep -q ":$PORT " && break
	sleep 0.1
done
CLRC=0
ns_a env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 timeout 60 "$AL" \
	--interface="$IF_A" python3 "$LPROG" forkclient --dst "$IP_B" \
	--port "$PORT" >"$TMPD/fc.out" 2>"$TMPD/fc.err" || CLRC=$?
bg_stop echo
[[ $CLRC -eq 0 ]] ||
	fail "forkclient rc=$CLRC: $(cat "$TMPD/fc.out") $(tail -n 20 "$TMPD/fc.err")"
expect_eq "forkclient echoes" "$(count_lines "$TMPD/fc.out" '^OK (child|parent)$')" 2
expect_eq "forkclient connections accelerated" \
	"$(count_lines "$TMPD/fc.err" 'TCP .* -> .* accelerated')" 2
expect_eq "forkclient hand-overs at the parent's close" \
	"$(count_lines "$TMPD/fc.err" 'TCP connection .* handed to the kernel at close in the parent, a forked child may hold it:')" 1
expect_eq "forkclient hand-overs in all" \
	"$(count_lines "$TMPD/fc.err" 'handed to the kernel')" 1
expect_eq "forkclient child's first use" \
	"$(count_lines "$TMPD/fc.err" 'first used in this forked child \(.*\): the parent had handed it')" 1
line=$(grep 'stack counters:' "$TMPD/fc.err" | tail -n 1)
expect_eq "forkclient tcp_detached" "$(field "$line" tcp_detached)" 1

log "---- redis-server under anyload: BGSAVE between two benchmarks"
R=$TMPD/redis
mkdir -p "$R"
RPORT=6391
bg_start rd "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
	--interface="$IF_A" redis-server --port "$RPORT" --bind "$IP_A" \
	--save "" --appendonly no --daemonize no --dir "$R" \
	--protected-mode no --logfile ""
for ((i = 0; i < 100; i++)); do
	[[ "$(ns_b redis-cli -h "$IP_A" -p "$RPORT" ping 2>/dev/null)" == PONG ]] &&
		break
	sleep 0.1
done
bench()
{
	ns_b timeout 40 redis-benchmark -h "$IP_A" -p "$RPORT" -t set,get \
		-n 20000 -c 10 -q >"$TMPD/rb$1.out" 2>&1 ||
		fail "redis-benchmark $1: $(cat "$TMPD/rb$1.out")"
	for t in SET GET; do
		grep -qE "^$t: [0-9.]+ requests per second" \
			< <(tr '\r' '\n' <"$TMPD/rb$1.out") ||
			fail "redis-benchmark $1: no $t result: $(cat "$TMPD/rb$1.out")"
	done
	log "redis-benchmark $1: $(tr '\r' '\n' <"$TMPD/rb$1.out" | grep -E '^(SET|GET): [0-9.]+ requests' | xargs)"
}
bench 1
# A client that keeps its connection across the BGSAVE (the parent's
# stack holds it at the fork): SET before, then BGSAVE, then GET after.
ns_b timeout 30 python3 - "$IP_A" "$RPORT" >"$TMPD/rcl.out" 2>&1 <<'EOF' ||
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
f = s.makefile('rb')
def cmd(*args):
    s.sendall(b''.join([b'*%d\r\n' % len(args)] +
                       [b'$%d\r\n%s\r\n' % (len(a), a) for a in args]))
    line = f.readline()
    if line.startswith(b'$'):
        n = int(line[1:])
        return f.read(n + 2)[:-2]
    return line.strip()
val = bytes(range(256)) * 400
print('SET', cmd(b'SET', b'lazy', val))
print('BGSAVE', cmd(b'BGSAVE'))
for _ in range(100):
    info = cmd(b'INFO', b'persistence')
    if b'rdb_bgsave_in_progress:0' in info:
        break
    time.sleep(0.1)
ok = b'rdb_last_bgsave_status:ok' in info
time.sleep(0.5)   # the child is reaped, the parent serves on
print('GET', cmd(b'GET', b'lazy') == val, 'saved', ok)
EOF
	fail "redis client: $(cat "$TMPD/rcl.out")"
grep -q '^GET True saved True' "$TMPD/rcl.out" ||
	fail "redis client: $(cat "$TMPD/rcl.out")"
bench 2
[[ -s "$R/dump.rdb" ]] || fail "redis: no dump.rdb after BGSAVE"
kill -TERM "${BG_PID[rd]}"
bg_wait rd 10
expect_eq "redis-server's exit status" "$BG_RC" 0
expect_untouched "$TMPD/rd.err" 1
log "redis: $(grep -E 'fork: ' "$TMPD/rd.err" | sed 's/^anyload\[[0-9]*\]: //' | sort | uniq -c | xargs)"
check_tcp "$TMPD/rd.err" 80000 80000
log "PASS"
