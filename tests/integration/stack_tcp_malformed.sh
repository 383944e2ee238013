#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# stack_tcp_malformed: the TCP part of the malformed-traffic campaign
# (issue 5) against a TCP echo server on anyload's stack
# (progs/stack_tcp_echo, listening on port 8000 of IP_A) on AF_XDP:
# progs/tcp_malformed.py in NS_B keeps a real kernel connection to the
# server, which must echo after every batch, and plays a raw peer from
# 198.18.0.3 (an address nobody owns: NS_A reaches it through a permanent
# neighbour entry to MAC_B, and NS_B's kernel drops what comes back, so it
# never answers for the raw peer). Batches: SYNs with option garbage (bad,
# zero and truncated lengths, unknown kinds, repeated options, WS > 14,
# MSS 0 and 1, options past the header) and bad data offsets; the 256 flag
# combinations to the listener, to a closed port (the kernel's), and on raw
# connections in SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1,
# FIN_WAIT_2, CLOSING, LAST_ACK and TIME_WAIT (the server closes with the
# closepeer command; the raw peer acknowledges its FIN or not, and sends
# its own before or after) with the sequence number at RCV.NXT, in the
# window and out of it (in TIME_WAIT a SYN above RCV.NXT opens a new
# connection, RFC 1122 §4.2.2.13 / RFC 6191). Every answer
# of the server is checked against RFC 9293 and RFC 5961 (see
# tcp_malformed.py), so are the counters those segments must move and the
# state of every connection afterwards; after each batch the server has no
# raw connection left but those in TIME_WAIT, and its buffer pool and TCP
# buffers are at their idle level; every frame sent to it is received or a
# counted loss; at the end its RSS is within a margin (only shown under
# ASan, whose quarantine keeps the freed buffers of each connection).
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build_stack stack_tcp_echo
ns_setup_pair
VIP=198.18.0.3
PORT=8000
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_A" neigh replace "$VIP" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent
# RSS margin: the stack allocates nothing per segment. Under ASan its
# quarantine keeps what is freed (256 MB by default), so the buffers of
# each connection opened and closed stay in the RSS: there the RSS is only
# shown, LeakSanitizer checks for leaks at exit, and the stack's own
# accounting (buffer pool, TCP buffers, connections) is checked as in the
# normal build.
MARGIN=1024

rss_kb()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

bg_start st "$NS_A" "$PROGS/stack_tcp_echo" -t 100 "$IF_A"
bg_wait_line st '^READY' 10 ||
	fail "stack_tcp_echo: $(cat "$TMPD/st.out" "$TMPD/st.err")"
PID=$(field "$(grep '^READY' "$TMPD/st.out")" pid)
bg_cmd st "listen $PORT 1024"
expect_eq "listen :$PORT" "$(field "$BG_REPLY" rc)" 0
RSS0=$(rss_kb "$PID")
rc=0
out=$(ns_b python3 "$REPO/tests/integration/progs/tcp_malformed.py" \
	--ifname "$IF_B" --src "$IP_B" --vip "$VIP" --dst "$IP_A" \
	--src-mac "$MAC_B" --dst-mac "$MAC_A" --port "$PORT" \
	--ctl-in "$TMPD/st.in" --ctl-out "$TMPD/st.out" \
	--seq "${BG_SEQ[st]}" 2>&1) || rc=$?
echo "$out" | sed 's/^/    /'
n=$(echo "$out" | sed -n 's/^CMDS \([0-9]*\)$/\1/p')
BG_SEQ[st]=$((BG_SEQ[st] + ${n:-0}))
((rc == 0)) || fail "TCP campaign: $(echo "$out" | grep '^FAIL' | head -n 1)"
bg_cmd st stats
log "stack counters: $BG_REPLY"
RSS1=$(rss_kb "$PID")
log "RSS before $RSS0 kB, after $RSS1 kB"
itest_sanitized || ((RSS1 - RSS0 <= MARGIN)) ||
	fail "RSS grew by $((RSS1 - RSS0)) kB (margin $MARGIN kB)"
bg_cmd st quit
bg_wait st 10
expect_eq "stack_tcp_echo exit status" "$BG_RC" 0
echo "stack_tcp_malformed: PASS"
