#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_fork: servers that hand an accepted connection to another
# process, under libanyload.so and on the kernel. An accelerated
# connection goes on in the kernel's TCP (src/preload/tcp_handover.c,
# TCP_REPAIR) when a forked child first uses it (ANYLOAD_TCP_HANDOVER=2,
# the default: tcp_share.c, tcp_claim.c), before every fork
# (ANYLOAD_TCP_HANDOVER=1, or no TCP poller) and before an exec, so that
# every process holding the fd shares it; nothing the stack held may be
# lost on the way.
#
# progs/fork_prog.py's server in NS_A (under `anyload --interface=IF_A`,
# then on the kernel) waits, for each connection, until the kernel
# client in NS_B has sent its whole 40000-byte request (received, unread:
# FIONREAD), queues as much of a 4 MiB greeting as the send buffer takes
# without blocking (the client does not read yet: bytes unacknowledged
# and unsent), then:
#   1. fork       forks a child per connection, which reads and checks the
#                 request and sends the rest (3 connections); the parent
#                 closes its fd after the child's first read;
#   2. closefirst the same, but the parent closes its fd first (the
#                 connection is kept in the stack for the child);
#   3. exec       the child execs a handler on the fd (2 connections);
#   4. execself   the server execs the handler in its own process;
#   5. closewait  the client shut down writing first (FIN): after the
#                 fork the child reads the request, then the end of the
#                 stream, then answers (2 connections).
# The client reads everything after 1 s and checks length and SHA-256 of
# greeting + reply, the server checks the request and that every child
# exited 0. Under anyload, lazily: the first fork shared the listener and
# the connection, the child's first use handed that connection over (its
# log line: unread bytes = the request) and its listener with it (a
# connection accepted from a stack listener rides on its filter), so the
# next connections came through the kernel; the stack counted the
# detaches. Eagerly (HANDOVER=1, POLLER=0): both at the first fork. The
# same runs on the kernel check the program. Then socat's own `fork` (an
# echo through `cat`) with 8 clients at once: every connection accepted
# from the stack was handed over. Last, with ANYLOAD_TCP_HANDOVER=0 the
# fork case must fail as documented (ENOTCONN in the child).
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
require_cmd socat
ns_setup_pair
FPROG=$REPO/tests/integration/progs/fork_prog.py
PORT=9720
NECHO=8

# run_mode TAG WHERE MODE CONNS [ENV=VALUE...]: the server in NS_A
# (WHERE: anyload or kernel), the client in NS_B; sets SVRC and CLRC.
run_mode()
{
	local tag=$1 where=$2 mode=$3 conns=$4 pre=()

	shift 4
	PORT=$((PORT + 1))
	if [[ "$where" == anyload ]]; then
		pre=(env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$@" "$AL"
			--interface="$IF_A")
	fi
	bg_start "sv$tag" "$NS_A" "${pre[@]}" python3 "$FPROG" server \
		--mode "$mode" --conns "$conns" --port "$PORT" --secs 40
	bg_wait_line "sv$tag" '^READY' 15 ||
		fail "$tag: server not ready: $(cat "$TMPD/sv$tag.err")"
	CLRC=0
	ns_b timeout 60 python3 "$FPROG" client --dst "$IP_A" --mode "$mode" \
		--conns "$conns" --port "$PORT" --secs 30 \
		>"$TMPD/cl$tag.out" 2>"$TMPD/cl$tag.err" || CLRC=$?
	bg_wait "sv$tag" 60
	SVRC=$BG_RC
	log "$tag: client rc=$CLRC server rc=$SVRC"
}

# expect_ok TAG CONNS: both ends succeeded and every connection checked.
expect_ok()
{
	local tag=$1 conns=$2

	[[ $CLRC -eq 0 && $SVRC -eq 0 ]] ||
		fail "$tag: client rc=$CLRC server rc=$SVRC: $(cat "$TMPD/cl$tag.out" \
			"$TMPD/cl$tag.err" "$TMPD/sv$tag.out") $(tail -n 20 "$TMPD/sv$tag.err")"
	expect_eq "$tag connections checked" \
		"$(count_lines "$TMPD/cl$tag.out" '^OK conn=')" "$conns"
}

# Why the parent hands a connection over (tcp_share.c, tcp_poller.c).
USE='first use in a forked child'
CLOSED='close in the parent, a forked child may hold it'

