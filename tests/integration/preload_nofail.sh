#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_nofail: what happens when anyload cannot start (issue 7: "the
# program runs on the kernel with one clear warning, unless EF_NO_FAIL=0
# asks for a hard error"), with an unmodified Python UDP client
# (progs/preload_prog.py) talking to a kernel echo server in NS_B. Cases:
#   1. the launcher, a missing interface (--interface=nosuchif0);
#   2. the launcher, an unprivileged user (setpriv to nobody, no
#      capabilities) on an interface that exists;
#   3. a bare LD_PRELOAD with ANYLOAD_INTERFACE=nosuchif0 (the stack fails
#      at the first socket: ENODEV);
#   4. a bare LD_PRELOAD, unprivileged, on IF_A (EPERM).
# Each with the default (EF_NO_FAIL=1): the client's datagrams all come
# back (through the kernel), its exit status is kept, and stderr holds
# exactly one line, the warning naming the cause. And with EF_NO_FAIL=0:
# the launcher exits 1 with one message and never runs the command; under
# a bare LD_PRELOAD the first call that needs the stack fails with the
# cause's errno, after one message.
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init
require_cmd setpriv
ns_setup_pair
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)

bg_start ksrv "$NS_B" python3 "$PROG" server --port 9730 --mode blocking \
	--count 1000 --secs 60
bg_wait_line ksrv '^READY' 15 || fail "kernel server not ready"

# one_warning WHAT FILE REGEX: FILE has exactly one line, matching REGEX.
one_warning()
{
	expect_eq "$1: stderr lines" "$(wc -l <"$2")" 1
	grep -Eq -- "$3" "$2" || fail "$1: stderr lacks /$3/: $(cat "$2")"
	log "ok: $1: one warning: $(cat "$2")"
}

# runs_on_kernel WHAT REGEX PREFIX...: the client under PREFIX gets its 5
# echoes, exits 0, and warns once (REGEX).
runs_on_kernel()
{
	local what=$1 re=$2 got rc=0

	shift 2
	got=$(ns_a "$@" python3 "$PROG" client --dst "$IP_B" --port 9730 \
		--mode blocking --count 5 --secs 10 2>"$TMPD/w.err") || rc=$?
	expect_eq "$what: client" "$got" "OK n=5"
	expect_eq "$what: exit status" "$rc" 0
	one_warning "$what" "$TMPD/w.err" "$re"
}

# launcher_refuses WHAT REGEX PREFIX...: with EF_NO_FAIL=0 the launcher
# under PREFIX exits 1 with one message and does not run the command.
launcher_refuses()
{
	local what=$1 re=$2 rc=0

	shift 2
	rm -f "$TMPD/ran"
	ns_a "$@" touch "$TMPD/ran" 2>"$TMPD/w.err" || rc=$?
	expect_eq "$what: exit status" "$rc" 1
	[[ ! -e "$TMPD/ran" ]] || fail "$what: the command ran"
	one_warning "$what" "$TMPD/w.err" "$re"
}

# preload_fails WHAT ERRNO REGEX PREFIX...: with EF_NO_FAIL=0 under a bare
# LD_PRELOAD, a sendto fails with ERRNO, after one message.
preload_fails()
{
	local what=$1 want=$2 re=$3 got

	shift 3
	got=$(ns_a "$@" python3 -c '
import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", (sys.argv[1], 9730))
    print("sent")
except OSError as e:
    print(errno.errorcode[e.errno])' "$IP_B" 2>"$TMPD/w.err" || true)
	expect_eq "$what: sendto" "$got" "$want"
	one_warning "$what" "$TMPD/w.err" "$re"
}

log "---- 1. launcher, missing interface"
runs_on_kernel "launcher, no interface" \
	"^anyload: cannot accelerate 'nosuchif0': no such interface.*runs on the kernel" \
	"$AL" --interface=nosuchif0
expect_eq "exit status kept" "$(ns_a "$AL" --interface=nosuchif0 sh -c \
	'exit 5' 2>/dev/null; echo $?)" 5
launcher_refuses "launcher, no interface, EF_NO_FAIL=0" \
	"^anyload: cannot accelerate 'nosuchif0': no such interface.*EF_NO_FAIL=0" \
	env EF_NO_FAIL=0 "$AL" --interface=nosuchif0

log "---- 2. launcher, unprivileged"
runs_on_kernel "launcher, unprivileged" \
	"^anyload: cannot accelerate '$IF_A': missing privilege.*runs on the kernel" \
	"${NOBODY[@]}" "$AL" --interface="$IF_A"
launcher_refuses "launcher, unprivileged, EF_NO_FAIL=0" \
	"^anyload: cannot accelerate '$IF_A': missing privilege" \
	"${NOBODY[@]}" env ANYLOAD_NO_FAIL=0 "$AL" --interface="$IF_A"

log "---- 3. bare LD_PRELOAD, missing interface"
runs_on_kernel "LD_PRELOAD, no interface" \
	"cannot start the stack on nosuchif0: No such device; sockets stay with the kernel" \
	env ANYLOAD_INTERFACE=nosuchif0 LD_PRELOAD="$PL_PRELOAD"
preload_fails "LD_PRELOAD, no interface, EF_NO_FAIL=0" ENODEV \
	"cannot start the stack on nosuchif0: No such device; EF_NO_FAIL=0" \
	env EF_NO_FAIL=0 ANYLOAD_INTERFACE=nosuchif0 LD_PRELOAD="$PL_PRELOAD"

log "---- 4. bare LD_PRELOAD, unprivileged"
runs_on_kernel "LD_PRELOAD, unprivileged" \
	"cannot start the stack on $IF_A: Operation not permitted; sockets stay" \
	"${NOBODY[@]}" env ANYLOAD_INTERFACE="$IF_A" LD_PRELOAD="$PL_PRELOAD"
preload_fails "LD_PRELOAD, unprivileged, EF_NO_FAIL=0" EPERM \
	"cannot start the stack on $IF_A: Operation not permitted; EF_NO_FAIL=0" \
	"${NOBODY[@]}" env EF_NO_FAIL=0 ANYLOAD_INTERFACE="$IF_A" \
	LD_PRELOAD="$PL_PRELOAD"
bg_stop ksrv
log "PASS"
