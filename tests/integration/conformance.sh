#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# conformance: the ef_vi conformance suite (tests/harness/
# conformance_cases.h; the sim run is tests/unit/vi/test_conformance_sim)
# on every kernel backend, in one netns+veth pair: progs/conformance runs
# once with ANYLOAD_BACKEND=afxdp and once with ANYLOAD_BACKEND=afpacket,
# driving VI A in NS_A and VIs B, B2 and kernel UDP sockets in NS_B from
# one process (setns). Each run is bounded (CONF_TIMEOUT, default 50 s).
#
# A run that exits 77 is skipped: for afpacket, that is the library not
# knowing the backend yet (ef_pd_alloc_by_name -EINVAL), and it counts for
# real as soon as the backend is in the build. After each run no XDP
# program may be left on either veth end.
# Exit status: 1 if any backend failed, 77 if every one was skipped, else
# 0; the last line sums up per backend.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
require_cmd timeout
itest_build conformance
ns_setup_pair

CONF_TIMEOUT=${CONF_TIMEOUT:-50}
declare -A result=()
summary=
any_fail=0
any_pass=0

for be in afxdp afpacket; do
	log "backend $be"
	rc=0
	ns_a env ANYLOAD_BACKEND="$be" timeout --kill-after=5 "$CONF_TIMEOUT" \
		"$PROGS/conformance" "$NS_A" "$IF_A" "$NS_B" "$IF_B" \
		>"$TMPD/$be.out" 2>"$TMPD/$be.err" || rc=$?
	cat "$TMPD/$be.out"
	if [[ -s "$TMPD/$be.err" ]]; then
		sed 's/^/stderr: /' "$TMPD/$be.err" | tail -n 20
	fi
	for end in "$NS_A:$IF_A" "$NS_B:$IF_B"; do
		ns=${end%%:*}
		dev=${end#*:}
		if ip -n "$ns" link show dev "$dev" | grep -q xdp; then
			log "$be: XDP program left on $dev"
			if ((rc == 0 || rc == 77)); then
				rc=1
			fi
		fi
	done
	case $rc in
	0)
		result[$be]=PASS
		any_pass=1
		;;
	77)
		result[$be]="SKIP ($(grep -v '^[[:space:]]*$' "$TMPD/$be.out" |
			tail -n 1))"
		;;
	*)
		if ((rc == 124 || rc == 137)); then
			result[$be]="FAIL (timed out after ${CONF_TIMEOUT}s)"
		else
			result[$be]="FAIL (exit $rc: $(grep -c '^not ok' \
				"$TMPD/$be.out" || true) cases failed)"
		fi
		any_fail=1
		;;
	esac
	log "$be: ${result[$be]}"
	summary+="${summary:+, }$be ${result[$be]}"
done

if ((any_fail)); then
	fail "conformance: $summary"
fi
if ((!any_pass)); then
	skip "conformance: $summary"
fi
echo "conformance: $summary"
