#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_accept_threads: several threads blocked in accept() on one
# listener (progs/accept_threads.py: a blocking socket, three threads
# that each accept and then echo their connection until its end), on the
# kernel and then as an unmodified program under `anyload
# --interface=IF_A` (the listener accelerated):
#   (a) a kernel client in NS_B makes 40 connections, two at a time, each
#       with its message echoed;
#   (b) 8 times: a client in NS_A opens two connections at once through
#       loopback (the kernel socket's queue: the three sleeping threads
#       see it, two take them and hold them) and keeps them open while a
#       client in NS_B connects through the interface: the third thread
#       must accept it and echo, so none may block in the kernel's
#       accept after the two were taken;
# and every connection is accepted exactly once (one ACCEPT line per
# client port, the server's own count) and ended. Under anyload the
# counters show the echoes through the stack and the log the 16 loopback
# connections accepted through the kernel.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/preload_test.sh"

itest_init
preload_init
ns_setup_pair
P=8310
PROG=$REPO/tests/integration/progs/accept_threads.py
N=40
M=8
TOTAL=$((N + 3 * M))

# run_server TAG CMD...: the server (CMD is empty or the anyload launcher)
# through both phases; checks its accounting.
run_server()
{
	local tag=$1 out i lines uniq

	shift
	bg_start "$tag" "$NS_A" "$@" python3 "$PROG" server --port "$P" \
		--threads 3 --expect "$TOTAL" --secs 40
	bg_wait_line "$tag" '^READY' 15 ||
		fail "$tag not ready: $(cat "$TMPD/$tag.err")"

	out=$(ns_b python3 "$PROG" client --dst "$IP_A" --port "$P" \
		--count "$N" --parallel 2) || fail "$tag (a): $out"
	expect_eq "$tag (a) $N connections echoed" "$(echo "$out" | tail -n 1)" \
		"CLIENT ok=$N sent=$N"

	bg_start "hold$tag" "$NS_A" python3 "$PROG" hold --dst "$IP_A" \
		--port "$P"
	for ((i = 1; i <= M; i++)); do
		bg_cmd "hold$tag" "open 2"
		[[ "$BG_REPLY" == *" ok" ]] ||
			fail "$tag (b) loopback connections $i: $BG_REPLY"
		out=$(ns_b python3 "$PROG" client --dst "$IP_A" --port "$P" \
			--count 1) ||
			fail "$tag (b) a connection through $IF_B while" \
				"two loopback ones are held ($i): $out"
		bg_cmd "hold$tag" close
	done
	bg_stop "hold$tag"
	log "ok: $tag (b) $M connections through $IF_B while two loopback" \
		"ones were held"

	bg_wait "$tag" 20
	expect_eq "$tag exit status" "$BG_RC" 0
	grep '^DONE' "$TMPD/$tag.out" | sed 's/^/    /'
	lines=$(grep -c '^ACCEPT ' "$TMPD/$tag.out" || true)
	uniq=$(grep '^ACCEPT ' "$TMPD/$tag.out" | sed 's/.* peer=//' |
		sort -u | wc -l)
	expect_eq "$tag ACCEPT lines" "$lines" "$TOTAL"
	expect_eq "$tag distinct peers accepted" "$uniq" "$TOTAL"
}

log "the program on the kernel"
run_server k

log "the program under anyload"
run_server a env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL" \
	--interface="$IF_A"
grep -q "TCP listener 0.0.0.0:$P accelerated on $IF_A" "$TMPD/a.err" ||
	fail "the listener was not accelerated: $(cat "$TMPD/a.err")"
kaccepts=$(grep -c 'TCP connection accepted through the kernel' \
	"$TMPD/a.err" || true)
expect_eq "connections accepted through the kernel (loopback)" \
	"$kaccepts" "$((2 * M))"
check_tcp "$TMPD/a.err" $(((N + M) * 16)) $(((N + M) * 16))
no_xdp_left "$NS_A" "$IF_A" "after the exit"
echo "preload_tcp_accept_threads: PASS"
