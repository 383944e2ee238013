# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# tcp_malformed_campaign.sh: the TCP part of the malformed-traffic campaign
# of issue 5 on one VI backend, shared by
# tests/integration/stack_tcp_malformed.sh (AF_XDP) and
# afpacket_tcp_malformed.sh (AF_PACKET). Source it after netns.sh and
# efvi_test.sh; it runs nothing by itself.
#
#   tcp_malformed_main BACKEND   the whole campaign with
#                                ANYLOAD_BACKEND=BACKEND (afxdp or
#                                afpacket); prints
#                                "stack_tcp_malformed BACKEND: PASS"
#
# What the campaign sends and checks: see stack_tcp_malformed.sh and
# progs/tcp_malformed.py. The model is the same on both backends: the
# AF_PACKET backend's tc program keeps the server's frames from NS_A's
# kernel as XDP does, and the closed port's segments reach the kernel on
# both.

if [[ -n "${TCP_MALFORMED_CAMPAIGN__SOURCED:-}" ]]; then
	return 0
fi
TCP_MALFORMED_CAMPAIGN__SOURCED=1

tcp_malformed__rss_kb()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

tcp_malformed_main()
{
	local backend=$1 vip=198.18.0.3 port=8000 margin=1024
	local pid rss0 rss1 rc=0 out n

	itest_init
	itest_build_stack stack_tcp_echo
	ns_setup_pair
	export ANYLOAD_BACKEND=$backend
	ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" \
		nud permanent
	ip -n "$NS_A" neigh replace "$vip" lladdr "$MAC_B" dev "$IF_A" \
		nud permanent
	ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" \
		nud permanent
	# RSS margin: the stack allocates nothing per segment. Under ASan its
	# quarantine keeps what is freed (256 MB by default), so the buffers
	# of each connection opened and closed stay in the RSS: there the RSS
	# is only shown, LeakSanitizer checks for leaks at exit, and the
	# stack's own accounting (buffer pool, TCP buffers, connections) is
	# checked as in the normal build.
	bg_start st "$NS_A" "$PROGS/stack_tcp_echo" -t 100 "$IF_A"
	bg_wait_line st '^READY' 10 ||
		fail "stack_tcp_echo: $(cat "$TMPD/st.out" "$TMPD/st.err")"
	pid=$(field "$(grep '^READY' "$TMPD/st.out")" pid)
	bg_cmd st "listen $port 1024"
	expect_eq "listen :$port" "$(field "$BG_REPLY" rc)" 0
	rss0=$(tcp_malformed__rss_kb "$pid")
	out=$(ns_b python3 "$REPO/tests/integration/progs/tcp_malformed.py" \
		--ifname "$IF_B" --src "$IP_B" --vip "$vip" --dst "$IP_A" \
		--src-mac "$MAC_B" --dst-mac "$MAC_A" --port "$port" \
		--ctl-in "$TMPD/st.in" --ctl-out "$TMPD/st.out" \
		--seq "${BG_SEQ[st]}" 2>&1) || rc=$?
	echo "$out" | sed 's/^/    /'
	n=$(echo "$out" | sed -n 's/^CMDS \([0-9]*\)$/\1/p')
	BG_SEQ[st]=$((BG_SEQ[st] + ${n:-0}))
	((rc == 0)) ||
		fail "TCP campaign ($backend): $(echo "$out" | grep '^FAIL' |
			head -n 1)"
	bg_cmd st stats
	log "stack counters: $BG_REPLY"
	rss1=$(tcp_malformed__rss_kb "$pid")
	log "RSS before $rss0 kB, after $rss1 kB"
	itest_sanitized || ((rss1 - rss0 <= margin)) ||
		fail "RSS grew by $((rss1 - rss0)) kB (margin $margin kB)"
	bg_cmd st quit
	bg_wait st 10
	expect_eq "stack_tcp_echo exit status" "$BG_RC" 0
	echo "stack_tcp_malformed $backend: PASS"
}
