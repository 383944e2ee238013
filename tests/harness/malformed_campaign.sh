# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# malformed_campaign.sh: the malformed-traffic campaign of issue 5 on one
# VI backend, shared by tests/integration/malformed_traffic.sh (AF_XDP) and
# afpacket_malformed.sh (AF_PACKET). Source it after netns.sh and
# efvi_test.sh; it runs nothing by itself.
#
#   malformed_main BACKEND   the whole campaign with ANYLOAD_BACKEND=BACKEND
#                            (afxdp or afpacket); prints
#                            "malformed_traffic BACKEND: PASS"
#
# progs/malformed.py (scapy) in NS_B makes the frames and sends them raw on
# IF_B: wrong IP/UDP/ICMP checksums, every header truncated at every
# length, bogus IHL, versions, total and UDP lengths, martian and foreign
# addresses, IP options, overlapping, oversized, tiny, duplicate and
# conflicting fragments and the reassembly memory bound, ICMP of every kind
# (errors quoting foreign flows, quoting ours with a bad inner header, a
# forged fragmentation-needed that must not lower the path MTU), ARP
# garbage, VLAN-tagged junk and random bytes, against programs in NS_A:
#   1. the stack echo server (progs/stack_echo) with fragments and ICMP
#      claimed (-F -I);
#   2. the same without them (the filters then leave ICMP and later
#      fragments to the kernel, and first fragments are counted drops);
#   3. a raw VI receiver (progs/vi_recv, unicast-all), efsink's way.
# For the stack, after every batch its receive counters must have moved
# exactly as malformed.py's model of the backend's filter and of the
# stack's checks predicts (each frame a counted drop, or a delivery echoed
# byte for byte, or one ICMP outcome), the accounting identities must hold
# and a probe echo must be answered; at the end the buffer pool is back to
# its idle level and the RSS within a margin. The raw VI must see every
# frame as RX or DISCARD and keep answering. Skipped (77) without scapy.
#
# The two backends differ in one place, which the model knows
# (malformed.py --backend): without XDP the kernel takes the outer VLAN tag
# out of a frame before the packet socket's filter and tc see it, so they
# look through two tags (a QinQ datagram to the port reaches the stack,
# which drops it as not IP), and it drops a tagged frame shorter than 20
# bytes before anyone sees it.

if [[ -n "${MALFORMED_CAMPAIGN__SOURCED:-}" ]]; then
	return 0
fi
MALFORMED_CAMPAIGN__SOURCED=1

# malformed__campaign TAG MODE PID ARGS...: run malformed.py against the
# program TAG (driven through its command fifo).
malformed__campaign()
{
	local tag=$1 mode=$2 pid=$3 out rc=0 n

	shift 3
	out=$(ns_b "$MALFORMED_PY" "$MALFORMED_PROG" "$mode" \
		--backend "$MALFORMED_BACKEND" --ifname "$IF_B" \
		--src "$IP_B" --dst "$IP_A" --src-mac "$MAC_B" \
		--dst-mac "$MAC_A" --port "$MALFORMED_PORT" \
		--reasm-ms "$MALFORMED_REASM_MS" \
		--ctl-in "$TMPD/$tag.in" --ctl-out "$TMPD/$tag.out" \
		--seq "${BG_SEQ[$tag]}" --pid "$pid" \
		--rss-margin-kb "$MALFORMED_MARGIN" "$@" 2>&1) || rc=$?
	echo "$out" | sed 's/^/    /'
	n=$(echo "$out" | sed -n 's/^CMDS \([0-9]*\)$/\1/p')
	BG_SEQ[$tag]=$((BG_SEQ[$tag] + ${n:-0}))
	((rc != 77)) || skip "$(echo "$out" | tail -n 1)"
	((rc == 0)) || fail "$mode campaign failed: $(echo "$out" |
		grep '^FAIL' | head -n 1)"
}

# malformed__stack LABEL STACK-FLAGS...: one stack echo server, one
# campaign.
malformed__stack()
{
	local label=$1 pyflags=() pid sd

	shift
	[[ " $* " == *" -F "* ]] && pyflags+=(--frags)
	[[ " $* " == *" -I "* ]] && pyflags+=(--icmp)
	log "---- stack echo server $label ($MALFORMED_BACKEND)"
	bg_start st "$NS_A" "$PROGS/stack_echo" -t 50 \
		-R "$MALFORMED_REASM_MS" "$@" "$IF_A"
	bg_wait_line st '^READY' 10 ||
		fail "stack_echo: $(cat "$TMPD/st.out" "$TMPD/st.err")"
	pid=$(field "$(grep '^READY' "$TMPD/st.out")" pid)
	bg_cmd st "open $MALFORMED_PORT"
	expect_eq "bind :$MALFORMED_PORT" "$(field "$BG_REPLY" rc)" 0
	sd=$(field "$BG_REPLY" sd)
	bg_cmd st "echo $sd"
	malformed__campaign st stack "$pid" "${pyflags[@]}"
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

malformed__rawvi()
{
	local pid

	log "---- raw VI receiver ($MALFORMED_BACKEND)"
	bg_start vr "$NS_A" "$PROGS/vi_recv" -t 50 "$IF_A"
	bg_wait_line vr '^READY' 10 ||
		fail "vi_recv: $(cat "$TMPD/vr.out" "$TMPD/vr.err")"
	pid=$(field "$(grep '^READY' "$TMPD/vr.out")" pid)
	bg_cmd vr "add 0 unicast-all"
	expect_eq "vi_recv unicast-all filter" "$(field "$BG_REPLY" rc)" 0
	malformed__campaign vr rawvi "$pid"
	bg_cmd vr quit
	bg_wait vr 10
	expect_eq "vi_recv exit status" "$BG_RC" 0
}

# malformed_find_python: MALFORMED_PY, a python3 that imports scapy, or
# skip. scapy comes from Debian's python3-scapy (scripts/install-deps.sh),
# which the system's python3 sees; a python3 earlier on PATH may not.
malformed_find_python()
{
	local p

	MALFORMED_PY=
	for p in python3 /usr/bin/python3; do
		if command -v "$p" >/dev/null 2>&1 &&
			"$p" -c 'import scapy.layers.inet' >/dev/null 2>&1; then
			MALFORMED_PY=$p
			return 0
		fi
	done
	skip "scapy cannot be imported (python3-scapy, scripts/install-deps.sh)"
}

malformed_main()
{
	MALFORMED_BACKEND=$1
	itest_init
	malformed_find_python
	itest_build_stack stack_echo
	itest_build vi_recv

	ns_setup_pair
	export ANYLOAD_BACKEND=$MALFORMED_BACKEND
	# Permanent neighbours both ways: ARP garbage cannot redirect the
	# replies, and no ARP runs during the batches.
	ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" \
		nud permanent
	ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" \
		nud permanent

	MALFORMED_PROG=$REPO/tests/integration/progs/malformed.py
	MALFORMED_PORT=7000
	MALFORMED_REASM_MS=500
	# RSS margin: the stack allocates nothing per frame; stdio and,
	# under ASan, its quarantine and shadow pages move a little.
	if itest_sanitized; then
		MALFORMED_MARGIN=4096
	else
		MALFORMED_MARGIN=1024
	fi

	malformed__stack "with fragments and ICMP claimed" -F -I
	malformed__stack "without fragments and ICMP"
	malformed__rawvi
	echo "malformed_traffic $MALFORMED_BACKEND: PASS"
}
