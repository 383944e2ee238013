#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# timestamps: software RX and TX timestamps (progs/ts.c has the details).
# A VI in NS_B with EF_VI_RX_TIMESTAMPS | EF_VI_TX_TIMESTAMPS receives N
# datagrams from the kernel of NS_A: a 16-byte prefix, RX_BYTES = prefix +
# frame, ef_vi_receive_get_timestamp within 1 s of CLOCK_REALTIME (never in
# the future, never going back), precise timestamp and get_bytes agree.
# Then it transmits K datagrams to a kernel socket in NS_A: K
# EF_EVENT_TYPE_TX_WITH_TIMESTAMP events in posting order with the right
# RQ_ID, Q_ID, sync flags and times, and the kernel socket gets all K. A VI
# without the flags has no prefix and get_timestamp gives -ENODATA.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build ts
ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent

P=9600
RP=9601
N=20
K=20
UDPTOOL=$REPO/tests/integration/progs/udptool.py

bg_start ka "$NS_A" python3 "$UDPTOOL" recv --bind "$IP_A" --port $RP --secs 30
bg_wait_line ka '^READY' 10 || fail "kernel receiver in NS_A did not start"
bg_start ts "$NS_B" "$PROGS/ts" "$IF_B" $P $N "$IP_A" "$MAC_A" $RP $K
bg_wait_line ts '^READY' 10 || fail "ts: $(cat "$TMPD/ts.out" "$TMPD/ts.err")"
log "$(grep '^READY' "$TMPD/ts.out")"
ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P --count $N --tag R --gap 0.002
bg_wait ts 20
cat "$TMPD/ts.out" "$TMPD/ts.err"
expect_eq "ts exit status" "$BG_RC" 0
expect_eq "RX timestamps checked" "$(count_lines "$TMPD/ts.out" '^RXTS ')" $N
expect_eq "TX timestamp events" "$(count_lines "$TMPD/ts.out" '^TXTS ')" $K
wait_count "$TMPD/ka.out" '^GOT TS-' $K 5 ||
	fail "kernel socket in NS_A got $(count_lines "$TMPD/ka.out" '^GOT TS-') of $K"
sleep 0.2
expect_eq "datagrams from the VI at the kernel socket" \
	"$(count_lines "$TMPD/ka.out" "^GOT TS-[0-9]{6} $IP_B:$P\$")" $K
bg_stop ka
echo "timestamps: PASS"