# expect_handed TAG CONNS WHY: the anyload run handed CONNS connections
# to the kernel, each at WHY (an extended regex: fork, exec, $USE ...),
# each with the whole request unread and some greeting unsent, and no
# other; except after an exec in place, the stack counted them.
expect_handed()
{
	local tag=$1 conns=$2 why=$3 f line n=0

	f=$TMPD/sv$tag.err
	while read -r line; do
		n=$((n + 1))
		[[ "$line" =~ ([0-9]+)\ unsent,\ ([0-9]+)\ unread ]] ||
			fail "$tag: no counts in '$line'"
		expect_eq "$tag unread bytes at the hand-over" \
			"${BASH_REMATCH[2]}" 40000
		# Lazily, the stack goes on sending between the fork and the
		# child's first use: only an eager hand-over (at the fork or
		# exec, right after the greeting was queued) must find bytes
		# unsent.
		((BASH_REMATCH[1] > 0)) || [[ ! "$why" =~ ^(fork|exec)$ ]] ||
			fail "$tag: nothing unsent at the hand-over: $line"
	done < <(grep -E "TCP connection .* handed to the kernel at ($why):" "$f")
	expect_eq "$tag connections handed over ($why)" "$n" "$conns"
	expect_eq "$tag connections handed over in all" \
		"$(count_lines "$f" 'TCP connection .* handed to the kernel')" \
		"$conns"
	if [[ "$tag" != x* ]]; then
		line=$(grep 'stack counters:' "$f" | tail -n 1)
		expect_eq "$tag tcp_detached" "$(field "$line" tcp_detached)" \
			"$conns"
	fi
}

# expect_lazy TAG: the lazy fork (the default): the first fork shared the
# listener and the first connection and moved nothing; the child's use
# of that connection moved it, and with it its listener (an accepted
# connection rides on its listener's filter in the stack and can leave
# only with it), so the next connections were the kernel's.
expect_lazy()
{
	local tag=$1 f=$TMPD/sv$1.err

	expect_eq "$tag connections accelerated" \
		"$(count_lines "$f" 'TCP connection from .* accelerated')" 1
	expect_eq "$tag forks that shared 2 sockets" \
		"$(count_lines "$f" 'fork: 2 accelerated TCP sockets shared')" 1
	expect_eq "$tag listeners handed over with their connection" \
		"$(count_lines "$f" "TCP listener handed to the kernel at the hand-over of a connection it accepted \\($USE\\)")" 1
	expect_eq "$tag listeners handed over at a fork" \
		"$(count_lines "$f" 'TCP listener handed to the kernel at fork')" 0
}

for where in kernel anyload; do
	log "---- $where: fork per connection"
	run_mode "f$where" "$where" fork 3
	expect_ok "f$where" 3
	if [[ "$where" == anyload ]]; then
		expect_handed "f$where" 1 "$USE"
		expect_lazy "f$where"
		expect_eq "f$where child's first use" \
			"$(count_lines "$TMPD/svf$where.err" 'first used in this forked child \(recv\): the parent handed it')" 1
	fi

	log "---- $where: the parent closes first, then the child serves"
	run_mode "p$where" "$where" closefirst 2
	expect_ok "p$where" 2
	if [[ "$where" == anyload ]]; then
		# Closed by the parent while shared: kept in the stack for the
		# child, which then used it.
		expect_eq "p$where connections kept for the child" \
			"$(count_lines "$TMPD/svp$where.err" 'closed in the parent while a forked child may hold it: kept')" 1
		expect_handed "p$where" 1 "$USE"
		expect_lazy "p$where"
		expect_eq "p$where child's first use" \
			"$(count_lines "$TMPD/svp$where.err" 'first used in this forked child \(recv\): the parent handed it')" 1
	fi

	log "---- $where: fork, then exec of a handler"
	run_mode "e$where" "$where" exec 2
	expect_ok "e$where" 2
	if [[ "$where" == anyload ]]; then
		expect_handed "e$where" 1 "$USE"
		expect_lazy "e$where"
		expect_eq "e$where claimed before the exec" \
			"$(count_lines "$TMPD/sve$where.err" 'first used in this forked child \(exec\)')" 1
	fi

	log "---- $where: exec of the handler in the server's process"
	run_mode "x$where" "$where" execself 1
	[[ $CLRC -eq 0 ]] ||
		fail "x$where: client rc=$CLRC: $(cat "$TMPD/clx$where.out" \
			"$TMPD/svx$where.out") $(tail -n 20 "$TMPD/svx$where.err")"
	grep -q '^HANDLED' "$TMPD/svx$where.out" ||
		fail "x$where: handler: $(cat "$TMPD/svx$where.out")"
	[[ "$where" == kernel ]] || expect_handed "x$where" 1 exec

	log "---- $where: the client's FIN before the fork"
	run_mode "c$where" "$where" closewait 2
	expect_ok "c$where" 2
	if [[ "$where" == anyload ]]; then
		expect_handed "c$where" 1 "$USE"
		expect_lazy "c$where"
	fi
