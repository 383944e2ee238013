#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_backend: choosing the AF_PACKET backend, and eflatency over it.
#  (a) ANYLOAD_BACKEND=afpacket: eflatency ping (NS_A) / pong (NS_B), 2000
#      round trips, both exit 0, both say "# backend: afpacket", one sane
#      data line; no XDP program was attached and no anyload tc program
#      is left;
#  (b) automatic choice where AF_XDP is not allowed (a seccomp filter
#      makes socket(AF_XDP) fail with EAFNOSUPPORT, as a container policy
#      may): both ends fall back to AF_PACKET and eflatency works;
#  (c) automatic choice where AF_XDP is allowed: AF_XDP;
#  (d) ANYLOAD_BACKEND=nonsense: the program fails with a clear error, and
#      leaves nothing on the interface.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/afpacket_test.sh"

itest_init
EFL=$BUILD/bin/eflatency
[[ -x "$EFL" ]] || skip "$EFL not built"
itest_build deny_afxdp
afp_init
ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent

# latency CASE WRAPPER...: eflatency pong in NS_B, ping in NS_A, each run
# through WRAPPER (env settings, deny_afxdp); outputs in TMPD/CASE.*.
latency()
{
	local c=$1 rc=0

	shift
	bg_start "$c.pong" "$NS_B" "$@" "$EFL" -n 2000 -w 200 -t 30 \
		-l "$IP_B" -r "$IP_A" pong "$IF_B"
	bg_wait_line "$c.pong" '^# backend: ' 10 ||
		fail "$c: pong did not start: $(cat "$TMPD/$c.pong.out" "$TMPD/$c.pong.err")"
	ns_a timeout 40 "$@" "$EFL" -n 2000 -w 200 -t 30 -l "$IP_A" \
		-r "$IP_B" ping "$IF_A" >"$TMPD/$c.ping.out" \
		2>"$TMPD/$c.ping.err" || rc=$?
	bg_wait "$c.pong" 10
	expect_eq "$c: eflatency ping exit status" "$rc" 0
	expect_eq "$c: eflatency pong exit status" "$BG_RC" 0
	grep -v '^#' "$TMPD/$c.ping.out" | sed "s/^/$c: /"
}

backend_of()
{
	sed -n 's/^# backend: \([a-z]*\).*/\1/p' "$1"
}

check_data()
{
	local data check

	data=$(grep -v '^#' "$1")
	check=$(awk '{
		if (NF != 8) { print "fields=" NF; exit }
		if ($1 != 28) { print "paylen " $1; exit }
		if (!($3 <= $4 && $4 <= $5 && $5 <= $6 && $6 <= $7 &&
		      $7 <= $8)) { print "not ordered"; exit }
		if ($3 <= 0) { print "min not positive"; exit }
		print "ok" }' <<<"$data")
	expect_eq "data line '$data'" "$check" ok
}

no_xdp()
{
	if ip -n "$NS_A" link show dev "$IF_A" | grep -q xdp ||
		ip -n "$NS_B" link show dev "$IF_B" | grep -q xdp; then
		fail "$1: an XDP program is attached"
	fi
}

log "(a) ANYLOAD_BACKEND=afpacket"
latency a env ANYLOAD_BACKEND=afpacket
expect_eq "(a) ping backend" "$(backend_of "$TMPD/a.ping.out")" afpacket
expect_eq "(a) pong backend" "$(backend_of "$TMPD/a.pong.out")" afpacket
check_data "$TMPD/a.ping.out"
no_xdp "(a)"
afp_expect_claims "(a) anyload tc programs left on $IF_A" "$NS_A" "$IF_A" 0
afp_expect_claims "(a) anyload tc programs left on $IF_B" "$NS_B" "$IF_B" 0

log "(b) automatic choice, AF_XDP not allowed"
rc=0
ns_b "$PROGS/deny_afxdp" true || rc=$?
((rc != 77)) || skip "deny_afxdp: architecture not supported"
latency b env -u ANYLOAD_BACKEND ANYLOAD_LOG=2 "$PROGS/deny_afxdp"
expect_eq "(b) ping backend" "$(backend_of "$TMPD/b.ping.out")" afpacket
expect_eq "(b) pong backend" "$(backend_of "$TMPD/b.pong.out")" afpacket
grep -h 'falling back to the afpacket backend' "$TMPD/b.ping.err" ||
	fail "(b) no fallback message: $(cat "$TMPD/b.ping.err")"
check_data "$TMPD/b.ping.out"
no_xdp "(b)"

log "(c) automatic choice, AF_XDP allowed"
latency c env -u ANYLOAD_BACKEND
expect_eq "(c) ping backend" "$(backend_of "$TMPD/c.ping.out")" afxdp
expect_eq "(c) pong backend" "$(backend_of "$TMPD/c.pong.out")" afxdp
check_data "$TMPD/c.ping.out"

log "(d) ANYLOAD_BACKEND=nonsense"
rc=0
ns_a env ANYLOAD_BACKEND=nonsense "$EFL" -n 10 -w 0 -t 5 -l "$IP_A" \
	-r "$IP_B" ping "$IF_A" >"$TMPD/d.out" 2>&1 || rc=$?
cat "$TMPD/d.out"
((rc != 0)) || fail "(d) eflatency ran with ANYLOAD_BACKEND=nonsense"
grep -q 'ANYLOAD_BACKEND=nonsense: unknown backend' "$TMPD/d.out" ||
	fail "(d) no clear error"
no_xdp "(d)"
afp_expect_claims "(d) anyload tc programs on $IF_A" "$NS_A" "$IF_A" 0
echo "afpacket_backend: PASS"
