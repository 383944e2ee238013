#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_tcp_linger: close(2) with SO_LINGER on and a timeout, through
# libanyload.so, compared with the same program on the kernel
# (progs/linger_prog.py). The client in NS_A (under `anyload
# --interface=IF_A`, then on the kernel) sends to a kernel server in NS_B
# that reads slowly (SO_RCVBUF 16 kB, 16 kB every 50 ms); times are
# CLOCK_MONOTONIC, shared by the namespaces. As Linux does, a lingering
# close waits, even on a non-blocking socket, until the peer has
# acknowledged the data and the FIN, or the timeout passed; then it
# returns and the connection goes on (no reset):
#   1. wait: SO_LINGER {1, 10}, 768 kB, non-blocking at close: close
#      returns only after the server has read all but 256 kB (what a
#      small receive buffer holds is far less), and well before the 10 s
#      (anyload logs that everything was acknowledged);
#   2. timeout: SO_LINGER {1, 1}, 256 kB, the server reads nothing for
#      2.5 s: close takes at least 0.95 s and returns before the server's
#      first read; the server still gets every byte (SHA-256);
#   3. no linger: close returns before the server has read all but
#      256 kB (so check 1 can fail).
# Each anyload run must be accelerated (check_tcp) and log its lingered
# close.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
ns_setup_pair
LPROG=$REPO/tests/integration/progs/linger_prog.py
MARK=262144

# num LINE KEY: the value of KEY=... in LINE.
num()
{
	field "$1" "$2"
}

# lt A B: A < B as decimal numbers.
lt()
{
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2"
}

# dur LINE: end - start of a CLOSE line, in seconds.
dur()
{
	python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' \
		"$(num "$1" start)" "$(num "$1" end)"
}

# run_case TAG WHERE BYTES LINGER DELAY HOLD [CLIENT ARGS...]: the server
# in NS_B, the client in NS_A (WHERE: anyload or kernel); sets CL (the
# client's CLOSE line) and SV (the server's DONE line).
run_case()
{
	local tag=$1 where=$2 bytes=$3 linger=$4 delay=$5 hold=$6 pre=()

	shift 6
	bg_start "sv$tag" "$NS_B" python3 "$LPROG" server --port 9710 \
		--expect "$bytes" --mark $MARK --delay "$delay" --secs 30
	bg_wait_line "sv$tag" '^READY' 15 ||
		fail "server not ready: $(cat "$TMPD/sv$tag.err")"
	if [[ "$where" == anyload ]]; then
		pre=(env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$AL"
			--interface="$IF_A")
	fi
	CL=$(ns_a timeout 40 "${pre[@]}" python3 "$LPROG" client \
		--dst "$IP_B" --port 9710 --bytes "$bytes" --linger "$linger" \
		--hold "$hold" --secs 30 "$@" 2>"$TMPD/cl$tag.err" || true)
	[[ "$CL" == CLOSE* ]] ||
		fail "$tag client: $CL $(tail -n 5 "$TMPD/cl$tag.err")"
	bg_wait "sv$tag" 30
	expect_eq "$tag server exit" "$BG_RC" 0
	SV=$(grep '^DONE' "$TMPD/sv$tag.out" || true)
	[[ -n "$SV" ]] || fail "$tag server: $(cat "$TMPD/sv$tag.out" "$TMPD/sv$tag.err")"
	expect_eq "$tag bytes" "$(num "$SV" total)" "$bytes"
	expect_eq "$tag sha" "$(num "$SV" sha)" "$(num "$CL" sha)"
	log "$tag: $CL | $SV"
	if [[ "$where" == anyload ]]; then
		check_tcp "$TMPD/cl$tag.err" 0 "$bytes"
	fi
}

for where in kernel anyload; do
	log "---- $where: SO_LINGER {1, 10}, non-blocking at close"
	run_case "w$where" "$where" 786432 10 0 0.5 --nonblock
	lt "$(num "$SV" mark)" "$(num "$CL" end)" ||
		fail "$where: close returned before the server had read all but $MARK bytes"
	lt "$(dur "$CL")" 9 ||
		fail "$where: close waited for the linger time: $CL"
	if [[ "$where" == anyload ]]; then
		grep -q "close lingered .*everything acknowledged" \
			"$TMPD/clw$where.err" ||
			fail "no linger line: $(cat "$TMPD/clw$where.err")"
	fi

	log "---- $where: SO_LINGER {1, 1}, the server reads after 2.5 s"
	run_case "t$where" "$where" 262144 1 2.5 3
	lt 0.95 "$(dur "$CL")" ||
		fail "$where: close returned before the linger time: $CL"
	lt "$(num "$CL" end)" "$(num "$SV" first)" ||
		fail "$where: close waited past the linger time: $CL $SV"
	if [[ "$where" == anyload ]]; then
		grep -q "close lingered .*timeout" "$TMPD/clt$where.err" ||
			fail "no linger line: $(cat "$TMPD/clt$where.err")"
	fi

	log "---- $where: no linger"
	run_case "n$where" "$where" 786432 -1 0 3
	lt "$(num "$CL" end)" "$(num "$SV" mark)" ||
		fail "$where: close without linger waited: $CL $SV"
done
log "PASS"