done

# The eager hand-over: ANYLOAD_TCP_HANDOVER=1, and the lazy one without
# a poller to serve the children (ANYLOAD_TCP_POLLER=0): before the first
# fork the listener and the connection go to the kernel, so the next
# connections are the kernel's.
for eager in ANYLOAD_TCP_HANDOVER=1 ANYLOAD_TCP_POLLER=0; do
	log "---- $eager: fork per connection, eagerly"
	run_mode "g${eager: -1}" anyload fork 3 "$eager"
	expect_ok "g${eager: -1}" 3
	expect_handed "g${eager: -1}" 1 fork
	grep -q 'TCP listener handed to the kernel at fork' \
		"$TMPD/svg${eager: -1}.err" ||
		fail "$eager: the listener did not go to the kernel at the fork"
done

log "---- socat TCP-LISTEN,fork with cat, under anyload, $NECHO clients at once"
PORT=$((PORT + 1))
bg_start socat "$NS_A" env ANYLOAD_LOG=2 "$AL" --interface="$IF_A" \
	socat "TCP-LISTEN:$PORT,reuseaddr,fork" EXEC:cat
echo_client()
{
	ns_b timeout 30 python3 - "$IP_A" "$PORT" "$1" <<'EOF'
import hashlib, random, socket, sys, time
data = random.Random(int(sys.argv[3])).randbytes(1 << 20)
s = None
for _ in range(50):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
        break
    except OSError:
        time.sleep(0.1)
got = bytearray()
sent = 0
s.setblocking(False)
import select
while len(got) < len(data):
    r, w, _ = select.select([s], [s] if sent < len(data) else [], [], 20)
    if not r and not w:
        break
    if w:
        sent += s.send(data[sent:sent + 65536])
    if r:
        b = s.recv(65536)
        if not b:
            break
        got += b
print('ECHO', len(got), hashlib.sha256(got).hexdigest() ==
      hashlib.sha256(data).hexdigest())
EOF
}
EPIDS=()
for ((i = 1; i <= NECHO; i++)); do
	echo_client "$i" >"$TMPD/echo$i.out" 2>&1 &
	EPIDS+=($!)
done
for ((i = 1; i <= NECHO; i++)); do
	wait "${EPIDS[i - 1]}" || true
	grep -q '^ECHO 1048576 True' "$TMPD/echo$i.out" ||
		fail "socat echo $i: $(cat "$TMPD/echo$i.out") $(tail -n 20 "$TMPD/socat.err")"
done
# Lazily, each connection accepted from the stack went to the kernel
# when socat's child used it (the first one with the listener); every
# one of them was handed over, none lost.
expect_eq "socat connections handed over" \
	"$(count_lines "$TMPD/socat.err" 'TCP connection .* handed to the kernel')" \
	"$(count_lines "$TMPD/socat.err" 'TCP connection from .* accelerated')"
expect_eq "socat listeners handed over" \
	"$(count_lines "$TMPD/socat.err" 'TCP listener handed to the kernel at the hand-over of a connection it accepted')" 1
bg_stop socat

log "---- ANYLOAD_TCP_HANDOVER=0: the child cannot use the connection"
run_mode "n" anyload fork 1 ANYLOAD_TCP_HANDOVER=0
[[ $SVRC -ne 0 ]] || fail "ANYLOAD_TCP_HANDOVER=0: the fork case passed"
grep -q 'ENOTCONN here' "$TMPD/svn.err" ||
	fail "ANYLOAD_TCP_HANDOVER=0: no ENOTCONN line: $(tail -n 20 "$TMPD/svn.err")"
log "PASS"
