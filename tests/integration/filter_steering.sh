#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# filter_steering: an ip4_local UDP filter steers exactly its flow to the
# VI and leaves everything else to the kernel. A VI in NS_B (progs/vi_recv)
# holds udp:IP_B:P; the kernel of NS_A sends N datagrams to P and M to Q.
# Checks: the VI gets exactly the N datagrams to P (each payload once,
# intact, correct checksums, nothing else, no discards); a kernel socket on
# Q gets all M and a kernel socket bound to P gets none while the filter is
# on; ARP still works with the XDP program attached (neighbour tables are
# flushed on both sides before each burst, so every burst starts with an
# ARP exchange through the filtered interface); after ef_vi_filter_del the
# datagrams to P reach the kernel socket on P and the VI gets no more; the
# VI frees cleanly (exit 0) and the XDP program is detached afterwards.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build vi_recv
ns_setup_pair

P=9000
Q=9001
N=50
M=40

flush_neigh()
{
	ip -n "$NS_A" neigh flush dev "$IF_A"
	ip -n "$NS_B" neigh flush dev "$IF_B"
}

# Kernel receivers on P and Q in NS_B.
bg_start kp "$NS_B" python3 "$REPO/tests/integration/progs/udptool.py" \
	recv --bind "$IP_B" --port $P --secs 60
bg_start kq "$NS_B" python3 "$REPO/tests/integration/progs/udptool.py" \
	recv --bind "$IP_B" --port $Q --secs 60
bg_wait_line kp '^READY' 10 || fail "kernel receiver on $P did not start"
bg_wait_line kq '^READY' 10 || fail "kernel receiver on $Q did not start"

bg_start vi "$NS_B" "$PROGS/vi_recv" -t 60 "$IF_B"
bg_wait_line vi '^READY' 10 ||
	fail "vi_recv did not start: $(cat "$TMPD/vi.out" "$TMPD/vi.err")"
bg_cmd vi "add 0 udp:$IP_B:$P"
expect_eq "ef_vi_filter_add(udp:$IP_B:$P)" "$(field "$BG_REPLY" rc)" 0
FID=$(field "$BG_REPLY" id)

log "burst 1: $N datagrams to $P (filtered), $M to $Q (kernel)"
flush_neigh
udptool_a() { ns_a python3 "$REPO/tests/integration/progs/udptool.py" "$@"; }
udptool_a send --dst "$IP_B" --port $P --count $N --tag P1
udptool_a send --dst "$IP_B" --port $Q --count $M --tag Q1

wait_count "$TMPD/vi.out" "^RX vi=0 .* dport=$P " $N 10 ||
	fail "VI got $(count_lines "$TMPD/vi.out" '^RX ') of $N datagrams"
wait_count "$TMPD/kq.out" '^GOT Q1-' $M 10 ||
	fail "kernel socket on $Q got $(count_lines "$TMPD/kq.out" '^GOT') of $M"
sleep 0.3	# anything extra (duplicates, strays) would arrive by now

expect_eq "RX events on the VI" "$(count_lines "$TMPD/vi.out" '^RX ')" $N
expect_eq "discard/no-desc events" \
	"$(count_lines "$TMPD/vi.out" '^(DISCARD|NODESC|RXPART)')" 0
# Every RX line: from IP_A to IP_B:P, checksums good, payload P1-xxxxxx.
bad=$(grep '^RX ' "$TMPD/vi.out" | grep -Ev \
	" type=0x0800 proto=17 saddr=$IP_A daddr=$IP_B sport=[0-9]+ dport=$P csum=1 payload=P1-[0-9]{6}\$" |
	head -n 3 || true)
[[ -z "$bad" ]] || fail "unexpected RX lines: $bad"
got=$(grep -o 'payload=P1-[0-9]*' "$TMPD/vi.out" | sort | md5sum)
want=$(for ((i = 0; i < N; i++)); do printf 'payload=P1-%06d\n' $i; done |
	sort | md5sum)
expect_eq "VI payloads (each of P1-000000..P1-$((N - 1)) once)" "$got" "$want"
got=$(grep -o '^GOT Q1-[0-9]*' "$TMPD/kq.out" | sort -u | wc -l)
expect_eq "kernel datagrams on $Q (distinct)" "$got" $M
expect_eq "kernel datagrams on $Q (all)" \
	"$(count_lines "$TMPD/kq.out" '^GOT ')" $M
expect_eq "kernel datagrams on $P while filtered" \
	"$(count_lines "$TMPD/kp.out" '^GOT ')" 0

# ARP went through the kernel: NS_A resolved IP_B to MAC_B.
lladdr=$(ip -n "$NS_A" neigh show "$IP_B" dev "$IF_A" |
	sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
expect_eq "NS_A neighbour entry for $IP_B" "$lladdr" "$MAC_B"

log "removing the filter"
bg_cmd vi "del $FID"
expect_eq "ef_vi_filter_del" "$(field "$BG_REPLY" rc)" 0

log "burst 2: $N datagrams to $P (now kernel)"
flush_neigh
udptool_a send --dst "$IP_B" --port $P --count $N --tag P2
wait_count "$TMPD/kp.out" '^GOT P2-' $N 10 ||
	fail "kernel socket on $P got $(count_lines "$TMPD/kp.out" '^GOT') of $N after filter_del"
sleep 0.3
expect_eq "kernel datagrams on $P after filter_del" \
	"$(count_lines "$TMPD/kp.out" '^GOT ')" $N
expect_eq "kernel distinct datagrams on $P" \
	"$(grep -o '^GOT P2-[0-9]*' "$TMPD/kp.out" | sort -u | wc -l)" $N
expect_eq "RX events on the VI after filter_del" \
	"$(count_lines "$TMPD/vi.out" '^RX ')" $N
bg_cmd vi count
expect_eq "VI count" "$BG_REPLY" "R3 count vi0=$N"

bg_stop vi
expect_eq "vi_recv exit status" "$BG_RC" 0
if ip -n "$NS_B" link show dev "$IF_B" | grep -q xdp; then
	fail "XDP program still attached after the last VI was freed: $(ip -n "$NS_B" link show dev "$IF_B")"
fi
log "ok: no XDP program left on $IF_B"
bg_stop kp
bg_stop kq
echo "filter_steering: PASS"
