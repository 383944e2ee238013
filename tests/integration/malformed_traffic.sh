#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# malformed_traffic: a malformed-traffic campaign over veth (issue 5)
# against accelerated programs in NS_A; progs/malformed.py (scapy) in NS_B
# makes the frames and sends them raw on IF_B: wrong IP/UDP/ICMP
# checksums, every header truncated at every length, bogus IHL, versions,
# total and UDP lengths, martian and foreign addresses, IP options,
# overlapping, oversized, tiny, duplicate and conflicting fragments and
# the reassembly memory bound, ICMP of every kind (errors quoting foreign
# flows, quoting ours with a bad inner header, a forged fragmentation-
# needed that must not lower the path MTU), ARP garbage, VLAN-tagged junk
# and random bytes. Runs:
#   1. the stack echo server (progs/stack_echo) with fragments and ICMP
#      claimed (-F -I);
#   2. the same without them (the filters then leave ICMP and later
#      fragments to the kernel, and first fragments are counted drops);
#   3. a raw VI receiver (progs/vi_recv, unicast-all), efsink's way.
# For the stack, after every batch its receive counters must have moved
# exactly as malformed.py's model of the XDP filter and of the stack's
# checks predicts (each frame a counted drop, or a delivery echoed byte for
# byte, or one ICMP outcome), the accounting identities must hold and a
# probe echo must be answered; at the end the buffer pool is back to its
# idle level and the RSS within a margin. The raw VI must see every frame
# as RX or DISCARD and keep answering. Skipped (77) without scapy.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init

# scapy comes from Debian's python3-scapy (scripts/install-deps.sh), which
# the system's python3 sees; a python3 earlier on PATH may not.
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
		"$p" -c 'import scapy.layers.inet' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
[[ -n "$PY" ]] ||
	skip "scapy cannot be imported (python3-scapy, scripts/install-deps.sh)"

extra=()
if [[ -s "$BUILD/test-cflags" ]]; then
	read -r -a extra <"$BUILD/test-cflags" || true
fi
cc -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE "${extra[@]}" \
	-I"$REPO/include" -o "$PROGS/stack_echo" \
	"$REPO/tests/integration/progs/stack_echo.c" \
	"$BUILD/lib/libanyvi.a" -lmnl -lbpf -lelf -lz -lpthread -lm ||
	fail "cannot build progs/stack_echo.c"
itest_build vi_recv

ns_setup_pair
# Permanent neighbours both ways: ARP garbage cannot redirect the replies,
# and no ARP runs during the batches.
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent

MAL=$REPO/tests/integration/progs/malformed.py
PORT=7000
REASM_MS=500
# RSS margin: the stack allocates nothing per frame; stdio and, under
# ASan, its quarantine and shadow pages move a little.
if itest_sanitized; then
	MARGIN=4096
else
	MARGIN=1024
fi

# campaign TAG MODE PID ARGS...: run malformed.py against program TAG.
campaign()
{
	local tag=$1 mode=$2 pid=$3 out rc=0 n

	shift 3
	out=$(ns_b "$PY" "$MAL" "$mode" --ifname "$IF_B" --src "$IP_B" \
		--dst "$IP_A" --src-mac "$MAC_B" --dst-mac "$MAC_A" \
		--port "$PORT" --reasm-ms "$REASM_MS" \
		--ctl-in "$TMPD/$tag.in" --ctl-out "$TMPD/$tag.out" \
		--seq "${BG_SEQ[$tag]}" --pid "$pid" --rss-margin-kb "$MARGIN" \
		"$@" 2>&1) || rc=$?
	echo "$out" | sed 's/^/    /'
	n=$(echo "$out" | sed -n 's/^CMDS \([0-9]*\)$/\1/p')
	BG_SEQ[$tag]=$((BG_SEQ[$tag] + ${n:-0}))
	((rc != 77)) || skip "$(echo "$out" | tail -n 1)"
	((rc == 0)) || fail "$mode campaign failed: $(echo "$out" |
		grep '^FAIL' | head -n 1)"
}

# stack_run LABEL STACK-FLAGS... : one stack echo server, one campaign.
stack_run()
{
	local label=$1 pyflags=() pid sd

	shift
	[[ " $* " == *" -F "* ]] && pyflags+=(--frags)
	[[ " $* " == *" -I "* ]] && pyflags+=(--icmp)
	log "---- stack echo server $label"
	bg_start st "$NS_A" "$PROGS/stack_echo" -t 50 -R "$REASM_MS" "$@" \
		"$IF_A"
	bg_wait_line st '^READY' 10 ||
		fail "stack_echo: $(cat "$TMPD/st.out" "$TMPD/st.err")"
	pid=$(field "$(grep '^READY' "$TMPD/st.out")" pid)
	bg_cmd st "open $PORT"
	expect_eq "bind :$PORT" "$(field "$BG_REPLY" rc)" 0
	sd=$(field "$BG_REPLY" sd)
	bg_cmd st "echo $sd"
	campaign st stack "$pid" "${pyflags[@]}"
	bg_cmd st stats
	log "stack counters: $BG_REPLY"
	if grep -q '^ECHOFAIL' "$TMPD/st.out"; then
		fail "an echo failed: $(grep '^ECHOFAIL' "$TMPD/st.out" |
			head -n 3)"
	fi
	bg_cmd st quit
	bg_wait st 10
	expect_eq "stack_echo $label exit status" "$BG_RC" 0
}

stack_run "with fragments and ICMP claimed" -F -I
stack_run "without fragments and ICMP"

log "---- raw VI receiver"
bg_start vr "$NS_A" "$PROGS/vi_recv" -t 50 "$IF_A"
bg_wait_line vr '^READY' 10 ||
	fail "vi_recv: $(cat "$TMPD/vr.out" "$TMPD/vr.err")"
pid=$(field "$(grep '^READY' "$TMPD/vr.out")" pid)
bg_cmd vr "add 0 unicast-all"
expect_eq "vi_recv unicast-all filter" "$(field "$BG_REPLY" rc)" 0
campaign vr rawvi "$pid"
bg_cmd vr quit
bg_wait vr 10
expect_eq "vi_recv exit status" "$BG_RC" 0
echo "malformed_traffic: PASS"
