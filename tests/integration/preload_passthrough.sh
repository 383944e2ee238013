#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# preload_passthrough: the anyload launcher and libanyload.so with nothing
# to accelerate. Checks:
#   1. launcher errors: an unknown option, a missing value, no command, a
#      bad setting (EF_POLL_USEC=abc, ANYLOAD_LOG=9), a bad profile exit 2
#      with a message; a missing interface with EF_NO_FAIL=0 exits 1 with a
#      message (preload_nofail.sh tests the rest of EF_NO_FAIL); a
#      missing command exits 127; --help, --list-profiles (default,
#      latency, throughput) and --settings (every name of settings.def,
#      with the Onload aliases) work;
#   2. an unmodified Python program (progs/preload_prog.py local: loopback
#      UDP and TCP, select/poll/epoll incl. nested epoll and one fd in two
#      sets, FIONREAD, recvmsg, O_NONBLOCK, dup2, fork, exec, the
#      resolver) prints exactly the same under anyload as without it, in a
#      namespace of ours, with no interface and with --interface=IF_A (the
#      stack is up, loopback stays with the kernel) at ANYLOAD_LOG=2, where
#      every UDP socket's fate is logged with a reason;
#   3. socat (UDP and TCP relays over loopback) and nc -u under anyload
#      give the same bytes as without it (skipped with a reason when they
#      are not installed).
set -euo pipefail
source "$(dirname "$0")/../harness/preload_test.sh"

preload_test_init

# expect_rc WHAT RC REGEX CMD...: CMD exits RC and stderr matches REGEX.
expect_rc()
{
	local what=$1 want=$2 re=$3 rc=0

	shift 3
	"$@" >"$TMPD/o" 2>"$TMPD/e" || rc=$?
	expect_eq "$what: exit status" "$rc" "$want"
	grep -Eq -- "$re" "$TMPD/e" ||
		fail "$what: stderr lacks /$re/: $(cat "$TMPD/e")"
}

log "---- launcher errors"
expect_rc "unknown option" 2 "unknown .*option '--bogus'" "$AL" --bogus true
expect_rc "missing value" 2 "needs a value|unknown or incomplete" "$AL" -p
expect_rc "no command" 2 "no command" "$AL"
expect_rc "bad EF_POLL_USEC" 2 "EF_POLL_USEC=abc: not an integer" \
	env EF_POLL_USEC=abc "$AL" true
expect_rc "bad ANYLOAD_LOG" 2 "ANYLOAD_LOG=9: outside 0..3" \
	env ANYLOAD_LOG=9 "$AL" true
expect_rc "no profile" 2 "no profile 'nosuch'" "$AL" --profile=nosuch true
printf 'ANYLOAD_SPIN_USEC=1\nNOT_A_SETTING=3\n' >"$TMPD/bad.profile"
expect_rc "bad profile" 2 "bad.profile:2: unknown setting NOT_A_SETTING" \
	"$AL" --profile="$TMPD/bad.profile" true
expect_rc "missing interface, EF_NO_FAIL=0" 1 \
	"cannot accelerate 'nosuchif0': no such interface" \
	env EF_NO_FAIL=0 "$AL" --interface=nosuchif0 true
expect_rc "missing command" 127 "cannot run 'no-such-command-x'" \
	"$AL" -- no-such-command-x
# Into files, then grep: grep -q ends at its first match, and under
# pipefail the writer's SIGPIPE would fail the pipe (CI, ASan build).
"$AL" --help >"$TMPD/help"
grep -q -- '--profile=NAME' "$TMPD/help" || fail "--help"
expect_eq "--list-profiles" "$("$AL" --list-profiles | awk '{print $1}' |
	tr '\n' ' ')" "default latency throughput "
"$AL" --settings >"$TMPD/settings"
for n in $(grep -o '"ANYLOAD_[A-Z_]*"\|"EF_[A-Z_]*"' \
	"$REPO/src/common/settings.def" | tr -d '"'); do
	grep -q "$n" "$TMPD/settings" || fail "--settings lacks $n"
done
EF_POLL_USEC=7 "$AL" --settings >"$TMPD/settings7"
grep -q 'now 7 (from EF_POLL_USEC)' "$TMPD/settings7" ||
	fail "--settings does not show EF_POLL_USEC=7"
expect_eq "exit status passes through" "$("$AL" sh -c 'exit 5' \
	2>/dev/null; echo $?)" 5

ns_setup_pair

log "---- an unmodified python program, with and without anyload"
ns_a python3 "$PROG" local >"$TMPD/plain.out"
cat "$TMPD/plain.out"
expect_eq "plain run lines" "$(wc -l <"$TMPD/plain.out")" 12
ns_a env ANYLOAD_LOG=2 "$AL" python3 "$PROG" local >"$TMPD/noif.out" \
	2>"$TMPD/noif.err"
diff -u "$TMPD/plain.out" "$TMPD/noif.out" ||
	fail "output differs under anyload without an interface"
grep -q 'UDP not accelerated: no interface configured' "$TMPD/noif.err" ||
	fail "no fate logged: $(cat "$TMPD/noif.err")"
ns_a env ANYLOAD_LOG=2 "$AL" --interface="$IF_A" python3 "$PROG" local \
	>"$TMPD/if.out" 2>"$TMPD/if.err"
diff -u "$TMPD/plain.out" "$TMPD/if.out" ||
	fail "output differs under anyload --interface=$IF_A"
grep -E 'fd [0-9]+: UDP not accelerated: bound to loopback' "$TMPD/if.err" ||
	fail "loopback socket's fate not logged: $(cat "$TMPD/if.err")"
if grep -q ' accelerated on ' "$TMPD/if.err"; then
	fail "a loopback socket was accelerated: $(cat "$TMPD/if.err")"
fi

log "---- socat and nc"
if ! command -v socat >/dev/null || ! command -v nc >/dev/null; then
	log "SKIPPED: socat or nc not installed (scripts/install-deps.sh)"
else
	# A UDP echo through socat, a UDP relay to it, and a client.
	for pre in "" "$AL --interface=$IF_A"; do
		bg_start echo "$NS_A" $pre socat -T 10 \
			UDP4-RECVFROM:9401,reuseaddr,fork EXEC:cat
		bg_start relay "$NS_A" $pre socat -T 10 \
			UDP4-RECVFROM:9402,reuseaddr,fork UDP4:127.0.0.1:9401
		sleep 0.5
		got=$(echo "via relay" | ns_a timeout 10 $pre socat -T 3 - \
			UDP4:127.0.0.1:9402 2>/dev/null || true)
		expect_eq "socat udp relay (${pre:-kernel})" "$got" "via relay"
		bg_stop relay
		bg_stop echo
		bg_start tcp "$NS_A" $pre socat -T 10 TCP4-LISTEN:9403,reuseaddr \
			EXEC:cat
		sleep 0.5
		got=$(echo "tcp relay" | ns_a timeout 10 $pre socat -T 3 - \
			TCP4:127.0.0.1:9403 2>/dev/null || true)
		expect_eq "socat tcp (${pre:-kernel})" "$got" "tcp relay"
		bg_stop tcp
		bg_start ncl "$NS_A" $pre nc -u -l -W 1 127.0.0.1 9404
		sleep 0.5
		echo "nc datagram" | ns_a timeout 5 $pre nc -u -w 1 -q 1 \
			127.0.0.1 9404 || true
		bg_wait ncl 5
		expect_eq "nc -u (${pre:-kernel})" "$(cat "$TMPD/ncl.out")" \
			"nc datagram"
	done
fi
log "PASS"
