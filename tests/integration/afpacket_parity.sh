#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_parity: the backend-neutral ef_vi integration tests, run again
# with ANYLOAD_BACKEND=afpacket, so that every behaviour they check on
# AF_XDP (filter types and precedence, clashes between VIs and processes,
# error returns, timestamps, the sample programs, a million frames without
# loss, recovery from SIGKILL) holds on AF_PACKET too. two_vis.sh is left
# out: its case (b) checks AF_XDP's one-UMEM-per-queue rule, which
# AF_PACKET does not have (two processes may share a queue).
# Each test runs as its own process with a timeout; the first failure's
# log is shown.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build tcx_list
ns_setup_pair
rc=0
ns_b "$PROGS/tcx_list" "$IF_B" >/dev/null || rc=$?
((rc != 77)) || skip "kernel without tcx (AF_PACKET backend needs Linux 6.6)"
ns_cleanup

TESTS_NEUTRAL=(filter_steering filter_types errors timestamps samples
	sigkill_recovery million_packets)
DIR=$(cd "$(dirname "$0")" && pwd)
failed=0
for t in "${TESTS_NEUTRAL[@]}"; do
	[[ -f "$DIR/$t.sh" ]] || { log "$t: missing, skipped"; continue; }
	rc=0
	env ANYLOAD_BACKEND=afpacket BUILD="$BUILD" \
		timeout --kill-after=5 100 bash "$DIR/$t.sh" \
		</dev/null >"$TMPD/$t.log" 2>&1 || rc=$?
	case $rc in
	0) log "PASS $t (afpacket)" ;;
	77) log "SKIP $t (afpacket): $(tail -n 1 "$TMPD/$t.log")" ;;
	*)
		log "FAIL $t (afpacket), exit $rc:"
		tail -n 25 "$TMPD/$t.log"
		failed=$((failed + 1))
		;;
	esac
done
((failed == 0)) || fail "$failed of ${#TESTS_NEUTRAL[@]} tests failed on afpacket"
echo "afpacket_parity: PASS"
