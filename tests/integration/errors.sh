#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# errors: the ef_vi calls' error returns for bad arguments, full rings,
# oversized frames, bogus filter cookies and missing privilege (see
# progs/errors.c for the list). Runs progs/errors (TAP) in NS_B as root,
# then its unprivileged case again as nobody (setpriv, uid/gid 65534, no
# capabilities): ef_vi_alloc_from_pd must fail with -EPERM, not crash, and
# leave nothing attached to the interface.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
itest_build errors
ns_setup_pair

log "as root"
rc_root=0
ns_b env EFVI_IF="$IF_B" "$PROGS/errors" || rc_root=$?

if ip -n "$NS_B" link show dev "$IF_B" | grep -q xdp; then
	fail "XDP program left on $IF_B after every VI was freed"
fi

log "as nobody"
require_cmd setpriv
rc=0
ns_b setpriv --reuid=65534 --regid=65534 --clear-groups \
	env EFVI_IF="$IF_B" "$PROGS/errors" test_unpriv_alloc || rc=$?
expect_eq "unprivileged run exit status" "$rc" 0
if ip -n "$NS_B" link show dev "$IF_B" | grep -q xdp; then
	fail "XDP program left on $IF_B after the unprivileged attempt"
fi
((rc_root == 0)) || fail "progs/errors as root failed (exit $rc_root; see the TAP lines above)"
echo "errors: PASS"
