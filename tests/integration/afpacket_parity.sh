#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_parity: the backend-neutral ef_vi integration tests, run again
# with ANYLOAD_BACKEND=afpacket, so that every behaviour they check on
# AF_XDP (filter types and precedence, clashes between VIs and processes,
# error returns, timestamps, the sample programs, a million frames without
# loss, recovery from SIGKILL) holds on AF_PACKET too, in both of its tc
# modes (tcx where the kernel has it, and clsact). two_vis.sh is left
# out: its case (b) checks AF_XDP's one-UMEM-per-queue rule, which
# AF_PACKET does not have (two processes may share a queue); and, in
# clsact mode, sigkill_recovery.sh, which sends right after the kill while
# clsact mode holds a dead VI's flows until its heartbeats time out
# (afpacket_sigkill.sh covers that mode).
# Each test runs as its own process with a timeout; each failure's log is
# shown. Twelve sub-tests take about 90 s on a quiet machine:
# test-timeout: 300
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/afpacket_test.sh"

itest_init
afp_init
MODES=(clsact)
[[ "$AFP_MODE" == tcx ]] && MODES=(tcx clsact)

TESTS_NEUTRAL=(filter_steering filter_types errors timestamps samples
	sigkill_recovery million_packets)
DIR=$(cd "$(dirname "$0")" && pwd)
failed=0
runs=0
for mode in "${MODES[@]}"; do
	for t in "${TESTS_NEUTRAL[@]}"; do
		[[ -f "$DIR/$t.sh" ]] || { log "$t: missing, skipped"; continue; }
		if [[ "$mode" == clsact && "$t" == sigkill_recovery ]]; then
			# It sends right after the kill; in clsact mode the
			# dead VI's flows come back only after the heartbeat
			# timeout (afpacket_sigkill.sh measures that).
			log "SKIP $t (afpacket, clsact): flows return after 0.5 s"
			continue
		fi
		rc=0
		runs=$((runs + 1))
		env ANYLOAD_BACKEND=afpacket ANYLOAD_AFPACKET_TC=$mode \
			BUILD="$BUILD" timeout --kill-after=5 100 \
			bash "$DIR/$t.sh" </dev/null >"$TMPD/$t.$mode.log" 2>&1 ||
			rc=$?
		case $rc in
		0) log "PASS $t (afpacket, $mode)" ;;
		77) log "SKIP $t (afpacket, $mode): $(tail -n 1 "$TMPD/$t.$mode.log")" ;;
		*)
			log "FAIL $t (afpacket, $mode), exit $rc:"
			tail -n 25 "$TMPD/$t.$mode.log"
			failed=$((failed + 1))
			;;
		esac
	done
done
((failed == 0)) || fail "$failed of $runs test runs failed on afpacket"
echo "afpacket_parity: PASS"
