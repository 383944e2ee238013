#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# sigkill_recovery: a VI program killed with SIGKILL leaves its slot and
# filters in the interface's XDP maps, and the XDP program attached.
# Checks:
#  (a) after the kill, datagrams to the dead VI's port P reach a kernel
#      socket in NS_B again (the kernel removed the dead AF_XDP socket
#      from the XSKMAP, so the stale filter falls back to XDP_PASS);
#  (b) a new VI program on the same interface allocates its VI (the dead
#      process's UMEM on queue 0 is gone), adds the same filter without
#      -EBUSY (the dead slot and its filters are reclaimed) and receives
#      exactly the datagrams to P, which the kernel socket no longer sees;
#  (c) when that program exits cleanly, no XDP program remains on the
#      interface (`ip link` and `bpftool net`) and P's traffic goes to the
#      kernel socket again;
#  (d) a program restarted at once after a SIGKILL (no pause, as a
#      supervisor would) allocates its VI, takes the same filter, receives,
#      and on its clean exit leaves no XDP program behind.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build vi_recv
ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent

P=9300
N=30
UDPTOOL=$REPO/tests/integration/progs/udptool.py

send()
{
	ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P --count $N --tag "$1"
}

xdp_attached()
{
	ip -n "$NS_B" link show dev "$IF_B" | grep -q 'xdp'
}

bg_start kp "$NS_B" python3 "$UDPTOOL" recv --bind "$IP_B" --port $P --secs 60
bg_wait_line kp '^READY' 10 || fail "kernel receiver did not start"

log "first VI program"
bg_start v1 "$NS_B" env ANYLOAD_LOG=2 "$PROGS/vi_recv" -t 60 "$IF_B"
bg_wait_line v1 '^READY' 10 || fail "vi_recv 1: $(cat "$TMPD/v1.out" "$TMPD/v1.err")"
bg_cmd v1 "add 0 udp:$IP_B:$P"
expect_eq "first program filter_add" "$(field "$BG_REPLY" rc)" 0
send K1
wait_count "$TMPD/v1.out" '^RX .*payload=K1-' $N 10 ||
	fail "first VI got $(count_lines "$TMPD/v1.out" '^RX ') of $N"
sleep 0.2
expect_eq "first VI RX" "$(count_lines "$TMPD/v1.out" '^RX ')" $N
expect_eq "kernel socket while filtered" "$(count_lines "$TMPD/kp.out" '^GOT')" 0

log "kill -9"
bg_kill9 v1
expect_eq "first program killed by SIGKILL (128+9)" "$BG_RC" 137
xdp_attached || log "note: the XDP program is gone after SIGKILL"

log "(a) traffic to $P after the kill"
send K2
wait_count "$TMPD/kp.out" '^GOT K2-' $N 10 ||
	fail "(a) kernel socket got $(count_lines "$TMPD/kp.out" '^GOT K2-') of $N datagrams to the dead VI's port"
sleep 0.2
expect_eq "(a) kernel socket datagrams after SIGKILL" \
	"$(count_lines "$TMPD/kp.out" '^GOT K2-')" $N

log "(b) second VI program"
bg_start v2 "$NS_B" env ANYLOAD_LOG=2 "$PROGS/vi_recv" -t 60 "$IF_B"
bg_wait_line v2 '^(READY|ALLOC vi=0 rc=-)' 10 ||
	fail "vi_recv 2 printed nothing: $(cat "$TMPD/v2.err")"
expect_eq "(b) second program ef_vi_alloc_from_pd" \
	"$(field "$(grep '^ALLOC vi=0' "$TMPD/v2.out")" rc)" 0
bg_cmd v2 "add 0 udp:$IP_B:$P"
expect_eq "(b) second program adds the dead program's filter" \
	"$(field "$BG_REPLY" rc)" 0
grep -h 'reclaim' "$TMPD/v2.err" || true
send K3
wait_count "$TMPD/v2.out" '^RX .*payload=K3-' $N 10 ||
	fail "(b) second VI got $(count_lines "$TMPD/v2.out" '^RX ') of $N"
sleep 0.2
expect_eq "(b) second VI RX" "$(count_lines "$TMPD/v2.out" '^RX ')" $N
expect_eq "(b) second VI payloads" \
	"$(grep -o 'payload=K3-[0-9]*$' "$TMPD/v2.out" | sort -u | wc -l)" $N
expect_eq "(b) kernel socket got none of them" \
	"$(count_lines "$TMPD/kp.out" '^GOT K3-')" 0

log "(c) clean exit of the second program"
bg_stop v2
expect_eq "(c) second program exit status" "$BG_RC" 0
if xdp_attached; then
	fail "(c) XDP program still attached: $(ip -n "$NS_B" link show dev "$IF_B")"
fi
log "ok: ip link shows no XDP program on $IF_B"
if command -v bpftool >/dev/null; then
	out=$(ns_b bpftool net show dev "$IF_B" 2>&1) || true
	if grep -A3 '^xdp:' <<<"$out" | grep -q "$IF_B"; then
		fail "(c) bpftool net still lists an XDP program: $out"
	fi
	log "ok: bpftool net lists no XDP program on $IF_B"
fi
send K4
wait_count "$TMPD/kp.out" '^GOT K4-' $N 10 ||
	fail "(c) kernel socket got $(count_lines "$TMPD/kp.out" '^GOT K4-') of $N after the clean exit"
wait_count "$TMPD/kp.out" '^GOT K4-' $N 10 || true

log "(d) restart at once after SIGKILL"
bg_start v3 "$NS_B" "$PROGS/vi_recv" -t 60 "$IF_B"
bg_wait_line v3 '^READY' 10 || fail "vi_recv 3: $(cat "$TMPD/v3.out" "$TMPD/v3.err")"
bg_cmd v3 "add 0 udp:$IP_B:$P"
expect_eq "(d) third program filter_add" "$(field "$BG_REPLY" rc)" 0
bg_kill9 v3
bg_start v4 "$NS_B" env ANYLOAD_LOG=2 "$PROGS/vi_recv" -t 60 "$IF_B"
bg_wait_line v4 '^(READY|ALLOC vi=0 rc=-)' 10 ||
	fail "vi_recv 4 printed nothing: $(cat "$TMPD/v4.err")"
expect_eq "(d) ef_vi_alloc_from_pd right after the SIGKILL" \
	"$(field "$(grep '^ALLOC vi=0' "$TMPD/v4.out")" rc)" 0
bg_cmd v4 "add 0 udp:$IP_B:$P"
expect_eq "(d) restarted program adds the filter" "$(field "$BG_REPLY" rc)" 0
send K5
wait_count "$TMPD/v4.out" '^RX .*payload=K5-' $N 10 ||
	fail "(d) restarted VI got $(count_lines "$TMPD/v4.out" '^RX ') of $N"
bg_stop v4
expect_eq "(d) restarted program exit status" "$BG_RC" 0
if xdp_attached; then
	fail "(d) XDP program still attached: $(ip -n "$NS_B" link show dev "$IF_B")"
fi
bg_stop kp
echo "sigkill_recovery: PASS"
